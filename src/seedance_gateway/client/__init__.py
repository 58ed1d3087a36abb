"""The Python SDK for the Public API v1 (and our extensions).

``Client`` blocks, ``AsyncClient`` awaits; both drive the same steps (``calls``), so retries,
waiting and parsing are written once. Creates always carry an idempotency key, so a retried
create never makes a second task. Errors are typed (``errors``) and carry the server's status,
code, message and request id::

    from seedance_gateway.client import Client

    with Client("http://127.0.0.1:8000", "sdg_...") as client:
        task = client.generate("seedance-1-0-pro", "a lighthouse at dusk", {"duration": 5})
        client.download(task, "out.mp4")
"""

from __future__ import annotations

from seedance_gateway.client.aio import AsyncClient
from seedance_gateway.client.errors import (
    AuthenticationFailed,
    Conflict,
    ConnectionFailed,
    InsufficientCredits,
    InvalidRequest,
    NotFound,
    RateLimited,
    SeedanceError,
    ServerError,
    TaskFailed,
    WaitTimeout,
)
from seedance_gateway.client.sync import Client
from seedance_gateway.client.types import (
    Account,
    ApiKey,
    Generation,
    LedgerEntry,
    Page,
    Quote,
    UploadedFile,
)

__all__ = [
    "Account",
    "ApiKey",
    "AsyncClient",
    "AuthenticationFailed",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Generation",
    "InsufficientCredits",
    "InvalidRequest",
    "LedgerEntry",
    "NotFound",
    "Page",
    "Quote",
    "RateLimited",
    "SeedanceError",
    "ServerError",
    "TaskFailed",
    "UploadedFile",
    "WaitTimeout",
]
