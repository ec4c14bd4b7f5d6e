"""Inventory: the vaccine batches each clinic received, by the number printed
on them, and a record of every dose given from one. A hold whose dose was
given is USED; its state column needs no change.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("expire_date", sa.Date, nullable=False),
        sa.Column("doses_received", sa.Integer, nullable=False),
        sa.Column("doses_used", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.Text, nullable=False, server_default="ACTIVE"),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("receive_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expire_request_id", sa.Text),
        sa.Column("expire_time", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("clinic_id", "batch_id"),
        sa.CheckConstraint(
            "doses_received > 0 AND doses_used >= 0 AND doses_used <= doses_received",
            name="batch_never_overused",
        ),
        schema="inventory",
    )
    op.create_index(
        "batches_by_expiry",
        "batches",
        ["clinic_id", "expire_date", "batch_id"],
        schema="inventory",
    )
    op.create_index(
        "batches_active",
        "batches",
        ["expire_date"],
        schema="inventory",
        postgresql_where=sa.text("state = 'ACTIVE'"),
    )
    op.create_index(
        "batches_by_expire_request",
        "batches",
        ["expire_request_id"],
        schema="inventory",
        postgresql_where=sa.text("expire_request_id IS NOT NULL"),
    )
    op.create_table(
        "dose_uses",
        sa.Column("appointment_id", sa.Text, primary_key=True),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("hold_id", sa.Text, nullable=False),
        sa.Column("administer_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id", "batch_id"],
            ["inventory.batches.clinic_id", "inventory.batches.batch_id"],
        ),
        schema="inventory",
    )
    op.create_index(
        "dose_uses_by_batch", "dose_uses", ["clinic_id", "batch_id"], schema="inventory"
    )


def downgrade() -> None:
    op.drop_table("dose_uses", schema="inventory")
    op.drop_table("batches", schema="inventory")
