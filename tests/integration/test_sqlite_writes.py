"""SQLite writes run on the event loop's thread (issue 19): while another process holds the
database's write lock, a write waits asleep (the loop keeps serving), then goes through; a lock
held past the bound fails with "database is locked"; the WAL is still checkpointed."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from integration_support import open_account

from seedance_gateway.store import Store, database, migrate

HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
print("released", time.time(), flush=True)
"""


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[tuple[Store, Path]]:
    path = tmp_path / "seedance.db"
    await migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    store = Store.open(f"sqlite+aiosqlite:///{path}")
    try:
        yield store, path
    finally:
        await store.close()


@contextmanager
def write_lock_held(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holds SQLite's write lock on ``path`` for ``seconds``."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder


async def ticking(stop: asyncio.Event) -> int:
    ticks = 0
    while not stop.is_set():
        await asyncio.sleep(0.005)
        ticks += 1
    return ticks


async def test_a_write_waits_asleep_for_another_process_lock(
    sqlite_store: tuple[Store, Path],
) -> None:
    store, path = sqlite_store
    owner = await open_account(store, 100)
    stop = asyncio.Event()
    ticker = asyncio.create_task(ticking(stop))
    loop = asyncio.get_running_loop()
    with write_lock_held(path, 0.6) as holder:
        began = loop.time()
        balance = await store.accounts.grant(owner.account_id, 5)
        waited = loop.time() - began
        granted_at = time.time()
        assert holder.stdout is not None
        word, released_at = holder.stdout.readline().split()
        # the grant went through only once the lock was free (the holder may still be exiting)
        assert word == "released" and granted_at >= float(released_at)
    stop.set()
    ticks = await ticker
    assert balance == 105
    assert waited >= 0.3
    assert ticks >= 20, f"the event loop was blocked while the write waited ({ticks} ticks)"
    assert await store.accounts.balance(owner.account_id) == 105


async def test_a_lock_held_past_the_bound_fails_the_write(
    sqlite_store: tuple[Store, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = sqlite_store
    owner = await open_account(store, 100)
    monkeypatch.setattr(database, "WRITE_BUSY_S", 0.2)
    with write_lock_held(path, 1.0), pytest.raises(sa.exc.OperationalError, match="locked"):
        await store.accounts.grant(owner.account_id, 5)
    assert await store.accounts.balance(owner.account_id) == 100
    assert await store.accounts.grant(owner.account_id, 5) == 105  # the writer still works


async def test_the_wal_is_checkpointed_by_a_thread(
    sqlite_store: tuple[Store, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = sqlite_store
    owner = await open_account(store, 100)
    monkeypatch.setattr(database, "CHECKPOINT_EVERY", 1_000_000)
    for _ in range(3):
        await store.accounts.grant(owner.account_id, 1)
    assert balance_in_the_file(path, owner.account_id) != 103  # still only in the WAL
    monkeypatch.setattr(database, "CHECKPOINT_EVERY", 1)
    await store.accounts.grant(owner.account_id, 1)
    for _ in range(100):  # the checkpoint thread copies the WAL back
        if balance_in_the_file(path, owner.account_id) == 104:
            break
        await asyncio.sleep(0.02)
    assert balance_in_the_file(path, owner.account_id) == 104


def balance_in_the_file(path: Path, account_id: str) -> int:
    """The balance as the database file holds it, without the WAL (``immutable`` reads only
    the main file)."""
    raw = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        row = raw.execute("SELECT balance FROM accounts WHERE id = ?", (account_id,)).fetchone()
    finally:
        raw.close()
    return int(row[0]) if row else -1


async def test_writes_reuse_one_connection_and_a_failed_commit_drops_it(
    sqlite_store: tuple[Store, Path],
) -> None:
    """A COMMIT refused (a deferred foreign key broken) leaves the write failed and nothing
    stored; the connection, its transaction still open, is closed, and the next write works."""
    store, _ = sqlite_store
    owner = await open_account(store, 100)
    db = store.db._sqlite
    assert db is not None
    kept = db._kept_writer
    await store.accounts.grant(owner.account_id, 1)
    assert db._kept_writer is kept is not None  # the same connection, write after write
    with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
        async with store.db.write() as conn:
            await conn.execute(sa.text("PRAGMA defer_foreign_keys = ON"))
            await conn.execute(
                sa.text(
                    "INSERT INTO ledger (account_id, kind, amount, balance_after, created_at) "
                    "VALUES ('acct_none', 'grant', 1, 1, '2026-01-01 00:00:00')"
                )
            )
    assert db._kept_writer is None
    assert await store.accounts.grant(owner.account_id, 1) == 102
    assert db._kept_writer is not None and db._kept_writer is not kept
