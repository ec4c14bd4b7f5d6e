"""Views of personal data, as events for the audit trail: who read what,
through which RPC, and when.

Only reads by people are recorded (citizens, clinic staff, reviewers,
auditors, admins); a service reading on its own behalf is not.
"""

from __future__ import annotations

from datetime import datetime

from vaxbook.events.v1 import events_pb2

from services.common.auth import Principal, Role
from services.common.events import EventSettings, new_event


def is_person(principal: Principal | None) -> bool:
    """Whether a view by ``principal`` is recorded."""
    return principal is not None and principal.role is not Role.SERVICE


def personal_data_viewed(
    settings: EventSettings,
    viewer: Principal,
    resource: str,
    rpc: str,
    viewed_at: datetime,
    *,
    citizen: str,
    appointment: str = "",
    clinic: str = "",
) -> tuple[str, events_pb2.Event]:
    """The ``(subject, event)`` recording that ``viewer`` read ``resource``
    through ``rpc`` (a full method name)."""
    payload = events_pb2.PersonalDataViewed(
        actor=viewer.subject,
        actor_role=viewer.role.value,
        resource=resource,
        rpc=rpc,
        citizen=citizen,
        appointment=appointment,
        clinic=clinic,
    )
    event = new_event("personal_data_viewed", payload, viewed_at)
    return settings.subject("personal_data", "viewed"), event
