"""Every failure the gateway answers, as a ``google.rpc.Status`` JSON body.

A failed call keeps the service's status, details and all; the HTTP status
follows the mapping of ``google/rpc/code.proto``. What the gateway refuses
itself (no route, a malformed body, a missing CSRF token) is a
:class:`GatewayError`, answered in the same shape with an ``ErrorInfo``
reason and, for bad fields, ``BadRequest`` violations.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import grpc
from google.protobuf import json_format
from google.rpc import status_pb2
from grpc_status import rpc_status
from starlette.responses import JSONResponse

from gateway.routes import Rpc
from services.common.errors import DomainError, FieldViolation, to_status_proto

log = logging.getLogger(__name__)

HTTP_STATUS_BY_CODE: Mapping[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
_CODES_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}
# Failures of the mesh rather than refusals of the request: worth a log line.
_TROUBLE = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.DATA_LOSS,
}


def http_status(code_number: int) -> int:
    """The HTTP status of a gRPC code number; 500 for codes without one."""
    code = _CODES_BY_NUMBER.get(code_number, grpc.StatusCode.UNKNOWN)
    return HTTP_STATUS_BY_CODE.get(code, 500)


class GatewayError(DomainError):
    """A request the gateway refuses before any service sees it.

    ``http_status`` overrides the status the code maps to, for the few
    refusals HTTP names better (405, 413)."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
        violations: Sequence[FieldViolation] = (),
        metadata: Mapping[str, str] | None = None,
        http_status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            reason, message, code=code, violations=violations, metadata=metadata
        )
        self.http_status = http_status
        self.headers = dict(headers or {})

    @classmethod
    def no_route(cls, method: str, path: str) -> GatewayError:
        return cls(
            "ROUTE_NOT_FOUND",
            f"no route answers {method} {path}; /openapi.json lists them",
            code=grpc.StatusCode.NOT_FOUND,
        )

    @classmethod
    def method_not_allowed(
        cls, method: str, path: str, allowed: Sequence[str]
    ) -> GatewayError:
        return cls(
            "METHOD_NOT_ALLOWED",
            f"{path} does not take {method}; it takes {', '.join(allowed)}",
            code=grpc.StatusCode.UNIMPLEMENTED,
            http_status=405,
            headers={"Allow": ", ".join(allowed)},
        )

    @classmethod
    def malformed_body(cls, problem: str) -> GatewayError:
        return cls(
            "MALFORMED_BODY",
            f"the request body is not what this method takes: {problem}",
        )

    @classmethod
    def body_too_large(cls, limit_bytes: int) -> GatewayError:
        return cls(
            "BODY_TOO_LARGE",
            f"the request body is over {limit_bytes} bytes",
            http_status=413,
        )

    @classmethod
    def unknown_fields(cls, message: str, names: Sequence[str]) -> GatewayError:
        listed = ", ".join(names)
        return cls(
            "UNKNOWN_FIELDS",
            f"{message} has no field {listed}; check the names in /openapi.json",
            violations=[
                FieldViolation(name, f"{message} has no such field") for name in names
            ],
        )

    @classmethod
    def bad_field(cls, name: str, problem: str) -> GatewayError:
        return cls(
            "INVALID_FIELD_VALUE",
            f"{name}: {problem}",
            violations=[FieldViolation(name, problem)],
        )

    @classmethod
    def bad_credentials(cls, problem: str) -> GatewayError:
        return cls(
            "INVALID_TOKEN",
            f"{problem}; sign in again",
            code=grpc.StatusCode.UNAUTHENTICATED,
        )

    @classmethod
    def csrf_refused(cls, reason: str, problem: str) -> GatewayError:
        return cls(
            reason,
            f"{problem}: a request signed in by the session cookie that changes "
            "something must repeat the vaxbook_csrf cookie in X-CSRF-Token",
            code=grpc.StatusCode.PERMISSION_DENIED,
        )

    @classmethod
    def internal(cls) -> GatewayError:
        return cls(
            "GATEWAY_INTERNAL",
            "the gateway failed to handle the request; retry later",
            code=grpc.StatusCode.INTERNAL,
        )


def status_response(
    status: status_pb2.Status,
    http: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The JSON response of a status, with its mapped HTTP status unless
    ``http`` says otherwise."""
    return JSONResponse(
        status_json(status),
        status_code=http or http_status(status.code),
        headers=dict(headers or {}),
    )


def error_response(error: DomainError) -> JSONResponse:
    """The response to a refusal raised in the gateway (or by middleware
    added to it, such as a rate limiter)."""
    if isinstance(error, GatewayError):
        return status_response(to_status_proto(error), error.http_status, error.headers)
    return status_response(to_status_proto(error))


def upstream_error_response(error: grpc.aio.AioRpcError, rpc: Rpc) -> JSONResponse:
    """The response to a failed call: the service's own status, details and
    all. A failure with no status from the service (it could not be reached,
    or the deadline passed) gets one naming the service, and no text of the
    channel's, which would show the mesh's addresses to the public."""
    code = error.code()
    if code in _TROUBLE:
        log.warning(
            "%s failed: %s",
            rpc.path,
            code.name,
            extra={"fields": {"rpc": rpc.path, "code": code.name}},
        )
    status = _rich_status(error)
    if status is None:
        status = _plain_status(error, rpc)
    return status_response(status)


def status_json(status: status_pb2.Status) -> dict[str, object]:
    """``google.rpc.Status`` as proto JSON. A detail of a type this process
    does not know keeps only its ``@type``, rather than failing the answer."""
    details = [_detail_json(detail) for detail in status.details]
    body: dict[str, object] = {"code": status.code, "message": status.message}
    if details:
        body["details"] = details
    return body


def _detail_json(detail) -> dict[str, object]:
    try:
        return json_format.MessageToDict(detail)
    except (TypeError, KeyError, json_format.Error):
        return {"@type": detail.type_url}


def _rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status | None:
    try:
        return rpc_status.from_call(error)
    except ValueError:
        return None


def _plain_status(error: grpc.aio.AioRpcError, rpc: Rpc) -> status_pb2.Status:
    code = error.code()
    if code not in _TROUBLE:
        return status_pb2.Status(code=code.value[0], message=error.details() or "")
    service = rpc.upstream
    reason = "UNAVAILABLE" if code is grpc.StatusCode.UNAVAILABLE else code.name
    return to_status_proto(
        DomainError(
            f"{service.upper()}_{reason}",
            f"the {service} service did not answer {rpc.name} ({code.name}); "
            "retry, with the same request id for a change",
            code=code,
        )
    )
