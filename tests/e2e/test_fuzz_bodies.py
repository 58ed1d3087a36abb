"""Hostile bodies for every JSON and multipart endpoint of every dialect (issue 17).

Hypothesis draws bodies from each endpoint's own valid body: fields replaced by hostile values
(NUL, lone surrogates, NaN/Infinity/1e999 tokens, huge integers, wrong types, deep nesting),
fields dropped or added, whole bodies of arbitrary JSON, deep brackets, random bytes and
truncations; multipart endpoints get hand-built forms with hostile fields, filenames, parts
and boundaries. Each goes to a real server process on both backends (``serve --no-worker``, so
valid creates stay queued, and seed 004's synchronous create stops waiting at once). Every
answer must be below 500, every 4xx JSON in the dialect's own envelope, and the server may log
no unhandled error.

CI runs ``SEEDANCE_FUZZ_EXAMPLES`` (default 40) examples per endpoint with a fixed seed; a
longer run with fresh randomness (docs/hardening.md)::

    SEEDANCE_FUZZ_EXAMPLES=2000 SEEDANCE_FUZZ_RANDOM=1 \\
        .venv/bin/python -m pytest tests/e2e/test_fuzz_bodies.py -q
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Spec, no_unhandled_errors, shared_many
from .envelopes import check_error
from .support import small
from .test_files import png_bytes, poster

EXAMPLES = int(os.environ.get("SEEDANCE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not os.environ.get("SEEDANCE_FUZZ_RANDOM"),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@dataclass(frozen=True)
class Raw:
    """A JSON token written as it is (``NaN``, ``1e999``, a 5000-digit integer)."""

    text: str


@dataclass(frozen=True)
class Target:
    """One endpoint: its path, whose key it needs and a valid body to start from."""

    name: str
    path: str
    who: str
    template: Any = field(default_factory=dict)
    form: tuple[str, ...] = ()  #: multipart: the text fields; the file field comes first
    method: str = "POST"


PNG = png_bytes(poster(400, 300))
V3_BODY = {
    "model": "doubao-seedance-1-0-pro-250528",
    "content": [
        {"type": "text", "text": "a red kite --rs 480p --dur 5"},
        {"type": "image_url", "image_url": {"url": "https://93.184.215.14/a.png"}},
    ],
    "resolution": "480p",
    "duration": 5,
    "seed": 7,
    "watermark": False,
}
TARGETS = [
    Target("create", "/api/v1/generations", "user", small()),
    Target("quote", "/api/v1/generations/quote", "user", small(seed=3)),
    Target("sessions", "/api/v1/sessions", "", {"email": "fuzz@x.test", "password": "password1"}),
    Target("keys", "/api/v1/keys", "user", {"name": "k", "scopes": ["read"], "expires_in_days": 3}),
    Target("webhooks", "/api/v1/webhooks", "user", {"url": "https://93.184.215.14/h"}),
    Target(
        "webhook-patch",
        "/api/v1/webhooks/{endpoint}",
        "user",
        {"description": "d", "event_types": ["generation.succeeded"], "enabled": True},
        method="PATCH",
    ),
    Target("webhook-test", "/api/v1/webhooks/{endpoint}/test", "user", {"type": "x"}),
    Target(
        "accounts",
        "/api/v1/admin/accounts",
        "admin",
        {"name": "n", "email": "n@x.test", "password": "password1", "credits": 5},
    ),
    Target("grants", "/api/v1/admin/accounts/{account}/grants", "admin", {"credits": 1}),
    Target("v3", "/api/v3/contents/generations/tasks", "user", V3_BODY),
    Target("seed004-videos", "/seedance/videos", "user", {**V3_BODY, "model": "seedance-1-0-pro"}),
    Target("seed004-tasks", "/seedance/tasks", "user", {"id": "task_0123", "action": "retrieve"}),
    Target("seed003-v1", "/v1/generate", "user", {"prompt": "a kite", "duration": "4"}),
    Target("seed003-v2", "/v2/generate", "user", {"prompt": "a kite", "model": "seedance-2-0"}),
    Target(
        "openai-json",
        "/v1/videos",
        "user",
        {"prompt": "a kite", "model": "seedance-1-0-pro-fast", "seconds": "2", "size": "854x480"},
    ),
    Target("upstream-callback", "/upstream/ark/task_0123456789abcdef/secret", "", {"id": "x"}),
    Target(
        "openai-form",
        "/v1/videos",
        "user",
        form=("input_reference", "prompt", "model", "seconds", "size", "input_reference[file_id]"),
    ),
    Target("files", "/api/v1/files", "user", form=("file", "kind", "model", "client_request_id")),
]

# --- values ----------------------------------------------------------------------------------

HOSTILE_TEXT = [
    "", "\x00", "a\x00b", "\ud800", "x\udfff", "😀", "\u202e", "x" * 5000, "../../etc/passwd",
    "data:image/png;base64,AAAA", "http://127.0.0.1:1/", "file:///etc/passwd", "asset://a",
    "%00", "NaN", "-1", "1e999", "true", "null", "480p", "seedance-2-0", "first_frame",
]  # fmt: skip
TOKENS = [
    "NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1" * 5000, "-0", "1e-400",
    "9223372036854775808", "-9223372036854775809", "18446744073709551616", "0.5", "-1",
]  # fmt: skip
texts = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
    st.sampled_from(TOKENS).map(Raw),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=10,
)


def dump(value: Any) -> str:
    """JSON text of ``value``, with ``Raw`` tokens as they are and lone surrogates escaped."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, template: Any) -> str:
    """The template with one to three fields replaced, dropped or added."""
    body = copy.deepcopy(template)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(body)))
        action = draw(st.sampled_from(["replace", "replace", "drop", "add", "nest"]))
        body = _apply(draw, body, path, action)
    return dump(body)


def _apply(draw: st.DrawFn, body: Any, path: tuple[Any, ...], action: str) -> Any:
    if not path:
        return draw(values) if action == "replace" else body
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "replace":
        parent[last] = draw(values)
    elif action == "drop":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[draw(texts)] = draw(values)
    elif action == "nest":
        depth = draw(st.integers(1, 2000))
        parent[last] = Raw("[" * depth + "]" * depth)
    return body


def json_bodies(template: Any) -> st.SearchStrategy[bytes]:
    """Every kind of hostile JSON body for an endpoint whose valid body is ``template``."""
    text = st.one_of(
        mutated(template),
        mutated(template),
        mutated(template).map(lambda t: t[: len(t) // 2]),
        values.map(dump),
        st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
        st.integers(1, 5000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    )
    encoded = text.map(lambda t: t.encode("utf-8", "surrogatepass"))
    return st.one_of(encoded, st.binary(max_size=300))


# --- multipart -------------------------------------------------------------------------------


@st.composite
def forms(draw: st.DrawFn, names: tuple[str, ...]) -> tuple[bytes, bytes]:
    """A hand-built multipart body (and its content type) with hostile parts."""
    boundary = draw(st.sampled_from(["fuzzb", "x" * 70, "a;b=c", "é"]))
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.one_of(st.sampled_from(names), texts))
        if draw(st.booleans()) and name in (names[0], "file"):
            filename = draw(st.sampled_from(["a.png", "a\x00.png", "", '";x', "é.png"]))
            data = draw(st.sampled_from([PNG, PNG + b"PK\x03\x04junk", b"", b"\x00" * 64]))
            data = data if draw(st.booleans()) else draw(st.binary(max_size=200))
            head = f'name="{name}"; filename="{filename}"\r\nContent-Type: image/png'
        else:
            data = draw(texts).encode("utf-8", "surrogatepass")
            head = f'name="{name}"'
        disposition = f"Content-Disposition: form-data; {head}\r\n\r\n"
        parts.append(
            f"--{boundary}\r\n{disposition}".encode("utf-8", "surrogatepass") + data + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 4)) == 0:
        body = body[: draw(st.integers(0, len(body)))]
    content_type = draw(
        st.sampled_from(
            [f"multipart/form-data; boundary={boundary}", "multipart/form-data", "text/plain"]
        )
    )
    return body, content_type.encode("utf-8")


# --- the test --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_server(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """``serve --no-worker`` whose synchronous creates (seed 004) stop waiting at once."""
    spec = Spec(settings={"sync_wait_seconds": "0.1"}, args=("--no-worker",))
    for servers in shared_many(shared_backend, request, tmp_path_factory, spec):
        yield servers[0]


@pytest.fixture(scope="module")
def fuzz_keys(fuzz_server: Any) -> dict[str, str]:
    """Keys and ids the endpoints need."""
    user, _ = fuzz_server.create_key(10_000_000)
    admin, admin_account = fuzz_server.create_key(100, role="admin")
    endpoint = httpx.post(
        fuzz_server.url + "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/fuzz"},
        headers={"Authorization": f"Bearer {user}"},
    )
    assert endpoint.status_code == 201, endpoint.text
    return {
        "user": user,
        "admin": admin,
        "": "",
        "account": admin_account,
        "endpoint": endpoint.json()["id"],
    }


def _send(server: Any, target: Target, keys: dict[str, str], body: bytes, ctype: bytes) -> None:
    path = target.path.format(account=keys["account"], endpoint=keys["endpoint"])
    headers = {"Content-Type": ctype}
    if target.who:
        headers["Authorization"] = f"Bearer {keys[target.who]}".encode()
    response = httpx.request(
        target.method, server.url + path, content=body, headers=headers, timeout=60
    )
    assert response.status_code < 500, (response.status_code, body[:300], response.text[:500])
    assert response.headers.get("x-request-id")
    if response.status_code >= 400:
        check_error(path, response)
    else:
        response.json()


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
@FUZZ
@given(data=st.data())
def test_hostile_bodies_never_cost_a_500(
    fuzz_server: Any, fuzz_keys: dict[str, str], target: Target, data: st.DataObject
) -> None:
    if target.form:
        body, ctype = data.draw(forms(target.form))
    else:
        body = data.draw(json_bodies(target.template))
        ctype = data.draw(st.sampled_from([b"application/json"] * 4 + [b"text/plain", b""]))
    with no_unhandled_errors(fuzz_server):
        _send(fuzz_server, target, fuzz_keys, body, ctype)
