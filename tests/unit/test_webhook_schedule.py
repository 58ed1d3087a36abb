"""Webhook retry timing (webhooks.schedule) and SEEDANCE_WEBHOOK_SCHEDULE (config)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from seedance_gateway.config import Settings, from_env
from seedance_gateway.webhooks import schedule
from seedance_gateway.webhooks.schedule import next_delay, parse, retry_after_seconds

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def test_the_standard_schedule_is_the_standard_webhooks_one() -> None:
    """5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, as docs/webhooks.md says."""
    m, h = 60.0, 3600.0
    expected = (5.0, 5 * m, 30 * m, 2 * h, 5 * h, 10 * h, 14 * h, 20 * h, 24 * h)
    assert expected == schedule.STANDARD


@pytest.mark.parametrize(
    ("text", "delays"),
    [
        ("5,300,1800", (5.0, 300.0, 1800.0)),
        ("1,2.5", (1.0, 2.5)),
        ("0", (0.0,)),
        (" 5 , 60 ", (5.0, 60.0)),
        ("5,,60,", (5.0, 60.0)),
        ("5, ,60", (5.0, 60.0)),
        ("", ()),
    ],
)
def test_parse_reads_comma_separated_seconds(text: str, delays: tuple[float, ...]) -> None:
    """Numbers become floats in order; spaces and empty parts are ignored."""
    assert parse(text) == delays


@pytest.mark.parametrize("text", ["5,-1", "-0.5", "5,nan", "inf"])
def test_parse_refuses_a_negative_delay(text: str) -> None:
    """A negative delay is a ValueError that quotes the input."""
    with pytest.raises(ValueError, match=">= 0") as caught:
        parse(text)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize("text", ["5,soon", "5m", "1;2", "abc"])
def test_parse_refuses_garbage_and_quotes_it(text: str) -> None:
    """A part that is not a number is a ValueError naming the whole text."""
    with pytest.raises(ValueError, match="comma-separated seconds") as caught:
        parse(text)
    assert repr(text) in str(caught.value)


def test_the_first_retry_uses_the_first_delay_with_jitter() -> None:
    """After one attempt the delay is schedule[0] within ±10 %, reproducible with a seed."""
    delays = (100.0, 5000.0)
    first = next_delay(1, delays, rng=random.Random(42))
    assert first is not None and 90.0 <= first <= 110.0
    assert next_delay(1, delays, rng=random.Random(42)) == first
    second = next_delay(2, delays, rng=random.Random(42))
    assert second is not None and 4500.0 <= second <= 5500.0


def test_jitter_stays_within_ten_percent_and_actually_varies() -> None:
    """Over many draws every delay is within ±10 % and both sides of the base occur."""
    rng = random.Random(7)
    draws = [next_delay(1, (60.0,), rng=rng) for _ in range(2000)]
    assert all(d is not None and 54.0 <= d <= 66.0 for d in draws)
    values = [d for d in draws if d is not None]
    assert min(values) < 57.0 and max(values) > 63.0
    assert len(set(values)) > 1000


def test_a_zero_delay_stays_zero() -> None:
    """Jitter scales the delay, so an immediate retry remains immediate."""
    assert next_delay(1, (0.0,), rng=random.Random(1)) == 0.0


@pytest.mark.parametrize("attempts", [3, 4, 100])
def test_no_retry_is_left_beyond_the_schedule(attempts: int) -> None:
    """With two delays, a third (or later) failed attempt is the last."""
    assert next_delay(attempts, (5.0, 10.0), rng=random.Random(0)) is None


def test_the_last_scheduled_retry_is_still_given() -> None:
    """attempts_made == len(schedule) uses the last delay."""
    last = next_delay(len(schedule.STANDARD), schedule.STANDARD, rng=random.Random(0))
    assert last is not None and 0.9 * 86400 <= last <= 1.1 * 86400


@pytest.mark.parametrize("attempts", [0, -1])
def test_no_delay_before_any_attempt(attempts: int) -> None:
    """attempts_made below 1 gives None rather than indexing from the end."""
    assert next_delay(attempts, (5.0, 10.0), rng=random.Random(0)) is None


def test_an_empty_schedule_never_retries() -> None:
    """No delays: the first failure is final."""
    assert next_delay(1, (), rng=random.Random(0)) is None


def test_a_larger_retry_after_wins() -> None:
    """The receiver's Retry-After is a floor: 60 s beats a 5 s ±10 % delay."""
    assert next_delay(1, (5.0,), retry_after=60.0, rng=random.Random(3)) == 60.0


def test_a_smaller_retry_after_does_not_shorten_the_delay() -> None:
    """Retry-After below the scheduled delay leaves the jittered delay as it was."""
    plain = next_delay(1, (300.0,), rng=random.Random(3))
    floored = next_delay(1, (300.0,), retry_after=1.0, rng=random.Random(3))
    assert plain is not None and 270.0 <= plain <= 330.0
    assert floored == plain


def test_retry_after_is_capped_at_a_day() -> None:
    """A week-long Retry-After waits 24 h, no more."""
    delay = next_delay(1, (5.0,), retry_after=7 * 86400.0, rng=random.Random(3))
    assert delay == schedule.MAX_RETRY_AFTER == 86400.0


def test_retry_after_adds_no_attempt_beyond_the_schedule() -> None:
    """Retry-After does not create an attempt beyond the schedule."""
    assert next_delay(2, (5.0,), retry_after=60.0, rng=random.Random(3)) is None


@pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), ("0", 0.0), (" 7 ", 7.0)])
def test_retry_after_in_seconds(value: str, seconds: float) -> None:
    """A delta-seconds Retry-After is read as a number (surrounding spaces ignored)."""
    assert retry_after_seconds(value, now=NOW) == seconds


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    """An HTTP date 30 s after ``now`` is 30 seconds away."""
    value = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    assert value.endswith("GMT")
    assert retry_after_seconds(value, now=NOW) == pytest.approx(30.0)


def test_an_http_date_without_a_zone_is_taken_as_utc() -> None:
    """``-0000`` (no zone information) is read as UTC."""
    assert retry_after_seconds("Tue, 01 Jan 2030 12:01:00 -0000", now=NOW) == pytest.approx(60.0)


def test_retry_after_in_the_past_is_zero() -> None:
    """A date already gone means 'now', never a negative delay."""
    value = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(value, now=NOW) == 0.0


@pytest.mark.parametrize(
    "value", [None, "", "soon", "-5", "1.5", "Someday, 99 Foo", "\u00b2", "\u0663"]
)
def test_an_unreadable_retry_after_is_none(value: str | None) -> None:
    """Absent, empty or malformed headers (non-ASCII digits too) are ignored, never raising."""
    assert retry_after_seconds(value, now=NOW) is None


def test_the_default_settings_use_the_standard_schedule() -> None:
    """Without SEEDANCE_WEBHOOK_SCHEDULE the delays are the Standard Webhooks ones."""
    assert Settings().webhook_delays == schedule.STANDARD
    assert from_env({}).webhook_delays == schedule.STANDARD


def test_the_schedule_comes_from_the_environment() -> None:
    """SEEDANCE_WEBHOOK_SCHEDULE="1,2.5" gives delays (1.0, 2.5)."""
    settings = from_env({"SEEDANCE_WEBHOOK_SCHEDULE": "1,2.5"})
    assert settings.webhook_schedule == "1,2.5"
    assert settings.webhook_delays == (1.0, 2.5)


@pytest.mark.parametrize("raw", ["5,soon", "5,-1"])
def test_a_bad_schedule_in_the_environment_names_the_variable(raw: str) -> None:
    """A malformed or negative schedule fails at startup, naming SEEDANCE_WEBHOOK_SCHEDULE."""
    with pytest.raises(ValueError, match="SEEDANCE_WEBHOOK_SCHEDULE") as caught:
        from_env({"SEEDANCE_WEBHOOK_SCHEDULE": raw})
    assert repr(raw) in str(caught.value)
