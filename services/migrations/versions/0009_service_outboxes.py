"""Clinic and inventory outboxes: their events written with each change.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SCHEMAS = ("clinic", "inventory")


def upgrade() -> None:
    for schema in SCHEMAS:
        op.create_table(
            "outbox",
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
            sa.Column("event_id", sa.Text, nullable=False, unique=True),
            sa.Column("subject", sa.Text, nullable=False),
            sa.Column("payload", sa.LargeBinary, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("sent_at", sa.DateTime(timezone=True)),
            schema=schema,
        )
        op.create_index(
            "outbox_unsent",
            "outbox",
            ["id"],
            schema=schema,
            postgresql_where=sa.text("sent_at IS NULL"),
        )


def downgrade() -> None:
    for schema in SCHEMAS:
        op.drop_table("outbox", schema=schema)
