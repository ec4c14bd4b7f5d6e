# One image per vaxbook process; pick it with --target: migrate, clinic,
# inventory, appointment, auth, patient, eligibility, audit, notification,
# insurance-standin or sms-standin.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --home-dir /home/vaxbook vaxbook
WORKDIR /app

COPY pyproject.toml README.md ./
COPY generated/ generated/
COPY services/ services/
COPY gateway/ gateway/
RUN pip install .
USER vaxbook

FROM base AS migrate
CMD ["vaxbook", "migrate"]

FROM base AS clinic
EXPOSE 50051 9101
CMD ["python", "-m", "services.clinic"]

FROM base AS inventory
EXPOSE 50052 9102
CMD ["python", "-m", "services.inventory"]

FROM base AS appointment
EXPOSE 50053 9103
CMD ["python", "-m", "services.appointment"]

FROM base AS auth
EXPOSE 50054 9104
CMD ["python", "-m", "services.auth"]

FROM base AS patient
EXPOSE 50055 9105
CMD ["python", "-m", "services.patient"]

FROM base AS eligibility
EXPOSE 50056 9106
CMD ["python", "-m", "services.eligibility"]

FROM base AS insurance-standin
EXPOSE 8090
CMD ["python", "-m", "services.insurance_standin", "--host", "0.0.0.0"]

FROM base AS audit
EXPOSE 50057 9107
CMD ["python", "-m", "services.audit"]

FROM base AS notification
EXPOSE 50058 9108
CMD ["python", "-m", "services.notification"]

FROM base AS sms-standin
EXPOSE 8091
CMD ["python", "-m", "services.sms_standin", "--host", "0.0.0.0"]
