"""Token signing keys: made, rotated and retired in the database.

The newest live key signs; every live key verifies. Rotating adds a key that
signs from then on while older tokens keep verifying; retiring a key makes the
tokens it signed stop verifying once verifiers reload the key list.
"""

from __future__ import annotations

import logging
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from services.auth.store import AuthStore, KeyRow
from services.common.auth import TokenSigner, TokenVerifier, public_key
from services.common.clock import Clock
from services.common.errors import NotFound

log = logging.getLogger(__name__)


class KeyRing:
    """The auth service's signer and its own verifier, kept in step with the
    ``signing_keys`` table."""

    def __init__(
        self, store: AuthStore, clock: Clock, verifier: TokenVerifier | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.verifier = verifier or TokenVerifier({}, clock)
        self._signer: TokenSigner | None = None
        self.live: list[KeyRow] = []

    @property
    def signer(self) -> TokenSigner:
        assert self._signer is not None, "KeyRing.load() was not awaited"
        return self._signer

    async def load(self) -> None:
        """Reads the live keys, making the first one when there is none."""
        live = await self.store.live_keys()
        if not live:
            await self.rotate()
            return
        self._use(live)

    async def rotate(self) -> str:
        """Adds a key that signs from now on; returns its key id."""
        private = Ed25519PrivateKey.generate()
        row = KeyRow(
            key_id=uuid.uuid4().hex,
            private_key=private.private_bytes(
                Encoding.Raw, PrivateFormat.Raw, NoEncryption()
            ),
            public_key=private.public_key().public_bytes(
                Encoding.Raw, PublicFormat.Raw
            ),
            create_time=self.clock.now(),
            retire_time=None,
        )
        await self.store.insert_key(row)
        log.info("signing key added", extra={"fields": {"key_id": row.key_id}})
        self._use(await self.store.live_keys())
        return row.key_id

    async def retire(self, key_id: str) -> None:
        """Stops trusting a key; a new one is made if it was the last."""
        if not await self.store.retire_key(key_id, self.clock.now()):
            raise NotFound("signing_key", f"signingKeys/{key_id}")
        log.info("signing key retired", extra={"fields": {"key_id": key_id}})
        await self.load()

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {row.key_id: public_key(row.public_key) for row in self.live}

    def _use(self, live: list[KeyRow]) -> None:
        newest = live[0]
        self.live = live
        self._signer = TokenSigner(
            newest.key_id,
            Ed25519PrivateKey.from_private_bytes(newest.private_key),
            self.clock,
        )
        self.verifier.replace_keys(self.public_keys())
