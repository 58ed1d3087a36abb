"""``/api/v1/credits/ledger`` and ``/api/v1/credits/usage`` against a real server process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from .support import create, finish, small


def test_the_ledger_tells_grant_hold_and_capture_and_usage_sums_the_day(
    shared_server: Any,
) -> None:
    key, _ = shared_server.create_key(1000)
    with shared_server.client(key) as client:
        task = finish(client, create(client, small())["id"])
        first = client.get("/api/v1/credits/ledger", params={"limit": 2}).json()
        rest = client.get(
            "/api/v1/credits/ledger", params={"limit": 2, "after": first["next_cursor"]}
        ).json()
        usage = client.get("/api/v1/credits/usage", params={"days": 7}).json()
        balance = client.get("/api/v1/credits").json()["current_credits"]
    charged = task["final_credits"]
    entries = first["data"] + rest["data"]
    assert [e["kind"] for e in entries] == ["capture", "hold", "grant"]
    assert [e["delta"] for e in entries] == [0, -task["reserved_credits"], 1000]
    assert entries[0]["amount"] == charged and entries[0]["task_id"] == task["id"]
    assert [e["balance_after"] for e in entries] == [balance, balance, 1000]
    assert first["has_more"] is True and rest["has_more"] is False and rest["next_cursor"] is None
    today = datetime.now(UTC).date().isoformat()
    assert usage["data"] == [
        {"day": today, "model": "seedance-1-0-pro", "tasks": 1, "credits": charged}
    ]
    assert usage["total_credits"] == charged == 1000 - balance


def test_a_cancelled_task_leaves_hold_and_release_and_no_usage(queue_server: Any) -> None:
    key, _ = queue_server.create_key(500)
    with queue_server.client(key) as client:
        task = create(client, small())
        client.post(f"/api/v1/generations/{task['id']}/cancel").raise_for_status()
        entries = client.get("/api/v1/credits/ledger").json()["data"]
        usage = client.get("/api/v1/credits/usage").json()
    held = task["reserved_credits"]
    assert [(e["kind"], e["delta"]) for e in entries] == [
        ("release", held),
        ("hold", -held),
        ("grant", 500),
    ]
    assert entries[0]["balance_after"] == 500
    assert usage["data"] == [] and usage["total_credits"] == 0 and usage["days"] == 30


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/credits/ledger?after=abc", "after"),
        ("/api/v1/credits/ledger?limit=0", "limit"),
        ("/api/v1/credits/ledger?limit=201", "limit"),
        ("/api/v1/credits/usage?days=0", "days"),
        ("/api/v1/credits/usage?days=367", "days"),
    ],
)
def test_bad_queries_are_400_naming_the_field(queue_server: Any, path: str, field: str) -> None:
    with queue_server.client() as client:
        response = client.get(path)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert field in error["message"]
