"""The outbound rules for webhook endpoints and callback URLs, from the operator's settings."""

from __future__ import annotations

from seedance_gateway import netguard
from seedance_gateway.config import Settings


def outbound_policy(settings: Settings) -> netguard.FetchPolicy:
    """https only (unless allowed), no private addresses (unless allowed), no redirects."""
    return netguard.FetchPolicy(
        allow_private=settings.allow_private_urls,
        timeout_seconds=settings.webhook_timeout_seconds,
        max_redirects=0,
        schemes=("https", "http") if settings.webhook_allow_http else ("https",),
    )
