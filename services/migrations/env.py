"""Alembic environment: one history for every service's schema."""

from alembic import context
from sqlalchemy import create_engine, pool

from services.appointment.tables import metadata as appointment_metadata
from services.audit.tables import metadata as audit_metadata
from services.auth.tables import metadata as auth_metadata
from services.clinic.tables import metadata as clinic_metadata
from services.eligibility.tables import metadata as eligibility_metadata
from services.inventory.tables import metadata as inventory_metadata
from services.notification.tables import metadata as notification_metadata
from services.patient.tables import metadata as patient_metadata

target_metadata = [
    clinic_metadata,
    inventory_metadata,
    appointment_metadata,
    auth_metadata,
    eligibility_metadata,
    patient_metadata,
    audit_metadata,
    notification_metadata,
]

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
