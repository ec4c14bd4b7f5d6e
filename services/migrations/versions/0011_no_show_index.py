"""Appointment: find confirmed appointments by the end of their slot, for the
no-show sweeper.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "appointments_confirmed_by_slot_end",
        "appointments",
        ["slot_end"],
        schema="appointment",
        postgresql_where=sa.text("state = 'CONFIRMED'"),
    )


def downgrade() -> None:
    op.drop_index("appointments_confirmed_by_slot_end", schema="appointment")
