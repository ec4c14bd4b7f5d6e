"""Shared fixtures: real servers, an isolated database and key prefix per run,
and an in-process mesh of the services."""

from __future__ import annotations

import dataclasses
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.common.clock import FakeClock
from services.common.config import Settings
from services.devstack import Endpoints, create_database, drop_database, resolve_servers
from services.eligibility.config import InsuranceSettings
from services.insurance_standin.app import Standin
from services.insurance_standin.server import RunningStandin, start_standin
from services.migrate import migrate
from tests.mesh import Mesh, start_mesh

RUN_ID = uuid.uuid4().hex[:10]
# The mesh's insurance breaker: opens after 3 failures, tries again after 0.5 s.
MESH_BREAKER_FAIL_MAX = 3
MESH_BREAKER_RESET_SECONDS = 0.5


@pytest.fixture(scope="session")
def servers() -> Endpoints:
    """PostgreSQL, Redis and NATS: from VAXBOOK_TEST_*, the local ports, or
    embedded servers started for this run."""
    # Not under pytest's own temporary folder: as root, pytest makes that
    # private, and embedded PostgreSQL runs as an unprivileged account.
    data_dir = Path(tempfile.mkdtemp(prefix="vaxbook-test-servers-"))
    endpoints, stack = resolve_servers("VAXBOOK_TEST_", data_dir)
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
        event_prefix=f"vbtest-{RUN_ID}",
        hold_ttl_seconds=300,
        # One-time codes land here, where tests of the command line read them.
        dev_outbox_path=str(Path(tempfile.mkdtemp(prefix="vaxbook-codes-")) / "codes"),
    )


@pytest.fixture
def fresh_database(servers: Endpoints):
    """A migrated database of its own, out of reach of the session mesh's
    jobs and of tests that alter rows."""
    name = f"vaxbook_test_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    url = create_database(servers.database_url, name)
    migrate(url)
    yield url
    drop_database(servers.database_url, name)


@pytest.fixture(scope="session")
def clock() -> FakeClock:
    return FakeClock(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
async def insurer() -> RunningStandin:
    """The stand-in insurance API the mesh's eligibility service calls."""
    running = await start_standin(Standin())
    yield running
    await running.stop()


@pytest.fixture(scope="session")
def insurance(insurer: RunningStandin) -> InsuranceSettings:
    return InsuranceSettings(
        url=insurer.url,
        connect_timeout_seconds=0.5,
        read_timeout_seconds=0.5,
        breaker_fail_max=MESH_BREAKER_FAIL_MAX,
        breaker_reset_timeout_seconds=MESH_BREAKER_RESET_SECONDS,
    )


@pytest.fixture(scope="session")
async def mesh(
    settings: Settings, clock: FakeClock, insurance: InsuranceSettings
) -> Mesh:
    running = await start_mesh(settings, clock, insurance)
    yield running
    await running.stop()
