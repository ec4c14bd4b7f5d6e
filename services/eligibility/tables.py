"""The eligibility service's tables, in the ``eligibility`` schema."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)

from services.common.outbox import outbox_table

metadata = MetaData(schema="eligibility")

# Every rule set ever put in force; the one recorded last is in force.
rule_sets = Table(
    "rule_sets",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("version", Text, nullable=False, unique=True),
    Column("rules_json", Text, nullable=False),
    # 'file' (shipped with a deploy) or 'admin' (ReplaceRuleSet).
    Column("source", Text, nullable=False),
    # The ReplaceRuleSet call that recorded it; empty for a file.
    Column("request_id", Text, nullable=False, server_default=""),
    Column("create_time", DateTime(timezone=True), nullable=False),
    CheckConstraint("source IN ('file', 'admin')", name="rule_set_source_known"),
)

review_cases = Table(
    "review_cases",
    metadata,
    Column("id", Text, primary_key=True),
    # Gives cases opened in the same instant a stable, oldest-first order.
    Column("seq", BigInteger, Identity(), nullable=False, unique=True),
    Column("appointment_id", Text, nullable=False, unique=True),
    Column("person_key", Text, nullable=False),
    Column("vaccine", Text, nullable=False),
    Column("dose_number", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("rules_version", Text, nullable=False),
    # 'OPEN', 'APPROVED' or 'REJECTED'.
    Column("state", Text, nullable=False),
    # Who decided, `staffAccounts/{id}`; empty while open.
    Column("reviewer", Text, nullable=False, server_default=""),
    Column("note", Text, nullable=False, server_default=""),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("decide_time", DateTime(timezone=True)),
    # Whether the appointment service has carried the decision out.
    Column("decision_applied", Boolean, nullable=False, server_default="false"),
    # Why the appointment service refused the decision; set, it is not retried.
    Column("apply_error", Text, nullable=False, server_default=""),
    CheckConstraint(
        "state IN ('OPEN', 'APPROVED', 'REJECTED')", name="review_state_known"
    ),
    Index("review_cases_by_state", "state", "create_time", "seq"),
    Index(
        "review_decisions_unapplied",
        "decide_time",
        postgresql_where=text(
            "state <> 'OPEN' AND NOT decision_applied AND apply_error = ''"
        ),
    ),
)

# Events of rule-set changes, written in the same transaction.
outbox = outbox_table(metadata)
