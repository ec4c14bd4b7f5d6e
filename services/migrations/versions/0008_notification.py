"""Notification: each citizen's preferred language, what the service knows of
appointments, and every delivery with its state.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("preferred_language", sa.Text, nullable=False, server_default="en"),
        schema="auth",
    )
    op.execute("CREATE SCHEMA IF NOT EXISTS notification")
    _create_appointments()
    _create_deliveries()


def _create_appointments() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("person", sa.Text, nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("last_event", sa.Text, nullable=False),
        sa.Column("last_event_time", TS, nullable=False),
        sa.Column("slot", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("dose_number", sa.Integer, nullable=False),
        sa.Column("slot_start", TS),
        sa.Column("reminder_event_id", sa.Text),
        sa.Column("remind_at", TS),
        sa.Column("reminder_claimed_until", TS),
        schema="notification",
    )
    op.create_index(
        "reminders_owed",
        "appointments",
        ["remind_at"],
        schema="notification",
        postgresql_where=sa.text("remind_at IS NOT NULL"),
    )


def _create_deliveries() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("appointment_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("masked_destination", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("claimed_until", TS),
        sa.Column("create_time", TS, nullable=False),
        sa.Column("update_time", TS, nullable=False),
        sa.Column("send_time", TS),
        sa.Column("dead_letter_time", TS),
        sa.UniqueConstraint(
            "event_id",
            "template",
            "channel",
            name="one_delivery_per_event_and_channel",
        ),
        sa.CheckConstraint(
            "state IN ('QUEUED', 'SENT', 'FAILED', 'DEAD')",
            name="delivery_state_known",
        ),
        sa.CheckConstraint(
            "channel IN ('EMAIL', 'SMS', 'PUSH')", name="delivery_channel_known"
        ),
        schema="notification",
    )
    op.create_index(
        "deliveries_by_appointment",
        "deliveries",
        ["appointment_id", "seq"],
        schema="notification",
    )


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS notification CASCADE")
    op.drop_column("accounts", "preferred_language", schema="auth")
