"""Booking core: clinics and slots, seats, doses and holds, appointments.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    for schema in ("clinic", "inventory", "appointment"):
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    _create_clinic_tables()
    _create_inventory_tables()
    _create_appointment_tables()


def _create_clinic_tables() -> None:
    op.create_table(
        "clinics",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("region", sa.Text, nullable=False, index=True),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("vaccines", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("request_id", sa.Text, nullable=False, unique=True),
        sa.Column("create_time", TS, nullable=False),
        schema="clinic",
    )
    op.create_table(
        "slots",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column(
            "clinic_id", sa.Text, sa.ForeignKey("clinic.clinics.id"), nullable=False
        ),
        sa.Column("start_time", TS, nullable=False, index=True),
        sa.Column("end_time", TS, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False, unique=True),
        sa.CheckConstraint("end_time > start_time", name="slot_ends_after_start"),
        sa.CheckConstraint("capacity > 0", name="slot_has_seats"),
        schema="clinic",
    )


def _create_inventory_tables() -> None:
    op.create_table(
        "slot_seats",
        sa.Column("slot_id", sa.Text, primary_key=True),
        sa.Column("clinic_id", sa.Text, nullable=False, index=True),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("seats_committed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("seats_held", sa.Integer, nullable=False, server_default="0"),
        sa.CheckConstraint(
            "seats_committed >= 0 AND seats_held >= 0 "
            "AND seats_committed + seats_held <= capacity",
            name="seats_never_oversold",
        ),
        schema="inventory",
    )
    op.create_table(
        "dose_stock",
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("doses", sa.Integer, nullable=False),
        sa.Column("doses_committed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("doses_held", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("clinic_id", "vaccine"),
        sa.CheckConstraint(
            "doses_committed >= 0 AND doses_held >= 0 "
            "AND doses_committed + doses_held <= doses",
            name="doses_never_oversold",
        ),
        schema="inventory",
    )
    op.create_table(
        "holds",
        sa.Column("hold_id", sa.Text, primary_key=True),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("slot_id", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("store", sa.Text, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        schema="inventory",
    )
    op.create_index(
        "holds_live_on_database",
        "holds",
        ["clinic_id", "expires_at"],
        schema="inventory",
        postgresql_where=sa.text("state = 'HELD'"),
    )


def _create_appointment_tables() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("citizen_id", sa.Text, nullable=False),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("slot_id", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("dose_number", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("reserve_request_id", sa.Text, nullable=False, unique=True),
        sa.Column("hold_expires_at", TS, nullable=False),
        sa.Column("slot_start", TS, nullable=False),
        sa.Column("slot_end", TS, nullable=False),
        sa.Column(
            "confirm_requested", sa.Boolean, nullable=False, server_default="false"
        ),
        sa.Column(
            "release_pending", sa.Boolean, nullable=False, server_default="false"
        ),
        sa.Column("end_reason", sa.Text, nullable=False, server_default=""),
        sa.Column("create_time", TS, nullable=False),
        sa.Column("update_time", TS, nullable=False),
        schema="appointment",
    )
    op.create_index(
        "appointments_by_citizen",
        "appointments",
        ["citizen_id", "create_time"],
        schema="appointment",
    )
    op.create_index(
        "one_active_appointment_per_citizen_and_dose",
        "appointments",
        ["citizen_id", "dose_number"],
        unique=True,
        schema="appointment",
        postgresql_where=sa.text("state IN ('PENDING', 'CONFIRMED')"),
    )
    op.create_index(
        "appointments_needing_repair",
        "appointments",
        ["hold_expires_at"],
        schema="appointment",
        postgresql_where=sa.text("state = 'PENDING' OR release_pending"),
    )


def downgrade() -> None:
    for schema in ("appointment", "inventory", "clinic"):
        op.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
