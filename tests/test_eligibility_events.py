"""The eligibility outbox: a rule set put in force publishes one
``RuleSetActivated`` naming its version and who put it in force; a change
that leaves the rule set in force as it was publishes nothing.

The service runs on a database and a stream of its own, so every event on the
stream is one of these tests'.
"""

from __future__ import annotations

import dataclasses
import json
import uuid

import grpc
import pytest
from sqlalchemy import func, select
from vaxbook.eligibility.v1 import eligibility_pb2 as pb
from vaxbook.eligibility.v1 import eligibility_pb2_grpc

from services.common.access import token_channel
from services.common.auth import Role
from services.common.clock import FakeClock
from services.common.config import Settings
from services.common.db import create_engine
from services.common.events import EventSettings
from services.common.server import RunningServer, create_server
from services.devstack import Endpoints, create_database, drop_database
from services.eligibility import app as eligibility_app
from services.eligibility.events import EligibilityEvents
from services.eligibility.rules import load_rules, shipped_rules_text
from services.eligibility.rulesets import RuleSets
from services.eligibility.store import EligibilityStore
from services.eligibility.tables import outbox
from services.migrate import migrate
from tests.mesh import new_id
from tests.polling import eventually
from tests.test_outbox_relays import published

SHIPPED_VERSION = load_rules().version


@dataclasses.dataclass
class Eligibility:
    """The service under test, where its events go, and how to call it."""

    settings: Settings
    clock: FakeClock
    events: EventSettings
    servers: list[RunningServer]
    stub: eligibility_pb2_grpc.EligibilityServiceStub

    async def start_replica(self) -> None:
        """Starts one more replica on the same database, as a restart or a
        second process would."""
        self.servers.append(await _start(self.settings, self.clock))


async def _start(settings: Settings, clock: FakeClock) -> RunningServer:
    registrations, on_stop = await eligibility_app.build(settings, clock)
    running = await create_server("eligibility", registrations, "127.0.0.1:0")
    running.on_stop.extend(on_stop)
    return running


@pytest.fixture(scope="module")
def own_database(servers: Endpoints):
    name = f"vaxbook_test_elig_events_{new_id()[:10]}"
    url = create_database(servers.database_url, name)
    migrate(url)
    yield url
    drop_database(servers.database_url, name)


@pytest.fixture(scope="module")
async def eligibility(mesh, settings, own_database):
    own = dataclasses.replace(
        settings,
        database_url=own_database,
        event_prefix=f"vbelig-{uuid.uuid4().hex[:8]}",
        service_addrs={
            name: f"127.0.0.1:{running.port}" for name, running in mesh.servers.items()
        },
    )
    first = await _start(own, mesh.clock)
    channel = token_channel(f"127.0.0.1:{first.port}", mesh.service_tokens)
    running = Eligibility(
        own,
        mesh.clock,
        EventSettings.from_settings(own),
        [first],
        eligibility_pb2_grpc.EligibilityServiceStub(channel),
    )
    yield running
    await channel.close()
    for server in running.servers:
        await server.stop(grace=0)


# Builders


def rules_text(version: str) -> str:
    rules = json.loads(shipped_rules_text())
    rules["version"] = version
    return json.dumps(rules)


async def replace(mesh, eligibility, text: str, admin: str, request_id: str):
    return await eligibility.stub.ReplaceRuleSet(
        pb.ReplaceRuleSetRequest(rules_json=text, request_id=request_id),
        metadata=mesh.token(admin, Role.ADMIN),
    )


async def activations(eligibility) -> list:
    """``(headers, event)`` of every RuleSetActivated on the stream."""
    events = eligibility.events
    stored = await published(
        events, events.subject("eligibility", "rule_set_activated")
    )
    return [(headers, event) for _, headers, event in stored]


async def outbox_rows(eligibility) -> tuple[int, int]:
    """How many events the outbox holds, and how many of them are unsent."""
    engine = create_engine(eligibility.settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            total = await conn.scalar(select(func.count()).select_from(outbox))
            unsent = await conn.scalar(
                select(func.count()).where(outbox.c.sent_at.is_(None))
            )
    finally:
        await engine.dispose()
    return total, unsent


async def until_published(eligibility, count: int) -> list:
    """The activations on the stream once ``count`` are there and the outbox
    has nothing left to send."""

    async def all_out() -> bool:
        _, unsent = await outbox_rows(eligibility)
        return unsent == 0 and len(await activations(eligibility)) >= count

    await eventually(all_out)
    return await activations(eligibility)


# Tests


async def test_the_shipped_rules_recorded_at_start_up_are_published_without_actor(
    eligibility,
):
    headers, event = (await until_published(eligibility, 1))[0]

    activated = event.rule_set_activated
    assert (activated.version, activated.actor) == (SHIPPED_VERSION, "")
    assert headers["Nats-Msg-Id"] == event.event_id
    assert event.request_id == ""


async def test_replacing_the_rule_set_publishes_one_event_naming_the_admin(
    mesh, eligibility
):
    version = f"2027.5-{new_id()[:8]}"
    admin = f"staffAccounts/{new_id()}"
    request_id = new_id()
    before = len(await until_published(eligibility, 1))

    replaced = await replace(mesh, eligibility, rules_text(version), admin, request_id)
    # The same request again, and the same version under a new request: the
    # rule set in force stays as it is.
    await replace(mesh, eligibility, rules_text(version), admin, request_id)
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await replace(mesh, eligibility, rules_text(version), admin, new_id())

    assert replaced.version == version
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS
    published_now = await until_published(eligibility, before + 1)
    assert len(published_now) == before + 1
    assert await outbox_rows(eligibility) == (before + 1, 0)
    headers, event = published_now[-1]
    activated = event.rule_set_activated
    assert (activated.version, activated.actor) == (version, admin)
    assert event.request_id == request_id
    assert headers["Nats-Msg-Id"] == event.event_id


async def test_a_restart_with_the_same_file_publishes_nothing(eligibility):
    before = await until_published(eligibility, 1)

    await eligibility.start_replica()

    assert await outbox_rows(eligibility) == (len(before), 0)
    assert [event.event_id for _, event in await activations(eligibility)] == [
        event.event_id for _, event in before
    ]


async def test_a_deploy_with_a_new_file_publishes_its_version_without_actor(
    eligibility,
):
    before = len(await until_published(eligibility, 1))
    version = f"2028.1-{new_id()[:8]}"
    engine = create_engine(eligibility.settings.database_url, pool_size=1)
    store = EligibilityStore(engine, EligibilityEvents(eligibility.events))
    try:
        deployed = await RuleSets.start(
            store, eligibility.clock, rules_text(version), "rules/v2.json"
        )
    finally:
        await engine.dispose()

    assert deployed.in_force.version == version
    published_now = await until_published(eligibility, before + 1)
    assert len(published_now) == before + 1
    activated = published_now[-1][1].rule_set_activated
    assert (activated.version, activated.actor) == (version, "")
