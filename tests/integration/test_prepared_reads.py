"""Prepared reads (``Database.read_one``, issue 19): the hot statements return, on the driver
itself, exactly what SQLAlchemy returns for them, and they never read a stale snapshot."""

from __future__ import annotations

from typing import Any

import pytest
from integration_support import open_account, submit
from sqlalchemy import Select, bindparam, select

from seedance_gateway.domain import keys
from seedance_gateway.domain.tasks import Status
from seedance_gateway.store import Store
from seedance_gateway.store import tables as t
from seedance_gateway.store.accounts import BALANCE, KEY_BY_HASH
from seedance_gateway.store.prepared import prepare
from seedance_gateway.store.tasks import OWNED_TASK, TASK_BY_ID

RESULT = {
    "video_key": "results/x/video.mp4",
    "last_frame_key": None,
    "duration": 5.04,
    "width": 854,
    "height": 480,
}


async def through_sqlalchemy(store: Store, statement: Select[Any], params: dict[str, Any]) -> Any:
    async with store.db.read() as conn:
        row = (await conn.execute(statement, params)).mappings().first()
    return None if row is None else dict(row)


async def test_the_hot_statements_read_as_sqlalchemy_reads_them(store: Store) -> None:
    owner = await open_account(store, 1000)
    plaintext = keys.generate()
    await store.accounts.add_key(
        account_id=owner.account_id,
        name="second",
        prefix=keys.display_prefix(plaintext),
        key_hash=keys.digest(plaintext),
    )
    task = await submit(store, owner)
    [job] = await store.jobs.claim("w1", 1, 30)
    await store.jobs.start_task(job)
    assert await store.jobs.complete(job, Status.SUCCEEDED, result=RESULT)
    reads: list[tuple[Select[Any], dict[str, Any]]] = [
        (TASK_BY_ID, {"task_id": task.id}),
        (OWNED_TASK, {"task_id": task.id, "account_id": owner.account_id}),
        (KEY_BY_HASH, {"key_hash": keys.digest(plaintext)}),
        (BALANCE, {"account_id": owner.account_id}),
    ]
    for statement, params in reads:
        expected = await through_sqlalchemy(store, statement, params)
        assert expected is not None
        assert await store.db.read_one(statement, params) == expected
    row = await store.db.read_one(TASK_BY_ID, {"task_id": task.id})
    assert row is not None and row["result"] == RESULT and row["finished_at"].tzinfo is not None
    assert row["request"]["prompt"] == "a paper boat"


async def test_a_missing_row_is_none(store: Store) -> None:
    owner = await open_account(store, 1000)
    assert await store.db.read_one(TASK_BY_ID, {"task_id": "task_missing"}) is None
    other = {"task_id": (await submit(store, owner)).id, "account_id": "acct_other"}
    assert await store.db.read_one(OWNED_TASK, other) is None


async def test_each_read_sees_the_writes_committed_before_it(store: Store) -> None:
    owner = await open_account(store, 1000)
    assert await store.accounts.balance(owner.account_id) == 1000
    await store.accounts.grant(owner.account_id, 5)
    assert await store.accounts.balance(owner.account_id) == 1005
    # Another connection pool over the same database (as another process would write).
    elsewhere = Store.open(store.db.url)
    try:
        await elsewhere.accounts.grant(owner.account_id, 7)
    finally:
        await elsewhere.close()
    assert await store.accounts.balance(owner.account_id) == 1012


async def test_a_parameter_that_needs_converting_is_refused(store: Store) -> None:
    since = select(t.tasks.c.id).where(
        t.tasks.c.created_at > bindparam("since", type_=t.UTCDateTime)
    )
    with pytest.raises(ValueError, match="'since' needs a conversion"):
        prepare(since, store.db.dialect)
