"""The eligibility domain error and its reason codes."""

from __future__ import annotations

import grpc

from services.common.errors import DomainError


class EligibilityError(DomainError):
    """A rule set the service refuses, a booking that is not eligible, or a
    review decision that contradicts the one already made."""

    @classmethod
    def rules_invalid(cls, source: str, key: str, problem: str) -> EligibilityError:
        return cls(
            "RULES_INVALID",
            f"rules {source}: {key}: {problem}",
            code=grpc.StatusCode.INVALID_ARGUMENT,
            metadata={"source": source, "key": key},
        )

    @classmethod
    def dose_number_invalid(cls, dose_number: int) -> EligibilityError:
        return cls(
            "DOSE_NUMBER_INVALID",
            f"dose_number must be 1 or more, got {dose_number}",
            code=grpc.StatusCode.INVALID_ARGUMENT,
            metadata={"dose_number": str(dose_number)},
        )

    @classmethod
    def not_eligible(
        cls, rules_version: str, codes: list[str], sentences: list[str]
    ) -> EligibilityError:
        return cls(
            "NOT_ELIGIBLE",
            " ".join(sentences),
            metadata={"rules_version": rules_version, "codes": ",".join(codes)},
        )

    @classmethod
    def rules_version_exists(cls, version: str) -> EligibilityError:
        return cls(
            "RULES_VERSION_EXISTS",
            f"rule set version {version!r} was already recorded; give the new "
            "rules a version of their own",
            code=grpc.StatusCode.ALREADY_EXISTS,
            metadata={"version": version},
        )

    @classmethod
    def review_already_decided(cls, review_case: str, state: str) -> EligibilityError:
        return cls(
            "REVIEW_ALREADY_DECIDED",
            f"{review_case} was already decided: {state.lower()}",
            metadata={"review_case": review_case, "state": state},
        )
