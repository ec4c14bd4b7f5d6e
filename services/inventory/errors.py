"""The inventory service's domain error and its reason codes."""

from __future__ import annotations

import grpc

from services.common.errors import DomainError


class InventoryError(DomainError):
    """A hold, commit or counter change the inventory refuses."""

    @classmethod
    def slot_full(cls, slot: str) -> InventoryError:
        return cls(
            "SLOT_FULL",
            f"slot {slot} has no free seat; choose another slot",
            code=grpc.StatusCode.RESOURCE_EXHAUSTED,
            metadata={"slot": slot},
        )

    @classmethod
    def out_of_doses(cls, clinic: str, vaccine: str) -> InventoryError:
        return cls(
            "OUT_OF_DOSES",
            f"{clinic} has no free dose of {vaccine}; choose another clinic",
            code=grpc.StatusCode.RESOURCE_EXHAUSTED,
            metadata={"clinic": clinic, "vaccine": vaccine},
        )

    @classmethod
    def hold_expired(cls, hold: str) -> InventoryError:
        return cls(
            "HOLD_EXPIRED",
            f"hold {hold} has expired or was released; reserve again",
            metadata={"hold": hold},
        )

    @classmethod
    def hold_store_unavailable(cls, hold: str) -> InventoryError:
        return cls(
            "HOLD_STORE_UNAVAILABLE",
            f"hold {hold} is kept in Redis, which is not answering; "
            f"retry with the same request id shortly",
            code=grpc.StatusCode.UNAVAILABLE,
            metadata={"hold": hold},
        )

    @classmethod
    def below_committed(cls, what: str, name: str, committed: int) -> InventoryError:
        return cls(
            "BELOW_COMMITTED",
            f"{name} already has {committed} {what} committed or held; "
            f"the new total cannot be lower",
            metadata={"resource": name},
        )

    @classmethod
    def slot_closed(cls, slot: str) -> InventoryError:
        return cls(
            "SLOT_CLOSED",
            f"slot {slot} was cancelled by the clinic; choose another slot",
            metadata={"slot": slot},
        )

    @classmethod
    def stock_negative(cls, clinic: str, vaccine: str, delta: int) -> InventoryError:
        return cls(
            "STOCK_NEGATIVE",
            f"{clinic} has fewer than {-delta} doses of {vaccine}; "
            f"the stock cannot fall below zero",
            code=grpc.StatusCode.FAILED_PRECONDITION,
            metadata={"clinic": clinic, "vaccine": vaccine},
        )
