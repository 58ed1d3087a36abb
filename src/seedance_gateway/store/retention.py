"""Retention's SQL: the tasks whose blobs are due for collection, and the ``collect`` job.

A task's blobs are due once it was deleted, or once it finished before the retention cutoff;
partial indexes (``ix_tasks_uncollected_*``) find them without scanning the tasks that are done
with. Only finished tasks qualify, so a queued or running task's inputs are never collected.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update

from seedance_gateway.store import tables as t
from seedance_gateway.store.accounts import now
from seedance_gateway.store.database import Database

COLLECT = "collect"
#: A collect job that is waiting or being run: no second one is queued beside it.
PENDING_STATES = ("available", "retryable", "running")


_PENDING = (
    select(t.jobs.c.id).where(t.jobs.c.kind == COLLECT, t.jobs.c.state.in_(PENDING_STATES)).limit(1)
)


class RetentionStore:
    """Finds due tasks, marks them collected, and queues the job that collects them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def schedule(self) -> bool:
        """Queues a ``collect`` job unless one is pending; whether one was queued. Called every
        few seconds by every worker: it looks in a read first, and takes the write lock only
        when there is none (then looks again)."""
        async with self.db.read() as conn:
            if (await conn.execute(_PENDING)).first() is not None:
                return False
        stamp = now()
        async with self.db.write() as conn:
            if (await conn.execute(_PENDING)).first() is not None:
                return False
            await conn.execute(
                insert(t.jobs).values(
                    kind=COLLECT,
                    state="available",
                    attempt=0,
                    max_attempts=3,
                    run_at=stamp,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
        return True

    async def due(self, *, finished_before: datetime | None, limit: int) -> list[str]:
        """Up to ``limit`` task ids whose blobs are due: deleted ones first, then those that
        finished before ``finished_before`` (None: results are kept for ever)."""
        uncollected = t.tasks.c.blobs_collected_at.is_(None)
        deleted = (
            select(t.tasks.c.id)
            .where(uncollected, t.tasks.c.deleted_at.is_not(None))
            .order_by(t.tasks.c.deleted_at)
            .limit(limit)
        )
        async with self.db.read() as conn:
            found = list((await conn.execute(deleted)).scalars())
            if finished_before is not None and len(found) < limit:
                expired = (
                    select(t.tasks.c.id)
                    .where(uncollected, t.tasks.c.finished_at < finished_before)
                    .order_by(t.tasks.c.finished_at)
                    .limit(limit - len(found))
                )
                found += [i for i in (await conn.execute(expired)).scalars() if i not in found]
        return found

    async def mark_collected(self, task_ids: Sequence[str]) -> None:
        """Records that these tasks' blobs are gone."""
        if not task_ids:
            return
        async with self.db.write() as conn:
            await conn.execute(
                update(t.tasks)
                .where(t.tasks.c.id.in_(list(task_ids)), t.tasks.c.blobs_collected_at.is_(None))
                .values(blobs_collected_at=now())
            )
