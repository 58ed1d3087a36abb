"""Draft to final (pure): what a final task takes from the 480p draft it names.

A final is made from a succeeded draft of the same account and model, at most ``DRAFT_TTL``
after the draft was created. It takes the draft's prompt, reference media and the choices that
shape the scene (``FROM_DRAFT``: ratio, length, seed, audio, camera), so the final continues the
draft's scene at a higher resolution; the client chooses only what does not change the scene
(resolution, watermark, last frame, tier, priority, callback). Each is billed on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from seedance_gateway.domain.requests import GenerationRequest, Reference
from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.errors import ValidationFailed

#: How long a draft can be made final (the upstream's 7 days), counted from its creation.
DRAFT_TTL = timedelta(days=7)
#: The canonical fields a final takes from its draft; sent beside a draft they are refused.
FROM_DRAFT = ("ratio", "duration", "frames", "seed", "generate_audio", "camera_fixed")


@dataclass(frozen=True, kw_only=True)
class DraftInputs:
    """What a final is made of: the draft's prompt and media, and the merged fields."""

    prompt: str
    fields: dict[str, Any]  #: canonical: the draft's ``FROM_DRAFT`` over the final's own
    references: tuple[Reference, ...]  #: the draft's stored media (to be copied for the final)


def final_inputs(
    draft: Task,
    *,
    model_id: str,
    fields: Mapping[str, Any],
    names: Mapping[str, str],
    sent_id: str,
    now: datetime,
) -> DraftInputs:
    """The final's inputs, or a 400 naming why ``draft`` cannot be made final.

    ``fields``: the final's canonical fields as sent; ``names``: the dialect's wire names (its
    name for the draft reference is ``names["draft_task_id"]``); ``sent_id``: the draft's id as
    the client spelled it. Both only shape the messages.
    """
    field = names.get("draft_task_id", "draft_task_id")
    shown = f"draft task {sent_id}"
    request = GenerationRequest.from_json(draft.request)
    if not request.draft:
        raise ValidationFailed(
            f"{field}: task {sent_id} is not a draft (it was not created with draft: true)",
            field=field,
        )
    if draft.model != model_id:
        raise ValidationFailed(
            f"model: a final uses its draft's model; {shown} is {draft.model}, not {model_id}",
            field="model",
        )
    _check_usable(draft, shown, field, now)
    given = sorted(k for k in FROM_DRAFT if fields.get(k) is not None)
    if given:
        name = names.get(given[0], given[0])
        raise ValidationFailed(
            f"{name} is taken from the draft: a final keeps its draft's "
            f"{', '.join(names.get(k, k) for k in FROM_DRAFT)}; leave {name} out",
            field=name,
        )
    if fields.get("draft"):
        name = names.get("draft", "draft")
        raise ValidationFailed(f"{name}: a final cannot itself be a draft", field=name)
    taken = {
        "ratio": request.ratio,
        "duration": request.duration,
        "seed": request.seed,
        "generate_audio": request.generate_audio,
        "camera_fixed": request.camera_fixed,
    }
    own = {k: v for k, v in fields.items() if v is not None}
    return DraftInputs(
        prompt=request.prompt,
        fields={**own, **taken, "draft_task_id": draft.id},
        references=request.references,
    )


def _check_usable(draft: Task, shown: str, field: str, now: datetime) -> None:
    if draft.status in (Status.QUEUED, Status.RUNNING):
        raise ValidationFailed(
            f"{field}: {shown} is {draft.status}; make the final once it has succeeded",
            field=field,
        )
    if draft.status is not Status.SUCCEEDED:
        raise ValidationFailed(
            f"{field}: {shown} {draft.status}; only a succeeded draft can be made final",
            field=field,
        )
    if now - draft.created_at > DRAFT_TTL:
        raise ValidationFailed(
            f"{field}: {shown} was created on {draft.created_at:%Y-%m-%d %H:%M} UTC; a draft "
            f"can be made final for {DRAFT_TTL.days} days: make a new draft",
            field=field,
        )
    if draft.blobs_collected_at is not None:
        raise ValidationFailed(
            f"{field}: {shown}'s inputs are no longer stored; make a new draft", field=field
        )
