"""Errors: the envelope, the status, a message naming the field, and never a 500.

Every error is ``{"error": {"code", "message", "requestId"}}`` with ``requestId`` equal to the
``x-request-id`` header. A refused create stores nothing and charges nothing.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from PIL import Image

from .support import (
    SMALL_1_0_PRO_CREDITS,
    credits,
    error_message,
    listed,
    png_data_url,
    post,
    small,
    to_json,
    wait_until_revoked,
)

MODELS = (
    "seedance-1-0-pro",
    "seedance-1-0-pro-fast",
    "seedance-1-0-lite-t2v",
    "seedance-1-0-lite-i2v",
    "seedance-1-5-pro",
    "seedance-2-0",
    "seedance-2-0-fast",
    "seedance-2-0-mini",
)
FIRST_FRAME = {
    "url": png_data_url(Image.new("RGB", (400, 300), (200, 120, 40))),
    "kind": "image",
    "role": "first_frame",
}


def _v10(**params: Any) -> dict[str, Any]:
    return {"model": "seedance-1-0-pro", "prompt": "a red kite", "params": params}


def _v15(**params: Any) -> dict[str, Any]:
    return {"model": "seedance-1-5-pro", "prompt": "a red kite", "params": params}


#: (id, body, words the message must contain: the field first, then what is allowed).
INVALID_CREATES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("unknown-param", _v10(bogus="1"), ("params.bogus", "resolution", "aspect_ratio")),
    ("other-models-param", _v15(aspect_ratio="1:1"), ("params.aspect_ratio", "aspectRatio")),
    ("duration-off-enum", _v10(duration="7"), ("params.duration", "5", "10")),
    ("duration-off-enum-1-5", _v15(duration="5"), ("params.duration", "4", "8", "12")),
    ("duration-native-off-enum", _v10(duration=6), ("params.duration", "5", "10")),
    ("resolution-off-enum", _v10(resolution="4k"), ("params.resolution", "1080p")),
    ("ratio-off-enum", _v10(aspect_ratio="2:1"), ("params.aspect_ratio", "16:9")),
    ("bool-off-enum", _v10(camera_fixed="yes"), ("params.camera_fixed", "true", "false")),
    ("seed-too-big", _v10(seed=2147483648), ("params.seed", "2147483647")),
    ("seed-too-small", _v10(seed=-2), ("params.seed", "-1")),
    ("seed-not-a-number", _v10(seed="abc"), ("params.seed", "integer")),
    ("seed-fraction", _v10(seed=1.5), ("params.seed", "integer")),
    (
        "prompt-over-10000",
        {"model": "seedance-1-0-pro", "prompt": "x" * 10_001},
        ("prompt", "10001", "10000"),
    ),
    (
        "prompt-over-2500",
        {"model": "seedance-1-5-pro", "prompt": "x" * 2501},
        ("prompt", "2501", "2500"),
    ),
    ("unknown-model", {"model": "seedance-9", "prompt": "x"}, ("model", "seedance-9", *MODELS)),
    ("missing-prompt", {"model": "seedance-1-0-pro"}, ("prompt",)),
    ("blank-prompt", {"model": "seedance-1-0-pro", "prompt": "   "}, ("prompt",)),
    ("prompt-not-a-string", {"model": "seedance-1-0-pro", "prompt": 5}, ("prompt",)),
    ("missing-model", {"prompt": "a red kite"}, ("model",)),
    (
        "mode-the-model-lacks",
        {
            "model": "seedance-1-0-lite-t2v",
            "prompt": "a red kite",
            "params": {"referenceMediaItems": [FIRST_FRAME]},
        },
        ("params.referenceMediaItems", "seedance-1-0-lite-t2v", "first_frame", "t2v"),
    ),
    (
        "reference-on-loopback",
        _v10(referenceMediaItems=[{"url": "http://127.0.0.1:9/a.png", "kind": "image"}]),
        ("params.referenceMediaItems[0].url", "127.0.0.1", "loopback"),
    ),
    (
        "reference-on-a-private-network",
        _v10(referenceMediaItems=[{"url": "https://10.1.2.3/a.png", "kind": "image"}]),
        ("params.referenceMediaItems[0].url", "10.1.2.3", "private"),
    ),
    (
        "reference-unsupported-scheme",
        _v10(referenceMediaItems=[{"url": "file:///etc/passwd", "kind": "image"}]),
        ("params.referenceMediaItems[0].url", "https", "data:"),
    ),
    (
        "reference-not-an-image",
        _v10(referenceMediaItems=[{"url": "data:image/png;base64,AAAA", "kind": "image"}]),
        ("params.referenceMediaItems[0]", "png"),
    ),
    (
        "reference-too-small",
        _v10(
            referenceMediaItems=[
                {"url": png_data_url(Image.new("RGB", (200, 200))), "kind": "image"}
            ]
        ),
        ("params.referenceMediaItems[0]", "200x200", "300"),
    ),
    ("references-not-a-list", _v10(referenceMediaItems="a.png"), ("params.referenceMediaItems",)),
    (
        "unknown-top-level-field",
        {"model": "seedance-1-0-pro", "prompt": "x", "callback": "https://example.com"},
        ("callback",),
    ),
    (
        "params-not-an-object",
        {"model": "seedance-1-0-pro", "prompt": "x", "params": [1]},
        ("params",),
    ),
    ("invalid-json", "{not json", ("JSON",)),
    ("truncated-json", '{"model": "seedance-1-0-pro", "prompt": ', ("JSON",)),
    ("body-an-array", "[1, 2]", ("object",)),
    ("body-a-string", '"seedance-1-0-pro"', ("object",)),
    ("body-empty", "", ("body",)),
]


@pytest.mark.parametrize(
    ("body", "words"),
    [pytest.param(body, words, id=name) for name, body, words in INVALID_CREATES],
)
def test_an_invalid_create_is_a_400_validation_failed_naming_the_field(
    shared_server: Any, body: Any, words: tuple[str, ...]
) -> None:
    """Each invalid create gets 400 ``validation_failed`` whose message names the field."""
    with shared_server.client() as client:
        response = post(client, body if isinstance(body, str) else to_json(body))
    message = error_message(response, 400, "validation_failed")
    for word in words:
        assert word in message, (word, message)


def test_refused_creates_store_nothing_and_charge_nothing(shared_server: Any) -> None:
    """After every kind of 400 the balance is unchanged and the task list is empty."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        for _, body, _ in INVALID_CREATES:
            response = post(client, body if isinstance(body, str) else to_json(body))
            assert response.status_code == 400, response.text
        assert credits(client) == 100
        assert listed(client) == []


@pytest.mark.parametrize(
    "body",
    [
        '{"model": "seedance-1-0-pro", "prompt": "a red\\u0000kite"}',
        '{"model": "seedance-1-0-pro", "prompt": "a red kite", "client_request_id": "a\\u0000b"}',
        '{"model": "seedance-1-0-pro", "prompt": "a red \\ud800 kite"}',
        '{"model": "seedance-1-0-pro", "prompt": "a red kite", "client_request_id": "\\udfff"}',
    ],
    ids=["nul-in-prompt", "nul-in-request-id", "surrogate-in-prompt", "surrogate-in-request-id"],
)
def test_text_no_database_can_store_is_refused_cleanly_not_with_a_500(
    shared_server: Any, body: str
) -> None:
    """NUL characters and lone surrogates (valid JSON escapes) never cause a 500."""
    with shared_server.client() as client:
        response = post(client, body)
        assert response.status_code < 500, response.text
        if response.status_code != 201:
            error_message(response, 400, "validation_failed")
        assert client.get("/api/v1/credits").status_code == 200  # the server is still fine


def test_a_long_client_request_id_is_never_blamed_on_the_idempotency_key_header(
    shared_server: Any,
) -> None:
    """255 characters are accepted; a longer ``client_request_id`` may be refused, naming it."""
    with shared_server.client() as client:
        accepted = post(client, small() | {"client_request_id": "c" * 255})
        assert accepted.status_code == 201, accepted.text
        response = post(client, small() | {"client_request_id": "d" * 256})
    assert response.status_code in (201, 400), response.text
    if response.status_code == 400:
        message = error_message(response, 400, "validation_failed")
        assert "client_request_id" in message, message
        assert "Idempotency-Key" not in message, message


def test_json_nulls_count_as_absent_and_take_the_models_defaults(shared_server: Any) -> None:
    """``null`` params (as official SDKs send) are accepted and replaced by the defaults."""
    body = {
        "model": "seedance-1-0-pro",
        "prompt": "a red kite",
        "client_request_id": None,
        "params": {
            "resolution": "480p",
            "duration": None,
            "aspect_ratio": None,
            "seed": None,
            "camera_fixed": None,
            "referenceMediaItems": None,
        },
    }
    with shared_server.client() as client:
        response = post(client, body)
    assert response.status_code == 201, response.text
    assert response.json()["reserved_credits"] == SMALL_1_0_PRO_CREDITS  # 480p, 16:9, 5 s


def test_an_idempotency_key_over_255_characters_is_refused(shared_server: Any) -> None:
    """A 256-character ``Idempotency-Key`` is a 400 naming the header."""
    with shared_server.client() as client:
        response = post(client, small(), headers={"Idempotency-Key": "k" * 256})
    assert "Idempotency-Key" in error_message(response, 400, "validation_failed")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic c2RnOng=", "Token sdg_abc", "sdg_without_a_scheme"],
    ids=["absent", "empty", "bearer-only", "basic", "other-scheme", "no-scheme"],
)
def test_a_request_without_a_bearer_key_is_401_api_key_missing(
    shared_server: Any, authorization: str | None
) -> None:
    """No usable ``Authorization: Bearer`` header gives 401 ``api_key_missing`` everywhere."""
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [
        ("POST", "/api/v1/generations"),
        ("GET", "/api/v1/generations"),
        ("GET", "/api/v1/credits"),
        ("GET", "/api/v1/models"),
    ]:
        response = httpx.request(
            method, f"{shared_server.url}{path}", headers=headers, json=small(), timeout=30
        )
        message = error_message(response, 401, "api_key_missing")
        assert "Bearer" in message


def test_an_unknown_key_is_401_api_key_invalid_and_charges_nobody(shared_server: Any) -> None:
    """An unknown key, even one character off a real one, gets 401 ``api_key_invalid``."""
    key, _ = shared_server.create_key(50)
    near_miss = key[:-1] + ("A" if key[-1] != "A" else "B")
    for wrong in ("sdg_" + "A" * 43, near_miss, key.upper()):
        with shared_server.client(wrong) as client:
            error_message(post(client, small()), 401, "api_key_invalid")
            error_message(client.get("/api/v1/credits"), 401, "api_key_invalid")
    with shared_server.client(key) as client:
        assert credits(client) == 50
        assert listed(client) == []


def test_a_revoked_key_is_401_api_key_revoked(shared_server: Any) -> None:
    """After ``seedance keys revoke <id>`` the key gets 401 ``api_key_revoked`` from the running
    server (within ``SEEDANCE_KEY_CACHE_SECONDS``: the CLI is another process)."""
    data = json.loads(
        shared_server.cli("keys", "create", "--name", "revoke-me", "--credits", "50", "--json")
    )
    with shared_server.client(data["key"]) as client:
        assert credits(client) == 50
        shared_server.cli("keys", "revoke", data["id"])
        wait_until_revoked(client)
        error_message(post(client, small()), 401, "api_key_revoked")
        error_message(client.get("/api/v1/generations"), 401, "api_key_revoked")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/no-such-route", 404, "not_found"),
        ("POST", "/api/v1/videos", 404, "not_found"),
        ("GET", "/no-such-page", 404, "not_found"),
        ("GET", "/api/v1/generations/task_00000000000000000000000000", 404, "not_found"),
        ("POST", "/api/v1/generations/task_00000000000000000000000000/cancel", 404, "not_found"),
        ("GET", "/api/v1/models/seedance-9", 404, "not_found"),
        ("DELETE", "/api/v1/generations", 405, "method_not_allowed"),
        ("GET", "/api/v1/generations?limit=0", 400, "validation_failed"),
        ("GET", "/api/v1/generations?limit=many", 400, "validation_failed"),
        ("GET", "/api/v1/generations?limit=101", 400, "validation_failed"),
        ("GET", "/api/v1/generations?status=done", 400, "validation_failed"),
    ],
)
def test_unknown_routes_and_bad_queries_answer_in_the_error_envelope(
    shared_server: Any, method: str, path: str, status: int, code: str
) -> None:
    """Unknown routes, resources and query values get the envelope, never a 500."""
    with shared_server.client() as client:
        response = client.request(method, path)
    message = error_message(response, status, code)
    if status == 400:
        assert ("limit" in message) or ("status" in message), message
