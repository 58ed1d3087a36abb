"""Typed errors: every one carries the server's status, code, message and request id."""

from __future__ import annotations

from typing import Any


class SeedanceError(Exception):
    """An error answered by the server (or the connection to it)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.message}" if self.code else self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}")
            parts[-1] += f", request {self.request_id})" if self.request_id else ")"
        return " ".join(parts)


class ConnectionFailed(SeedanceError):
    """The server could not be reached, or the connection broke."""


class InvalidRequest(SeedanceError):
    """400 or 422: the request names the field to fix."""


class AuthenticationFailed(SeedanceError):
    """401 or 403: the key is missing, wrong, revoked or lacks the scope."""


class InsufficientCredits(SeedanceError):
    """402: the account's balance does not cover the quote."""


class NotFound(SeedanceError):
    """404: no such task, file or model (for this key)."""


class Conflict(SeedanceError):
    """409: the task is in a state that does not allow this, or an idempotency clash."""


class RateLimited(SeedanceError):
    """429: too many requests or tasks in flight; ``retry_after`` says when to try again."""


class ServerError(SeedanceError):
    """5xx: the server or its upstream failed."""


class TaskFailed(SeedanceError):
    """A waited-for task ended failed, cancelled or expired; ``task`` is its last state."""

    def __init__(self, task: Any) -> None:
        error = task.error or {}
        message = error.get("message") or f"task {task.id} ended {task.status}"
        super().__init__(message, code=error.get("code") or task.status)
        self.task = task


class WaitTimeout(SeedanceError):
    """``wait`` gave up before the task ended (the task goes on)."""


_BY_STATUS: dict[int, type[SeedanceError]] = {
    400: InvalidRequest,
    401: AuthenticationFailed,
    402: InsufficientCredits,
    403: AuthenticationFailed,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
}


def error_for(
    status: int, body: Any, request_id: str | None, retry_after: float | None
) -> SeedanceError:
    """The typed error for an error response (any dialect's envelope: ``error.code/message``)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message") or (body.get("message") if isinstance(body, dict) else None)
        request_id = request_id or error.get("requestId") or error.get("request_id")
    else:
        code, message = None, None
    if not message and isinstance(body, dict):
        message = body.get("message") or body.get("detail")
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else SeedanceError)
    return kind(
        str(message or f"HTTP {status}"),
        status=status,
        code=str(code) if code is not None else None,
        request_id=request_id,
        retry_after=retry_after,
        body=body,
    )
