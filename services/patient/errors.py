"""The patient service's domain error and its reason codes."""

from __future__ import annotations

import grpc

from services.common.errors import DomainError


class PatientError(DomainError):
    """A change to a health record the patient service refuses."""

    @classmethod
    def dose_already_recorded(
        cls, patient: str, vaccine: str, dose_number: int
    ) -> PatientError:
        return cls(
            "DOSE_ALREADY_RECORDED",
            f"{patient} already has dose {dose_number} of {vaccine} recorded; "
            "a dose is recorded once",
            code=grpc.StatusCode.ALREADY_EXISTS,
            metadata={
                "patient": patient,
                "vaccine": vaccine,
                "dose_number": str(dose_number),
            },
        )

    @classmethod
    def request_id_reused(cls, request_id: str) -> PatientError:
        return cls(
            "REQUEST_ID_REUSED",
            f"request_id {request_id!r} was already used for another person's "
            "vaccination; use a new request_id",
            code=grpc.StatusCode.INVALID_ARGUMENT,
        )

    @classmethod
    def dependant_not_registered(cls, dependant: str) -> PatientError:
        return cls(
            "DEPENDANT_NOT_REGISTERED",
            f"{dependant} is not a registered dependant; add the dependant to "
            "the citizen's account before creating their record",
            metadata={"dependant": dependant},
        )
