"""Blobs as files under one root directory (the embedded default)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path, PurePosixPath


def _checked(key: str) -> PurePosixPath:
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in ("..", ".", "") for part in path.parts):
        raise ValueError(f"invalid blob key {key!r}")
    return path


class FilesystemBlobStore:
    """Stores each blob as ``root/<key>``; writes are atomic (temp file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_checked(key).parts)

    async def put_file(self, key: str, source: Path) -> int:
        return await asyncio.to_thread(self._copy, key, source)

    async def put_bytes(self, key: str, data: bytes) -> int:
        return await asyncio.to_thread(self._write, key, data)

    async def read(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return await asyncio.to_thread(path.read_bytes)

    def local_path(self, key: str) -> Path | None:
        try:
            path = self._path(key)
        except ValueError:
            return None
        return path if path.is_file() else None

    async def copy(self, source_key: str, target_key: str) -> None:
        source = self._path(source_key)
        if not source.is_file():
            raise KeyError(source_key)
        await asyncio.to_thread(self._link_or_copy, source, target_key)

    def _link_or_copy(self, source: Path, target_key: str) -> None:
        target = self._prepare(target_key)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.unlink(missing_ok=True)
        try:
            os.link(source, temp)  # blobs are immutable, so a hard link is a copy
        except OSError:
            shutil.copyfile(source, temp)
        os.replace(temp, target)

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

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
