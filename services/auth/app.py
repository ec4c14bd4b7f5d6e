"""Wires the auth service from settings."""

from __future__ import annotations

from vaxbook.auth.v1 import auth_pb2_grpc

from services.auth.accounts import Accounts
from services.auth.delivery import CodeSender, DevOutbox
from services.auth.identity import AadhaarScheme, Hasher
from services.auth.keys import KeyRing
from services.auth.servicer import ACCESS_POLICY, SERVICE, AuthServicer
from services.auth.signin import SignIn
from services.auth.store import AuthStore
from services.common.access import ServiceAccess
from services.common.clock import Clock, SystemClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.jobs import PeriodicJob
from services.common.server import Registration

# How often a replica rereads the signing keys, so a rotation or retirement
# made through another replica reaches it.
KEY_RELOAD_SECONDS = 60.0


async def build(
    settings: Settings, clock: Clock | None = None, sender: CodeSender | None = None
):
    """The auth registration and its shutdown hooks."""
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url, pool_size=5)
    store = AuthStore(engine)
    hasher = Hasher(settings.id_hash_key)
    access = ServiceAccess(
        settings, clock, "auth", auth_keys=lambda: keys.public_keys()
    )
    keys = KeyRing(store, clock, access.verifier)
    await keys.load()
    sign_in = SignIn(
        store, hasher, sender or DevOutbox(settings.dev_outbox_path), keys, clock
    )
    servicer = AuthServicer(
        Accounts(store, hasher, clock), sign_in, keys, AadhaarScheme()
    )
    reload_keys = PeriodicJob("signing-key-reload", keys.load, KEY_RELOAD_SECONDS)
    reload_keys.start()

    async def close() -> None:
        await reload_keys.stop()
        await engine.dispose()

    registration = Registration(
        SERVICE,
        auth_pb2_grpc.add_AuthServiceServicer_to_server,
        servicer,
        interceptors=[access.interceptor(ACCESS_POLICY)],
    )
    return [registration], [close]
