"""Row <-> domain value mapping, and the small records the store hands out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from seedance_gateway.domain import scopes
from seedance_gateway.domain.tasks import Status, Task, TaskError, TaskResult


@dataclass(frozen=True, kw_only=True)
class ApiKey:
    """A stored API key (never its plaintext)."""

    id: str
    account_id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    scopes: frozenset[str] = frozenset(scopes.ALL)
    last_used_at: datetime | None = None
    expires_at: datetime | None = None  #: refused from then on (``api_key_expired``)


@dataclass(frozen=True, kw_only=True)
class Account:
    """A stored account (never its password hash)."""

    id: str
    name: str
    email: str | None
    role: str  #: ``user`` or ``admin``
    balance: int
    created_at: datetime


def account_from_row(row: RowMapping) -> Account:
    """The ``Account`` for an ``accounts`` row."""
    return Account(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        role=row["role"],
        balance=int(row["balance"]),
        created_at=row["created_at"],
    )


@dataclass(frozen=True, kw_only=True)
class Job:
    """A claimed unit of work; ``(id, lease_owner, attempt)`` fences every write it makes."""

    id: int
    kind: str
    task_id: str | None
    payload: dict[str, Any] | None
    attempt: int
    max_attempts: int
    lease_owner: str


def task_from_row(row: RowMapping | Mapping[str, Any]) -> Task:
    """The domain ``Task`` for a ``tasks`` row."""
    result = row["result"]
    error = row["error"]
    return Task(
        id=row["id"],
        account_id=row["account_id"],
        api_key_id=row["api_key_id"],
        dialect=row["dialect"],
        model=row["model"],
        model_alias=row["model_alias"],
        request=dict(row["request"]),
        status=Status(row["status"]),
        progress=row["progress"],
        quote=row["quote"],
        reserved_credits=row["reserved_credits"],
        final_credits=row["final_credits"],
        result=TaskResult(**result) if result else None,
        error=TaskError(**error) if error else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        expires_at=row["expires_at"],
        client_request_id=row["client_request_id"],
        request_id=row["request_id"],
        wire_request=row["wire_request"],
        blobs_collected_at=row["blobs_collected_at"],
    )


def key_from_row(row: RowMapping | Mapping[str, Any]) -> ApiKey:
    """The ``ApiKey`` for an ``api_keys`` row."""
    return ApiKey(
        id=row["id"],
        account_id=row["account_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        scopes=scopes.decode(row["scopes"]),
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
    )


def job_from_row(row: RowMapping | Mapping[str, Any]) -> Job:
    """The ``Job`` for a claimed ``jobs`` row."""
    return Job(
        id=row["id"],
        kind=row["kind"],
        task_id=row["task_id"],
        payload=row["payload"],
        attempt=row["attempt"],
        max_attempts=row["max_attempts"],
        lease_owner=row["lease_owner"],
    )
