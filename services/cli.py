"""The ``vaxbook`` command line: run the stack, migrate, seed, book, cancel a
booked slot as its clinic, and verify the audit trail."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
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
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.config import GatewaySettings
from services import devstack, scanner
from services.audit import chain
from services.audit.store import AuditStore
from services.cancel_walkthrough import cancel_slot_walk_through
from services.common import logs
from services.common.access import ServiceTokens, service_signer, token_channel
from services.common.clock import SystemClock
from services.common.config import SERVICES, Settings
from services.common.db import create_engine
from services.eligibility.config import InsuranceSettings
from services.migrate import migrate
from services.notification.config import NotificationSettings
from services.seed import seed
from services.walkthrough import walk_through

log = logging.getLogger("vaxbook")

HEALTH_TIMEOUT_SECONDS = 30.0
GATEWAY_PROBE_SECONDS = 0.2
# A valid (Verhoeff-checked) Aadhaar number and phone for the demo citizen.
DEMO_NATIONAL_ID = "498765432102"
DEMO_PHONE = "+919800000001"
DEMO_CANCEL_REASON = "The vaccinator on duty is unwell"


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
    _add_citizen_arguments(book)
    book.add_argument(
        "--keep",
        action="store_true",
        help="do not cancel at the end; save the QR code for `vaxbook scan`",
    )
    book.add_argument(
        "--today",
        action="store_true",
        help="book today's session under way rather than the next slot to start",
    )
    book.add_argument(
        "--qr-dir",
        default=str(_data_dir()),
        help="where --keep saves the QR code image",
    )
    cancel_slot = commands.add_parser(
        "cancel-slot",
        help="book and confirm, cancel the slot as the clinic, then show the "
        "citizen's messages, the rebooking offer, its answer and the audit check",
    )
    _add_citizen_arguments(cancel_slot)
    cancel_slot.add_argument(
        "--reason", default=DEMO_CANCEL_REASON, help="what the citizen is told"
    )
    cancel_slot.add_argument(
        "--decline", action="store_true", help="decline the offer, not accept it"
    )
    cancel_slot.add_argument(
        "--keep", action="store_true", help="keep the appointment the offer makes"
    )
    _add_scan_parser(commands)
    audit = commands.add_parser("audit", help="check the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_commands.add_parser(
        "verify",
        help="recompute the hash chain over the database; exit status 1 names "
        "the first record that does not match",
    )
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
        if args.command == "audit":
            return asyncio.run(verify_audit(settings))
        if args.command == "scan":
            return scanner.scan(settings, _checked_scan(parser, args))
        # Sign-in codes are read where ``vaxbook up`` has them written.
        settings = dataclasses.replace(
            settings, dev_outbox_path=str(_dev_outbox(_data_dir()))
        )
        if args.command == "cancel-slot":
            return asyncio.run(cancel_slot_walk_through(settings, args))
        return asyncio.run(walk_through(settings, args))
    except KeyboardInterrupt:
        return 130


def _add_scan_parser(commands) -> None:
    scan = commands.add_parser(
        "scan",
        help="the reference clinic scanner: check a QR code and record the dose, "
        "online or from an offline bundle",
    )
    code = scan.add_mutually_exclusive_group()
    code.add_argument("--image", help="a PNG or JPEG holding the QR code")
    code.add_argument("--token", help="the code's text, VB1:...")
    scan.add_argument("--batch", help="the batch number on the vial")
    scan.add_argument("--vaccinator", default="Demo vaccinator")
    scan.add_argument("--device", default=scanner.DEVICE_ID, help="this device's id")
    scan.add_argument(
        "--clinic", help="clinics/{clinic}; by default the one the code names"
    )
    scan.add_argument(
        "--save-bundle", metavar="FILE", help="save the day's offline bundle"
    )
    scan.add_argument("--date", help="the bundle's day, YYYY-MM-DD; today by default")
    scan.add_argument(
        "--bundle", metavar="FILE", help="check the code offline against FILE"
    )
    scan.add_argument(
        "--queue",
        metavar="FILE",
        default=str(_data_dir() / "scan-queue.jsonl"),
        help="where offline records wait for upload",
    )
    scan.add_argument("--upload", metavar="FILE", help="upload a queue of records")


def _checked_scan(parser: argparse.ArgumentParser, args) -> argparse.Namespace:
    """Refuses combinations that cannot work, naming what is missing."""
    if args.save_bundle and not args.clinic:
        parser.error("scan --save-bundle needs --clinic")
    if not (args.save_bundle or args.upload):
        if not (args.image or args.token):
            parser.error("scan needs --image or --token")
        if not args.batch:
            parser.error("scan needs --batch, the batch number on the vial")
    return args


def _add_citizen_arguments(parser: argparse.ArgumentParser) -> None:
    """Who books, and what: the demo citizen unless told otherwise."""
    parser.add_argument(
        "--national-id", default=DEMO_NATIONAL_ID, help="a valid Aadhaar number"
    )
    parser.add_argument("--phone", default=DEMO_PHONE, help="where the code goes")
    parser.add_argument("--birth-date", default="1990-05-01", help="YYYY-MM-DD")
    parser.add_argument("--region", default="north")
    parser.add_argument(
        "--allergy", action="append", default=[], help="repeat for several"
    )
    parser.add_argument("--vaccine", default="comirnaty")


# vaxbook audit verify


async def verify_audit(settings: Settings) -> int:
    """Recomputes the audit chain over the database and prints either that
    every record verifies or the first that does not; 1 in that case."""
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        report = await chain.verify(AuditStore(engine).in_chain_order())
    finally:
        await engine.dispose()
    print(report.describe(), flush=True)
    return 0 if report.intact else 1


# vaxbook up


def up() -> int:
    """Starts servers (or uses VAXBOOK_*_URL), migrates, runs every service,
    seeds the demo country, starts the REST gateway, and waits for Ctrl-C."""
    data_dir = _data_dir()
    endpoints, stack = devstack.resolve_servers(
        "VAXBOOK_", data_dir, probe_local_ports=False, database="vaxbook"
    )
    env = {
        **os.environ,
        "VAXBOOK_DATABASE_URL": endpoints.database_url,
        "VAXBOOK_REDIS_URL": endpoints.redis_url,
        "VAXBOOK_NATS_URL": endpoints.nats_url,
        # Development only: one-time codes land here instead of on a phone.
        "VAXBOOK_DEV_OUTBOX": str(_dev_outbox(data_dir)),
    }
    os.environ.update(env)
    children: list[subprocess.Popen] = []
    try:
        migrate(endpoints.database_url)
        settings = Settings.from_env()
        if not os.environ.get("VAXBOOK_INSURANCE_URL"):
            children.append(_start_insurance_standin(env))
        children += _start_message_catchers(env, data_dir)
        for name in SERVICES:
            children.append(
                subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env)
            )
        asyncio.run(_wait_healthy(settings))
        gateway = GatewaySettings.from_env(base=settings)
        # First in the list, so it is the first told to stop: REST calls end
        # while the services behind them still answer.
        children.insert(0, _start_gateway(env))
        slots = asyncio.run(_seed(settings))
        _wait_gateway(gateway, children[0])
        _print_addresses(
            settings, endpoints, slots, embedded=stack is not None, gateway=gateway
        )
        _wait_for_interrupt(children)
    finally:
        _stop(children)
        if stack is not None:
            stack.stop()
    return 0


def _data_dir() -> Path:
    return Path(os.environ.get("VAXBOOK_DATA_DIR", ".vaxbook")).resolve()


def _dev_outbox(data_dir: Path) -> Path:
    """The development file of one-time codes: ``VAXBOOK_DEV_OUTBOX``, or
    ``dev-outbox.jsonl`` in the data directory."""
    return Path(os.environ.get("VAXBOOK_DEV_OUTBOX") or data_dir / "dev-outbox.jsonl")


def _start_insurance_standin(env: dict[str, str]) -> subprocess.Popen:
    """The stand-in insurance API, where the eligibility service looks for
    the insurer by default."""
    port = urlsplit(InsuranceSettings.from_env().url).port
    return subprocess.Popen(
        [sys.executable, "-m", "services.insurance_standin", "--port", str(port)],
        env=env,
    )


def _start_message_catchers(
    env: dict[str, str], data_dir: Path
) -> list[subprocess.Popen]:
    """Where notifications go in development, unless settings name real
    providers: a local SMTP server filing every e-mail in ``<data>/mail`` (a
    Maildir) and the stand-in SMS provider (``GET /admin/messages``)."""
    notification = NotificationSettings.from_env()
    catchers = []
    if not os.environ.get("VAXBOOK_SMTP_HOST"):
        mail_dir = data_dir / "mail"
        server = ("-m", "aiosmtpd", "-n", "-l", _smtp(notification))
        mailbox = ("-c", "aiosmtpd.handlers.Mailbox", str(mail_dir))
        catchers.append(subprocess.Popen([sys.executable, *server, *mailbox], env=env))
    if not os.environ.get("VAXBOOK_NOTIFICATION_SMS_URL"):
        port = urlsplit(notification.sms_url).port
        catchers.append(
            subprocess.Popen(
                [sys.executable, "-m", "services.sms_standin", "--port", str(port)],
                env=env,
            )
        )
    return catchers


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


def _start_gateway(env: dict[str, str]) -> subprocess.Popen:
    """The REST gateway, its own process, once the services answer."""
    return subprocess.Popen([sys.executable, "-m", "gateway"], env=env)


def _wait_gateway(gateway: GatewaySettings, process: subprocess.Popen) -> None:
    """Waits until the gateway answers ``/healthz``; fails if it exits or
    does not answer in time."""
    url = f"{_local_url(gateway)}/healthz"
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited at start-up ({gateway.url})")
        if _answers(url):
            return
        time.sleep(GATEWAY_PROBE_SECONDS)
    raise RuntimeError(f"the gateway did not answer at {url}")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=GATEWAY_PROBE_SECONDS * 5).is_success
    except httpx.TransportError:
        return False


def _local_url(gateway: GatewaySettings) -> str:
    """Where this machine reaches the gateway, even when it binds every
    interface."""
    host = "127.0.0.1" if gateway.host in ("0.0.0.0", "::") else gateway.host
    return f"http://{host}:{gateway.port}"


def _gateway_lines(gateway: GatewaySettings) -> list[str]:
    url = _local_url(gateway)
    return [
        f"  {'portal':<12} {url}/ (citizens: sign in, book, QR code, offers)",
        f"  {'dashboard':<12} {url}/dashboard?clinic=clinics/<id> (clinic staff)",
        f"  {'gateway':<12} REST {url}/v1/...",
        f"  {'':<12} docs {url}/docs",
        f"  {'':<12} OpenAPI {url}/openapi.json",
    ]


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


def _print_addresses(
    settings: Settings,
    endpoints,
    slots: int,
    embedded: bool,
    gateway: GatewaySettings,
) -> None:
    lines = ["", "vaxbook is running (Ctrl-C stops it)", ""]
    for name in SERVICES:
        lines.append(
            f"  {name:<12} gRPC {settings.service_addrs[name]:<18} "
            f"metrics http://{settings.listen_host}:{settings.metrics_ports[name]}/"
        )
    lines += _gateway_lines(gateway)
    lines += [
        f"  {'postgresql':<12} {_without_user(endpoints.database_url)}",
        f"  {'redis':<12} {endpoints.redis_url}",
        f"  {'nats':<12} {endpoints.nats_url}",
        f"  {'insurance':<12} {InsuranceSettings.from_env().url}",
        f"  {'sms':<12} {NotificationSettings.from_env().sms_url}/admin/messages",
        f"  {'mail':<12} SMTP {_smtp(NotificationSettings.from_env())}; mail is "
        f"filed in {os.environ.get('VAXBOOK_DATA_DIR', '.vaxbook')}/mail",
        f"  {'codes':<12} one-time sign-in codes go to {settings.dev_outbox_path}",
        f"  demo country: {slots} slots; try: .venv/bin/vaxbook book",
        "  a clinic cancelling a booked slot: .venv/bin/vaxbook cancel-slot",
        "  check the audit trail: "
        + (f"VAXBOOK_DATABASE_URL={endpoints.database_url} " if embedded else "")
        + ".venv/bin/vaxbook audit verify",
        "",
    ]
    print("\n".join(lines), flush=True)


def _smtp(notification: NotificationSettings) -> str:
    return f"{notification.smtp.host}:{notification.smtp.port}"


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
