"""compose.yaml and the Dockerfile agree with the settings the services read."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.common.config import (
    DEFAULT_GRPC_PORTS,
    DEFAULT_METRICS_PORTS,
    SERVICES,
    Settings,
)
from services.eligibility.config import InsuranceSettings
from services.notification.config import NotificationSettings

ROOT = Path(__file__).resolve().parent.parent
DATA_SERVERS = {"postgres": "postgres:16", "redis": "redis:7", "nats": "nats:2"}


def compose_services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services: dict[str, Any] = compose["services"]
    return services


def published_ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(host port, container port) pairs from the short ``ports`` syntax."""
    pairs = set()
    for entry in service.get("ports", []):
        host, container = str(entry).split(":")
        pairs.add((int(host), int(container)))
    return pairs


def dockerfile_commands() -> dict[str, list[str]]:
    """The CMD of each named build stage of the Dockerfile."""
    commands: dict[str, list[str]] = {}
    stage = ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            stage = words[3] if len(words) == 4 and words[2].upper() == "AS" else ""
        elif words[:1] == ["CMD"]:
            commands[stage] = json.loads(line.removeprefix("CMD"))
    return commands


class RecordingEnviron(dict[str, str]):
    """An environment that remembers every variable name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)


def settings_from(
    environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[Settings, set[str]]:
    """Settings built from exactly ``environment``, and the names config read."""
    environ = RecordingEnviron(environment)
    with monkeypatch.context() as patch:
        patch.setattr(os, "environ", environ)
        settings = Settings.from_env()
    InsuranceSettings.from_env(environ)
    NotificationSettings.from_env(environ)
    return settings, environ.read


def test_compose_runs_the_data_servers_migrate_and_every_service() -> None:
    services = compose_services()

    assert {*DATA_SERVERS, "migrate", *SERVICES} <= set(services)
    for name, image in DATA_SERVERS.items():
        assert services[name]["image"].startswith(image)
        assert services[name]["healthcheck"]["test"]


def test_each_service_publishes_its_default_grpc_and_metrics_ports() -> None:
    services = compose_services()

    for name in SERVICES:
        grpc, metrics = DEFAULT_GRPC_PORTS[name], DEFAULT_METRICS_PORTS[name]
        assert published_ports(services[name]) == {(grpc, grpc), (metrics, metrics)}


def test_service_addresses_name_compose_services_on_their_grpc_ports() -> None:
    services = compose_services()

    for name in SERVICES:
        environment = services[name]["environment"]
        for target in SERVICES:
            host, port = environment[f"VAXBOOK_{target.upper()}_ADDR"].split(":")
            assert host == target
            assert host in services
            assert int(port) == DEFAULT_GRPC_PORTS[target]


def test_every_vaxbook_variable_in_compose_is_one_config_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, names_read = settings_from({}, monkeypatch)
    assert "VAXBOOK_DATABASE_URL" in names_read

    for name, service in compose_services().items():
        set_in_compose = {
            variable
            for variable in service.get("environment", {})
            if variable.startswith("VAXBOOK_")
        }
        assert set_in_compose <= names_read, name


def test_services_configured_by_compose_listen_where_compose_publishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = compose_services()

    for name in SERVICES:
        environment = {k: str(v) for k, v in services[name]["environment"].items()}
        settings, _ = settings_from(environment, monkeypatch)

        grpc_port = int(settings.listen_addr(name).rsplit(":", 1)[1])
        published = published_ports(services[name])
        assert settings.listen_addr(name).startswith("0.0.0.0:")
        assert (grpc_port, grpc_port) in published
        assert (settings.metrics_ports[name], settings.metrics_ports[name]) in published
        assert settings.database_url == environment["VAXBOOK_DATABASE_URL"]
        assert settings.redis_url == environment["VAXBOOK_REDIS_URL"]
        assert settings.nats_url == environment["VAXBOOK_NATS_URL"]


def test_services_wait_for_migrate_to_finish_and_migrate_for_postgres() -> None:
    services = compose_services()

    assert services["migrate"]["depends_on"]["postgres"] == {
        "condition": "service_healthy"
    }
    for name in SERVICES:
        migrate = services[name]["depends_on"]["migrate"]
        assert migrate == {"condition": "service_completed_successfully"}


def test_each_service_image_runs_its_own_module() -> None:
    services = compose_services()
    commands = dockerfile_commands()

    for name in SERVICES:
        target = services[name]["build"]["target"]
        assert commands[target] == ["python", "-m", f"services.{name}"]
        assert (ROOT / "services" / name / "__main__.py").is_file()


def test_migrate_image_runs_the_vaxbook_migrate_command() -> None:
    target = compose_services()["migrate"]["build"]["target"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())

    assert dockerfile_commands()[target] == ["vaxbook", "migrate"]
    assert "vaxbook" in pyproject["project"]["scripts"]
