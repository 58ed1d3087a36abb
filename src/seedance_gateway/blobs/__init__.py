"""Blob storage for uploads, references and results: a tiny port, one file per adapter.

``filesystem.FilesystemBlobStore`` (the embedded default, ``$SEEDANCE_HOME/blobs``) and
``s3.S3BlobStore`` (``SEEDANCE_BLOBS=s3://…``) both pass the contract suite
(``tests/integration/test_blob_contract.py``).
Nothing outside the adapters knows where bytes live: code reads a blob as bytes, as a stream of
chunks (a byte range of it), or into a scratch file it owns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Protocol


class BlobStore(Protocol):
    """Where bytes live. Keys are relative slash-separated paths (``results/<task>/video.mp4``)."""

    async def put_file(self, key: str, source: Path) -> int:
        """Stores a copy of ``source`` under ``key`` (streamed); returns its size."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> int:
        """Stores ``data`` under ``key``; returns its size."""
        ...

    async def read(self, key: str) -> bytes:
        """The bytes under ``key`` (``KeyError`` if missing); for blobs small enough to hold."""
        ...

    async def size(self, key: str) -> int | None:
        """The size of the blob under ``key``, or None if there is none."""
        ...

    async def stream(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)`` of ``key`` as chunks; ``KeyError`` (when awaited) if
        missing, so a caller can answer 404 before it starts a response."""
        ...

    async def download(self, key: str, target: Path) -> int:
        """Writes the blob into ``target`` (streamed); its size (``KeyError`` if missing)."""
        ...

    async def copy(self, source_key: str, target_key: str) -> None:
        """Makes ``target_key`` hold the same bytes as ``source_key`` (``KeyError`` if missing)."""
        ...

    async def delete(self, key: str) -> None:
        """Removes ``key`` if present."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Removes every blob whose key starts with ``prefix`` (a folder: ``results/<task>/``);
        how many were removed. Idempotent."""
        ...

    async def direct_url(self, key: str, expires_in: timedelta) -> str | None:
        """A URL a client can fetch the blob from without us (a presigned object URL), or None
        when the store has none (the local disk)."""
        ...
