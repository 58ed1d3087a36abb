"""An account's queue in priority order (the upstream's ``priority``, 0-9, on the models that
take one).

A new task with a priority takes, in its own account's queue, the place of the first of that
account's queued tasks with a lower priority, and those move back one place each. The places
themselves (the jobs' ``run_at``, which the workers claim in order) are the ones the account
already held, so no other account ever waits longer because of a priority: it orders an
account's own tasks, never anyone else's. A task queued more than ``MAX_WAIT`` ago keeps its
place, so a stream of urgent tasks cannot starve an account's other tasks either: each waits at
most ``MAX_WAIT`` longer than it would have without priorities.

It runs in the create's transaction, which on PostgreSQL holds the account's row lock (the
credit hold), so an account's reorders never interleave; it reads at most ``HORIZON`` jobs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from seedance_gateway.domain.tasks import Status
from seedance_gateway.store import tables as t
from seedance_gateway.store.database import Connection

#: A queued task older than this is no longer moved back by a newer, more urgent one.
MAX_WAIT = timedelta(minutes=10)
#: The most queued jobs of one account a create reorders (its oldest ones within ``MAX_WAIT``).
HORIZON = 200


async def take_place(
    conn: Connection, *, account_id: str, kind: str, priority: int, stamp: datetime
) -> int:
    """Puts the account's just-queued task of ``priority`` (its job of ``kind``, queued at
    ``stamp``) ahead of the account's less urgent queued tasks; how many jobs moved."""
    if priority <= 0:
        return 0
    queue = await _queue(conn, account_id, kind, stamp)
    places = [run_at for _, run_at, _ in queue]
    ordered = sorted(queue, key=lambda job: -job[2])  # stable: by place within a priority
    moved = 0
    for (job_id, run_at, _), place in zip(ordered, places, strict=True):
        if run_at != place:
            await conn.execute(
                update(t.jobs)
                .where(t.jobs.c.id == job_id, t.jobs.c.state == "available")
                .values(run_at=place)
            )
            moved += 1
    return moved


async def _queue(
    conn: Connection, account_id: str, kind: str, stamp: datetime
) -> list[tuple[int, datetime, int]]:
    """(job id, place, priority) of the account's never-started queued jobs of ``kind`` that
    were queued within ``MAX_WAIT``, in queue order."""
    query = (
        select(t.jobs.c.id, t.jobs.c.run_at, t.tasks.c.request)
        .join(t.tasks, t.tasks.c.id == t.jobs.c.task_id)
        .where(
            t.tasks.c.account_id == account_id,
            t.tasks.c.status == str(Status.QUEUED),
            t.jobs.c.kind == kind,
            t.jobs.c.state == "available",
            t.jobs.c.attempt == 0,
            t.jobs.c.run_at <= stamp,
            t.jobs.c.created_at >= stamp - MAX_WAIT,
        )
        .order_by(t.jobs.c.run_at, t.jobs.c.id)
        .limit(HORIZON)
    )
    rows = (await conn.execute(query)).all()
    return [(int(r.id), r.run_at, int((r.request or {}).get("priority") or 0)) for r in rows]
