"""What a dialect hands the service for a create: the request parsed into canonical fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from seedance_gateway import references as refs
from seedance_gateway.catalog import ModelSpec


@dataclass(frozen=True, kw_only=True)
class SubmitCommand:
    """A create request, parsed by a dialect into canonical fields."""

    dialect: str
    spec: ModelSpec
    model_alias: str
    prompt: str
    fields: Mapping[str, Any]
    names: Mapping[str, str]
    references: tuple[refs.IncomingReference, ...] = ()
    idempotency_key: str | None = None
    fingerprint: str = ""
    client_request_id: str | None = None
    callback_url: str | None = None
    callback_statuses: tuple[str, ...] = ()  #: which status changes the dialect calls back on
    expires_after: int | None = None
    request_id: str | None = None  #: the create request's ``x-request-id``
    wire_request: dict[str, Any] | None = None  #: the body as sent, for dialects that echo it
    draft_task_id: str | None = None  #: the draft this final is made from (any id spelling)
