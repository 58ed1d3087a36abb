"""Benchmark webhook delivery: durable, signed deliveries against bare POSTs to the same receiver.

Both sides POST the same JSON bodies to the same local receiver (a uvicorn + Starlette app in
its own process) with the same concurrency, so the ratio compares across machines:

* baseline: an httpx client POSTing N pre-rendered bodies, C at a time;
* ours: N test events queued through the store (one outbox transaction each, timed apart), then
  a real ``Worker`` with ``SEEDANCE_WEBHOOK_CONCURRENCY=C`` claims, renders, signs, POSTs through
  the outbound guard and settles each delivery in a fenced transaction.

Reported: deliveries per second for both and their ratio, and the latency from an event's commit
to its arrival at the receiver (p50/p95) when events are raised one at a time into an idle worker.

Usage: ``python bench/bench_webhooks.py [--events N] [--concurrency C] [--postgres]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import secrets
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from seedance_gateway import catalog as catalog_module
from seedance_gateway import config
from seedance_gateway.app import build_worker
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.queue import Wakeup
from seedance_gateway.scratch import Scratch
from seedance_gateway.store import Store, migrate
from seedance_gateway.webhooks.manage import example_task

PG_ADMIN_URL = os.environ.get("SEEDANCE_BENCH_PG", "postgresql://127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_receiver(port: int, arrivals: Any) -> None:
    """The receiver process: answers 200 and reports (webhook-id, arrival time)."""

    async def hook(request: Request) -> PlainTextResponse:
        await request.body()
        arrivals.put((request.headers.get("webhook-id", ""), time.time()))
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("receiver did not start")


def drain(arrivals: Any, count: int, timeout: float = 300) -> list[tuple[str, float]]:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got.append(arrivals.get(timeout=max(0.1, deadline - time.monotonic())))
    return got


async def baseline(url: str, body: str, events: int, concurrency: int) -> float:
    """Seconds for ``events`` bare POSTs, ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(trust_env=False) as client:

        async def post(i: int) -> None:
            async with gate:
                headers = {"content-type": "application/json", "webhook-id": f"base_{i}"}
                response = await client.post(url, content=body, headers=headers)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(post(i) for i in range(events)))
        return time.perf_counter() - started


async def ours(
    settings: config.Settings, receiver: str, events: int, arrivals: Any
) -> dict[str, float]:
    store = Store.open(settings.effective_database_url)
    account = await store.accounts.create_account("bench", 0)
    endpoint = await store.webhooks.create_endpoint(
        account_id=account,
        url=receiver,
        description="",
        event_types=wh.DEFAULT_EVENT_TYPES,
        enabled=True,
        secret="whsec_" + "YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2g=",
    )
    data = example_task(account, wh.SUCCEEDED).to_json()
    started = time.perf_counter()
    for _ in range(events):
        await store.webhooks.send_test(endpoint, wh.SUCCEEDED, data)
    enqueue = time.perf_counter() - started
    catalog = catalog_module.load()
    wakeup = Wakeup()
    worker = build_worker(settings, store, wakeup, catalog, Scratch(settings.home / "tmp"))
    stop = asyncio.Event()
    started = time.perf_counter()
    runner = asyncio.create_task(worker.run(stop))
    got = await asyncio.to_thread(drain, arrivals, events)
    deliver = time.perf_counter() - started
    latencies = []
    for _ in range(30):  # one event at a time into an idle worker
        await asyncio.sleep(0.05)
        raised = time.time()
        await store.webhooks.send_test(endpoint, wh.SUCCEEDED, data)
        wakeup.notify()
        [(_, arrived)] = await asyncio.to_thread(drain, arrivals, 1)
        latencies.append((arrived - raised) * 1000)
    stop.set()
    wakeup.notify()
    await runner
    await worker.close()
    await store.close()
    assert len(got) == events, f"only {len(got)} of {events} deliveries arrived"
    return {
        "enqueue_s": enqueue,
        "deliver_s": deliver,
        "latency_p50_ms": statistics.median(latencies),
        "latency_p95_ms": sorted(latencies)[int(len(latencies) * 0.95) - 1],
    }


def database(backend: str, home: Path) -> tuple[str, str | None]:
    """The database URL, and the PostgreSQL database to drop afterwards."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{home / 'bench.db'}", None
    name = f"sdg_bench_{secrets.token_hex(4)}"
    asyncio.run(pg_admin(f"CREATE DATABASE {name}"))
    return f"postgresql+asyncpg://127.0.0.1:5432/{name}", name


async def pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", action="store_true", help="use PostgreSQL, not SQLite")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    port = free_port()
    arrivals: Any = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=run_receiver, args=(port, arrivals), daemon=True)
    receiver.start()
    wait_port(port)
    receiver_url = f"http://127.0.0.1:{port}/hook"
    body = json.dumps({"type": wh.SUCCEEDED, "data": {"id": "task_x", "status": "succeeded"}})
    base_s = asyncio.run(baseline(receiver_url, body * 4, args.events, args.concurrency))
    drain(arrivals, args.events)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        backend = "postgres" if args.postgres else "sqlite"
        url, dropped = database(backend, home)
        settings = config.Settings(
            home=home,
            database_url=url,
            allow_private_urls=True,
            webhook_allow_http=True,
            webhook_concurrency=args.concurrency,
            poll_seconds=0.5,
        )
        asyncio.run(migrate.upgrade(settings.effective_database_url))
        try:
            result = asyncio.run(ours(settings, receiver_url, args.events, arrivals))
        finally:
            if dropped:
                asyncio.run(pg_admin(f"DROP DATABASE IF EXISTS {dropped} WITH (FORCE)"))
    receiver.terminate()
    base_rate = args.events / base_s
    our_rate = args.events / result["deliver_s"]
    print(f"backend {backend}, {args.events} events, concurrency {args.concurrency}")
    print(f"  baseline bare POSTs      {base_rate:8.0f} /s")
    print(f"  durable deliveries       {our_rate:8.0f} /s   ratio {our_rate / base_rate:.3f}x")
    print(f"  enqueue (outbox tx each) {args.events / result['enqueue_s']:8.0f} /s")
    print(
        f"  commit -> arrival, idle worker: p50 {result['latency_p50_ms']:.1f} ms, "
        f"p95 {result['latency_p95_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
