"""The clinic service's tables, in the ``clinic`` schema."""

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

from services.common.outbox import outbox_table

metadata = MetaData(schema="clinic")

clinics = Table(
    "clinics",
    metadata,
    Column("id", Text, primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("region", Text, nullable=False, index=True),
    Column("address", Text, nullable=False),
    Column("vaccines", ARRAY(Text), nullable=False),
    Column("request_id", Text, nullable=False, unique=True),
    Column("create_time", DateTime(timezone=True), nullable=False),
)

slots = Table(
    "slots",
    metadata,
    Column("id", Text, primary_key=True),
    Column("clinic_id", Text, ForeignKey("clinic.clinics.id"), nullable=False),
    Column("start_time", DateTime(timezone=True), nullable=False, index=True),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("request_id", Text, nullable=False, unique=True),
    # Set when the clinic cancels the slot.
    Column("cancel_reason", Text),
    Column("cancel_time", DateTime(timezone=True)),
    # False from the cancellation until the appointment service has cancelled
    # every appointment in the slot; a job finishes what a failed call left.
    Column("appointments_settled", Boolean, nullable=False, server_default="true"),
    CheckConstraint("end_time > start_time", name="slot_ends_after_start"),
    CheckConstraint("capacity > 0", name="slot_has_seats"),
)

# Every dose stock adjustment staff asked for, in the order they asked. One
# stays unsettled until inventory has recorded it and the appointments it
# leaves without a dose are cancelled; a job finishes what a failed call left.
dose_adjustments = Table(
    "dose_adjustments",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("request_id", Text, nullable=False, unique=True),
    Column("clinic_id", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    Column("delta", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("settled", Boolean, nullable=False, server_default="false"),
    Index("dose_adjustments_owed", "seq", postgresql_where=text("NOT settled")),
    Index("dose_adjustments_by_stock", "clinic_id", "vaccine", "seq"),
)

# Events of clinic and slot changes, written in the same transaction.
outbox = outbox_table(metadata)
