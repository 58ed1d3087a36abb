"""The ``/v1/videos`` dialect's wire objects, as its document publishes them (OpenAI's Videos
API: research/peer-apis.md); ``refine_openai_videos`` makes the create body one variant per
catalog model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from seedance_gateway.catalog import Catalog, ModelSpec
from seedance_gateway.catalog.model import Mode
from seedance_gateway.contracts.catalog_schemas import model_names
from seedance_gateway.contracts.operation import COMPONENTS, REF_TEMPLATE

SIZE = r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$"
FILE_ID = r"^file_[0-9a-z]{26}$"
HOST = r"[A-Za-z0-9][A-Za-z0-9.-]*([:/?#]|$)"  #: a URL's host, after its scheme
DATA_URL = r"data:[^,]*;base64,"
#: A reference: an http(s) or base64 ``data:`` URL, a file id, or a file's own URL here.
REFERENCE = rf"^(https?://{HOST}|{DATA_URL}|file_[0-9a-z]{{26}}$|/api/v1/files/file_)"
IMAGE_URL = rf"^(https?://{HOST}|{DATA_URL})"
#: The form fields that each carry the reference: at most one of them (not said as ``not``:
#: schemathesis cannot judge a file against it).
REFERENCE_FIELDS = ("input_reference", "input_reference[image_url]", "input_reference[file_id]")
POLL_AFTER = "openai-poll-after-ms"


class Wire(BaseModel):
    """A response object: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


class OpenAIErrorDetail(Wire):
    message: str
    type: str = Field(description="`invalid_request_error`, `rate_limit_error`, ….")
    param: str | None
    code: str | None


class OpenAIErrorBody(Wire):
    """Every ``/v1/videos`` error, as OpenAI sends it."""

    error: OpenAIErrorDetail


class OpenAIImageURL(Wire):
    image_url: str = Field(pattern=IMAGE_URL, description="An image or `data:` URL.")


class OpenAIFileID(Wire):
    file_id: str = Field(pattern=FILE_ID, description="One of your files (`/api/v1/files`).")


class OpenAICreateVideo(Wire):
    """``POST /v1/videos`` as JSON."""

    prompt: str = Field(min_length=1, pattern=r"\S")
    model: str = Field(description="A catalog model id or alias, case-insensitive.")
    seconds: int | str = Field(description="Whole seconds, as a number or a string of digits.")
    size: str = Field(
        pattern=SIZE,
        description="`WIDTHxHEIGHT` in pixels: the model's nearest ratio and resolution are "
        "rendered, and the video object reports the size made.",
    )
    input_reference: (
        Annotated[str, Field(pattern=REFERENCE)]
        | OpenAIImageURL
        | OpenAIFileID
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description="The first frame: an image URL, a `data:` URL or a file id (or the same "
        'as `{"image_url"}` / `{"file_id"}`).',
    )


class OpenAICreateVideoForm(Wire):
    """``POST /v1/videos`` as ``multipart/form-data``, as the OpenAI SDKs send it."""

    prompt: str = Field(min_length=1, pattern=r"\S")
    model: str = Field(description="A catalog model id or alias, case-insensitive.")
    seconds: str = Field(pattern=r"^[0-9]+$", description="Whole seconds.")
    size: str = Field(pattern=SIZE, description="`WIDTHxHEIGHT` in pixels.")
    input_reference: bytes = Field(
        description="The first frame: an image file (JPEG, PNG or WEBP), or as text an image "
        "URL, a `data:` URL or a file id.",
        json_schema_extra={"format": "binary", "contentMediaType": "application/octet-stream"},
    )


class OpenAIVideoError(Wire):
    code: str = Field(description="`cancelled`, `expired`, or why the provider failed.")
    message: str


class OpenAIVideo(Wire):
    """A video: ``queued``, ``in_progress``, then ``completed`` or ``failed`` (a cancelled or
    expired task is ``failed`` with that ``error.code``)."""

    id: str = Field(pattern=r"^video_", description="`video_<id>`: any dialect's id works too.")
    object: Literal["video"]
    model: str = Field(description="The model as the create named it.")
    status: Literal["queued", "in_progress", "completed", "failed"]
    progress: int = Field(ge=0, le=100)
    created_at: int = Field(description="Unix seconds.")
    completed_at: int | None = Field(description="Unix seconds, once it ended.")
    expires_at: int | None = Field(
        description="Unix seconds: when retention deletes the video (null while unfinished "
        "or kept for ever)."
    )
    prompt: str
    seconds: str = Field(pattern=r"^[0-9]+$", description="The length made, in seconds.")
    size: str = Field(pattern=r"^[0-9]+x[0-9]+$", description="The size made, `WxH`.")
    remixed_from_video_id: None = Field(description="Always null: remixes are not offered.")
    error: OpenAIVideoError | None = Field(description="Why it failed; null otherwise.")


class OpenAIVideoList(Wire):
    """A page of the caller's videos."""

    object: Literal["list"]
    data: list[OpenAIVideo]
    first_id: str | None
    last_id: str | None = Field(description="Pass as `after` for the next page.")
    has_more: bool


class OpenAIVideoDeleted(Wire):
    id: str
    object: Literal["video.deleted"]
    deleted: Literal[True]


# Headers and media of the responses, for the route decorators.
POLL_HEADER = {
    POLL_AFTER: {
        "description": "Milliseconds to wait before asking again, while the video is queued "
        "or in progress (absent once it ended).",
        "schema": {"type": "integer", "minimum": 1000, "maximum": 10000},
    }
}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when an earlier create with this `Idempotency-Key` answered.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
SHOULD_RETRY = {
    "x-should-retry": {
        "description": "`false`: the OpenAI SDKs would retry this status otherwise.",
        "schema": {"type": "string", "enum": ["false"]},
    }
}
BINARY = {"schema": {"type": "string", "format": "binary"}}
ASSET_MEDIA = {"video/mp4": BINARY, "image/webp": BINARY, "image/jpeg": BINARY}
ASSET_HEADERS = {
    "Content-Disposition": {
        "description": '`inline; filename="video_<id>.mp4"` (`.webp`, `.jpg`).',
        "schema": {"type": "string"},
    },
    "Accept-Ranges": {"schema": {"type": "string", "enum": ["bytes"]}},
}
CONTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The MP4 (`variant=video`), a WEBP thumbnail (`thumbnail`) or a JPEG "
        "spritesheet (`spritesheet`).",
        "content": ASSET_MEDIA,
        "headers": ASSET_HEADERS,
    },
    206: {
        "description": "The part a `Range` header asked for.",
        "content": ASSET_MEDIA,
        "headers": {
            **ASSET_HEADERS,
            "Content-Range": {"schema": {"type": "string", "pattern": r"^bytes \d+-\d+/\d+$"}},
        },
    },
    307: {
        "description": "Where the object store serves it (`SEEDANCE_BLOB_DOWNLOADS=redirect`).",
        "headers": {"Location": {"schema": {"type": "string"}}},
    },
    416: {
        "description": "The `Range` starts past the end; no body.",
        "headers": {"Content-Range": {"schema": {"type": "string", "pattern": r"^bytes \*/\d+$"}}},
    },
}
RANGE = {
    "name": "range",
    "in": "header",
    "required": False,
    "description": "One byte range, `bytes=<start>-[<end>]` or `bytes=-<suffix>`.",
    "schema": {"type": "string"},
}
#: What a video object leads to (OpenAPI links: schemathesis's stateful phase follows them).
VIDEO_LINKS = {
    name: {
        "operationId": operation_id,
        "parameters": {"video_id": "$response.body#/id"},
        "description": description,
    }
    for name, operation_id, description in (
        ("RetrieveVideo", "retrieve_video", "The video, by its `id`."),
        ("DownloadContent", "download_content", "Its content, once completed."),
        ("DeleteVideo", "delete_video", "Deletes it (a queued one is cancelled first)."),
    )
}
CREATE_BODY, CREATE_FORM = OpenAICreateVideo.__name__, OpenAICreateVideoForm.__name__
#: The 409s the routes raise as ``OpenAIError``: operation -> (code, message), as examples.
CONFLICTS = {
    "delete_video": (
        "video_in_progress",
        "video video_<id> is in_progress; it can be deleted once it has completed or failed",
    ),
    "download_content": (
        "video_not_ready",
        "task task_<id> is running; its content is ready once it has succeeded",
    ),
}


def create_body() -> dict[str, Any]:
    """The create's request body, JSON or multipart (``refine`` fills in the models)."""
    components: dict[str, Any] = {}
    content: dict[str, Any] = {}
    for media, model in (
        ("application/json", OpenAICreateVideo),
        ("multipart/form-data", OpenAICreateVideoForm),
    ):
        schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode="validation")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        content[media] = {"schema": {"$ref": REF_TEMPLATE.format(model=model.__name__)}}
    return {"requestBody": {"required": True, "content": content}, COMPONENTS: components}


def refine_openai_videos(doc: dict[str, Any], catalog: Catalog) -> None:
    """The create body per catalog model (names, seconds, prompt length, sizes made), and the
    ``x-should-retry`` header and examples of the conflicts."""
    from seedance_gateway.dialects import openai_videos as dialect  # it imports this module

    defaults = {
        "model": dialect.DEFAULT_MODEL,
        "seconds": dialect.DEFAULT_SECONDS,
        "size": dialect.DEFAULT_SIZE,
    }
    schemas: dict[str, Any] = doc["components"]["schemas"]
    default = catalog.find(dialect.DEFAULT_MODEL)
    generic, variants = schemas[CREATE_BODY], []
    for spec in catalog.models:
        name = f"{CREATE_BODY}.{spec.id}"
        names = model_names(catalog, spec)
        schemas[name] = _variant(generic, spec, names, defaults, default=spec is default)
        variants.append({"$ref": REF_TEMPLATE.format(model=name)})
    schemas[CREATE_BODY] = {
        "title": CREATE_BODY,
        "description": f"A video: `model` (default `{dialect.DEFAULT_MODEL}`) decides the "
        "`seconds` and prompt length it takes.",
        "oneOf": variants,
    }
    _form(schemas[CREATE_FORM], catalog, defaults)
    for path in doc["paths"].values():
        for op in path.values():
            _finish_errors(op)


def _variant(
    generic: dict[str, Any],
    spec: ModelSpec,
    names: list[str],
    defaults: dict[str, str],
    *,
    default: bool,
) -> dict[str, Any]:
    """The create body with ``spec``; ``model`` may be left out for the ``default`` model."""
    low, high = spec.capabilities.duration.minimum, spec.capabilities.duration.maximum
    properties = dict(generic["properties"])
    properties["model"] = {"type": "string", "enum": names, "description": spec.name}
    properties["prompt"] = {**properties["prompt"], "maxLength": spec.prompt_max}
    properties["seconds"] = {
        "anyOf": [
            {"type": "integer", "minimum": low, "maximum": high},
            {"type": "string", "enum": [str(s) for s in range(low, high + 1)]},
        ],
        "description": f"Whole seconds from {low} to {high}.",
    }
    properties["size"] = {**properties["size"], "examples": _sizes(spec)}
    for key in ("seconds", "size"):
        properties[key] = {**properties[key], "default": defaults[key]}
    if default:
        properties["model"]["default"] = defaults["model"]
    required = ["prompt"] if default else ["prompt", "model"]
    if Mode.FIRST_FRAME not in spec.modes:
        del properties["input_reference"]
    elif Mode.T2V not in spec.modes:
        required.append("input_reference")
    title = f"{CREATE_BODY} with {spec.id}"
    return {**generic, "title": title, "properties": properties, "required": required}


def _sizes(spec: ModelSpec) -> list[str]:
    """Every size the model renders, exactly."""
    sizes = {
        "{}x{}".format(*spec.size(resolution, ratio))
        for resolution in spec.capabilities.resolutions
        for ratio in spec.capabilities.ratios
        if ratio != "adaptive"
    }
    return sorted(sizes, key=lambda s: tuple(int(n) for n in s.split("x")))


def _form(form: dict[str, Any], catalog: Catalog, defaults: dict[str, str]) -> None:
    """The multipart body: every model's names, seconds and prompt length in one object."""
    names = [n for spec in catalog.models for n in model_names(catalog, spec)]
    low = min(s.capabilities.duration.minimum for s in catalog.models)
    high = max(s.capabilities.duration.maximum for s in catalog.models)
    properties = form["properties"]
    properties["model"] = {**properties["model"], "enum": list(dict.fromkeys(names))}
    properties["seconds"] = {
        **properties["seconds"],
        "enum": [str(s) for s in range(low, high + 1)],
        "description": "Whole seconds, within the model's range (as in the JSON body).",
    }
    properties["prompt"]["maxLength"] = max(s.prompt_max for s in catalog.models)
    for key, value in defaults.items():
        properties[key] = {**properties[key], "default": value}
    for key, pattern in (("image_url", IMAGE_URL), ("file_id", FILE_ID)):
        properties[f"input_reference[{key}]"] = {
            "type": "string",
            "pattern": pattern,
            "description": f'`input_reference` as `{{"{key}": ...}}`, as the SDKs send it.',
        }
    form["required"] = ["prompt"]
    form["description"] = (
        f"{form['description']} At most one of {', '.join(f'`{f}`' for f in REFERENCE_FIELDS)}."
    )


def _finish_errors(op: dict[str, Any]) -> None:
    """``x-should-retry: false`` on every 409 and on a 429 for credits (``render_error``
    sends it there), and the conflicts' own codes as examples."""
    responses = op.get("responses", {})
    for status, response in responses.items():
        examples = response.get("content", {}).get("application/json", {}).get("examples", {})
        if status == "409" or (status == "429" and "InsufficientCredits" in examples):
            response.setdefault("headers", {}).update(SHOULD_RETRY)
    if op.get("operationId") in CONFLICTS and "409" in responses:
        code, message = CONFLICTS[op["operationId"]]
        error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
        media = responses["409"]["content"]["application/json"]
        media["examples"] = {code: {"value": {"error": error}}}
