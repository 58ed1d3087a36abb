"""``FastJSONResponse`` writes what Starlette's ``JSONResponse`` writes, parsed the same."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.responses import JSONResponse

from seedance_gateway.web.fast_json import FastJSONResponse

BODIES: list[Any] = [
    {"id": "cgt-2026", "status": "queued", "progress": 0, "error": None, "ok": True},
    {"prompt": "海边的灯塔 — ünïcode ✓", "ratio": 1.7777777777777777, "list": [1, 2.5, "x"]},
    {"nested": {"deep": [{"a": []}, {}]}, "empty": ""},
    {7: "an int key", "7.5": "a str key"},
    [],
]


@pytest.mark.parametrize("body", BODIES)
def test_the_body_parses_to_what_starlette_writes(body: Any) -> None:
    fast = FastJSONResponse(body, 201)
    plain = JSONResponse(body, 201)
    assert json.loads(fast.body) == json.loads(plain.body)
    assert fast.status_code == 201
    assert fast.headers["content-type"] == plain.headers["content-type"]
    assert fast.headers["content-length"] == str(len(fast.body))


def test_non_ascii_text_is_written_as_utf8_not_escaped() -> None:
    assert "灯塔".encode() in FastJSONResponse({"p": "灯塔"}).body


def test_a_value_orjson_cannot_write_is_written_by_starlette() -> None:
    huge = {"credits": 2**70}
    assert json.loads(FastJSONResponse(huge).body) == huge
