"""The gateway's web pages: the citizen portal at ``/``, the clinic
dashboard at ``/dashboard``, and the files they load from ``/static/``.

The pages are plain HTML, CSS and JavaScript that call the REST API of the
same origin with the session cookie. Every answer carries a
Content-Security-Policy that lets a page load and call only its own origin:
no inline script or style, no other site.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
PAGE_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class PageFiles(StaticFiles):
    """Static files answered with the pages' security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def _page(relative: str):
    async def endpoint(request: Request) -> Response:
        return FileResponse(
            STATIC / relative,
            media_type="text/html; charset=utf-8",
            headers=SECURITY_HEADERS,
        )

    return endpoint


def page_routes() -> list[BaseRoute]:
    """The portal, the dashboard and their files."""
    return [
        Route("/", _page("portal/index.html"), methods=["GET", "HEAD"]),
        Route("/dashboard", _page("dashboard/index.html"), methods=["GET", "HEAD"]),
        Mount("/static", PageFiles(directory=STATIC), name="static"),
    ]
