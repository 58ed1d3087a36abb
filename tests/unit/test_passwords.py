"""``domain.passwords``: salted scrypt hashes for the console's sign-in."""

from __future__ import annotations

import pytest

from seedance_gateway.domain import passwords


def test_a_hash_verifies_its_password_only() -> None:
    stored = passwords.hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert passwords.verify("correct horse", stored)
    assert not passwords.verify("correct horsE", stored)


def test_the_same_password_hashes_differently_each_time() -> None:
    assert passwords.hash_password("same password") != passwords.hash_password("same password")


@pytest.mark.parametrize("stored", [None, "", "plain", "bcrypt$1$2$3$aa$bb", "scrypt$x$8$1$aa$bb"])
def test_a_missing_or_malformed_hash_never_verifies(stored: str | None) -> None:
    assert not passwords.verify("anything", stored)


@pytest.mark.parametrize("password", ["", "short", "x" * 201])
def test_too_short_or_too_long_is_refused(password: str) -> None:
    with pytest.raises(passwords.WeakPassword, match="8 to 200 characters"):
        passwords.hash_password(password)
