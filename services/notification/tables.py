"""The notification service's tables, in the ``notification`` schema.

No column holds a phone number or an e-mail address in full: the contact is
asked of the auth service at each attempt, and only its masked form is kept.
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(schema="notification")

# What the service learnt of each appointment from its events: whose it is,
# when its slot starts, and the reminder it owes.
appointments = Table(
    "appointments",
    metadata,
    # The appointment id, as in `appointments/{appointment}`.
    Column("id", Text, primary_key=True),
    # Who is vaccinated: `citizens/{c}` or `citizens/{c}/dependants/{d}`.
    Column("person", Text, nullable=False),
    # The citizen account answering for the person, `citizens/{c}`.
    Column("account", Text, nullable=False),
    # The payload field of the latest event, for example 'appointment_confirmed'.
    Column("last_event", Text, nullable=False),
    # When the latest event happened, and where it stands in the stream: an
    # older event changes nothing, and of two at the same instant the one
    # published later is the later.
    Column("last_event_time", DateTime(timezone=True), nullable=False),
    Column("last_event_seq", BigInteger, nullable=False, server_default="0"),
    Column("slot", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    Column("dose_number", Integer, nullable=False),
    Column("slot_start", DateTime(timezone=True)),
    # The latest confirmation: the reminder answers it, and the same
    # confirmation delivered again schedules nothing new.
    Column("reminder_event_id", Text),
    # When the reminder is due; NULL when none is owed.
    Column("remind_at", DateTime(timezone=True)),
    # A reminder pass holds the reminder until then: its lease while sending,
    # or the time of the next attempt after a failure.
    Column("reminder_claimed_until", DateTime(timezone=True)),
    Index(
        "reminders_owed",
        "remind_at",
        postgresql_where=text("remind_at IS NOT NULL"),
    ),
)

# One message to one person over one channel; at most one per event, template
# and channel, so an event delivered twice is sent once.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Text, primary_key=True),
    # Gives deliveries recorded in the same instant a stable order.
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
    Column("appointment_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("template", Text, nullable=False),
    # 'EMAIL', 'SMS' or 'PUSH'.
    Column("channel", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("masked_destination", Text, nullable=False),
    # 'QUEUED', 'SENT', 'FAILED' or 'DEAD'.
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=False, server_default=""),
    # An attempt in progress holds the delivery until then.
    Column("claimed_until", DateTime(timezone=True)),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("send_time", DateTime(timezone=True)),
    # When a dead delivery reached the dead-letter stream; NULL until then.
    Column("dead_letter_time", DateTime(timezone=True)),
    UniqueConstraint(
        "event_id", "template", "channel", name="one_delivery_per_event_and_channel"
    ),
    CheckConstraint(
        "state IN ('QUEUED', 'SENT', 'FAILED', 'DEAD')", name="delivery_state_known"
    ),
    CheckConstraint(
        "channel IN ('EMAIL', 'SMS', 'PUSH')", name="delivery_channel_known"
    ),
    Index("deliveries_by_appointment", "appointment_id", "seq"),
)
