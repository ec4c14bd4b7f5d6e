"""Why a message could not be sent.

The notification service refuses no request of its own beyond the common
checks; its failures are sends that did not go through. They are recorded on
the delivery and decide whether it is tried again.
"""

from __future__ import annotations


class DeliveryFailed(Exception):
    """A mail server or provider did not take a message.

    ``reason`` is safe to store and log: it names no full address. A
    ``permanent`` failure (an address refused for good, say) is not retried.
    """

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class TemplateError(DeliveryFailed):
    """A template needs a value its event does not carry; retrying cannot
    help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True)
