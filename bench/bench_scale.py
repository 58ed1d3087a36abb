"""Do the API's costs stay flat as the database grows? The same rows at two sizes, as a ratio.

For each backend and each size (1,000 tasks, then 1,000,000; ``--quick``: 100,000), a fresh
database gets a key, 30 real tasks made through the API, and then bulk rows copied from one of
them with one SQL statement (not the API): finished (``cancelled``) tasks with a finished job
each, one in twenty of them the bench account's (50,000 of 1,000,000), the rest another
account's. Then, on ``seedance serve --no-worker``, the server CPU per request of:

* ``GET /api/v1/generations/{id}`` (a status read);
* the first page of each dialect's task list: ``GET /api/v1/generations?status=queued`` (the
  account's few unfinished tasks among its many finished ones), ``?status=failed`` (none
  match), ``GET /api/v1/generations``,
  ``GET /api/v3/contents/generations/tasks?filter.status=queued`` and ``GET /v1/videos``;
* ``POST /api/v1/generations`` (a create);

and, in this process, the CPU of a worker's claim (``JobStore.claim`` of one job). The report
gives each figure at both sizes and large / small: 1.2x or less is flat.

Usage: ``python bench/bench_scale.py [--quick] [--postgres | --no-postgres] [--large N]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import create_async_engine

from bench_api import (
    SEED_REQUEST,
    V3_PATH,
    LoadSpec,
    backend_env,
    free_port,
    gateway_command,
    load,
    postgres_reachable,
    running,
)
from seedance_gateway import config
from seedance_gateway.store import Store
from seedance_gateway.store import tables as t

SMALL = 1_000
LARGE = 1_000_000
MINE_EVERY = 20  #: one bulk task in this many is the bench account's
REAL_TASKS = 30
CLAIMS = 200


@dataclass(frozen=True)
class Account:
    key: str
    key_id: str
    account_id: str


@dataclass(frozen=True)
class Figure:
    row: str
    backend: str
    size: int
    us_per_request: float


def make_key(env: Mapping[str, str], name: str) -> Account:
    """A new account with a key, through the CLI."""
    args = ("keys", "create", "--name", name, "--credits", "100000000", "--json")
    done = subprocess.run(
        gateway_command(*args), env=dict(env), capture_output=True, text=True, check=True
    )
    made = json.loads(done.stdout.strip().splitlines()[-1])
    return Account(key=made["key"], key_id=made["id"], account_id=made["account_id"])


def database_url(env: Mapping[str, str]) -> str:
    """The server's database, as ``Store.open`` takes it."""
    return config.from_env(env).effective_database_url


def _copy_sql(table: Table, overrides: Mapping[str, str], dialect: str) -> str:
    """``INSERT INTO table SELECT`` the template row ``tpl`` once per ``n.i``, with
    ``overrides`` (SQL expressions over ``n.i`` and ``tpl``) for some columns."""
    columns = [c.name for c in table.columns if c.name in overrides or c.name != "id"]
    values = [overrides.get(c, f"tpl.{c}") for c in columns]
    series = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count) "
        if dialect == "sqlite"
        else ""
    )
    source = "n" if dialect == "sqlite" else "generate_series(1, :count) AS n(i)"
    return (
        f"{series}INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {source}, {table.name} AS tpl WHERE tpl.{{where}}"
    )


async def seed(url: str, count: int, mine: Account, other: Account, template: str) -> float:
    """Adds ``count`` finished tasks (and their finished jobs) copied from ``template``;
    returns the seconds it took."""
    began = time.perf_counter()
    store = Store.open(url)
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    task_id = (
        "printf('task_00%012d', n.i)"
        if dialect == "sqlite"
        else "'task_00' || lpad(n.i::text, 12, '0')"
    )
    whose = f"CASE WHEN n.i % {MINE_EVERY} = 0 THEN '{{mine}}' ELSE '{{other}}' END"
    tasks = _copy_sql(
        t.tasks,
        {
            "id": task_id,
            "account_id": whose.format(mine=mine.account_id, other=other.account_id),
            "api_key_id": whose.format(mine=mine.key_id, other=other.key_id),
            "status": "'cancelled'",
            "finished_at": "tpl.created_at",
            "request_id": "NULL",
            "client_request_id": "NULL",
        },
        dialect,
    ).format(where="id = :template")
    jobs = _copy_sql(t.jobs, {"task_id": task_id, "state": "'done'"}, dialect).format(
        where="id = (SELECT min(id) FROM jobs)"
    )
    try:
        async with store.db.write() as conn:
            await conn.execute(text(tasks), {"count": count, "template": template})
            await conn.execute(text(jobs), {"count": count})
    finally:
        await store.close()
    await settle(url)
    return time.perf_counter() - began


async def settle(url: str) -> None:
    """Leaves the seeded database as months of use would have: statistics gathered and the
    bulk load's aftermath done. On SQLite that is the load's WAL copied into the database
    (about 2 GB for a million tasks): left to the server's own checkpoints, that copy ran in
    its process during the measured rows and doubled a create's CPU. On PostgreSQL it is a
    ``VACUUM`` (the visibility map an index-only scan needs) as autovacuum would have run."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            if url.startswith("sqlite"):
                await conn.execute(text("ANALYZE"))
                await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            else:
                await conn.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


async def claim_cpu_us(url: str) -> float:
    """CPU microseconds of this process per claim of one job, ``CLAIMS`` times."""
    store = Store.open(url)
    try:
        await store.jobs.claim("bench", 1, 60)  # connects
        began = time.process_time()
        for _ in range(CLAIMS):
            await store.jobs.claim("bench", 1, 60)
        return (time.process_time() - began) / CLAIMS * 1e6
    finally:
        await store.close()


def measure(args: argparse.Namespace, backend: str, size: int, workdir: Path) -> list[Figure]:
    """Every row on a database of ``size`` tasks."""
    home = workdir / f"home-{backend}-{size}"
    with backend_env(backend, home, args.pg_url) as env:
        mine, other = make_key(env, "bench"), make_key(env, "others")
        port = free_port()
        cmd = gateway_command("serve", "--port", str(port), "--no-worker")
        log = workdir / f"api-{backend}-{size}.log"
        with running(cmd, env, port, "/readyz", log) as server:
            auth = {"Authorization": f"Bearer {mine.key}"}
            with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as client:
                made = [
                    client.post("/api/v1/generations", json=SEED_REQUEST).json()["id"]
                    for _ in range(REAL_TASKS)
                ]
            url = database_url(env)
            took = asyncio.run(seed(url, size - REAL_TASKS, mine, other, made[0]))
            print(f"  seeded {size:,} tasks ({backend}) in {took:.1f} s", file=sys.stderr)
            db_name = url.rsplit("/", 1)[1] if backend != "sqlite" else None
            rows = {
                "GET /api/v1/generations/{id}": ("GET", [f"/api/v1/generations/{i}" for i in made]),
                "GET /api/v1/generations?status=queued": (
                    "GET",
                    ["/api/v1/generations?status=queued&limit=20"],
                ),
                "GET /api/v1/generations?status=failed": (  # none: every candidate is read
                    "GET",
                    ["/api/v1/generations?status=failed&limit=20"],
                ),
                "GET /api/v1/generations": ("GET", ["/api/v1/generations?limit=20"]),
                f"GET {V3_PATH}?filter.status=queued": (
                    "GET",
                    [f"{V3_PATH}?page_num=1&page_size=20&filter.status=queued"],
                ),
                "GET /v1/videos": ("GET", ["/v1/videos?limit=20"]),
                "POST /api/v1/generations": ("POST", ["/api/v1/generations"]),
            }
            figures = []
            for label, (method, paths) in rows.items():
                print(f"  measuring {label} ({backend}, {size:,}) ...", file=sys.stderr)
                spec = LoadSpec(
                    base_url=server.base_url,
                    method=method,
                    paths=paths,
                    body=SEED_REQUEST if method == "POST" else None,
                    headers=auth,
                    concurrency=16,
                    warmup_s=0.5,
                    duration_s=args.seconds,
                    server_pid=server.pid,
                    db_name=db_name,
                )
                result = load(spec)
                if result.errors:
                    raise RuntimeError(f"{label}: {result.first_error}")
                assert result.server_us_per_request is not None
                figures.append(Figure(label, backend, size, result.server_us_per_request))
        claim = asyncio.run(claim_cpu_us(url))
        figures.append(Figure("worker claim (client CPU)", backend, size, claim))
    return figures


def report(figures: list[Figure], small: int, large: int) -> None:
    print(f"\nserver CPU per request (µs) with {small:,} and {large:,} tasks in the database\n")
    print(f"{'row':58} {'backend':9} {'small':>8} {'large':>8} {'ratio':>6}")
    print("-" * 93)
    keys = dict.fromkeys((f.row, f.backend) for f in figures)
    for row, backend in keys:
        at = {f.size: f.us_per_request for f in figures if (f.row, f.backend) == (row, backend)}
        ratio = at[large] / at[small]
        flag = "" if ratio <= 1.2 else "  <- grows"
        print(f"{row:58} {backend:9} {at[small]:8.0f} {at[large]:8.0f} {ratio:5.2f}x{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 tasks, 1.5 s rows")
    parser.add_argument("--postgres", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--pg-url", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--large", type=int, help=f"tasks in the large database ({LARGE:,})")
    parser.add_argument("--seconds", type=float, help="measured seconds per row (3)")
    args = parser.parse_args()
    large = args.large or (100_000 if args.quick else LARGE)
    args.seconds = args.seconds or (1.5 if args.quick else 3.0)
    backends = ["sqlite"]
    if args.postgres is not False and postgres_reachable(args.pg_url):
        backends.append("postgres")
    elif args.postgres:
        raise SystemExit(f"PostgreSQL is not reachable at {args.pg_url}")
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="sdg-scale-") as tmp:
        for backend in backends:
            for size in (SMALL, large):
                figures += measure(args, backend, size, Path(tmp))
    report(figures, SMALL, large)


if __name__ == "__main__":
    main()
