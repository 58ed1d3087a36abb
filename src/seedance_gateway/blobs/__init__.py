"""Blob storage for uploads and results: a tiny port, one file per adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class BlobStore(Protocol):
    """Where bytes live. Keys are relative slash-separated paths (``results/<task>/video.mp4``)."""

    async def put_file(self, key: str, source: Path) -> int:
        """Stores a copy of ``source`` under ``key``; returns its size."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> int:
        """Stores ``data`` under ``key``; returns its size."""
        ...

    async def read(self, key: str) -> bytes:
        """The bytes under ``key`` (``KeyError`` if missing)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A filesystem path for ``key`` when the store is local and the blob exists."""
        ...

    async def copy(self, source_key: str, target_key: str) -> None:
        """Makes ``target_key`` hold the same bytes as ``source_key`` (``KeyError`` if missing)."""
        ...

    async def delete(self, key: str) -> None:
        """Removes ``key`` if present."""
        ...
