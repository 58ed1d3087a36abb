"""Tasks: submit (hold + insert + enqueue, one transaction), read, list and cancel."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Select,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from seedance_gateway import metrics
from seedance_gateway.domain import ids, ledger
from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    InvalidState,
    NotFound,
    RateLimited,
)
from seedance_gateway.store import outbox, priority
from seedance_gateway.store import tables as t
from seedance_gateway.store.accounts import (
    append_entry,
    change_balance,
    count_moved,
    now,
    record_entry,
)
from seedance_gateway.store.database import Connection, Database, after_commit
from seedance_gateway.store.rows import task_from_row

IN_FLIGHT = (str(Status.QUEUED), str(Status.RUNNING))
#: Status reads, built once and run prepared (``Database.read_one``).
TASK_BY_ID = select(t.tasks).where(t.tasks.c.id == bindparam("task_id"))
OWNED_TASK = TASK_BY_ID.where(
    t.tasks.c.account_id == bindparam("account_id"), t.tasks.c.deleted_at.is_(None)
)
#: A task row locked for the rest of the transaction (PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
#: already serializes, and its compiler leaves ``FOR UPDATE`` out).
LOCKED_TASK = TASK_BY_ID.with_for_update()
#: Sets the columns its parameters name on one task (``task_id``), returning the row.
UPDATE_TASK = update(t.tasks).where(t.tasks.c.id == bindparam("task_id")).returning(*t.tasks.c)
#: ``UPDATE_TASK`` as a compare-and-set: only while the status is still ``from_status``.
MOVE_TASK = UPDATE_TASK.where(t.tasks.c.status == bindparam("from_status"))
LOCK_JOBS = select(t.jobs.c.id).where(t.jobs.c.task_id == bindparam("task_id")).with_for_update()
#: The create transaction's statements, built once (building one cost more than running it).
#: A key's tasks in flight, counted up to ``cap`` (the limit + 1: a create's cost stays flat
#: however many a generous limit lets pile up).
IN_FLIGHT_COUNT = select(func.count()).select_from(
    select(t.tasks.c.status)  # in the index (api_key_id, status): no row is read
    .where(t.tasks.c.api_key_id == bindparam("api_key_id"), t.tasks.c.status.in_(IN_FLIGHT))
    .limit(bindparam("cap"))
    .subquery()
)
INSERT_TASK = insert(t.tasks).returning(*t.tasks.c)
INSERT_JOB = insert(t.jobs)


def _created_rows() -> Select[Any]:
    """A create on PostgreSQL as one statement: the hold (``seedance_hold``, migration 0013:
    the account locked, the key's tasks in flight counted after the lock, the credits taken or
    an error raised), the new task, the hold's ledger entry and the job, returning the task.
    Atomic by itself, it needs no ``BEGIN`` and ``COMMIT`` of its own (``Database.write``'s
    ``one_statement``). Its parameters are ``new_`` + a task column (``_TASK_VALUES``),
    ``new_job_kind``, ``new_max_attempts`` and ``new_in_flight_limit``: no name of a column,
    which the rows would otherwise take. SQLite, which takes no ``INSERT`` in a ``WITH``,
    runs the statements one by one (``_insert_created_one_by_one``)."""

    def new(name: str) -> BindParameter[Any]:
        return bindparam(f"new_{name}")

    task = insert(t.tasks).values({c: new(c) for c in _TASK_VALUES}).returning(*t.tasks.c)
    hold = func.seedance_hold(
        new("account_id"), new("quote"), new("api_key_id"), new("id"), new("in_flight_limit")
    )
    entry = insert(t.ledger).values(
        account_id=new("account_id"),
        task_id=new("id"),
        kind=str(ledger.EntryKind.HOLD),
        amount=new("quote"),
        balance_after=hold,
        note=None,
        created_at=new("created_at"),
    )
    job = insert(t.jobs).values(
        kind=new("job_kind"),
        task_id=new("id"),
        state="available",
        attempt=0,
        max_attempts=new("max_attempts"),
        run_at=new("created_at"),
        created_at=new("created_at"),
        updated_at=new("created_at"),
    )
    return select(task.cte("task")).add_cte(entry.cte("entry"), job.cte("job"))


#: ``seedance_hold``'s refusals (their detail is the figure): the key's in-flight limit, the
#: balance.
IN_FLIGHT_FULL = "SDINF"
CREDITS_SHORT = "SDCRD"


_TASK_VALUES = (
    "id",
    "account_id",
    "api_key_id",
    "dialect",
    "model",
    "model_alias",
    "request",
    "status",
    "progress",
    "quote",
    "reserved_credits",
    "final_credits",
    "client_request_id",
    "request_id",
    "wire_request",
    "service_tier",
    "created_at",
    "updated_at",
    "expires_at",
)
INSERT_CREATED_ROWS = _created_rows()
IDEMPOTENCY_KEY = select(t.idempotency_keys).where(
    t.idempotency_keys.c.api_key_id == bindparam("api_key_id"),
    t.idempotency_keys.c.key == bindparam("key"),
)
FORGET_IDEMPOTENCY_KEY = delete(t.idempotency_keys).where(
    t.idempotency_keys.c.api_key_id == bindparam("api_key_id"),
    t.idempotency_keys.c.key == bindparam("key"),
)
INSERT_IDEMPOTENCY_KEY = insert(t.idempotency_keys)


@dataclass(frozen=True, kw_only=True)
class NewTask:
    """What ``submit`` needs to create a task."""

    id: str
    account_id: str
    api_key_id: str
    dialect: str
    model: str
    model_alias: str
    request: dict[str, Any]
    quote: int
    expires_at: datetime
    client_request_id: str | None = None
    request_id: str | None = None
    wire_request: dict[str, Any] | None = None
    job_kind: str = "generate"  #: the first step: render here, or hand to the upstream


@dataclass(frozen=True, kw_only=True)
class Idempotency:
    """An idempotency key, the fingerprint of its request body, and how long it holds."""

    key: str
    fingerprint: str
    ttl_seconds: int


@dataclass(frozen=True, kw_only=True)
class Page:
    """One page of a task list."""

    items: list[Task]
    next_cursor: str | None


@dataclass(frozen=True, kw_only=True)
class TaskFilter:
    """What a numbered-page list selects (the upstream v3 list's filters)."""

    statuses: tuple[str, ...] = ()
    task_ids: tuple[str, ...] = ()
    model: str | None = None
    service_tier: str | None = None
    created_after: datetime | None = None  #: only tasks created at or after it


@dataclass(frozen=True, kw_only=True)
class NumberedPage:
    """One numbered page of a task list and how many tasks match in all."""

    items: list[Task]
    total: int


class TaskStore:
    """Every task write happens here, each in one transaction."""

    def __init__(self, db: Database, *, max_attempts: int = 3) -> None:
        self.db = db
        self.max_attempts = max_attempts

    async def submit(
        self, new: NewTask, *, idempotency: Idempotency | None, max_in_flight: int
    ) -> tuple[Task, bool]:
        """Holds the quote, inserts the task and its job; returns (task, replayed). On
        PostgreSQL a create with no idempotency key, priority or ``queued`` callback is one
        statement, committed by itself."""
        one_statement = idempotency is None and not _writes_more(new)
        for attempt in range(3):
            try:
                async with self.db.write(one_statement=one_statement) as conn:
                    return await self._submit(conn, new, idempotency, max_in_flight)
            except IntegrityError:
                if idempotency is None or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _submit(
        self,
        conn: Connection,
        new: NewTask,
        idempotency: Idempotency | None,
        max_in_flight: int,
    ) -> tuple[Task, bool]:
        if idempotency is not None:
            existing = await _replay(conn, new.api_key_id, idempotency)
            if existing is not None:
                return existing, True
        if conn.dialect.name == "postgresql":
            task = await self._insert_created(conn, new, max_in_flight)
        else:
            task = await self._insert_created_one_by_one(conn, new, max_in_flight)
        await priority.take_place(
            conn,
            account_id=new.account_id,
            kind=new.job_kind,
            priority=_priority(new),
            stamp=now(),
        )
        await outbox.record_status_change(conn, task)
        if idempotency is not None:
            await conn.run(
                INSERT_IDEMPOTENCY_KEY,
                {
                    "api_key_id": new.api_key_id,
                    "key": idempotency.key,
                    "fingerprint": idempotency.fingerprint,
                    "task_id": new.id,
                    "created_at": now(),
                },
            )
        return task, False

    async def _insert_created(self, conn: Connection, new: NewTask, max_in_flight: int) -> Task:
        """PostgreSQL: the hold, the new task, its ledger entry and its job in one statement
        (``INSERT_CREATED_ROWS``); the hold's refusals become the API's errors."""
        values = {**_task_values(new), "job_kind": new.job_kind}
        values["max_attempts"] = self.max_attempts
        values["in_flight_limit"] = max_in_flight
        named = {f"new_{name}": value for name, value in values.items()}
        try:
            row = (await conn.run(INSERT_CREATED_ROWS, named)).one()
        except DBAPIError as exc:
            code, detail = _raised(exc)
            if code == IN_FLIGHT_FULL:
                raise _in_flight_full(int(detail), max_in_flight) from None
            if code == CREDITS_SHORT:
                raise _credits_short(new.quote, int(detail)) from None
            raise
        count_moved(ledger.EntryKind.HOLD, new.quote)  # as record_entry does
        return task_from_row(row)

    async def _insert_created_one_by_one(
        self, conn: Connection, new: NewTask, max_in_flight: int
    ) -> Task:
        """SQLite: the hold, the key's in-flight count, the task, its entry and its job."""
        hold = ledger.EntryKind.HOLD
        balance = await change_balance(conn, new.account_id, ledger.balance_delta(hold, new.quote))
        await _check_in_flight(conn, new.api_key_id, max_in_flight)
        if balance is None:
            raise _credits_short(new.quote, await _balance(conn, new.account_id))
        task = await _insert_task(conn, new)
        await record_entry(
            conn,
            account_id=new.account_id,
            kind=hold,
            amount=new.quote,
            balance_after=balance,
            task_id=new.id,
        )
        await enqueue(conn, new.id, new.job_kind, self.max_attempts)
        return task

    async def get(self, task_id: str, account_id: str | None = None) -> Task:
        """The task, if it exists and (when given) belongs to ``account_id``."""
        if account_id is None:
            row = await self.db.read_one(TASK_BY_ID, {"task_id": task_id})
        else:
            owned = {"task_id": task_id, "account_id": account_id}
            row = await self.db.read_one(OWNED_TASK, owned)
        if row is None:
            raise NotFound(f"no task {task_id!r}")
        return task_from_row(row)

    async def by_request_id(self, request_id: str, account_id: str) -> Task:
        """The task a create request (by its ``x-request-id``) made."""
        query = select(t.tasks).where(
            t.tasks.c.request_id == request_id,
            t.tasks.c.account_id == account_id,
            t.tasks.c.deleted_at.is_(None),
        )
        async with self.db.read() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            raise NotFound(f"no task for request {request_id!r}")
        return task_from_row(row)

    async def numbered_page(
        self, account_id: str, *, page: int, size: int, where: TaskFilter
    ) -> NumberedPage:
        """Page ``page`` (from 1) of ``size`` tasks, newest first, and the total that match."""
        conditions = [t.tasks.c.account_id == account_id, t.tasks.c.deleted_at.is_(None)]
        if where.statuses:
            conditions.append(t.tasks.c.status.in_(where.statuses))
        if where.task_ids:
            conditions.append(t.tasks.c.id.in_(where.task_ids))
        if where.model:
            conditions.append(t.tasks.c.model == where.model)
        if where.service_tier:
            conditions.append(t.tasks.c.service_tier == where.service_tier)
        if where.created_after:
            since = int(where.created_after.timestamp() * 1000)
            conditions.append(t.tasks.c.id >= ids.first_id_at(ids.TASK_PREFIX, since))
            conditions.append(t.tasks.c.created_at >= where.created_after)
        rows_query = (
            select(t.tasks)
            .where(*conditions)
            .order_by(t.tasks.c.id.desc())
            .limit(size)
            .offset((page - 1) * size)
        )
        count_query = select(func.count()).select_from(t.tasks).where(*conditions)
        async with self.db.read() as conn:
            rows = (await conn.execute(rows_query)).mappings().all()
            total = int((await conn.execute(count_query)).scalar_one())
        return NumberedPage(items=[task_from_row(r) for r in rows], total=total)

    async def delete(self, task_id: str, account_id: str) -> None:
        """Hides a finished task from every read (the ledger keeps it). Which finished tasks a
        dialect may delete is its rule (the upstream's ``DELETE`` keeps cancelled ones)."""
        async with self.db.write() as conn:
            task = await _task_for_update(conn, task_id, account_id, visible_only=True)
            if not task.status.terminal:
                raise InvalidState(
                    f"task {task_id} is {task.status}; only a finished task can be deleted "
                    "(cancel a queued one)"
                )
            await conn.execute(
                update(t.tasks).where(t.tasks.c.id == task.id).values(deleted_at=now())
            )

    async def list(
        self,
        account_id: str,
        *,
        limit: int,
        after: str | None = None,
        status: str | None = None,
        model: str | None = None,
        oldest_first: bool = False,
    ) -> Page:
        """Newest first (or oldest first); ``after`` is the cursor (the last id of the previous
        page)."""
        query = select(t.tasks).where(
            t.tasks.c.account_id == account_id, t.tasks.c.deleted_at.is_(None)
        )
        if after:
            query = query.where(t.tasks.c.id > after if oldest_first else t.tasks.c.id < after)
        if status:
            query = query.where(t.tasks.c.status == status)
        if model:
            query = query.where(t.tasks.c.model == model)
        order = t.tasks.c.id.asc() if oldest_first else t.tasks.c.id.desc()
        query = query.order_by(order).limit(limit + 1)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        items = [task_from_row(r) for r in rows[:limit]]
        return Page(items=items, next_cursor=items[-1].id if len(rows) > limit else None)

    async def cancel(self, task_id: str, account_id: str, *, running: bool = False) -> Task:
        """Cancels a queued task (or, with ``running``, a running one: its provider stops at
        its next progress report) and releases its credits; anything else is
        ``invalid_state``."""
        cancellable = (Status.QUEUED, Status.RUNNING) if running else (Status.QUEUED,)
        async with self.db.write() as conn:
            await lock_jobs(conn, task_id)
            task = await _task_for_update(conn, task_id, account_id, visible_only=True)
            if task.status not in cancellable:
                which = "a queued or running" if running else "only a queued"
                raise InvalidState(
                    f"task {task_id} is {task.status}; {which} task can be cancelled"
                )
            await finish(conn, task, Status.CANCELLED, error=None, result=None)
            await conn.execute(
                update(t.jobs)
                .where(t.jobs.c.task_id == task_id, t.jobs.c.state.in_(("available", "retryable")))
                .values(state="cancelled", updated_at=now())
            )
        return await self.get(task_id, account_id)

    async def set_progress(self, task_id: str, progress: int) -> bool:
        """Records progress (0-100) of a running task; it never goes back (a late, lower report
        from an earlier moment changes nothing). False: the task is no longer running
        (cancelled or expired meanwhile), so its work can stop."""
        higher = case((t.tasks.c.progress < progress, progress), else_=t.tasks.c.progress)
        async with self.db.write() as conn:
            moved = await conn.execute(
                update(t.tasks)
                .where(t.tasks.c.id == task_id, t.tasks.c.status == str(Status.RUNNING))
                .values(progress=higher, updated_at=now())
            )
        return bool(moved.rowcount == 1)

    async def prune_idempotency(self, older_than_seconds: int) -> int:
        """Forgets idempotency keys older than their retention."""
        cutoff = now() - timedelta(seconds=older_than_seconds)
        async with self.db.write() as conn:
            result = await conn.execute(
                delete(t.idempotency_keys).where(t.idempotency_keys.c.created_at < cutoff)
            )
        return int(result.rowcount or 0)


async def finish(
    conn: Connection,
    task: Task,
    status: Status,
    *,
    error: dict[str, str] | None,
    result: dict[str, Any] | None,
) -> bool:
    """Moves a task to a terminal status (compare-and-set) and settles its hold, exactly once."""
    kind = ledger.settlement_for(status)
    final = task.reserved_credits if kind is ledger.EntryKind.CAPTURE else 0
    stamp = now()
    moved = {
        "task_id": task.id,
        "from_status": str(task.status),
        "status": str(status),
        "final_credits": final,
        "error": error,
        "result": result,
        "progress": 100 if status is Status.SUCCEEDED else task.progress,
        "updated_at": stamp,
        "finished_at": stamp,
    }
    changed = (await conn.run(MOVE_TASK, moved)).first()
    if changed is None:
        return False
    after_commit(functools.partial(metrics.task_finished, task.model, str(status)))
    await append_entry(
        conn,
        account_id=task.account_id,
        kind=kind,
        amount=task.reserved_credits,
        task_id=task.id,
    )
    await outbox.record_status_change(conn, task_from_row(changed))
    return True


async def lock_jobs(conn: Connection, task_id: str) -> None:
    """Locks a task's job rows (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes).

    Lock order: a transaction that writes a task's job and the task takes the job rows first,
    then the task row, then the account row (as ``JobStore.complete`` does), and settles one
    task per transaction; a different order deadlocks against a concurrent settlement.
    """
    if conn.dialect.name == "postgresql":
        await conn.run(LOCK_JOBS, {"task_id": task_id})


async def _replay(conn: Connection, api_key_id: str, idem: Idempotency) -> Task | None:
    key = {"api_key_id": api_key_id, "key": idem.key}
    row = (await conn.run(IDEMPOTENCY_KEY, key)).first()
    if row is None:
        return None
    if row["created_at"] < now() - timedelta(seconds=idem.ttl_seconds):
        await conn.run(FORGET_IDEMPOTENCY_KEY, key)
        return None
    if row["fingerprint"] != idem.fingerprint:
        raise IdempotencyConflict(
            f"idempotency key {idem.key!r} was already used with a different request body "
            f"(task {row['task_id']}); use a new key for a new request"
        )
    return task_from_row((await conn.run(TASK_BY_ID, {"task_id": row["task_id"]})).one())


async def _check_in_flight(conn: Connection, api_key_id: str, limit: int) -> None:
    count = (await conn.run(IN_FLIGHT_COUNT, {"api_key_id": api_key_id, "cap": limit + 1})).scalar()
    if count >= limit:
        raise _in_flight_full(count, limit)


def _in_flight_full(count: int, limit: int) -> RateLimited:
    """The refusal of a key with ``count`` tasks in flight (counted up to ``limit`` + 1)."""
    held = f"more than {limit}" if count > limit else str(count)
    return RateLimited(
        f"this API key has {held} tasks queued or running (the limit is {limit}); "
        "wait for one to finish",
        retry_after=5,
        in_flight=True,
    )


def _credits_short(quote: int, balance: int) -> InsufficientCredits:
    return InsufficientCredits(f"this request costs {quote} credits; the balance is {balance}")


def _raised(exc: DBAPIError) -> tuple[str | None, str]:
    """The SQLSTATE and detail of the database's error (asyncpg's, under ``exc``)."""
    return getattr(exc.orig, "sqlstate", None), getattr(exc.orig, "detail", None) or ""


def _priority(new: NewTask) -> int:
    return int(new.request.get("priority") or 0)


def _writes_more(new: NewTask) -> bool:
    """Whether a create writes more than the task, its hold and its job: a priority that
    reorders the queue, or a callback that asked to hear of ``queued``."""
    return _priority(new) > 0 or outbox.writes_on_create(new.request)


async def _balance(conn: Connection, account_id: str) -> int:
    query = select(t.accounts.c.balance).where(t.accounts.c.id == account_id)
    return int((await conn.execute(query)).scalar_one())


async def _insert_task(conn: Connection, new: NewTask) -> Task:
    return task_from_row((await conn.run(INSERT_TASK, _task_values(new))).one())


def _task_values(new: NewTask) -> dict[str, Any]:
    """A new task's columns (``_TASK_VALUES``), queued."""
    stamp = now()
    return {
        "id": new.id,
        "account_id": new.account_id,
        "api_key_id": new.api_key_id,
        "dialect": new.dialect,
        "model": new.model,
        "model_alias": new.model_alias,
        "request": new.request,
        "status": str(Status.QUEUED),
        "progress": 0,
        "quote": new.quote,
        "reserved_credits": new.quote,
        "final_credits": 0,
        "client_request_id": new.client_request_id,
        "request_id": new.request_id,
        "wire_request": new.wire_request,
        "service_tier": str(new.request.get("service_tier", "default")),
        "created_at": stamp,
        "updated_at": stamp,
        "expires_at": new.expires_at,
    }


async def enqueue(conn: Connection, task_id: str, kind: str, max_attempts: int) -> None:
    """Queues a job of ``kind`` for the task; the workers wake when it commits (on PostgreSQL
    through the ``jobs`` trigger's ``NOTIFY``, ``store.notify``)."""
    stamp = now()
    job = {"kind": kind, "task_id": task_id, "state": "available", "attempt": 0}
    times = {"run_at": stamp, "created_at": stamp, "updated_at": stamp}
    await conn.run(INSERT_JOB, {**job, "max_attempts": max_attempts, **times})


async def locked_task(conn: Connection, task_id: str | None) -> Task | None:
    """The task, row-locked on PostgreSQL for the rest of the transaction (None: no such task)."""
    row = (await conn.run(LOCKED_TASK, {"task_id": task_id})).first()
    return task_from_row(row) if row else None


async def _task_for_update(
    conn: Connection, task_id: str, account_id: str | None, *, visible_only: bool = False
) -> Task:
    query = select(t.tasks).where(t.tasks.c.id == task_id)
    if account_id is not None:
        query = query.where(t.tasks.c.account_id == account_id)
    if visible_only:
        query = query.where(t.tasks.c.deleted_at.is_(None))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"no task {task_id!r}")
    return task_from_row(row)
