"""Appointment eligibility: the decision, its reasons and the retry queue.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = [
    # Appointments made before eligibility existed were never checked; they
    # read as passed.
    sa.Column("eligibility", sa.Text, nullable=False, server_default="PASSED"),
    sa.Column(
        "reasons",
        postgresql.JSONB,
        nullable=False,
        server_default=sa.text("'[]'::jsonb"),
    ),
    sa.Column("rules_version", sa.Text, nullable=False, server_default=""),
    sa.Column("review_required", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("review_opened", sa.Boolean, nullable=False, server_default="false"),
    sa.Column("eligibility_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_check_at", sa.DateTime(timezone=True)),
]


def upgrade() -> None:
    for column in _COLUMNS:
        op.add_column("appointments", column, schema="appointment")
    op.create_index(
        "appointments_awaiting_eligibility",
        "appointments",
        ["next_check_at"],
        schema="appointment",
        postgresql_where=sa.text(
            "state = 'PENDING' AND eligibility IN ('CHECKING', 'RETRYING')"
        ),
    )
    op.create_index(
        "appointments_owing_review_case",
        "appointments",
        ["id"],
        schema="appointment",
        postgresql_where=sa.text("review_required AND NOT review_opened"),
    )


def downgrade() -> None:
    op.drop_index("appointments_owing_review_case", schema="appointment")
    op.drop_index("appointments_awaiting_eligibility", schema="appointment")
    for column in reversed(_COLUMNS):
        op.drop_column("appointments", column.name, schema="appointment")
