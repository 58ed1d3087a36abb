"""Duration tokens bind a file, its owner, its measured duration and its hash."""

from __future__ import annotations

import base64
import json

import pytest

from seedance_gateway.domain import tokens

SECRET = "s3cret"
CLAIM = tokens.DurationClaim(file_id="file_a", account_id="acct_a", duration=4.25, sha256="ab" * 32)


def test_a_token_verifies_for_the_file_it_was_issued_for() -> None:
    """The issued token verifies against the same claim."""
    token = tokens.issue(SECRET, CLAIM)
    tokens.verify(SECRET, token, CLAIM)
    assert tokens.read(SECRET, token) == tokens.DurationClaim(
        file_id="file_a", account_id="acct_a", duration=4.25, sha256="ab" * 32
    )


@pytest.mark.parametrize(
    ("other", "reason"),
    [
        (
            tokens.DurationClaim(
                file_id="file_b", account_id="acct_a", duration=4.25, sha256="ab" * 32
            ),
            "another file",
        ),
        (
            tokens.DurationClaim(
                file_id="file_a", account_id="acct_b", duration=4.25, sha256="ab" * 32
            ),
            "another account",
        ),
        (
            tokens.DurationClaim(
                file_id="file_a", account_id="acct_a", duration=9.0, sha256="ab" * 32
            ),
            "measured duration",
        ),
        (
            tokens.DurationClaim(
                file_id="file_a", account_id="acct_a", duration=4.25, sha256="cd" * 32
            ),
            "measured duration",
        ),
    ],
)
def test_a_token_for_a_different_file_owner_duration_or_hash_is_refused(
    other: tokens.DurationClaim, reason: str
) -> None:
    """A foreign or mismatched token says which binding failed."""
    token = tokens.issue(SECRET, CLAIM)
    with pytest.raises(tokens.TokenInvalid, match=reason):
        tokens.verify(SECRET, token, other)


def test_an_altered_token_is_refused_as_forged() -> None:
    """Changing the claimed duration without the secret breaks the signature."""
    token = tokens.issue(SECRET, CLAIM)
    body, mac = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["d"] = 2.0
    forged_body = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(tokens.TokenInvalid, match="forged or altered"):
        tokens.verify(SECRET, f"{forged_body}.{mac}", CLAIM)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    """Only our secret signs valid tokens."""
    with pytest.raises(tokens.TokenInvalid, match="signature"):
        tokens.verify(SECRET, tokens.issue("other", CLAIM), CLAIM)


@pytest.mark.parametrize("garbage", ["", "abc", "not.a.token", "!!!.###"])
def test_garbage_is_not_a_token(garbage: str) -> None:
    """Malformed input is refused, never an unexpected exception."""
    with pytest.raises(tokens.TokenInvalid):
        tokens.verify(SECRET, garbage, CLAIM)
