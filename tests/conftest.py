"""Shared fixtures: real servers, an isolated database and key prefix per run,
and an in-process mesh of the services."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from services.common.clock import FakeClock
from services.common.config import Settings
from services.devstack import Endpoints, create_database, drop_database, resolve_servers
from services.migrate import migrate
from tests.mesh import Mesh, start_mesh

RUN_ID = uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def servers(tmp_path_factory) -> Endpoints:
    """PostgreSQL, Redis and NATS: from VAXBOOK_TEST_*, the local ports, or
    embedded servers started for this run."""
    endpoints, stack = resolve_servers(
        "VAXBOOK_TEST_", tmp_path_factory.mktemp("servers")
    )
    yield endpoints
    if stack is not None:
        stack.stop()


@pytest.fixture(scope="session")
def database_url(servers: Endpoints) -> str:
    """A fresh, migrated database of this run's own, dropped at the end."""
    name = f"vaxbook_test_{RUN_ID}"
    url = create_database(servers.database_url, name)
    migrate(url)
    yield url
    drop_database(servers.database_url, name)


@pytest.fixture(scope="session")
def settings(servers: Endpoints, database_url: str) -> Settings:
    return dataclasses.replace(
        Settings.from_env(),
        database_url=database_url,
        redis_url=servers.redis_url,
        nats_url=servers.nats_url,
        key_prefix=f"vbtest-{RUN_ID}",
        hold_ttl_seconds=300,
    )


@pytest.fixture(scope="session")
def clock() -> FakeClock:
    return FakeClock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
async def mesh(settings: Settings, clock: FakeClock) -> Mesh:
    running = await start_mesh(settings, clock)
    yield running
    await running.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_seconds: float = 10.0
) -> None:
    """Polls ``check`` until it is true; fails after ``timeout_seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_seconds}s")
        await asyncio.sleep(0.05)
