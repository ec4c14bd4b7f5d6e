"""PostgreSQL storage of the audit chain.

Appends take a transaction-scoped advisory lock, so however many consumers
and replicas run, records are linked one after another into a single chain.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.audit import chain
from services.audit.chain import AuditRow, Entry
from services.audit.tables import records, stream_positions
from services.common.db import autocommit

# The advisory lock every append holds until its transaction ends.
CHAIN_LOCK_KEY = zlib.crc32(b"audit:chain")
# Records read per statement while the chain is verified.
VERIFY_CHUNK = 1000


@dataclass(frozen=True)
class RecordFilter:
    """Which records a query wants; empty and ``None`` fields match all."""

    appointment: str = ""
    citizen: str = ""
    clinic: str = ""
    actor: str = ""
    event_type: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None

    def conditions(self) -> list:
        matches = [
            records.c[name] == value
            for name in ("appointment", "citizen", "clinic", "actor", "event_type")
            if (value := getattr(self, name))
        ]
        if self.start_time is not None:
            matches.append(records.c.occur_time >= self.start_time)
        if self.end_time is not None:
            matches.append(records.c.occur_time < self.end_time)
        return matches


class ChainTail:
    """The end of the chain, inside a transaction that holds the chain lock."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def append(self, entries: list[Entry], now: datetime) -> int:
        """Links and stores the entries in order, leaving out events already
        stored; returns how many records were added."""
        new = await self._not_stored(entries)
        if not new:
            return 0
        last = (
            await self.conn.execute(
                select(records.c.seq, records.c.hash)
                .order_by(records.c.seq.desc())
                .limit(1)
            )
        ).first()
        seq, prev_hash = (last.seq, last.hash) if last else (0, chain.GENESIS_HASH)
        rows = []
        for entry in new:
            seq += 1
            row = chain.link(entry, seq, now, prev_hash)
            rows.append(row.__dict__)
            prev_hash = row.hash
        await self.conn.execute(records.insert(), rows)
        return len(rows)

    async def stream_position(self, stream: str) -> int | None:
        """The last message of ``stream`` dealt with; ``None`` before the
        first, and 0 as well when the chain is still empty."""
        last = await self.conn.scalar(
            select(stream_positions.c.last_seq).where(
                stream_positions.c.stream == stream
            )
        )
        if last is None and await self.conn.scalar(select(records.c.seq).limit(1)):
            return None
        return last or 0

    async def advance(self, stream: str, last_seq: int) -> None:
        """Records that the messages of ``stream`` up to ``last_seq`` are
        dealt with."""
        statement = insert(stream_positions).values(stream=stream, last_seq=last_seq)
        await self.conn.execute(
            statement.on_conflict_do_update(
                index_elements=[stream_positions.c.stream],
                set_={
                    "last_seq": func.greatest(
                        stream_positions.c.last_seq, statement.excluded.last_seq
                    )
                },
            )
        )

    async def _not_stored(self, entries: list[Entry]) -> list[Entry]:
        """The entries whose event is neither stored nor earlier in the list."""
        ids = [entry.event_id for entry in entries]
        seen = set(
            (
                await self.conn.execute(
                    select(records.c.event_id).where(records.c.event_id.in_(ids))
                )
            ).scalars()
        )
        new = []
        for entry in entries:
            if entry.event_id not in seen:
                seen.add(entry.event_id)
                new.append(entry)
        return new


class AuditStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Reads are single statements: one round trip, no BEGIN.
        self.single = autocommit(engine)

    @asynccontextmanager
    async def chain_tail(self) -> AsyncIterator[ChainTail]:
        """Holds the chain lock until the block ends; what was appended
        through the tail is committed then, or nothing if the block raises."""
        async with self.engine.begin() as conn:
            await conn.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
            yield ChainTail(conn)

    async def append(self, entries: list[Entry], now: datetime) -> int:
        """Links and stores the entries; returns how many were new."""
        async with self.chain_tail() as tail:
            return await tail.append(entries, now)

    async def matching(
        self, wanted: RecordFilter, offset: int, limit: int
    ) -> list[AuditRow]:
        """Matching records in chain order, oldest first."""
        query = (
            select(records)
            .where(*wanted.conditions())
            .order_by(records.c.seq)
            .offset(offset)
            .limit(limit)
        )
        async with self.single.connect() as conn:
            return [AuditRow(*row) for row in await conn.execute(query)]

    async def in_chain_order(self) -> AsyncIterator[AuditRow]:
        """Every record from the first, read a chunk at a time."""
        after = 0
        while True:
            query = (
                select(records)
                .where(records.c.seq > after)
                .order_by(records.c.seq)
                .limit(VERIFY_CHUNK)
            )
            async with self.single.connect() as conn:
                chunk = [AuditRow(*row) for row in await conn.execute(query)]
            for row in chunk:
                yield row
            if len(chunk) < VERIFY_CHUNK:
                return
            after = chunk[-1].seq
