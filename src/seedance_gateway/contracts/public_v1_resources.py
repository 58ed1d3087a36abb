"""The Public API v1's other wire objects: files, the credit history, webhooks (endpoints,
deliveries, events and the events they POST), API keys and accounts.

Request bodies are what the routes parse (their checks beyond types live in the use cases, so
a body's schema states those limits without changing how it validates: ``WithJsonSchema``).
Responses are documentation only (``dialects/public_v1_*`` build dicts); ``extra="forbid"``
makes them exact.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from seedance_gateway import accounts, authentication
from seedance_gateway.contracts.operation import REF_TEMPLATE, json_body
from seedance_gateway.contracts.public_v1 import Generation, Timestamp, Wire
from seedance_gateway.domain import passwords, scopes
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.media.formats import FILE_TYPES
from seedance_gateway.webhooks.manage import MAX_GRACE_SECONDS


def _mime_types(*kinds: str) -> list[str]:
    return [t.mime_type for t in FILE_TYPES if t.kind in kinds]


def _number(low: int, high: int) -> WithJsonSchema:
    """An integer's schema: what the use case accepts (it checks the range itself)."""
    return WithJsonSchema({"type": "integer", "minimum": low, "maximum": high})


def _one_of(values: tuple[str, ...] | list[str]) -> WithJsonSchema:
    """A string's schema: one of ``values`` (the use case checks it, with its own message)."""
    return WithJsonSchema({"type": "string", "enum": list(values)})


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation ``operation_id`` (a route's name) whose ``parameters``
    are fields of this response's body."""
    return {
        "operationId": operation_id,
        "parameters": {name: f"$response.body#/{field}" for name, field in parameters.items()},
    }


Cursor = Field(description="Pass it as `after` for the next page; null on the last page.")
Scope = Annotated[str, _one_of(scopes.ALL)]
EventType = Literal[
    "generation.succeeded", "generation.failed", "generation.processing", "generation.cancelled"
]
#: An event of a per-request callback may also be ``generation.queued``.
AnyEventType = Literal[
    "generation.succeeded",
    "generation.failed",
    "generation.processing",
    "generation.cancelled",
    "generation.queued",
]
SubscribedType = Annotated[str, _one_of(wh.EVENT_TYPES)]
assert set(get_args(EventType)) == set(wh.EVENT_TYPES), "event types changed: document them"
assert set(get_args(AnyEventType)) == {*wh.EVENT_TYPES, wh.QUEUED}


class Body(BaseModel):
    """A request body: exactly these fields."""

    model_config = ConfigDict(extra="forbid")


# --- files ---------------------------------------------------------------------------------

FILE_KINDS = ("image", "video", "audio")
#: What ``GET /api/v1/files/{id}/content`` may answer: the type sniffed at upload.
FILE_MEDIA_TYPES = _mime_types(*FILE_KINDS)


class FileUpload(Body):
    """``POST /api/v1/files``: a ``multipart/form-data`` body."""

    file: bytes = Field(description="The file (a part with a filename). Its type is sniffed.")
    kind: Literal["image", "video", "audio"] = Field(description="Checked against the bytes.")
    model: str = Field(
        default="", description="A model id or alias: the file must suit its references."
    )
    client_request_id: str = Field(default="", max_length=128)


class UploadedFileBase(Wire):
    id: str
    object: Literal["file"]
    url: str = Field(
        description="Downloads the bytes (with the owner's key); use it as a reference `url`."
    )
    name: str
    size: int = Field(ge=0, description="Bytes.")
    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    created_at: str = Timestamp
    expires_at: str | None = Field(description="When it is deleted; null: when its owner does.")


class UploadedImage(UploadedFileBase):
    """An uploaded image."""

    kind: Literal["image"]
    mimeType: Annotated[str, _one_of(_mime_types("image"))]
    width: int = Field(ge=1)
    height: int = Field(ge=1)


class UploadedMedia(UploadedFileBase):
    """An uploaded video or audio file."""

    kind: Literal["video", "audio"]
    mimeType: Annotated[str, _one_of(_mime_types("video", "audio"))]
    duration: float = Field(ge=0, description="Seconds.")
    durationToken: str = Field(
        description="Send it with the file's `url` in `params.referenceMediaItems`."
    )


class UploadedFile(
    RootModel[Annotated[UploadedImage | UploadedMedia, Field(discriminator="kind")]]
):
    """An uploaded file: an image, or a video or audio file (by ``kind``)."""


class UploadedFileList(Wire):
    object: Literal["list"]
    data: list[UploadedFile]
    has_more: bool
    next_cursor: str | None = Cursor


class DeletedFile(Wire):
    id: str
    object: Literal["file"]
    deleted: Literal[True]


def upload_body() -> dict[str, Any]:
    """The upload's ``requestBody`` (``multipart/form-data``) and its schema, as
    ``operation``'s ``json_body`` gives a JSON one."""
    extra = json_body(FileUpload)
    content = extra["requestBody"]["content"]
    media = content.pop("application/json")
    media["encoding"] = {"file": {"contentType": ", ".join(FILE_MEDIA_TYPES)}}
    content["multipart/form-data"] = media
    return extra


# --- credits -------------------------------------------------------------------------------


class LedgerEntry(Wire):
    id: str = Field(
        pattern="^[0-9]+$",
        description="Entries are numbered in order; a page's last is its cursor.",
    )
    kind: Literal["grant", "hold", "capture", "release"] = Field(
        description="`grant`: credits added; `hold`: reserved for a task; `capture`: the hold "
        "became the charge (the balance does not change); `release`: the hold given back."
    )
    amount: int = Field(ge=0, description="The credits it concerns.")
    delta: int = Field(description="The signed change to the balance.")
    balance_after: int = Field(ge=0)
    task_id: str | None
    note: str | None
    created_at: str = Timestamp


class LedgerPage(Wire):
    object: Literal["list"]
    data: list[LedgerEntry]
    has_more: bool
    next_cursor: str | None = Cursor


class UsageRow(Wire):
    day: str = Field(description="The UTC day, `YYYY-MM-DD`.", pattern=r"^\d{4}-\d{2}-\d{2}$")
    model: str
    tasks: int = Field(ge=1)
    credits: int = Field(ge=0)


class Usage(Wire):
    """Credits charged per model and UTC day."""

    object: Literal["list"]
    days: int = Field(ge=1)
    total_credits: int = Field(ge=0)
    data: list[UsageRow]


# --- webhooks ------------------------------------------------------------------------------

#: A webhook URL as the document states it (``webhooks.manage`` checks it when it arrives).
WebhookURL = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "format": "uri",
            "pattern": "^https?://",
            "maxLength": 2048,
            "description": "https (http only where the operator allows it); no credentials, "
            "no private address.",
        }
    ),
]
Email = Annotated[
    str, WithJsonSchema({"type": "string", "format": "email", "maxLength": accounts.MAX_EMAIL})
]


class CreateWebhookEndpoint(Body):
    """``POST /api/v1/webhooks``."""

    url: WebhookURL = Field(max_length=2048)
    event_types: list[SubscribedType] | None = Field(
        default=None,
        description="At least one; default `generation.succeeded` and `generation.failed`.",
    )
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(default=None, description="Default true.")


class UpdateWebhookEndpoint(Body):
    """``PATCH /api/v1/webhooks/{id}``: only the fields sent change (null counts as absent)."""

    url: WebhookURL | None = Field(default=None, max_length=2048)
    event_types: list[SubscribedType] | None = None
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(default=None, description="true also clears `disabled_reason`.")


class RotateWebhookSecret(Body):
    """``POST /api/v1/webhooks/{id}/rotate-secret`` (the body is optional)."""

    grace_period_seconds: Annotated[int, _number(0, MAX_GRACE_SECONDS)] | None = Field(
        default=None,
        description="How long the old secret keeps signing too; default 86400 (a day).",
    )


class SendWebhookTest(Body):
    """``POST /api/v1/webhooks/{id}/test`` (the body is optional)."""

    event_type: SubscribedType | None = Field(
        default=None, description="Default `generation.succeeded`."
    )


class WebhookEndpoint(Wire):
    """A webhook endpoint (its secret is shown only by create and rotate-secret)."""

    id: str
    object: Literal["webhook_endpoint"]
    url: str
    description: str
    event_types: list[EventType]
    enabled: bool
    disabled_reason: str | None = Field(description="Why it was turned off (a 410 Gone).")
    created_at: str = Timestamp
    updated_at: str = Timestamp


class WebhookEndpointWithSecret(WebhookEndpoint):
    """A new endpoint with its signing secret, shown this once."""

    secret: str = Field(pattern="^whsec_", description="`whsec_` and base64 of 32 bytes.")


class RotatedWebhookEndpoint(WebhookEndpointWithSecret):
    """The endpoint with its new secret, shown this once."""

    previous_secret_expires_at: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Until then the old secret signs too; absent for a grace period of 0.",
    )


class WebhookEndpointList(Wire):
    object: Literal["list"]
    data: list[WebhookEndpoint]


class DeletedWebhookEndpoint(Wire):
    id: str
    object: Literal["webhook_endpoint"]
    deleted: Literal[True]


class CallbackSecret(Wire):
    """Signs this account's per-request callbacks (`callback_url`)."""

    object: Literal["callback_secret"]
    secret: str = Field(pattern="^whsec_")


class WebhookAttempt(Wire):
    attempt: int = Field(ge=1)
    started_at: str = Timestamp
    status_code: int | None = Field(description="What the receiver answered; null: no answer.")
    latency_ms: int = Field(ge=0)
    error: str | None
    response_excerpt: str | None = Field(description="The start of the receiver's answer.")


class WebhookDelivery(Wire):
    """One event on its way to one URL, with its attempts."""

    id: str
    object: Literal["webhook_delivery"]
    endpoint_id: str | None = Field(description="Null for a per-request callback.")
    event_id: str = Field(description="The `webhook-id` header: the same on retries and replays.")
    event_type: AnyEventType
    task_id: str | None = Field(description="Null for a test event.")
    url: str
    status: Literal["pending", "succeeded", "failed", "cancelled"]
    attempt_count: int = Field(ge=0)
    next_attempt_at: str | None
    created_at: str = Timestamp
    updated_at: str = Timestamp
    attempts: list[WebhookAttempt]


class WebhookDeliveryList(Wire):
    object: Literal["list"]
    data: list[WebhookDelivery]
    has_more: bool
    next_cursor: str | None = Cursor


class WebhookEventObject(Wire):
    """An event, with the generation as it was then."""

    id: str
    object: Literal["event"]
    type: AnyEventType
    created_at: str = Timestamp
    task_id: str | None = Field(description="Null for a test event.")
    test: bool
    data: Generation


class WebhookEventList(Wire):
    object: Literal["list"]
    data: list[WebhookEventObject]
    has_more: bool
    next_cursor: str | None = Cursor


class GenerationEvent(Wire):
    """What a webhook endpoint (and a Public API v1 `callback_url`) receives: a Standard
    Webhooks envelope around the generation, as `GET /api/v1/generations/{id}` shows it."""

    id: str = Field(description="The event id, also the `webhook-id` header.")
    type: EventType
    timestamp: str = Timestamp
    data: Generation
    test: Literal[True] | SkipJsonSchema[None] = Field(
        default=None, description="Present (true) only on test events; their URLs do not resolve."
    )


#: The headers every delivery carries (Standard Webhooks).
DELIVERY_HEADERS: list[dict[str, Any]] = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event id: the same on every retry and replay; dedupe on it.",
        "schema": {"type": "string"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds of this attempt.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": 'Space-separated `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, '
        "one per active secret (two during a rotation's grace period).",
        "schema": {"type": "string", "pattern": "^v1,[A-Za-z0-9+/=]+( v1,[A-Za-z0-9+/=]+)*$"},
    },
]


#: What the receiver answers, and what the sender then does.
RECEIVER: dict[int | str, dict[str, Any]] = {
    200: {"description": "Received: any 2xx within the timeout (15 s by default)."},
    410: {"description": "Gone: turns the endpoint off (`enabled: false`); nothing is retried."},
    "default": {
        "description": "Anything else (or no answer) is retried: 5 s, 5 min, 30 min, 2 h, 5 h, "
        "10 h, 14 h, 20 h and 24 h later, or after the `Retry-After` it sends."
    },
}
EVENTS = {
    wh.SUCCEEDED: "The video is stored and the credits captured.",
    wh.FAILED: "The generation failed or expired (`data.status` says which); its credits "
    "were released.",
    wh.PROCESSING: "A worker started the generation (subscribe to it explicitly).",
    wh.CANCELLED: "The generation was cancelled (while queued, or running on an open-weight "
    "model); its credits were released (subscribe to it explicitly).",
}


def webhook_operations() -> APIRouter:
    """What a webhook endpoint receives: one operation per event type (OpenAPI ``webhooks``)."""
    operations = APIRouter()
    for kind, description in EVENTS.items():
        operations.add_api_route(
            kind,
            _received,
            methods=["POST"],
            operation_id=kind.replace(".", "_"),
            summary=f"{kind} (to your endpoint)",
            description=f"{description} Signed with the endpoint's secret (Standard Webhooks).",
            response_class=Response,
            responses=RECEIVER,
            openapi_extra=event_body(kind),
        )
    return operations


async def _received() -> Response:
    """Never served: documents what a subscriber receives."""
    return Response(status_code=204)


def event_body(event_type: str) -> dict[str, Any]:
    """A webhook operation's ``openapi_extra``: the envelope, its type fixed, and the headers."""
    extra = json_body(GenerationEvent)
    schema = {
        "allOf": [{"$ref": REF_TEMPLATE.format(model=GenerationEvent.__name__)}],
        "properties": {"type": {"const": event_type}},
    }
    extra["requestBody"]["content"]["application/json"]["schema"] = schema
    return {**extra, "parameters": DELIVERY_HEADERS}


def callback_operations() -> APIRouter:
    """What a generation's ``callback_url`` (our extension) receives once the generation ends:
    the same envelope, signed with the account's callback secret (OpenAPI ``callbacks``)."""
    operations = APIRouter()
    operations.add_api_route(
        "{$request.body#/callback_url}",
        _received,
        methods=["POST"],
        name="generation_ended",
        operation_id="generation_callback",
        summary="The generation ended (to your callback_url)",
        description="One POST when the generation succeeds, fails, expires or is cancelled "
        "(`type` and `data.status` say which), signed with the account's callback secret "
        "(`GET /api/v1/webhooks/callback-secret`, Standard Webhooks).",
        response_class=Response,
        responses={**RECEIVER, 410: {"description": "Gone: the callback is not retried."}},
        openapi_extra={**_event_envelope(), "parameters": DELIVERY_HEADERS},
    )
    return operations


def _event_envelope() -> dict[str, Any]:
    """A request body of the event envelope, by reference (``webhooks`` defines it)."""
    ref = {"$ref": REF_TEMPLATE.format(model=GenerationEvent.__name__)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


WEBHOOKS = webhook_operations()
CALLBACKS = callback_operations()

# --- keys ----------------------------------------------------------------------------------


KEY_NAME = {"type": "string", "minLength": 1, "maxLength": authentication.MAX_KEY_NAME}


class CreateApiKey(Body):
    """``POST /api/v1/keys``."""

    name: Annotated[str, WithJsonSchema(KEY_NAME)]
    scopes: list[Scope] | None = Field(
        default=None, description="Default: the calling key's; never more than it holds."
    )
    expires_in_days: Annotated[int, _number(1, authentication.MAX_KEY_DAYS)] | None = None


class ApiKeyObject(Wire):
    """An API key (never its hash; its plaintext only when created)."""

    id: str
    object: Literal["api_key"]
    name: str
    prefix: str = Field(description="The key's first characters, to recognize it.")
    scopes: list[Literal["generate", "read", "files", "webhooks", "keys"]]
    created_at: str = Timestamp
    last_used_at: str | None
    revoked_at: str | None
    expires_at: str | None
    current: bool = Field(description="This is the key that made the request.")


class NewApiKey(ApiKeyObject):
    key: str = Field(description="The key itself, shown this once: `sdg_...`.")


class ApiKeyList(Wire):
    object: Literal["list"]
    data: list[ApiKeyObject]


# --- accounts ------------------------------------------------------------------------------


class SignIn(Body):
    """``POST /api/v1/sessions``."""

    email: Email = Field(max_length=accounts.MAX_EMAIL)
    password: str = Field(max_length=passwords.MAX_LENGTH)


Password = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "minLength": passwords.MIN_LENGTH, "maxLength": passwords.MAX_LENGTH}
    ),
]


class CreateAccount(Body):
    """``POST /api/v1/admin/accounts``."""

    name: str = Field(max_length=accounts.MAX_NAME, json_schema_extra={"minLength": 1})
    email: Email | None = Field(
        default=None, max_length=accounts.MAX_EMAIL, description="Needed to sign in."
    )
    password: Password | None = Field(
        default=None, max_length=passwords.MAX_LENGTH, description="Needs an email."
    )
    role: Annotated[str, _one_of(accounts.ROLES)] = "user"
    credits: Annotated[int, _number(0, accounts.MAX_GRANT)] = 0


class GrantCredits(Body):
    """``POST /api/v1/admin/accounts/{id}/grants``."""

    credits: Annotated[int, _number(1, accounts.MAX_GRANT)]
    note: str | None = Field(default=None, max_length=200)


class AccountObject(Wire):
    """An account (never its password)."""

    id: str
    object: Literal["account"]
    name: str
    email: str | None
    role: Literal["user", "admin"]
    current_credits: int = Field(ge=0)
    created_at: str = Timestamp


class AccountList(Wire):
    object: Literal["list"]
    data: list[AccountObject]
    has_more: bool
    next_cursor: str | None = Cursor


class Session(Wire):
    """A sign-in: a new API key with every scope (sign out by revoking it)."""

    object: Literal["session"]
    key: str = Field(description="The key itself, shown this once.")
    key_id: str
    account: AccountObject
