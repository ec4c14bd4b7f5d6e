"""The ``vaxbook`` command line: run the stack, migrate, seed, and book."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path
from urllib.parse import urlsplit

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services import devstack
from services.common import logs
from services.common.access import ServiceTokens, service_signer, token_channel
from services.common.clock import SystemClock
from services.common.config import SERVICES, Settings
from services.eligibility.config import InsuranceSettings
from services.migrate import migrate
from services.seed import seed
from services.walkthrough import walk_through

log = logging.getLogger("vaxbook")

HEALTH_TIMEOUT_SECONDS = 30.0
# A valid (Verhoeff-checked) Aadhaar number and phone for the demo citizen.
DEMO_NATIONAL_ID = "498765432102"
DEMO_PHONE = "+919800000001"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vaxbook", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start servers and every service; Ctrl-C stops")
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("seed", help="create the demo country in running services")
    book = commands.add_parser(
        "book",
        help="sign in, hold, check eligibility, confirm and cancel over gRPC, "
        "then show a refused booking",
    )
    book.add_argument(
        "--national-id", default=DEMO_NATIONAL_ID, help="a valid Aadhaar number"
    )
    book.add_argument("--phone", default=DEMO_PHONE, help="where the code goes")
    book.add_argument("--birth-date", default="1990-05-01", help="YYYY-MM-DD")
    book.add_argument("--region", default="north")
    book.add_argument(
        "--allergy", action="append", default=[], help="repeat for several"
    )
    book.add_argument("--vaccine", default="comirnaty")
    book.add_argument("--keep", action="store_true", help="do not cancel at the end")
    args = parser.parse_args(argv)
    logs.configure("cli", os.environ.get("VAXBOOK_LOG_LEVEL", "INFO"))
    try:
        if args.command == "up":
            return up()
        settings = Settings.from_env()
        if args.command == "migrate":
            migrate(settings.database_url)
            return 0
        if args.command == "seed":
            asyncio.run(_seed(settings))
            return 0
        return asyncio.run(walk_through(settings, args))
    except KeyboardInterrupt:
        return 130


# vaxbook up


def up() -> int:
    """Starts servers (or uses VAXBOOK_*_URL), migrates, runs every service,
    seeds the demo country, and waits for Ctrl-C."""
    data_dir = Path(os.environ.get("VAXBOOK_DATA_DIR", ".vaxbook")).resolve()
    endpoints, stack = devstack.resolve_servers(
        "VAXBOOK_", data_dir, probe_local_ports=False, database="vaxbook"
    )
    env = {
        **os.environ,
        "VAXBOOK_DATABASE_URL": endpoints.database_url,
        "VAXBOOK_REDIS_URL": endpoints.redis_url,
        "VAXBOOK_NATS_URL": endpoints.nats_url,
        # Development only: one-time codes land here instead of on a phone.
        "VAXBOOK_DEV_OUTBOX": os.environ.get(
            "VAXBOOK_DEV_OUTBOX", str(data_dir / "dev-outbox.jsonl")
        ),
    }
    os.environ.update(env)
    children: list[subprocess.Popen] = []
    try:
        migrate(endpoints.database_url)
        settings = Settings.from_env()
        if not os.environ.get("VAXBOOK_INSURANCE_URL"):
            children.append(_start_insurance_standin(env))
        for name in SERVICES:
            children.append(
                subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env)
            )
        asyncio.run(_wait_healthy(settings))
        slots = asyncio.run(_seed(settings))
        _print_addresses(settings, endpoints, slots)
        _wait_for_interrupt(children)
    finally:
        _stop(children)
        if stack is not None:
            stack.stop()
    return 0


def _start_insurance_standin(env: dict[str, str]) -> subprocess.Popen:
    """The stand-in insurance API, where the eligibility service looks for
    the insurer by default."""
    port = urlsplit(InsuranceSettings.from_env().url).port
    return subprocess.Popen(
        [sys.executable, "-m", "services.insurance_standin", "--port", str(port)],
        env=env,
    )


async def _wait_healthy(settings: Settings) -> None:
    for name in SERVICES:
        address = settings.service_addrs[name]
        async with grpc.aio.insecure_channel(address) as health_channel:
            stub = health_pb2_grpc.HealthStub(health_channel)
            await stub.Check(
                health_pb2.HealthCheckRequest(),
                timeout=HEALTH_TIMEOUT_SECONDS,
                wait_for_ready=True,
            )


async def _seed(settings: Settings) -> int:
    """Seeds as an operator: with a service token, signed with the key the
    services share."""
    tokens = ServiceTokens(service_signer(settings.service_key, SystemClock()), "cli")
    async with AsyncExitStack() as exits:
        channels = {
            name: await exits.enter_async_context(
                token_channel(settings.service_addrs[name], tokens)
            )
            for name in ("clinic", "inventory")
        }
        slots = await seed(channels)
    log.info("demo country seeded", extra={"fields": {"slots": slots}})
    return slots


def _print_addresses(settings: Settings, endpoints, slots: int) -> None:
    lines = ["", "vaxbook is running (Ctrl-C stops it)", ""]
    for name in SERVICES:
        lines.append(
            f"  {name:<12} gRPC {settings.service_addrs[name]:<18} "
            f"metrics http://{settings.listen_host}:{settings.metrics_ports[name]}/"
        )
    lines += [
        f"  {'postgresql':<12} {_without_user(endpoints.database_url)}",
        f"  {'redis':<12} {endpoints.redis_url}",
        f"  {'nats':<12} {endpoints.nats_url}",
        f"  {'insurance':<12} {InsuranceSettings.from_env().url}",
        f"  {'codes':<12} one-time sign-in codes go to {settings.dev_outbox_path}",
        f"  demo country: {slots} slots; try: .venv/bin/vaxbook book",
        "",
    ]
    print("\n".join(lines), flush=True)


def _without_user(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.rsplit('@', 1)[-1]}"


def _wait_for_interrupt(children: list[subprocess.Popen]) -> None:
    """Blocks until Ctrl-C or SIGTERM, or until a service exits."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(1)
        log.error("a service exited; stopping everything")
    except KeyboardInterrupt:
        log.info("stopping")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


if __name__ == "__main__":
    sys.exit(main())
