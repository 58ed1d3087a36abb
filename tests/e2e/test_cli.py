"""The ``seedance`` command: keys, credits, models, db upgrade, and the first ``serve``."""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .support import BACKENDS, make_server, pg_admin, pg_url, post, wait_until_revoked

MODELS = {
    "seedance-1-0-pro": 25,
    "seedance-1-0-pro-fast": 10,
    "seedance-1-0-lite-t2v": 16,
    "seedance-1-0-lite-i2v": 16,
    "seedance-1-5-pro": 28,
    "seedance-2-0": 175,
    "seedance-2-0-fast": 140,
    "seedance-2-0-mini": 88,
    "seedance-2-5": 350,
}


def _seedance(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs ``seedance <args>`` on an 80-column pipe without raising on failure."""
    env = {**server.env, "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-m", "seedance_gateway", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _balance(server: Any, key: str) -> int:
    with server.client(key) as client:
        response = client.get("/api/v1/credits")
    assert response.status_code == 200, response.text
    return int(response.json()["current_credits"])


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (an empty SQLite path or a new PostgreSQL database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty' / 'seedance.db'}"
        return
    name = f"sdg_e2e_empty_{secrets.token_hex(6)}"
    pg_admin(f"CREATE DATABASE {name}")
    try:
        yield pg_url(name).replace("postgresql+asyncpg://", "postgresql://", 1)
    finally:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_keys_create_json_prints_a_working_key_on_a_new_account(shared_server: Any) -> None:
    """``keys create --json`` prints the key once, with its id, account and credits."""
    done = _seedance(shared_server, "keys", "create", "--name", "ci", "--credits", "70", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"key", "id", "account_id", "credits", "scopes"}
    assert data["scopes"] == ["generate", "read", "files", "webhooks", "keys"]
    assert data["key"].startswith("sdg_") and len(data["key"]) >= 40
    assert data["id"].startswith("key_") and data["account_id"].startswith("acct_")
    assert data["credits"] == 70
    assert _balance(shared_server, data["key"]) == 70
    assert shared_server.cli("credits", "show", data["account_id"]).strip() == "70"
    again = json.loads(shared_server.cli("keys", "create", "--name", "ci", "--json"))
    assert again["key"] != data["key"] and again["account_id"] != data["account_id"]
    assert again["credits"] == 0


def test_keys_create_scopes_limits_what_the_key_may_do(shared_server: Any) -> None:
    """``--scopes read`` makes a key that reads but cannot create; an unknown scope is refused."""
    made = _seedance(shared_server, "keys", "create", "--name", "ro", "--scopes", "read", "--json")
    assert made.returncode == 0, made.stderr
    data = json.loads(made.stdout)
    assert data["scopes"] == ["read"]
    assert _balance(shared_server, data["key"]) == 0
    headers = {"Authorization": f"Bearer {data['key']}"}
    refused = httpx.post(f"{shared_server.url}/api/v1/generations", json={}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    bad = _seedance(shared_server, "keys", "create", "--name", "x", "--scopes", "read,admin")
    assert bad.returncode == 2 and "admin" in bad.stderr


def test_keys_list_shows_ids_and_prefixes_but_never_a_whole_key(shared_server: Any) -> None:
    """``keys list`` (table and ``--json``) shows the id and prefix, never the plaintext key."""
    data = json.loads(shared_server.cli("keys", "create", "--name", "listed", "--json"))
    table = _seedance(shared_server, "keys", "list")
    assert table.returncode == 0, table.stderr
    assert data["id"] in table.stdout
    assert data["key"][:12] in table.stdout
    assert data["key"] not in table.stdout
    assert data["key"][:20] not in table.stdout
    rows = json.loads(shared_server.cli("keys", "list", "--json"))
    row = next(r for r in rows if r["id"] == data["id"])
    assert row["prefix"] == data["key"][:12]
    assert row["account_id"] == data["account_id"]
    assert row["revoked_at"] is None
    assert all(data["key"] not in json.dumps(r) for r in rows)


def test_keys_revoke_by_id_or_prefix_locks_the_key_out(shared_server: Any) -> None:
    """``keys revoke`` takes the id or the prefix; the key then gets ``401 api_key_revoked``
    from the running server within ``SEEDANCE_KEY_CACHE_SECONDS`` (another process revoked it)."""
    by_id = json.loads(shared_server.cli("keys", "create", "--name", "a", "--json"))
    by_prefix = json.loads(shared_server.cli("keys", "create", "--name", "b", "--json"))
    assert _balance(shared_server, by_id["key"]) == 0
    assert by_id["id"] in shared_server.cli("keys", "revoke", by_id["id"])
    assert by_prefix["id"] in shared_server.cli("keys", "revoke", by_prefix["key"][:12])
    for data in (by_id, by_prefix):
        with shared_server.client(data["key"]) as client:
            wait_until_revoked(client)
    rows = {r["id"]: r for r in json.loads(shared_server.cli("keys", "list", "--json"))}
    assert rows[by_id["id"]]["revoked_at"] and rows[by_prefix["id"]]["revoked_at"]
    assert _balance(shared_server, shared_server.key) > 0  # other keys are untouched


def test_credits_grant_adds_to_the_balance_the_api_reports(shared_server: Any) -> None:
    """``credits grant <account> 50`` raises the balance by 50 for ``credits show`` and HTTP."""
    key, account = shared_server.create_key(30)
    granted = _seedance(shared_server, "credits", "grant", account, "50")
    assert granted.returncode == 0, granted.stderr
    assert "80" in granted.stdout
    assert shared_server.cli("credits", "show", account).strip() == "80"
    assert _balance(shared_server, key) == 80


def test_accounts_create_and_password_give_a_console_sign_in(shared_server: Any) -> None:
    """``accounts create`` makes an admin that signs in; ``accounts password`` changes it."""
    email = f"ops-{secrets.token_hex(4)}@example.com"
    made = _seedance(
        shared_server, "accounts", "create", "--name", "Ops", "--email", email, "--admin",
        "--credits", "7", "--password", "first password",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "admin" in made.stdout and "7 credits" in made.stdout

    def sign_in(password: str) -> httpx.Response:
        body = {"email": email, "password": password}
        return httpx.post(f"{shared_server.url}/api/v1/sessions", json=body, timeout=30)

    session = sign_in("first password")
    assert session.status_code == 201, session.text
    assert session.json()["account"]["role"] == "admin"
    changed = _seedance(shared_server, "accounts", "password", email, "--password", "second one!")
    assert changed.returncode == 0, changed.stderr
    assert sign_in("first password").status_code == 401
    assert sign_in("second one!").status_code == 201
    weak = _seedance(shared_server, "accounts", "password", email, "--password", "short")
    assert weak.returncode == 1 and "8 to 200 characters" in weak.stderr
    unknown = _seedance(shared_server, "accounts", "password", "no@example.com", "--password", "x")
    assert unknown.returncode == 1 and "no account with email" in unknown.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("keys", "revoke", "key_doesnotexist"), ("key_doesnotexist",)),
        (("credits", "grant", "acct_doesnotexist", "5"), ("acct_doesnotexist",)),
        (("credits", "show", "acct_doesnotexist"), ("acct_doesnotexist",)),
        (("credits", "grant", "acct_x", "0"), ("positive",)),
        (("keys", "create", "--name", "x", "--credits", "-5"), ("negative",)),
    ],
    ids=["revoke-unknown", "grant-unknown", "show-unknown", "grant-zero", "negative-credits"],
)
def test_cli_mistakes_exit_non_zero_with_a_message_not_a_traceback(
    shared_server: Any, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    """Unknown ids and bad amounts exit non-zero with a one-line reason and no traceback."""
    done = _seedance(shared_server, *args)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    for word in words:
        assert word in output, output


def test_models_lists_all_nine_models_with_their_credits(shared_server: Any) -> None:
    """``seedance models`` names every model in full; ``--json`` gives ids and base credits."""
    table = _seedance(shared_server, "models")
    assert table.returncode == 0, table.stderr
    for model in MODELS:
        assert re.search(rf"(^|\W){re.escape(model)}(\W|$)", table.stdout, re.M), model
    rows = json.loads(shared_server.cli("models", "--json"))
    assert {r["id"]: r["base_credits"] for r in rows} == MODELS
    v15 = next(r for r in rows if r["id"] == "seedance-1-5-pro")
    assert "doubao-seedance-1-5-pro-251215" in v15["aliases"]


def test_db_upgrade_creates_the_schema_on_an_empty_database_and_is_repeatable(
    empty_database_url: str, tmp_path: Path
) -> None:
    """``seedance db upgrade`` migrates an empty database, twice without harm; keys then work."""
    server = make_server(tmp_path, empty_database_url)
    for _ in range(2):
        done = _seedance(server, "db", "upgrade")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "up to date" in done.stdout
    data = json.loads(server.cli("keys", "create", "--name", "after", "--credits", "5", "--json"))
    assert server.cli("credits", "show", data["account_id"]).strip() == "5"


def test_the_first_serve_prints_a_working_key_and_a_curl_command(
    database_url: str, tmp_path: Path
) -> None:
    """On an empty home the first ``serve`` prints an ``sdg_`` key and a curl line that work."""
    server = make_server(tmp_path, database_url, starter_credits="300")
    try:
        server.start()
        log = server.logs()
        keys = re.findall(r"^(sdg_\S+)$", log, re.M)
        assert len(keys) == 1, log
        key = keys[0]
        curl = next(line for line in log.splitlines() if line.startswith("curl "))
        assert f"{server.url}/api/v1/generations" in curl
        assert f"Authorization: Bearer {key}" in curl
        body = re.search(r"-d '(\{.*\})'", curl)
        assert body is not None, curl
        assert _balance(server, key) == 300
        with server.client(key) as client:
            assert client.get("/api/v1/account").json()["role"] == "admin"  # the operator's
            response = post(client, body.group(1))
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "queued"
        assert f"open the console at {server.url}/ " in log
        page = httpx.get(f"{server.url}/")
        assert page.status_code == 200 and "<title>Seedance Gateway console</title>" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        health, ready = httpx.get(f"{server.url}/healthz"), httpx.get(f"{server.url}/readyz")
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        assert (ready.status_code, ready.json()["status"]) == (200, "ready")
        server.stop()
        server.start()
        second_log = (server.home / "serve-1.log").read_text()
        assert "sdg_" not in second_log  # keys exist now: no new key is made or shown
        assert _balance(server, key) == 300 - response.json()["reserved_credits"]
    finally:
        server.stop()


def test_readyz_fails_while_the_database_is_unreachable_and_healthz_still_answers(
    tmp_path: Path,
) -> None:
    """``/readyz`` is 503 when PostgreSQL is gone; ``/healthz`` stays 200 (process is up)."""
    if "postgres" not in BACKENDS:  # a database that can vanish under a running server
        return
    name = f"sdg_e2e_ready_{secrets.token_hex(6)}"
    pg_admin(f"CREATE DATABASE {name}")
    server = make_server(tmp_path, pg_url(name))
    try:
        server.key, _ = server.create_key(1)
        server.start()
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        pg_admin(f"DROP DATABASE {name} WITH (FORCE)")
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
