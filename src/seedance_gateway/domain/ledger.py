"""Ledger rules: append-only credit entries. The balance is their sum and is never negative.

A hold moves credits out of the balance when a task is accepted; exactly one of capture (success)
or release (failure, cancel, expiry) follows it, in the same transaction as the status change.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from seedance_gateway.domain.tasks import Status


class EntryKind(enum.StrEnum):
    """What an entry records."""

    GRANT = "grant"  #: credits added by an operator (+amount)
    HOLD = "hold"  #: credits reserved for a task (-amount)
    CAPTURE = "capture"  #: a hold that became a charge (0; records the final amount)
    RELEASE = "release"  #: a hold given back (+amount)


def settlement_for(status: Status) -> EntryKind:
    """The entry that settles a hold when a task reaches ``status``."""
    if status is Status.SUCCEEDED:
        return EntryKind.CAPTURE
    if status.terminal:
        return EntryKind.RELEASE
    raise ValueError(f"{status} is not terminal; nothing to settle")


def balance_delta(kind: EntryKind, amount: int) -> int:
    """How an entry of ``kind`` for ``amount`` credits changes the balance."""
    if amount < 0:
        raise ValueError("amounts are never negative; the kind gives the sign")
    return {
        EntryKind.GRANT: amount,
        EntryKind.HOLD: -amount,
        EntryKind.CAPTURE: 0,
        EntryKind.RELEASE: amount,
    }[kind]


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One ledger entry as an account sees it."""

    id: int
    kind: EntryKind
    amount: int
    balance_after: int
    task_id: str | None
    note: str | None
    created_at: datetime

    @property
    def delta(self) -> int:
        """The signed change to the balance."""
        return balance_delta(self.kind, self.amount)


@dataclass(frozen=True, kw_only=True)
class Charge:
    """A captured charge: when, for which model, how many credits."""

    at: datetime
    model: str
    credits: int


@dataclass(frozen=True, kw_only=True)
class DailyUsage:
    """Credits charged for one model on one UTC day."""

    day: date
    model: str
    tasks: int
    credits: int


def daily_usage(charges: Iterable[Charge]) -> list[DailyUsage]:
    """Charges summed per UTC day and model, oldest day first, models in name order."""
    totals: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for charge in charges:
        total = totals[(charge.at.date(), charge.model)]
        total[0] += 1
        total[1] += charge.credits
    return [
        DailyUsage(day=day, model=model, tasks=count, credits=credits)
        for (day, model), (count, credits) in sorted(totals.items())
    ]
