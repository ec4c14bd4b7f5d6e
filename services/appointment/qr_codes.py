"""The appointment service's QR codes: its signing keys and the code of each
confirmed appointment.

A code is made again, byte for byte, from what the appointment row keeps: the
confirmation time, the key id and the generation (Ed25519 signatures are
deterministic). So nothing but the keys is stored, and a reissue only moves
the generation on, which makes every earlier code of the appointment
``REVOKED``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from vaxbook.qr.v1 import qr_pb2

from services.appointment.rows import AppointmentRow
from services.appointment.tables import qr_keys
from services.common import qr
from services.common.clock import Clock, to_timestamp
from services.common.names import APPOINTMENT, CLINIC

log = logging.getLogger(__name__)


class QrKeyMissing(LookupError):
    """The appointment names a key this service does not hold."""


def token_id(appointment_id: str, generation: int) -> str:
    """The id of an appointment's code of one generation."""
    return f"{appointment_id}.{generation}"


class QrIssuer:
    """Holds the signing keys and makes appointments' codes."""

    def __init__(self, engine: AsyncEngine, ref_key: bytes, clock: Clock) -> None:
        self.engine = engine
        # Keys the opaque citizen reference, so a code names nobody.
        self.ref_key = ref_key
        self.clock = clock
        self._signers: dict[str, qr.QrSigner] = {}
        self._retired: set[str] = set()
        self._active = ""

    @property
    def active_key_id(self) -> str:
        """The key new confirmations are signed with."""
        return self._active

    async def start(self) -> None:
        """Loads the keys, making the first one if there is none."""
        await self.reload()
        if not self._active:
            await self._add_key()
            await self.reload()

    async def reload(self) -> None:
        """Reads the keys again, to follow a rotation made elsewhere."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(select(qr_keys).order_by(qr_keys.c.create_time))
            ).all()
        self._signers = {
            row.key_id: qr.QrSigner(
                row.key_id, qr.private_key_from_bytes(row.private_key)
            )
            for row in rows
        }
        self._retired = {row.key_id for row in rows if row.retire_time is not None}
        live = [row.key_id for row in rows if row.retire_time is None]
        self._active = live[-1] if live else ""

    async def rotate(self) -> str:
        """Makes a new key the active one; earlier keys keep verifying until
        retired. Returns the new key id."""
        key_id = await self._add_key()
        await self.reload()
        log.info("qr signing key rotated", extra={"fields": {"key_id": key_id}})
        return key_id

    async def retire(self, key_id: str) -> None:
        """Stops trusting a key: codes it signed read UNKNOWN_KEY."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(qr_keys)
                .where(qr_keys.c.key_id == key_id, qr_keys.c.retire_time.is_(None))
                .values(retire_time=self.clock.now())
            )
        await self.reload()

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """The keys codes are verified with: every unretired one."""
        return {
            key_id: signer.public_key
            for key_id, signer in self._signers.items()
            if key_id not in self._retired
        }

    def citizen_ref(self, citizen_id: str) -> str:
        """An opaque, stable reference to a person."""
        digest = hmac.new(self.ref_key, citizen_id.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def claims(self, row: AppointmentRow) -> qr_pb2.QrClaims:
        """What the code of a confirmed appointment says."""
        return qr_pb2.QrClaims(
            token_id=token_id(row.id, row.qr_generation),
            appointment=APPOINTMENT.format(appointment=row.id),
            citizen_ref=self.citizen_ref(row.citizen_id),
            clinic=CLINIC.format(clinic=row.clinic_id),
            slot_start_time=to_timestamp(row.slot_start),
            slot_end_time=to_timestamp(row.slot_end),
            vaccine=row.vaccine,
            dose_number=row.dose_number,
            issue_time=to_timestamp(_issued(row)),
        )

    def token(self, row: AppointmentRow) -> str:
        """The code of a confirmed appointment; ``QrKeyMissing`` when its key
        is not loaded here (``reload`` first)."""
        signer = self._signers.get(row.qr_key_id or "")
        if signer is None:
            raise QrKeyMissing(row.qr_key_id or "")
        return signer.sign(self.claims(row))

    async def _add_key(self) -> str:
        key_id, private_key = qr.new_signing_key()
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(qr_keys)
                .values(
                    key_id=key_id,
                    private_key=qr.private_key_bytes(private_key),
                    public_key=qr.public_key_bytes(private_key.public_key()),
                    create_time=self.clock.now(),
                )
                .on_conflict_do_nothing()
            )
        return key_id


def _issued(row: AppointmentRow) -> datetime:
    return row.confirm_time or row.update_time


def ref_key_from(service_key: str) -> bytes:
    """The citizen reference key, derived from the services' shared secret."""
    return hashlib.sha256(b"vaxbook qr citizen ref\0" + service_key.encode()).digest()
