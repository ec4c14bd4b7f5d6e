"""PostgreSQL access through SQLAlchemy 2 (async) and psycopg 3."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

POOL_RECYCLE_SECONDS = 1800


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine for a ``postgresql+psycopg://`` URL.

    It keeps at most ``pool_size`` connections and keeps them open; a call
    finding them all busy waits for one. A pool that opened extra
    connections for a surge and closed them after paid for a new PostgreSQL
    backend each time: under the booking load, more than one new session a
    booking.

    Connections are not pinged on checkout: a dead one fails its statement,
    which the caller sees as a retryable error, instead of every statement
    paying an extra round trip.
    """
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=POOL_RECYCLE_SECONDS,
    )


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for single statements that need no BEGIN and COMMIT."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")
