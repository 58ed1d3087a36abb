"""Seed 003's wire objects (``/v1/generate``, ``/v2/generate``, ``/v1|v2/status``), as its
document publishes them; ``refine_seedanceapi`` gives each version's body its catalog models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from seedance_gateway.catalog import Catalog, ModelSpec
from seedance_gateway.catalog.model import Mode
from seedance_gateway.contracts.build import EXAMPLE_REQUEST_ID
from seedance_gateway.contracts.catalog_schemas import model_names
from seedance_gateway.contracts.openai_videos import HOST, REFERENCE
from seedance_gateway.contracts.operation import REF_TEMPLATE

if TYPE_CHECKING:
    from seedance_gateway.dialects.seedanceapi import Surface

TaskStatus = Literal["IN_PROGRESS", "SUCCESS", "FAILED"]


class Wire(BaseModel):
    """A response object: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class SeedanceApiErrorDetail(Wire):
    code: str = Field(description="`INVALID_API_KEY`, `INSUFFICIENT_CREDITS`, ….")
    message: str
    request_id: str


class SeedanceApiError(Wire):
    """Every seed 003 error: the HTTP status repeated in ``code``."""

    code: int
    message: str
    data: None
    error: SeedanceApiErrorDetail


class SeedanceApiGenerate(Wire):
    """A generate body; ``refine_seedanceapi`` sets each version's models and values."""

    prompt: str = Field(min_length=1, pattern=r"\S")
    model: str = Field(description="A catalog model id or alias, case-insensitive.")
    aspect_ratio: str
    resolution: str
    duration: int | str = Field(description="Seconds, as a number or a string of digits.")
    generate_audio: bool = False
    fixed_lens: bool = Field(default=False, description="Keep the camera still.")
    image_urls: list[str] | SkipJsonSchema[None] = Field(
        default=None,
        description="The first frame, then (v2) the last frame: image URLs.",
    )
    callback_url: Annotated[str, Field(pattern=rf"^https://{HOST}")] | SkipJsonSchema[None] = Field(
        default=None,
        description="Hears the end of the task: a POST of what `/status` would answer "
        "(https; http too where `SEEDANCE_WEBHOOK_ALLOW_HTTP` allows it).",
    )


class SeedanceApiGenerateV1(SeedanceApiGenerate):
    """``POST /v1/generate``: Seedance 1.5 Pro."""


class SeedanceApiGenerateV2(SeedanceApiGenerate):
    """``POST /v2/generate``: the Seedance 2.0 family and 2.5, chosen by ``model``."""


class SeedanceApiQueued(Wire):
    task_id: str = Field(description="`task_<id>`: ask `/v1/status` or `/v2/status` for it.")
    status: TaskStatus = Field(description="`IN_PROGRESS`; an idempotent replay: as it stands.")


class SeedanceApiCreated(Wire):
    """What a generate answers."""

    code: Literal[200]
    message: Literal["success"]
    data: SeedanceApiQueued


class SeedanceApiRequestEcho(Wire):
    """The generate body as sent (long `data:` URLs elided); for a task made through another
    dialect, its ``prompt``, ``aspect_ratio``, ``resolution``, ``duration`` and ``model``."""

    prompt: str
    model: str | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    duration: int | str | None = None
    generate_audio: bool | None = None
    fixed_lens: bool | None = None
    image_urls: list[str] | None = None
    callback_url: str | None = None


class SeedanceApiTask(Wire):
    task_id: str
    status: TaskStatus
    consumed_credits: int = Field(
        ge=0, description="Held while it runs, charged once it succeeded, 0 once given back."
    )
    created_at: str = Field(
        pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", description="ISO 8601 in UTC, seconds."
    )
    request: SeedanceApiRequestEcho
    response: list[str] = Field(description="The video's signed URL once it succeeded.")
    error_message: str | None


class SeedanceApiStatus(Wire):
    """What ``/v1/status`` and ``/v2/status`` answer."""

    code: Literal[200]
    message: Literal["success"]
    data: SeedanceApiTask


REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when an earlier generate with this `Idempotency-Key` answered.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
#: Where a generate leads (OpenAPI links: schemathesis's stateful phase follows them).
TASK_LINKS = {
    f"Status{version.upper()}": {
        "operationId": f"status_{version}",
        "parameters": {"task_id": "$response.body#/data/task_id"},
        "description": f"The task's status, by `data.task_id` (`/{version}/status`).",
    }
    for version in ("v1", "v2")
}
STATUS_OPERATIONS = ("status_v1", "status_v2")


def refine_seedanceapi(doc: dict[str, Any], catalog: Catalog) -> None:
    """Each version's body with its catalog models and values; ``task_id`` required."""
    from seedance_gateway.dialects import seedanceapi as dialect  # it imports this module

    schemas: dict[str, Any] = doc["components"]["schemas"]
    for surface, model in (
        (dialect.V1, SeedanceApiGenerateV1),
        (dialect.V2, SeedanceApiGenerateV2),
    ):
        name, generic = model.__name__, schemas[model.__name__]
        default = catalog.find(surface.default_model)
        variants = {}
        for spec in (s for s in catalog.models if s.family in surface.families):
            values = _values(surface, spec, dialect.PROMPT_MAX)
            names = model_names(catalog, spec)
            body = _variant(generic, values, names, dialect.DEFAULTS, default=spec is default)
            variants[f"{name}.{spec.id}"] = {**body, "title": f"{name} with {spec.id}"}
        schemas[name] = _one_of(schemas, name, generic["description"], variants)
    for path in doc["paths"].values():
        for op in path.values():
            if op.get("operationId") in STATUS_OPERATIONS:
                _finish_status(op)


def _one_of(
    schemas: dict[str, Any], name: str, description: str, variants: dict[str, Any]
) -> dict[str, Any]:
    """The body ``name``: its one variant, or one of its variants (each a component)."""
    if len(variants) == 1:
        return {**next(iter(variants.values())), "title": name}
    schemas.update(variants)
    refs = [{"$ref": REF_TEMPLATE.format(model=v)} for v in variants]
    return {"title": name, "description": description, "oneOf": refs}


def _values(surface: Surface, spec: ModelSpec, prompt_max: int) -> dict[str, dict[str, Any]]:
    """What ``spec`` takes through ``surface``."""
    caps = spec.capabilities
    durations = list(surface.durations or range(caps.duration.minimum, caps.duration.maximum + 1))
    return {
        "prompt": {
            "type": "string",
            "minLength": 1,
            "maxLength": min(prompt_max, spec.prompt_max),
            "pattern": r"\S",
        },
        "aspect_ratio": {
            "type": "string",
            "enum": list(surface.ratios or caps.ratios),
        },
        "resolution": {
            "type": "string",
            "enum": list(surface.resolutions or caps.resolutions),
        },
        "duration": {
            "anyOf": [
                {"type": "integer", "enum": durations},
                {"type": "string", "enum": [str(d) for d in durations]},
            ]
        },
        "image_urls": {
            "type": "array",
            "items": {"type": "string", "pattern": REFERENCE},
            "minItems": 0 if Mode.T2V in spec.modes else 1,
            "maxItems": _max_images(surface.max_images, spec),
        },
        "generate_audio": _flag(caps.audio),
        "fixed_lens": _flag(caps.camera_fixed),
    }


def _flag(supported: bool) -> dict[str, Any]:
    """A boolean field: only ``false`` where the model lacks the feature."""
    return {"type": "boolean", "enum": [False, True] if supported else [False], "default": False}


def _max_images(most: int, spec: ModelSpec) -> int:
    """The frames ``spec`` takes: a first, then a last (at most ``most``)."""
    if Mode.FIRST_LAST_FRAME in spec.modes:
        return most
    return min(most, 1) if Mode.FIRST_FRAME in spec.modes else 0


def _variant(
    generic: dict[str, Any],
    values: dict[str, dict[str, Any]],
    names: list[str],
    defaults: dict[str, Any],
    *,
    default: bool,
) -> dict[str, Any]:
    """The generic body with ``values`` and ``defaults``; ``model`` may be left out for the
    ``default`` model."""
    properties = {key: dict(schema) for key, schema in generic["properties"].items()}
    properties["model"] = {**properties["model"], "enum": names}
    for key, schema in values.items():
        kept = {k: v for k, v in properties[key].items() if k in ("title", "description")}
        properties[key] = {**kept, **schema}
    for key, value in defaults.items():
        properties[key]["default"] = value
    if default:
        properties["model"]["default"] = names[0]
    required = ["prompt"] if default else ["prompt", "model"]
    return {**generic, "properties": properties, "required": required}


def _finish_status(op: dict[str, Any]) -> None:
    """``task_id`` is required (a status without one is refused), and its 404's own code."""
    for parameter in op.get("parameters", []):
        if parameter["name"] == "task_id":
            parameter["required"] = True
            parameter["schema"] = {**parameter["schema"], "pattern": r"\S"}
    example = {
        "code": 404,
        "message": "task task_<id> was not found in your account",
        "data": None,
        "error": {
            "code": "TASK_NOT_FOUND",
            "message": "task task_<id> was not found in your account",
            "request_id": EXAMPLE_REQUEST_ID,
        },
    }
    media = op["responses"]["404"]["content"]["application/json"]
    media["examples"] = {"TASK_NOT_FOUND": {"value": example}}
