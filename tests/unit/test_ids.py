"""Public identifiers (domain.ids): prefix, 26 Crockford base32 characters, time-ordered."""

from __future__ import annotations

import re
import secrets
import time
import uuid

from seedance_gateway.domain import ids
from seedance_gateway.domain.ids import new_id

BODY = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}$")  # Crockford base32: no i, l, o, u


def test_an_id_is_the_prefix_an_underscore_and_26_base32_characters() -> None:
    """``task_`` + 26 lowercase Crockford characters."""
    for prefix in ("task", "acct", "key"):
        value = new_id(prefix)
        head, _, body = value.partition("_")
        assert head == prefix
        assert BODY.match(body), value


def test_ids_are_unique_within_one_millisecond() -> None:
    """80 random bits keep ids at the same instant apart."""
    assert len({new_id("task", now_ms=1_700_000_000_000) for _ in range(2000)}) == 2000


def test_ids_sort_by_creation_time() -> None:
    """An id from a later millisecond sorts after every id from an earlier one."""
    earlier = [new_id("task", now_ms=1_700_000_000_000) for _ in range(200)]
    later = [new_id("task", now_ms=1_700_000_000_001) for _ in range(200)]
    assert max(earlier) < min(later)


def test_ids_sort_by_time_across_decades() -> None:
    """Sorting ids as strings sorts them by their timestamps."""
    stamps = [0, 1, 31, 32, 1_000, 1_700_000_000_000, 2_000_000_000_000, 2**48 - 1]
    ids = [new_id("task", now_ms=ms) for ms in reversed(stamps)]
    assert sorted(ids) == list(reversed(ids))


def test_the_timestamp_is_encoded_in_the_leading_characters() -> None:
    """The first 10 characters carry the milliseconds; the rest is random."""
    a = new_id("task", now_ms=1_700_000_000_000)
    b = new_id("task", now_ms=1_700_000_000_000)
    assert a[5:15] == b[5:15]
    assert a[15:] != b[15:]
    assert new_id("task", now_ms=1_700_000_000_001)[5:15] != a[5:15]


def test_ids_without_a_given_time_use_the_clock() -> None:
    """An id made now sorts between ids stamped a second before and a second after now."""
    now_ms = int(time.time() * 1000)
    assert (
        new_id("task", now_ms=now_ms - 1000) < new_id("task") < new_id("task", now_ms=now_ms + 1000)
    )


def test_the_body_is_the_numbers_base32_digits_most_significant_first() -> None:
    """The body of a number spells it digit by digit (checked against the definition)."""
    for number in (0, 1, 31, 32, 2**128 - 1, *(secrets.randbits(128) for _ in range(1000))):
        digits = [(number >> (5 * (25 - place))) & 31 for place in range(26)]
        expected = "".join("0123456789abcdefghjkmnpqrstvwxyz"[d] for d in digits)
        assert ids.from_uuid(str(uuid.UUID(int=number))) == f"task_{expected}"
