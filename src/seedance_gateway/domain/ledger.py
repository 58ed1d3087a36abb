"""Ledger rules: append-only credit entries. The balance is their sum and is never negative.

A hold moves credits out of the balance when a task is accepted; exactly one of capture (success)
or release (failure, cancel, expiry) follows it, in the same transaction as the status change.
"""

from __future__ import annotations

import enum

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
