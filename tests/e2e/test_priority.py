"""``priority`` through a real server: tasks queued while no worker runs start, once one does,
most urgent first within the account, while another account's task keeps its turn."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from seedance_gateway.domain import ids
from seedance_gateway.store import tables

from .support import wait_for_status

TASKS = "/api/v3/contents/generations/tasks"


def queued(client: Any, priority: int | None = None) -> str:
    """A small 2.0 task (which takes a priority); its v1 id."""
    body: dict[str, Any] = {
        "model": "seedance-2-0-fast",
        "content": [{"type": "text", "text": "a paper boat on a pond"}],
        "resolution": "480p",
        "duration": 4,
        "generate_audio": False,
    }
    if priority is not None:
        body["priority"] = priority
    response = client.post(TASKS, json=body)
    assert response.status_code == 200, response.text
    return ids.task_id_of(response.json()["id"])


def start_order(server: Any, task_ids: list[str]) -> list[str]:
    """``task_ids`` by the time a worker started them (from the server's database)."""

    async def read() -> list[str]:
        engine = create_async_engine(server.env["SEEDANCE_DATABASE_URL"])
        try:
            async with engine.connect() as conn:
                query = (
                    select(tables.tasks.c.id)
                    .where(tables.tasks.c.id.in_(task_ids))
                    .order_by(tables.tasks.c.started_at)
                )
                return [str(r) for r in (await conn.execute(query)).scalars()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_urgent_tasks_start_first_within_their_account_only(server_factory: Any) -> None:
    server = server_factory(start=False, worker_concurrency="1")
    server.start("--no-worker")
    other_key, _ = server.create_key(10_000)
    with server.client() as mine, server.client(other_key) as theirs:
        first, second = queued(mine), queued(mine)
        stranger = queued(theirs)
        urgent = queued(mine, priority=9)
        made = [first, second, stranger, urgent]
        server.spawn("worker")
        for task_id in made:
            done = wait_for_status(mine if task_id != stranger else theirs, task_id, {"succeeded"})
            assert done["status"] == "succeeded", done
    # Mine held the 1st, 2nd and 4th places: the urgent one takes the first of them.
    assert start_order(server, made) == [urgent, first, stranger, second]
