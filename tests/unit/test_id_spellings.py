"""One task id, four spellings (domain.ids): each converts back to the same id."""

from __future__ import annotations

import re
import uuid

import pytest

from seedance_gateway.domain import ids

TASK = ids.new_id("task", now_ms=1_743_443_419_000)  # 2025-03-31 17:50:19 UTC


def test_every_spelling_reads_back_as_the_task_id() -> None:
    """``cgt-``, UUID and ``video_`` spellings all lead to the same ``task_`` id."""
    spellings = [TASK, ids.ark_task_id(TASK), ids.uuid_form(TASK), ids.video_id(TASK)]
    assert [ids.task_id_of(s) for s in spellings] == [TASK] * 4


def test_the_spellings_have_their_dialects_shapes() -> None:
    """``cgt-<UTC stamp>-<body>``, a canonical UUID, ``video_<body>``."""
    body = TASK.partition("_")[2]
    assert ids.ark_task_id(TASK) == f"cgt-20250331175019-{body}"
    assert str(uuid.UUID(ids.uuid_form(TASK))) == ids.uuid_form(TASK)
    assert ids.video_id(TASK) == f"video_{body}"


@pytest.mark.parametrize(
    "value",
    [
        "video_",
        "video_abc",
        "video_" + "u" * 26,  # not Crockford base32
        "video_" + "9" * 26,  # over 128 bits
        "clip_" + "0" * 26,
        "cgt-2025-abc",
        "not-a-uuid-at-all",
    ],
)
def test_strings_that_are_no_spelling_pass_through_unchanged(value: str) -> None:
    """Unknown shapes are returned as they are (the lookup then finds nothing)."""
    assert ids.task_id_of(value) == value


def test_surrounding_whitespace_is_ignored() -> None:
    """A pasted id with spaces or a newline still reads."""
    assert ids.task_id_of(f"  {ids.video_id(TASK)}\n") == TASK


def test_video_id_refuses_what_is_not_one_of_our_ids() -> None:
    """Spelling a foreign string would hide a bug: it raises."""
    with pytest.raises(ValueError):
        ids.video_id("video_from_elsewhere")
    assert re.fullmatch(r"video_[0-9a-z]{26}", ids.video_id(ids.new_id("task")))
