"""API keys (domain.keys): generated with a prefix, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib

from seedance_gateway.domain.keys import KEY_PREFIX, digest, display_prefix, generate


def test_generated_keys_carry_the_recognizable_prefix_and_are_long() -> None:
    """Keys start with sdg_ and carry 32 random bytes (43 url-safe characters)."""
    key = generate()
    assert key.startswith(KEY_PREFIX) and KEY_PREFIX == "sdg_"
    assert len(key) == len(KEY_PREFIX) + 43
    assert set(key[len(KEY_PREFIX) :]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_generated_keys_are_unique() -> None:
    """A thousand keys never repeat."""
    assert len({generate() for _ in range(1000)}) == 1000


def test_the_digest_is_the_sha256_hex_of_the_plaintext() -> None:
    """The stored hash is SHA-256, hex, 64 characters; the same key always hashes the same."""
    key = "sdg_example-key"
    assert digest(key) == hashlib.sha256(b"sdg_example-key").hexdigest()
    assert len(digest(key)) == 64
    assert digest(key) == digest("sdg_example-key")


def test_different_keys_have_different_digests_and_no_plaintext_leaks() -> None:
    """One changed character changes the digest; the digest does not contain the key."""
    key = generate()
    other = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert digest(key) != digest(other)
    assert key[len(KEY_PREFIX) :] not in digest(key)


def test_the_display_prefix_is_the_first_twelve_characters() -> None:
    """The prefix shown in key lists starts with sdg_ and reveals 8 random characters only."""
    key = generate()
    assert display_prefix(key) == key[:12]
    assert display_prefix(key).startswith("sdg_")
    assert len(display_prefix(key)) == 12
