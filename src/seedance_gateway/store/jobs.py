"""The job queue's SQL: claim with a lease, heartbeat, fenced settle, retry, reap and expire.

Every write a worker makes after claiming is fenced: it applies only while the job is still
``running`` under the same ``lease_owner`` and ``attempt``. Zero rows means the lease was lost
(another worker took over), so the result is dropped and nothing is charged.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, select, update

from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.store import outbox
from seedance_gateway.store import tables as t
from seedance_gateway.store.accounts import now
from seedance_gateway.store.database import Connection, Database
from seedance_gateway.store.rows import Job, job_from_row, task_from_row
from seedance_gateway.store.tasks import IN_FLIGHT, UPDATE_TASK, finish, lock_jobs, locked_task

CLAIMABLE = ("available", "retryable")
#: The render of a task on an open-weight model (provider ``local``): its own kind, so that only
#: workers that serve those models claim it, each only while its device is free.
RENDER_LOCAL = "render_local"


@dataclass(frozen=True, kw_only=True)
class Waiting:
    """Due jobs of one kind waiting for a worker: how many, and how long the oldest has waited."""

    kind: str
    depth: int
    oldest_seconds: float


def _fence(job_id: Any, owner: Any, attempt: Any) -> ColumnElement[bool]:
    """A worker's fence: the job is still ``running`` under the same lease owner and attempt."""
    return and_(
        t.jobs.c.id == job_id,
        t.jobs.c.lease_owner == owner,
        t.jobs.c.attempt == attempt,
        t.jobs.c.state == "running",
    )


#: The fence for hot statements built once and run prepared with ``fenced(job)``'s values.
FENCE = _fence(bindparam("job_id"), bindparam("owner"), bindparam("job_attempt"))
HOLDS_LEASE = select(t.jobs.c.id).where(FENCE)
#: Ends a fenced job and its lease; the caller passes ``state``, ``updated_at`` (and may pass
#: ``last_error``).
END_JOB = update(t.jobs).where(FENCE).values(lease_owner=None, lease_until=None)


def fenced(job: Job) -> dict[str, Any]:
    """``FENCE``'s values for ``job``."""
    return {"job_id": job.id, "owner": job.lease_owner, "job_attempt": job.attempt}


def fence(job: Job) -> ColumnElement[bool]:
    """The fence with ``job``'s values bound in (for statements built per call)."""
    return _fence(job.id, job.lease_owner, job.attempt)


class JobStore:
    """What workers do to jobs, each step one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(
        self, owner: str, limit: int, lease_seconds: float, kinds: tuple[str, ...] = ("generate",)
    ) -> list[Job]:
        """Leases up to ``limit`` due jobs of ``kinds`` to ``owner``, earlier-listed kinds first."""
        [jobs] = await self.claim_each(owner, [(kinds, limit)], lease_seconds)
        return jobs

    async def claim_each(
        self, owner: str, wants: list[tuple[tuple[str, ...], int]], lease_seconds: float
    ) -> list[list[Job]]:
        """``claim`` for each (kinds, limit) of ``wants``, all in one transaction (a worker's
        pools claim together: one commit per round, not one per pool)."""
        stamp = now()
        lease = {"owner": owner, "now": stamp, "until": stamp + timedelta(seconds=lease_seconds)}
        claimed: list[list[Job]] = []
        async with self.db.write() as conn:
            for kinds, limit in wants:
                result = await conn.run(_claim_statement(kinds), {**lease, "limit": limit})
                claimed.append([job_from_row(r) for r in result.rows])
        return claimed

    async def heartbeat(self, job: Job, lease_seconds: float) -> bool:
        """Extends the lease; False means it was lost."""
        stamp = now()
        async with self.db.write() as conn:
            result = await conn.execute(
                update(t.jobs)
                .where(fence(job))
                .values(lease_until=stamp + timedelta(seconds=lease_seconds), updated_at=stamp)
            )
        return result.rowcount == 1

    async def start_task(self, job: Job) -> Task | None:
        """Marks the job's task running; None if the lease is lost or the task is finished."""
        async with self.db.write() as conn:
            if not await holds_lease(conn, job):
                return None
            before = await locked_task(conn, job.task_id)
            if before is None or before.status.terminal:
                return None
            stamp = now()
            started = {
                "task_id": job.task_id,
                "status": str(Status.RUNNING),
                "started_at": before.started_at or stamp,
                "updated_at": stamp,
            }
            task = task_from_row((await conn.run(UPDATE_TASK, started)).one())
            if before.started_at is None:  # the first start raises generation.processing
                await outbox.record_status_change(conn, task)
        return task

    async def complete(
        self,
        job: Job,
        status: Status,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
    ) -> bool:
        """Finishes job and task together, settling credits; False if the lease was lost."""
        async with self.db.write() as conn:
            return await complete(conn, job, status, result=result, error=error)

    async def retry(self, job: Job, error: str, delay_seconds: float) -> bool:
        """Puts the job back for a later attempt and the task back to queued."""
        stamp = now()
        async with self.db.write() as conn:
            fenced = await conn.execute(
                update(t.jobs)
                .where(fence(job))
                .values(
                    state="retryable",
                    lease_owner=None,
                    lease_until=None,
                    last_error=error,
                    run_at=stamp + timedelta(seconds=delay_seconds),
                    updated_at=stamp,
                )
            )
            if fenced.rowcount != 1:
                return False
            await _requeue_task(conn, job.task_id)
        return True

    async def hand_off(self, job: Job) -> bool:
        """Ends the job without ending its task: a later step (the upstream's) carries it on."""
        async with self.db.write() as conn:
            return await hand_off(conn, job)

    async def defer(self, job: Job, delay_seconds: float, reason: str) -> bool:
        """Puts the job back for later, not counting this attempt (it waited, it did not fail)."""
        stamp = now()
        async with self.db.write() as conn:
            fenced = await conn.execute(
                update(t.jobs)
                .where(fence(job))
                .values(
                    state="available",
                    attempt=t.jobs.c.attempt - 1,
                    lease_owner=None,
                    lease_until=None,
                    last_error=reason,
                    run_at=stamp + timedelta(seconds=delay_seconds),
                    updated_at=stamp,
                )
            )
        return fenced.rowcount == 1

    async def waiting(self) -> list[Waiting]:
        """The due jobs waiting for a worker, by kind: one aggregate over ``(state, run_at)``,
        so its cost follows the jobs waiting, never the jobs (or tasks) ever made."""
        stamp = now()
        query = (
            select(t.jobs.c.kind, func.count(), func.min(t.jobs.c.run_at))
            .where(t.jobs.c.state.in_(CLAIMABLE), t.jobs.c.run_at <= stamp)
            .group_by(t.jobs.c.kind)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Waiting(kind=kind, depth=int(count), oldest_seconds=(stamp - oldest).total_seconds())
            for kind, count, oldest in rows
        ]

    async def reap(self) -> int:
        """Re-queues jobs whose lease expired, or fails their task when out of attempts."""
        stamp = now()
        async with self.db.read() as conn:
            lapsed = select(t.jobs).where(t.jobs.c.state == "running", t.jobs.c.lease_until < stamp)
            rows = (await conn.execute(lapsed)).mappings().all()
        reaped = 0
        for row in rows:  # one job per transaction (see ``tasks.lock_jobs``)
            async with self.db.write() as conn:
                reaped += await _reap_one(conn, job_from_row(row), stamp)
        return reaped

    async def expire(self) -> int:
        """Expires unfinished tasks past their deadline, releasing their credits."""
        stamp = now()
        async with self.db.read() as conn:
            overdue = select(t.tasks.c.id).where(
                t.tasks.c.status.in_(IN_FLIGHT), t.tasks.c.expires_at < stamp
            )
            task_ids = (await conn.execute(overdue)).scalars().all()
        expired = 0
        for task_id in task_ids:  # one task per transaction (see ``tasks.lock_jobs``)
            async with self.db.write() as conn:
                expired += await _expire_one(conn, task_id, stamp)
        return expired


async def complete(
    conn: Connection,
    job: Job,
    status: Status,
    *,
    result: dict[str, Any] | None,
    error: dict[str, str] | None,
) -> bool:
    """``JobStore.complete`` inside the caller's transaction."""
    ended = await conn.run(
        END_JOB,
        {
            **fenced(job),
            "state": "completed" if status is Status.SUCCEEDED else "discarded",
            "last_error": error["message"] if error else None,
            "updated_at": now(),
        },
    )
    if ended.rowcount != 1:
        return False
    task = await locked_task(conn, job.task_id)
    if task is None or task.status.terminal:
        return False
    return await finish(conn, task, status, error=error, result=result)


async def hand_off(conn: Connection, job: Job) -> bool:
    """``JobStore.hand_off`` inside the caller's transaction."""
    ended = await conn.run(END_JOB, {**fenced(job), "state": "completed", "updated_at": now()})
    return ended.rowcount == 1


@functools.cache
def _claim_statement(kinds: tuple[str, ...]) -> Any:
    """Leases up to ``:limit`` due jobs of ``kinds`` to ``:owner`` until ``:until``, built
    once per ``kinds`` (their order is the rank)."""
    rank = case({kind: index for index, kind in enumerate(kinds)}, value=t.jobs.c.kind)
    due = (
        select(t.jobs.c.id)
        .where(
            t.jobs.c.state.in_(CLAIMABLE),
            t.jobs.c.run_at <= bindparam("now"),
            t.jobs.c.kind.in_(kinds),
        )
        .order_by(rank, t.jobs.c.run_at, t.jobs.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(t.jobs)
        .where(t.jobs.c.id.in_(due.scalar_subquery()))
        .values(
            state="running",
            attempt=t.jobs.c.attempt + 1,
            lease_owner=bindparam("owner"),
            lease_until=bindparam("until"),
            updated_at=bindparam("now"),
        )
        .returning(*t.jobs.c)
    )


async def holds_lease(conn: Connection, job: Job) -> bool:
    """Whether ``job`` is still running under its lease (its fence holds)."""
    return (await conn.run(HOLDS_LEASE, fenced(job))).first() is not None


async def _requeue_task(conn: Connection, task_id: str | None) -> None:
    await conn.execute(
        update(t.tasks)
        .where(t.tasks.c.id == task_id, t.tasks.c.status == str(Status.RUNNING))
        .values(status=str(Status.QUEUED), progress=0, updated_at=now())
    )


async def _reap_one(conn: Connection, job: Job, stamp: datetime) -> int:
    """Re-queues or fails one job whose lease expired before ``stamp``; 0 if it moved on."""
    last = job.attempt >= job.max_attempts
    values: dict[str, Any] = (
        {"state": "discarded", "last_error": "lease expired on the last attempt"}
        if last
        else {"state": "retryable", "run_at": stamp, "last_error": "lease expired (worker lost)"}
    )
    fenced = await conn.execute(
        update(t.jobs)
        .where(fence(job), t.jobs.c.lease_until < stamp)
        .values(lease_owner=None, lease_until=None, updated_at=stamp, **values)
    )
    if fenced.rowcount != 1:
        return 0
    if job.kind == outbox.DELIVER:
        if last:
            await outbox.abandon_delivery(conn, job.payload)
        return 1
    if not last:
        await _requeue_task(conn, job.task_id)
        return 1
    task = await locked_task(conn, job.task_id)
    if task is not None and not task.status.terminal:
        await finish(
            conn,
            task,
            Status.FAILED,
            error={"code": "worker_lost", "message": "the task was interrupted too many times"},
            result=None,
        )
    return 1


async def _expire_one(conn: Connection, task_id: str, stamp: datetime) -> int:
    """Expires one task if it is still unfinished past its deadline; 1 if it did."""
    await lock_jobs(conn, task_id)
    task = await locked_task(conn, task_id)
    if task is None or task.status.terminal or not task.expires_at or task.expires_at >= stamp:
        return 0
    error = {"code": "expired", "message": "the task did not finish before its deadline"}
    if not await finish(conn, task, Status.EXPIRED, error=error, result=None):
        return 0
    await conn.execute(
        update(t.jobs)
        .where(t.jobs.c.task_id == task.id, t.jobs.c.state != "completed")
        .values(state="cancelled", lease_owner=None, lease_until=None, updated_at=stamp)
    )
    return 1
