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

    @classmethod
    def batch_exists(cls, batch: str) -> InventoryError:
        return cls(
            "BATCH_EXISTS",
            f"batch {batch} was already received by another request; "
            f"a batch number is received once per clinic",
            code=grpc.StatusCode.ALREADY_EXISTS,
            metadata={"batch": batch},
        )

    @classmethod
    def batch_expired(
        cls, batch: str, expire_date: str, consequence: str
    ) -> InventoryError:
        return cls(
            "BATCH_EXPIRED",
            f"batch {batch} expired after {expire_date}; {consequence}",
            metadata={"batch": batch, "expire_date": expire_date},
        )

    @classmethod
    def batch_other_clinic(cls, batch: str, hold: str) -> InventoryError:
        return cls(
            "BATCH_OTHER_CLINIC",
            f"batch {batch} is not at the clinic of hold {hold}; "
            f"give a dose from the appointment's own clinic",
            metadata={"batch": batch, "hold": hold},
        )

    @classmethod
    def batch_wrong_vaccine(
        cls, batch: str, batch_vaccine: str, hold: str, hold_vaccine: str
    ) -> InventoryError:
        return cls(
            "BATCH_WRONG_VACCINE",
            f"batch {batch} is {batch_vaccine}, but hold {hold} is for "
            f"{hold_vaccine}; give a dose of the booked vaccine",
            metadata={"batch": batch, "hold": hold},
        )

    @classmethod
    def batch_used_up(cls, batch: str, doses: int) -> InventoryError:
        return cls(
            "BATCH_USED_UP",
            f"all {doses} doses of batch {batch} have been given; choose another batch",
            metadata={"batch": batch},
        )

    @classmethod
    def hold_not_committed(cls, hold: str, state: str) -> InventoryError:
        return cls(
            "HOLD_NOT_COMMITTED",
            f"hold {hold} is {state}, not committed; a dose is given only "
            f"for a confirmed appointment",
            metadata={"hold": hold},
        )
