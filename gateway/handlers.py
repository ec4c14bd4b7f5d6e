"""The gateway's endpoints: transcoded calls, sign-out, the OpenAPI document
and its docs page, health and metrics."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import grpc
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.config import GatewaySettings
from gateway.errors import (
    GatewayError,
    error_response,
    upstream_error_response,
)
from gateway.middleware import matched_route
from gateway.routes import Match, Router
from gateway.session import (
    SIGN_IN_RPC,
    check_csrf,
    credentials_of,
    end_session,
    start_session,
)
from gateway.transcode import build_request, reply_json
from gateway.upstream import Upstreams
from services.common.clock import Clock
from services.common.errors import DomainError

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
# The docs page loads only its own script and the document, from here.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; frame-ancestors 'none'"
)

# Extra fields of the health answer, such as the rate limiter's state; may
# be async. A ``status`` other than ``"ok"`` makes the answer 503.
HealthExtras = Callable[[], Mapping[str, object] | Awaitable[Mapping[str, object]]]


@dataclass
class Gateway:
    """What the endpoints share: settings, routes, channels and documents."""

    settings: GatewaySettings
    router: Router
    upstreams: Upstreams
    clock: Clock
    openapi_json: bytes
    health_extras: HealthExtras | None = None

    async def transcode(self, request: Request) -> Response:
        """Calls the RPC the request's route names and answers its reply,
        or the failure as a ``google.rpc.Status``."""
        match = matched_route(request.scope)
        if match is None:
            return error_response(self._unrouted(request))
        try:
            return await self._call(request, match)
        except DomainError as error:
            return error_response(error)
        except grpc.aio.AioRpcError as error:
            return upstream_error_response(error, match.binding.rpc)
        except Exception:
            log.exception("%s failed in the gateway", match.binding.rpc.path)
            return error_response(GatewayError.internal())

    async def sign_out(self, request: Request) -> Response:
        """Clears the session cookies; the CSRF rule applies as to any
        change a session cookie signs in."""
        try:
            check_csrf(request.method, request.headers, credentials_of(request))
        except DomainError as error:
            return error_response(error)
        response = JSONResponse({})
        end_session(response, self.settings)
        return response

    async def openapi(self, request: Request) -> Response:
        return Response(self.openapi_json, media_type="application/json")

    async def docs(self, request: Request) -> Response:
        page = (STATIC / "docs.html").read_bytes()
        headers = {"Content-Security-Policy": DOCS_POLICY}
        return Response(page, media_type="text/html; charset=utf-8", headers=headers)

    async def docs_script(self, request: Request) -> Response:
        script = (STATIC / "docs.js").read_bytes()
        return Response(script, media_type="text/javascript; charset=utf-8")

    async def health(self, request: Request) -> Response:
        body: dict[str, object] = {"status": "ok", "rateLimiter": "off"}
        if self.health_extras is not None:
            extras = self.health_extras()
            if inspect.isawaitable(extras):
                extras = await extras
            body.update(extras)
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    async def metrics(self, request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def _call(self, request: Request, match: Match) -> Response:
        binding = match.binding
        credentials = credentials_of(request)
        check_csrf(request.method, request.headers, credentials)
        body = await self._read_body(request) if binding.body else b""
        message = build_request(
            binding,
            match.variables,
            request.query_params.multi_items(),
            body,
            request.headers.get("idempotency-key"),
        )
        reply = await self.upstreams.call(binding.rpc, message, credentials.metadata())
        response = JSONResponse(reply_json(reply))
        if binding.rpc.path == SIGN_IN_RPC:
            expire_time = reply.expire_time.ToDatetime(tzinfo=UTC)
            start_session(
                response, reply.token, expire_time, self.clock.now(), self.settings
            )
        return response

    async def _read_body(self, request: Request) -> bytes:
        """The body, refused once it passes the configured size."""
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise GatewayError.body_too_large(limit)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise GatewayError.body_too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _unrouted(self, request: Request) -> GatewayError:
        raw_path = request.scope.get("raw_path", b"").decode("latin-1")
        allowed = self.router.methods_at(raw_path or request.url.path)
        if allowed:
            return GatewayError.method_not_allowed(
                request.method, request.url.path, allowed
            )
        return GatewayError.no_route(request.method, request.url.path)
