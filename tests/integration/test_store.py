"""The task store on SQLite and PostgreSQL: holds, idempotency, in-flight caps, cancel, reads.

After every scenario the ledger invariant holds: the balance equals the sum of the ledger.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from integration_support import (
    Owner,
    add_key,
    assert_ledger_balanced,
    count,
    job_of,
    ledger_entries,
    new_task,
    open_account,
    submit,
)

from seedance_gateway.domain.ids import new_id
from seedance_gateway.domain.tasks import Status
from seedance_gateway.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    InvalidState,
    NotFound,
    RateLimited,
)
from seedance_gateway.store import Store
from seedance_gateway.store import tables as t
from seedance_gateway.store.tasks import Idempotency


def idem(key: str = "idem-1", fingerprint: str = "body-a", ttl: int = 86400) -> Idempotency:
    return Idempotency(key=key, fingerprint=fingerprint, ttl_seconds=ttl)


# --- accounts --------------------------------------------------------------------------------


async def test_a_new_account_holds_its_initial_grant_in_balance_and_ledger(store: Store) -> None:
    """create_account's credits are one grant entry; grant() adds another; no account, no grant."""
    owner = await open_account(store, 100)
    assert await assert_ledger_balanced(store, owner) == 100
    assert await store.accounts.grant(owner.account_id, 50, note="top-up") == 150
    assert await assert_ledger_balanced(store, owner) == 150
    assert await count(store, t.ledger, t.ledger.c.account_id == owner.account_id) == 2
    with pytest.raises(NotFound):
        await store.accounts.balance("acct_missing")
    with pytest.raises(NotFound):
        await store.accounts.grant("acct_missing", 10)


async def test_keys_are_found_by_hash_and_revoked_by_prefix(store: Store) -> None:
    """A stored key is found by its digest; revoking by prefix stamps revoked_at once."""
    account_id = await store.accounts.create_account("keys")
    key = await store.accounts.add_key(
        account_id=account_id, name="ci", prefix="sdg_abcdefgh", key_hash="f" * 64
    )
    found = await store.accounts.key_by_hash("f" * 64)
    assert found is not None and found.id == key.id and found.revoked_at is None
    assert await store.accounts.key_by_hash("e" * 64) is None
    revoked = await store.accounts.revoke_key("sdg_abcdefgh")
    assert revoked.revoked_at is not None
    again = await store.accounts.revoke_key(key.id)
    assert again.revoked_at == revoked.revoked_at
    with pytest.raises(NotFound):
        await store.accounts.revoke_key("sdg_nothere")


# --- submit ----------------------------------------------------------------------------------


async def test_submit_holds_the_quote_and_queues_one_job(store: Store) -> None:
    """A submit drops the balance by the quote, records one hold and one available job."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    assert task.status is Status.QUEUED
    assert (task.quote, task.reserved_credits, task.final_credits) == (25, 25, 0)
    assert await assert_ledger_balanced(store, owner) == 75
    assert await ledger_entries(store, task.id) == [("hold", 25)]
    job = await job_of(store, task.id)
    assert (job["state"], job["attempt"], job["max_attempts"]) == ("available", 0, 3)
    assert job["kind"] == "generate"
    stored = await store.tasks.get(task.id, owner.account_id)
    assert stored.request == task.request and stored.status is Status.QUEUED


async def test_insufficient_credits_store_nothing(store: Store) -> None:
    """One credit short: InsufficientCredits, and no task, hold or job is left; exact is fine."""
    owner = await open_account(store, 24)
    new = new_task(owner, 25)
    with pytest.raises(InsufficientCredits) as caught:
        await store.tasks.submit(new, idempotency=idem(), max_in_flight=10)
    assert "costs 25 credits; the balance is 24" in caught.value.message
    assert await assert_ledger_balanced(store, owner) == 24
    assert await count(store, t.tasks) == 0
    assert await count(store, t.jobs) == 0
    assert await count(store, t.ledger, t.ledger.c.kind == "hold") == 0
    assert await count(store, t.idempotency_keys) == 0
    with pytest.raises(NotFound):
        await store.tasks.get(new.id)
    await store.accounts.grant(owner.account_id, 1)
    await submit(store, owner, 25)  # exactly the balance is enough
    assert await assert_ledger_balanced(store, owner) == 0


async def test_an_idempotent_replay_returns_the_same_task_without_a_second_hold(
    store: Store,
) -> None:
    """Same key, same body: the first task comes back marked replayed; nothing is charged."""
    owner = await open_account(store, 100)
    first, replayed = await store.tasks.submit(
        new_task(owner, 25), idempotency=idem(), max_in_flight=10
    )
    assert not replayed
    again, replayed = await store.tasks.submit(
        new_task(owner, 25), idempotency=idem(), max_in_flight=10
    )
    assert replayed and again.id == first.id
    assert await assert_ledger_balanced(store, owner) == 75
    assert await count(store, t.tasks) == 1 and await count(store, t.jobs) == 1
    assert await ledger_entries(store, first.id) == [("hold", 25)]


async def test_a_replay_is_neither_charged_nor_counted_against_the_in_flight_cap(
    store: Store,
) -> None:
    """A replay succeeds after the balance ran out and with the key at its in-flight cap."""
    owner = await open_account(store, 25)
    first, _ = await store.tasks.submit(new_task(owner, 25), idempotency=idem(), max_in_flight=1)
    again, replayed = await store.tasks.submit(
        new_task(owner, 25), idempotency=idem(), max_in_flight=1
    )
    assert replayed and again.id == first.id
    assert await assert_ledger_balanced(store, owner) == 0


async def test_idempotency_keys_are_scoped_per_api_key(store: Store) -> None:
    """The same key sent with another API key is a new request."""
    owner = await open_account(store, 100)
    other = Owner(owner.account_id, await add_key(store, owner.account_id, "second"))
    first = await submit(store, owner, 25, idempotency=idem())
    second = await submit(store, other, 25, idempotency=idem())
    assert first.id != second.id
    assert await assert_ledger_balanced(store, owner) == 50


async def test_the_same_key_with_a_different_body_is_a_conflict(store: Store) -> None:
    """A changed fingerprint raises IdempotencyConflict naming the key and the first task."""
    owner = await open_account(store, 100)
    first = await submit(store, owner, 25, idempotency=idem(fingerprint="body-a"))
    with pytest.raises(IdempotencyConflict) as caught:
        await store.tasks.submit(
            new_task(owner, 25), idempotency=idem(fingerprint="body-b"), max_in_flight=10
        )
    assert "'idem-1'" in caught.value.message and first.id in caught.value.message
    assert await assert_ledger_balanced(store, owner) == 75
    assert await count(store, t.tasks) == 1


async def test_an_expired_idempotency_key_creates_a_new_task(store: Store) -> None:
    """Past its retention the key is forgotten: a new task and a second hold."""
    owner = await open_account(store, 100)
    first = await submit(store, owner, 25, idempotency=idem(ttl=0))
    await asyncio.sleep(0.01)
    second = await submit(store, owner, 25, idempotency=idem(ttl=0, fingerprint="body-b"))
    assert second.id != first.id
    assert await assert_ledger_balanced(store, owner) == 50
    replay, replayed = await store.tasks.submit(
        new_task(owner, 25), idempotency=idem(fingerprint="body-b"), max_in_flight=10
    )
    assert replayed and replay.id == second.id


async def test_pruned_idempotency_keys_no_longer_replay(store: Store) -> None:
    """prune_idempotency forgets keys older than the cutoff and keeps younger ones."""
    owner = await open_account(store, 100)
    first = await submit(store, owner, 25, idempotency=idem())
    assert await store.tasks.prune_idempotency(3600) == 0
    await asyncio.sleep(0.01)
    assert await store.tasks.prune_idempotency(0) == 1
    second = await submit(store, owner, 25, idempotency=idem())
    assert second.id != first.id
    assert await assert_ledger_balanced(store, owner) == 50


async def test_a_lowered_in_flight_cap_refuses_a_key_already_over_it(store: Store) -> None:
    """The count stops at the limit; a key already past a lowered limit is still refused."""
    owner = await open_account(store, 1000)
    for _ in range(4):
        await submit(store, owner, 25)
    with pytest.raises(RateLimited) as caught:
        await submit(store, owner, 25, max_in_flight=2)
    assert "has more than 2 tasks queued or running (the limit is 2)" in caught.value.message
    await submit(store, owner, 25, max_in_flight=5)
    with pytest.raises(RateLimited):
        await submit(store, owner, 25, max_in_flight=5)
    assert await assert_ledger_balanced(store, owner) == 875


async def test_the_in_flight_cap_refuses_one_more_task_per_key(store: Store) -> None:
    """At max_in_flight queued tasks the next submit is RateLimited and holds nothing."""
    owner = await open_account(store, 1000)
    first = await submit(store, owner, 25, max_in_flight=2)
    await submit(store, owner, 25, max_in_flight=2)
    with pytest.raises(RateLimited) as caught:
        await submit(store, owner, 25, max_in_flight=2)
    assert caught.value.retry_after == 5
    assert "2 tasks queued or running (the limit is 2)" in caught.value.message
    assert await assert_ledger_balanced(store, owner) == 950
    other = Owner(owner.account_id, await add_key(store, owner.account_id, "second"))
    await submit(store, other, 25, max_in_flight=2)
    await store.tasks.cancel(first.id, owner.account_id)
    await submit(store, owner, 25, max_in_flight=2)
    assert await assert_ledger_balanced(store, owner) == 1000 - 3 * 25  # four holds, one released


# --- cancel ----------------------------------------------------------------------------------


async def test_cancelling_a_queued_task_releases_its_credits_exactly_once(store: Store) -> None:
    """Cancel releases the hold and cancels the job; a second cancel is invalid_state."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    cancelled = await store.tasks.cancel(task.id, owner.account_id)
    assert cancelled.status is Status.CANCELLED
    assert cancelled.final_credits == 0 and cancelled.finished_at is not None
    assert await assert_ledger_balanced(store, owner) == 100
    assert await ledger_entries(store, task.id) == [("hold", 25), ("release", 25)]
    assert (await job_of(store, task.id))["state"] == "cancelled"
    assert await store.jobs.claim("w1", 10, 30) == []
    with pytest.raises(InvalidState, match="is cancelled; only a queued task"):
        await store.tasks.cancel(task.id, owner.account_id)
    assert await ledger_entries(store, task.id) == [("hold", 25), ("release", 25)]
    assert await assert_ledger_balanced(store, owner) == 100


async def test_another_account_cannot_cancel_or_see_a_task(store: Store) -> None:
    """Someone else's task is not_found (like a missing one) and stays queued with its hold."""
    owner = await open_account(store, 100)
    stranger = await open_account(store, 100)
    task = await submit(store, owner, 25)
    with pytest.raises(NotFound):
        await store.tasks.cancel(task.id, stranger.account_id)
    with pytest.raises(NotFound):
        await store.tasks.get(task.id, stranger.account_id)
    assert (await store.tasks.get(task.id, owner.account_id)).status is Status.QUEUED
    assert (await store.tasks.get(task.id)).id == task.id
    assert await assert_ledger_balanced(store, owner) == 75
    assert await assert_ledger_balanced(store, stranger) == 100
    with pytest.raises(NotFound):
        await store.tasks.get("task_nope", owner.account_id)
    with pytest.raises(NotFound):
        await store.tasks.cancel("task_nope", owner.account_id)


# --- list ------------------------------------------------------------------------------------


async def _submit_series(
    store: Store, owner: Owner, n: int, model: str = "seedance-1-0-pro"
) -> list[str]:
    """``n`` tasks with strictly increasing ids (one millisecond apart)."""
    base = int(datetime.now(UTC).timestamp() * 1000)
    ids = []
    for i in range(n):
        task_id = new_id("task", now_ms=base + i)
        await submit(store, owner, 1, task_id=task_id, model=model)
        ids.append(task_id)
    return ids


async def test_list_pages_newest_first_by_cursor(store: Store) -> None:
    """Pages of 2 walk 5 tasks newest first; the last page has no cursor."""
    owner = await open_account(store, 100)
    ids = await _submit_series(store, owner, 5)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await store.tasks.list(owner.account_id, limit=2, after=cursor)
        pages += 1
        seen += [task.id for task in page.items]
        assert len(page.items) <= 2
        if page.next_cursor is None:
            break
        assert page.next_cursor == page.items[-1].id
        cursor = page.next_cursor
    assert pages == 3
    assert seen == list(reversed(ids))
    assert await assert_ledger_balanced(store, owner) == 95


async def test_a_full_last_page_has_no_cursor(store: Store) -> None:
    """With exactly `limit` tasks left, the page says there are no more."""
    owner = await open_account(store, 100)
    ids = await _submit_series(store, owner, 4)
    first = await store.tasks.list(owner.account_id, limit=2)
    second = await store.tasks.list(owner.account_id, limit=2, after=first.next_cursor)
    assert [task.id for task in second.items] == [ids[1], ids[0]]
    assert second.next_cursor is None
    assert await assert_ledger_balanced(store, owner) == 96


async def test_list_filters_by_status_and_model_and_account(store: Store) -> None:
    """Status and model filters apply; other accounts' tasks never appear."""
    owner = await open_account(store, 100)
    stranger = await open_account(store, 100)
    pro = await _submit_series(store, owner, 3)
    fast = await _submit_series(store, owner, 2, model="seedance-1-0-pro-fast")
    await _submit_series(store, stranger, 2)
    await store.tasks.cancel(pro[1], owner.account_id)
    await store.tasks.cancel(fast[0], owner.account_id)

    async def ids(**filters: str) -> list[str]:
        page = await store.tasks.list(owner.account_id, limit=50, **filters)
        return [task.id for task in page.items]

    assert sorted(await ids()) == sorted(pro + fast)
    assert await ids(status="cancelled") == [fast[0], pro[1]]
    assert await ids(status="queued", model="seedance-1-0-pro") == [pro[2], pro[0]]
    assert await ids(model="seedance-1-0-pro-fast") == [fast[1], fast[0]]
    assert await ids(status="succeeded") == []
    assert await assert_ledger_balanced(store, owner) == 100 - 3
    assert await assert_ledger_balanced(store, stranger) == 98


async def test_progress_is_recorded_only_while_running(store: Store) -> None:
    """set_progress ignores a queued task and updates a running one."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    await store.tasks.set_progress(task.id, 40)
    assert (await store.tasks.get(task.id)).progress == 0
    (job,) = await store.jobs.claim("w1", 1, 30)
    await store.jobs.start_task(job)
    await store.tasks.set_progress(task.id, 40)
    assert (await store.tasks.get(task.id)).progress == 40
    assert await assert_ledger_balanced(store, owner) == 75


async def test_progress_never_goes_back(store: Store) -> None:
    """A late, lower report (from an earlier moment of the render) changes nothing."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    (job,) = await store.jobs.claim("w1", 1, 30)
    await store.jobs.start_task(job)
    await store.tasks.set_progress(task.id, 60)
    await store.tasks.set_progress(task.id, 30)
    assert (await store.tasks.get(task.id)).progress == 60
    await store.tasks.set_progress(task.id, 90)
    assert (await store.tasks.get(task.id)).progress == 90


async def test_a_running_task_cannot_be_cancelled(store: Store) -> None:
    """Once a worker started it, cancel is invalid_state and the hold stays."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25)
    (job,) = await store.jobs.claim("w1", 1, 30)
    started = await store.jobs.start_task(job)
    assert started is not None and started.status is Status.RUNNING
    assert started.started_at is not None
    with pytest.raises(InvalidState, match="is running"):
        await store.tasks.cancel(task.id, owner.account_id)
    assert await ledger_entries(store, task.id) == [("hold", 25)]
    assert await assert_ledger_balanced(store, owner) == 75


async def test_task_timestamps_are_timezone_aware_utc(store: Store) -> None:
    """Both backends hand back aware UTC datetimes (SQLite stores naive text)."""
    owner = await open_account(store, 100)
    task = await submit(store, owner, 25, expires_in=60)
    stored = await store.tasks.get(task.id)
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.expires_at is not None
    assert timedelta(seconds=55) < stored.expires_at - stored.created_at < timedelta(seconds=65)
    assert await assert_ledger_balanced(store, owner) == 75
