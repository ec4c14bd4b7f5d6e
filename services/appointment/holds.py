"""Taking and committing holds at inventory, many bookings to a call."""

from __future__ import annotations

from functools import partial

from vaxbook.inventory.v1 import inventory_pb2 as inv
from vaxbook.inventory.v1 import inventory_pb2_grpc

from services.common.batching import Batcher
from services.common.errors import DomainError, from_status_proto
from services.common.grpc_clients import DEFAULT_TIMEOUT_SECONDS, upstream


class HoldBatches:
    """Sends concurrent ``CreateHold`` and ``CommitHold`` requests as
    ``BatchCreateHolds`` and ``BatchCommitHolds`` calls; each caller gets its
    own hold or its own refusal."""

    def __init__(
        self,
        inventory: inventory_pb2_grpc.InventoryServiceStub,
        call_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.inventory = inventory
        self.call_timeout_seconds = call_timeout_seconds
        self._creates = Batcher(
            partial(self._send, "BatchCreateHolds", inv.BatchCreateHoldsRequest)
        )
        self._commits = Batcher(
            partial(self._send, "BatchCommitHolds", inv.BatchCommitHoldsRequest)
        )

    async def create(self, request: inv.CreateHoldRequest) -> inv.Hold:
        """The hold, or the ``DomainError`` inventory refused it with."""
        return await self._creates.submit(request)

    async def commit(self, request: inv.CommitHoldRequest) -> inv.Hold:
        """The committed hold, or the ``DomainError`` inventory refused it with."""
        return await self._commits.submit(request)

    async def _send(
        self, method: str, batch_request, requests: list
    ) -> list[inv.Hold | DomainError]:
        async with upstream("inventory"):
            response = await getattr(self.inventory, method)(
                batch_request(requests=requests), timeout=self.call_timeout_seconds
            )
        return [_outcome(result) for result in response.results]


def _outcome(result: inv.HoldResult) -> inv.Hold | DomainError:
    if result.WhichOneof("result") == "hold":
        return result.hold
    return from_status_proto(result.error)
