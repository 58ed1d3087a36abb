"""Benchmark provider ark: how late gateway A learns that the upstream finished a task, and how
many upstream calls each finished task costs, at 1, 100 and 1000 tasks in flight.

The upstream is a fake that speaks the official wire format (research/ark-official-api.md §2-§3)
in its own process (Starlette + uvicorn): create, list with ``filter.task_ids``, get, delete,
callbacks, and a small MP4 behind each result URL. Every task it accepts is ``queued`` for half
a second, ``running`` until a finish time drawn when it was created (``--work`` seconds, spread
by ``--jitter``), then ``succeeded``; when the create carried a ``callback_url`` it POSTs the
task there at that moment. It counts every request it serves.

Rows, for each number of tasks in flight:

* **poller 15 s** (baseline): what the peer gateways do (research/gateways.md §1.4, new-api):
  every 15 s one GET per unfinished task, all at once (new-api's best case: its default also
  sleeps 1 s between tasks of a channel). Runs in this process against the same fake.
* **poller 2 s** (baseline): the same with a round every 2 s, our own shortest check interval.
* **ark, callbacks**: a real ``seedance serve`` (SQLite, in-process workers) whose provider ark
  points at the fake, with ``SEEDANCE_PUBLIC_URL`` set so the fake calls back.
* **ark, polling**: the same server with callbacks off (``SEEDANCE_ARK_CALLBACKS=false``), so
  only the batched checks find finished tasks.

**Added latency** is the time from the fake's finish time to the moment the task is finished
for the client: for a baseline, when its GET saw ``succeeded``; for the gateway, the task's
``finished_at`` in A's database, which is written only after the video was downloaded, decoded
and stored in A's blobs (a baseline that copied the file home would be later still).
**Calls per task** count the fake's API requests (create, list, get, delete) divided by the
tasks; video downloads are shown apart. Ratios are against ``poller 15 s`` in the same run.
**Settled per s** is the tasks over the time from the upstream's first finish to the last task
finished for the client (the burst's rate), and **A's CPU ms per task** gateway A's CPU time
over the row (from ``/proc``) divided by its tasks: the whole lifecycle's cost, the steadiest
figure on a shared machine. The bench waits on A's database, not its API, so waiting costs A
nothing.

A's channel is configured for the bench (``SEEDANCE_ARK_MAX_IN_FLIGHT`` and ``SEEDANCE_ARK_RPM``
high enough for 1000 tasks at once); its check schedule and list pacing are the defaults.

Usage: ``python bench/bench_upstream.py [--tasks 1,100,1000] [--work 15] [--quick] [--postgres]
[--rows pollers,callbacks,polling]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import httpx
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import (
    HOST,
    clean_env,
    create_key,
    free_port,
    gateway_command,
    postgres_reachable,
    process_cpu_seconds,
    running,
    scratch_postgres,
)
from seedance_gateway.store import Store

TASKS = "/api/v3/contents/generations/tasks"
MODEL = "seedance-1-0-pro"
QUEUED_SECONDS = 0.5  #: how long a fake task stays ``queued`` before ``running``
CREATE_CONCURRENCY = 32
API_KINDS = ("create", "list", "get", "delete")


# -- the fake upstream -----------------------------------------------------------------------


@dataclass
class FakeTask:
    id: str
    model: str
    seed: int | None
    created: float
    finish_at: float
    cancelled: bool = False

    def status(self, now: float) -> str:
        if self.cancelled:
            return "cancelled"
        if now < self.created + QUEUED_SECONDS:
            return "queued"
        return "running" if now < self.finish_at else "succeeded"

    def render(self, base: str, now: float) -> dict[str, Any]:
        status = self.status(now)
        obj: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "status": status,
            "created_at": int(self.created),
            "updated_at": int(now),
            "seed": self.seed,
            "resolution": "480p",
            "ratio": "16:9",
            "duration": 1,
        }
        if status == "succeeded":
            obj["content"] = {"video_url": f"{base}/files/{self.id}.mp4"}
            obj["usage"] = {"completion_tokens": 10_000, "total_tokens": 10_000}
        return obj


@dataclass
class FakeUpstream:
    base: str
    work: float
    jitter: float
    video: Path
    tasks: dict[str, FakeTask] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    pending: set[asyncio.Task[None]] = field(default_factory=set)
    http: httpx.AsyncClient | None = None

    async def create(self, request: Request) -> Response:
        self.calls["create"] += 1
        body = await request.json()
        now = time.time()
        task = FakeTask(
            id=f"cgt-{now:.0f}-{secrets.token_hex(6)}",
            model=str(body.get("model", "")),
            seed=body.get("seed"),
            created=now,
            finish_at=now + max(0.0, self.work + random.uniform(-self.jitter, self.jitter)),
        )
        self.tasks[task.id] = task
        callback = body.get("callback_url")
        if isinstance(callback, str) and callback:
            job = asyncio.create_task(self._call_back(task, callback))
            self.pending.add(job)
            job.add_done_callback(self.pending.discard)
        return JSONResponse({"id": task.id})

    async def _call_back(self, task: FakeTask, url: str) -> None:
        """POSTs the finished task to ``url`` when it finishes (once, like the upstream's last
        callback; its earlier ones only make the gateway check sooner)."""
        await asyncio.sleep(max(0.0, task.finish_at - time.time()))
        if self.http is None:  # the upstream calls back from many machines: no shared pool cap
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
            self.http = httpx.AsyncClient(timeout=60, trust_env=False, limits=limits)
        self.calls["callback_sent"] += 1
        # uvloop's timers may fire a millisecond early: render the moment the task finished
        body = task.render(self.base, max(time.time(), task.finish_at))
        with contextlib.suppress(httpx.HTTPError):
            await self.http.post(url, json=body)

    async def list(self, request: Request) -> Response:
        self.calls["list"] += 1
        now = time.time()
        ids = request.query_params.getlist("filter.task_ids")
        model = request.query_params.get("filter.model")
        size = int(request.query_params.get("page_size", "10"))
        page = int(request.query_params.get("page_num", "1"))
        if ids:
            self.calls["listed_ids"] += len(ids)
            found = [self.tasks[i] for i in ids if i in self.tasks]
        else:
            found = [t for t in self.tasks.values() if model is None or t.model == model]
        found.sort(key=lambda t: t.created, reverse=True)
        items = found[(page - 1) * size : page * size]
        return JSONResponse(
            {"total": len(found), "items": [t.render(self.base, now) for t in items]}
        )

    async def get(self, request: Request) -> Response:
        self.calls["get"] += 1
        task = self.tasks.get(request.path_params["task_id"])
        if task is None:
            return _not_found()
        return JSONResponse(task.render(self.base, time.time()))

    async def delete(self, request: Request) -> Response:
        self.calls["delete"] += 1
        task = self.tasks.get(request.path_params["task_id"])
        if task is None:
            return _not_found()
        task.cancelled = True
        return JSONResponse({})

    async def download(self, request: Request) -> Response:
        self.calls["download"] += 1
        return FileResponse(self.video, media_type="video/mp4")

    async def stats(self, request: Request) -> Response:
        finished = {t.id: t.finish_at for t in self.tasks.values()}
        return JSONResponse({"calls": dict(self.calls), "finish_at": finished})

    async def reset(self, request: Request) -> Response:
        self.tasks.clear()
        self.calls.clear()
        return JSONResponse({})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(TASKS, self.create, methods=["POST"]),
                Route(TASKS, self.list, methods=["GET"]),
                Route(TASKS + "/{task_id}", self.get, methods=["GET"]),
                Route(TASKS + "/{task_id}", self.delete, methods=["DELETE"]),
                Route("/files/{name}", self.download, methods=["GET"]),
                Route("/_stats", self.stats, methods=["GET"]),
                Route("/_reset", self.reset, methods=["POST"]),
            ]
        )


def _not_found() -> Response:
    error = {"code": "ResourceNotFound", "message": "The specified task is not found"}
    return JSONResponse({"error": error}, status_code=404)


def small_mp4(path: Path) -> Path:
    """A one-second 320x180 H.264 clip (what every fake result URL serves)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for index in range(24):
            image = Image.new("RGB", (320, 180), (index * 10, 80, 160))
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def run_fake(port: int, work: float, jitter: float, video: str) -> None:
    """The fake upstream's process."""
    fake = FakeUpstream(base=f"http://{HOST}:{port}", work=work, jitter=jitter, video=Path(video))
    uvicorn.run(fake.app(), host=HOST, port=port, log_level="warning", access_log=False)


@contextlib.contextmanager
def fake_upstream(workdir: Path, work: float, jitter: float) -> Iterator[str]:
    """Starts the fake in its own process; yields its base URL."""
    port = free_port()
    video = small_mp4(workdir / "fake.mp4")
    process = multiprocessing.Process(target=run_fake, args=(port, work, jitter, str(video)))
    process.start()
    base = f"http://{HOST}:{port}"
    try:
        _wait_port(base)
        yield base
    finally:
        process.terminate()
        process.join(10)


def _wait_port(base: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(base + "/_stats", timeout=1, trust_env=False)
            return
        time.sleep(0.05)
    raise RuntimeError("the fake upstream did not start")


# -- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    tasks: int
    latencies: list[float]  #: seconds from the fake's finish to the client seeing it finished
    calls: dict[str, int]
    wall: float  #: seconds from the first create to the last task finished
    first_finish: float = 0.0  #: the fake's earliest finish time (epoch seconds)
    last_done: float = 0.0  #: when the client could see the last task finished
    cpu: float | None = None  #: gateway A's CPU seconds over the row (None for a baseline)

    @property
    def api_calls(self) -> int:
        return sum(self.calls.get(kind, 0) for kind in API_KINDS)

    def per_task(self, kind: str | None = None) -> float:
        count = self.api_calls if kind is None else self.calls.get(kind, 0)
        return count / max(1, self.tasks)

    def settle_rate(self) -> float:
        """Tasks per second from the upstream's first finish to our last: the burst's rate."""
        if not self.latencies or self.tasks < 2:
            return 0.0
        return self.tasks / max(1e-9, self.last_done - self.first_finish)

    def quantile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def fake_stats(base: str) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(base + "/_stats", timeout=60, trust_env=False).json()
    return stats


def fake_reset(base: str) -> None:
    httpx.post(base + "/_reset", timeout=60, trust_env=False).raise_for_status()


async def poller(base: str, count: int, interval: float, timeout: float) -> Row:
    """The baseline: one GET per unfinished task every ``interval`` seconds."""
    fake_reset(base)
    async with httpx.AsyncClient(
        base_url=base, timeout=60, trust_env=False, limits=httpx.Limits(max_connections=64)
    ) as client:
        start = time.time()
        ids = await _gather_limited(
            [_create_direct(client) for _ in range(count)], CREATE_CONCURRENCY
        )
        seen: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while len(seen) < count and time.monotonic() < deadline:
            await asyncio.sleep(interval)
            open_ids = [i for i in ids if i not in seen]
            statuses = await _gather_limited([_status(client, i) for i in open_ids], 64)
            now = time.time()
            seen.update({i: now for i, s in zip(open_ids, statuses, strict=True) if s})
    stats = fake_stats(base)
    finish = stats["finish_at"]
    latencies = [seen[i] - finish[i] for i in seen]
    last = max(seen.values(), default=start)
    return Row(
        f"poller {interval:g} s",
        count,
        latencies,
        stats["calls"],
        last - start,
        first_finish=min(finish[i] for i in ids),
        last_done=last,
    )


async def _create_direct(client: httpx.AsyncClient) -> str:
    body = {"model": "doubao-seedance-1-0-pro-250528", "content": [{"type": "text", "text": "x"}]}
    response = await client.post(TASKS, json=body)
    response.raise_for_status()
    task_id: str = response.json()["id"]
    return task_id


async def _status(client: httpx.AsyncClient, task_id: str) -> bool:
    response = await client.get(f"{TASKS}/{task_id}")
    return bool(response.json()["status"] == "succeeded")


async def _gather_limited(jobs: Sequence[Any], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def through_gateway(name: str, a: GatewayA, base: str, count: int, timeout: float) -> Row:
    """Creates ``count`` tasks on gateway A and waits until A has finished them all."""
    fake_reset(base)
    headers = {"Authorization": f"Bearer {a.key}"}
    cpu_before = process_cpu_seconds(a.pid)
    async with httpx.AsyncClient(
        base_url=a.url, headers=headers, timeout=60, trust_env=False
    ) as client:
        start = time.time()
        ids = await _gather_limited(
            [_create_on_gateway(client, index) for index in range(count)], CREATE_CONCURRENCY
        )
    await _wait_finished(a.database_url, ids, timeout)
    cpu_after = process_cpu_seconds(a.pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return await _gateway_row(name, a.database_url, base, ids, start, cpu)


async def _create_on_gateway(client: httpx.AsyncClient, index: int) -> str:
    body = {
        "model": MODEL,
        "content": [{"type": "text", "text": f"bench task {index}"}],
        "resolution": "480p",
        "duration": 2,
    }
    response = await client.post(TASKS, json=body)
    if response.status_code != 200:
        raise RuntimeError(f"create on gateway A failed: {response.status_code} {response.text}")
    task_id: str = response.json()["id"]
    return task_id


async def _wait_finished(database_url: str, ids: list[str], timeout: float) -> None:
    """Waits until every task is terminal, reading A's database (0.2 s apart) rather than its
    API, so that the waiting costs A no requests: A's CPU over a row is the tasks' own."""
    from sqlalchemy import func, select

    from seedance_gateway.store import tables

    wanted = [_internal_id(i) for i in ids]
    unfinished = (
        select(func.count())
        .select_from(tables.tasks)
        .where(tables.tasks.c.id.in_(wanted), tables.tasks.c.finished_at.is_(None))
    )
    store = Store.open(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            async with store.db.read() as conn:
                left = int((await conn.execute(unfinished)).scalar_one())
            if not left:
                return
            await asyncio.sleep(0.2)
    finally:
        await store.close()
    raise RuntimeError(f"{left} of {len(ids)} tasks did not finish in {timeout} s")


async def _gateway_row(
    name: str, database_url: str, base: str, ids: list[str], start: float, cpu: float | None
) -> Row:
    stats = fake_stats(base)
    finish = stats["finish_at"]
    store = Store.open(database_url)
    latencies, last, first_finish = [], start, float("inf")
    try:
        for public_id in ids:
            task = await store.tasks.get(_internal_id(public_id))
            row = await store.upstream.get(task.id)
            if task.status.value != "succeeded" or task.finished_at is None or row is None:
                raise RuntimeError(f"task {public_id} ended {task.status}: {task.error}")
            done = task.finished_at.timestamp()
            finished_upstream = finish[row.upstream_id or ""]
            latencies.append(done - finished_upstream)
            last = max(last, done)
            first_finish = min(first_finish, finished_upstream)
    finally:
        await store.close()
    return Row(
        name,
        len(ids),
        latencies,
        stats["calls"],
        last - start,
        first_finish=first_finish,
        last_done=last,
        cpu=cpu,
    )


def _internal_id(public_id: str) -> str:
    from seedance_gateway.domain import ids

    return ids.task_id_of(public_id)


@dataclass(frozen=True)
class GatewayA:
    url: str
    key: str
    database_url: str  #: async SQLAlchemy URL of A's database
    pid: int


@contextlib.contextmanager
def gateway_a(
    workdir: Path, fake: str, database_url: str | None, *, callbacks: bool, in_flight: int
) -> Iterator[GatewayA]:
    """Gateway A (``seedance serve``) in front of the fake."""
    home = workdir / f"a-{'callbacks' if callbacks else 'polling'}"
    home.mkdir()
    port = free_port()
    url = f"http://{HOST}:{port}"
    settings = {
        "SEEDANCE_HOME": str(home),
        "SEEDANCE_RATE_LIMIT": "1000000/minute",
        "SEEDANCE_MAX_IN_FLIGHT": "1000000",
        "SEEDANCE_ARK_API_KEYS": "bench-key",
        "SEEDANCE_ARK_BASE_URL": fake + "/api/v3",
        "SEEDANCE_ARK_MODELS": "*",
        "SEEDANCE_ARK_MAX_IN_FLIGHT": str(in_flight),
        "SEEDANCE_ARK_RPM": "1000000",
        "SEEDANCE_ALLOW_PRIVATE_URLS": "true",
        "SEEDANCE_ARK_CALLBACKS": "true" if callbacks else "false",
        "SEEDANCE_PUBLIC_URL": url,
    }
    if database_url is not None:
        settings["SEEDANCE_DATABASE_URL"] = database_url
    env = clean_env(settings)
    key = create_key(env)
    with running(
        gateway_command("serve", "--port", str(port)), env, port, "/healthz", home / "server.log"
    ) as server:
        store_url = database_url or f"sqlite:///{home / 'seedance.db'}"
        yield GatewayA(url, key, _async_url(store_url), server.pid)


def _async_url(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url.replace("sqlite:///", "sqlite+aiosqlite:///", 1)
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


# -- the report ------------------------------------------------------------------------------


def format_row(row: Row, base: Row | None) -> str:
    p50, p95, worst = row.quantile(0.5), row.quantile(0.95), max(row.latencies, default=0.0)
    ratio_p50 = f"{p50 / base.quantile(0.5):.2f}x" if base and base.quantile(0.5) > 0 else "-"
    ratio_calls = f"{row.per_task() / base.per_task():.2f}x" if base and base.per_task() else "-"
    cpu_ms = "-" if row.cpu is None else f"{1000 * row.cpu / max(1, row.tasks):.1f}"
    parts = " ".join(f"{kind} {row.per_task(kind):.2f}" for kind in API_KINDS)
    return (
        f"| {row.tasks} | {row.name} | {p50:.2f} | {p95:.2f} | {worst:.2f} | {ratio_p50} "
        f"| {row.per_task():.2f} ({parts}) | {ratio_calls} "
        f"| {row.per_task('download'):.2f} | {row.wall:.1f} | {row.settle_rate():.0f} "
        f"| {cpu_ms} |"
    )


HEADER = (
    "| in flight | row | latency p50 s | p95 s | max s | p50 vs poller 15 s "
    "| API calls per task | calls vs poller 15 s | downloads per task | wall s "
    "| settled per s | A's CPU ms per task |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def measure(args: argparse.Namespace, workdir: Path, database_url: str | None) -> list[Row]:
    counts = [int(c) for c in args.tasks.split(",")]
    timeout = args.work + args.jitter + 600
    rows: list[Row] = []
    wanted = set(args.rows.split(","))
    with fake_upstream(workdir, args.work, args.jitter) as fake:
        for count in counts if "pollers" in wanted else []:
            for interval in (15.0, 2.0):
                rows.append(asyncio.run(poller(fake, count, interval, timeout)))
                print(format_row(rows[-1], rows[-2] if interval == 2.0 else None), flush=True)
        for callbacks in [c for c in (True, False) if ("callbacks" if c else "polling") in wanted]:
            name = "ark, callbacks" if callbacks else "ark, polling"
            with gateway_a(
                workdir, fake, database_url, callbacks=callbacks, in_flight=max(counts)
            ) as a:
                for count in counts:
                    row = asyncio.run(through_gateway(name, a, fake, count, timeout))
                    rows.append(row)
                    base = next(
                        (r for r in rows if r.tasks == count and r.name == "poller 15 s"), None
                    )
                    print(format_row(row, base), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default="1,100,1000", help="tasks in flight, one row each")
    parser.add_argument("--work", type=float, default=15.0, help="seconds a fake task runs")
    parser.add_argument("--jitter", type=float, default=3.0, help="± seconds on --work")
    parser.add_argument("--quick", action="store_true", help="--tasks 1,100 --work 6 --jitter 1")
    parser.add_argument("--postgres", action="store_true", help="gateway A on PostgreSQL")
    parser.add_argument(
        "--pg-url", default=os.environ.get("SEEDANCE_BENCH_PG", "postgresql://127.0.0.1:5432/test")
    )
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--rows",
        default="pollers,callbacks,polling",
        help="which rows: pollers (the baselines), callbacks, polling (gateway A's two modes)",
    )
    args = parser.parse_args()
    if args.quick:
        args.tasks, args.work, args.jitter = "1,100", 6.0, 1.0
    if args.postgres and not postgres_reachable(args.pg_url):
        raise SystemExit(f"PostgreSQL is not reachable at {args.pg_url}")
    print(
        f"fake upstream: tasks run {args.work:g} ± {args.jitter:g} s; A on "
        f"{'PostgreSQL' if args.postgres else 'SQLite'}; {os.cpu_count()} CPUs\n"
    )
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-upstream-") as tmp:
        if args.postgres:
            with scratch_postgres(args.pg_url) as url:
                rows = measure(args, Path(tmp), url)
        else:
            rows = measure(args, Path(tmp), None)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = [
            {
                "tasks": r.tasks,
                "row": r.name,
                "p50": r.quantile(0.5),
                "p95": r.quantile(0.95),
                "max": max(r.latencies, default=0.0),
                "calls": r.calls,
                "wall": r.wall,
                "settled_per_s": r.settle_rate(),
                "cpu_ms_per_task": None if r.cpu is None else 1000 * r.cpu / max(1, r.tasks),
            }
            for r in rows
        ]
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
