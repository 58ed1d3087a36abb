"""The upstream's wire format (research/ark-official-api.md §2-§3), as pure functions.

``create_body`` turns a normalized request into the create body, sending only the fields the
model takes (the upstream refuses a field that does not apply, research §2.1 "strict field
policy"). ``parse_task`` reads a task object from get, list or a callback.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from seedance_gateway.catalog import ModelSpec
from seedance_gateway.domain import usage
from seedance_gateway.domain.requests import GenerationRequest
from seedance_gateway.domain.tasks import Status

#: Every status the upstream documents, mapped to ours (research §3).
STATUSES: dict[str, Status] = {
    "queued": Status.QUEUED,
    "running": Status.RUNNING,
    "succeeded": Status.SUCCEEDED,
    "failed": Status.FAILED,
    "cancelled": Status.CANCELLED,
    "expired": Status.EXPIRED,
}
#: ``execution_expires_after`` must lie in this range (research §2.1).
EXPIRY_RANGE = (3600, 259200)
CONTENT_KEYS = {"image": "image_url", "video": "video_url", "audio": "audio_url"}


@dataclass(frozen=True, kw_only=True)
class RemoteTask:
    """What the upstream says about one task."""

    id: str
    status: str  #: as sent; ``STATUSES`` maps the known ones
    created_at: int | None = None
    seed: int | None = None
    resolution: str | None = None
    ratio: str | None = None
    duration: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    video_url: str | None = None
    last_frame_url: str | None = None
    revised_prompt: str | None = None
    tool_usage: dict[str, int] | None = None  #: ``usage.tool_usage``: tool -> times used

    @property
    def mapped(self) -> Status | None:
        """Our status for the upstream's (None for one we do not know)."""
        return STATUSES.get(self.status)


def create_body(
    request: GenerationRequest,
    spec: ModelSpec,
    *,
    upstream_model: str,
    media_urls: Mapping[int, str],
    expires_after: int,
    callback_url: str | None,
    draft_upstream_id: str | None = None,
) -> dict[str, Any]:
    """The create body for ``request``; ``media_urls`` gives each reference's URL by index.

    A final (``draft_upstream_id``: its draft's id upstream) names the draft alone in
    ``content`` and leaves out what the upstream takes from the draft (ratio, length, seed,
    camera, audio).
    """
    body: dict[str, Any] = {
        "model": upstream_model,
        "resolution": request.resolution,
        "watermark": request.watermark,
        "execution_expires_after": min(max(expires_after, EXPIRY_RANGE[0]), EXPIRY_RANGE[1]),
    }
    if draft_upstream_id is not None:
        body["content"] = [{"type": "draft_task", "draft_task": {"id": draft_upstream_id}}]
    else:
        body["content"] = _content(request, media_urls)
        body.update(_scene(request, spec))
    optional: list[tuple[bool, str, Any]] = [
        (request.return_last_frame, "return_last_frame", True),
        (request.draft, "draft", True),
        (request.service_tier != "default", "service_tier", request.service_tier),
        (spec.capabilities.priority and request.priority > 0, "priority", request.priority),
        (request.safety_identifier is not None, "safety_identifier", request.safety_identifier),
        (request.web_search, "tools", [{"type": "web_search"}]),
        (callback_url is not None, "callback_url", callback_url),
    ]
    body.update({name: value for wanted, name, value in optional if wanted})
    return body


def _content(request: GenerationRequest, media_urls: Mapping[int, str]) -> list[dict[str, Any]]:
    """The prompt and the media, each reference with its role."""
    content: list[dict[str, Any]] = []
    if request.prompt:
        content.append({"type": "text", "text": request.prompt})
    for index, ref in enumerate(request.references):
        key = CONTENT_KEYS[ref.kind]
        content.append({"type": key, key: {"url": media_urls[index]}, "role": ref.role})
    return content


def _scene(request: GenerationRequest, spec: ModelSpec) -> dict[str, Any]:
    """The fields that shape the scene: the ones a final takes from its draft."""
    caps = spec.capabilities
    scene: dict[str, Any] = {"ratio": request.ratio}
    if usage.requested_by_frames(request):
        scene["frames"] = request.frames
    else:
        scene["duration"] = request.duration
    if caps.seed:
        scene["seed"] = request.seed
    if caps.camera_fixed and request.camera_fixed:
        scene["camera_fixed"] = True
    if caps.audio:
        scene["generate_audio"] = request.generate_audio
    return scene


def parse_task(obj: Any) -> RemoteTask | None:
    """A task object, or None when it is not one (no string ``id`` or ``status``)."""
    if not isinstance(obj, Mapping):
        return None
    task_id, status = obj.get("id"), obj.get("status")
    if not isinstance(task_id, str) or not task_id or not isinstance(status, str):
        return None
    error = _mapping(obj.get("error"))
    content = _mapping(obj.get("content"))
    return RemoteTask(
        id=task_id,
        status=status.strip().lower(),
        created_at=_int(obj.get("created_at")),
        seed=_int(obj.get("seed")),
        resolution=_str(obj.get("resolution")),
        ratio=_str(obj.get("ratio")),
        duration=_int(obj.get("duration")),
        error_code=_str(error.get("code")),
        error_message=_str(error.get("message")),
        video_url=_str(content.get("video_url")),
        last_frame_url=_str(content.get("last_frame_url")),
        revised_prompt=_str(obj.get("revised_prompt")),
        tool_usage=_counts(_mapping(obj.get("usage")).get("tool_usage")),
    )


def parse_items(body: Any) -> list[RemoteTask] | None:
    """The tasks of a list response ``{"total", "items"}`` (None when it is not one)."""
    items = body.get("items") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        return None
    parsed = [parse_task(item) for item in items]
    return [p for p in parsed if p is not None]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _counts(value: Any) -> dict[str, int] | None:
    """``{"web_search": 2}``: the whole-number entries of a mapping, or None."""
    counts = {str(k): n for k, v in _mapping(value).items() if (n := _int(v)) is not None}
    return counts or None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
