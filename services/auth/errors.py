"""The auth service's domain error and its reason codes."""

from __future__ import annotations

import grpc

from services.common.errors import DomainError


class AccountError(DomainError):
    """A sign-up, sign-in or account change the auth service refuses."""

    @classmethod
    def already_registered(cls, kind: str) -> AccountError:
        return cls(
            "ACCOUNT_EXISTS",
            f"a {kind} account with this national ID already exists; sign in instead",
            code=grpc.StatusCode.ALREADY_EXISTS,
        )

    @classmethod
    def not_registered(cls, kind: str) -> AccountError:
        return cls(
            "ACCOUNT_NOT_FOUND",
            f"no {kind} account has this national ID; sign up first",
            code=grpc.StatusCode.NOT_FOUND,
        )

    @classmethod
    def too_many_codes(cls, limit: int, retry_time: str) -> AccountError:
        return cls(
            "TOO_MANY_CODES",
            f"at most {limit} codes an hour are sent for one national ID; "
            f"try again after {retry_time}",
            code=grpc.StatusCode.RESOURCE_EXHAUSTED,
            metadata={"limit": str(limit), "retry_time": retry_time},
        )

    @classmethod
    def code_expired(cls, challenge: str) -> AccountError:
        return cls(
            "CODE_EXPIRED",
            f"the code of {challenge} has expired; ask for a new one",
            metadata={"challenge": challenge},
        )

    @classmethod
    def attempts_used_up(cls, challenge: str) -> AccountError:
        return cls(
            "ATTEMPTS_EXHAUSTED",
            f"{challenge} allows no more attempts; ask for a new code",
            metadata={"challenge": challenge},
        )

    @classmethod
    def already_completed(cls, challenge: str) -> AccountError:
        return cls(
            "CHALLENGE_COMPLETED",
            f"{challenge} was already answered; ask for a new code",
            metadata={"challenge": challenge},
        )

    @classmethod
    def wrong_code(cls, challenge: str, attempts_left: int) -> AccountError:
        then = (
            f"{attempts_left} attempts left" if attempts_left else "ask for a new code"
        )
        return cls(
            "WRONG_CODE",
            f"the code does not match; {then}",
            code=grpc.StatusCode.UNAUTHENTICATED,
            metadata={"challenge": challenge, "attempts_left": str(attempts_left)},
        )

    @classmethod
    def dependant_limit(cls, citizen: str, limit: int) -> AccountError:
        return cls(
            "DEPENDANT_LIMIT_REACHED",
            f"{citizen} already has {limit} dependants, the most allowed",
            metadata={"citizen": citizen, "limit": str(limit)},
        )
