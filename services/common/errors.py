"""Domain errors and their one mapping to ``google.rpc.Status``.

Service code raises a subclass of :class:`DomainError`; the server interceptor
turns it into a rich gRPC status whose first detail is an ``ErrorInfo`` with the
reason code, followed by ``BadRequest`` field violations when there are any.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "vaxbook.example"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request and what is wrong with it."""

    field: str
    description: str


class DomainError(Exception):
    """An expected failure with a reason code a client can act on."""

    code = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        code: grpc.StatusCode | None = None,
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[FieldViolation] = (),
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        if code is not None:
            self.code = code
        self.metadata = dict(metadata or {})
        self.violations = tuple(violations)


class InvalidArgument(DomainError):
    """The request is malformed; ``violations`` names every bad field."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(
            "INVALID_ARGUMENT",
            f"invalid request: {summary}",
            code=grpc.StatusCode.INVALID_ARGUMENT,
            violations=violations,
        )


class NotFound(DomainError):
    """A named resource does not exist."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(
            f"{kind.upper()}_NOT_FOUND",
            f"{kind} {name!r} does not exist",
            code=grpc.StatusCode.NOT_FOUND,
            metadata={kind: name},
        )


class Unavailable(DomainError):
    """A dependency is down; the call may be retried with the same request id."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(reason, message, code=grpc.StatusCode.UNAVAILABLE)


def to_status(error: DomainError) -> grpc.Status:
    """Builds the rich gRPC status for a domain error."""
    return rpc_status.to_status(to_status_proto(error))


def to_status_proto(error: DomainError) -> status_pb2.Status:
    """The ``google.rpc.Status`` message of a domain error: its code, message,
    an ``ErrorInfo`` with the reason, then any ``BadRequest`` violations."""
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
    )
    details = [_pack(info)]
    if error.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        details.append(_pack(bad_request))
    return status_pb2.Status(
        code=_CODE_NUMBERS[error.code], message=error.message, details=details
    )


def from_status_proto(status: status_pb2.Status) -> DomainError:
    """The domain error a ``google.rpc.Status`` message carries."""
    reason, metadata, violations = _unpack_details(status.details)
    code = _CODES_BY_NUMBER.get(status.code, grpc.StatusCode.UNKNOWN)
    return DomainError(
        reason or code.name,
        status.message,
        code=code,
        metadata=metadata,
        violations=[FieldViolation(f, d) for f, d in violations.items()],
    )


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


_CODE_NUMBERS = {code: code.value[0] for code in grpc.StatusCode}
_CODES_BY_NUMBER = {number: code for code, number in _CODE_NUMBERS.items()}


@dataclass(frozen=True)
class ErrorDetails:
    """What a client reads back from a failed call."""

    code: grpc.StatusCode
    reason: str
    message: str
    metadata: dict[str, str]
    field_violations: dict[str, str]


def read_error(error: grpc.RpcError) -> ErrorDetails:
    """Extracts the reason code and field violations from a failed call."""
    status = rpc_status.from_call(error)
    reason, metadata, violations = _unpack_details(status.details if status else ())
    return ErrorDetails(
        code=error.code(),
        reason=reason,
        message=error.details() or "",
        metadata=metadata,
        field_violations=violations,
    )


def _unpack_details(details) -> tuple[str, dict[str, str], dict[str, str]]:
    reason, metadata, violations = "", {}, {}
    for detail in details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations = {v.field: v.description for v in bad_request.field_violations}
    return reason, metadata, violations
