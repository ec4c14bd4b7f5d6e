"""The local stack starts real PostgreSQL, Redis and NATS servers and stops them."""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import nats
import psycopg
import pytest
import redis

from services import devstack
from services.common.config import DEFAULT_GRPC_PORTS
from services.devstack import Endpoints, LocalStack

STANDARD_PORTS = {5432, 6379, 4222}


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def port_of(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def with_descendants(pids: set[int]) -> set[int]:
    """``pids`` and every live process descended from them."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    family = set(pids)
    while grown := {pid for pid, ppid in parents.items() if ppid in family} - family:
        family |= grown
    return family


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if Path(f"/proc/{pid}").exists()}


def running_commands() -> list[list[str]]:
    """The argument vector of every live process."""
    commands = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            commands.append(cmdline.read_bytes().decode().split("\0")[:-1])
        except OSError:
            continue
    return commands


@contextlib.contextmanager
def scratch_dir() -> Iterator[Path]:
    """A directory outside pytest's basetemp, removed afterwards.

    As root, PostgreSQL runs as another account that must traverse every parent
    of its data directory; each pytest session locks its basetemp to the owner.
    """
    path = Path(tempfile.mkdtemp(prefix="vaxbook-devstack-"))
    try:
        yield path
    finally:
        shutil.rmtree(path)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    with scratch_dir() as path:
        yield path


@pytest.fixture(scope="module")
def running_stack() -> Iterator[Endpoints]:
    with scratch_dir() as path, LocalStack(path) as stack:
        yield stack.start()


def test_embedded_servers_listen_on_their_own_ports(running_stack: Endpoints) -> None:
    ports = {port_of(url) for url in vars(running_stack).values()}

    assert len(ports) == 3
    assert not ports & STANDARD_PORTS


def test_embedded_postgres_runs_queries_in_the_vaxbook_database(
    running_stack: Endpoints,
) -> None:
    with psycopg.connect(libpq_url(running_stack.database_url)) as conn:
        row = conn.execute("select current_database(), 1").fetchone()

    assert row == ("vaxbook", 1)


def test_embedded_redis_answers_ping(running_stack: Endpoints) -> None:
    client = redis.Redis.from_url(running_stack.redis_url)
    try:
        assert client.ping() is True
    finally:
        client.close()


async def test_embedded_nats_serves_jetstream(running_stack: Endpoints) -> None:
    client = await nats.connect(running_stack.nats_url, allow_reconnect=False)
    try:
        account = await client.jetstream().account_info()
    finally:
        await client.close()

    assert account.streams == 0


def test_database_can_be_created_once_and_dropped_while_in_use(
    running_stack: Endpoints,
) -> None:
    server_url = devstack.database_url_for(running_stack.database_url, "postgres")

    url = devstack.create_database(server_url, "devstack_scratch")
    with pytest.raises(psycopg.errors.DuplicateDatabase):
        devstack.create_database(server_url, "devstack_scratch")
    assert (
        devstack.create_database(server_url, "devstack_scratch", exist_ok=True) == url
    )
    with psycopg.connect(libpq_url(url)) as holder:
        devstack.drop_database(server_url, "devstack_scratch")

        with pytest.raises(psycopg.OperationalError):
            holder.execute("select 1")
    with pytest.raises(psycopg.OperationalError, match="devstack_scratch"):
        psycopg.connect(libpq_url(url)).close()


def test_stopped_stack_leaves_no_port_open_no_process_and_its_logs(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with LocalStack(data_dir) as stack:
        endpoints = stack.start()
        ports = [port_of(url) for url in vars(endpoints).values()]
        pids = {server.pid for server in stack.servers if server.pid is not None}
        assert len(pids) == 3
        assert all(accepts_connections(port) for port in ports)
        processes = with_descendants(pids)
        assert len(processes) > len(pids)

        with caplog.at_level(logging.INFO, logger="vaxbook.devstack"):
            stack.stop()

    assert "killing" not in caplog.text
    assert caplog.text.count(" stopped") == 3
    assert not any(accepts_connections(port) for port in ports)
    assert alive(processes) == set()
    assert stack.servers == ()
    assert "ready to accept connections" in (data_dir / "postgres.log").read_text()
    assert "Ready to accept connections" in (data_dir / "redis.log").read_text()
    assert "Server is ready" in (data_dir / "nats.log").read_text()


def test_killed_redis_comes_back_empty_on_the_same_port(tmp_path: Path) -> None:
    server = devstack.start_redis(tmp_path)
    client = redis.Redis.from_url(server.url, socket_timeout=2)
    try:
        client.set("seat", "held")

        server.kill()
        with pytest.raises(redis.ConnectionError):
            client.ping()

        server.restart()
        assert client.ping() is True
        assert client.get("seat") is None
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
    finally:
        client.close()
        server.stop()

    assert not accepts_connections(server.port)


def test_redis_on_a_taken_port_fails_naming_the_server_and_its_log(
    tmp_path: Path,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(devstack.DevStackError) as failure:
            devstack.start_redis(tmp_path, port=port)

    message = str(failure.value)
    assert message.startswith("Redis exited")
    assert str(tmp_path / "redis.log") in message
    assert "Address already in use" in message


def test_servers_named_in_the_environment_are_used_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VBDEV_DATABASE_URL", "postgresql+psycopg://u@db:1/x")
    monkeypatch.setenv("VBDEV_REDIS_URL", "redis://cache:2/0")
    monkeypatch.setenv("VBDEV_NATS_URL", "nats://bus:3")

    endpoints, stack = devstack.resolve_servers("VBDEV_", tmp_path)

    assert endpoints == Endpoints(
        "postgresql+psycopg://u@db:1/x", "redis://cache:2/0", "nats://bus:3"
    )
    assert stack is None
    assert list(tmp_path.iterdir()) == []


def test_only_servers_missing_from_the_environment_are_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VBDEV_DATABASE_URL", "postgresql+psycopg://u@db:1/x")
    monkeypatch.setenv("VBDEV_NATS_URL", "nats://bus:3")
    monkeypatch.delenv("VBDEV_REDIS_URL", raising=False)

    endpoints, stack = devstack.resolve_servers(
        "VBDEV_", tmp_path, probe_local_ports=False
    )

    assert stack is not None
    with stack:
        assert [server.name for server in stack.servers] == ["Redis"]
        assert port_of(endpoints.redis_url) not in STANDARD_PORTS
        assert devstack.redis_answers(endpoints.redis_url)
    assert not devstack.redis_answers(endpoints.redis_url)


def test_probing_takes_the_standard_redis_port_only_when_it_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VBDEV_DATABASE_URL", "postgresql+psycopg://u@db:1/x")
    monkeypatch.setenv("VBDEV_NATS_URL", "nats://bus:3")
    monkeypatch.delenv("VBDEV_REDIS_URL", raising=False)
    local_answers = devstack.redis_answers(devstack.LOCAL_REDIS_URL)

    endpoints, stack = devstack.resolve_servers("VBDEV_", tmp_path)

    try:
        assert (endpoints.redis_url == devstack.LOCAL_REDIS_URL) is local_answers
        assert (stack is None) is local_answers
        assert devstack.redis_answers(endpoints.redis_url)
    finally:
        if stack is not None:
            stack.stop()


def test_named_database_is_created_on_an_embedded_server(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VBDEV_REDIS_URL", "redis://cache:2/0")
    monkeypatch.setenv("VBDEV_NATS_URL", "nats://bus:3")
    monkeypatch.delenv("VBDEV_DATABASE_URL", raising=False)

    endpoints, stack = devstack.resolve_servers(
        "VBDEV_", data_dir, probe_local_ports=False, database="citizens"
    )

    assert stack is not None
    with stack, psycopg.connect(libpq_url(endpoints.database_url)) as conn:
        row = conn.execute("select current_database()").fetchone()
        assert row == ("citizens",)
        assert port_of(endpoints.database_url) not in STANDARD_PORTS


def test_a_server_ignoring_sigterm_is_killed_after_the_stop_timeout(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log_path = tmp_path / "stubborn.log"
    stubborn = devstack.ServerProcess(
        "stubborn",
        ["sh", "-c", 'trap "" TERM; echo ready; exec sleep 60'],
        log_path,
        answers=lambda: log_path.exists() and "ready" in log_path.read_text(),
    )
    stubborn.start()
    pid = stubborn.pid
    assert pid is not None

    with caplog.at_level(logging.WARNING, logger="vaxbook.devstack"):
        stubborn.stop(timeout_seconds=0.5)

    assert "stubborn did not stop within 0.5 s, killing it" in caplog.text
    assert alive({pid}) == set()


def test_a_server_that_never_answers_fails_in_time_and_is_killed(
    tmp_path: Path,
) -> None:
    command = ["sleep", "61.25"]
    silent = devstack.ServerProcess(
        "silent", command, tmp_path / "silent.log", answers=lambda: False
    )

    with pytest.raises(devstack.DevStackError, match="silent did not answer"):
        silent.start(timeout_seconds=0.5)

    assert silent.pid is None
    assert running_commands().count(command) == 0


def test_free_port_never_hands_out_a_service_port(monkeypatch):
    # The system may hand out any port of its ephemeral range, the services'
    # default gRPC ports among them; those are passed over.
    offered = iter(
        [DEFAULT_GRPC_PORTS["inventory"], DEFAULT_GRPC_PORTS["clinic"], 40123]
    )

    class Socket:
        def __init__(self, *args) -> None:
            self.port = next(offered)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            pass

        def bind(self, address) -> None:
            pass

        def getsockname(self):
            return (devstack.HOST, self.port)

    monkeypatch.setattr(devstack.socket, "socket", Socket)

    assert devstack.free_port() == 40123
