"""Request fingerprints for idempotency (pure): the same body gives the same fingerprint."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(body: Any) -> str:
    """SHA-256 of the body as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
