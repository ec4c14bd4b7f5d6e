"""The appointment service's table, in the ``appointment`` schema."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from services.common.outbox import outbox_table

metadata = MetaData(schema="appointment")

ACTIVE_STATES = ("PENDING", "CONFIRMED")

appointments = Table(
    "appointments",
    metadata,
    Column("id", Text, primary_key=True),
    Column("citizen_id", Text, nullable=False),
    Column("clinic_id", Text, nullable=False),
    Column("slot_id", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    Column("dose_number", Integer, nullable=False),
    Column("state", Text, nullable=False),
    Column("reserve_request_id", Text, nullable=False, unique=True),
    Column("hold_expires_at", DateTime(timezone=True), nullable=False),
    Column("slot_start", DateTime(timezone=True), nullable=False),
    Column("slot_end", DateTime(timezone=True), nullable=False),
    # Set before the hold is committed, so an interrupted confirm is finished
    # rather than released.
    Column("confirm_requested", Boolean, nullable=False, server_default="false"),
    # Set when the appointment ends while its hold still has to be released.
    Column("release_pending", Boolean, nullable=False, server_default="false"),
    Column("end_reason", Text, nullable=False, server_default=""),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    # CHECKING, PASSED, PROVISIONAL, RETRYING or FAILED.
    Column("eligibility", Text, nullable=False, server_default="PASSED"),
    # Every reason the booking was refused: [{"code": ..., "message": ...}].
    Column("reasons", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("rules_version", Text, nullable=False, server_default=""),
    Column("review_required", Boolean, nullable=False, server_default="false"),
    # Set once the eligibility service holds the review case.
    Column("review_opened", Boolean, nullable=False, server_default="false"),
    Column("eligibility_attempts", Integer, nullable=False, server_default="0"),
    # While RETRYING: when eligibility is asked again.
    Column("next_check_at", DateTime(timezone=True)),
    # Set with the rebooking offer made when the clinic cancelled it.
    Column("rebooking_offered", Boolean, nullable=False, server_default="false"),
    # When it was confirmed, and the key its QR code is signed with; with the
    # generation (one more at each reissue) they make the code again exactly.
    Column("confirm_time", DateTime(timezone=True)),
    Column("qr_key_id", Text),
    Column("qr_generation", Integer, nullable=False, server_default="0"),
    # The dose given, once ADMINISTERED.
    Column("administer_time", DateTime(timezone=True)),
    Column("administer_batch", Text),
    Column("vaccinator", Text),
    Column("administer_device", Text),
    # Set while the dose still has to reach the person's vaccination history.
    Column("history_pending", Boolean, nullable=False, server_default="false"),
    Index("appointments_by_citizen", "citizen_id", "create_time"),
    Index(
        "one_active_appointment_per_citizen_and_dose",
        "citizen_id",
        "dose_number",
        unique=True,
        postgresql_where=text("state IN ('PENDING', 'CONFIRMED')"),
    ),
    Index(
        "appointments_awaiting_eligibility",
        "next_check_at",
        postgresql_where=text(
            "state = 'PENDING' AND eligibility IN ('CHECKING', 'RETRYING')"
        ),
    ),
    Index(
        "appointments_owing_review_case",
        "id",
        postgresql_where=text("review_required AND NOT review_opened"),
    ),
    Index(
        "appointments_confirmed_by_slot_end",
        "slot_end",
        postgresql_where=text("state = 'CONFIRMED'"),
    ),
    Index(
        "appointments_needing_repair",
        "hold_expires_at",
        postgresql_where=text("state = 'PENDING' OR release_pending"),
    ),
    Index(
        "appointments_by_clinic_day",
        "clinic_id",
        "slot_start",
        postgresql_where=text("confirm_time IS NOT NULL"),
    ),
    Index("appointments_owing_history", "id", postgresql_where=text("history_pending")),
    Index(
        "appointments_live_by_slot",
        "clinic_id",
        "slot_id",
        postgresql_where=text("state IN ('PENDING', 'CONFIRMED')"),
    ),
)

# A seat held for a citizen whose appointment the clinic cancelled; one per
# cancelled appointment. Accepting it makes ``new_appointment_id``, which is
# also the id of the offer's hold.
rebooking_offers = Table(
    "rebooking_offers",
    metadata,
    Column("appointment_id", Text, primary_key=True),
    Column("new_appointment_id", Text, nullable=False, unique=True),
    Column("citizen_id", Text, nullable=False),
    Column("clinic_id", Text, nullable=False),
    Column("slot_id", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    Column("dose_number", Integer, nullable=False),
    Column("slot_start", DateTime(timezone=True), nullable=False),
    Column("slot_end", DateTime(timezone=True), nullable=False),
    # The eligibility verdict of the cancelled booking carries over.
    Column("rules_version", Text, nullable=False),
    # OPEN, ACCEPTED, DECLINED or LAPSED.
    Column("state", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
    # Set when the offer ends while its hold still has to be released.
    Column("release_pending", Boolean, nullable=False, server_default="false"),
    Index(
        "rebooking_offers_open_by_expiry",
        "expires_at",
        postgresql_where=text("state = 'OPEN' OR release_pending"),
    ),
)

# The keys QR codes are signed with; the newest unretired one signs.
qr_keys = Table(
    "qr_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("private_key", LargeBinary, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("retire_time", DateTime(timezone=True)),
)

# What each scanner message was answered, so a message sent again with the
# same nonce gets the same answer and changes nothing.
scanner_replies = Table(
    "scanner_replies",
    metadata,
    Column("device_id", Text, primary_key=True),
    Column("nonce", Text, primary_key=True),
    Column("clinic_id", Text, nullable=False),
    Column("reply", LargeBinary, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
)

# Lifecycle events waiting to be published, written with each change.
outbox = outbox_table(metadata)
