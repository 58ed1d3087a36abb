"""Logging of every process (``seedance serve`` and ``seedance worker``): one configuration,
text or JSON lines, and the ids each line carries.

The ids live in one context variable: the request middleware opens a request's context (its
``x-request-id``), the service binds the account and the task it works on, and the worker binds
the task of the job it runs. Each asyncio task has its own copy, so concurrent requests and jobs
never see each other's ids.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Loggers that uvicorn configures for itself unless told not to; they follow ours instead.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@dataclass(frozen=True)
class Context:
    """The ids a log line carries (None: not known here)."""

    request_id: str | None = None
    task_id: str | None = None
    account_id: str | None = None


_EMPTY = Context()
_context: ContextVar[Context] = ContextVar("seedance_log_context", default=_EMPTY)


def current() -> Context:
    """The ids of the request or job running now."""
    return _context.get()


def open_request(request_id: str) -> Token[Context]:
    """Starts a request's context (no task or account yet); ``close`` ends it."""
    return _context.set(Context(request_id=request_id))


def open_job(task_id: str | None) -> Token[Context]:
    """Starts a job's context (the task it runs, if any); ``close`` ends it."""
    return _context.set(Context(task_id=task_id))


def close(token: Token[Context]) -> None:
    """Ends the context ``open_request`` or ``open_job`` started."""
    _context.reset(token)


def bind(*, task_id: str | None = None, account_id: str | None = None) -> None:
    """Adds the task or account the current request or job works on (None leaves it as is)."""
    now = _context.get()
    task_id, account_id = task_id or now.task_id, account_id or now.account_id
    if task_id != now.task_id or account_id != now.account_id:
        _context.set(Context(now.request_id, task_id, account_id))


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the ids, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids = current()
        for name in ("request_id", "task_id", "account_id"):
            value = getattr(ids, name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The classic ``time LEVEL logger: message`` line, the ids appended when there are any."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        ids = current()
        if ids == _EMPTY:
            return text
        pairs = [f"{k}={v}" for k, v in vars(ids).items() if v is not None]
        return f"{text} [{' '.join(pairs)}]"


def configure(log_format: str) -> None:
    """Sends every log record (uvicorn's and warnings too) to stderr in ``log_format``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in UVICORN_LOGGERS:  # whatever configured them before (uvicorn's own dictConfig)
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.disabled = False
        logger.setLevel(logging.NOTSET)
    logging.captureWarnings(True)
