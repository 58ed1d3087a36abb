"""Signed, expiring blob URLs (blobs.signing)."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from seedance_gateway.blobs.signing import signature, signed_url, verify

SECRET = "s3cret"
NOW = 1_800_000_000.0


def parts(url: str) -> tuple[str, str, str]:
    """(key, exp, sig) of a signed URL."""
    split = urlsplit(url)
    query = parse_qs(split.query)
    return unquote(split.path.removeprefix("/blobs/")), query["exp"][0], query["sig"][0]


def test_a_fresh_signed_url_verifies() -> None:
    """The URL's own key, expiry and signature verify before the deadline."""
    url = signed_url("http://host:8000", SECRET, "results/task_1/video.mp4", 60, now=NOW)
    assert url.startswith("http://host:8000/blobs/results/task_1/video.mp4?exp=")
    key, exp, sig = parts(url)
    assert key == "results/task_1/video.mp4"
    assert int(exp) == int(NOW) + 60
    assert verify(SECRET, key, exp, sig, now=NOW)
    assert verify(SECRET, key, exp, sig, now=NOW + 60)


def test_a_signature_for_one_key_does_not_open_another() -> None:
    """Swapping the key (another task's video) fails verification."""
    _, exp, sig = parts(signed_url("http://h", SECRET, "results/task_1/video.mp4", 60, now=NOW))
    assert not verify(SECRET, "results/task_2/video.mp4", exp, sig, now=NOW)


def test_a_tampered_signature_fails() -> None:
    """Changing one hex digit of the signature fails verification."""
    key, exp, sig = parts(signed_url("http://h", SECRET, "a/b.png", 60, now=NOW))
    tampered = ("0" if sig[0] != "0" else "1") + sig[1:]
    assert not verify(SECRET, key, exp, tampered, now=NOW)
    assert not verify(SECRET, key, exp, "", now=NOW)


def test_an_extended_expiry_fails() -> None:
    """Pushing exp later invalidates the signature (the expiry is signed)."""
    key, exp, sig = parts(signed_url("http://h", SECRET, "a/b.png", 60, now=NOW))
    assert not verify(SECRET, key, str(int(exp) + 3600), sig, now=NOW)


def test_an_expired_url_fails_even_with_a_valid_signature() -> None:
    """One second past the deadline the URL no longer verifies."""
    key, exp, sig = parts(signed_url("http://h", SECRET, "a/b.png", 60, now=NOW))
    assert not verify(SECRET, key, exp, sig, now=NOW + 61)


def test_another_secret_fails() -> None:
    """A URL signed by another deployment does not verify here."""
    key, exp, sig = parts(signed_url("http://h", "other", "a/b.png", 60, now=NOW))
    assert not verify(SECRET, key, exp, sig, now=NOW)


@pytest.mark.parametrize("expires", ["", "soon", "1.5", "0x10"])
def test_a_malformed_expiry_fails_without_raising(expires: str) -> None:
    """A garbled exp is a failed verification, not an exception."""
    assert not verify(SECRET, "a/b.png", expires, signature(SECRET, "a/b.png", 0), now=NOW)


def test_keys_with_special_characters_are_quoted_and_still_verify() -> None:
    """Spaces and non-ASCII in a key are percent-encoded in the URL and verify once decoded."""
    url = signed_url("http://h", SECRET, "inputs/task 1/ü.png", 60, now=NOW)
    assert " " not in url and "ü" not in url
    key, exp, sig = parts(url)
    assert key == "inputs/task 1/ü.png"
    assert verify(SECRET, key, exp, sig, now=NOW)
