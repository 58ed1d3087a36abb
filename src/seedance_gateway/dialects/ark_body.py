"""The upstream's create body (``model``, ``content[]``, top-level fields), shared by the
``/api/v3`` and ``/seedance/videos`` dialects.

Facts: research/ark-official-api.md §2. Body fields are strongly validated: a wrong type, a value
out of range or a field the model does not take is a ``ValidationFailed`` naming the field
(``reason`` ``missing``, ``invalid`` or ``unsupported``; each dialect renders it in its own
envelope). Legacy commands in the prompt text (``--rs 720p --dur 5``...) are weakly validated: a
value the model cannot take is ignored, and a body field wins over a text command.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seedance_gateway.catalog.model import Mode, ModelSpec
from seedance_gateway.domain.requests import FRAME_MODES, MAX_SEED, Reference, mode_of
from seedance_gateway.errors import ValidationFailed
from seedance_gateway.references import IncomingReference, assign_roles

MIN_EXPIRES_AFTER = 3600
MAX_EXPIRES_AFTER = 259200
MAX_SAFETY_IDENTIFIER = 64

#: Top-level fields and the JSON type each takes.
FIELD_TYPES: Mapping[str, type] = {
    "resolution": str,
    "ratio": str,
    "duration": int,
    "frames": int,
    "seed": int,
    "camera_fixed": bool,
    "watermark": bool,
    "generate_audio": bool,
    "return_last_frame": bool,
    "service_tier": str,
    "execution_expires_after": int,
    "callback_url": str,
    "draft": bool,
    "priority": int,
    "safety_identifier": str,
    "tools": list,
    "output_format": str,
    "omni_reference_task_type": str,
}
#: Spellings some clients send for a field (seed 004 writes ``camerafixed``).
FIELD_ALIASES = {"camerafixed": "camera_fixed"}
#: Fields no model in our catalog takes (Seedance 2.5 only upstream).
UNSUPPORTED_EVERYWHERE = ("output_format", "omni_reference_task_type")

CONTENT_TYPES = ("text", "image_url", "video_url", "audio_url", "draft_task")
ROLES_BY_TYPE = {
    "image_url": ("first_frame", "last_frame", "reference_image"),
    "video_url": ("reference_video",),
    "audio_url": ("reference_audio",),
}
KIND_BY_TYPE = {"image_url": "image", "video_url": "video", "audio_url": "audio"}
#: The keys each content item type takes; any other is ``InvalidParameter`` naming it.
ITEM_KEYS = {
    "text": ("type", "text"),
    "image_url": ("type", "image_url", "role"),
    "video_url": ("type", "video_url", "role"),
    "audio_url": ("type", "audio_url", "role"),
    "draft_task": ("type", "draft_task"),
}
#: The keys of the object inside a media item (``image_url``...) and of ``draft_task``.
INNER_KEYS = {**dict.fromkeys(KIND_BY_TYPE, ("url",)), "draft_task": ("id",)}

#: Legacy text commands: each long and short spelling -> the field it sets.
COMMANDS = {
    "rs": "resolution",
    "resolution": "resolution",
    "rt": "ratio",
    "ratio": "ratio",
    "dur": "duration",
    "duration": "duration",
    "frames": "frames",
    "fps": "fps",
    "framespersecond": "fps",
    "seed": "seed",
    "cf": "camera_fixed",
    "camerafixed": "camera_fixed",
    "wm": "watermark",
    "watermark": "watermark",
}
_COMMAND = re.compile(
    r"(?:^|\s)--(" + "|".join(sorted(COMMANDS, key=len, reverse=True)) + r")"
    r"(?:\s+|=)(\S+)",
    re.IGNORECASE,
)


_INTEGER = re.compile(r"-?[0-9]{1,12}")


@dataclass(frozen=True, kw_only=True)
class ArkCreate:
    """A parsed create body, ready for ``SubmitCommand``."""

    model: str
    prompt: str
    fields: dict[str, Any]  #: canonical fields (body fields over text commands)
    references: tuple[IncomingReference, ...]
    callback_url: str | None = None
    expires_after: int | None = None
    draft_task_id: str | None = None
    commands: dict[str, Any] = field(default_factory=dict)  #: the text commands that applied


def names() -> dict[str, str]:
    """Canonical field -> wire name, for error messages."""
    return {
        "prompt": "content",
        "references": "content",
        "camera_fixed": "camera_fixed",
        "draft_task_id": "content",
    }


def parse_shape(raw: Any) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """``(model, content items, top-level fields)`` with types checked; no model rules yet."""
    if not isinstance(raw, dict):
        raise ValidationFailed("the request body must be a JSON object", field="body")
    model = raw.get("model")
    if model is None or model == "":
        raise ValidationFailed("the parameter `model` is required", field="model", reason="missing")
    if not isinstance(model, str):
        raise ValidationFailed("the parameter `model` must be a string", field="model")
    content = raw.get("content")
    if content is None or content == []:
        raise ValidationFailed(
            "the parameter `content` is required: a non-empty array of content items",
            field="content",
            reason="missing",
        )
    if not isinstance(content, list):
        raise ValidationFailed("the parameter `content` must be an array", field="content")
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("model", "content") or value is None:
            continue
        name: str = FIELD_ALIASES.get(str(key), str(key))
        expected = FIELD_TYPES.get(name)
        if expected is None:
            allowed = ", ".join(["model", "content", *FIELD_TYPES])
            raise ValidationFailed(
                f"the parameter `{key}` is not recognized; allowed: {allowed}", field=key
            )
        fields[name] = _typed(key, value, expected)
    return model, [_item(i, entry) for i, entry in enumerate(content)], fields


def build(
    spec: ModelSpec, items: list[dict[str, Any]], body: Mapping[str, Any], model: str
) -> ArkCreate:
    """Applies the model's rules to a parsed body: supported fields, text commands, media."""
    texts = [str(i["text"]) for i in items if i["type"] == "text"]
    prompt, commands = split_commands(" ".join(texts))
    references = references_of(items)
    draft_task = _draft_task(items)
    mode = _mode(references)
    _check_supported(spec, body, mode)
    fields = {k: v for k, v in body.items() if k in _CANONICAL}
    if "generate_audio" in fields and not spec.capabilities.audio:
        del fields["generate_audio"]  # the upstream accepts it and makes a silent video
    if "tools" in body:
        fields["web_search"] = any(t.get("type") == "web_search" for t in body["tools"])
    applied = _yielding_to_body(weak_fields(spec, commands, mode), fields)
    return ArkCreate(
        model=model,
        prompt=prompt,
        fields={**applied, **fields},
        references=references,
        callback_url=body.get("callback_url"),
        expires_after=_expires_after(body.get("execution_expires_after")),
        draft_task_id=draft_task,
        commands=applied,
    )


def _draft_task(items: list[dict[str, Any]]) -> str | None:
    """The draft a final names: one ``draft_task`` item, alone (the final takes the draft's
    prompt and media)."""
    named = [i["draft_task"]["id"] for i in items if i["type"] == "draft_task"]
    if not named:
        return None
    if len(named) > 1 or len(items) > 1:
        raise ValidationFailed(
            "content: a final takes its prompt and media from its draft; send one "
            '{"type": "draft_task", "draft_task": {"id": ...}} item and nothing else',
            field="content",
        )
    return str(named[0])


_CANONICAL = (
    "resolution",
    "ratio",
    "duration",
    "frames",
    "seed",
    "camera_fixed",
    "watermark",
    "generate_audio",
    "return_last_frame",
    "service_tier",
    "draft",
    "priority",
    "safety_identifier",
)


def _yielding_to_body(commands: dict[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """The commands the body leaves open: the length (duration or frames) is one choice, and a
    draft's resolution is 480p whatever the text says."""
    if "duration" in body or "frames" in body:
        commands = {k: v for k, v in commands.items() if k not in ("duration", "frames")}
    if body.get("draft") and commands.get("resolution") != "480p":
        commands.pop("resolution", None)
    return commands


def split_commands(text: str) -> tuple[str, dict[str, str]]:
    """The prompt without its ``--command value`` pairs, and those pairs (last one wins)."""
    commands: dict[str, str] = {}
    for match in _COMMAND.finditer(text):
        commands[COMMANDS[match.group(1).lower()]] = match.group(2)
    prompt = _COMMAND.sub(" ", text)
    return " ".join(prompt.split()), commands


def weak_fields(spec: ModelSpec, commands: Mapping[str, str], mode: Mode) -> dict[str, Any]:
    """The text commands the model can take, typed; any other value is ignored (weak rules)."""
    caps = spec.capabilities
    fields: dict[str, Any] = {}
    resolution = commands.get("resolution", "").lower()
    allowed = caps.reference_resolutions if mode is Mode.REFERENCE else caps.resolutions
    if resolution in allowed:
        fields["resolution"] = resolution
    ratio = commands.get("ratio", "").lower()
    adaptive_ok = not (spec.family == "1.0" and mode in (Mode.T2V, Mode.REFERENCE))
    concrete_ok = not (caps.adaptive_frames and mode in FRAME_MODES)
    if ratio in caps.ratios and (adaptive_ok if ratio == "adaptive" else concrete_ok):
        fields["ratio"] = ratio
    duration = _int(commands.get("duration"))
    rng = caps.duration
    if duration is not None and (
        rng.minimum <= duration <= rng.maximum or (duration == -1 and rng.auto)
    ):
        fields["duration"] = duration
    frames = _int(commands.get("frames"))
    if caps.frames and frames is not None and 29 <= frames <= 289 and (frames - 25) % 4 == 0:
        fields["frames"] = frames
    seed = _int(commands.get("seed"))
    if caps.seed and seed is not None and -1 <= seed <= MAX_SEED:
        fields["seed"] = seed
    camera_fixed = _bool(commands.get("camera_fixed"))
    if camera_fixed is not None and caps.camera_fixed and mode is not Mode.REFERENCE:
        fields["camera_fixed"] = camera_fixed
    watermark = _bool(commands.get("watermark"))
    if watermark is not None:
        fields["watermark"] = watermark
    return fields


def unsupported(name: str, spec: ModelSpec, mode: Mode, hint: str = "") -> ValidationFailed:
    """The upstream's wording for a field the model does not take."""
    return ValidationFailed(
        f"the specified parameter `{name}` is not supported for model {spec.id} in {mode}, "
        f"must be empty{hint}",
        field=name,
        reason="unsupported",
    )


def _check_supported(spec: ModelSpec, body: Mapping[str, Any], mode: Mode) -> None:
    caps = spec.capabilities
    rules: dict[str, tuple[bool, str]] = {
        "frames": (caps.frames, "; use duration"),
        "camera_fixed": (caps.camera_fixed and mode is not Mode.REFERENCE, ""),
        "seed": (caps.seed, ""),
        "draft": (caps.draft, ""),
        "priority": (caps.priority, ""),
        "service_tier": (len(caps.service_tiers) > 1, ""),
        "tools": (any(p.maps_to == "web_search" for p in spec.params), ""),
        **{name: (False, "") for name in UNSUPPORTED_EVERYWHERE},
    }
    for name, (allowed, hint) in rules.items():
        if name in body and not allowed:
            raise unsupported(name, spec, mode, hint)


def _typed(key: str, raw: Any, expected: type) -> Any:
    integral = isinstance(raw, float) and raw.is_integer()
    value: Any = int(raw) if expected is int and integral else raw
    wrong = isinstance(value, bool) and expected is not bool
    if wrong or not isinstance(value, expected):
        kind = {str: "a string", int: "an integer", bool: "a boolean", list: "an array"}
        wanted = kind.get(expected, "valid")
        raise ValidationFailed(f"the parameter `{key}` must be {wanted} (got {value!r})", field=key)
    return _checked(key, value)


def _checked(key: str, value: Any) -> Any:
    if key == "safety_identifier" and len(value) > MAX_SAFETY_IDENTIFIER:
        raise ValidationFailed(
            f"the parameter `safety_identifier` is {len(value)} characters; at most "
            f"{MAX_SAFETY_IDENTIFIER}",
            field=key,
        )
    if key == "tools":
        for index, tool in enumerate(value):
            if not isinstance(tool, dict) or tool.get("type") != "web_search":
                raise ValidationFailed(
                    f'tools[{index}] must be {{"type": "web_search"}}', field=f"tools[{index}]"
                )
    return value


def _item(index: int, entry: Any) -> dict[str, Any]:
    where = f"content[{index}]"
    if not isinstance(entry, dict):
        raise ValidationFailed(f"{where} must be an object with a `type`", field=where)
    kind = entry.get("type")
    if kind not in CONTENT_TYPES:
        raise ValidationFailed(
            f"{where}.type must be one of {', '.join(CONTENT_TYPES)} (got {kind!r})",
            field=f"{where}.type",
        )
    _only_known_keys(where, entry, ITEM_KEYS[kind])
    inner = entry.get(kind)
    if kind in INNER_KEYS and isinstance(inner, dict):
        _only_known_keys(f"{where}.{kind}", inner, INNER_KEYS[kind])
    if kind == "text":
        if not isinstance(entry.get("text"), str):
            raise ValidationFailed(
                f"{where}.text is required and must be a string", field=f"{where}.text"
            )
        return entry
    if kind == "draft_task":
        draft = entry.get("draft_task")
        if not isinstance(draft, dict) or not isinstance(draft.get("id"), str):
            raise ValidationFailed(
                f'{where}.draft_task must be an object {{"id": "<draft task id>"}}',
                field=f"{where}.draft_task",
            )
        return entry
    return _media_item(where, kind, entry)


def _only_known_keys(where: str, entry: dict[str, Any], known: tuple[str, ...]) -> None:
    for key in entry:
        if key not in known:
            raise ValidationFailed(
                f"{where}.{key} is not recognized; allowed: {', '.join(known)}",
                field=f"{where}.{key}",
            )


def _media_item(where: str, kind: str, entry: dict[str, Any]) -> dict[str, Any]:
    media = entry.get(kind)
    if isinstance(media, str):
        raise ValidationFailed(
            f'{where}.{kind} must be an object {{"url": "..."}}, not a string',
            field=f"{where}.{kind}",
        )
    if not isinstance(media, dict) or not isinstance(media.get("url"), str):
        raise ValidationFailed(
            f'{where}.{kind} is required: an object {{"url": "https://... or data:..."}}',
            field=f"{where}.{kind}",
            reason="missing",
        )
    if not media["url"].strip():
        raise ValidationFailed(
            f"{where}.{kind}.url is empty", field=f"{where}.{kind}.url", reason="empty_url"
        )
    role = entry.get("role")
    if role is not None and role not in ROLES_BY_TYPE[kind]:
        raise ValidationFailed(
            f"invalid role specified for {KIND_BY_TYPE[kind]} content: {where}.role must be one "
            f"of {', '.join(ROLES_BY_TYPE[kind])} (got {role!r})",
            field=f"{where}.role",
        )
    return entry


def references_of(items: list[dict[str, Any]]) -> tuple[IncomingReference, ...]:
    """The media items of ``content``, as references (roles as sent)."""
    found = []
    for index, item in enumerate(items):
        kind = item["type"]
        if kind not in KIND_BY_TYPE:
            continue
        found.append(
            IncomingReference(
                url=item[kind]["url"].strip(),
                kind=KIND_BY_TYPE[kind],
                role=item.get("role"),
                field=f"content[{index}].{kind}",
            )
        )
    return tuple(found)


def _mode(references: tuple[IncomingReference, ...]) -> Mode:
    assigned = assign_roles(list(references))
    roles = tuple(Reference(role=i.role or "", kind=i.kind, url="") for i in assigned)
    return mode_of(roles, field="content")


def _expires_after(value: int | None) -> int | None:
    if value is None:
        return None
    if not MIN_EXPIRES_AFTER <= value <= MAX_EXPIRES_AFTER:
        raise ValidationFailed(
            f"the parameter `execution_expires_after` must be between {MIN_EXPIRES_AFTER} and "
            f"{MAX_EXPIRES_AFTER} seconds (got {value})",
            field="execution_expires_after",
        )
    return value


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    stripped = text.strip()
    return int(stripped) if _INTEGER.fullmatch(stripped) else None


def _bool(text: str | None) -> bool | None:
    if text is None:
        return None
    return {"true": True, "false": False}.get(text.strip().lower())
