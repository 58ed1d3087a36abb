"""Tasks: the durable record of one generation, its statuses and their allowed transitions."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any


class Status(enum.StrEnum):
    """Where a task is. Terminal states are final."""

    QUEUED = "queued"  #: accepted, credits held, waiting for a worker
    RUNNING = "running"  #: a worker is producing it
    SUCCEEDED = "succeeded"  #: the result is stored; credits captured
    FAILED = "failed"  #: it could not be produced; credits released
    CANCELLED = "cancelled"  #: cancelled while queued; credits released
    EXPIRED = "expired"  #: not finished before its deadline; credits released

    @property
    def terminal(self) -> bool:
        """True for the final states."""
        return self in TERMINAL


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.EXPIRED})

_ALLOWED = {
    Status.QUEUED: {Status.RUNNING, Status.FAILED, Status.CANCELLED, Status.EXPIRED},
    #: running -> cancelled only where the provider stops mid-run (``local``, between steps)
    Status.RUNNING: {
        Status.QUEUED,
        Status.SUCCEEDED,
        Status.FAILED,
        Status.CANCELLED,
        Status.EXPIRED,
    },
}


def can_transition(current: Status, target: Status) -> bool:
    """Whether ``current -> target`` is a legal step (running -> queued is a retry)."""
    return target in _ALLOWED.get(current, set())


@dataclass(frozen=True, kw_only=True)
class TaskError:
    """Why a task failed: a stable code and a message for people."""

    code: str
    message: str


@dataclass(frozen=True, kw_only=True)
class TaskResult:
    """Blob keys of what a task produced, and what its maker said about it."""

    video_key: str
    last_frame_key: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    revised_prompt: str | None = None  #: the prompt the model actually used (the upstream's)
    tool_usage: dict[str, int] | None = None  #: tool -> times used (``web_search``)


@dataclass(frozen=True, kw_only=True)
class Task:
    """One generation, as stored."""

    id: str
    account_id: str
    api_key_id: str
    dialect: str
    model: str  #: catalog id
    model_alias: str  #: the name the client sent
    request: dict[str, Any]  #: the normalized ``GenerationRequest`` as JSON
    status: Status
    progress: int
    quote: int
    reserved_credits: int
    final_credits: int
    result: TaskResult | None
    error: TaskError | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = None
    client_request_id: str | None = None
    request_id: str | None = None  #: the ``x-request-id`` of the create request
    wire_request: dict[str, Any] | None = None  #: the create body as the client sent it
    blobs_collected_at: datetime | None = None  #: its inputs and results were deleted then

    @property
    def service_tier(self) -> str:
        """``default`` or ``flex``."""
        return str(self.request.get("service_tier", "default"))

    def evolve(self, **changes: Any) -> Task:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready snapshot (webhook events keep the task as it was)."""
        data = asdict(self)
        data["status"] = str(self.status)
        for name in _TIMES:
            value = getattr(self, name)
            data[name] = value.isoformat() if value is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Task:
        """The inverse of ``to_json``."""
        values = dict(data)
        values["status"] = Status(values["status"])
        for name in _TIMES:
            raw = values.get(name)
            values[name] = datetime.fromisoformat(raw) if raw is not None else None
        values["result"] = TaskResult(**values["result"]) if values.get("result") else None
        values["error"] = TaskError(**values["error"]) if values.get("error") else None
        return cls(**values)


_TIMES = (
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "expires_at",
    "blobs_collected_at",
)


CANCELLED_ERROR = TaskError(code="cancelled", message="the task was cancelled before it started")


def end_error(task: Task) -> TaskError | None:
    """Why a task did not succeed: its error, or the cancellation (which records none)."""
    if task.error is None and task.status is Status.CANCELLED:
        return CANCELLED_ERROR
    return task.error
