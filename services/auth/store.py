"""PostgreSQL storage of accounts, sign-in challenges, dependants and keys."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.auth.identity import Contact
from services.auth.tables import accounts, challenges, dependants, signing_keys
from services.common.db import autocommit
from services.common.languages import DEFAULT_LANGUAGE


@dataclass(frozen=True)
class AccountRow:
    id: str
    kind: str
    contact: Contact
    role: str
    clinics: list[str]
    create_time: datetime
    preferred_language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class NewAccount:
    kind: str
    national_id_hash: str
    contact: Contact
    role: str
    clinics: list[str]
    preferred_language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class ChallengeRow:
    id: str
    account_id: str
    code_hash: str
    attempts: int
    state: str
    completed_request_id: str | None
    create_time: datetime
    expire_time: datetime


@dataclass(frozen=True)
class DependantRow:
    id: str
    owner_id: str
    display_name: str
    relationship: str
    create_time: datetime


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    private_key: bytes
    public_key: bytes
    create_time: datetime
    retire_time: datetime | None


@dataclass(frozen=True)
class Opening:
    """What opening a challenge did: ``challenge`` is ``None`` when the
    hourly limit is met, and ``oldest_in_window`` says when it frees up."""

    challenge: ChallengeRow | None
    created: bool
    oldest_in_window: datetime | None = None


class LockedChallenge:
    """A challenge row locked for one transaction, and a way to change it."""

    def __init__(self, conn: AsyncConnection, row: ChallengeRow | None) -> None:
        self._conn = conn
        self.row = row

    async def update(self, **values) -> None:
        assert self.row is not None
        await self._conn.execute(
            update(challenges).where(challenges.c.id == self.row.id).values(**values)
        )


class AuthStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Single reads, without a BEGIN and ROLLBACK around them.
        self._reads = autocommit(engine)

    # Accounts

    async def create_account(
        self, request_id: str, account: NewAccount, now: datetime
    ) -> AccountRow | None:
        """Inserts an account; a retried ``request_id`` returns the first one,
        and ``None`` means the national ID already has an account of the kind."""
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(accounts)
                .values(
                    id=uuid.uuid4().hex,
                    kind=account.kind,
                    national_id_hash=account.national_id_hash,
                    contact_kind=account.contact.kind,
                    contact=account.contact.address,
                    role=account.role,
                    clinics=account.clinics,
                    preferred_language=account.preferred_language,
                    request_id=request_id,
                    create_time=now,
                )
                .on_conflict_do_nothing()
            )
            row = (
                await conn.execute(
                    select(accounts).where(accounts.c.request_id == request_id)
                )
            ).first()
        return _account(row) if row else None

    async def find_account(self, national_id_hash: str, kind: str) -> AccountRow | None:
        query = select(accounts).where(
            accounts.c.national_id_hash == national_id_hash, accounts.c.kind == kind
        )
        async with self._reads.connect() as conn:
            row = (await conn.execute(query)).first()
        return _account(row) if row else None

    async def get_account(self, account_id: str) -> AccountRow | None:
        query = select(accounts).where(accounts.c.id == account_id)
        async with self._reads.connect() as conn:
            row = (await conn.execute(query)).first()
        return _account(row) if row else None

    # Sign-in challenges

    async def open_challenge(
        self,
        new: ChallengeRow,
        national_id_hash: str,
        request_id: str,
        window_start: datetime,
        limit: int,
    ) -> Opening:
        """Inserts ``new`` unless ``limit`` challenges were opened for the
        national ID since ``window_start``. A retried ``request_id`` returns
        the first challenge. The account row is locked meanwhile, so concurrent
        sign-ins of one account are counted one at a time."""
        async with self.engine.begin() as conn:
            await conn.execute(
                select(accounts.c.id)
                .where(accounts.c.id == new.account_id)
                .with_for_update()
            )
            existing = (
                await conn.execute(
                    select(challenges).where(challenges.c.request_id == request_id)
                )
            ).first()
            if existing is not None:
                return Opening(_challenge(existing), created=False)
            used, oldest = (
                await conn.execute(
                    select(func.count(), func.min(challenges.c.create_time)).where(
                        challenges.c.national_id_hash == national_id_hash,
                        challenges.c.create_time > window_start,
                    )
                )
            ).one()
            if used >= limit:
                return Opening(None, created=False, oldest_in_window=oldest)
            await conn.execute(
                insert(challenges).values(
                    national_id_hash=national_id_hash,
                    request_id=request_id,
                    **new.__dict__,
                )
            )
        return Opening(new, created=True)

    @asynccontextmanager
    async def locked_challenge(
        self, challenge_id: str
    ) -> AsyncIterator[LockedChallenge]:
        """The challenge locked until the block ends, when changes commit."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(challenges)
                    .where(challenges.c.id == challenge_id)
                    .with_for_update()
                )
            ).first()
            yield LockedChallenge(conn, _challenge(row) if row else None)

    # Dependants

    async def add_dependant(
        self, owner_id: str, fields: dict, request_id: str, now: datetime, limit: int
    ) -> DependantRow | None:
        """Inserts a dependant unless the owner already has ``limit``; a retried
        ``request_id`` returns the first one. ``None`` means the limit is met."""
        async with self.engine.begin() as conn:
            await conn.execute(
                select(accounts.c.id).where(accounts.c.id == owner_id).with_for_update()
            )
            existing = await self._dependant_by_request(conn, request_id)
            if existing is not None:
                return existing
            count = (
                await conn.execute(
                    select(func.count()).where(dependants.c.owner_id == owner_id)
                )
            ).scalar_one()
            if count >= limit:
                return None
            await conn.execute(
                insert(dependants).values(
                    id=uuid.uuid4().hex,
                    owner_id=owner_id,
                    request_id=request_id,
                    create_time=now,
                    **fields,
                )
            )
            return await self._dependant_by_request(conn, request_id)

    async def get_dependant(
        self, owner_id: str, dependant_id: str
    ) -> DependantRow | None:
        query = select(*_DEPENDANT_COLUMNS).where(
            dependants.c.owner_id == owner_id, dependants.c.id == dependant_id
        )
        async with self._reads.connect() as conn:
            row = (await conn.execute(query)).first()
        return DependantRow(*row) if row else None

    async def list_dependants(self, owner_id: str) -> list[DependantRow]:
        query = (
            select(*_DEPENDANT_COLUMNS)
            .where(dependants.c.owner_id == owner_id)
            .order_by(dependants.c.create_time, dependants.c.id)
        )
        async with self._reads.connect() as conn:
            return [DependantRow(*row) for row in await conn.execute(query)]

    async def _dependant_by_request(
        self, conn: AsyncConnection, request_id: str
    ) -> DependantRow | None:
        row = (
            await conn.execute(
                select(*_DEPENDANT_COLUMNS).where(dependants.c.request_id == request_id)
            )
        ).first()
        return DependantRow(*row) if row else None

    # Signing keys

    async def insert_key(self, row: KeyRow) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(signing_keys).values(**row.__dict__))

    async def live_keys(self) -> list[KeyRow]:
        """Keys not retired, newest first."""
        query = (
            select(signing_keys)
            .where(signing_keys.c.retire_time.is_(None))
            .order_by(signing_keys.c.create_time.desc(), signing_keys.c.key_id)
        )
        async with self._reads.connect() as conn:
            return [KeyRow(*row) for row in await conn.execute(query)]

    async def retire_key(self, key_id: str, now: datetime) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(signing_keys)
                .where(
                    signing_keys.c.key_id == key_id,
                    signing_keys.c.retire_time.is_(None),
                )
                .values(retire_time=now)
            )
        return result.rowcount == 1


_DEPENDANT_COLUMNS = (
    dependants.c.id,
    dependants.c.owner_id,
    dependants.c.display_name,
    dependants.c.relationship,
    dependants.c.create_time,
)


def _account(row) -> AccountRow:
    return AccountRow(
        row.id,
        row.kind,
        Contact(row.contact_kind, row.contact),
        row.role,
        list(row.clinics),
        row.create_time,
        row.preferred_language,
    )


def _challenge(row) -> ChallengeRow:
    return ChallengeRow(
        row.id,
        row.account_id,
        row.code_hash,
        row.attempts,
        row.state,
        row.completed_request_id,
        row.create_time,
        row.expire_time,
    )
