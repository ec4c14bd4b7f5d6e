"""How a service takes part in access control.

Incoming calls are verified against the auth service's public signing keys
(fetched over gRPC and reloaded periodically) and the shared service key.
Outgoing calls to other services carry a short-lived service token signed with
the service key, so internal calls need no citizen's or staff member's token.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping

import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from vaxbook.auth.v1 import auth_pb2, auth_pb2_grpc

from services.common.auth import (
    SERVICE_TOKEN_TTL_SECONDS,
    AuthInterceptor,
    Role,
    TokenSigner,
    TokenVerifier,
    public_key,
)
from services.common.clock import Clock
from services.common.config import Settings
from services.common.grpc_clients import channel
from services.common.jobs import PeriodicJob

log = logging.getLogger(__name__)

# How often the auth service's keys are fetched again, so rotations and
# retirements reach every service.
KEY_RELOAD_SECONDS = 60.0
# A token naming an unknown key triggers a fetch at most this often.
KEY_REFRESH_MIN_INTERVAL_SECONDS = 5.0
KEY_FETCH_TIMEOUT_SECONDS = 2.0
# A cached service token is replaced when it has less than this left.
SERVICE_TOKEN_RENEW_SECONDS = 60


def service_signer(service_key: str, clock: Clock) -> TokenSigner:
    """The signer of service tokens, derived from the ``VAXBOOK_SERVICE_KEY``
    secret."""
    seed = hashlib.sha256(b"vaxbook service key\0" + service_key.encode())
    private = Ed25519PrivateKey.from_private_bytes(seed.digest())
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key_id = "service-" + hashlib.sha256(raw_public).hexdigest()[:16]
    return TokenSigner(key_id, private, clock)


class ServiceTokens:
    """Mints service tokens for one service, reusing one until near expiry."""

    def __init__(self, signer: TokenSigner, service: str) -> None:
        self.signer = signer
        self.service = service
        self._metadata: tuple[tuple[str, str], ...] = ()
        self._renew_at = 0.0

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata carrying a valid service token."""
        now = self.signer.clock.now().timestamp()
        if now >= self._renew_at:
            token = self.signer.service_token(self.service)
            self._metadata = (("authorization", f"Bearer {token}"),)
            lifetime = SERVICE_TOKEN_TTL_SECONDS - SERVICE_TOKEN_RENEW_SECONDS
            self._renew_at = now + lifetime
        return self._metadata


class TokenChannel:
    """A channel whose unary calls carry a token unless they pass their own
    ``authorization`` metadata.

    It wraps the call objects rather than using a gRPC client interceptor,
    which would cost an extra task on every call."""

    def __init__(
        self,
        inner: grpc.aio.Channel,
        metadata: Callable[[], tuple[tuple[str, str], ...]],
    ) -> None:
        self._inner = inner
        self._metadata = metadata

    def unary_unary(self, *args, **kwargs):
        return _WithToken(self._inner.unary_unary(*args, **kwargs), self._metadata)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    async def __aenter__(self) -> TokenChannel:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self._inner.close()


class _WithToken:
    """One RPC of a :class:`TokenChannel`."""

    def __init__(self, call, metadata) -> None:
        self._call = call
        self._metadata = metadata

    def __call__(self, request, *, metadata=None, **kwargs):
        if metadata is None:
            metadata = self._metadata()
        elif not any(key == "authorization" for key, _ in metadata):
            metadata = (*metadata, *self._metadata())
        return self._call(request, metadata=metadata, **kwargs)


def token_channel(address: str, tokens: ServiceTokens) -> TokenChannel:
    """A channel to another service whose calls carry ``tokens``' service
    token unless they pass their own ``authorization`` metadata."""
    return TokenChannel(channel(address), tokens.metadata)


class ServiceAccess:
    """One service's verifier, its service tokens and its key reloading."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        service: str,
        auth_keys: Callable[[], Mapping[str, Ed25519PublicKey]] | None = None,
    ) -> None:
        signer = service_signer(settings.service_key, clock)
        self.clock = clock
        self.tokens = ServiceTokens(signer, service)
        self.verifier = TokenVerifier(
            {}, clock, service_keys={signer.key_id: signer.public_key()}
        )
        self._local_keys = auth_keys
        self._auth_channel = (
            None if auth_keys else channel(settings.service_addrs["auth"])
        )
        self._channels: list[TokenChannel] = []
        self._last_refresh = float("-inf")
        self._refreshing: asyncio.Future[bool] | None = None
        self._reload = PeriodicJob(
            "signing-key-reload", self.reload, KEY_RELOAD_SECONDS
        )

    @classmethod
    async def start(
        cls,
        settings: Settings,
        clock: Clock,
        service: str,
        auth_keys: Callable[[], Mapping[str, Ed25519PublicKey]] | None = None,
    ) -> ServiceAccess:
        """Loads the keys once, then keeps them fresh in the background.

        ``auth_keys`` gives the keys directly (the auth service itself);
        otherwise they come from ``AuthService.ListSigningKeys``. When the
        auth service cannot be reached yet, start-up goes on: tokens are
        refused as signed by an unknown key until a later fetch succeeds.
        """
        access = cls(settings, clock, service, auth_keys)
        await access.begin()
        return access

    async def begin(self) -> None:
        """Loads the keys once, then keeps them fresh in the background."""
        await self.reload()
        self._reload.start()

    def interceptor(self, policy: Mapping[str, Iterable[Role]]) -> AuthInterceptor:
        return AuthInterceptor(self.verifier, policy, refresh_keys=self.refresh)

    def channel(self, address: str) -> TokenChannel:
        """A channel to another service whose calls carry a service token."""
        made = token_channel(address, self.tokens)
        self._channels.append(made)
        return made

    async def reload(self) -> bool:
        """Fetches the auth service's keys; ``True`` when they changed."""
        try:
            keys = await self._fetch()
        except grpc.aio.AioRpcError as error:
            log.warning("signing keys could not be fetched: %s", error.code().name)
            return False
        changed = keys.keys() != self.verifier.public_keys.keys()
        self.verifier.replace_keys(keys)
        return changed

    async def refresh(self) -> bool:
        """Reloads the keys for a token naming an unknown key, at most once
        every few seconds, so forged key ids cannot flood the auth service.
        Calls arriving while a reload runs wait for it rather than start
        another, so every token signed with a new key is judged on it."""
        if self._refreshing is not None:
            return await asyncio.shield(self._refreshing)
        now = self.clock.now().timestamp()
        if now - self._last_refresh < KEY_REFRESH_MIN_INTERVAL_SECONDS:
            return False
        self._last_refresh = now
        self._refreshing = asyncio.ensure_future(self.reload())
        try:
            return await asyncio.shield(self._refreshing)
        finally:
            self._refreshing = None

    async def close(self) -> None:
        await self._reload.stop()
        for made in self._channels:
            await made.close()
        if self._auth_channel is not None:
            await self._auth_channel.close()

    async def _fetch(self) -> dict[str, Ed25519PublicKey]:
        if self._local_keys is not None:
            return dict(self._local_keys())
        stub = auth_pb2_grpc.AuthServiceStub(self._auth_channel)
        response = await stub.ListSigningKeys(
            auth_pb2.ListSigningKeysRequest(), timeout=KEY_FETCH_TIMEOUT_SECONDS
        )
        return {key.key_id: public_key(key.public_key) for key in response.signing_keys}
