# One image per vaxbook process; pick it with --target:
# migrate, clinic, inventory, appointment or auth.
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
