"""PostgreSQL access through SQLAlchemy 2 (async) and psycopg 3."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine for a ``postgresql+psycopg://`` URL."""
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )
