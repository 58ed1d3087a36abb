"""Helpers for the store tests: accounts with keys, new tasks, and ledger/row inspection.

Everything goes through the real stores on a real database; raw SQL is used only to look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from seedance_gateway import catalog as catalog_module
from seedance_gateway.catalog.params import parse
from seedance_gateway.domain import keys
from seedance_gateway.domain.ids import new_id
from seedance_gateway.domain.requests import normalize
from seedance_gateway.domain.tasks import Task
from seedance_gateway.store import Store
from seedance_gateway.store import tables as t
from seedance_gateway.store.tasks import Idempotency, NewTask

_SPEC = catalog_module.load().by_name["seedance-1-0-pro"]
REQUEST = normalize(_SPEC, prompt="a paper boat", fields=parse(_SPEC, {})).to_json()


@dataclass(frozen=True)
class Owner:
    """An account and one of its API keys."""

    account_id: str
    key_id: str


async def open_account(store: Store, credits: int, name: str = "test") -> Owner:
    """A new account holding ``credits``, with one API key."""
    account_id = await store.accounts.create_account(name, credits)
    return Owner(account_id, await add_key(store, account_id, name))


async def add_key(store: Store, account_id: str, name: str = "test") -> str:
    """Another API key on ``account_id``; returns its id."""
    plaintext = keys.generate()
    key = await store.accounts.add_key(
        account_id=account_id,
        name=name,
        prefix=keys.display_prefix(plaintext),
        key_hash=keys.digest(plaintext),
    )
    return key.id


def new_task(
    owner: Owner,
    quote: int = 25,
    *,
    model: str = "seedance-1-0-pro",
    expires_in: float = 3600,
    task_id: str | None = None,
    job_kind: str = "generate",
) -> NewTask:
    """What ``submit`` needs for one task of ``quote`` credits (queued as a ``job_kind`` job)."""
    return NewTask(
        id=task_id or new_id("task"),
        account_id=owner.account_id,
        api_key_id=owner.key_id,
        dialect="public_v1",
        model=model,
        model_alias=model,
        request=REQUEST,
        quote=quote,
        expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
        job_kind=job_kind,
    )


async def submit(
    store: Store,
    owner: Owner,
    quote: int = 25,
    *,
    idempotency: Idempotency | None = None,
    max_in_flight: int = 1000,
    **options: Any,
) -> Task:
    """Submits one new task and returns it (asserting it was not a replay)."""
    task, replayed = await store.tasks.submit(
        new_task(owner, quote, **options), idempotency=idempotency, max_in_flight=max_in_flight
    )
    assert not replayed
    return task


async def assert_ledger_balanced(store: Store, owner: Owner) -> int:
    """The balance equals the ledger's sum (the ledger invariant); returns the balance."""
    balance = await store.accounts.balance(owner.account_id)
    assert balance == await store.accounts.ledger_balance(owner.account_id)
    assert balance >= 0
    return balance


async def ledger_entries(store: Store, task_id: str) -> list[tuple[str, int]]:
    """(kind, amount) of a task's ledger entries, in order."""
    query = select(t.ledger.c.kind, t.ledger.c.amount).where(t.ledger.c.task_id == task_id)
    async with store.db.read() as conn:
        rows = (await conn.execute(query.order_by(t.ledger.c.id))).all()
    return [(str(kind), int(amount)) for kind, amount in rows]


async def job_of(store: Store, task_id: str) -> dict[str, Any]:
    """The ``jobs`` row of a task (there is exactly one)."""
    async with store.db.read() as conn:
        rows = (
            (await conn.execute(select(t.jobs).where(t.jobs.c.task_id == task_id))).mappings().all()
        )
    assert len(rows) == 1
    return dict(rows[0])


async def count(store: Store, table: Any, *where: Any) -> int:
    """How many rows of ``table`` match ``where``."""
    query = select(func.count()).select_from(table)
    if where:
        query = query.where(*where)
    async with store.db.read() as conn:
        return int((await conn.execute(query)).scalar_one())
