"""A chain of two real gateways for the upstream provider's tests.

Gateway B renders with the preview provider and speaks the upstream's ``/api/v3`` contract (its
own SQLite database). Gateway A serves every model through provider ``ark`` whose base URL is
B's ``/api/v3`` (A's database is the backend under test). Nothing is mocked: A talks HTTP to B,
B calls A back, A copies B's MP4 into its own blobs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from ports import free_port
from seedance_gateway.domain import ids
from seedance_gateway.store import migrate, tables

from .support import make_server

TASKS = "/api/v3/contents/generations/tasks"
TERMINAL = {"succeeded", "failed", "cancelled", "expired"}
#: Loopback callbacks over plain HTTP, quick checks, quick reconciliation.
B_SETTINGS = {
    "allow_private_urls": "true",
    "webhook_allow_http": "true",
    "webhook_schedule": "0.3,0.3",
    "webhook_timeout_seconds": "2",
    "rate_limit": "100000/minute",
    "max_in_flight": "5000",
}
A_SETTINGS = {
    "ark_models": "*",
    "ark_poll_min_seconds": "0.3",
    "ark_poll_max_seconds": "1.5",
    "ark_list_interval_seconds": "0.02",
    "ark_reconcile_after_seconds": "2",
    "ark_timeout_seconds": "3",
    "rate_limit": "100000/minute",
    "max_in_flight": "5000",
    "heartbeat_seconds": "1",
    "lease_seconds": "5",
}


@contextmanager
def upstream_b(root: Path, *args: str, **settings: str) -> Iterator[Any]:
    """Gateway B on its own SQLite database; ``args`` go to ``serve``."""
    url = f"sqlite+aiosqlite:///{root / 'b.db'}"
    asyncio.run(migrate.upgrade(url))
    server = make_server(root / "b", url, **{**B_SETTINGS, **settings})
    server.key, server.account_id = server.create_key(10_000_000, name="gateway-a")
    server.start(*args)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def gateway_a(
    root: Path, database_url: str, base_url: str, key: str, **settings: str
) -> Iterator[Any]:
    """Gateway A, sending every model to ``base_url`` with ``key``."""
    server = make_server(
        root / "a",
        database_url,
        **{**A_SETTINGS, "ark_base_url": base_url, "ark_api_keys": key, **settings},
    )
    server.key, server.account_id = server.create_key(1_000_000)
    server.port = free_port()
    if settings.get("ark_callbacks", "true") == "true":
        server.env["SEEDANCE_PUBLIC_URL"] = server.url
    server.start()
    try:
        yield server
    finally:
        server.stop()


def v3_task(client: httpx.Client, task_id: str) -> dict[str, Any]:
    """``GET /api/v3/.../tasks/{id}`` (asserting 200)."""
    response = client.get(f"{TASKS}/{task_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_v3(
    client: httpx.Client, task_id: str, statuses: set[str] = TERMINAL, timeout: float = 90
) -> dict[str, Any]:
    """Polls the v3 task until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    task: dict[str, Any] = {}
    while time.monotonic() < deadline:
        task = v3_task(client, task_id)
        if task["status"] in statuses:
            return task
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} stuck: {task}")


def upstream_tasks(b: Any) -> list[dict[str, Any]]:
    """Every task on B (A's channel key), newest first."""
    with b.client() as client:
        response = client.get(TASKS, params={"page_size": 500})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def with_seed(b: Any, seed: int) -> list[dict[str, Any]]:
    """B's tasks made for the A task whose seed is ``seed`` (A sends its concrete seed)."""
    return [t for t in upstream_tasks(b) if t["seed"] == seed]


def upstream_row(a: Any, public_id: str) -> dict[str, Any]:
    """A's ``upstream_tasks`` row for a task, read from A's database."""

    async def read() -> dict[str, Any]:
        engine = create_async_engine(a.env["SEEDANCE_DATABASE_URL"])
        try:
            async with engine.connect() as conn:
                query = select(tables.upstream_tasks).where(
                    tables.upstream_tasks.c.task_id == ids.task_id_of(public_id)
                )
                return dict((await conn.execute(query)).mappings().one())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def received_on_b(b: Any, public_id: str) -> dict[str, Any]:
    """The create body B received for one of its tasks (its stored ``wire_request``)."""

    async def read() -> dict[str, Any]:
        engine = create_async_engine(b.env["SEEDANCE_DATABASE_URL"])
        try:
            async with engine.connect() as conn:
                query = select(tables.tasks.c.wire_request).where(
                    tables.tasks.c.id == ids.task_id_of(public_id)
                )
                body: dict[str, Any] = (await conn.execute(query)).scalar_one()
                return body
        finally:
            await engine.dispose()

    return asyncio.run(read())


def upstream_state(a: Any, public_id: str, want: str, timeout: float = 10) -> str:
    """The state of A's upstream row for a task, once it is ``want`` (or the last one seen)."""
    deadline = time.monotonic() + timeout
    state = str(upstream_row(a, public_id)["state"])
    while state != want and time.monotonic() < deadline:
        time.sleep(0.2)
        state = str(upstream_row(a, public_id)["state"])
    return state


def expire_on_b(b: Any, upstream_id: str) -> None:
    """Moves a B task's deadline into the past (B's own housekeeping then expires it)."""

    async def run() -> None:
        engine = create_async_engine(b.env["SEEDANCE_DATABASE_URL"])
        async with engine.begin() as conn:
            await conn.execute(
                update(tables.tasks)
                .where(tables.tasks.c.id == ids.task_id_of(upstream_id))
                .values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
            )
        await engine.dispose()

    asyncio.run(run())
