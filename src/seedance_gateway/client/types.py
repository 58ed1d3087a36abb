"""What the API returns, as frozen dataclasses read from its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"succeeded", "failed", "cancelled", "expired"})


@dataclass(frozen=True)
class Generation:
    """A generation task (``/api/v1/generations``)."""

    id: str
    status: str  #: queued | processing | succeeded | failed | cancelled | expired
    model: str
    progress: int = 0
    reserved_credits: int = 0
    final_credits: int = 0
    created_at: str = ""
    updated_at: str = ""
    video_url: str | None = None
    last_frame_url: str | None = None
    error: dict[str, str] | None = None
    client_request_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def credits(self) -> int:
        """The credits charged, or held while the task runs."""
        return self.final_credits or self.reserved_credits

    @property
    def done(self) -> bool:
        """Whether the task has ended (whatever the outcome)."""
        return self.status in TERMINAL

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Generation:
        result = body.get("result") or {}
        return cls(
            id=body["id"],
            status=body["status"],
            model=body.get("model", ""),
            progress=int(body.get("progress") or 0),
            reserved_credits=int(body.get("reserved_credits") or 0),
            final_credits=int(body.get("final_credits") or 0),
            created_at=body.get("created_at", ""),
            updated_at=body.get("updated_at", ""),
            video_url=result.get("primary_url"),
            last_frame_url=result.get("last_frame_url"),
            error=body.get("error"),
            client_request_id=body.get("client_request_id"),
            raw=body,
        )


@dataclass(frozen=True)
class UploadedFile:
    """A file of the Files API (``/api/v1/files``)."""

    id: str
    url: str
    kind: str
    name: str
    size: int
    mime_type: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> UploadedFile:
        return cls(
            id=body["id"],
            url=body["url"],
            kind=body.get("kind", ""),
            name=body.get("name", ""),
            size=int(body.get("size") or 0),
            mime_type=body.get("mimeType"),
            raw=body,
        )


@dataclass(frozen=True)
class Page:
    """One page of a list, and the cursor of the next (None on the last page)."""

    items: list[Generation]
    next_cursor: str | None


@dataclass(frozen=True)
class Quote:
    """What a generation would cost (``POST /api/v1/generations/quote``)."""

    credits: int
    model: str
    width: int
    height: int
    duration_seconds: float
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Quote:
        return cls(
            credits=int(body["credits"]),
            model=body.get("model", ""),
            width=int(body.get("width") or 0),
            height=int(body.get("height") or 0),
            duration_seconds=float(body.get("duration_seconds") or 0),
            raw=body,
        )


@dataclass(frozen=True)
class Account:
    """The caller's account (``GET /api/v1/account``), or one an admin manages."""

    id: str
    name: str
    email: str | None
    role: str  #: user | admin
    credits: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Account:
        return cls(
            id=body["id"],
            name=body.get("name", ""),
            email=body.get("email"),
            role=body.get("role", "user"),
            credits=int(body.get("current_credits") or 0),
            raw=body,
        )


@dataclass(frozen=True)
class ApiKey:
    """An API key as listed (``/api/v1/keys``); ``secret`` only in a create's answer."""

    id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    revoked: bool
    secret: str | None = None
    expires_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ApiKey:
        return cls(
            id=body["id"],
            name=body.get("name", ""),
            prefix=body.get("prefix", ""),
            scopes=tuple(body.get("scopes") or ()),
            revoked=body.get("revoked_at") is not None,
            secret=body.get("key"),
            expires_at=body.get("expires_at"),
            raw=body,
        )


@dataclass(frozen=True)
class LedgerEntry:
    """One credit movement (``/api/v1/credits/ledger``); ``delta`` is signed."""

    id: str
    kind: str  #: grant | hold | capture | release
    delta: int
    balance_after: int
    task_id: str | None
    created_at: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> LedgerEntry:
        return cls(
            id=body["id"],
            kind=body["kind"],
            delta=int(body["delta"]),
            balance_after=int(body["balance_after"]),
            task_id=body.get("task_id"),
            created_at=body.get("created_at", ""),
        )
