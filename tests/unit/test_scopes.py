"""Key scopes: parsing, storage and the scope each request of every dialect needs."""

from __future__ import annotations

import pytest

from seedance_gateway.domain import scopes


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", "/api/v1/generations", "generate"),
        ("POST", "/api/v1/generations/gen_1/cancel", "generate"),
        ("GET", "/api/v1/generations/gen_1", "read"),
        ("GET", "/api/v1/generations/gen_1/events", "read"),
        ("GET", "/api/v1/models", "read"),
        ("GET", "/api/v1/credits/ledger", "read"),
        ("POST", "/api/v1/files", "files"),
        ("DELETE", "/api/v1/files/file_1", "files"),
        ("GET", "/api/v1/files/file_1/content", "read"),
        ("GET", "/api/v1/webhooks", "webhooks"),
        ("POST", "/api/v1/webhooks/wh_1/rotate-secret", "webhooks"),
        ("GET", "/api/v1/webhook-events", "webhooks"),
        ("GET", "/api/v1/generations/gen_1/deliveries", "webhooks"),
        ("GET", "/api/v1/keys", "keys"),
        ("POST", "/api/v1/keys/key_1/revoke", "keys"),
        ("GET", "/api/v1/admin/accounts", "keys"),
        ("POST", "/api/v1/admin/accounts/acct_1/grants", "keys"),
        ("GET", "/api/v1/account", "read"),
        ("POST", "/api/v1/generations/quote", "read"),  # prices only; creates nothing
        ("POST", "/api/v3/contents/generations/tasks", "generate"),
        ("DELETE", "/api/v3/contents/generations/tasks/cgt-1", "generate"),
        ("GET", "/api/v3/contents/generations/tasks", "read"),
        ("POST", "/v1/generate", "generate"),
        ("GET", "/v1/status", "read"),
        ("POST", "/v2/generate", "generate"),
        ("POST", "/v1/videos", "generate"),
        ("GET", "/v1/videos/video_1/content", "read"),
        ("POST", "/seedance/videos", "generate"),
        ("POST", "/seedance/tasks", "read"),  # seed 004 retrieves with a POST
    ],
)
def test_each_request_needs_one_scope(method: str, path: str, scope: str) -> None:
    assert scopes.required(method, path) == scope


def test_parse_accepts_known_names_in_any_case_and_refuses_others() -> None:
    assert scopes.parse(["Read", " generate "]) == {"read", "generate"}
    with pytest.raises(scopes.UnknownScope, match="some of generate, read, files, webhooks, keys"):
        scopes.parse(["read", "admin"])
    with pytest.raises(scopes.UnknownScope, match="got none"):
        scopes.parse([])


def test_stored_form_round_trips_and_null_means_every_scope() -> None:
    chosen = frozenset({"keys", "read"})
    assert scopes.encode(chosen) == "read keys"
    assert scopes.decode(scopes.encode(chosen)) == chosen
    assert scopes.decode(None) == frozenset(scopes.ALL)
