"""Clinic cancellations: cancelled slots, closed seats, dose adjustments with
their shortfall, and rebooking offers.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("slots", sa.Column("cancel_reason", sa.Text), schema="clinic")
    op.add_column(
        "slots", sa.Column("cancel_time", sa.DateTime(timezone=True)), schema="clinic"
    )
    op.add_column(
        "slots",
        sa.Column(
            "appointments_settled", sa.Boolean, nullable=False, server_default="true"
        ),
        schema="clinic",
    )
    op.create_index(
        "slots_owing_cancellations",
        "slots",
        ["cancel_time"],
        schema="clinic",
        postgresql_where=sa.text("NOT appointments_settled"),
    )

    op.add_column(
        "slot_seats",
        sa.Column("closed", sa.Boolean, nullable=False, server_default="false"),
        schema="inventory",
    )
    op.add_column(
        "dose_stock",
        sa.Column("doses_short", sa.Integer, nullable=False, server_default="0"),
        schema="inventory",
    )
    op.create_check_constraint(
        "shortfall_within_stock",
        "dose_stock",
        "doses_short >= 0 AND doses_short <= doses",
        schema="inventory",
    )
    op.create_table(
        "dose_adjustments",
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("old_doses", sa.Integer, nullable=False),
        sa.Column("new_doses", sa.Integer, nullable=False),
        sa.Column("shortfall", sa.Integer, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        schema="inventory",
    )

    op.add_column(
        "appointments",
        sa.Column(
            "rebooking_offered", sa.Boolean, nullable=False, server_default="false"
        ),
        schema="appointment",
    )
    op.create_index(
        "appointments_live_by_slot",
        "appointments",
        ["clinic_id", "slot_id"],
        schema="appointment",
        postgresql_where=sa.text("state IN ('PENDING', 'CONFIRMED')"),
    )
    op.create_table(
        "rebooking_offers",
        sa.Column("appointment_id", sa.Text, primary_key=True),
        sa.Column("new_appointment_id", sa.Text, nullable=False, unique=True),
        sa.Column("citizen_id", sa.Text, nullable=False),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("slot_id", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("dose_number", sa.Integer, nullable=False),
        sa.Column("slot_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("slot_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rules_version", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "release_pending", sa.Boolean, nullable=False, server_default="false"
        ),
        schema="appointment",
    )
    op.create_index(
        "rebooking_offers_open_by_expiry",
        "rebooking_offers",
        ["expires_at"],
        schema="appointment",
        postgresql_where=sa.text("state = 'OPEN' OR release_pending"),
    )


def downgrade() -> None:
    op.drop_table("rebooking_offers", schema="appointment")
    op.drop_index("appointments_live_by_slot", schema="appointment")
    op.drop_column("appointments", "rebooking_offered", schema="appointment")
    op.drop_table("dose_adjustments", schema="inventory")
    op.drop_constraint(
        "shortfall_within_stock", "dose_stock", schema="inventory", type_="check"
    )
    op.drop_column("dose_stock", "doses_short", schema="inventory")
    op.drop_column("slot_seats", "closed", schema="inventory")
    op.drop_index("slots_owing_cancellations", schema="clinic")
    for column in ("appointments_settled", "cancel_time", "cancel_reason"):
        op.drop_column("slots", column, schema="clinic")
