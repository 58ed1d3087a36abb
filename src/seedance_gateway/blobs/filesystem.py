"""Blobs as files under one root directory (the embedded default)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from seedance_gateway.blobs.keys import checked, checked_prefix

CHUNK_BYTES = 256 * 1024


class FilesystemBlobStore:
    """Stores each blob as ``root/<key>``; writes are atomic (temp file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*checked(key).split("/"))

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return path

    async def put_file(self, key: str, source: Path) -> int:
        return await asyncio.to_thread(self._copy, key, source)

    async def put_bytes(self, key: str, data: bytes) -> int:
        return await asyncio.to_thread(self._write, key, data)

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self._existing(key).read_bytes)

    async def size(self, key: str) -> int | None:
        try:
            return self._existing(key).stat().st_size
        except (KeyError, FileNotFoundError):
            return None

    async def stream(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        return _chunks(self._existing(key), start, end)

    async def download(self, key: str, target: Path) -> int:
        source = self._existing(key)
        await asyncio.to_thread(shutil.copyfile, source, target)
        return target.stat().st_size

    async def copy(self, source_key: str, target_key: str) -> None:
        await asyncio.to_thread(self._link_or_copy, self._existing(source_key), target_key)

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def delete_prefix(self, prefix: str) -> int:
        folder = self.root.joinpath(*checked_prefix(prefix)[:-1].split("/"))
        return await asyncio.to_thread(_remove_tree, folder)

    async def direct_url(self, key: str, expires_in: timedelta) -> str | None:
        return None

    def _link_or_copy(self, source: Path, target_key: str) -> None:
        target = self._prepare(target_key)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.unlink(missing_ok=True)
        try:
            os.link(source, temp)  # blobs are immutable, so a hard link is a copy
        except OSError:
            shutil.copyfile(source, temp)
        os.replace(temp, target)

    def _copy(self, key: str, source: Path) -> int:
        target = self._prepare(key)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(source, temp)
        os.replace(temp, target)
        return target.stat().st_size

    def _write(self, key: str, data: bytes) -> int:
        target = self._prepare(key)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.write_bytes(data)
        os.replace(temp, target)
        return len(data)

    def _prepare(self, key: str) -> Path:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target


async def _chunks(path: Path, start: int, end: int | None) -> AsyncIterator[bytes]:
    """``path``'s bytes ``[start, end)``, read in a thread a chunk at a time."""
    with path.open("rb") as source:
        source.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            size = CHUNK_BYTES if left is None else min(CHUNK_BYTES, left)
            chunk = await asyncio.to_thread(source.read, size)
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


def _remove_tree(folder: Path) -> int:
    """Removes ``folder`` and what it holds; the number of files removed (0 if none)."""
    if not folder.is_dir():
        return 0
    count = sum(1 for path in folder.rglob("*") if path.is_file())
    shutil.rmtree(folder, ignore_errors=True)
    return count
