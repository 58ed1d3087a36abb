"""Webhook values: event types, endpoints, events, deliveries and their attempts (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from seedance_gateway.domain.tasks import Status

SUCCEEDED = "generation.succeeded"
FAILED = "generation.failed"
PROCESSING = "generation.processing"
CANCELLED = "generation.cancelled"
QUEUED = "generation.queued"  #: only for per-request callbacks that ask for it

#: What an endpoint may subscribe to, and what it gets when it does not say.
EVENT_TYPES = (SUCCEEDED, FAILED, PROCESSING, CANCELLED)
DEFAULT_EVENT_TYPES = (SUCCEEDED, FAILED)

_BY_STATUS = {
    Status.QUEUED: QUEUED,
    Status.RUNNING: PROCESSING,
    Status.SUCCEEDED: SUCCEEDED,
    Status.FAILED: FAILED,
    Status.EXPIRED: FAILED,  # an expired task failed; ``data.status`` says which
    Status.CANCELLED: CANCELLED,
}

#: Where webhook endpoint deliveries take their body from (callbacks use the task's dialect).
ENDPOINT_RENDERER = "webhook"
MAX_ENDPOINTS = 20


def event_type_for(status: Status) -> str:
    """The event a task reaching ``status`` raises."""
    return _BY_STATUS[status]


class DeliveryStatus(enum.StrEnum):
    """Where a delivery is."""

    PENDING = "pending"  #: waiting for its first or next attempt
    SUCCEEDED = "succeeded"  #: the receiver answered 2xx
    FAILED = "failed"  #: given up: schedule exhausted, 410, refused address, oversize
    CANCELLED = "cancelled"  #: its endpoint was deleted or disabled before it went out


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """A subscribed URL and what it wants to hear."""

    id: str
    account_id: str
    url: str
    description: str
    event_types: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def signing_secrets(self, at: datetime) -> tuple[str, ...]:
        """The secrets that sign a delivery made at ``at`` (the old one during its grace)."""
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and at < expires:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened to a task, kept as it was then."""

    id: str
    account_id: str
    type: str
    task_id: str | None
    data: dict[str, Any]  #: the task snapshot (``Task.to_json``)
    test: bool
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One try at a delivery."""

    attempt: int
    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One event on its way to one URL."""

    id: str
    account_id: str
    event_id: str
    event_type: str
    endpoint_id: str | None
    task_id: str | None
    url: str
    renderer: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime
    attempts: tuple[Attempt, ...] = ()
