"""The inventory service's tables, in the ``inventory`` schema.

The check constraints are the final guard against overselling: whatever Redis
says, committed plus database-held seats (or doses) never exceed the total.
"""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
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
# and every Redis hold once it is committed or released.
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

# Events of changed totals, written in the same transaction; holds have none.
outbox = outbox_table(metadata)
