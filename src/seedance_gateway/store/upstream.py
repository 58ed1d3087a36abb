"""The SQL of tasks carried by the real upstream: a durable state machine per task.

One ``upstream_tasks`` row per task handed to an upstream channel::

    (no row) --claim--> submitting --accepted--> active --succeeded--> fetching --> done
                            |                      |  \\--failed/expired/cancelled--> done
                            |                      \\-- (checked in batches until it ends)
                            \\--timeout after sending--> ambiguous --found--> active
                                                                  \\--surely absent--> (no row)

``submitting`` and ``ambiguous`` rows and ``active`` ones hold one of the channel's in-flight
slots. A row is written *before* the create request is sent, so a crash mid-request leaves a
``submitting`` row that the next attempt treats as ambiguous: it is reconciled through the
upstream's list, never blindly sent again (a second send could be a second paid task).
"""

from __future__ import annotations

import hmac
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, func, insert, select, update

from seedance_gateway.domain.tasks import TERMINAL, Status
from seedance_gateway.store import jobs, notify, outbox
from seedance_gateway.store import tables as t
from seedance_gateway.store.accounts import now
from seedance_gateway.store.database import Connection, Database
from seedance_gateway.store.rows import Job, task_from_row
from seedance_gateway.store.tasks import UPDATE_TASK, enqueue, finish, lock_jobs, locked_task

SUBMIT = "upstream_submit"  #: job kind: hand a task to the upstream
FETCH = "upstream_fetch"  #: job kind: copy a finished task's video into our blobs
HOLDS_SLOT = ("submitting", "ambiguous", "active")
CHECKED = ("active", "ambiguous")
ENDED = tuple(sorted(str(status) for status in TERMINAL))  #: a task's terminal statuses

#: The hot statements, built once and run prepared (``Connection.run``); ``of_task`` names the
#: row (``task_id`` is a column, so an ``UPDATE`` may not bind that name), and an ``UPDATE``
#: sets the columns its other parameters name.
_ROW = t.upstream_tasks.c.task_id == bindparam("of_task")
ROW_BY_TASK = select(t.upstream_tasks).where(_ROW)
ROW_FOR_UPDATE = ROW_BY_TASK.with_for_update()
INSERT_ROW = insert(t.upstream_tasks).returning(*t.upstream_tasks.c)
UPDATE_ROW = update(t.upstream_tasks).where(_ROW)
#: ``UPDATE_ROW`` for a row in one of some states.
ROW_SUBMITTED = UPDATE_ROW.where(t.upstream_tasks.c.state.in_(("submitting", "ambiguous")))
ROW_CHECKED = UPDATE_ROW.where(t.upstream_tasks.c.state.in_(CHECKED))
ROW_ACTIVE = UPDATE_ROW.where(t.upstream_tasks.c.state == "active")
#: ``UPDATE_ROW`` once the task has ended (by a copy, or otherwise).
ROW_OF_ENDED_TASK = UPDATE_ROW.where(
    select(t.tasks.c.id)
    .where(t.tasks.c.id == bindparam("of_task"), t.tasks.c.status.in_(ENDED))
    .exists()
)
#: A task still queued, started (the upstream says it runs).
START_QUEUED_TASK = UPDATE_TASK.where(t.tasks.c.status == str(Status.QUEUED))
LOCK_CHANNEL = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))
SLOTS_TAKEN = select(func.count()).where(
    t.upstream_tasks.c.channel == bindparam("channel"),
    t.upstream_tasks.c.state.in_(HOLDS_SLOT),
)


@dataclass(frozen=True, kw_only=True)
class UpstreamTask:
    """Where one task stands with the upstream."""

    task_id: str
    channel: str
    upstream_model: str
    upstream_id: str | None
    state: str
    service_tier: str
    seed: int | None
    callback_secret: str
    submitted_at: datetime
    submits: int
    next_check_at: datetime
    checks: int
    upstream_status: str | None


@dataclass(frozen=True, kw_only=True)
class Slot:
    """The row a submit step works on; ``fresh`` when this step just took the slot."""

    row: UpstreamTask
    fresh: bool


@dataclass(frozen=True, kw_only=True)
class Handoff:
    """What the submit step needs to send a task: the channel it holds a slot on."""

    channel: str
    upstream_model: str
    seed: int | None
    service_tier: str
    callback_secret: str


@dataclass(frozen=True, kw_only=True)
class Checked:
    """What a check found out about one task, for ``UpstreamStore.record``."""

    task_id: str
    upstream_status: str  #: what the upstream says (``running`` starts our task too)
    next_check_at: datetime  #: when to ask again (unless ``finished``)
    finished: bool = False  #: the upstream succeeded: queue the copy of its video
    error: str | None = None


class TaskGone(Exception):
    """The step's job lost its lease, or its task has ended: there is nothing to send."""


class UpstreamStore:
    """Every write of the upstream state machine, each one transaction."""

    def __init__(self, db: Database, *, fetch_attempts: int = 5) -> None:
        self.db = db
        self.fetch_attempts = fetch_attempts

    async def get(self, task_id: str) -> UpstreamTask | None:
        """The task's upstream row, if it has one."""
        row = await self.db.read_one(ROW_BY_TASK, {"of_task": task_id})
        return _row(row) if row else None

    async def claim_slot(
        self, job: Job, channels: list[tuple[str, int]], handoff: Handoff
    ) -> Slot | None:
        """Takes an in-flight slot on the first of ``channels`` (name, limit) with one free.

        Returns the new ``submitting`` row (fresh); the existing row if the task already has one
        (an earlier attempt may have sent it); None when every channel is full. Raises
        ``TaskGone`` when the job's lease is lost or the task has ended.
        """
        async with self.db.write() as conn:
            await lock_jobs(conn, job.task_id or "")
            held = await jobs.holds_lease(conn, job)
            task = await locked_task(conn, job.task_id or "")
            if not held or task is None or task.status.terminal:
                raise TaskGone(job.task_id or "")
            existing = await _row_for_update(conn, task.id)
            if existing is not None:
                return Slot(row=existing, fresh=False)
            for channel, limit in channels:
                await _lock_channel(conn, channel)
                if await _slots_taken(conn, channel) >= limit:
                    continue
                stamp = now()
                values = {
                    "task_id": task.id,
                    "channel": channel,
                    "upstream_model": handoff.upstream_model,
                    "state": "submitting",
                    "service_tier": handoff.service_tier,
                    "seed": handoff.seed,
                    "callback_secret": handoff.callback_secret,
                    "submitted_at": stamp,
                    "next_check_at": stamp,
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                return Slot(row=_row((await conn.run(INSERT_ROW, values)).one()), fresh=True)
            return None

    async def accepted(self, job: Job, upstream_id: str, next_check_at: datetime) -> None:
        """Records the upstream's id (whatever became of the job's lease: it must never be lost)
        and hands the submit job off, in one transaction."""
        async with self.db.write() as conn:
            active = {
                "of_task": job.task_id or "",
                "state": "active",
                "upstream_id": upstream_id,
                "upstream_status": "queued",
                "next_check_at": next_check_at,
                "last_error": None,
                "updated_at": now(),
            }
            await conn.run(ROW_SUBMITTED, active)
            await jobs.hand_off(conn, job)

    async def ambiguous(self, task_id: str, error: str, next_check_at: datetime) -> None:
        """The create request may have reached the upstream: reconcile before any resend."""
        async with self.db.write() as conn:
            await conn.execute(
                update(t.upstream_tasks)
                .where(_is(task_id), t.upstream_tasks.c.state == "submitting")
                .values(
                    state="ambiguous",
                    last_error=error[:1000],
                    next_check_at=next_check_at,
                    updated_at=now(),
                )
            )

    async def release(self, task_id: str) -> None:
        """The create request surely did not arrive: the slot is free, the task may be resent."""
        async with self.db.write() as conn:
            await conn.execute(
                delete(t.upstream_tasks).where(
                    _is(task_id), t.upstream_tasks.c.state.in_(("submitting", "ambiguous"))
                )
            )

    async def resubmit(self, task_id: str, max_attempts: int) -> bool:
        """An ambiguous send that never arrived: frees the slot and queues a fresh submit."""
        async with self.db.write() as conn:
            await lock_jobs(conn, task_id)
            task = await locked_task(conn, task_id)
            gone = await conn.execute(
                delete(t.upstream_tasks).where(
                    _is(task_id), t.upstream_tasks.c.state == "ambiguous"
                )
            )
            if gone.rowcount != 1 or task is None or task.status.terminal:
                return False
            await enqueue(conn, task_id, SUBMIT, max_attempts)
        return True

    async def adopt(self, task_id: str, upstream_id: str) -> bool:
        """An ambiguous send was found upstream: it is the task's, checked from now on."""
        async with self.db.write() as conn:
            result = await conn.execute(
                update(t.upstream_tasks)
                .where(_is(task_id), t.upstream_tasks.c.state == "ambiguous")
                .values(
                    state="active", upstream_id=upstream_id, next_check_at=now(), updated_at=now()
                )
            )
        return result.rowcount == 1

    async def known_ids(self, upstream_ids: list[str]) -> set[str]:
        """Which of these upstream ids already belong to one of our tasks."""
        if not upstream_ids:
            return set()
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(t.upstream_tasks.c.upstream_id).where(
                    t.upstream_tasks.c.upstream_id.in_(upstream_ids)
                )
            )
            return {r[0] for r in rows}

    async def claim_due(self, channel: str, limit: int, lease_seconds: float) -> list[UpstreamTask]:
        """Up to ``limit`` rows of ``channel`` due for a check, leased by pushing their time on."""
        stamp = now()
        due = (
            select(t.upstream_tasks.c.task_id)
            .where(
                t.upstream_tasks.c.channel == channel,
                t.upstream_tasks.c.state.in_(CHECKED),
                t.upstream_tasks.c.next_check_at <= stamp,
            )
            .order_by(t.upstream_tasks.c.next_check_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(t.upstream_tasks)
            .where(t.upstream_tasks.c.task_id.in_(due.scalar_subquery()))
            .values(
                next_check_at=stamp + timedelta(seconds=lease_seconds),
                checks=t.upstream_tasks.c.checks + 1,
                updated_at=stamp,
            )
            .returning(*t.upstream_tasks.c)
        )
        async with self.db.write() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_row(r) for r in rows]

    async def next_due(self) -> datetime | None:
        """When the earliest check falls due (None when nothing is checked)."""
        query = select(func.min(t.upstream_tasks.c.next_check_at)).where(
            t.upstream_tasks.c.state.in_(CHECKED)
        )
        async with self.db.read() as conn:
            earliest: datetime | None = (await conn.execute(query)).scalar()
        return earliest

    async def reschedule(
        self,
        task_id: str,
        next_check_at: datetime,
        *,
        status: str | None = None,
        error: str | None = None,
    ) -> None:
        """Sets the next check (and what the upstream last said)."""
        async with self.db.write() as conn:
            await _reschedule(conn, task_id, next_check_at, status=status, error=error)

    async def record(self, checks: list[Checked]) -> int:
        """What one round of checks found, in one transaction: each task rescheduled, marked
        running (our task too: its first start is an event) or, when the upstream finished
        it, its copy queued (once). Returns how many copies were queued."""
        copies = 0
        async with self.db.write() as conn:
            for check in sorted(checks, key=lambda c: c.task_id):
                if check.finished:
                    copies += await _to_fetch(conn, check.task_id, self.fetch_attempts)
                elif check.upstream_status == "running":
                    await _mark_running(conn, check.task_id, check.next_check_at)
                else:
                    await _reschedule(
                        conn,
                        check.task_id,
                        check.next_check_at,
                        status=check.upstream_status,
                        error=check.error,
                    )
        return copies

    async def end(self, task_id: str, status: Status, error: dict[str, str] | None) -> bool:
        """Ends the task as the upstream reported (credits released), and the row with it."""
        async with self.db.write() as conn:
            await lock_jobs(conn, task_id)
            task = await locked_task(conn, task_id)
            await conn.execute(
                update(t.upstream_tasks)
                .where(_is(task_id))
                .values(state="done", upstream_status=str(status), updated_at=now())
            )
            if task is None or task.status.terminal:
                return False
            return await finish(conn, task, status, error=error, result=None)

    async def complete_fetch(
        self,
        job: Job,
        status: Status,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
    ) -> bool:
        """``JobStore.complete`` for a copy job, closing the task's row once the task has ended
        (by this copy or otherwise), in the same transaction."""
        task_id = job.task_id or ""
        async with self.db.write() as conn:
            settled = await jobs.complete(conn, job, status, result=result, error=error)
            done = {"of_task": task_id, "state": "done", "updated_at": now()}
            await conn.run(ROW_OF_ENDED_TASK, done)
        return settled

    async def done(self, task_id: str) -> None:
        """Nothing more to do upstream for this task."""
        async with self.db.write() as conn:
            await conn.execute(
                update(t.upstream_tasks).where(_is(task_id)).values(state="done", updated_at=now())
            )

    async def nudge(self, task_id: str, secret: str, *, finished_as: str | None = None) -> bool:
        """An upstream callback, if ``secret`` is the task's own: check the task now.

        ``finished_as`` is the upstream id a callback says has succeeded: when it is the row's,
        the copy is queued at once (the fetch step asks the upstream before copying anything).
        """
        async with self.db.write() as conn:
            row = await _row_for_update(conn, task_id)
            if row is None or not hmac.compare_digest(
                row.callback_secret.encode(), secret.encode()
            ):
                return False
            if row.state == "active" and finished_as and finished_as == row.upstream_id:
                await _to_fetch(conn, task_id, self.fetch_attempts)
                return True
            stamp = now()
            await conn.run(
                ROW_CHECKED, {"of_task": task_id, "next_check_at": stamp, "updated_at": stamp}
            )
            await notify.announce(conn)
        return True

    async def recheck(self, task_id: str, next_check_at: datetime) -> None:
        """A copy queued too early (the upstream has not finished yet): back to checking."""
        async with self.db.write() as conn:
            await conn.execute(
                update(t.upstream_tasks)
                .where(_is(task_id), t.upstream_tasks.c.state == "fetching")
                .values(state="active", next_check_at=next_check_at, updated_at=now())
            )

    async def slots_taken(self, channel: str) -> int:
        """Tasks holding one of ``channel``'s in-flight slots."""
        async with self.db.read() as conn:
            return await _slots_taken(conn, channel)


def _same_secret(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def _is(task_id: str) -> Any:
    return t.upstream_tasks.c.task_id == task_id


def _row(row: Any) -> UpstreamTask:
    return UpstreamTask(**{f: row[f] for f in UpstreamTask.__dataclass_fields__})


async def _row_for_update(conn: Connection, task_id: str) -> UpstreamTask | None:
    """The task's row, locked on PostgreSQL (SQLite's compiler leaves ``FOR UPDATE`` out)."""
    row = (await conn.run(ROW_FOR_UPDATE, {"of_task": task_id})).first()
    return _row(row) if row else None


async def _reschedule(
    conn: Connection,
    task_id: str,
    next_check_at: datetime,
    *,
    status: str | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "of_task": task_id,
        "next_check_at": next_check_at,
        "updated_at": now(),
    }
    if status is not None:
        values["upstream_status"] = status
    if error is not None:
        values["last_error"] = error[:1000]
    await conn.run(UPDATE_ROW, values)


async def _mark_running(conn: Connection, task_id: str, next_check_at: datetime) -> None:
    await _reschedule(conn, task_id, next_check_at, status="running")
    stamp = now()
    started = {
        "task_id": task_id,
        "status": str(Status.RUNNING),
        "started_at": stamp,
        "updated_at": stamp,
    }
    row = (await conn.run(START_QUEUED_TASK, started)).first()
    if row is not None:
        await outbox.record_status_change(conn, task_from_row(row))


async def _to_fetch(conn: Connection, task_id: str, attempts: int) -> bool:
    fetching = {
        "of_task": task_id,
        "state": "fetching",
        "upstream_status": "succeeded",
        "updated_at": now(),
    }
    if (await conn.run(ROW_ACTIVE, fetching)).rowcount != 1:
        return False
    await enqueue(conn, task_id, FETCH, attempts)
    return True


async def _lock_channel(conn: Connection, channel: str) -> None:
    """Serializes slot counting per channel (SQLite's BEGIN IMMEDIATE already does)."""
    if conn.dialect.name == "postgresql":
        key = zlib.crc32(f"upstream-channel:{channel}".encode())
        await conn.run(LOCK_CHANNEL, {"key": key})


async def _slots_taken(conn: Connection, channel: str) -> int:
    return int((await conn.run(SLOTS_TAKEN, {"channel": channel})).scalar())
