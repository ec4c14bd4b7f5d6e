"""The patient service's tables, in the ``patient`` schema.

A person is stored by their compact key: the citizen id, or the citizen id and
the dependant id joined by ``/`` (see ``services.common.names.Person``).
"""

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

from services.common.outbox import outbox_table

metadata = MetaData(schema="patient")

patients = Table(
    "patients",
    metadata,
    Column("person_key", Text, primary_key=True),
    Column("birth_date", Date, nullable=False),
    Column("region", Text, nullable=False),
    Column("allergies", ARRAY(Text), nullable=False),
    Column("contraindications", ARRAY(Text), nullable=False),
    Column("guardian_consent", Boolean, nullable=False),
    Column("display_name", Text, nullable=False, server_default=""),
    Column("update_time", DateTime(timezone=True), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
)

# The updates applied to each record, so a retried update is not applied
# again over a later one.
update_requests = Table(
    "update_requests",
    metadata,
    Column(
        "person_key",
        Text,
        ForeignKey("patient.patients.person_key"),
        primary_key=True,
    ),
    Column("request_id", Text, primary_key=True),
    Column("create_time", DateTime(timezone=True), nullable=False),
)

vaccinations = Table(
    "vaccinations",
    metadata,
    Column("id", Text, primary_key=True),
    Column(
        "person_key",
        Text,
        ForeignKey("patient.patients.person_key"),
        nullable=False,
    ),
    Column("vaccine", Text, nullable=False),
    Column("dose_number", Integer, nullable=False),
    Column("given_date", Date, nullable=False),
    # Empty for a dose given abroad or before the system existed.
    Column("clinic_id", Text, nullable=False),
    Column("batch", Text, nullable=False),
    Column("request_id", Text, nullable=False, unique=True),
    Column("create_time", DateTime(timezone=True), nullable=False),
    UniqueConstraint(
        "person_key", "vaccine", "dose_number", name="one_record_per_dose"
    ),
    CheckConstraint("dose_number BETWEEN 1 AND 10", name="dose_number_in_range"),
)

# Views of records by people, waiting to be published for the audit trail.
outbox = outbox_table(metadata)
