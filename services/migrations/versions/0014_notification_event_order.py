"""Notification: the stream sequence of each appointment's latest event, which
orders events that happened at the same instant.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "appointments",
        sa.Column("last_event_seq", sa.BigInteger, nullable=False, server_default="0"),
        schema="notification",
    )


def downgrade() -> None:
    op.drop_column("appointments", "last_event_seq", schema="notification")
