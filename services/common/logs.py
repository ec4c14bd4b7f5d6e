"""Structured JSON logs, one line per event, with per-call context.

Context (``rpc``, ``request_id``, ``appointment_id``) lives in a context
variable, so every line logged while serving a call carries it. Nothing here
logs request bodies: national ids, tokens and codes never reach a log line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "vaxbook_log_context", default=_EMPTY
)
_service = "vaxbook"


def bind(**fields: str) -> None:
    """Adds fields to every log line of the current call."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})


def new_context(**fields: str) -> contextvars.Token:
    """Starts a fresh context for one call; pass the token to :func:`reset`."""
    return _context.set({k: v for k, v in fields.items() if v})


def reset(token: contextvars.Token) -> None:
    _context.reset(token)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object with ``severity`` and context."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "severity": record.levelname,
            "service": _service,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(service: str, level: str = "INFO") -> None:
    """Sends every log record to stderr as JSON; call once per process."""
    global _service
    _service = service
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
