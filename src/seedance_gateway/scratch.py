"""Scratch space that no dead process leaves behind.

Each process works in a folder of its own under ``$SEEDANCE_HOME/tmp`` and holds an exclusive
``flock`` on the folder's ``.lock`` file for as long as it lives. The kernel drops the lock when
the process dies, ``kill -9`` included, so a process that starts (``Scratch.open``) removes every
folder whose lock it can take: those are the leftovers of processes that died mid-upload or
mid-render. A live process's folder is never touched, whichever process collects.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO

from seedance_gateway.domain.ids import new_id

log = logging.getLogger(__name__)
LOCK_NAME = ".lock"
#: A folder without a lock file is someone's being made, unless it is older than this.
UNLOCKED_GRACE_SECONDS = 60.0


class Scratch:
    """One process's scratch folder (``open`` it before use; ``close`` removes it)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / f"{os.getpid()}-{new_id('scratch')}"
        self._lock: IO[bytes] | None = None

    def open(self) -> Scratch:
        """Creates and locks this process's folder, then collects dead processes' folders."""
        if self._lock is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock = (self.folder / LOCK_NAME).open("wb")
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            removed = collect(self.root)
            if removed:
                log.info("removed %d scratch folder(s) left by stopped processes", removed)
        return self

    def file(self, prefix: str = "upload") -> Path:
        """A fresh path in this process's folder (nothing is created)."""
        self.open()
        return self.folder / new_id(prefix)

    def folder_for(self, prefix: str) -> Path:
        """A new empty folder in this process's folder; the caller removes it when done."""
        self.open()
        return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.folder))

    def close(self) -> None:
        """Removes this process's folder and releases its lock."""
        if self._lock is None:
            return
        shutil.rmtree(self.folder, ignore_errors=True)
        self._lock.close()
        self._lock = None


def collect(root: Path) -> int:
    """Removes the folders under ``root`` whose owner is gone; how many were removed."""
    removed = 0
    for folder in root.iterdir() if root.is_dir() else ():
        if folder.is_dir() and _owner_is_gone(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _owner_is_gone(folder: Path) -> bool:
    """Whether nobody holds ``folder``'s lock (taking it briefly to find out)."""
    try:
        with (folder / LOCK_NAME).open("rb") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            with contextlib.suppress(OSError):
                fcntl.flock(lock, fcntl.LOCK_UN)
            return True
    except FileNotFoundError:  # not locked yet: a folder being made now, or an old stray one
        return _age_seconds(folder) > UNLOCKED_GRACE_SECONDS
    except OSError:
        return False


def _age_seconds(folder: Path) -> float:
    try:
        return time.time() - folder.stat().st_mtime
    except OSError:
        return 0.0
