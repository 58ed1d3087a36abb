"""Draft to final: which drafts can be made final, and what the final takes from its draft."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seedance_gateway.catalog import Catalog
from seedance_gateway.domain.drafts import DRAFT_TTL, FROM_DRAFT, final_inputs
from seedance_gateway.domain.requests import Reference, normalize, with_concrete_seed
from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.errors import ValidationFailed

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
IMAGE = Reference(
    role="first_frame", kind="image", url="data:", blob_key="inputs/t/0.png", width=640, height=480
)


def draft_task(catalog: Catalog, *, draft: bool = True, **changes: Any) -> Task:
    """A succeeded 2.5 draft (480p, 6 s, a first frame) created an hour before ``NOW``."""
    spec = catalog.find("seedance-2-5")
    assert spec is not None
    fields = {"draft": draft, "duration": 6, "resolution": "480p", "generate_audio": False}
    request = normalize(spec, prompt="a kite at dawn", fields=fields, references=(IMAGE,))
    base = Task(
        id="task_01m91gjbzz2w1wjjb00tpx98a7",
        account_id="acct_1",
        api_key_id="key_1",
        dialect="ark_v3",
        model="seedance-2-5",
        model_alias="seedance-2.5",
        request=with_concrete_seed(request).to_json(),
        status=Status.SUCCEEDED,
        progress=100,
        quote=40,
        reserved_credits=40,
        final_credits=40,
        result=None,
        error=None,
        created_at=NOW - timedelta(hours=1),
        updated_at=NOW - timedelta(hours=1),
    )
    return base.evolve(**changes)


def final_of(task: Task, model_id: str = "seedance-2-5", **fields: Any) -> Any:
    return final_inputs(
        task,
        model_id=model_id,
        fields=fields,
        names={"draft_task_id": "content", "seed": "params.seed"},
        sent_id="cgt-x",
        now=NOW,
    )


def refusal(task: Task, model_id: str = "seedance-2-5", **fields: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        final_of(task, model_id, **fields)
    return caught.value


def test_a_final_takes_the_drafts_prompt_media_and_scene_and_keeps_its_own_choices(
    catalog: Catalog,
) -> None:
    """Prompt, references, seed, ratio, length, audio and camera come from the draft; the
    resolution and the last frame are the final's."""
    draft = draft_task(catalog)
    inputs = final_of(draft, resolution="1080p", return_last_frame=True, safety_identifier=None)
    saved = draft.request
    assert inputs.prompt == "a kite at dawn"
    assert inputs.references == (IMAGE,)
    assert inputs.fields == {
        "resolution": "1080p",
        "return_last_frame": True,
        "ratio": saved["ratio"],
        "duration": 6,
        "seed": saved["seed"],
        "generate_audio": False,
        "camera_fixed": False,
        "draft_task_id": draft.id,
    }


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (Status.QUEUED, "draft task cgt-x is queued; make the final once it has succeeded"),
        (Status.RUNNING, "draft task cgt-x is running; make the final once it has succeeded"),
        (Status.FAILED, "draft task cgt-x failed; only a succeeded draft can be made final"),
        (Status.CANCELLED, "cgt-x cancelled; only a succeeded draft"),
        (Status.EXPIRED, "cgt-x expired; only a succeeded draft"),
    ],
)
def test_only_a_succeeded_draft_can_be_made_final(
    catalog: Catalog, status: Status, words: str
) -> None:
    error = refusal(draft_task(catalog, status=status))
    assert error.field == "content"
    assert words in error.message


def test_a_draft_is_usable_for_seven_days_from_its_creation(catalog: Catalog) -> None:
    assert final_of(draft_task(catalog, created_at=NOW - DRAFT_TTL)).prompt
    error = refusal(draft_task(catalog, created_at=NOW - DRAFT_TTL - timedelta(seconds=1)))
    assert "a draft can be made final for 7 days: make a new draft" in error.message


def test_a_task_that_is_not_a_draft_or_of_another_model_is_refused(catalog: Catalog) -> None:
    error = refusal(draft_task(catalog, draft=False))
    assert "task cgt-x is not a draft (it was not created with draft: true)" in error.message
    error = refusal(draft_task(catalog), model_id="seedance-1-5-pro")
    assert error.field == "model"
    assert "is seedance-2-5, not seedance-1-5-pro" in error.message


def test_a_draft_whose_inputs_were_collected_is_refused(catalog: Catalog) -> None:
    error = refusal(draft_task(catalog, blobs_collected_at=NOW - timedelta(minutes=1)))
    assert "inputs are no longer stored; make a new draft" in error.message


@pytest.mark.parametrize("name", FROM_DRAFT)
def test_a_scene_field_sent_with_a_final_is_refused_naming_it(catalog: Catalog, name: str) -> None:
    """The draft fixes the scene: each of these sent beside ``draft_task`` is a 400 naming it."""
    error = refusal(draft_task(catalog), **{name: 1})
    wire = "params.seed" if name == "seed" else name  # in the dialect's own name
    assert error.field == wire
    assert f"{wire} is taken from the draft" in error.message


def test_a_final_cannot_itself_be_a_draft(catalog: Catalog) -> None:
    assert refusal(draft_task(catalog), draft=True).field == "draft"
