"""The create transaction alone: CPU per ``TaskStore.submit`` against a bare statement.

Runs ``TaskStore.submit`` (hold, in-flight count, task, webhook lookup, ledger entry, job, in
one transaction) in this process, eight at a time on one account, and measures this process's
CPU per submit. The baseline, measured in the same run on the same database, is one bare
``SELECT 1`` on the driver itself (asyncpg, or sqlite3 on the loop), so the ratio reads as "a
create costs as much client CPU as N bare statements". No HTTP, no server process: this is the
steadiest figure for the store's part of a create (the HTTP rows of ``bench_api.py`` move by
±20% from one minute to the next on a shared machine).

    python bench/bench_submit.py                 # SQLite, and PostgreSQL if reachable
    python bench/bench_submit.py --submits 4000 --repeat 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import literal_column, select

from seedance_gateway.domain import keys
from seedance_gateway.domain.ids import new_id
from seedance_gateway.store import Store, migrate
from seedance_gateway.store.tasks import NewTask

PG_ADMIN_URL = "postgresql://127.0.0.1:5432/test"
CONCURRENCY = 8
REQUEST = {"prompt": "a lighthouse at dusk", "resolution": "480p", "duration": 5}
BARE = select(literal_column("1").label("one"))


async def cpu_per_call(call: Callable[[], Awaitable[object]], count: int) -> float:
    """This process's CPU microseconds per ``call``, ``CONCURRENCY`` at a time."""

    async def lane(n: int) -> None:
        for _ in range(n):
            await call()

    await asyncio.gather(*(lane(max(1, count // 20)) for _ in range(CONCURRENCY)))  # warm-up
    start = time.process_time()
    await asyncio.gather(*(lane(count // CONCURRENCY) for _ in range(CONCURRENCY)))
    return (time.process_time() - start) * 1e6 / (count // CONCURRENCY * CONCURRENCY)


async def measure(url: str, submits: int) -> tuple[float, float]:
    """(µs per bare statement, µs per submit) on the database at ``url``."""
    await migrate.upgrade(url)
    store = Store.open(url)
    try:
        account_id = await store.accounts.create_account("bench", 10**12)
        plaintext = keys.generate()
        key = await store.accounts.add_key(
            account_id=account_id,
            name="bench",
            prefix=keys.display_prefix(plaintext),
            key_hash=keys.digest(plaintext),
        )

        async def submit() -> object:
            new = NewTask(
                id=new_id("task"),
                account_id=account_id,
                api_key_id=key.id,
                dialect="public_v1",
                model="seedance-1-0-pro",
                model_alias="seedance-1-0-pro",
                request=REQUEST,
                quote=1,
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            )
            return await store.tasks.submit(new, idempotency=None, max_in_flight=10**9)

        bare = await cpu_per_call(lambda: _select_one(store), submits)
        return bare, await cpu_per_call(submit, submits)
    finally:
        await store.close()


async def _select_one(store: Store) -> object:
    """``SELECT 1`` on the driver, as prepared reads run (``Database.read_one``)."""
    return await store.db.read_one(BARE, {})


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A new, empty database's URL (dropped afterwards on PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / f'bench-{secrets.token_hex(4)}.db'}"
        return
    name = f"sdg_bench_{secrets.token_hex(4)}"
    _psql(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+asyncpg://127.0.0.1:5432/{name}"
    finally:
        _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN_URL, "-qc", sql], check=True, capture_output=True)


def postgres_reachable() -> bool:
    done = subprocess.run(["psql", PG_ADMIN_URL, "-tAc", "SELECT 1"], capture_output=True)
    return done.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--submits", type=int, default=2000, help="submits per run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per backend (best kept)")
    args = parser.parse_args()
    backends = ["sqlite"] + (["postgres"] if postgres_reachable() else [])
    print(f"{'backend':10} {'bare us':>8} {'submit us':>10} {'x bare':>7}")
    with tempfile.TemporaryDirectory() as workdir:
        for backend in backends:
            runs = []
            for _ in range(args.repeat):
                with database(backend, Path(workdir)) as url:
                    runs.append(asyncio.run(measure(url, args.submits)))
            bare, submit = min(runs, key=lambda run: run[1])
            print(f"{backend:10} {bare:8.0f} {submit:10.0f} {submit / bare:6.1f}x", flush=True)


if __name__ == "__main__":
    sys.exit(main())
