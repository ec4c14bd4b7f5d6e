"""Audit: how far along the event stream the chain has filed, so that events
are filed in stream order even when a delivery goes missing.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_positions",
        sa.Column("stream", sa.Text, primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.CheckConstraint("last_seq >= 0", name="last_seq_not_negative"),
        schema="audit",
    )


def downgrade() -> None:
    op.drop_table("stream_positions", schema="audit")
