"""Channels and stubs for calling other vaxbook services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc

from services.common.errors import (
    DomainError,
    FieldViolation,
    Unavailable,
    read_error,
)

# Every downstream call carries a deadline; none waits forever.
DEFAULT_TIMEOUT_SECONDS = 5.0


def channel(address: str) -> grpc.aio.Channel:
    """An insecure channel inside the mesh, with keepalive."""
    return grpc.aio.insecure_channel(
        address,
        options=[
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.enable_retries", 1),
        ],
    )


def timeout(context: grpc.aio.ServicerContext | None) -> float:
    """The deadline to pass downstream: what the caller has left, minus a
    margin, capped at the default."""
    if context is None:
        return DEFAULT_TIMEOUT_SECONDS
    remaining = context.time_remaining()
    if remaining is None:
        return DEFAULT_TIMEOUT_SECONDS
    return max(0.05, min(DEFAULT_TIMEOUT_SECONDS, remaining - 0.05))


_PASSED_THROUGH = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ALREADY_EXISTS,
}


@asynccontextmanager
async def upstream(service: str) -> AsyncIterator[None]:
    """Turns a failed call to ``service`` into a domain error.

    Refusals (not found, full, expired...) keep their code and reason; an
    unreachable or failing service becomes ``UNAVAILABLE`` with reason
    ``<SERVICE>_UNAVAILABLE``, which the caller may retry.
    """
    try:
        yield
    except grpc.aio.AioRpcError as error:
        details = read_error(error)
        if details.code in _PASSED_THROUGH:
            raise DomainError(
                details.reason or details.code.name,
                details.message,
                code=details.code,
                metadata=details.metadata,
                violations=[
                    FieldViolation(field, description)
                    for field, description in details.field_violations.items()
                ],
            ) from None
        raise Unavailable(
            f"{service.upper()}_UNAVAILABLE",
            f"the {service} service did not answer ({details.code.name}); retry",
        ) from None
