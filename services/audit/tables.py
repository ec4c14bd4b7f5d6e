"""The audit service's table, in the ``audit`` schema.

Records are only ever added: a trigger refuses UPDATE, DELETE and TRUNCATE
for every role (see migration 0007). Names are stored as the events carry
them (``appointments/{a}``, ``citizens/{c}``, ``clinics/{c}``), empty when an
event does not concern one.
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)

metadata = MetaData(schema="audit")

# Hashes are SHA-256 digests.
HASH_BYTES = 32

records = Table(
    "records",
    metadata,
    # Position in the chain, from 1 without gaps.
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", Text, nullable=False, unique=True),
    # The payload field name of the event, for example 'appointment_confirmed'.
    Column("event_type", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("occur_time", DateTime(timezone=True), nullable=False),
    Column("record_time", DateTime(timezone=True), nullable=False),
    Column("appointment", Text, nullable=False),
    Column("citizen", Text, nullable=False),
    Column("clinic", Text, nullable=False),
    Column("actor", Text, nullable=False),
    # The serialized vaxbook.events.v1.Event, exactly as received.
    Column("event", LargeBinary, nullable=False),
    Column("prev_hash", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    CheckConstraint("seq >= 1", name="seq_positive"),
    CheckConstraint(f"octet_length(prev_hash) = {HASH_BYTES}", name="prev_hash_size"),
    CheckConstraint(f"octet_length(hash) = {HASH_BYTES}", name="hash_size"),
    Index(
        "records_by_appointment",
        "appointment",
        "seq",
        postgresql_where=text("appointment <> ''"),
    ),
    Index(
        "records_by_citizen", "citizen", "seq", postgresql_where=text("citizen <> ''")
    ),
    Index("records_by_clinic", "clinic", "seq", postgresql_where=text("clinic <> ''")),
    Index("records_by_actor", "actor", "seq", postgresql_where=text("actor <> ''")),
    Index("records_by_event_type", "event_type", "seq"),
    Index("records_by_occur_time", "occur_time"),
)

# The stream sequence of the last message the chain has dealt with (filed,
# found filed already, or set aside as not an event), per stream.
stream_positions = Table(
    "stream_positions",
    metadata,
    Column("stream", Text, primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    CheckConstraint("last_seq >= 0", name="last_seq_not_negative"),
)
