"""Standard Webhooks signatures: ``whsec_`` secrets and the three ``webhook-*`` headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from standardwebhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def callback_secret(server_secret: str, account_id: str) -> str:
    """The secret that signs an account's per-request callbacks (derived, never stored)."""
    key = hmac.new(server_secret.encode(), f"callbacks:{account_id}".encode(), hashlib.sha256)
    return PREFIX + base64.b64encode(key.digest()).decode("ascii")


def headers(message_id: str, body: str, signing: Iterable[str], at: datetime) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and a ``webhook-signature`` entry per secret."""
    at = at.astimezone(UTC)  # the library signs the clock time as if it were UTC
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in signing)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
