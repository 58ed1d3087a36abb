"""The ``/api/v3`` dialect's wire objects, as its document publishes them (the official
upstream's contract: research/ark-official-api.md), and the create body per catalog model."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

from seedance_gateway.catalog import Catalog, ModelSpec
from seedance_gateway.contracts.catalog_schemas import model_names
from seedance_gateway.contracts.operation import REF_TEMPLATE
from seedance_gateway.dialects.ark_body import (
    MAX_EXPIRES_AFTER,
    MAX_SAFETY_IDENTIFIER,
    MIN_EXPIRES_AFTER,
)
from seedance_gateway.domain.requests import MAX_SEED
from seedance_gateway.service import MAX_IDEMPOTENCY_KEY

TaskStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "expired"]
Resolution = Literal["480p", "720p", "1080p", "4k"]
ConcreteRatio = Literal["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21"]
Ratio = Literal["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "9:21", "adaptive"]
#: ``frames`` takes 25 + 4n within [29, 289].
Frames = Annotated[int, WithJsonSchema({"type": "integer", "enum": list(range(29, 290, 4))})]
ARK_ID = r"^cgt-[0-9]{14}-[0-9a-hjkmnp-tv-z]{26}$"


class Body(BaseModel):
    """A request object: these fields only (any other is a 400 naming it)."""

    model_config = ConfigDict(extra="forbid")


class Wire(BaseModel):
    """A response object: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


# --- the create body -------------------------------------------------------------------------


class ArkMediaUrl(Body):
    url: str = Field(
        pattern=r"^\s*(https?://|data:|file_|asset://)|/api/v1/files/file_",
        description="An https URL, a `data:<mime>;base64,…` URL, one of this server's "
        "files (`file_…` or its URL, from `POST /api/v1/files`) or, for a model routed to the "
        "upstream, one of its trusted assets (`asset://…`, passed through untouched).",
    )


class ArkTextContent(Body):
    type: Literal["text"]
    text: str = Field(
        description="The prompt (the text items joined). Legacy commands at its end "
        "(`--rs 720p --rt 16:9 --dur 5 --seed 11 --cf false --wm true`) apply where the body "
        "leaves the field unset and the model takes the value; others are ignored."
    )


class ArkImageContent(Body):
    type: Literal["image_url"]
    image_url: ArkMediaUrl
    role: Literal["first_frame", "last_frame", "reference_image"] | None = Field(
        default=None,
        description="Unset: one or two images alone are the first (and last) frame; "
        "otherwise a reference image. Frames and reference media cannot be mixed.",
    )


class ArkVideoContent(Body):
    type: Literal["video_url"]
    video_url: ArkMediaUrl
    role: Literal["reference_video"] | None = None


class ArkAudioContent(Body):
    type: Literal["audio_url"]
    audio_url: ArkMediaUrl
    role: Literal["reference_audio"] | None = Field(
        default=None,
        description="Reference audio needs a reference image or video beside it (not on 2.5).",
    )


class ArkDraftTask(Body):
    id: str = Field(description="The succeeded draft task (any spelling of its id).")


class ArkDraftTaskContent(Body):
    """A final made from a draft: the only item of ``content``; the final takes the draft's
    prompt, media, ratio, length, seed, audio and camera."""

    type: Literal["draft_task"]
    draft_task: ArkDraftTask


ContentItem = Annotated[
    ArkTextContent | ArkImageContent | ArkVideoContent | ArkAudioContent | ArkDraftTaskContent,
    Field(discriminator="type"),
]


#: A final's ``content``: one ``draft_task`` item.
DRAFT_ITEM: dict[str, Any] = {"type": "object", "properties": {"type": {"const": "draft_task"}}}
#: ``content`` holds a text item that is not blank (the prompt must not be empty).
TEXT_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {"type": {"const": "text"}, "text": {"type": "string", "pattern": r"\S"}},
    "required": ["type", "text"],
}


NULL: dict[str, Any] = {"type": "null"}


class ArkTool(Body):
    type: Literal["web_search"]


class ArkCreateTask(Body):
    """``POST /api/v3/contents/generations/tasks``. Every field but ``model`` and ``content``
    is optional; ``null`` is taken as absent (the official SDKs send it). A field the model
    does not take is a 400 (``InvalidParameter.UnsupportedParameter``), and so is any other
    field that is not null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"additionalProperties": NULL})
    model: str = Field(description="A catalog model id or alias (case-insensitive).")
    content: list[ContentItem] = Field(
        min_length=1,
        json_schema_extra={
            "anyOf": [
                {"contains": TEXT_ITEM, "items": {"not": DRAFT_ITEM}},
                {"maxItems": 1, "items": DRAFT_ITEM},
            ]
        },
        description="The prompt (text items) and the media it starts from or refers to; or, "
        "for a final, one `draft_task` item naming a succeeded draft of the same model (at most "
        "7 days old).",
    )
    callback_url: Annotated[str, Field(pattern=r"^https?://")] | None = Field(
        default=None,
        description="A public https URL (http only where the server allows it) that is POSTed "
        "the task object (as GET shows it) on every status change.",
    )
    return_last_frame: bool | None = Field(
        default=None, description="Keep a PNG of the last frame (`content.last_frame_url`)."
    )
    service_tier: Literal["default", "flex"] | None = None
    execution_expires_after: int | None = Field(
        default=None,
        ge=MIN_EXPIRES_AFTER,
        le=MAX_EXPIRES_AFTER,
        description="Seconds from creation after which an unfinished task becomes `expired` "
        "(default 172800).",
    )
    generate_audio: bool | None = Field(
        default=None, description="A silent model takes it and makes a silent video."
    )
    ratio: Ratio | None = Field(
        default=None,
        description="`adaptive` follows the first frame's shape; 1.0 models refuse it without "
        "a first frame.",
    )
    resolution: Resolution | None = Field(
        default=None, description="Case-insensitive. A draft is always 480p."
    )
    duration: int | None = Field(
        default=None, ge=-1, description="Seconds; `-1` lets the model decide where it can."
    )
    frames: Frames | None = Field(
        default=None, description="25 + 4n frames within [29, 289]; instead of `duration`."
    )
    seed: int | None = Field(default=None, ge=-1, le=MAX_SEED, description="`-1`: random.")
    camera_fixed: bool | None = Field(
        default=None, description="Not in reference mode (reference images, video or audio)."
    )
    camerafixed: bool | None = Field(default=None, description="`camera_fixed`, seed 004's name.")
    watermark: bool | None = None
    safety_identifier: str | None = Field(
        default=None,
        max_length=MAX_SAFETY_IDENTIFIER,
        description="Your end user's id hash; echoed back on create, get and list.",
    )
    draft: bool | None = Field(
        default=None,
        description="A cheap 480p draft: not with `return_last_frame` or the `flex` tier.",
    )
    tools: list[ArkTool] | None = Field(default=None, description="Web search while generating.")
    priority: int | None = Field(
        default=None, ge=0, le=9, description="Queue order among your tasks (0-9)."
    )
    output_format: None = Field(default=None, description="Not taken by any model here.")
    omni_reference_task_type: None = Field(default=None, description="Not taken by any model here.")


# --- responses ---------------------------------------------------------------------------------


def absent(description: str) -> Any:
    """A response field that is left out rather than sent as null."""
    return Field(default=None, description=description, json_schema_extra=_no_default)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class ArkErrorDetail(Wire):
    code: str = Field(description="The upstream's code: `InvalidParameter`, `NotFound`, ….")
    message: str = Field(description="What went wrong, ending with the request id.")
    param: str = Field(description="The offending parameter, or empty.")
    type: str = Field(description="`BadRequest`, `Unauthorized`, `Forbidden`, ….")


class ArkErrorBody(Wire):
    """Every ``/api/v3`` error, as the upstream sends it."""

    error: ArkErrorDetail


class ArkCreated(Wire):
    """A queued task's id."""

    id: str = Field(pattern=ARK_ID)
    safety_identifier: str | SkipJsonSchema[None] = absent("As sent, when sent.")


class ArkTaskError(Wire):
    code: str
    message: str


class ArkTaskContent(Wire):
    video_url: str | None = Field(
        description="The MP4: a signed link. Null once retention deleted the results."
    )
    last_frame_url: str | SkipJsonSchema[None] = absent(
        "A PNG of the last frame, when `return_last_frame` was set."
    )


class ArkUsage(Wire):
    completion_tokens: int = Field(ge=0, description="Width x height x frames / 1024.")
    total_tokens: int = Field(ge=0, description="Equal to `completion_tokens`.")
    tool_usage: dict[str, Annotated[int, Field(ge=0)]] | SkipJsonSchema[None] = absent(
        "Tools the model used and how often (`web_search`), when the task asked for tools."
    )


class ArkTask(Wire):
    """A task, as the upstream's get, list and callbacks show it. Exactly one of ``duration``
    and ``frames``; ``content`` and ``usage`` once it succeeded."""

    id: str = Field(pattern=ARK_ID)
    model: str = Field(description="The model name as sent on create.")
    status: TaskStatus
    error: ArkTaskError | None = Field(description="Why it failed or expired; else null.")
    created_at: int = Field(description="Unix seconds.")
    updated_at: int = Field(description="Unix seconds.")
    seed: int = Field(ge=0, le=MAX_SEED, description="The seed used (a random one for `-1`).")
    resolution: Resolution
    ratio: ConcreteRatio = Field(description="The ratio used (what `adaptive` chose).")
    framespersecond: int = Field(ge=1)
    service_tier: Literal["default", "flex"]
    execution_expires_after: int = Field(ge=MIN_EXPIRES_AFTER, le=MAX_EXPIRES_AFTER)
    generate_audio: bool
    draft: bool
    duration: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = absent(
        "Whole seconds of output (unless asked by frames)."
    )
    frames: Frames | SkipJsonSchema[None] = absent("As asked, when asked by frames.")
    priority: Annotated[int, Field(ge=1, le=9)] | SkipJsonSchema[None] = absent(
        "As asked, when not 0."
    )
    safety_identifier: (
        Annotated[str, Field(max_length=MAX_SAFETY_IDENTIFIER)] | SkipJsonSchema[None]
    ) = absent("As sent, when sent.")
    draft_task_id: Annotated[str, Field(pattern=ARK_ID)] | SkipJsonSchema[None] = absent(
        "The draft a final was made from."
    )
    revised_prompt: str | SkipJsonSchema[None] = absent(
        "The prompt the model used, when the upstream rewrote it (never for the preview)."
    )
    content: ArkTaskContent | SkipJsonSchema[None] = absent("Once it succeeded.")
    usage: ArkUsage | SkipJsonSchema[None] = absent("Once it succeeded.")


class ArkTaskList(Wire):
    """A page of tasks, newest first."""

    total: int = Field(ge=0, description="Tasks matching the filters, on every page.")
    items: list[ArkTask]


class ArkDeleted(Wire):
    """``{}``: the task was cancelled (queued) or deleted (finished)."""


# --- the document's details --------------------------------------------------------------------

TASKS = "/api/v3/contents/generations/tasks"
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when an earlier create with this `Idempotency-Key` answered.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
#: Create -> get -> delete, for clients and schemathesis's stateful phase.
CREATED_LINKS = {
    "GetTask": {
        "operationId": "get_task",
        "parameters": {"task_id": "$response.body#/id"},
        "description": "The task just created.",
    },
    "DeleteTask": {
        "operationId": "delete_task",
        "parameters": {"task_id": "$response.body#/id"},
        "description": "Cancel the task just created.",
    },
}
TASK_LINKS = {"DeleteTask": CREATED_LINKS["DeleteTask"]}


def _query(name: str, schema: dict[str, Any], description: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description, **more}


#: What ``list_tasks`` reads from the query string.
LIST_PARAMETERS = [
    _query("page_num", {"type": "integer", "minimum": 1, "maximum": 500, "default": 1}, "Page."),
    _query(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": 500, "default": 20},
        "Tasks per page.",
    ),
    _query(
        "filter.status",
        {"type": "string", "enum": list(get_args(TaskStatus))},
        "Only tasks in this status.",
    ),
    _query(
        "filter.task_ids",
        {"type": "array", "items": {"type": "string"}},
        "Only these tasks (any spelling of their ids); repeat the key for each.",
        style="form",
        explode=True,
    ),
    _query("filter.model", {"type": "string"}, "Only tasks of this model (any of its names)."),
    _query(
        "filter.service_tier",
        {"type": "string", "enum": ["default", "flex"], "default": "default"},
        "Only tasks of this tier.",
    ),
]


#: Body fields whose default the model decides -> the catalog's name for them.
DEFAULTED = {
    "seed": "seed",
    "camera_fixed": "camera_fixed",
    "camerafixed": "camera_fixed",
    "watermark": "watermark",
    "generate_audio": "generate_audio",
    "return_last_frame": "return_last_frame",
}


def refine_ark_v3(doc: dict[str, Any], catalog: Catalog) -> None:
    """The create body per catalog model, the idempotency key's bound and ``x-should-retry``."""
    refine_create_body(doc, catalog, ArkCreateTask.__name__)
    create = doc["paths"][TASKS]["post"]
    bound_idempotency_key(create)
    conflict = create["responses"].get("409")
    if conflict is not None:
        conflict["headers"] = {
            "x-should-retry": {
                "description": "`false`: the SDKs would otherwise retry a 409.",
                "schema": {"type": "string", "enum": ["false"]},
            }
        }


def bound_idempotency_key(create: dict[str, Any]) -> None:
    """The ``Idempotency-Key`` header's length limit and meaning (FastAPI sees a plain str)."""
    for parameter in create.get("parameters", []):
        if parameter["name"] == "idempotency-key":
            parameter["schema"]["maxLength"] = MAX_IDEMPOTENCY_KEY
            parameter["description"] = "A retry with the same key and body answers the same task."


def refine_create_body(doc: dict[str, Any], catalog: Catalog, name: str) -> None:
    """Replaces the generic create body ``name`` with one variant per catalog model, chosen by
    ``model``: its names, resolutions, ratios, durations, defaults and the fields it takes."""
    schemas: dict[str, Any] = doc["components"]["schemas"]
    generic = schemas[name]
    mapping: dict[str, str] = {}
    for spec in catalog.models:
        names = model_names(catalog, spec)
        variant = f"{name}.{spec.id}"
        schemas[variant] = _variant(generic, spec, names, f"{name} with {spec.id}")
        mapping.update(dict.fromkeys(names, REF_TEMPLATE.format(model=variant)))
    schemas[name] = {
        "title": name,
        "description": generic["description"] + " `model` decides which fields and values "
        "the body takes.",
        "oneOf": [{"$ref": ref} for ref in dict.fromkeys(mapping.values())],
        "discriminator": {"propertyName": "model", "mapping": mapping},
    }


def _variant(
    generic: dict[str, Any], spec: ModelSpec, names: list[str], title: str
) -> dict[str, Any]:
    caps = spec.capabilities
    properties = dict(generic["properties"])
    properties["model"] = {"type": "string", "enum": names, "description": spec.name}
    taken = {
        "resolution": [{"type": "string", "enum": list(caps.resolutions)}],
        "ratio": [{"type": "string", "enum": list(caps.ratios)}],
        "duration": _duration(spec),
        "service_tier": [{"type": "string", "enum": list(caps.service_tiers)}],
    }
    for key, schema in taken.items():
        properties[key] = _nullable(properties[key], schema, caps.defaults.get(key))
    for key, canonical in DEFAULTED.items():
        properties[key] = {**properties[key], "default": caps.defaults.get(canonical)}
    for key in _refused(spec):
        properties[key] = {"type": "null", "description": f"Not taken by {spec.id}."}
    return {**generic, "title": title, "properties": properties}


def _refused(spec: ModelSpec) -> list[str]:
    """The body fields ``spec`` does not take: each is a 400 unless null."""
    caps = spec.capabilities
    refused = {
        "frames": not caps.frames,
        "seed": not caps.seed,
        "camera_fixed": not caps.camera_fixed,
        "camerafixed": not caps.camera_fixed,
        "draft": not caps.draft,
        "priority": not caps.priority,
        "service_tier": len(caps.service_tiers) < 2,
        "tools": not any(p.maps_to == "web_search" for p in spec.params),
    }
    return [key for key, no in refused.items() if no]


def _duration(spec: ModelSpec) -> list[dict[str, Any]]:
    span = spec.capabilities.duration
    seconds = {"type": "integer", "minimum": span.minimum, "maximum": span.maximum}
    return [seconds, {"const": -1}] if span.auto else [seconds]


def _nullable(generic: dict[str, Any], kinds: list[dict[str, Any]], default: Any) -> dict[str, Any]:
    described = {k: generic[k] for k in ("description",) if k in generic}
    return {"anyOf": [*kinds, {"type": "null"}], "default": default, **described}
