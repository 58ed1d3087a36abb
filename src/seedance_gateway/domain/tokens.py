"""Duration tokens (pure): a signed statement binding a file, its owner, its measured duration
and its content hash. A generation that references a video or audio file must carry the token
the Files API issued for it; anything forged, altered or issued for another file or owner fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

VERSION = 1


@dataclass(frozen=True, kw_only=True)
class DurationClaim:
    """What a duration token asserts."""

    file_id: str
    account_id: str
    duration: float
    sha256: str


class TokenInvalid(ValueError):
    """The token is malformed, forged or does not match the file."""


def issue(secret: str, claim: DurationClaim) -> str:
    """A token for ``claim``: ``base64url(json).base64url(hmac)``."""
    body = json.dumps(
        {
            "v": VERSION,
            "f": claim.file_id,
            "a": claim.account_id,
            "d": round(claim.duration, 3),
            "h": claim.sha256,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    return f"{_b64(body)}.{_b64(_mac(secret, body))}"


def verify(secret: str, token: str, expected: DurationClaim) -> None:
    """Raises ``TokenInvalid`` saying why, unless ``token`` asserts exactly ``expected``."""
    claim = read(secret, token)
    if claim.file_id != expected.file_id:
        raise TokenInvalid("it was issued for another file")
    if claim.account_id != expected.account_id:
        raise TokenInvalid("it was issued to another account")
    if claim.sha256 != expected.sha256 or abs(claim.duration - expected.duration) > 0.001:
        raise TokenInvalid("it does not match the file's measured duration and content")


def read(secret: str, token: str) -> DurationClaim:
    """The claim in a token whose signature is valid."""
    body_part, _, mac_part = token.partition(".")
    try:
        body, mac = _unb64(body_part), _unb64(mac_part)
    except ValueError:
        raise TokenInvalid("it is not a duration token") from None
    if not mac or not hmac.compare_digest(mac, _mac(secret, body)):
        raise TokenInvalid("its signature is not valid (forged or altered)")
    try:
        data = json.loads(body)
        return DurationClaim(
            file_id=str(data["f"]),
            account_id=str(data["a"]),
            duration=float(data["d"]),
            sha256=str(data["h"]),
        )
    except (ValueError, KeyError, TypeError):
        raise TokenInvalid("it is not a duration token") from None


def _mac(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), b"duration-token\n" + body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(str(exc)) from exc
