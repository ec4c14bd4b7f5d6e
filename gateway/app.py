"""Building the gateway application.

``create_app`` reads the services' descriptors, builds the routes and the
OpenAPI document from them, and wires the endpoints. Requests pass, from the
outside in: metrics, route matching, the ``middleware`` given (in order),
then the endpoint. The gRPC channels open and close with the application's
lifespan.

Extension points, for what the gateway does not do itself (rate limits):

- ``middleware``: Starlette ``Middleware`` entries run for every request,
  after the route is known (``gateway.middleware.matched_route``) and
  before the endpoint; refusals should answer with
  ``gateway.errors.error_response`` so clients get the same Status body.
- ``health_extras``: a callable, plain or async, whose mapping is merged
  into the ``/healthz`` answer; it fills ``rateLimiter`` (``"off"`` until
  then) and may set ``status`` to something other than ``"ok"`` for 503.
- ``lifespans``: async context managers, each made from the application,
  entered after the channels open and left before they close, for
  resources the middleware holds (a Redis client, say).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from google.protobuf.descriptor import ServiceDescriptor
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from gateway.config import GatewaySettings
from gateway.descriptors import descriptor_set_path, load_comments, vaxbook_services
from gateway.handlers import Gateway, HealthExtras
from gateway.middleware import MetricsMiddleware, RouteMatcher
from gateway.openapi import SIGN_OUT_PATH, build_document
from gateway.pages import page_routes
from gateway.routes import Router, build_bindings
from gateway.upstream import Upstreams
from services.common.clock import Clock, SystemClock

LifespanHook = Callable[[Starlette], AbstractAsyncContextManager[object]]
EVERY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class AnyPath(Convertor[str]):
    """Every path, line breaks included: Starlette's own ``path`` stops at
    a decoded newline, and its plain-text 404 is not the Status body the
    OpenAPI document promises."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("any_path", AnyPath())


def create_app(
    settings: GatewaySettings,
    *,
    services: Sequence[ServiceDescriptor] | None = None,
    clock: Clock | None = None,
    middleware: Sequence[Middleware] = (),
    health_extras: HealthExtras | None = None,
    lifespans: Sequence[LifespanHook] = (),
) -> Starlette:
    """The gateway over ``services`` (every generated vaxbook service by
    default). ``clock`` judges how long a session cookie lasts; the other
    keywords are the extension points the module docstring describes."""
    bindings = build_bindings(vaxbook_services() if services is None else services)
    rpcs = list({binding.rpc.path: binding.rpc for binding in bindings}.values())
    comments = load_comments(descriptor_set_path(settings.descriptor_set_path))
    router = Router(bindings)
    gateway = Gateway(
        settings=settings,
        router=router,
        upstreams=Upstreams(rpcs, settings.service_addrs, settings.deadline_seconds),
        clock=clock or SystemClock(),
        openapi_json=json.dumps(build_document(bindings, comments)).encode(),
        health_extras=health_extras,
    )
    routes = _routes(gateway)
    fixed_paths = frozenset(getattr(route, "path", "") for route in routes[:-1])
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(MetricsMiddleware),
            Middleware(RouteMatcher, router=router, fixed_paths=fixed_paths),
            *middleware,
        ],
        lifespan=_lifespan(gateway, lifespans),
    )
    app.state.gateway = gateway
    return app


def _routes(gateway: Gateway) -> list[BaseRoute]:
    """The gateway's own pages, then every other path to the transcoder."""
    return [
        *page_routes(),
        Route("/healthz", gateway.health, methods=["GET"]),
        Route("/metrics", gateway.metrics, methods=["GET"]),
        Route("/openapi.json", gateway.openapi, methods=["GET"]),
        Route("/docs", gateway.docs, methods=["GET"]),
        Route("/docs.js", gateway.docs_script, methods=["GET"]),
        Route(SIGN_OUT_PATH, gateway.sign_out, methods=["POST"]),
        Route("/{path:any_path}", gateway.transcode, methods=EVERY_METHOD),
    ]


def _lifespan(gateway: Gateway, hooks: Sequence[LifespanHook]):
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await gateway.upstreams.open()
        try:
            async with AsyncExitStack() as stack:
                for hook in hooks:
                    await stack.enter_async_context(hook(app))
                yield
        finally:
            await gateway.upstreams.close()

    return lifespan
