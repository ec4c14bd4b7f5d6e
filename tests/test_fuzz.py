"""The REST gateway fuzzed from its own OpenAPI document.

Schemathesis reads ``/openapi.json`` from a gateway in front of the real test
mesh and, for every operation, sends requests that fit the document and
requests that do not, each with a citizen's bearer token so that calls get
past the gateway to the services. No answer may be a server error, and every
answer must match what the document says of its status, media type and body.
An operation whose every input is a free string has no request that breaks
the document, so it is fuzzed with fitting requests only. The notification
service is not in the test mesh, so its one operation is left out: the
gateway rightly answers 503 for it here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.server import RunningGateway, start_in_loop
from services.common.config import Settings
from tests.mesh import Mesh, booker

# Enough to reach every field of every operation a few times while keeping
# the whole run to seconds; each example is one request.
MAX_EXAMPLES_PER_OPERATION = 10
EXAMPLE_DEADLINE_MILLISECONDS = 3000
# Below the examples' deadline, so a slow service shows as the gateway's 504.
SERVICE_DEADLINE_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 10.0
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
NOT_IN_TEST_MESH = frozenset({"GET /v1/appointments/{appointment}/deliveries"})
GENERATION_MODES = (
    schemathesis.GenerationMode.POSITIVE,
    schemathesis.GenerationMode.NEGATIVE,
)


@pytest.fixture(scope="module")
async def gateway(mesh: Mesh, settings: Settings) -> AsyncIterator[RunningGateway]:
    ports = {name: f"127.0.0.1:{s.port}" for name, s in mesh.servers.items()}
    gateway_settings = GatewaySettings(
        host="127.0.0.1",
        port=0,
        service_addrs={**settings.service_addrs, **ports},
        deadline_seconds=SERVICE_DEADLINE_SECONDS,
    )
    running = await start_in_loop(create_app(gateway_settings, clock=mesh.clock))
    yield running
    await running.stop()


async def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(
    mesh: Mesh, gateway: RunningGateway
):
    citizen = await booker(mesh)
    headers = dict(mesh.token(f"citizens/{citizen}"))

    # Schemathesis calls synchronously; the gateway and the services answer
    # from this loop, so the fuzzing runs in a thread of its own.
    failures = await asyncio.to_thread(fuzz_every_operation, gateway.url, headers)

    assert not failures, "\n\n".join(failures)


def fuzz_every_operation(base_url: str, headers: dict[str, str]) -> list[str]:
    """Fuzzes each operation in each generation mode; returns a description
    of every failure found."""
    schema = schemathesis.openapi.from_url(
        f"{base_url}/openapi.json", timeout=REQUEST_TIMEOUT_SECONDS
    )
    failures = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.label in NOT_IN_TEST_MESH:
                continue
            for mode in GENERATION_MODES:
                try:
                    fuzz(operation, mode, base_url, headers, session)
                except Unsatisfiable:
                    assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
                except (Exception, FailureGroup) as failure:
                    failures.append(f"{operation.label} ({mode.value}): {failure}")
    return failures


def fuzz(
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    base_url: str,
    headers: dict[str, str],
    session: requests.Session,
) -> None:
    """Sends the operation's generated requests; raises on the first failure,
    unshrunk, since the report already shows how to repeat the request."""

    @hypothesis_settings(
        max_examples=MAX_EXAMPLES_PER_OPERATION,
        deadline=EXAMPLE_DEADLINE_MILLISECONDS,
        phases=[Phase.explicit, Phase.generate],
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=base_url,
            session=session,
            headers=headers,
            checks=CHECKS,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )

    call()
