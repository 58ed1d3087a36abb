"""Hostile input, case by case (issue 17): never a 500, a memory spike or a log flood.

Each numbered case of the issue has a regression test here, on both backends, against real
server processes (the shared servers fail a test during which they logged an unhandled error).
Media cases (a WAV longer than its header says, an image with trailing data) live in
``test_files.py``; the property-based sweep over every endpoint is ``test_fuzz_bodies.py``.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from .envelopes import check_error
from .support import small
from .test_files import _pump, _read_response, png_bytes, poster

#: Every endpoint that reads a JSON body, with the key it needs ("" for none).
JSON_ENDPOINTS = [
    ("/api/v1/generations", "user"),
    ("/api/v1/generations/quote", "user"),
    ("/api/v1/sessions", ""),
    ("/api/v1/keys", "user"),
    ("/api/v1/webhooks", "user"),
    ("/api/v1/admin/accounts", "admin"),
    ("/api/v3/contents/generations/tasks", "user"),
    ("/seedance/videos", "user"),
    ("/seedance/tasks", "user"),
    ("/v1/generate", "user"),
    ("/v2/generate", "user"),
    ("/v1/videos", "user"),
    ("/upstream/ark/task_0123456789abcdef/secret", ""),
]
DEEP_BODIES = {
    "arrays-1000": "[" * 1000 + "]" * 1000,
    "arrays-20000-unclosed": "[" * 20_000,
    "objects-1000": '{"a":' * 1000 + "1" + "}" * 1000,
    "arrays-40-valid": "[" * 40 + "]" * 40,
}


@pytest.fixture(scope="module")
def keys(queue_server: Any) -> dict[str, str]:
    """A user key and an admin key on the queue server (tasks stay queued there)."""
    user, _ = queue_server.create_key(100_000)
    admin, _ = queue_server.create_key(100, role="admin")
    return {"user": user, "admin": admin, "": ""}


def _post(server: Any, path: str, key: str, content: bytes | str, **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(
        server.url + path,
        content=content,
        headers={"Content-Type": "application/json", **auth, **headers},
        timeout=60,
    )


# --- 1. deep nesting: a 400 in the dialect's envelope, and nothing in the log -----------------


@pytest.mark.parametrize("body", list(DEEP_BODIES), ids=list(DEEP_BODIES))
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(
    queue_server: Any, keys: dict[str, str], body: str
) -> None:
    log_before = len(queue_server.logs())
    for path, who in JSON_ENDPOINTS:
        response = _post(queue_server, path, keys[who], DEEP_BODIES[body])
        if path.startswith("/upstream/"):  # a body that is not a task is ignored; no such task
            assert response.status_code == 404, response.text
            continue
        message = check_error(path, response)
        assert "nests deeper than 32" in message, (path, message)
    grown = queue_server.logs()[log_before:]
    assert len(grown) < 2000, f"{len(JSON_ENDPOINTS)} refusals wrote to the log:\n{grown[:4000]}"


def test_nesting_within_the_bound_names_the_field_that_goes_too_deep(
    queue_server: Any, keys: dict[str, str]
) -> None:
    body = small()
    body["params"]["extra"] = json.loads("[" * 31 + "]" * 31)
    response = _post(queue_server, "/api/v1/generations", keys["user"], json.dumps(body))
    message = check_error("/api/v1/generations", response)
    assert message.startswith("params.extra[0][0]"), message


# --- 2. NaN, Infinity and 1e999 anywhere; unknown keys in content items ----------------------

V3 = "/api/v3/contents/generations/tasks"
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]


def _v3_body(item_extra: str) -> str:
    return (
        '{"model": "doubao-seedance-1-0-pro-250528", "resolution": "480p", "content": ['
        '{"type": "text", "text": "a red kite"' + item_extra + "}]}"
    )


@pytest.mark.parametrize("token", NON_FINITE)
@pytest.mark.parametrize("path", [V3, "/seedance/videos"])
def test_non_finite_numbers_in_a_content_item_are_a_400_naming_the_field(
    queue_server: Any, keys: dict[str, str], path: str, token: str
) -> None:
    response = _post(queue_server, path, keys["user"], _v3_body(f', "weight": {token}'))
    message = check_error(path, response)
    assert "content[0].weight" in message and token in message, message
    if path == V3:
        assert response.json()["error"]["param"] == "content[0].weight"


@pytest.mark.parametrize("token", NON_FINITE)
@pytest.mark.parametrize("path", ["/api/v1/generations", "/v1/generate", "/v1/videos"])
def test_non_finite_numbers_are_refused_in_every_dialect(
    queue_server: Any, keys: dict[str, str], path: str, token: str
) -> None:
    bodies = {
        "/api/v1/generations": '{"model": "seedance-1-0-pro", "prompt": "a kite", '
        '"params": {"seed": %s}}',
        "/v1/generate": '{"prompt": "a kite", "seed": %s}',
        "/v1/videos": '{"prompt": "a kite", "seconds": %s}',
    }
    response = _post(queue_server, path, keys["user"], bodies[path] % token)
    message = check_error(path, response)
    assert token in message, message


@pytest.mark.parametrize("path", [V3, "/seedance/videos"])
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (', "weight": 1', "content[0].weight"),
        (', "image_url": {"url": "https://example.com/a.png"}', "content[0].image_url"),
    ],
)
def test_an_unknown_key_in_a_content_item_is_invalid_parameter(
    queue_server: Any, keys: dict[str, str], path: str, extra: str, field: str
) -> None:
    response = _post(queue_server, path, keys["user"], _v3_body(extra))
    message = check_error(path, response)
    assert f"{field} is not recognized" in message, message
    if path == V3:
        assert response.json()["error"]["code"] == "InvalidParameter"


def test_an_unknown_key_inside_a_media_item_is_invalid_parameter(
    queue_server: Any, keys: dict[str, str]
) -> None:
    body = _v3_body("").replace(
        "]}", ', {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "w": 1}}]}'
    )
    response = _post(queue_server, V3, keys["user"], body)
    message = check_error(V3, response)
    assert "content[1].image_url.w is not recognized" in message, message


# --- 3. NUL in multipart text fields, in the URL -----------------------------------------------


def test_a_nul_in_a_multipart_prompt_is_a_400_naming_it(
    queue_server: Any, keys: dict[str, str]
) -> None:
    parts = {"prompt": "a red\x00kite", "model": "seedance-1-0-pro-fast", "seconds": "2"}
    response = httpx.post(
        queue_server.url + "/v1/videos",
        files={k: (None, v) for k, v in parts.items()},
        headers={"Authorization": f"Bearer {keys['user']}"},
        timeout=30,
    )
    check_error("/v1/videos", response)
    assert response.json()["error"]["param"] == "prompt"
    assert "NUL" in response.json()["error"]["message"]


def test_a_nul_in_a_files_api_field_or_filename_is_a_400_and_nothing_is_stored(
    queue_server: Any, keys: dict[str, str]
) -> None:
    auth = {"Authorization": f"Bearer {keys['user']}"}
    image = png_bytes(poster(400, 300))
    sends = [
        {"file": ("a.png", image, "image/png"), "kind": (None, "image"),
         "client_request_id": (None, "req\x00one")},
        {"file": ("a.png", image, "image/png"), "kind": (None, "ima\x00ge")},
    ]  # fmt: skip
    for files in sends:
        response = httpx.post(queue_server.url + "/api/v1/files", files=files, headers=auth)
        assert "NUL" in check_error("/api/v1/files", response)
    # httpx escapes a NUL in a filename, so that part is written by hand
    body = (
        b'--b\r\nContent-Disposition: form-data; name="kind"\r\n\r\nimage\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="a\x00.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + image + b"\r\n--b--\r\n"
    )
    response = httpx.post(
        queue_server.url + "/api/v1/files",
        content=body,
        headers={**auth, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert "filename" in check_error("/api/v1/files", response)
    listing = httpx.get(queue_server.url + "/api/v1/files", headers=auth).json()
    assert listing["data"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/generations?status=%00",
        "/api/v1/generations?after=task_%00",
        "/api/v1/generations/task_%00",
        "/api/v3/contents/generations/tasks?filter.status=%00",
        "/v1/videos?after=%00",
        "/v1/status?task_id=%00",
    ],
)
def test_a_nul_in_the_url_is_a_400_in_the_dialects_envelope(
    queue_server: Any, keys: dict[str, str], path: str
) -> None:
    response = httpx.get(
        queue_server.url + path, headers={"Authorization": f"Bearer {keys['user']}"}
    )
    assert "NUL" in check_error(path, response)


# --- 4. bodies over the cap are refused before they are read ----------------------------------


def _raw_request(server: Any, head: str, pieces: list[bytes]) -> tuple[int, str, float]:
    """Sends a request by hand, stopping when the server answers; the status, the body and how
    long the server took to answer."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode())
        _pump(sock, iter(pieces))
        status, body = _read_response(sock)
    return status, body.decode(), time.monotonic() - started


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/generations", 413), (V3, 400), ("/v1/videos", 413), ("/v1/generate", 413)],
)  # the upstream's dialect says InvalidParameter (400) for a body too large, as it does
def test_a_declared_length_over_the_cap_is_refused_without_reading_the_body(
    queue_server: Any, keys: dict[str, str], path: str, status: int
) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {keys['user']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 209715200\r\n\r\n"
    )
    answered, body, took = _raw_request(queue_server, head, [b"{"])
    assert answered == status and took < 5, (answered, body, took)
    assert "larger than the 32 MB allowed" in body


def test_a_chunked_body_stops_at_the_first_chunk_over_the_cap(
    queue_server: Any, keys: dict[str, str]
) -> None:
    head = (
        f"POST /api/v1/generations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {keys['user']}"
        "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"a" * (1024 * 1024)
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
    status, body, _ = _raw_request(queue_server, head, [framed] * 40)
    assert status == 413 and "larger than the 32 MB allowed" in body, (status, body)


def test_the_sign_in_body_is_capped_at_64_kb(queue_server: Any) -> None:
    body = json.dumps({"email": "a@b.c", "password": "x" * 70_000})
    response = _post(queue_server, "/api/v1/sessions", "", body)
    assert response.status_code == 413
    check_error("/api/v1/sessions", response)


def test_a_body_of_too_many_values_is_refused_before_decoding(
    queue_server: Any, keys: dict[str, str]
) -> None:
    many = "[" + "{}," * 60_000 + "{}]"
    response = _post(queue_server, "/api/v1/generations", keys["user"], many)
    assert "more than 50000" in check_error("/api/v1/generations", response)


# --- 6. files are served with nosniff ---------------------------------------------------------


def test_every_response_carries_nosniff(queue_server: Any, keys: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {keys['user']}"}
    for response in (
        httpx.get(queue_server.url + "/api/v1/models", headers=auth),
        httpx.get(queue_server.url + "/api/v1/generations/task_missing", headers=auth),
        httpx.get(queue_server.url + "/"),
        httpx.get(queue_server.url + "/nowhere"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url


# --- 7. the smaller ones ----------------------------------------------------------------------


def test_the_webhook_endpoint_limit_names_the_field(queue_server: Any) -> None:
    key, _ = queue_server.create_key(100)
    auth = {"Authorization": f"Bearer {key}"}
    for index in range(20):
        made = httpx.post(
            queue_server.url + "/api/v1/webhooks",
            json={"url": f"https://93.184.215.14/hooks/{index}"},
            headers=auth,
        )
        assert made.status_code == 201, made.text
    refused = httpx.post(
        queue_server.url + "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/hooks/21"},
        headers=auth,
    )
    message = check_error("/api/v1/webhooks", refused)
    assert message.startswith("url: ") and "20 webhook endpoints" in message, message


def _scratch_folders(server: Any) -> set[str]:
    root = server.home / "tmp"
    return {p.name for p in root.iterdir() if p.is_dir()} if root.exists() else set()


def test_a_killed_workers_scratch_folder_is_collected_when_a_worker_starts(
    queue_server: Any,
) -> None:
    """The API process's own folder stays (its lock is held); a ``kill -9``'d worker's goes."""
    before = _scratch_folders(queue_server)
    assert before, "the server keeps a scratch folder of its own"
    worker = queue_server.spawn("worker")
    deadline = time.monotonic() + 60
    while len(_scratch_folders(queue_server)) == len(before) and time.monotonic() < deadline:
        time.sleep(0.1)
    dead = _scratch_folders(queue_server) - before
    assert len(dead) == 1, dead
    (queue_server.home / "tmp" / next(iter(dead)) / "render-task_x").mkdir()
    worker.kill()
    worker.wait()
    assert dead <= _scratch_folders(queue_server)  # kill -9 leaves it behind
    second = queue_server.spawn("worker")
    try:
        deadline = time.monotonic() + 60
        while dead <= _scratch_folders(queue_server) and time.monotonic() < deadline:
            time.sleep(0.1)
        folders = _scratch_folders(queue_server)
        assert not dead & folders, "the dead worker's folder was collected"
        assert before <= folders, "the live server's folder was left alone"
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert not Path(queue_server.home / "tmp" / next(iter(dead))).exists()
