"""The gateway's channels to the services, one per service its routes call.

Channels are opened in the application's lifespan, inside the event loop
that serves requests (a ``grpc.aio`` channel made elsewhere is bound to the
wrong loop), and closed there. Calls carry the caller's own credentials,
never a service token: the gateway gains no right the caller lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc
from google.protobuf.message import Message

from gateway.routes import RouteError, Rpc
from services.common.grpc_clients import channel


class Upstreams:
    """Callables for every RPC the routes name, over one channel per
    service, with the same deadline on every call."""

    def __init__(
        self,
        rpcs: Sequence[Rpc],
        addresses: Mapping[str, str],
        deadline_seconds: float,
    ) -> None:
        missing = sorted({rpc.upstream for rpc in rpcs} - addresses.keys())
        if missing:
            raise RouteError(f"no address is configured for {', '.join(missing)}")
        self.rpcs = {rpc.path: rpc for rpc in rpcs}
        self.addresses = addresses
        self.deadline_seconds = deadline_seconds
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._calls: dict[str, grpc.aio.UnaryUnaryMultiCallable] = {}

    async def open(self) -> None:
        """Opens the channels; call from the serving event loop."""
        for rpc in self.rpcs.values():
            if rpc.upstream not in self._channels:
                address = self.addresses[rpc.upstream]
                self._channels[rpc.upstream] = channel(address)
            self._calls[rpc.path] = self._channels[rpc.upstream].unary_unary(
                rpc.path,
                request_serializer=rpc.request_class.SerializeToString,
                response_deserializer=rpc.response_class.FromString,
            )

    async def close(self) -> None:
        """Closes the channels, cancelling calls still open."""
        opened = list(self._channels.values())
        self._channels.clear()
        self._calls.clear()
        for each in opened:
            await each.close()

    async def call(
        self, rpc: Rpc, request: Message, metadata: tuple[tuple[str, str], ...]
    ) -> Message:
        """Calls ``rpc``; raises ``grpc.aio.AioRpcError`` when it fails."""
        call = self._calls.get(rpc.path)
        if call is None:
            raise RuntimeError("the channels are closed: serve the app with lifespan")
        return await call(request, metadata=metadata, timeout=self.deadline_seconds)
