"""Taking and committing holds at inventory, many bookings to a call."""

from __future__ import annotations

from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.common.batching import Batcher
from services.common.errors import DomainError, from_status_proto
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream


class HoldTaker:
    """Sends concurrent ``CreateHold`` requests as ``BatchCreateHolds`` calls;
    each caller gets its own hold or its own refusal."""

    def __init__(
        self,
        inventory: inventory_pb2_grpc.InventoryServiceStub,
        call_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.inventory = inventory
        self.call_timeout_seconds = call_timeout_seconds
        self._batcher = Batcher(self._send)

    async def create(self, request: inv.CreateHoldRequest) -> inv.Hold:
        """The hold, or the ``DomainError`` inventory refused it with."""
        return await self._batcher.submit(request)

    async def _send(
        self, requests: list[inv.CreateHoldRequest]
    ) -> list[inv.Hold | DomainError]:
        async with upstream("inventory"):
            response = await self.inventory.BatchCreateHolds(
                inv.BatchCreateHoldsRequest(requests=requests),
                timeout=self.call_timeout_seconds,
            )
        return [_outcome(result) for result in response.results]


class HoldCommitter:
    """Sends concurrent ``CommitHold`` requests as ``BatchCommitHolds`` calls;
    each caller gets its own committed hold or its own refusal."""

    def __init__(
        self,
        inventory: inventory_pb2_grpc.InventoryServiceStub,
        call_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.inventory = inventory
        self.call_timeout_seconds = call_timeout_seconds
        self._batcher = Batcher(self._send)

    async def commit(self, request: inv.CommitHoldRequest) -> inv.Hold:
        """The committed hold, or the ``DomainError`` inventory refused it with."""
        return await self._batcher.submit(request)

    async def _send(
        self, requests: list[inv.CommitHoldRequest]
    ) -> list[inv.Hold | DomainError]:
        async with upstream("inventory"):
            response = await self.inventory.BatchCommitHolds(
                inv.BatchCommitHoldsRequest(requests=requests),
                timeout=self.call_timeout_seconds,
            )
        return [_outcome(result) for result in response.results]


def _outcome(result: inv.HoldResult) -> inv.Hold | DomainError:
    if result.WhichOneof("result") == "hold":
        return result.hold
    return from_status_proto(result.error)
