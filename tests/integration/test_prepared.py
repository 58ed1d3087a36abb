"""Prepared statements (issue 19): the hot reads (``Database.read_one``) and a transaction's
writes (``Connection.run``) return and store, on the driver itself, exactly what SQLAlchemy
does for them; reads never see a stale snapshot; errors are SQLAlchemy's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from integration_support import REQUEST, Owner, open_account, submit
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Select,
    Table,
    bindparam,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from seedance_gateway.domain import keys
from seedance_gateway.domain.ids import new_id
from seedance_gateway.domain.tasks import Status
from seedance_gateway.store import Store
from seedance_gateway.store import tables as t
from seedance_gateway.store.accounts import BALANCE, KEY_BY_HASH
from seedance_gateway.store.prepared import prepare
from seedance_gateway.store.tasks import (
    FORGET_IDEMPOTENCY_KEY,
    IDEMPOTENCY_KEY,
    IN_FLIGHT_COUNT,
    INSERT_IDEMPOTENCY_KEY,
    INSERT_TASK,
    OWNED_TASK,
    TASK_BY_ID,
)

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


async def test_a_parameter_is_converted_as_sqlalchemy_converts_it(store: Store) -> None:
    owner = await open_account(store, 1000)
    task = await submit(store, owner)
    since = select(t.tasks.c.id).where(
        t.tasks.c.created_at > bindparam("since", type_=t.UTCDateTime)
    )
    before = {"since": task.created_at - timedelta(seconds=1)}
    after = {"since": task.created_at + timedelta(seconds=1)}
    assert await through_sqlalchemy(store, since, before) == {"id": task.id}
    assert await store.db.read_one(since, before) == {"id": task.id}
    assert await store.db.read_one(since, after) is None


def task_values(owner: Owner, **changes: Any) -> dict[str, Any]:
    """Every column ``_insert_task`` sets, for a new task of ``owner``."""
    stamp = datetime.now(UTC)
    values = {
        "id": new_id("task"),
        "account_id": owner.account_id,
        "api_key_id": owner.key_id,
        "dialect": "public_v1",
        "model": "seedance-1-0-pro",
        "model_alias": "seedance-1-0-pro",
        "request": REQUEST,
        "status": "queued",
        "progress": 0,
        "quote": 25,
        "reserved_credits": 25,
        "final_credits": 0,
        "client_request_id": None,
        "request_id": "req_1",
        "wire_request": {"prompt": "a paper boat", "nested": [1, {"x": None}]},
        "service_tier": "default",
        "created_at": stamp,
        "updated_at": stamp,
        "expires_at": stamp + timedelta(hours=1),
    }
    return {**values, **changes}


async def test_a_prepared_insert_stores_and_returns_what_sqlalchemy_does(store: Store) -> None:
    owner = await open_account(store, 1000)
    prepared = task_values(owner)
    plain = {**prepared, "id": new_id("task")}
    async with store.db.write() as conn:
        returned = (await conn.run(INSERT_TASK, prepared)).one()
        expected = dict((await conn.execute(INSERT_TASK, plain)).mappings().one())
    assert returned == {**expected, "id": prepared["id"]}
    assert returned["wire_request"] == prepared["wire_request"]
    assert returned["created_at"] == prepared["created_at"]
    stored = await through_sqlalchemy(store, TASK_BY_ID, {"task_id": prepared["id"]})
    assert stored == returned


async def test_an_in_list_the_statement_binds_is_expanded(store: Store) -> None:
    owner = await open_account(store, 1000)
    for _ in range(3):
        await submit(store, owner)
    cancelled = await submit(store, owner)
    await store.tasks.cancel(cancelled.id, owner.account_id)
    async with store.db.write() as conn:
        counted = (await conn.run(IN_FLIGHT_COUNT, {"api_key_id": owner.key_id, "cap": 9})).scalar()
        capped = (await conn.run(IN_FLIGHT_COUNT, {"api_key_id": owner.key_id, "cap": 2})).scalar()
    assert (counted, capped) == (3, 2)


async def test_rowcount_and_an_empty_result(store: Store) -> None:
    owner = await open_account(store, 1000)
    key = {"api_key_id": owner.key_id, "key": "k1"}
    row = {**key, "fingerprint": "f", "task_id": (await submit(store, owner)).id}
    async with store.db.write() as conn:
        assert (await conn.run(FORGET_IDEMPOTENCY_KEY, key)).rowcount == 0
        await conn.run(INSERT_IDEMPOTENCY_KEY, {**row, "created_at": datetime.now(UTC)})
        found = await conn.run(IDEMPOTENCY_KEY, key)
        assert found.one()["task_id"] == row["task_id"]
        assert (await conn.run(FORGET_IDEMPOTENCY_KEY, key)).rowcount == 1
        missing = await conn.run(IDEMPOTENCY_KEY, key)
    assert missing.first() is None and missing.scalar() is None


async def test_a_violated_constraint_is_an_integrity_error_and_rolls_back(store: Store) -> None:
    owner = await open_account(store, 1000)
    task = await submit(store, owner)
    row = {"api_key_id": owner.key_id, "key": "k1", "fingerprint": "f", "task_id": task.id}
    async with store.db.write() as conn:
        await conn.run(INSERT_IDEMPOTENCY_KEY, {**row, "created_at": datetime.now(UTC)})
    first = task_values(owner)
    with pytest.raises(IntegrityError):
        async with store.db.write() as conn:
            await conn.run(INSERT_TASK, first)
            await conn.run(INSERT_IDEMPOTENCY_KEY, {**row, "created_at": datetime.now(UTC)})
    assert await store.db.read_one(TASK_BY_ID, {"task_id": first["id"]}) is None
    async with store.db.write() as conn:  # the connection is fine afterwards
        in_flight = {"api_key_id": owner.key_id, "cap": 9}
        assert (await conn.run(IN_FLIGHT_COUNT, in_flight)).scalar() == 1


async def test_rows_whose_columns_the_statement_does_not_name_are_refused(store: Store) -> None:
    async with store.db.write() as conn:
        with pytest.raises(TypeError, match="names no columns"):
            await conn.run(text("SELECT 1"), {})
        named = text("SELECT 1 AS one").columns(one=Integer)
        assert (await conn.run(named, {})).one() == {"one": 1}


def test_what_cannot_be_prepared_is_refused(store: Store) -> None:
    counters = Table(
        "counters",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("n", Integer, default=5),
    )
    with pytest.raises(ValueError, match="client-side defaults"):
        prepare(insert(counters), store.db.dialect, ["id"])
    listed = select(t.tasks.c.id).where(t.tasks.c.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="IN list from the caller"):
        prepare(listed, store.db.dialect, ["ids"])
