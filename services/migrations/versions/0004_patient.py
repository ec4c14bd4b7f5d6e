"""Patient: health records and vaccination histories.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS patient")
    _create_patients()
    _create_update_requests()
    _create_vaccinations()


def _create_patients() -> None:
    op.create_table(
        "patients",
        sa.Column("person_key", sa.Text, primary_key=True),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("allergies", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("contraindications", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("guardian_consent", sa.Boolean, nullable=False),
        sa.Column("update_time", TS, nullable=False),
        sa.Column("create_time", TS, nullable=False),
        schema="patient",
    )


def _create_update_requests() -> None:
    op.create_table(
        "update_requests",
        sa.Column(
            "person_key",
            sa.Text,
            sa.ForeignKey("patient.patients.person_key"),
            primary_key=True,
        ),
        sa.Column("request_id", sa.Text, primary_key=True),
        sa.Column("create_time", TS, nullable=False),
        schema="patient",
    )


def _create_vaccinations() -> None:
    op.create_table(
        "vaccinations",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column(
            "person_key",
            sa.Text,
            sa.ForeignKey("patient.patients.person_key"),
            nullable=False,
        ),
        sa.Column("vaccine", sa.Text, nullable=False),
        sa.Column("dose_number", sa.Integer, nullable=False),
        sa.Column("given_date", sa.Date, nullable=False),
        sa.Column("clinic_id", sa.Text, nullable=False),
        sa.Column("batch", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False, unique=True),
        sa.Column("create_time", TS, nullable=False),
        sa.UniqueConstraint(
            "person_key", "vaccine", "dose_number", name="one_record_per_dose"
        ),
        sa.CheckConstraint("dose_number BETWEEN 1 AND 10", name="dose_number_in_range"),
        schema="patient",
    )


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS patient CASCADE")
