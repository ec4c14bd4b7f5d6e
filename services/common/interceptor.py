"""The one server interceptor every service installs.

For each unary call it binds the log context, records Prometheus metrics
(calls, errors, latency per RPC) and maps domain errors to rich statuses. A
bidirectional stream gets the same log context, error mapping and call count;
its latency, the life of the stream, is not recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import sqlalchemy.exc
from prometheus_client import Counter, Histogram

from services.common import logs
from services.common.errors import DomainError, Unavailable, to_status

log = logging.getLogger(__name__)

# Failures to reach PostgreSQL, which the caller may retry: a refused or lost
# connection, or no pooled connection free in time.
_DATABASE_DOWN = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError)

RPC_CALLS = Counter(
    "vaxbook_rpc_calls_total", "RPCs handled, by outcome.", ["service", "rpc", "code"]
)
RPC_ERRORS = Counter(
    "vaxbook_rpc_errors_total", "RPCs that did not end OK.", ["service", "rpc", "code"]
)
RPC_LATENCY = Histogram(
    "vaxbook_rpc_latency_seconds",
    "Time spent serving an RPC.",
    ["service", "rpc"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Wraps every unary-unary and stream-stream handler of a service."""

    def __init__(self, service: str) -> None:
        self.service = service
        # Wrapped handlers by method: wrapping once, not on every call.
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        rpc = method.rsplit("/", 1)[-1]
        if handler is not None and handler.unary_unary is not None:
            wrapped = grpc.unary_unary_rpc_method_handler(
                self._wrap(rpc, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        elif handler is not None and handler.stream_stream is not None:
            wrapped = grpc.stream_stream_rpc_method_handler(
                self._wrap_stream(rpc, handler.stream_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        else:
            return handler
        self._wrapped[method] = wrapped
        return wrapped

    def _wrap_stream(self, rpc: str, behaviour):
        async def handle(request_iterator, context: grpc.aio.ServicerContext):
            logs.new_context(rpc=rpc)
            outcome = _Outcome()
            try:
                async with self._answered(rpc, context, outcome):
                    async for reply in behaviour(request_iterator, context):
                        yield reply
            finally:
                self._count(rpc, outcome.code)

        return handle

    def _wrap(self, rpc: str, behaviour):
        latency = RPC_LATENCY.labels(self.service, rpc)

        async def handle(request, context: grpc.aio.ServicerContext):
            token = logs.new_context(
                rpc=rpc, request_id=getattr(request, "request_id", "")
            )
            started = time.perf_counter()
            outcome = _Outcome()
            try:
                async with self._answered(rpc, context, outcome):
                    return await behaviour(request, context)
            finally:
                latency.observe(time.perf_counter() - started)
                self._count(rpc, outcome.code)
                logs.reset(token)

        return handle

    @asynccontextmanager
    async def _answered(
        self, rpc: str, context: grpc.aio.ServicerContext, outcome: _Outcome
    ) -> AsyncIterator[None]:
        """Turns what the block raises into the call's status, noting the
        code in ``outcome``."""
        try:
            try:
                yield
            except _DATABASE_DOWN as error:
                raise Unavailable(
                    "DATABASE_UNAVAILABLE",
                    f"{self.service}'s database did not answer; retry shortly",
                ) from error
        except DomainError as error:
            outcome.code = error.code
            log.info(
                "%s refused: %s",
                rpc,
                error.reason,
                extra={"fields": {"reason": error.reason}},
            )
            await context.abort_with_status(to_status(error))
        except grpc.aio.AbortError:
            outcome.code = context.code() or grpc.StatusCode.UNKNOWN
            raise
        except Exception:
            # The client learns only that the call failed: the exception
            # text may quote SQL and the request's values.
            outcome.code = grpc.StatusCode.INTERNAL
            log.exception("%s failed", rpc)
            await context.abort(
                outcome.code, f"{rpc} failed unexpectedly; the error was logged"
            )

    def _count(self, rpc: str, code: grpc.StatusCode) -> None:
        RPC_CALLS.labels(self.service, rpc, code.name).inc()
        if code is not grpc.StatusCode.OK:
            RPC_ERRORS.labels(self.service, rpc, code.name).inc()


class _Outcome:
    """The status code a call ended with; OK unless set."""

    code = grpc.StatusCode.OK
