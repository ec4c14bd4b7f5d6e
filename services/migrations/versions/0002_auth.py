"""Auth: accounts, sign-in challenges, dependants and signing keys.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS auth")
    _create_accounts()
    _create_challenges()
    _create_dependants()
    _create_signing_keys()


def _create_accounts() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("national_id_hash", sa.Text, nullable=False),
        sa.Column("contact_kind", sa.Text, nullable=False),
        sa.Column("contact", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("clinics", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("request_id", sa.Text, nullable=False, unique=True),
        sa.Column("create_time", TS, nullable=False),
        sa.UniqueConstraint(
            "national_id_hash", "kind", name="one_account_per_id_and_kind"
        ),
        sa.CheckConstraint("kind IN ('citizen', 'staff')", name="account_kind_known"),
        sa.CheckConstraint(
            "contact_kind IN ('phone', 'email')", name="contact_kind_known"
        ),
        schema="auth",
    )


def _create_challenges() -> None:
    op.create_table(
        "sign_in_challenges",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column(
            "account_id", sa.Text, sa.ForeignKey("auth.accounts.id"), nullable=False
        ),
        sa.Column("national_id_hash", sa.Text, nullable=False),
        sa.Column("code_hash", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False, unique=True),
        sa.Column("completed_request_id", sa.Text),
        sa.Column("create_time", TS, nullable=False),
        sa.Column("expire_time", TS, nullable=False),
        schema="auth",
    )
    op.create_index(
        "challenges_by_id_and_time",
        "sign_in_challenges",
        ["national_id_hash", "create_time"],
        schema="auth",
    )


def _create_dependants() -> None:
    op.create_table(
        "dependants",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column(
            "owner_id", sa.Text, sa.ForeignKey("auth.accounts.id"), nullable=False
        ),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("relationship", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False, unique=True),
        sa.Column("create_time", TS, nullable=False),
        schema="auth",
    )
    op.create_index(
        "dependants_by_owner",
        "dependants",
        ["owner_id", "create_time"],
        schema="auth",
    )


def _create_signing_keys() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("private_key", sa.LargeBinary, nullable=False),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("create_time", TS, nullable=False),
        sa.Column("retire_time", TS),
        schema="auth",
    )


def downgrade() -> None:
    op.execute("DROP SCHEMA IF EXISTS auth CASCADE")
