"""Sign-in, ``/api/v1/account``, admin accounts and price quotes against a real server process."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from .support import create, credits, error_message, finish, small


def anonymous(server: Any) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def unique_email() -> str:
    return f"user-{secrets.token_hex(4)}@Example.com"


def new_account(admin: httpx.Client, **fields: Any) -> dict[str, Any]:
    response = admin.post("/api/v1/admin/accounts", json=fields)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def test_an_admin_creates_an_account_that_signs_in_with_its_password(shared_server: Any) -> None:
    admin_key, _ = shared_server.create_key(0, role="admin")
    email = unique_email()
    with shared_server.client(admin_key) as admin:
        made = new_account(admin, name="Ann", email=email, password="correct horse", credits=40)
    assert made["email"] == email.lower() and made["role"] == "user"
    assert made["current_credits"] == 40 and "password" not in str(made)
    with anonymous(shared_server) as client:
        signed = client.post(
            "/api/v1/sessions", json={"email": email.upper(), "password": "correct horse"}
        )
    assert signed.status_code == 201, signed.text
    session = signed.json()
    assert session["account"]["id"] == made["id"] and session["key"].startswith("sdg_")
    with shared_server.client(session["key"]) as ann:
        assert ann.get("/api/v1/account").json()["id"] == made["id"]
        assert credits(ann) == 40
        keys = ann.get("/api/v1/keys").json()["data"]
        assert [(k["id"], k["name"]) for k in keys] == [(session["key_id"], "console sign-in")]
        # Signing out is revoking the session's key: its next request is refused.
        assert ann.post(f"/api/v1/keys/{session['key_id']}/revoke").status_code == 200
        error_message(ann.get("/api/v1/account"), 401, "api_key_revoked")


def test_a_wrong_password_or_unknown_email_is_the_same_refusal(shared_server: Any) -> None:
    admin_key, _ = shared_server.create_key(0, role="admin")
    email = unique_email()
    with shared_server.client(admin_key) as admin:
        new_account(admin, name="Bo", email=email, password="right password")
    attempts = [
        {"email": email, "password": "wrong password"},
        {"email": unique_email(), "password": "right password"},
    ]
    with anonymous(shared_server) as client:
        messages = [
            error_message(client.post("/api/v1/sessions", json=a), 401, "invalid_credentials")
            for a in attempts
        ]
        assert messages[0] == messages[1] == "email or password is wrong"
        bad = client.post("/api/v1/sessions", json={"email": "not-an-email", "password": "x" * 9})
        assert "email" in error_message(bad, 400, "validation_failed")
        missing = client.post("/api/v1/sessions", json={"email": email})
        assert "password" in error_message(missing, 400, "validation_failed")


def test_sign_in_guesses_are_rate_limited_per_email(shared_server: Any) -> None:
    email = unique_email()
    with anonymous(shared_server) as client:
        codes = [
            client.post("/api/v1/sessions", json={"email": email, "password": f"guess-{i:04}"})
            for i in range(11)
        ]
        other = client.post("/api/v1/sessions", json={"email": unique_email(), "password": "p" * 9})
    assert [r.status_code for r in codes] == [401] * 10 + [429]
    assert "signing in to this email" in error_message(codes[-1], 429, "rate_limited")
    assert int(codes[-1].headers["Retry-After"]) >= 1
    assert other.status_code == 401  # another email is not held back


def test_only_an_admin_manages_accounts(shared_server: Any) -> None:
    user_key, user_account = shared_server.create_key(5)
    with shared_server.client(user_key) as user:
        me = user.get("/api/v1/account").json()
        assert (me["id"], me["role"], me["current_credits"]) == (user_account, "user", 5)
        assert error_message(user.get("/api/v1/admin/accounts"), 403, "admin_only")
        refused = user.post("/api/v1/admin/accounts", json={"name": "x"})
        error_message(refused, 403, "admin_only")
        grant = user.post(f"/api/v1/admin/accounts/{user_account}/grants", json={"credits": 9})
        error_message(grant, 403, "admin_only")
        assert credits(user) == 5


def test_an_admin_grants_credits_and_the_ledger_shows_it(shared_server: Any) -> None:
    admin_key, _ = shared_server.create_key(0, role="admin")
    user_key, user_account = shared_server.create_key(5)
    with shared_server.client(admin_key) as admin:
        granted = admin.post(
            f"/api/v1/admin/accounts/{user_account}/grants",
            json={"credits": 120, "note": "welcome bonus"},
        )
        assert granted.status_code == 200, granted.text
        assert granted.json()["current_credits"] == 125
        for bad in (0, -3, "ten"):
            refused = admin.post(
                f"/api/v1/admin/accounts/{user_account}/grants", json={"credits": bad}
            )
            assert "credits" in error_message(refused, 400, "validation_failed")
        missing = admin.post("/api/v1/admin/accounts/acct_nope/grants", json={"credits": 1})
        error_message(missing, 404, "not_found")
    with shared_server.client(user_key) as user:
        newest = user.get("/api/v1/credits/ledger", params={"limit": 1}).json()["data"][0]
        assert (newest["kind"], newest["amount"], newest["note"]) == ("grant", 120, "welcome bonus")
        assert credits(user) == 125


def test_account_creation_is_checked_field_by_field(shared_server: Any) -> None:
    admin_key, _ = shared_server.create_key(0, role="admin")
    email = unique_email()
    with shared_server.client(admin_key) as admin:
        new_account(admin, name="First", email=email, password="long enough")
        cases = [
            ({"name": "Dup", "email": email.upper(), "password": "long enough"}, 409, "email"),
            ({"name": "Short", "email": unique_email(), "password": "short"}, 400, "password"),
            ({"name": "Empty", "email": unique_email(), "password": ""}, 400, "password"),
            ({"name": "", "email": unique_email()}, 400, "name"),
            ({"name": "Role", "role": "root"}, 400, "role"),
            ({"name": "Pw", "password": "no email here"}, 400, "email"),
            ({"name": "Extra", "colour": "red"}, 400, "colour"),
        ]
        for body, status, field in cases:
            response = admin.post("/api/v1/admin/accounts", json=body)
            code = "email_taken" if status == 409 else "validation_failed"
            assert field in error_message(response, status, code), body


def test_admins_list_accounts_a_page_at_a_time(shared_server: Any) -> None:
    admin_key, admin_account = shared_server.create_key(0, role="admin")
    with shared_server.client(admin_key) as admin:
        seen: list[str] = []
        params: dict[str, Any] = {"limit": 2}
        while True:
            page = admin.get("/api/v1/admin/accounts", params=params).json()
            assert len(page["data"]) <= 2
            seen.extend(a["id"] for a in page["data"])
            if not page["has_more"]:
                break
            params["after"] = page["next_cursor"]
        assert seen == sorted(seen) and len(seen) == len(set(seen))
        assert admin_account in seen
        refused = admin.get("/api/v1/admin/accounts", params={"limit": 0})
        assert "limit" in error_message(refused, 400, "validation_failed")


def test_a_quote_prices_a_create_without_creating_or_charging(shared_server: Any) -> None:
    key, _ = shared_server.create_key(100)
    body = small()
    with shared_server.client(key) as client:
        quote = client.post("/api/v1/generations/quote", json=body)
        assert quote.status_code == 200, quote.text
        priced = quote.json()
        assert priced["object"] == "quote" and (priced["width"], priced["height"]) == (864, 480)
        higher = client.post("/api/v1/generations/quote", json=small(resolution="1080p")).json()
        assert higher["credits"] > priced["credits"]
        assert credits(client) == 100 and client.get("/api/v1/generations").json()["data"] == []
        bad = client.post("/api/v1/generations/quote", json=small(resolution="9000p"))
        assert "resolution" in error_message(bad, 400, "validation_failed")
        task = finish(client, create(client, body)["id"])
        assert task["final_credits"] == priced["credits"]
        detail = client.get(f"/api/v1/generations/{task['id']}").json()
        assert detail["request"] == body  # what the console's "copy as curl" repeats


def test_a_read_only_key_may_quote_but_not_create(shared_server: Any) -> None:
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as owner:
        made = owner.post("/api/v1/keys", json={"name": "viewer", "scopes": ["read"]}).json()
    with shared_server.client(made["key"]) as viewer:
        assert viewer.post("/api/v1/generations/quote", json=small()).status_code == 200
        error_message(viewer.post("/api/v1/generations", json=small()), 403, "insufficient_scope")
        error_message(viewer.get("/api/v1/admin/accounts"), 403, "insufficient_scope")


def test_a_sign_in_key_expires_after_the_sign_in_lifetime(shared_server: Any) -> None:
    admin_key, _ = shared_server.create_key(0, role="admin")
    email = unique_email()
    with shared_server.client(admin_key) as admin:
        new_account(admin, name="Cy", email=email, password="long enough")
    with anonymous(shared_server) as client:
        signed = client.post("/api/v1/sessions", json={"email": email, "password": "long enough"})
    session = signed.json()
    with shared_server.client(session["key"]) as cy:
        listed = cy.get("/api/v1/keys").json()["data"][0]
    expires = datetime.fromisoformat(listed["expires_at"].replace("Z", "+00:00"))
    hours = (expires - datetime.now(UTC)).total_seconds() / 3600
    assert 11.9 < hours <= 12  # SEEDANCE_SIGN_IN_TTL_SECONDS' default


def test_an_expired_key_is_refused_with_its_own_code(shared_server: Any) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    key, _ = shared_server.create_key(0, "short", expires_at=past)
    with shared_server.client(key) as client:
        message = error_message(client.get("/api/v1/credits"), 401, "api_key_expired")
    assert "sign in again" in message


def test_keys_made_through_the_api_may_expire(shared_server: Any) -> None:
    key, _ = shared_server.create_key(0)
    with shared_server.client(key) as owner:
        made = owner.post("/api/v1/keys", json={"name": "month", "expires_in_days": 30})
        assert made.status_code == 201, made.text
        expires = datetime.fromisoformat(made.json()["expires_at"].replace("Z", "+00:00"))
        assert 29.9 < (expires - datetime.now(UTC)).total_seconds() / 86400 <= 30
        for bad in (0, 3651, "soon"):
            refused = owner.post("/api/v1/keys", json={"name": "x", "expires_in_days": bad})
            assert "expires_in_days" in error_message(refused, 400, "validation_failed")
        kept = owner.get("/api/v1/keys").json()["data"]
        assert [k["expires_at"] is None for k in kept] == [True, False]
