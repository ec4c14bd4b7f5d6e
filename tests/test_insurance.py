"""The insurance check against the real stand-in API: answers, the circuit
breaker, the retry schedule and the outage policies."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import sys
import time
from datetime import date

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.config import ConfigError
from services.common.logs import JsonFormatter
from services.eligibility.checker import EligibilityChecker, Outcome
from services.eligibility.config import InsuranceSettings
from services.eligibility.evaluation import (
    CitizenProfile,
    EligibilityRequest,
    InsuranceStatus,
)
from services.eligibility.insurance import InsuranceClient
from services.eligibility.retry import RetrySchedule
from services.eligibility.rules import RuleBook, load_rules
from services.insurance_standin.app import Faults, Standin
from services.insurance_standin.server import RunningStandin, start_standin
from tests.polling import eventually

FAIL_MAX = 3
RESET_SECONDS = 0.2
ACTIVE, NOT_ACTIVE, UNAVAILABLE = (
    InsuranceStatus.ACTIVE,
    InsuranceStatus.NOT_ACTIVE,
    InsuranceStatus.UNAVAILABLE,
)


@pytest.fixture
async def standin():
    running = await start_standin(Standin())
    yield running
    await running.stop()


def settings_for(standin: RunningStandin, **overrides) -> InsuranceSettings:
    values = {
        "url": standin.url,
        "connect_timeout_seconds": 0.5,
        "read_timeout_seconds": 0.5,
        "breaker_fail_max": FAIL_MAX,
        "breaker_reset_timeout_seconds": RESET_SECONDS,
    }
    return InsuranceSettings(**(values | overrides))


@pytest.fixture
async def client(standin):
    async with InsuranceClient(settings_for(standin)) as insurance:
        yield insurance


async def set_faults(standin: RunningStandin, **faults) -> httpx.Response:
    async with httpx.AsyncClient(base_url=standin.url) as admin:
        return await admin.post("/admin/faults", json=faults)


async def coverage_requests(standin: RunningStandin) -> int:
    async with httpx.AsyncClient(base_url=standin.url) as admin:
        return (await admin.get("/admin/stats")).json()["coverage_requests"]


async def open_breaker(client: InsuranceClient, standin: RunningStandin) -> None:
    await set_faults(standin, outage=True)
    for _ in range(FAIL_MAX):
        assert await client.coverage("c-1002") is UNAVAILABLE
    assert client.breaker_state == "open"


# Answers


async def test_a_ref_ending_in_an_even_digit_is_active_and_an_odd_one_is_not(client):
    assert await client.coverage("c-1002") is ACTIVE
    assert await client.coverage("c-1001") is NOT_ACTIVE
    assert await client.coverage("c-100x") is NOT_ACTIVE


async def test_an_explicit_insured_list_decides_instead_of_the_last_digit():
    running = await start_standin(Standin(insured=frozenset({"alice"})))
    try:
        async with InsuranceClient(settings_for(running)) as insurance:
            assert await insurance.coverage("alice") is ACTIVE
            assert await insurance.coverage("c-1002") is NOT_ACTIVE
    finally:
        await running.stop()


async def test_a_call_slower_than_the_read_timeout_is_unavailable(standin):
    await set_faults(standin, latency_seconds=0.5)
    settings = settings_for(standin, read_timeout_seconds=0.05)

    async with InsuranceClient(settings) as insurance:
        assert await insurance.coverage("c-1002") is UNAVAILABLE
        assert insurance.breaker.fail_counter == 1


# The circuit breaker


async def test_the_breaker_opens_after_the_configured_failures_then_calls_nothing(
    client, standin
):
    await open_breaker(client, standin)
    assert await coverage_requests(standin) == FAIL_MAX

    results = [await client.coverage("c-1002") for _ in range(5)]

    assert results == [UNAVAILABLE] * 5
    assert await coverage_requests(standin) == FAIL_MAX


async def test_a_successful_half_open_probe_closes_the_breaker(client, standin):
    await open_breaker(client, standin)
    await set_faults(standin, outage=False)

    async def answered_active() -> bool:
        return await client.coverage("c-1002") is ACTIVE

    await eventually(answered_active, timeout_seconds=5)

    assert client.breaker_state == "closed"
    assert await coverage_requests(standin) == FAIL_MAX + 1


async def test_a_failing_half_open_probe_opens_the_breaker_again(client, standin):
    await open_breaker(client, standin)

    async def probed() -> bool:
        await client.coverage("c-1002")
        return await coverage_requests(standin) == FAIL_MAX + 1

    await eventually(probed, timeout_seconds=5)

    assert client.breaker_state == "open"
    assert await client.coverage("c-1002") is UNAVAILABLE
    assert await coverage_requests(standin) == FAIL_MAX + 1


async def test_only_one_trial_call_goes_out_while_the_breaker_is_half_open(
    client, standin
):
    await open_breaker(client, standin)
    opened_at = time.monotonic()
    await set_faults(standin, latency_seconds=0.1)

    async def reset_timeout_passed() -> bool:
        return time.monotonic() - opened_at > RESET_SECONDS

    await eventually(reset_timeout_passed)
    results = await asyncio.gather(*(client.coverage("c-1002") for _ in range(5)))

    assert results == [UNAVAILABLE] * 5
    assert await coverage_requests(standin) == FAIL_MAX + 1


async def test_breaker_changes_are_json_warnings_that_never_show_the_ref(
    client, standin, caplog
):
    caplog.set_level(logging.DEBUG)
    secret_ref = "ref-7f3a9-2"
    await set_faults(standin, outage=True)

    for _ in range(FAIL_MAX):
        await client.coverage(secret_ref)

    # The stand-in plays the insurer: only the client's side is under test.
    ours = [r for r in caplog.records if not r.name.startswith("uvicorn")]
    lines = [JsonFormatter().format(record) for record in ours]
    warnings = [json.loads(line) for line in lines if '"WARNING"' in line]
    assert [(w["previous_state"], w["state"]) for w in warnings] == [("closed", "open")]
    assert warnings[0]["breaker"] == "insurance"
    assert not [line for line in lines if secret_ref in line]


# The stand-in's own faults


async def test_injected_errors_repeat_exactly_with_the_same_seed(standin):
    async def statuses() -> list[int]:
        await set_faults(standin, error_rate=0.5, seed=7)
        async with httpx.AsyncClient(base_url=standin.url) as http:
            return [
                (await http.get(f"/v1/coverage/c-{n}")).status_code for n in range(20)
            ]

    first, second = await statuses(), await statuses()

    assert first == second
    assert set(first) == {200, 500}


async def test_an_outage_window_from_start_answers_503_until_it_is_cleared():
    running = await start_standin(Standin(Faults(outage_windows=((0, 3600),))))
    try:
        async with httpx.AsyncClient(base_url=running.url) as http:
            assert (await http.get("/v1/coverage/c-2")).status_code == 503
            await set_faults(running, outage_windows=[])
            assert (await http.get("/v1/coverage/c-2")).json() == {"active": True}
    finally:
        await running.stop()


async def test_a_bad_fault_setting_is_refused_naming_the_field(standin):
    refused = await set_faults(standin, error_rate=2)
    unknown = await set_faults(standin, flakiness=1)

    assert refused.status_code == 400
    assert refused.json() == {"error": "error_rate must be between 0 and 1"}
    assert unknown.json() == {"error": "flakiness: unknown fault"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_the_stand_in_runs_as_its_own_program_and_stops_on_sigterm():
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.insurance_standin",
        "--port",
        str(port),
        "--insured",
        "alice,bob",
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"

    async def alice_is_active() -> bool:
        async with httpx.AsyncClient(base_url=url) as http:
            try:
                return (await http.get("/v1/coverage/alice")).json() == {"active": True}
            except httpx.TransportError:
                return False

    try:
        await eventually(alice_is_active, timeout_seconds=15)
    finally:
        process.terminate()
        stderr = await asyncio.wait_for(process.stderr.read(), timeout=10)
        await process.wait()

    # Open requests finish, then the stand-in exits with status 0.
    assert process.returncode == 0
    assert "Finished server process" in stderr.decode()
    assert "alice" not in stderr.decode()


# The retry schedule


@given(seed=st.integers(min_value=0, max_value=2**32))
def test_retry_waits_grow_and_stay_within_their_jitter_bounds(seed):
    schedule = RetrySchedule(
        max_attempts=6,
        initial_delay_seconds=0.5,
        multiplier=2,
        max_delay_seconds=4,
        max_total_wait_seconds=100,
        jitter_ratio=0.5,
    )

    delays = schedule.delays_seconds(random.Random(seed))

    bases = schedule.base_delays_seconds()
    assert bases == [0.5, 1, 2, 4, 4]
    assert len(delays) == len(bases)
    for delay, base in zip(delays, bases, strict=True):
        assert base / 2 <= delay <= base
    assert delays[:4] == sorted(delays[:4])
    assert delays != bases


def test_retry_waits_stop_before_the_total_wait_bound():
    schedule = RetrySchedule(max_attempts=10, max_total_wait_seconds=3)

    delays = schedule.delays_seconds(random.Random(1))

    assert sum(delays) <= 3
    assert len(delays) < 9


def test_the_same_seed_gives_the_same_waits_and_another_seed_others():
    schedule = RetrySchedule()

    assert schedule.delays_seconds(random.Random(5)) == schedule.delays_seconds(
        random.Random(5)
    )
    assert schedule.delays_seconds(random.Random(5)) != schedule.delays_seconds(
        random.Random(6)
    )


@pytest.mark.parametrize(
    ("attempt", "base_seconds"), [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0)]
)
def test_each_wait_is_drawn_from_its_jittered_range(attempt, base_seconds):
    schedule = RetrySchedule(max_attempts=5, max_total_wait_seconds=100)

    wait = schedule.wait_seconds(attempt, random.Random(attempt))

    assert base_seconds / 2 <= wait <= base_seconds


def test_waits_run_out_with_the_attempts():
    schedule = RetrySchedule(max_attempts=3, max_total_wait_seconds=100)
    rng = random.Random(1)

    assert schedule.wait_seconds(1, rng) is not None
    assert schedule.wait_seconds(2, rng) is None
    assert schedule.wait_seconds(-1, rng) is None


def test_waits_stop_where_their_bases_would_pass_the_total_bound():
    # Bases 1, 2, 4: the third would bring the most they can add up to to 7.
    schedule = RetrySchedule(
        max_attempts=10, initial_delay_seconds=1, max_total_wait_seconds=6
    )
    rng = random.Random(1)

    assert schedule.wait_seconds(1, rng) is not None
    assert schedule.wait_seconds(2, rng) is None


# The checker: rules plus one insurance call, under each policy

DAY = date(2027, 3, 1)
SCHEDULE = RetrySchedule(
    max_attempts=4, initial_delay_seconds=1, max_total_wait_seconds=60
)


def booking(vaccine: str, ref: str = "c-1002", region: str = "north"):
    profile = CitizenProfile(
        citizen_ref=ref, date_of_birth=date(1990, 1, 1), region=region
    )
    return EligibilityRequest(profile, vaccine, 1, DAY)


@pytest.fixture
async def tolerant_client(standin):
    settings = settings_for(standin, breaker_fail_max=100)
    async with InsuranceClient(settings) as insurance:
        yield insurance


def checker_for(insurance: InsuranceClient, seed: int = 3) -> EligibilityChecker:
    return EligibilityChecker(
        RuleBook(load_rules()), insurance, retry=SCHEDULE, rng=random.Random(seed)
    )


async def test_provisional_policy_books_with_review_when_the_api_is_down(
    tolerant_client, standin
):
    await set_faults(standin, outage=True)

    verdict = await checker_for(tolerant_client).check(booking("spikevax"))

    assert verdict.outcome is Outcome.PROVISIONAL
    assert verdict.decision.review_required
    assert verdict.decision.insurance is UNAVAILABLE
    assert verdict.failures == ()
    assert verdict.retry_delay_seconds is None
    assert await coverage_requests(standin) == 1


async def test_retry_policy_asks_for_growing_waits_then_refuses_with_a_reason(
    tolerant_client, standin
):
    await set_faults(standin, outage=True)
    checker = checker_for(tolerant_client)

    verdicts = [
        await checker.check(booking("nuvaxovid"), previous_attempts=attempt)
        for attempt in range(SCHEDULE.max_attempts)
    ]

    *retries, last = verdicts
    assert [v.outcome for v in retries] == [Outcome.RETRY] * 3
    assert [v.failures for v in retries] == [()] * 3
    expected = SCHEDULE.delays_seconds(random.Random(3))
    assert [v.retry_delay_seconds for v in retries] == expected
    assert last.outcome is Outcome.NOT_ELIGIBLE
    assert [f.code for f in last.failures] == ["INSURANCE_UNAVAILABLE"]
    assert await coverage_requests(standin) == SCHEDULE.max_attempts


async def test_retry_policy_books_once_the_api_answers_again(tolerant_client, standin):
    await set_faults(standin, outage=True)
    checker = checker_for(tolerant_client)
    first = await checker.check(booking("nuvaxovid"))
    await set_faults(standin, outage=False)

    second = await checker.check(booking("nuvaxovid"), previous_attempts=1)

    assert first.outcome is Outcome.RETRY
    assert second.outcome is Outcome.ELIGIBLE
    assert second.decision.insurance is ACTIVE
    assert await coverage_requests(standin) == 2


async def test_a_request_failing_other_rules_is_refused_at_once_without_a_retry(
    tolerant_client, standin
):
    await set_faults(standin, outage=True)

    verdict = await checker_for(tolerant_client).check(
        booking("nuvaxovid", region="south")
    )

    assert verdict.outcome is Outcome.NOT_ELIGIBLE
    assert verdict.decision.codes == ["WRONG_REGION", "INSURANCE_UNAVAILABLE"]
    assert verdict.retry_delay_seconds is None
    assert await coverage_requests(standin) == 1


async def test_insurance_not_active_at_the_api_refuses_the_booking(client, standin):
    verdict = await checker_for(client).check(booking("spikevax", ref="c-1001"))

    assert verdict.outcome is Outcome.NOT_ELIGIBLE
    assert verdict.decision.codes == ["INSURANCE_NOT_ACTIVE"]


async def test_a_vaccine_without_insurance_makes_no_call(client, standin):
    verdict = await checker_for(client).check(booking("comirnaty"))

    assert verdict.outcome is Outcome.ELIGIBLE
    assert verdict.decision.insurance is None
    assert await coverage_requests(standin) == 0


# Settings


def test_insurance_settings_come_from_the_environment_with_defaults():
    settings = InsuranceSettings.from_env(
        {
            "VAXBOOK_INSURANCE_URL": "http://insurer.example:9000",
            "VAXBOOK_INSURANCE_BREAKER_FAIL_MAX": "7",
            "VAXBOOK_INSURANCE_READ_TIMEOUT_SECONDS": "2.5",
            "VAXBOOK_INSURANCE_RETRY_ATTEMPTS": "6",
        }
    )

    assert settings.url == "http://insurer.example:9000"
    assert settings.breaker_fail_max == 7
    assert settings.read_timeout_seconds == 2.5
    assert settings.connect_timeout_seconds == 0.5
    assert settings.retry.max_attempts == 6
    assert InsuranceSettings.from_env({}) == InsuranceSettings()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BREAKER_FAIL_MAX", "many", "VAXBOOK_INSURANCE_BREAKER_FAIL_MAX must be a"),
        (
            "BREAKER_FAIL_MAX",
            "2.5",
            "VAXBOOK_INSURANCE_BREAKER_FAIL_MAX must be a whole",
        ),
        (
            "READ_TIMEOUT_SECONDS",
            "-1",
            "VAXBOOK_INSURANCE_READ_TIMEOUT_SECONDS must be",
        ),
    ],
)
def test_a_bad_insurance_setting_fails_naming_the_variable(name, value, message):
    with pytest.raises(ConfigError, match=message):
        InsuranceSettings.from_env({f"VAXBOOK_INSURANCE_{name}": value})
