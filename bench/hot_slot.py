"""Holds per second on one hot slot, against the inventory engine in process.

The engine is wired as the inventory service wires it (PostgreSQL store, Redis
gate, system clock), then driven by many concurrent tasks all holding seats in
the same slot: once on the Redis path and once on the PostgreSQL path.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field

from bench import BenchError
from bench.scenarios import VACCINE
from bench.window import Window
from services.common.clock import SystemClock
from services.common.db import create_engine
from services.common.errors import DomainError
from services.common.events import EventSettings
from services.inventory import redis_gate
from services.inventory.events import InventoryEvents
from services.inventory.inventory import Inventory
from services.inventory.store import InventoryStore
from tests.mesh import new_id

log = logging.getLogger(__name__)

HOLD_TTL_SECONDS = 600
# Beyond the window, before a run counts as hung.
HANG_MARGIN_SECONDS = 10.0


@dataclass(frozen=True)
class HotSlotPlan:
    """Where the engine's data lives, and how hard and long to drive it."""

    database_url: str
    redis_url: str
    key_prefix: str
    # The run's stream: the slot's totals are events like any other.
    events: EventSettings
    tasks: int
    warmup_seconds: float
    duration_seconds: float
    # Seats and doses in the slot; also the most holds a run may take.
    capacity: int


@dataclass
class HotSlotResult:
    """The slot a run used and the holds it took inside the window."""

    clinic_id: str
    slot_id: str
    holds_in_window: int = 0
    window_seconds: float = 0.0
    refusals: Counter[str] = field(default_factory=Counter)

    @property
    def holds_per_second(self) -> float:
        if not self.window_seconds:
            return 0.0
        return self.holds_in_window / self.window_seconds


async def measure_hot_slot(plan: HotSlotPlan, use_redis: bool) -> HotSlotResult:
    """Holds per second on a fresh slot, on the Redis or the PostgreSQL path."""
    engine = create_engine(plan.database_url)
    client = redis_gate.connect(plan.redis_url)
    inventory = Inventory(
        InventoryStore(engine, InventoryEvents(plan.events)),
        redis_gate.RedisGate(client, plan.key_prefix),
        SystemClock(),
    )
    result = HotSlotResult(clinic_id=new_id(), slot_id=new_id())
    try:
        await inventory.set_capacity(result.clinic_id, result.slot_id, plan.capacity)
        await inventory.set_doses(result.clinic_id, VACCINE, plan.capacity)
        await _choose_path(inventory, use_redis)
        await _storm(inventory, plan, result)
    finally:
        await inventory.close()
        await client.aclose()
        await engine.dispose()
    return result


async def _choose_path(inventory: Inventory, use_redis: bool) -> None:
    if use_redis:
        # Loads Redis from PostgreSQL, this slot included, and turns it on.
        await inventory.start()
        if not inventory.redis_ready:
            raise BenchError("Redis did not answer: cannot measure the Redis path")
    else:
        # Never started: no recovery task runs, so every hold goes to PostgreSQL.
        inventory.redis_ready = False


async def _storm(
    inventory: Inventory, plan: HotSlotPlan, result: HotSlotResult
) -> None:
    """Runs ``plan.tasks`` tasks taking holds back to back."""
    window = Window(plan.warmup_seconds, plan.duration_seconds)
    started = 0

    async def holder() -> None:
        nonlocal started
        while window.running() and started < plan.capacity:
            started += 1
            try:
                await inventory.create_hold(
                    result.clinic_id,
                    result.slot_id,
                    VACCINE,
                    new_id(),
                    HOLD_TTL_SECONDS,
                )
            except DomainError as refusal:
                result.refusals[refusal.reason] += 1
            else:
                result.holds_in_window += window.inside()

    await asyncio.wait_for(
        asyncio.gather(*(holder() for _ in range(plan.tasks))),
        plan.warmup_seconds + plan.duration_seconds + HANG_MARGIN_SECONDS,
    )
    result.window_seconds = window.elapsed_seconds()
    if result.refusals:
        log.warning("hot slot refused holds: %s", dict(result.refusals))
