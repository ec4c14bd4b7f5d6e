"""The stand-in insurance API: coverage answers with injectable faults.

``GET /v1/coverage/{citizen_ref}`` answers ``{"active": true}`` or
``{"active": false}``. With an explicit insured list, exactly the refs on it are
insured; without one, a ref is insured when its last character is an even digit
(``c-1002`` is, ``c-1001`` and ``c-100x`` are not).

Faults, applied to coverage calls only, in this order: a fixed latency; during
an outage (switched on by hand, or inside an outage window counted in seconds
from start) the answer is 503; otherwise a share ``error_rate`` of answers are
500, drawn from a random source seeded with ``seed`` when one is given.

Admin endpoints, for tests and demos only (no authentication; bind to
localhost): ``GET /admin/faults`` shows the faults and the uptime,
``POST /admin/faults`` changes any of them (a partial JSON object; a ``seed``
restarts the random source), ``GET /admin/stats`` counts coverage calls.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FaultsInvalid(ValueError):
    """A fault setting is malformed; the message names the field."""


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often."""

    latency_seconds: float = 0.0
    error_rate: float = 0.0
    outage: bool = False
    outage_windows: tuple[tuple[float, float], ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.latency_seconds < 0:
            raise FaultsInvalid("latency_seconds must be 0 or more")
        if not 0 <= self.error_rate <= 1:
            raise FaultsInvalid("error_rate must be between 0 and 1")
        for start, end in self.outage_windows:
            if not 0 <= start < end:
                raise FaultsInvalid(
                    f"outage_windows: [{start}, {end}] must have 0 <= start < end"
                )

    def changed(self, changes: Mapping[str, object]) -> Faults:
        """A copy with the fields in ``changes`` replaced."""
        fields = {f.name for f in dataclasses.fields(self)}
        for name in changes:
            if name not in fields:
                raise FaultsInvalid(f"{name}: unknown fault")
        values = {name: _fault_value(name, value) for name, value in changes.items()}
        return dataclasses.replace(self, **values)

    def as_json(self) -> dict[str, object]:
        return {**dataclasses.asdict(self), "outage_windows": self.outage_windows}


def _fault_value(name: str, value: object) -> object:
    try:
        if name == "outage":
            if not isinstance(value, bool):
                raise TypeError
            return value
        if name == "seed":
            return None if value is None else int(value)
        if name == "outage_windows":
            return tuple((float(start), float(end)) for start, end in value)
        return float(value)
    except (TypeError, ValueError):
        raise FaultsInvalid(f"{name}: bad value {value!r}") from None


class Standin:
    """The stand-in's state: who is insured, the faults, and a call counter."""

    def __init__(
        self,
        faults: Faults | None = None,
        insured: frozenset[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.insured = insured
        self.clock = clock
        self.started_at = clock()
        self.coverage_requests = 0
        self.faults = faults or Faults()
        self._rng = random.Random(self.faults.seed)

    def change_faults(self, changes: Mapping[str, object]) -> None:
        """Replaces the named faults; a ``seed`` restarts the random source."""
        self.faults = self.faults.changed(changes)
        if "seed" in changes:
            self._rng = random.Random(self.faults.seed)

    def uptime_seconds(self) -> float:
        return self.clock() - self.started_at

    def is_insured(self, citizen_ref: str) -> bool:
        if self.insured is not None:
            return citizen_ref in self.insured
        return bool(citizen_ref) and citizen_ref[-1] in "02468"

    def in_outage(self) -> bool:
        uptime = self.uptime_seconds()
        in_window = any(s <= uptime < e for s, e in self.faults.outage_windows)
        return self.faults.outage or in_window

    def draws_error(self) -> bool:
        return self._rng.random() < self.faults.error_rate


def create_app(standin: Standin) -> Starlette:
    """The HTTP application serving ``standin``."""

    async def coverage(request: Request) -> JSONResponse:
        standin.coverage_requests += 1
        if standin.faults.latency_seconds:
            await asyncio.sleep(standin.faults.latency_seconds)
        if standin.in_outage():
            return JSONResponse({"error": "outage"}, status_code=503)
        if standin.draws_error():
            return JSONResponse({"error": "injected failure"}, status_code=500)
        citizen_ref = request.path_params["citizen_ref"]
        return JSONResponse({"active": standin.is_insured(citizen_ref)})

    async def show_faults(request: Request) -> JSONResponse:
        return JSONResponse(_faults_body(standin))

    async def change_faults(request: Request) -> JSONResponse:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise FaultsInvalid("the body must be a JSON object")
            standin.change_faults(changes)
        except (FaultsInvalid, ValueError) as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse(_faults_body(standin))

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"coverage_requests": standin.coverage_requests})

    return Starlette(
        routes=[
            Route("/v1/coverage/{citizen_ref}", coverage, methods=["GET"]),
            Route("/admin/faults", show_faults, methods=["GET"]),
            Route("/admin/faults", change_faults, methods=["POST"]),
            Route("/admin/stats", stats, methods=["GET"]),
        ]
    )


def _faults_body(standin: Standin) -> dict[str, object]:
    return {
        **standin.faults.as_json(),
        "uptime_seconds": round(standin.uptime_seconds(), 3),
    }
