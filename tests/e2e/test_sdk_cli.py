"""The Python SDK and the ``seedance`` client commands against a real server process.

The SDK and the CLI only speak HTTP, so their servers run on SQLite alone (the stores are
proven on both backends by the other end-to-end modules).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from seedance_gateway.client import (
    AsyncClient,
    AuthenticationFailed,
    Client,
    InvalidRequest,
    NotFound,
)

from .conftest import _shared
from .support import first_and_last_frame, probe

MODEL = "seedance-1-0-pro"
SMALL = {"resolution": "480p", "duration": 5}


@pytest.fixture(scope="module")
def shared_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A server with a worker (SQLite)."""
    yield from _shared("sqlite", request, tmp_path_factory)


@pytest.fixture(scope="module")
def queue_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A server without a worker (SQLite): tasks stay queued."""
    yield from _shared("sqlite", request, tmp_path_factory, "--no-worker")


def sdk(server: Any, key: str | None = None) -> Client:
    return Client(server.url, key or server.key)


def test_generate_waits_downloads_and_the_file_decodes(shared_server: Any, tmp_path: Path) -> None:
    key, _ = shared_server.create_key(1000)
    updates: list[str] = []
    with sdk(shared_server, key) as client:
        task = client.generate(
            MODEL, "a lighthouse at dusk", SMALL, on_update=lambda t: updates.append(t.status)
        )
        saved = client.download(task, tmp_path / "out.mp4")
        balance = client.credits()
    assert task.status == "succeeded" and task.final_credits > 0
    assert updates[0] == "queued" and updates[-1] == "succeeded"
    info = probe(saved.read_bytes())
    assert (info.width, info.height) == (864, 480)
    assert info.duration == pytest.approx(5.0, abs=0.1)
    assert balance == 1000 - task.final_credits


def test_the_async_client_uploads_a_first_frame_and_generates(
    shared_server: Any, tmp_path: Path
) -> None:
    picture = tmp_path / "first.png"
    Image.new("RGB", (640, 360), (200, 30, 30)).save(picture)

    async def run() -> Any:
        async with AsyncClient(shared_server.url, shared_server.key) as client:
            task = await client.generate(
                MODEL, "a red wall", SMALL, references=[(picture, "first_frame")]
            )
            await client.download(task, tmp_path / "i2v.mp4")
            return task

    task = asyncio.run(run())
    assert task.status == "succeeded"
    first, _ = first_and_last_frame((tmp_path / "i2v.mp4").read_bytes())
    red, green, blue = (float(first[..., i].mean()) for i in range(3))
    assert red > green + 80 and red > blue + 80  # the uploaded red picture opens the video


def test_errors_are_typed_and_carry_the_servers_code_and_request_id(shared_server: Any) -> None:
    with (
        Client(shared_server.url, "sdg_not_a_key") as stranger,
        pytest.raises(AuthenticationFailed) as denied,
    ):
        stranger.credits()
    assert denied.value.status == 401 and denied.value.code
    assert (denied.value.request_id or "").startswith("req_")
    with sdk(shared_server) as client:
        with pytest.raises(InvalidRequest) as invalid:
            client.create_generation(MODEL, "x", params={"duration": 7})
        with pytest.raises(NotFound):
            client.get_generation("gen_does_not_exist")
    assert invalid.value.status == 400
    assert "duration" in invalid.value.message
    assert (invalid.value.request_id or "").startswith("req_")


def test_the_sdk_quotes_reads_the_account_and_ledger_and_manages_keys(queue_server: Any) -> None:
    key, account_id = queue_server.create_key(500)
    with sdk(queue_server, key) as client:
        price = client.quote(MODEL, "a lighthouse at dusk", SMALL)
        assert (price.model, price.width, price.height) == (MODEL, 864, 480)
        assert client.credits() == 500  # a quote charges nothing
        me = client.account()
        assert (me.id, me.role, me.credits) == (account_id, "user", 500)
        task = client.create_generation(MODEL, "a lighthouse at dusk", SMALL)
        assert task.reserved_credits == price.credits
        hold, grant = client.ledger(limit=2)
        assert (hold.kind, hold.delta, hold.task_id) == ("hold", -price.credits, task.id)
        assert (grant.kind, grant.delta) == ("grant", 500)
        made = client.create_key("ci", ["read"], expires_in_days=7)
        assert made.secret is not None and made.scopes == ("read",)
        assert made.expires_at is not None
        assert [k.name for k in client.list_keys()] == ["test", "ci"]
        assert client.revoke_key(made.id).revoked
    with sdk(queue_server, made.secret) as revoked, pytest.raises(AuthenticationFailed) as caught:
        revoked.credits()
    assert caught.value.code == "api_key_revoked" and caught.value.request_id


def test_a_repeated_idempotency_key_makes_one_task(queue_server: Any) -> None:
    key, _ = queue_server.create_key(1000)
    with sdk(queue_server, key) as client:
        first = client.create_generation(MODEL, "once", params=SMALL, idempotency_key="k-1")
        again = client.create_generation(MODEL, "once", params=SMALL, idempotency_key="k-1")
        cancelled = client.cancel_generation(first.id)
        assert client.credits() == 1000
    assert again.id == first.id
    assert cancelled.status == "cancelled"


def seedance(server: Any, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``seedance ARGS`` with the server's URL and ``key`` in the environment."""
    env = {**server.env, "SEEDANCE_BASE_URL": server.url, "SEEDANCE_API_KEY": key, "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "seedance_gateway", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_generate_waits_and_saves_a_video_that_decodes(
    shared_server: Any, tmp_path: Path
) -> None:
    out = tmp_path / "cli.mp4"
    done = seedance(
        shared_server,
        shared_server.key,
        "generate",
        "a lighthouse at dusk",
        "--model",
        MODEL,
        "-p",
        "resolution=480p",
        "-p",
        "duration=5",
        "-o",
        str(out),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)
    assert task["status"] == "succeeded"
    assert probe(out.read_bytes()).frames == 120  # 5 s at 24 fps


def test_cli_errors_print_code_message_and_request_id(shared_server: Any) -> None:
    denied = seedance(shared_server, "sdg_wrong", "tasks", "list")
    assert denied.returncode == 1
    assert "HTTP 401" in denied.stderr and "request req_" in denied.stderr
    invalid = seedance(
        shared_server, shared_server.key, "generate", "x", "--model", MODEL, "-p", "duration=7"
    )
    assert invalid.returncode == 1
    assert "duration" in invalid.stderr and "HTTP 400" in invalid.stderr
    bad_pair = seedance(
        shared_server, shared_server.key, "generate", "x", "--model", MODEL, "-p", "oops"
    )
    assert bad_pair.returncode == 2 and "key=value" in bad_pair.stderr


def test_cli_tasks_and_files(queue_server: Any, tmp_path: Path) -> None:
    key, _ = queue_server.create_key(1000)
    made = seedance(
        queue_server,
        key,
        "generate",
        "queued",
        "--model",
        MODEL,
        "--no-wait",
        "--json",
        "-p",
        "duration=5",
        "-p",
        "resolution=480p",
    )
    assert made.returncode == 0, made.stderr
    task_id = json.loads(made.stdout)["id"]
    listed = seedance(queue_server, key, "tasks", "list", "--json")
    assert [t["id"] for t in json.loads(listed.stdout)] == [task_id]
    shown = seedance(queue_server, key, "tasks", "show", task_id)
    assert task_id in shown.stdout and "queued" in shown.stdout
    cancelled = seedance(queue_server, key, "tasks", "cancel", task_id, "--json")
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    picture = tmp_path / "ref.png"
    Image.new("RGB", (320, 320), (0, 120, 0)).save(picture)
    uploaded = seedance(queue_server, key, "files", "upload", str(picture), "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    body = json.loads(uploaded.stdout)
    assert body["kind"] == "image" and body["size"] == picture.stat().st_size
    missing = seedance(queue_server, key, "tasks", "show", "gen_nope")
    assert missing.returncode == 1 and "not_found" in missing.stderr
    with sdk(queue_server, key) as client:
        assert client.credits() == 1000
