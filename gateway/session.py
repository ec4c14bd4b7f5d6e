"""Signing in at the edge: the session cookie, and the CSRF check it needs.

When ``CompleteSignIn`` succeeds through the gateway, its answer also sets
two cookies. ``vaxbook_session`` holds the access token: HttpOnly, so page
scripts cannot read it, and SameSite=Strict, so pages of other sites cannot
make the browser send it. ``vaxbook_csrf`` holds a value page scripts can
read. A request the cookie signs in (it has no ``Authorization`` header) that
changes something (POST, PUT, PATCH, DELETE) must repeat that value in
``X-CSRF-Token``: a page of another origin can neither read the cookie nor
send the header (the gateway grants no CORS), so a forged request fails even
in a browser that ignores SameSite. A bearer token is no ambient credential
a browser adds by itself, so requests carrying one need no such header.

The CSRF value is an HMAC keyed with the session's token: it needs no state
in the gateway, fits that session alone, and does not give the token away.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from gateway.config import GatewaySettings
from gateway.errors import GatewayError

SESSION_COOKIE = "vaxbook_session"
CSRF_COOKIE = "vaxbook_csrf"
CSRF_HEADER = "x-csrf-token"
# The RPC whose success starts a session.
SIGN_IN_RPC = "/vaxbook.auth.v1.AuthService/CompleteSignIn"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CSRF_LABEL = b"vaxbook csrf token"


@dataclass(frozen=True)
class Credentials:
    """What signs a request in, as the services will see it."""

    # The ``authorization`` metadata to send on, if any.
    authorization: str | None = None
    # The token, when the session cookie (not a header) supplied it.
    cookie_token: str | None = None

    def metadata(self) -> tuple[tuple[str, str], ...]:
        if self.authorization is None:
            return ()
        return (("authorization", self.authorization),)


def credentials_of(request: Request) -> Credentials:
    """The ``Authorization`` header when there is one, else the session
    cookie as a bearer token, else nothing (the call is anonymous)."""
    header = request.headers.get("authorization")
    if header is not None:
        return Credentials(authorization=_metadata_safe(header, "Authorization"))
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        token = _metadata_safe(token, "the session cookie")
        return Credentials(authorization=f"Bearer {token}", cookie_token=token)
    return Credentials()


def check_csrf(method: str, headers: Headers, credentials: Credentials) -> None:
    """Refuses a state-changing request signed in by the cookie alone unless
    it repeats the session's CSRF value in ``X-CSRF-Token``."""
    if credentials.cookie_token is None or method not in STATE_CHANGING:
        return
    sent = headers.get(CSRF_HEADER)
    if not sent:
        raise GatewayError.csrf_refused("CSRF_TOKEN_MISSING", "X-CSRF-Token is missing")
    expected = csrf_token(credentials.cookie_token)
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise GatewayError.csrf_refused(
            "CSRF_TOKEN_MISMATCH", "X-CSRF-Token does not belong to this session"
        )


def csrf_token(session_token: str) -> str:
    """The CSRF value of the session holding ``session_token``."""
    digest = hmac.new(session_token.encode(), _CSRF_LABEL, hashlib.sha256)
    return digest.hexdigest()


def start_session(
    response: Response,
    token: str,
    expire_time: datetime,
    now: datetime,
    settings: GatewaySettings,
) -> None:
    """Sets both cookies, to last exactly as long as the token does."""
    max_age = max(0, int((expire_time - now).total_seconds()))
    for name, value, http_only in (
        (SESSION_COOKIE, token, True),
        (CSRF_COOKIE, csrf_token(token), False),
    ):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            domain=settings.cookie_domain or None,
            secure=settings.cookie_secure,
            httponly=http_only,
            samesite="strict",
        )


def end_session(response: Response, settings: GatewaySettings) -> None:
    """Tells the browser to drop both cookies."""
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(
            name,
            domain=settings.cookie_domain or None,
            secure=settings.cookie_secure,
            httponly=http_only,
            samesite="strict",
        )


def _metadata_safe(value: str, what: str) -> str:
    """gRPC metadata takes printable ASCII only; anything else is no token."""
    if not value.isascii() or not value.isprintable():
        raise GatewayError.bad_credentials(f"{what} holds characters no token has")
    return value
