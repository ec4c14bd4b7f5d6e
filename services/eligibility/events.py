"""The events of rule-set changes, as written to the eligibility outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vaxbook.events.v1 import events_pb2

from services.common.events import EventSettings, new_event

if TYPE_CHECKING:
    from services.eligibility.store import RuleSetRow

Outgoing = tuple[str, events_pb2.Event]


class EligibilityEvents:
    """Builds ``(subject, event)`` pairs for eligibility changes.

    The subject is ``<prefix>.eligibility.rule_set_activated``.
    """

    def __init__(self, settings: EventSettings) -> None:
        self.settings = settings

    def rule_set_activated(self, row: RuleSetRow, actor: str) -> Outgoing:
        """``row`` is now in force; ``actor`` is empty for a shipped file."""
        payload = events_pb2.RuleSetActivated(version=row.version, actor=actor)
        event = new_event(
            "rule_set_activated", payload, row.create_time, row.request_id
        )
        return self.settings.subject("eligibility", "rule_set_activated"), event
