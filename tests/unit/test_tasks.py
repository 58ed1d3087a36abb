"""Task statuses (domain.tasks): which transitions are legal and which states are final."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from seedance_gateway.domain.tasks import TERMINAL, Status, Task, TaskError, can_transition

LEGAL = {
    (Status.QUEUED, Status.RUNNING),
    (Status.QUEUED, Status.FAILED),
    (Status.QUEUED, Status.CANCELLED),
    (Status.QUEUED, Status.EXPIRED),
    (Status.RUNNING, Status.QUEUED),  # a retry
    (Status.RUNNING, Status.SUCCEEDED),
    (Status.RUNNING, Status.FAILED),
    (Status.RUNNING, Status.EXPIRED),
    (Status.RUNNING, Status.CANCELLED),  # on a provider that stops mid-run (local)
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(Status, Status)))
def test_only_the_documented_transitions_are_legal(current: Status, target: Status) -> None:
    """Every (current, target) pair is legal exactly when the design lists it."""
    assert can_transition(current, target) is ((current, target) in LEGAL)


def test_the_terminal_states_are_the_four_final_ones() -> None:
    """Succeeded, failed, cancelled and expired are terminal; queued and running are not."""
    assert {s for s in Status if s.terminal} == TERMINAL
    assert {Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.EXPIRED} == TERMINAL
    assert not Status.QUEUED.terminal and not Status.RUNNING.terminal


@pytest.mark.parametrize("terminal", sorted(TERMINAL))
def test_a_terminal_task_never_moves_again(terminal: Status) -> None:
    """No transition leaves a terminal state, not even to itself."""
    assert not any(can_transition(terminal, target) for target in Status)


def test_a_queued_task_cannot_succeed_without_running() -> None:
    """Success needs a worker to have started the task."""
    assert not can_transition(Status.QUEUED, Status.SUCCEEDED)
    assert can_transition(Status.QUEUED, Status.RUNNING)
    assert can_transition(Status.RUNNING, Status.SUCCEEDED)


def test_statuses_are_stored_as_their_lowercase_names() -> None:
    """The tasks table stores these strings."""
    names = ["queued", "running", "succeeded", "failed", "cancelled", "expired"]
    assert [str(s) for s in Status] == names


def test_evolve_returns_a_changed_copy_and_leaves_the_original() -> None:
    """Tasks are immutable values; evolve builds a new one."""
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    task = Task(
        id="task_1",
        account_id="acct_1",
        api_key_id="key_1",
        dialect="public_v1",
        model="seedance-2-0",
        model_alias="seedance-2",
        request={},
        status=Status.QUEUED,
        progress=0,
        quote=175,
        reserved_credits=175,
        final_credits=0,
        result=None,
        error=None,
        created_at=stamp,
        updated_at=stamp,
    )
    failed = task.evolve(status=Status.FAILED, error=TaskError(code="x", message="y"))
    assert (task.status, task.error) == (Status.QUEUED, None)
    assert failed.status is Status.FAILED and failed.error == TaskError(code="x", message="y")
    assert failed.id == task.id
