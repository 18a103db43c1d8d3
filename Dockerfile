# The production image (docs/deploy.md). Reproducible: the base image is an exact Python and
# Debian release (pin its digest too: docs/deploy.md, "A reproducible image"), every package
# comes from requirements.lock with its SHA-256 (pip refuses any other file), and the wheel is
# built by the setuptools that pyproject.toml pins, from that same lock.
ARG PYTHON_IMAGE=python:3.13.9-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
COPY requirements.lock /src/
RUN /venv/bin/pip install --require-hashes --no-deps -r /src/requirements.lock
# Only what the wheel is made of (.dockerignore lets nothing else in): the packages, the
# translations, and the metadata.
COPY pyproject.toml README.md /src/
COPY backend /src/backend
COPY tenants_core /src/tenants_core
COPY graphql_api /src/graphql_api
COPY locale /src/locale
RUN /venv/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels /src \
    && /venv/bin/pip install --no-deps /wheels/*.whl \
    && /venv/bin/pip uninstall --yes setuptools

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:$PATH \
    DATA_DIR=/data BACKUP_DIR=/backups
RUN useradd --create-home --uid 10001 app \
    && mkdir /data /backups && chown app /data /backups
COPY --from=build /venv /venv
WORKDIR /app
COPY manage.py ./
USER app
EXPOSE 8000
# PID 1 is the server itself (no shell): Docker's SIGTERM reaches uvicorn, which stops taking
# connections and lets requests in flight finish (GRACEFUL_SHUTDOWN_SECONDS). Compose adds an
# init (init: true) that reaps the workers' children. Migrations are not run here: the
# one-shot `migrate` service runs them once per deploy (docker-compose.yml).
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0"]
