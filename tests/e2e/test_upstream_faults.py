"""Provider ``ark`` when the link to the upstream breaks (``fault_proxy`` between A and B).

Gateway A reaches gateway B (``upstream_chain``) through a :class:`FaultProxy` that answers 429
or 500, hangs before or after forwarding, answers unreadable JSON, or delays. Whatever breaks,
A's task ends as B's did, B holds exactly one task for it (a create is resent only when it
surely made nothing), and A's credits are exact. A's timeouts are short so that each fault
resolves in seconds.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import _database
from .fault_proxy import FaultProxy
from .support import credits
from .upstream_chain import TASKS, gateway_a, upstream_b, v3_task, wait_v3, with_seed

MODEL = "seedance-1-0-pro"
BALANCE = 1000
#: A gives up on an upstream call after 1.5 s and resends an unfound create after 2 s. It asks
#: for no callbacks: B's callbacks bypass the proxy, and every check here must cross it.
A_FAULT_SETTINGS = {
    "ark_timeout_seconds": "1.5",
    "ark_reconcile_after_seconds": "2",
    "ark_callbacks": "false",
}


@pytest.fixture(scope="module")
def b_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """B with a worker: tasks render at once; a killed B's jobs are re-run within seconds."""
    lease = {"lease_seconds": "2", "heartbeat_seconds": "0.5"}
    with upstream_b(tmp_path_factory.mktemp("b"), **lease) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(b_server: Any) -> Iterator[FaultProxy]:
    """The fault proxy in front of B."""
    with FaultProxy(b_server.url) as running:
        yield running


@pytest.fixture(scope="module")
def a_server(
    proxy: FaultProxy,
    b_server: Any,
    shared_backend: str,
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """A on the backend under test, sending every model to B through the proxy."""
    with _database(shared_backend, request, tmp_path_factory) as url:
        root = tmp_path_factory.mktemp("a")
        base = f"{proxy.url}/api/v3"
        with gateway_a(root, url, base, b_server.key, **A_FAULT_SETTINGS) as server:
            yield server


@pytest.fixture
def key(a_server: Any) -> str:
    """A fresh key of A on a new account holding ``BALANCE`` credits, for this test alone."""
    made: str = a_server.create_key(BALANCE, name="faults")[0]
    return made


@pytest.fixture(autouse=True)
def _clean_proxy(proxy: FaultProxy) -> Iterator[None]:
    """Every test starts with no fault armed and zero counts."""
    proxy.reset()
    yield
    proxy.reset()


@pytest.fixture(autouse=True)
def _no_errors(a_server: Any, b_server: Any) -> Iterator[None]:
    """Fails the test if A (meanwhile) or B (ever) logged an unhandled error or a traceback."""
    mark = len(a_server.logs())
    yield
    for logs in (a_server.logs()[mark:], b_server.logs()):
        assert "unhandled error" not in logs, logs[-4000:]
        assert "Traceback" not in logs, logs[-4000:]


def create(a: Any, key: str, prompt: str) -> dict[str, Any]:
    """Creates a small task on A through the upstream dialect; returns A's task object."""
    body = {
        "model": MODEL,
        "content": [{"type": "text", "text": prompt}],
        "resolution": "480p",
        "duration": 2,
    }
    with a.client(key) as client:
        response = client.post(TASKS, json=body)
        assert response.status_code == 200, response.text
        return v3_task(client, response.json()["id"])


def succeeds(a: Any, b: Any, key: str, task: dict[str, Any], timeout: float = 60) -> None:
    """The task succeeds on A, B made exactly one task for it, A charged exactly its quote."""
    with a.client(key) as client:
        done = wait_v3(client, task["id"], timeout=timeout)
        generation = client.get(f"/api/v1/generations/{task['id']}").json()
        spent = BALANCE - credits(client)
    assert done["status"] == "succeeded", done
    assert done["content"]["video_url"].startswith(a.url + "/blobs/results/"), done
    remote = with_seed(b, task["seed"])
    assert len(remote) == 1, remote
    assert remote[0]["status"] == "succeeded", remote
    assert spent == generation["final_credits"] == generation["reserved_credits"], generation
    assert spent > 0


def wait_on_b(b: Any, seed: int, timeout: float = 30) -> dict[str, Any]:
    """The one B task carrying ``seed``, once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = with_seed(b, seed)
        if found:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no task with seed {seed} reached B")


@pytest.mark.parametrize("fault", ["status_429", "status_500"])
def test_a_create_refused_for_now_is_sent_again(
    fault: str, a_server: Any, b_server: Any, proxy: FaultProxy, key: str
) -> None:
    """429 and 500 mean no task was made: A sends the create again, once."""
    armed = proxy.arm(fault)
    task = create(a_server, key, f"a create answered {fault}")
    succeeds(a_server, b_server, key, task)
    assert armed.used == 1
    assert proxy.creates == 2


def test_a_create_that_never_arrived_is_resent_after_reconciling(
    a_server: Any, b_server: Any, proxy: FaultProxy, key: str
) -> None:
    """A times out on a create B never saw: the list shows no such task, so A resends it."""
    armed = proxy.arm("hang_before_read")
    task = create(a_server, key, "a create that hangs before reaching B")
    succeeds(a_server, b_server, key, task)
    assert armed.used == 1
    assert proxy.creates == 2
    assert proxy.lists >= 1  # reconciliation looked before resending


@pytest.mark.parametrize("fault", ["hang_after_forward", "garbage_json"])
def test_a_create_that_made_a_task_is_adopted_not_resent(
    fault: str, a_server: Any, b_server: Any, proxy: FaultProxy, key: str
) -> None:
    """B made the task but A could not read the answer: A finds it by seed; no second create."""
    armed = proxy.arm(fault)
    task = create(a_server, key, f"a create answered with {fault}")
    succeeds(a_server, b_server, key, task)
    assert armed.used == 1
    assert proxy.creates == 1


def test_unreadable_list_answers_only_delay_the_checks(
    a_server: Any, b_server: Any, proxy: FaultProxy, key: str
) -> None:
    """The batched checks get garbage three times; A keeps checking and finishes the task."""
    armed = proxy.arm("garbage_json", method="GET", path_suffix="/tasks", times=3)
    task = create(a_server, key, "checks answered with garbage")
    succeeds(a_server, b_server, key, task)
    assert armed.used == 3
    assert proxy.lists >= 4
    assert proxy.creates == 1


def test_a_slow_upstream_is_waited_for(
    a_server: Any, b_server: Any, proxy: FaultProxy, key: str
) -> None:
    """Every upstream call takes a second longer (A's timeout is 1.5 s): the task still ends."""
    armed = proxy.arm("delay:1", method=None, path_suffix="", times=None)
    task = create(a_server, key, "a slow upstream")
    succeeds(a_server, b_server, key, task)
    assert armed.used >= 2
    assert proxy.creates == 1


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_an_upstream_restart_mid_task_is_ridden_out(
    how: str, a_server: Any, b_server: Any, proxy: FaultProxy, key: str
) -> None:
    """B goes down once it has the task and comes back on the same port: A's task still ends.

    ``stop`` lets B finish what it runs; ``kill`` interrupts B's render, which B's worker runs
    again once the job's lease has lapsed.
    """
    task = create(a_server, key, f"an upstream that restarts ({how})")
    wait_on_b(b_server, task["seed"])
    if how == "kill":
        kill(b_server)
    else:
        b_server.stop()
    time.sleep(2)
    b_server.start()
    succeeds(a_server, b_server, key, task, timeout=120)
    assert proxy.creates == 1


def kill(server: Any) -> None:
    """Kills every process of ``server`` at once (SIGKILL): nothing is finished or released."""
    for process in server.extra:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_upstreams_revised_prompt_and_tool_usage_reach_a_s_task(
    a_server: Any, b_server: Any, proxy: FaultProxy, key: str
) -> None:
    """An upstream that rewrote the prompt and searched the web says so in its task object
    (``revised_prompt``, ``usage.tool_usage``): A keeps both with the result and shows them,
    beside its own token count."""
    told = {"revised_prompt": "A paper boat drifting down a rain-soaked street at dusk"}
    proxy.enrich({**told, "usage": {"tool_usage": {"web_search": 2}}})
    task = create(a_server, key, "paper boat, rain")
    succeeds(a_server, b_server, key, task)
    with a_server.client(key) as client:
        shown = v3_task(client, task["id"])
    assert shown["revised_prompt"] == told["revised_prompt"]
    assert shown["usage"]["tool_usage"] == {"web_search": 2}
    assert shown["usage"]["completion_tokens"] == shown["usage"]["total_tokens"] > 0
