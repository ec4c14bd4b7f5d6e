"""Clinic: every dose stock adjustment staff make, kept until the appointments
it leaves without a dose are cancelled, so that a job can finish what a
failed call left.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dose_adjustments",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("request_id", sa.Text, nullable=False, unique=True),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled", sa.Boolean, nullable=False, server_default="false"),
        schema="clinic",
    )
    op.create_index(
        "dose_adjustments_owed",
        "dose_adjustments",
        ["seq"],
        postgresql_where=sa.text("NOT settled"),
        schema="clinic",
    )
    op.create_index(
        "dose_adjustments_by_stock",
        "dose_adjustments",
        ["clinic_id", "vaccine", "seq"],
        schema="clinic",
    )


def downgrade() -> None:
    op.drop_table("dose_adjustments", schema="clinic")
