"""A small HTTP/1.1 client for the gateway load: one kept-alive connection,
one request at a time, JSON bodies with a ``Content-Length``.

The load process shares the machine's two cores with the mesh it measures,
so its own cost per call lowers the figure. A general client parses and
checks far more than the gateway's plain answers need: with httpx the load
process spent about 1.2 ms of CPU a call, six times what a call of the gRPC
load costs and twelve times this client's, and that cost was counted against
the gateway.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

# Longest status line or header line accepted from the server.
MAX_LINE_BYTES = 16 * 1024


class HttpError(Exception):
    """The connection failed or the server's answer was not HTTP/1.1 as
    expected; ``reason`` names which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class HttpConnection:
    """One connection to ``host:port``, opened on first use and again after
    the server closes it."""

    def __init__(self, host: str, port: int, timeout_seconds: float) -> None:
        self.host, self.port = host, port
        self.timeout_seconds = timeout_seconds
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post_json(
        self, path: str, body: object, headers: tuple[tuple[str, str], ...] = ()
    ) -> HttpResponse:
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{name}: {value}" for name, value in headers]
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._exchange(request)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
            await self.close()
            raise HttpError(type(error).__name__) from error
        except HttpError:
            await self.close()
            raise

    async def close(self) -> None:
        if self._streams is not None:
            _, writer = self._streams
            self._streams = None
            writer.close()

    async def _exchange(self, request: bytes) -> HttpResponse:
        if self._streams is None:
            self._streams = await asyncio.open_connection(
                self.host, self.port, limit=MAX_LINE_BYTES
            )
        reader, writer = self._streams
        writer.write(request)
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or parts[0] != b"HTTP/1.1" or not parts[1].isdigit():
            raise HttpError("malformed status line")
        length, keep_alive = None, True
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                keep_alive = value.strip().lower() != b"close"
        if length is None:
            raise HttpError("answer without Content-Length")
        body = await reader.readexactly(length)
        if not keep_alive:
            await self.close()
        return HttpResponse(int(parts[1]), body)
