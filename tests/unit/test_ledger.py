"""Ledger rules (domain.ledger): which entry settles a hold, and how entries move the balance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from seedance_gateway.domain import ledger
from seedance_gateway.domain.ledger import EntryKind, balance_delta, settlement_for
from seedance_gateway.domain.tasks import Status


def test_a_succeeded_task_captures_its_hold() -> None:
    """Success turns the hold into a charge."""
    assert settlement_for(Status.SUCCEEDED) is EntryKind.CAPTURE


@pytest.mark.parametrize("status", [Status.FAILED, Status.CANCELLED, Status.EXPIRED])
def test_every_other_terminal_status_releases_its_hold(status: Status) -> None:
    """Failure, cancel and expiry give the credits back."""
    assert settlement_for(status) is EntryKind.RELEASE


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING])
def test_an_unfinished_task_has_nothing_to_settle(status: Status) -> None:
    """Settling a queued or running task is a programming error."""
    with pytest.raises(ValueError, match="not terminal"):
        settlement_for(status)


@pytest.mark.parametrize(
    ("kind", "delta"),
    [
        (EntryKind.GRANT, 30),
        (EntryKind.HOLD, -30),
        (EntryKind.CAPTURE, 0),
        (EntryKind.RELEASE, 30),
    ],
)
def test_each_entry_kind_moves_the_balance_by_its_sign(kind: EntryKind, delta: int) -> None:
    """Grants and releases add, holds subtract, captures leave the balance alone."""
    assert balance_delta(kind, 30) == delta


def test_a_hold_then_its_release_nets_to_zero_and_a_capture_keeps_the_charge() -> None:
    """Hold + release restores the balance; hold + capture leaves it reduced by the hold."""
    hold = balance_delta(EntryKind.HOLD, 25)
    assert hold + balance_delta(EntryKind.RELEASE, 25) == 0
    assert hold + balance_delta(EntryKind.CAPTURE, 25) == -25


@pytest.mark.parametrize("kind", list(EntryKind))
def test_negative_amounts_are_refused(kind: EntryKind) -> None:
    """The kind carries the sign; an amount is never negative."""
    with pytest.raises(ValueError, match="never negative"):
        balance_delta(kind, -1)


def test_entry_kinds_are_stored_as_their_lowercase_names() -> None:
    """The ledger table stores these strings; renaming one would orphan old rows."""
    assert [str(k) for k in EntryKind] == ["grant", "hold", "capture", "release"]


def test_daily_usage_sums_per_utc_day_and_model() -> None:
    at = datetime(2026, 11, 21, 23, 59, tzinfo=UTC)
    charges = [
        ledger.Charge(at=at, model="b", credits=5),
        ledger.Charge(at=at + timedelta(minutes=2), model="b", credits=7),  # the next UTC day
        ledger.Charge(at=at, model="a", credits=3),
        ledger.Charge(at=at - timedelta(hours=1), model="b", credits=1),
    ]
    rows = [(r.day.isoformat(), r.model, r.tasks, r.credits) for r in ledger.daily_usage(charges)]
    assert rows == [
        ("2026-11-21", "a", 1, 3),
        ("2026-11-21", "b", 2, 6),
        ("2026-11-22", "b", 1, 7),
    ]
    assert ledger.daily_usage([]) == []
