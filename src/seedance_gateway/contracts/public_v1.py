"""The Public API v1's wire objects, as its document publishes them (``dialects/public_v1``
builds them as dicts; the contract tests hold the two together)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from seedance_gateway.references import ROLES

Timestamp = Field(description="ISO 8601 in UTC with milliseconds: `2026-12-04T09:30:00.123Z`.")
NO_NUL = "^[^\\u0000]*$"
TEXT_WITH_A_WORD = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"  #: not blank, no NUL
GenerationStatus = Literal["queued", "processing", "succeeded", "failed", "cancelled", "expired"]


class ReferenceItem(BaseModel):
    """One ``params.referenceMediaItems`` entry: media the generation starts from or follows."""

    model_config = ConfigDict(extra="forbid")
    url: str = Field(
        description="An `https` URL, a `data:` URL, `file_...` (an uploaded file's id) or, for a "
        "model routed to the upstream, `asset://...` (its trusted assets, passed through).",
        json_schema_extra={"minLength": 1},
    )
    kind: str = Field(default="image", json_schema_extra={"enum": ["image", "video", "audio"]})
    name: str | None = None
    mimeType: str | None = None
    durationToken: str | None = None
    role: str | None = Field(
        default=None,
        description="Where it goes; by default the first image is the first frame.",
        json_schema_extra={"enum": [*ROLES, None]},
    )


class CreateGeneration(BaseModel):
    """``POST /api/v1/generations`` (and its quote).

    The schema-only keywords (``json_schema_extra``) document what the service checks with
    its own messages; pydantic checks the rest.
    """

    model_config = ConfigDict(extra="forbid")
    model: str = Field(description="A model's id or alias (`GET /api/v1/models`).")
    prompt: str | SkipJsonSchema[None] = Field(
        default=None,
        description="What to generate: not blank, no NUL; each model has its own maximum. "
        "Required, except for a final (`draft_task_id`), which takes its draft's.",
        json_schema_extra={"minLength": 1, "pattern": TEXT_WITH_A_WORD},
    )
    draft_task_id: str | None = Field(
        default=None,
        max_length=100,
        description="Makes the final of this succeeded draft (`params.draft`) of the same "
        "model, at most 7 days old: the final takes the draft's prompt, media, ratio, "
        "duration, seed and audio; send only what does not change the scene "
        "(`params.resolution`, `params.watermark`, …). Any spelling of a task id.",
    )
    params: dict[str, Any] | None = Field(default=None, description="The model's parameters.")
    client_request_id: str | None = Field(
        default=None,
        max_length=255,
        description="Your id for this request; a repeat within 24 h replays the first answer "
        "(like `Idempotency-Key`).",
        json_schema_extra={"pattern": NO_NUL},
    )
    callback_url: str | None = Field(
        default=None,
        max_length=2048,
        description="An `https` URL that hears about the end of the task.",
        json_schema_extra={"format": "uri", "pattern": "^https://"},
    )


class Wire(BaseModel):
    """A response object: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class PublicErrorDetail(Wire):
    code: str = Field(description="Stable and machine-readable: `validation_failed`, ….")
    message: str = Field(description="What went wrong and what to change.")
    requestId: str = Field(description="This request's id (also the `x-request-id` header).")


class PublicError(Wire):
    """Every Public API v1 error."""

    error: PublicErrorDetail


class GenerationResult(Wire):
    primary_url: str = Field(description="The MP4: a signed link, valid until `expires_at`.")
    urls: list[str]
    last_frame_url: str | None = Field(description="A PNG of the last frame, when kept.")
    expires_at: str | None = Field(description="When the signed links stop working.")


class TaskErrorBody(Wire):
    code: str
    message: str


class Generation(Wire):
    """A generation (a task)."""

    id: str
    status: GenerationStatus
    model: str = Field(description="The catalog id of the model.")
    reserved_credits: int = Field(description="Credits held when the task was created.")
    final_credits: int = Field(description="Credits charged: 0 until it succeeds.")
    created_at: str = Timestamp
    updated_at: str = Timestamp
    progress: int = Field(ge=0, le=100)
    result: GenerationResult | None = Field(description="Set once it succeeded.")
    error: TaskErrorBody | None = Field(
        description="Why it failed, or `result_expired` once retention deleted its results."
    )
    client_request_id: str | SkipJsonSchema[None] = Field(
        default=None, description="As sent on create; absent when none was sent."
    )
    draft_task_id: str | None = Field(
        default=None,
        max_length=100,
        description="The draft a final was made from; absent otherwise.",
    )


class GenerationWithRequest(Generation):
    """A generation with its create body as sent through this API (`data:` URLs elided);
    null for a task created through another dialect."""

    request: dict[str, Any] | None


class GenerationList(Wire):
    object: Literal["list"]
    data: list[Generation]
    has_more: bool
    next_cursor: str | None = Field(description="Pass it as `after` for the next page.")


class Credits(Wire):
    current_credits: int


class Quote(Wire):
    """What a create with the same body would cost."""

    object: Literal["quote"]
    model: str
    credits: int
    resolution: str
    width: int
    height: int
    duration_seconds: float
    fps: int
    generate_audio: bool


class ModelParam(Wire):
    key: str
    type: Literal["select", "number", "decimal", "text"] = Field(
        description="select: one of options; number: an integer in [min, max]; decimal: a "
        "number in [min, max]; text: a string of at most max characters."
    )
    required: bool
    default: str | int | float
    options: list[str] | None
    min: int | float | None
    max: int | float | None
    description: str
    extension: bool = Field(description="Ours, beyond the reference API.")


class MediaCount(Wire):
    min: int
    max: int


class Model(Wire):
    """A catalog model and its parameters."""

    id: str
    name: str
    description: str
    capability: Literal["video"]
    billing: Literal["FIXED"]
    base_credits: int
    inputs: list[Literal["text", "file"]]
    modes: list[str]
    prompt_max_chars: int
    aliases: list[str]
    fps: int
    params: list[ModelParam]
    reference_media: dict[str, MediaCount]
    output_sizes: dict[str, dict[str, str]] = Field(
        description="Resolution -> ratio -> `WIDTHxHEIGHT`."
    )


class ModelList(Wire):
    object: Literal["list"]
    data: list[Model]
