"""PostgreSQL's connections: pooled ones are not pinged on every checkout (issue 19), so one the
server closed must still be replaced before a read or a write uses it; kept ones for reads and
writes; and the jobs trigger's NOTIFY that wakes the workers."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import time
from collections.abc import AsyncIterator

import pytest
from integration_support import open_account, submit
from sqlalchemy import bindparam, func, select, text

from conftest import BACKENDS, PG_ADMIN_URL, _pg, _pg_url
from seedance_gateway.errors import InsufficientCredits, RateLimited
from seedance_gateway.queue import Wakeup, listening
from seedance_gateway.store import Store
from seedance_gateway.store.accounts import ADD_CREDITS
from seedance_gateway.store.kept import KEPT_READ_CONNECTIONS, KEPT_WRITE_CONNECTIONS
from seedance_gateway.store.tasks import Idempotency

SLEEP = select(func.pg_sleep(bindparam("seconds")))
pytestmark = pytest.mark.skipif("postgres" not in BACKENDS, reason="needs PostgreSQL")


@pytest.fixture
async def pg_store(pg_template: str) -> AsyncIterator[tuple[Store, str]]:
    """Stores over a fresh PostgreSQL database, and its name."""
    name = f"sdg_test_{secrets.token_hex(6)}"
    _pg(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    store = Store.open(_pg_url(name))
    try:
        yield store, name
    finally:
        await store.close()
        _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_connections_the_server_closed_are_replaced_before_use(
    pg_store: tuple[Store, str],
) -> None:
    store, name = pg_store
    owner = await open_account(store, 100)
    await asyncio.gather(*(store.accounts.balance(owner.account_id) for _ in range(5)))
    _pg(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )
    await asyncio.sleep(0.2)  # the pooled connections see their sockets close
    for _ in range(5):
        assert await store.accounts.balance(owner.account_id) == 100
    assert await store.accounts.grant(owner.account_id, 5) == 105


async def test_a_cancelled_read_stops_its_statement_and_reads_go_on(
    pg_store: tuple[Store, str],
) -> None:
    """A prepared read cancelled mid-statement (a client gone, a timeout) ends its statement on
    the server, and every kept connection serves the reads that follow."""
    store, name = pg_store
    owner = await open_account(store, 100)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(store.db.read_one(SLEEP, {"seconds": 30}), 0.2)
    reads = [store.accounts.balance(owner.account_id) for _ in range(2 * KEPT_READ_CONNECTIONS)]
    assert await asyncio.gather(*reads) == [100] * (2 * KEPT_READ_CONNECTIONS)
    for _ in range(50):
        if not _sleeping(name):
            break
        await asyncio.sleep(0.1)
    assert not _sleeping(name), "the cancelled statement still runs on a kept connection"


async def test_a_cancelled_write_rolls_back_and_writes_go_on(pg_store: tuple[Store, str]) -> None:
    """A write transaction cancelled mid-statement (it begins and commits on asyncpg itself)
    keeps nothing it wrote, ends its statement on the server, and the writes that follow work."""
    store, name = pg_store
    owner = await open_account(store, 100)

    async def grant_then_sleep() -> None:
        async with store.db.write() as conn:
            await conn.run(ADD_CREDITS, {"account": owner.account_id, "delta": 50})
            await conn.run(SLEEP, {"seconds": 30})

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(grant_then_sleep(), 0.3)
    assert await store.accounts.balance(owner.account_id) == 100
    grants = [store.accounts.grant(owner.account_id, 1) for _ in range(8)]
    assert sorted(await asyncio.gather(*grants)) == list(range(101, 109))
    for _ in range(50):
        if not _sleeping(name):
            break
        await asyncio.sleep(0.1)
    assert not _sleeping(name), "the cancelled statement still runs"


SLOW_COMMIT = """
CREATE TABLE slow_commits (id integer);
CREATE FUNCTION sleep_at_commit() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER sleep_at_commit AFTER INSERT ON slow_commits
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION sleep_at_commit();
"""


async def test_a_commit_cut_short_never_leaves_its_transaction_in_the_pool(
    pg_store: tuple[Store, str],
) -> None:
    """A write transaction begins and commits on asyncpg, out of SQLAlchemy's sight: when its
    COMMIT is cancelled, the connection is closed, never pooled with the transaction (and its
    row locks) still open."""
    store, name = pg_store
    owner = await open_account(store, 100)
    _pg_in(name, SLOW_COMMIT)

    async def grant_then_commit_slowly() -> None:
        async with store.db.write() as conn:
            await conn.run(ADD_CREDITS, {"account": owner.account_id, "delta": 50})
            await conn.execute(text("INSERT INTO slow_commits VALUES (1)"))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(grant_then_commit_slowly(), 0.5)
    grants = [store.accounts.grant(owner.account_id, 1) for _ in range(8)]
    balances = await asyncio.wait_for(asyncio.gather(*grants), 10)
    assert max(balances) == min(balances) + 7
    assert (
        _count(
            "SELECT count(*) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND state LIKE 'idle in transaction%'"
        )
        == 0
    )


def _pg_in(database: str, sql: str) -> None:
    """Runs ``sql`` in ``database`` as the admin."""
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True
    )


def _sleeping(database: str) -> bool:
    """Whether a session on ``database`` is running ``pg_sleep``."""
    return (
        _count(
            "SELECT count(*) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND query LIKE '%pg_sleep%' AND state = 'active'"
        )
        > 0
    )


def _count(sql: str) -> int:
    found = subprocess.run(
        ["psql", PG_ADMIN_URL, "-tAc", sql], capture_output=True, text=True, check=True
    )
    return int(found.stdout.strip())


async def test_reads_one_after_another_share_one_kept_connection(
    pg_store: tuple[Store, str],
) -> None:
    """A process opens another kept connection only when every open one is busy."""
    store, name = pg_store
    owner = await open_account(store, 100)
    before = _sessions(name)
    for _ in range(3 * KEPT_READ_CONNECTIONS):
        assert await store.accounts.balance(owner.account_id) == 100
    assert _sessions(name) <= before + 1
    await asyncio.gather(*(store.accounts.balance(owner.account_id) for _ in range(20)))
    assert _sessions(name) <= before + KEPT_READ_CONNECTIONS + 1


def _sessions(database: str) -> int:
    """How many sessions are connected to ``database``."""
    return _count(f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{database}'")


async def test_writes_reuse_a_kept_connection_and_never_wait_for_one(
    pg_store: tuple[Store, str],
) -> None:
    """Writes one after another run on one kept connection; when every kept one is busy (a
    write may wait on another's lock), the next write borrows a pooled connection at once
    rather than waiting for a kept one."""
    store, name = pg_store
    owner = await open_account(store, 100)
    before = _sessions(name)
    for _ in range(3 * KEPT_WRITE_CONNECTIONS):
        await store.accounts.grant(owner.account_id, 1)
    assert _sessions(name) <= before + 1

    busy = KEPT_WRITE_CONNECTIONS + 2
    inside = 0
    all_inside = asyncio.Event()

    async def hold_open() -> None:
        nonlocal inside
        async with store.db.write() as conn:
            await conn.execute(text("SELECT 1"))
            inside += 1
            if inside == busy:
                all_inside.set()
            await asyncio.wait_for(all_inside.wait(), 10)

    await asyncio.wait_for(asyncio.gather(*(hold_open() for _ in range(busy))), 15)
    assert await store.accounts.grant(owner.account_id, 1) == 100 + 3 * KEPT_WRITE_CONNECTIONS + 1
    assert (
        _count(
            "SELECT count(*) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND state LIKE 'idle in transaction%'"
        )
        == 0
    )


async def test_a_queued_job_wakes_listeners_when_it_commits_and_never_if_it_rolls_back(
    pg_store: tuple[Store, str],
) -> None:
    """A job ``INSERT`` announces itself (the ``jobs`` trigger, migration 0012): a listener
    wakes once the submit commits, and a submit that rolls back (no credits) wakes nobody."""
    store, _ = pg_store
    rich = await open_account(store, 1000)
    poor = await open_account(store, 0, name="poor")
    wakeup = Wakeup()
    async with listening(store.db, wakeup):
        with pytest.raises(InsufficientCredits):
            await submit(store, poor, 10)
        assert not await _woken(wakeup, 0.3)
        await submit(store, rich, 10)
        assert await _woken(wakeup, 5)


async def _woken(wakeup: Wakeup, within: float) -> bool:
    """Whether ``wakeup`` was nudged before ``within`` seconds passed."""
    start = time.monotonic()
    await wakeup.wait(within)
    return time.monotonic() - start < within


async def test_a_plain_create_is_one_statement_committed_by_itself(
    pg_store: tuple[Store, str],
) -> None:
    """A create with no idempotency key, priority or ``queued`` callback sends one statement
    (no ``BEGIN``, no ``COMMIT``: five round trips became one, issue 19); one with an
    idempotency key still runs in a transaction of its own."""
    store, _ = pg_store
    owner = await open_account(store, 1000)
    sent: list[str] = []
    async with store.db._kept_writes.lease() as kept:  # the next write takes it again (LIFO)
        kept.driver.add_query_logger(lambda record: sent.append(record.query))
    await submit(store, owner)
    await asyncio.sleep(0)  # asyncpg calls its loggers soon after each query
    assert len(sent) == 1 and "seedance_hold" in sent[0]
    sent.clear()
    await submit(store, owner, idempotency=Idempotency(key="k", fingerprint="f", ttl_seconds=60))
    await asyncio.sleep(0)
    assert sent[0].startswith("BEGIN") and sent[-1].startswith("COMMIT")
    assert await store.accounts.balance(owner.account_id) == 1000 - 2 * 25


async def test_a_one_statement_write_commits_it_and_refuses_a_second(
    pg_store: tuple[Store, str],
) -> None:
    """``one_statement`` sends its statement alone, committed by itself, so a second one in the
    same write would not share its fate: it is refused."""
    store, _ = pg_store
    owner = await open_account(store, 100)
    grant = {"account": owner.account_id, "delta": 5}
    with pytest.raises(RuntimeError, match="second statement"):
        async with store.db.write(one_statement=True) as conn:
            await conn.run(ADD_CREDITS, grant)
            await conn.run(ADD_CREDITS, grant)
    assert await store.accounts.balance(owner.account_id) == 105


async def test_the_hold_refuses_in_the_api_s_words_and_leaves_the_balance(
    pg_store: tuple[Store, str],
) -> None:
    """``seedance_hold``'s refusals (the key's in-flight limit first, then the balance) reach
    the caller as the API's errors, with their figures, and take nothing."""
    store, _ = pg_store
    owner = await open_account(store, 60)
    await submit(store, owner, max_in_flight=2)
    with pytest.raises(InsufficientCredits, match="costs 50 credits; the balance is 35"):
        await submit(store, owner, quote=50, max_in_flight=2)
    await submit(store, owner, max_in_flight=2)
    with pytest.raises(RateLimited, match="has 2 tasks queued or running \\(the limit is 2\\)"):
        await submit(store, owner, quote=50, max_in_flight=2)
    assert await store.accounts.balance(owner.account_id) == 10
