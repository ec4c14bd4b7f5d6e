"""Vaccination day: the QR signing keys, what an appointment needs to issue
and check its code and to record its dose, the scanner replies kept per
nonce, and the name staff see on a person's record.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "patients",
        sa.Column("display_name", sa.Text, nullable=False, server_default=""),
        schema="patient",
    )
    for column in (
        sa.Column("confirm_time", TS),
        sa.Column("qr_key_id", sa.Text),
        sa.Column("qr_generation", sa.Integer, nullable=False, server_default="0"),
        sa.Column("administer_time", TS),
        sa.Column("administer_batch", sa.Text),
        sa.Column("vaccinator", sa.Text),
        sa.Column("administer_device", sa.Text),
        sa.Column(
            "history_pending", sa.Boolean, nullable=False, server_default="false"
        ),
    ):
        op.add_column("appointments", column, schema="appointment")
    op.create_index(
        "appointments_by_clinic_day",
        "appointments",
        ["clinic_id", "slot_start"],
        postgresql_where=sa.text("confirm_time IS NOT NULL"),
        schema="appointment",
    )
    op.create_index(
        "appointments_owing_history",
        "appointments",
        ["id"],
        postgresql_where=sa.text("history_pending"),
        schema="appointment",
    )
    op.create_table(
        "qr_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("private_key", sa.LargeBinary, nullable=False),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("create_time", TS, nullable=False),
        sa.Column("retire_time", TS),
        schema="appointment",
    )
    op.create_table(
        "scanner_replies",
        sa.Column("device_id", sa.Text, primary_key=True),
        sa.Column("nonce", sa.Text, primary_key=True),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("reply", sa.LargeBinary, nullable=False),
        sa.Column("create_time", TS, nullable=False),
        schema="appointment",
    )


def downgrade() -> None:
    op.drop_table("scanner_replies", schema="appointment")
    op.drop_table("qr_keys", schema="appointment")
    op.drop_index("appointments_owing_history", "appointments", schema="appointment")
    op.drop_index("appointments_by_clinic_day", "appointments", schema="appointment")
    for name in (
        "history_pending",
        "administer_device",
        "vaccinator",
        "administer_batch",
        "administer_time",
        "qr_generation",
        "qr_key_id",
        "confirm_time",
    ):
        op.drop_column("appointments", name, schema="appointment")
    op.drop_column("patients", "display_name", schema="patient")
