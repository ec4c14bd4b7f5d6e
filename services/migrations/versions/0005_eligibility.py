"""Eligibility: the rule sets put in force and the manual review queue.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS eligibility")
    _create_rule_sets()
    _create_review_cases()


def _create_rule_sets() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("version", sa.Text, nullable=False, unique=True),
        sa.Column("rules_json", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False, server_default=""),
        sa.Column("create_time", TS, nullable=False),
        sa.CheckConstraint("source IN ('file', 'admin')", name="rule_set_source_known"),
        schema="eligibility",
    )


def _create_review_cases() -> None:
    op.create_table(
        "review_cases",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("appointment_id", sa.Text, nullable=False, unique=True),
        sa.Column("person_key", sa.Text, nullable=False),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("dose_number", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("rules_version", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("reviewer", sa.Text, nullable=False, server_default=""),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("create_time", TS, nullable=False),
        sa.Column("decide_time", TS),
        sa.Column(
            "decision_applied", sa.Boolean, nullable=False, server_default="false"
        ),
        sa.Column("apply_error", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint(
            "state IN ('OPEN', 'APPROVED', 'REJECTED')", name="review_state_known"
        ),
        schema="eligibility",
    )
    op.create_index(
        "review_cases_by_state",
        "review_cases",
        ["state", "create_time", "seq"],
        schema="eligibility",
    )
    op.create_index(
        "review_decisions_unapplied",
        "review_cases",
        ["decide_time"],
        schema="eligibility",
        postgresql_where=sa.text(
            "state <> 'OPEN' AND NOT decision_applied AND apply_error = ''"
        ),
    )


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS eligibility CASCADE")
