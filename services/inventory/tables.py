"""The inventory service's tables, in the ``inventory`` schema.

The check constraints are the final guard against overselling: whatever Redis
says, committed plus database-held seats (or doses) never exceed the total.
"""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from services.common.outbox import outbox_table

metadata = MetaData(schema="inventory")

slot_seats = Table(
    "slot_seats",
    metadata,
    Column("slot_id", Text, primary_key=True),
    Column("clinic_id", Text, nullable=False, index=True),
    Column("capacity", Integer, nullable=False),
    Column("seats_committed", Integer, nullable=False, server_default="0"),
    # Seats claimed by holds recorded in PostgreSQL (the Redis-down path).
    Column("seats_held", Integer, nullable=False, server_default="0"),
    # A closed slot takes no new holds; what it already has stays.
    Column("closed", Boolean, nullable=False, server_default="false"),
    CheckConstraint(
        "seats_committed >= 0 AND seats_held >= 0 "
        "AND seats_committed + seats_held <= capacity",
        name="seats_never_oversold",
    ),
)

dose_stock = Table(
    "dose_stock",
    metadata,
    Column("clinic_id", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    Column("doses", Integer, nullable=False),
    Column("doses_committed", Integer, nullable=False, server_default="0"),
    Column("doses_held", Integer, nullable=False, server_default="0"),
    # Doses counted in ``doses`` only because appointments still claim them
    # after an adjustment took the stock below what was committed: each
    # release of such a claim removes one instead of freeing it.
    Column("doses_short", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("clinic_id", "vaccine"),
    CheckConstraint(
        "doses_committed >= 0 AND doses_held >= 0 "
        "AND doses_committed + doses_held <= doses",
        name="doses_never_oversold",
    ),
    CheckConstraint(
        "doses_short >= 0 AND doses_short <= doses", name="shortfall_within_stock"
    ),
)

# Every adjustment of a stock, with its reason, keyed by the request that made it.
dose_adjustments = Table(
    "dose_adjustments",
    metadata,
    Column("request_id", Text, primary_key=True),
    Column("clinic_id", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    Column("delta", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("old_doses", Integer, nullable=False),
    Column("new_doses", Integer, nullable=False),
    Column("shortfall", Integer, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
)

# A row per hold the database knows of: every hold taken on the database path,
# and every Redis hold once it is committed or released. ``state`` is HELD,
# COMMITTED, RELEASED, EXPIRED, or USED once its committed dose was given.
holds = Table(
    "holds",
    metadata,
    Column("hold_id", Text, primary_key=True),
    Column("clinic_id", Text, nullable=False),
    Column("slot_id", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("store", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(
        "holds_live_on_database",
        "clinic_id",
        "expires_at",
        postgresql_where="state = 'HELD'",
    ),
)

# A row per batch a clinic received; its id is the number printed on it. Its
# doses joined the stock by an adjustment; an expired batch's doses not given
# left it by another. ``state`` is ACTIVE, EXPIRED or USED_UP.
batches = Table(
    "batches",
    metadata,
    Column("clinic_id", Text, nullable=False),
    Column("batch_id", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    # The last day the batch may be given.
    Column("expire_date", Date, nullable=False),
    Column("doses_received", Integer, nullable=False),
    Column("doses_used", Integer, nullable=False, server_default="0"),
    Column("state", Text, nullable=False, server_default="ACTIVE"),
    # The request that received the batch; another request is refused.
    Column("request_id", Text, nullable=False),
    Column("receive_time", DateTime(timezone=True), nullable=False),
    # The ``ExpireBatches`` request that expired it, so a retry returns it.
    Column("expire_request_id", Text),
    Column("expire_time", DateTime(timezone=True)),
    PrimaryKeyConstraint("clinic_id", "batch_id"),
    CheckConstraint(
        "doses_received > 0 AND doses_used >= 0 AND doses_used <= doses_received",
        name="batch_never_overused",
    ),
    Index("batches_by_expiry", "clinic_id", "expire_date", "batch_id"),
    Index("batches_active", "expire_date", postgresql_where="state = 'ACTIVE'"),
    Index(
        "batches_by_expire_request",
        "expire_request_id",
        postgresql_where="expire_request_id IS NOT NULL",
    ),
)

# A row per dose given: one per appointment, from a batch, fulfilling the
# appointment's committed hold, which became USED with it.
dose_uses = Table(
    "dose_uses",
    metadata,
    Column("appointment_id", Text, primary_key=True),
    Column("clinic_id", Text, nullable=False),
    Column("batch_id", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    Column("hold_id", Text, nullable=False),
    Column("administer_time", DateTime(timezone=True), nullable=False),
    # The request that recorded the use; later requests get this one back.
    Column("request_id", Text, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["clinic_id", "batch_id"],
        ["inventory.batches.clinic_id", "inventory.batches.batch_id"],
    ),
    Index("dose_uses_by_batch", "clinic_id", "batch_id"),
)

# Events of changed totals, written in the same transaction; holds have none.
outbox = outbox_table(metadata)
