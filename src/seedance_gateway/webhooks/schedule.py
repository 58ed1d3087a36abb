"""When to try a failed delivery again: the Standard Webhooks schedule, jitter, Retry-After."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Delays after the first attempt (seconds): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
STANDARD = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0)
JITTER = 0.1
MAX_RETRY_AFTER = 86400.0


def parse(text: str) -> tuple[float, ...]:
    """A comma-separated list of non-negative seconds; ``ValueError`` naming what is wrong."""
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"a retry schedule is comma-separated seconds, got {text!r}") from None
    if any(not math.isfinite(delay) or delay < 0 for delay in delays):
        raise ValueError(f"retry delays must be finite numbers >= 0, got {text!r}")
    return delays


def next_delay(
    attempts_made: int,
    schedule: tuple[float, ...],
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` tries; None when none is left.

    The scheduled delay gets ±10 % jitter; a receiver's ``Retry-After`` is a floor.
    """
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    delay = schedule[attempts_made - 1]
    delay *= 1 + (rng or random).uniform(-JITTER, JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` (seconds or an HTTP date) as seconds from ``now``; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
