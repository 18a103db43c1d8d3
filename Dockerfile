FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY backend ./backend
COPY tenants_core ./tenants_core
COPY graphql_api ./graphql_api
RUN pip install --no-cache-dir -c constraints.txt .

COPY manage.py schema.graphql ./
COPY scripts ./scripts

RUN useradd --create-home app && mkdir /backups && chown app /backups
USER app
EXPOSE 8000

# Migrate every schema, then serve. Several workers are safe: the GraphQL view is sync and
# each request sets its own schema. `serve` runs uvicorn trusting X-Forwarded-For only from
# TRUSTED_PROXIES (default: none).
CMD ["sh", "-c", "python manage.py migrate_schemas --noinput && exec python manage.py serve --host 0.0.0.0 --port ${PORT:-8000} --workers ${WEB_CONCURRENCY:-2}"]
