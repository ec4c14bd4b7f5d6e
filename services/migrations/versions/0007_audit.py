"""Audit: the append-only, hash-chained records, and the patient outbox that
carries views of health records to them.

A trigger refuses UPDATE, DELETE and TRUNCATE on the audit records for every
role, the owner and superusers included; only disabling the trigger, which
takes the table's owner, lets a record change.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

_REFUSE_CHANGE = """
CREATE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only: % refused on %.%',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS audit")
    _create_records()
    _refuse_changes()
    _create_patient_outbox()


def _create_records() -> None:
    op.create_table(
        "records",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("occur_time", TS, nullable=False),
        sa.Column("record_time", TS, nullable=False),
        sa.Column("appointment", sa.Text, nullable=False),
        sa.Column("citizen", sa.Text, nullable=False),
        sa.Column("clinic", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("event", sa.LargeBinary, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary, nullable=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
        sa.CheckConstraint("seq >= 1", name="seq_positive"),
        sa.CheckConstraint("octet_length(prev_hash) = 32", name="prev_hash_size"),
        sa.CheckConstraint("octet_length(hash) = 32", name="hash_size"),
        schema="audit",
    )
    for name in ("appointment", "citizen", "clinic", "actor"):
        op.create_index(
            f"records_by_{name}",
            "records",
            [name, "seq"],
            schema="audit",
            postgresql_where=sa.text(f"{name} <> ''"),
        )
    op.create_index(
        "records_by_event_type", "records", ["event_type", "seq"], schema="audit"
    )
    op.create_index("records_by_occur_time", "records", ["occur_time"], schema="audit")


def _refuse_changes() -> None:
    op.execute(_REFUSE_CHANGE)
    op.execute(
        "CREATE TRIGGER records_refuse_update_delete "
        "BEFORE UPDATE OR DELETE ON audit.records "
        "FOR EACH ROW EXECUTE FUNCTION audit.refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER records_refuse_truncate "
        "BEFORE TRUNCATE ON audit.records "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change()"
    )


def _create_patient_outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Text, nullable=False, unique=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        schema="patient",
    )
    op.create_index(
        "outbox_unsent",
        "outbox",
        ["id"],
        schema="patient",
        postgresql_where=sa.text("sent_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("outbox", schema="patient")
    op.execute("DROP SCHEMA IF EXISTS audit CASCADE")
