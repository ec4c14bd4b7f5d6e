"""The gateway's own ASGI middleware: it finds each request's route first,
so metrics, rate limits and the handler all see the same one, and it counts
and times every request.

Middleware given to :func:`gateway.app.create_app` runs between these and
the handlers, and reads the route with :func:`matched_route`.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.routes import Match, Router

MATCH_KEY = "vaxbook.match"
ROUTE_LABEL_KEY = "vaxbook.route"
# The label of requests no route answers, so stray paths add no series.
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "vaxbook_gateway_requests_total",
    "HTTP requests answered, by route (operation id or fixed path) and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "vaxbook_gateway_request_seconds",
    "Time to answer an HTTP request, by route.",
    ["route"],
    buckets=(0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def matched_route(scope: Scope) -> Match | None:
    """The binding a request was routed to, and its path variables; ``None``
    for a request no binding takes (the gateway's own pages among them)."""
    return scope.get(MATCH_KEY)


class RouteMatcher:
    """Finds the binding of each HTTP request and keeps it in the scope."""

    def __init__(self, app: ASGIApp, router: Router, fixed_paths: frozenset[str]):
        self.app = app
        self.router = router
        self.fixed_paths = fixed_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode()
            match = self.router.match(scope["method"], raw_path.decode("latin-1"))
            scope[MATCH_KEY] = match
            scope[ROUTE_LABEL_KEY] = self._label(scope["path"], match)
        await self.app(scope, receive, send)

    def _label(self, path: str, match: Match | None) -> str:
        if match is not None:
            return match.binding.operation_id
        return path if path in self.fixed_paths else UNMATCHED


class MetricsMiddleware:
    """Counts each HTTP request by route, method and status, and times it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # An exception escaping the app is answered 500 further out.
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get(ROUTE_LABEL_KEY, UNMATCHED)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            REQUESTS.labels(route, method, str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)
