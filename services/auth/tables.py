"""The auth service's tables, in the ``auth`` schema.

No column holds a raw national ID or a raw one-time code: both are kept as
keyed HMAC-SHA256 hashes.
"""

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(schema="auth")

accounts = Table(
    "accounts",
    metadata,
    Column("id", Text, primary_key=True),
    # 'citizen' or 'staff'; one person may hold one account of each kind.
    Column("kind", Text, nullable=False),
    Column("national_id_hash", Text, nullable=False),
    Column("contact_kind", Text, nullable=False),
    Column("contact", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("clinics", ARRAY(Text), nullable=False),
    Column("request_id", Text, nullable=False, unique=True),
    Column("create_time", DateTime(timezone=True), nullable=False),
    # BCP 47 code of the language notifications are written in.
    Column("preferred_language", Text, nullable=False, server_default="en"),
    UniqueConstraint("national_id_hash", "kind", name="one_account_per_id_and_kind"),
    CheckConstraint("kind IN ('citizen', 'staff')", name="account_kind_known"),
    CheckConstraint("contact_kind IN ('phone', 'email')", name="contact_kind_known"),
)

challenges = Table(
    "sign_in_challenges",
    metadata,
    Column("id", Text, primary_key=True),
    Column("account_id", Text, ForeignKey("auth.accounts.id"), nullable=False),
    # Copied from the account so the hourly limit counts per national ID.
    Column("national_id_hash", Text, nullable=False),
    Column("code_hash", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # 'open', 'completed' or 'spent' (attempts used up).
    Column("state", Text, nullable=False),
    Column("request_id", Text, nullable=False, unique=True),
    Column("completed_request_id", Text),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("expire_time", DateTime(timezone=True), nullable=False),
    Index("challenges_by_id_and_time", "national_id_hash", "create_time"),
)

dependants = Table(
    "dependants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("owner_id", Text, ForeignKey("auth.accounts.id"), nullable=False),
    Column("display_name", Text, nullable=False),
    Column("relationship", Text, nullable=False),
    Column("request_id", Text, nullable=False, unique=True),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Index("dependants_by_owner", "owner_id", "create_time"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    # Raw 32-byte Ed25519 keys.
    Column("private_key", LargeBinary, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("retire_time", DateTime(timezone=True)),
)
