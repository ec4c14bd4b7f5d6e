"""Access tokens shared by every service: minting, verifying, and the server
interceptor that enforces which roles may call which RPC.

Tokens are JWTs signed with Ed25519 (``EdDSA``) by the auth service. Each names
its signing key in the ``kid`` header, so a service holding only the public
keys (from ``AuthService.ListSigningKeys``) verifies them offline, and keys can
rotate: an old key keeps verifying until it is retired.
"""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import grpc
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from services.common import logs
from services.common.clock import Clock
from services.common.errors import DomainError, to_status

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
ISSUER = "vaxbook.example/auth"
AUDIENCE = "vaxbook.example"
ACCESS_TOKEN_TTL_SECONDS = 900
SERVICE_TOKEN_TTL_SECONDS = 300
# Tolerated difference between the clocks of the signer and the verifier.
CLOCK_SKEW_SECONDS = 30
# Verified tokens remembered per verifier, so a reused token costs no second
# signature check.
VERIFIED_CACHE_SIZE = 10_000

# Calls anyone may make: health checks and server reflection.
_ALWAYS_PUBLIC = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class Role(StrEnum):
    """What a token lets its holder do; the ``role`` claim."""

    CITIZEN = "citizen"
    CLINIC_STAFF = "clinic_staff"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    # Another vaxbook service calling on its own behalf.
    SERVICE = "service"


# The roles of an RPC anyone may call, with or without a token.
PUBLIC: frozenset[Role] = frozenset()


@dataclass(frozen=True)
class Principal:
    """Who a verified token speaks for."""

    subject: str
    role: Role
    clinics: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expire_time: datetime
    principal: Principal


class AuthError(DomainError):
    """A call refused for want of a valid token or the right role."""

    @classmethod
    def unauthenticated(cls, reason: str, message: str) -> AuthError:
        return cls(reason, message, code=grpc.StatusCode.UNAUTHENTICATED)

    @classmethod
    def role_not_allowed(cls, method: str, role: Role) -> AuthError:
        return cls(
            "ROLE_NOT_ALLOWED",
            f"role {role.value!r} may not call {method}",
            code=grpc.StatusCode.PERMISSION_DENIED,
            metadata={"method": method, "role": role.value},
        )

    @classmethod
    def no_policy(cls, method: str) -> AuthError:
        return cls(
            "METHOD_NOT_ALLOWED",
            f"{method} has no access policy, so nobody may call it",
            code=grpc.StatusCode.PERMISSION_DENIED,
            metadata={"method": method},
        )

    @classmethod
    def not_owner(cls, subject: str, resource: str) -> AuthError:
        return cls(
            "NOT_OWNER",
            f"{subject} may not act on {resource}",
            code=grpc.StatusCode.PERMISSION_DENIED,
            metadata={"resource": resource},
        )


class TokenSigner:
    """Mints tokens with one private key, named by ``key_id``."""

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey, clock: Clock):
        self.key_id = key_id
        self._private_key = private_key
        self.clock = clock

    def __repr__(self) -> str:
        return f"TokenSigner(key_id={self.key_id!r})"

    def public_key(self) -> Ed25519PublicKey:
        return self._private_key.public_key()

    def mint(
        self,
        principal: Principal,
        ttl_seconds: int = ACCESS_TOKEN_TTL_SECONDS,
        audience: str = AUDIENCE,
        issuer: str = ISSUER,
    ) -> IssuedToken:
        now = self.clock.now()
        expire_time = now + timedelta(seconds=ttl_seconds)
        claims = {
            "iss": issuer,
            "aud": audience,
            "sub": principal.subject,
            "role": principal.role.value,
            "iat": int(now.timestamp()),
            "exp": int(expire_time.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        if principal.clinics:
            claims["clinics"] = list(principal.clinics)
        token = jwt.encode(
            claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.key_id}
        )
        return IssuedToken(token, expire_time, principal)

    def service_token(self, service: str) -> str:
        """A short-lived token for ``service`` calling another service."""
        principal = Principal(f"services/{service}", Role.SERVICE)
        return self.mint(principal, SERVICE_TOKEN_TTL_SECONDS).token


class TokenVerifier:
    """Checks a token's signature, key id, expiry, audience and issuer.

    Expiry is judged by the injected clock, so tests move time without sleeping.
    """

    def __init__(
        self,
        public_keys: Mapping[str, Ed25519PublicKey],
        clock: Clock,
        audience: str = AUDIENCE,
        issuer: str = ISSUER,
        service_keys: Mapping[str, Ed25519PublicKey] | None = None,
    ) -> None:
        self.public_keys = dict(public_keys)
        # Tokens whose signature verified, oldest first, with their claims.
        self._verified: dict[str, tuple[Principal, dict]] = {}
        # Keys the services sign their own calls with: trusted for the
        # ``service`` role only, so they cannot vouch for a citizen or staff.
        self.service_keys = dict(service_keys or {})
        self.clock = clock
        self.audience = audience
        self.issuer = issuer

    def replace_keys(self, public_keys: Mapping[str, Ed25519PublicKey]) -> None:
        """Trusts exactly these keys from now on; retired keys are left out."""
        self.public_keys = dict(public_keys)
        self._verified.clear()

    def verify(self, token: str) -> Principal:
        """The principal ``token`` speaks for; raises :class:`AuthError`.

        A token that verified before is not checked again, only its expiry:
        callers reuse their tokens for many calls, and the signature check is
        the costly part of a call's admission."""
        known = self._verified.get(token)
        if known is not None:
            principal, claims = known
            self._check_expiry(claims)
            return principal
        principal, claims = self._verify_signed(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)))
        self._verified[token] = (principal, claims)
        return principal

    def _verify_signed(self, token: str) -> tuple[Principal, dict]:
        key_id = _key_id(token)
        key = self.public_keys.get(key_id) or self.service_keys.get(key_id)
        if key is None:
            raise AuthError.unauthenticated(
                "UNKNOWN_SIGNING_KEY",
                "the token was signed by a key this service does not trust; "
                "sign in again",
            )
        claims = self._decode(token, key)
        self._check_expiry(claims)
        try:
            principal = Principal(
                claims["sub"], Role(claims["role"]), tuple(claims.get("clinics", ()))
            )
        except (KeyError, ValueError):
            raise _invalid("the token's role is not one this system knows") from None
        if key_id in self.service_keys and principal.role is not Role.SERVICE:
            raise _invalid("a service key may only sign service tokens")
        return principal, claims

    def _decode(self, token: str, key: Ed25519PublicKey) -> dict:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                # Time is checked against the injected clock instead.
                options={
                    "require": ["exp", "iat", "sub", "role", "aud", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise _invalid(f"the token is not meant for {self.audience}") from None
        except jwt.InvalidIssuerError:
            raise _invalid(f"the token was not issued by {self.issuer}") from None
        except jwt.InvalidSignatureError:
            raise _invalid("the token's signature does not verify") from None
        except jwt.PyJWTError:
            raise _invalid("the token is malformed") from None

    def _check_expiry(self, claims: dict) -> None:
        now = self.clock.now().timestamp()
        if claims["exp"] + CLOCK_SKEW_SECONDS <= now:
            raise AuthError.unauthenticated(
                "TOKEN_EXPIRED", "the token has expired; sign in again"
            )
        if claims["iat"] - CLOCK_SKEW_SECONDS > now:
            raise _invalid("the token claims to be issued in the future")


def _key_id(token: str) -> str:
    try:
        return str(jwt.get_unverified_header(token).get("kid", ""))
    except jwt.PyJWTError:
        raise _invalid("the token is malformed") from None


def _invalid(message: str) -> AuthError:
    return AuthError.unauthenticated("INVALID_TOKEN", f"{message}; sign in again")


def public_key(raw: bytes) -> Ed25519PublicKey:
    """The Ed25519 public key of its raw 32 bytes."""
    return Ed25519PublicKey.from_public_bytes(raw)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying ``token``."""
    return (("authorization", f"Bearer {token}"),)


_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "vaxbook_principal", default=None
)


def current_principal() -> Principal:
    """Who is making the current call, as the :class:`AuthInterceptor` verified."""
    principal = _principal.get()
    if principal is None:
        raise AuthError.unauthenticated(
            "TOKEN_MISSING", "this call needs an access token; sign in first"
        )
    return principal


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Verifies the bearer token of each call and enforces per-RPC roles.

    ``policy`` maps full method names (``/pkg.Service/Method``) to the roles
    allowed to call them; :data:`PUBLIC` lets anyone call. A method missing from
    the policy is refused: new RPCs are closed until someone opens them.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        policy: Mapping[str, Iterable[Role]],
        refresh_keys: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.verifier = verifier
        self.policy = {method: frozenset(roles) for method, roles in policy.items()}
        # Called when a token names a key this service has not seen, in case
        # the auth service rotated; ``True`` when the keys changed.
        self.refresh_keys = refresh_keys
        self._wrapped: dict[str, grpc.RpcMethodHandler] = {}

    async def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method.startswith(_ALWAYS_PUBLIC):
            return await continuation(handler_call_details)
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        if handler is not None and handler.unary_unary is not None:
            wrapped = grpc.unary_unary_rpc_method_handler(
                self._wrap(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        elif handler is not None and handler.stream_stream is not None:
            wrapped = grpc.stream_stream_rpc_method_handler(
                self._wrap_stream(method, handler.stream_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        else:
            # Unary and bidirectional RPCs are covered; other kinds stay closed.
            return _refusing(handler, AuthError.no_policy(method))
        self._wrapped[method] = wrapped
        return wrapped

    def authorize(self, method: str, metadata) -> Principal | None:
        """The verified caller of ``method``; ``None`` for a public call
        without a token. Raises :class:`AuthError` when refused."""
        allowed = self.policy.get(method)
        if allowed is None:
            raise AuthError.no_policy(method)
        token = _bearer_token(metadata)
        if token is None:
            if allowed == PUBLIC:
                return None
            raise AuthError.unauthenticated(
                "TOKEN_MISSING",
                "this call needs 'authorization: Bearer <token>' metadata; "
                "sign in first",
            )
        principal = self.verifier.verify(token)
        if allowed != PUBLIC and principal.role not in allowed:
            raise AuthError.role_not_allowed(method, principal.role)
        return principal

    async def _authorize(
        self, method: str, context: grpc.aio.ServicerContext
    ) -> Principal | None:
        metadata = context.invocation_metadata()
        try:
            return self.authorize(method, metadata)
        except AuthError as error:
            if error.reason != "UNKNOWN_SIGNING_KEY" or self.refresh_keys is None:
                raise
            # Judged again even when this call did not reload the keys: a
            # reload another call just made may have brought the key.
            await self.refresh_keys()
        return self.authorize(method, metadata)

    def _wrap(self, method: str, behaviour):
        async def handle(request, context: grpc.aio.ServicerContext):
            token = _principal.set(await self._admit(method, context))
            try:
                return await behaviour(request, context)
            finally:
                _principal.reset(token)

        return handle

    def _wrap_stream(self, method: str, behaviour):
        """The same check for a bidirectional stream, made once when it
        opens; the caller stays the principal of every message."""

        async def handle(request_iterator, context: grpc.aio.ServicerContext):
            _principal.set(await self._admit(method, context))
            async for reply in behaviour(request_iterator, context):
                yield reply

        return handle

    async def _admit(
        self, method: str, context: grpc.aio.ServicerContext
    ) -> Principal | None:
        """The caller, or the call aborted with why it is refused."""
        try:
            principal = await self._authorize(method, context)
        except AuthError as error:
            log.info(
                "%s refused: %s",
                method,
                error.reason,
                extra={"fields": {"reason": error.reason}},
            )
            await context.abort_with_status(to_status(error))
        if principal is not None:
            logs.bind(subject=principal.subject, role=principal.role.value)
        return principal


def _bearer_token(metadata) -> str | None:
    for key, value in metadata or ():
        if key == "authorization":
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def _refusing(handler, error: AuthError):
    """A handler of the same kind as ``handler`` that refuses every call."""
    if handler is None:
        return None

    async def refuse(request, context: grpc.aio.ServicerContext):
        await context.abort_with_status(to_status(error))

    kinds = {
        "unary_stream": grpc.unary_stream_rpc_method_handler,
        "stream_unary": grpc.stream_unary_rpc_method_handler,
        "stream_stream": grpc.stream_stream_rpc_method_handler,
    }
    for attribute, make in kinds.items():
        if getattr(handler, attribute) is not None:
            return make(
                refuse,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler


def require_person(person_account: str, resource: str) -> Principal:
    """The caller, when it may act for the person whose account is
    ``person_account`` (``citizens/{c}``): that citizen, a service or an
    admin. Raises ``NOT_OWNER`` for anyone else."""
    principal = current_principal()
    if principal.role in (Role.SERVICE, Role.ADMIN):
        return principal
    if principal.role is Role.CITIZEN and principal.subject == person_account:
        return principal
    raise AuthError.not_owner(principal.subject, resource)


def require_clinic(clinic: str, resource: str) -> Principal:
    """The caller, when it may act for ``clinic`` (``clinics/{c}``): staff of
    that clinic, a service or an admin. Raises ``NOT_OWNER`` otherwise."""
    principal = current_principal()
    if principal.role in (Role.SERVICE, Role.ADMIN):
        return principal
    if principal.role is Role.CLINIC_STAFF and clinic in principal.clinics:
        return principal
    raise AuthError.not_owner(principal.subject, resource)
