"""Log lines: the JSON and text formats, and the ids each request or job carries into them."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest

from seedance_gateway import logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Root logging configured by ``logs.configure('json')`` into a buffer (restored after)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    logs.configure("json")
    sink = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(sink)
    yield sink
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.captureWarnings(False)


def lines(sink: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_message_and_the_ids_of_its_request(
    captured: io.StringIO,
) -> None:
    token = logs.open_request("req_1")
    logs.bind(account_id="acct_1", task_id="task_1")
    logging.getLogger("seedance_gateway.x").warning("hello %s", "world")
    logs.close(token)
    logging.getLogger("other").info("after")
    first, second = lines(captured)
    assert {k: first[k] for k in ("level", "logger", "message")} == {
        "level": "WARNING",
        "logger": "seedance_gateway.x",
        "message": "hello world",
    }
    assert (first["request_id"], first["task_id"], first["account_id"]) == (
        "req_1",
        "task_1",
        "acct_1",
    )
    assert datetime.fromisoformat(str(first["time"])).utcoffset() is not None
    assert not {"request_id", "task_id", "account_id"} & second.keys()  # closed: no ids


def test_a_traceback_stays_inside_its_one_json_line(captured: io.StringIO) -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        logging.getLogger("t").exception("failed")
    (line,) = lines(captured)
    assert line["message"] == "failed"
    assert "ValueError: bad" in str(line["exception"])


def test_uvicorn_logs_through_the_same_format(captured: io.StringIO) -> None:
    """uvicorn's loggers keep no handler of their own: their lines are JSON like ours."""
    logging.getLogger("uvicorn.error").info("Started server process [1]")
    logging.getLogger("uvicorn.access").info("GET / 200")
    assert [line["logger"] for line in lines(captured)] == ["uvicorn.error", "uvicorn.access"]


async def test_concurrent_jobs_never_see_each_others_ids(captured: io.StringIO) -> None:
    async def job(task_id: str) -> None:
        token = logs.open_job(task_id)
        await asyncio.sleep(0)  # let the other job run in between
        logging.getLogger("w").info("ran")
        logs.close(token)

    await asyncio.gather(job("task_a"), job("task_b"))
    assert sorted(str(line["task_id"]) for line in lines(captured)) == ["task_a", "task_b"]
    assert logs.current() == logs.Context()


def test_the_text_format_appends_the_ids_it_has() -> None:
    formatter = logs.TextFormatter()
    record = logging.LogRecord("n", logging.INFO, __file__, 1, "msg", None, None)
    assert formatter.format(record).endswith(" INFO n: msg")
    token = logs.open_request("req_9")
    try:
        assert formatter.format(record).endswith(" INFO n: msg [request_id=req_9]")
    finally:
        logs.close(token)


def test_configure_leaves_one_handler_on_stderr() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.configure("text")
        logs.configure("json")
        (handler,) = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        assert handler.stream is sys.stderr
        assert isinstance(handler.formatter, logs.JsonFormatter)
        assert logging.getLogger("uvicorn.access").propagate
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.captureWarnings(False)
