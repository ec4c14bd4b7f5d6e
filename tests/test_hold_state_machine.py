"""A randomised walk over reserve / confirm / cancel / expire against the real
hold engine, checking after every step that for seats and for doses
held + committed + free = total, and that held and committed match a model."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from services.common.clock import FakeClock
from services.common.db import create_engine
from services.common.errors import DomainError
from services.common.events import EventSettings
from services.inventory import redis_gate
from services.inventory.events import InventoryEvents
from services.inventory.inventory import Inventory
from services.inventory.store import InventoryStore

SEATS = {"a": 3, "b": 2}
DOSES = 4
VACCINE = "comirnaty"
TTL_SECONDS = 60


@dataclass
class Model:
    """What the engine should report: live holds and commits per slot."""

    clock: FakeClock
    holds: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    committed: dict[str, str] = field(default_factory=dict)

    def live(self, slot: str | None = None) -> int:
        now = self.clock.now()
        return sum(
            1
            for s, expires in self.holds.values()
            if expires > now and slot in (None, s)
        )

    def commits(self, slot: str | None = None) -> int:
        return sum(1 for s in self.committed.values() if slot in (None, s))


def machine_for(
    database_url: str, redis_url: str, redis_path: bool, events: InventoryEvents
):
    class HoldMachine(RuleBasedStateMachine):
        holds = Bundle("holds")
        commits = Bundle("commits")

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.clock = FakeClock()
            self.model = Model(self.clock)
            self.clinic = uuid.uuid4().hex[:12]
            self.slots = {key: uuid.uuid4().hex[:12] for key in SEATS}
            self.engine = create_engine(database_url, pool_size=2)
            self.client = redis_gate.connect(redis_url)
            self.inventory = Inventory(
                InventoryStore(self.engine, events),
                redis_gate.RedisGate(self.client, f"vbsm-{self.clinic}"),
                self.clock,
            )

        def run(self, coroutine):
            return self.loop.run_until_complete(coroutine)

        @initialize()
        def open_clinic(self) -> None:
            for key, seats in SEATS.items():
                self.run(
                    self.inventory.set_capacity(self.clinic, self.slots[key], seats)
                )
            self.run(self.inventory.set_doses(self.clinic, VACCINE, DOSES))
            self.run(self.inventory.start())
            if not redis_path:
                self.inventory.redis_ready = False

        @rule(target=holds, slot=st.sampled_from(sorted(SEATS)))
        def reserve(self, slot: str) -> str:
            hold_id = uuid.uuid4().hex
            seats_taken = self.model.live(slot) + self.model.commits(slot)
            doses_taken = self.model.live() + self.model.commits()
            try:
                hold = self.run(
                    self.inventory.create_hold(
                        self.clinic, self.slots[slot], VACCINE, hold_id, TTL_SECONDS
                    )
                )
            except DomainError as refusal:
                expected = "SLOT_FULL" if seats_taken >= SEATS[slot] else "OUT_OF_DOSES"
                assert refusal.reason == expected
                assert seats_taken >= SEATS[slot] or doses_taken >= DOSES
                return hold_id
            assert seats_taken < SEATS[slot] and doses_taken < DOSES
            self.model.holds[hold_id] = (slot, hold.expires_at)
            return hold_id

        @rule(target=commits, hold_id=consumes(holds))
        def confirm(self, hold_id: str) -> str:
            if hold_id not in self.model.holds:
                return hold_id
            slot, expires_at = self.model.holds.pop(hold_id)
            live = expires_at > self.clock.now()
            try:
                self.run(
                    self.inventory.commit_hold(
                        self.clinic, hold_id, self.slots[slot], VACCINE, expires_at
                    )
                )
            except DomainError as refusal:
                assert not live and refusal.reason == "HOLD_EXPIRED"
                return hold_id
            assert live
            self.model.committed[hold_id] = slot
            return hold_id

        @rule(hold_id=consumes(holds))
        def cancel_held(self, hold_id: str) -> None:
            self.run(self.inventory.release_hold(self.clinic, hold_id))
            self.model.holds.pop(hold_id, None)

        @rule(hold_id=consumes(commits))
        def cancel_committed(self, hold_id: str) -> None:
            self.run(self.inventory.release_hold(self.clinic, hold_id))
            self.model.committed.pop(hold_id, None)

        @rule(seconds=st.sampled_from([5, 30, TTL_SECONDS + 1]))
        def time_passes(self, seconds: int) -> None:
            self.clock.advance(seconds)

        @invariant()
        def counters_add_up(self) -> None:
            for key, seats in SEATS.items():
                counts = self.run(
                    self.inventory.availability(self.clinic, self.slots[key], VACCINE)
                )
                free_seats = seats - counts.seats_held - counts.seats_committed
                assert free_seats >= 0
                assert counts.seats_held == self.model.live(key)
                assert counts.seats_committed == self.model.commits(key)
                free_doses = DOSES - counts.doses_held - counts.doses_committed
                assert free_doses >= 0
                assert counts.doses_held == self.model.live()
                assert counts.doses_committed == self.model.commits()

        def teardown(self) -> None:
            self.run(self.inventory.close())
            self.run(self.client.aclose())
            self.run(self.engine.dispose())
            self.loop.close()

    return HoldMachine


@pytest.mark.parametrize("redis_path", [True, False], ids=["redis", "database"])
def test_seats_and_doses_always_add_up(settings, fresh_database, redis_path):
    # A database of its own: the session mesh's inventory reaps run-out holds
    # of every clinic in its database, by a clock far ahead of this one's.
    machine = machine_for(
        fresh_database,
        settings.redis_url,
        redis_path,
        InventoryEvents(EventSettings.from_settings(settings)),
    )
    machine.TestCase.settings = hypothesis_settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    machine.TestCase().runTest()
