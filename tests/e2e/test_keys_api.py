"""``/api/v1/keys`` and key scopes against a real server process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .support import credits, small


def make_key(client: httpx.Client, name: str, key_scopes: list[str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name}
    if key_scopes is not None:
        body["scopes"] = key_scopes
    response = client.post("/api/v1/keys", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def as_key(server: Any, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_a_new_key_is_shown_once_then_listed_with_its_scopes_and_last_use(
    shared_server: Any,
) -> None:
    owner_key, _ = shared_server.create_key(700)
    with shared_server.client(owner_key) as owner:
        made = make_key(owner, "reporting", ["read"])
        assert made["key"].startswith("sdg_") and made["key"].startswith(made["prefix"])
        assert made["scopes"] == ["read"] and made["current"] is False
        with as_key(shared_server, made["key"]) as reader:
            assert credits(reader) == 700  # the same account
        listed = owner.get("/api/v1/keys").json()["data"]
    assert [k["name"] for k in listed] == ["test", "reporting"]
    assert all("key" not in k and "hash" not in k for k in listed)
    mine, theirs = listed
    assert mine["current"] is True and mine["scopes"] == [
        "generate",
        "read",
        "files",
        "webhooks",
        "keys",
    ]
    assert theirs["last_used_at"] is not None and theirs["revoked_at"] is None


def test_a_read_only_key_is_refused_every_create_and_nothing_is_charged(
    shared_server: Any,
) -> None:
    owner_key, _ = shared_server.create_key(700)
    with shared_server.client(owner_key) as owner:
        reader = make_key(owner, "reader", ["read"])["key"]
    attempts = [  # each dialect's own code for it
        ("/api/v1/generations", small(), "insufficient_scope"),
        ("/api/v3/contents/generations/tasks", {"model": "m", "content": []}, "AccessDenied"),
        ("/v1/videos", {"model": "seedance-1-0-pro", "prompt": "x"}, "insufficient_scope"),
        ("/v1/generate", {"prompt": "x"}, "INSUFFICIENT_SCOPE"),
        ("/seedance/videos", {"prompt": "x"}, "insufficient_scope"),
    ]
    with as_key(shared_server, reader) as client:
        for path, body, code in attempts:
            response = client.post(path, json=body)
            assert response.status_code == 403, (path, response.text)
            assert f'"{code}"' in response.text, (path, response.text)
            assert "lacks the 'generate' scope" in response.text, (path, response.text)
        upload = {"file": ("a.png", b"x")}
        files = client.post("/api/v1/files", files=upload, data={"kind": "image"})
        assert files.status_code == 403 and "'files'" in files.text
        assert client.get("/api/v1/webhooks").status_code == 403
        assert client.get("/api/v1/keys").status_code == 403
        assert credits(client) == 700


def test_a_key_gives_only_scopes_it_holds(shared_server: Any) -> None:
    owner_key, _ = shared_server.create_key(0)
    with shared_server.client(owner_key) as owner:
        manager = make_key(owner, "manager", ["read", "keys"])["key"]
    with as_key(shared_server, manager) as client:
        refused = client.post("/api/v1/keys", json={"name": "x", "scopes": ["generate"]})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "insufficient_scope"
        assert "generate" in refused.json()["error"]["message"]
        inherited = make_key(client, "same as mine", None)
    assert inherited["scopes"] == ["read", "keys"]


def test_a_revoked_key_is_refused_at_once(shared_server: Any) -> None:
    owner_key, _ = shared_server.create_key(100)
    stranger_key, _ = shared_server.create_key(100)
    with shared_server.client(owner_key) as owner:
        made = make_key(owner, "short-lived", ["read"])
        with shared_server.client(stranger_key) as stranger:
            foreign = stranger.post(f"/api/v1/keys/{made['id']}/revoke")
            assert foreign.status_code == 404  # another account's key is not yours to revoke
        revoked = owner.post(f"/api/v1/keys/{made['id']}/revoke")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked_at"] is not None
        assert owner.post("/api/v1/keys/key_nope/revoke").status_code == 404
    with as_key(shared_server, made["key"]) as client:
        response = client.get("/api/v1/credits")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"name": "  "}, "name", "name is required"),
        ({"name": "x" * 201}, "name", "at most 200"),
        ({"name": "x", "scopes": ["admin"]}, "scopes", "some of generate, read"),
        ({"name": "x", "scopes": []}, "scopes", "got none"),
        ({"name": "x", "expires": 3}, "expires", "send name"),
        ({}, "name", "send name"),
    ],
)
def test_bad_key_requests_are_400_naming_the_field(
    shared_server: Any, body: dict[str, Any], field: str, words: str
) -> None:
    with shared_server.client() as client:
        response = client.post("/api/v1/keys", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert field in error["message"] and words in error["message"], error
