"""The normalized generation request, and the per-model rules every dialect's request must meet.

Dialects parse their wire format into canonical fields (``resolution``, ``ratio``, ``duration``...)
and call ``normalize``; it fills the model's defaults, checks the model's capabilities and resolves
the output size. Error messages use the dialect's own field names (``names``).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seedance_gateway.catalog.model import Mode, ModelSpec
from seedance_gateway.errors import ValidationFailed

MAX_SEED = 2**32 - 1
CONCRETE_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
#: The modes an image starts (and may end) the video in.
FRAME_MODES = (Mode.FIRST_FRAME, Mode.FIRST_LAST_FRAME)


@dataclass(frozen=True, kw_only=True)
class Reference:
    """One piece of reference media: where it is and what it is for."""

    role: str  #: first_frame | last_frame | reference_image | reference_video | reference_audio
    kind: str  #: image | video | audio
    url: str  #: as the client sent it (https, data: or one of our file URLs)
    blob_key: str | None = None  #: where we keep the bytes, once resolved
    mime_type: str | None = None
    name: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None  #: seconds, for video and audio


@dataclass(frozen=True, kw_only=True)
class GenerationRequest:
    """One generation, normalized: every field concrete, every rule checked."""

    model: str
    prompt: str
    mode: Mode
    resolution: str
    ratio: str  #: as requested (may be ``adaptive``)
    width: int
    height: int
    duration: int  #: seconds as requested (``-1`` lets the model decide)
    frames: int  #: frames to produce
    fps: int
    seed: int  #: concrete (a requested -1 is replaced by a random seed at submit)
    camera_fixed: bool = False
    watermark: bool = False
    generate_audio: bool = False
    return_last_frame: bool = False
    safety_checker: bool = True
    service_tier: str = "default"
    web_search: bool = False
    draft: bool = False  #: a cheap 480p draft (1.5 Pro); a later ``draft_task_id`` finishes it
    draft_task_id: str | None = None  #: the draft this task turns into the final video
    priority: int = 0  #: 0-9, where the model takes one
    steps: int | None = None  #: denoising steps, on models that take them (open weights)
    guidance: float | None = None  #: classifier-free guidance scale (open weights)
    negative_prompt: str | None = None  #: what the video should avoid (open weights)
    safety_identifier: str | None = None  #: the client's end-user id hash, echoed back
    references: tuple[Reference, ...] = ()
    callback_url: str | None = None
    callback_statuses: tuple[str, ...] = ()  #: the task statuses the callback is told about
    expires_after: int = 172800

    @property
    def seconds(self) -> float:
        """Length of the output video."""
        return self.frames / self.fps

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stored with the task): what ``dataclasses.asdict`` returns, built
        field by field (``asdict`` deep-copies every value, which cost a create 30 µs)."""
        data = {name: getattr(self, name) for name in _REQUEST_FIELDS}
        data["mode"] = str(self.mode)
        data["references"] = tuple(
            {name: getattr(r, name) for name in _REFERENCE_FIELDS} for r in self.references
        )
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GenerationRequest:
        """The inverse of ``to_json``."""
        values = dict(data)
        values["mode"] = Mode(values["mode"])
        values["references"] = tuple(Reference(**r) for r in values.get("references", ()))
        values["callback_statuses"] = tuple(values.get("callback_statuses", ()))
        return cls(**values)


_REQUEST_FIELDS = tuple(f.name for f in dataclasses.fields(GenerationRequest))
_REFERENCE_FIELDS = tuple(f.name for f in dataclasses.fields(Reference))


def mode_of(references: tuple[Reference, ...], *, field: str = "references") -> Mode:
    """The mode the references imply; mixing frames with reference media is refused.

    ``field`` is the dialect's name for the references, for error messages.
    """
    roles = [r.role for r in references]
    frames = [r for r in roles if r in ("first_frame", "last_frame")]
    if frames and len(frames) != len(roles):
        raise ValidationFailed(
            f"{field}: first/last frame images cannot be mixed with reference media; send "
            "either frames (first_frame, optional last_frame) or reference items",
            field=field,
        )
    if not roles:
        return Mode.T2V
    if not frames:
        return Mode.REFERENCE
    if roles.count("first_frame") != 1 or roles.count("last_frame") > 1:
        raise ValidationFailed(
            f"{field}: frames mode takes exactly one first_frame and at most one last_frame image",
            field=field,
        )
    return Mode.FIRST_LAST_FRAME if "last_frame" in roles else Mode.FIRST_FRAME


def normalize(
    spec: ModelSpec,
    *,
    prompt: str,
    fields: Mapping[str, Any],
    references: tuple[Reference, ...] = (),
    names: Mapping[str, str] | None = None,
    callback_url: str | None = None,
    callback_statuses: tuple[str, ...] = (),
    expires_after: int = 172800,
) -> GenerationRequest:
    """Checks ``fields`` (canonical names, already typed) against ``spec`` and fills defaults."""
    check = _Checker(spec, names or {})
    check.prompt(prompt)
    mode = mode_of(references, field=check.name("references"))
    check.mode(mode)
    check.references(mode, references)
    merged = {**spec.capabilities.defaults, **{k: v for k, v in fields.items() if v is not None}}
    if fields.get("draft") and fields.get("resolution") is None:
        merged["resolution"] = "480p"  # a draft is always 480p
    resolution = check.resolution(str(merged["resolution"]), mode)
    ratio = check.ratio(str(merged["ratio"]), mode, explicit="ratio" in fields)
    duration = check.duration(int(merged["duration"]))
    frames = check.frames(fields.get("frames"), duration)
    check.supported(fields, mode)
    check.draft(fields, resolution)
    shapes = tuple(r for r in CONCRETE_RATIOS if r in spec.capabilities.ratios)
    concrete = _concrete_ratio(ratio, references, shapes or CONCRETE_RATIOS)
    width, height = spec.size(resolution, concrete)
    return GenerationRequest(
        model=spec.id,
        prompt=prompt,
        mode=mode,
        resolution=resolution,
        ratio=ratio,
        width=width,
        height=height,
        duration=duration,
        frames=frames,
        fps=spec.fps,
        seed=check.seed(int(merged.get("seed", -1))),
        camera_fixed=bool(merged.get("camera_fixed", False)),
        watermark=bool(merged.get("watermark", False)),
        generate_audio=bool(merged.get("generate_audio", False)) and spec.capabilities.audio,
        return_last_frame=bool(merged.get("return_last_frame", False)),
        safety_checker=bool(merged.get("safety_checker", True)),
        service_tier=check.service_tier(str(merged.get("service_tier", "default"))),
        web_search=bool(merged.get("web_search", False)),
        draft=bool(fields.get("draft") or False),
        draft_task_id=fields.get("draft_task_id"),
        priority=check.priority(fields.get("priority")),
        steps=fields.get("steps"),
        guidance=fields.get("guidance"),
        negative_prompt=fields.get("negative_prompt") or None,
        safety_identifier=fields.get("safety_identifier"),
        references=references,
        callback_url=callback_url,
        callback_statuses=callback_statuses if callback_url else (),
        expires_after=expires_after,
    )


def with_concrete_seed(request: GenerationRequest) -> GenerationRequest:
    """Replaces a requested ``-1`` seed with a random one, so the task can be reproduced."""
    if request.seed >= 0:
        return request
    return dataclasses.replace(request, seed=secrets.randbelow(MAX_SEED + 1))


def _concrete_ratio(
    ratio: str, references: tuple[Reference, ...], shapes: Sequence[str] = CONCRETE_RATIOS
) -> str:
    """``adaptive`` follows the first frame's shape (the nearest of ``shapes``), else 16:9."""
    if ratio != "adaptive":
        return ratio
    first = next((r for r in references if r.role == "first_frame" and r.width and r.height), None)
    if first is None or not first.width or not first.height:
        return "16:9"
    return nearest_ratio(first.width, first.height, shapes)


def nearest_ratio(width: int, height: int, candidates: Sequence[str] = CONCRETE_RATIOS) -> str:
    """The ratio among ``candidates`` closest to a ``width`` x ``height`` shape."""
    aspect = width / height

    def distance(candidate: str) -> float:
        w, h = candidate.split(":")
        return abs(int(w) / int(h) - aspect)

    return min(candidates, key=distance)


class _Checker:
    """Per-field checks with messages in the dialect's own names."""

    def __init__(self, spec: ModelSpec, names: Mapping[str, str]) -> None:
        self.spec = spec
        self.names = names

    def name(self, canonical: str) -> str:
        return self.names.get(canonical, canonical)

    def fail(self, canonical: str, message: str, reason: str = "invalid") -> ValidationFailed:
        name = self.name(canonical)
        return ValidationFailed(f"{name} {message}", field=name, reason=reason)

    def prompt(self, prompt: str) -> None:
        if not prompt.strip():
            raise self.fail("prompt", "is required and must not be empty", "missing")
        if len(prompt) > self.spec.prompt_max:
            raise self.fail(
                "prompt",
                f"is {len(prompt)} characters; {self.spec.id} allows at most "
                f"{self.spec.prompt_max}",
            )

    def mode(self, mode: Mode) -> None:
        if mode not in self.spec.modes:
            allowed = ", ".join(str(m) for m in self.spec.modes)
            name = self.name("references")
            raise ValidationFailed(
                f"{name}: {self.spec.id} does not support {mode} generation; "
                f"it supports: {allowed}",
                field=name,
            )

    def references(self, mode: Mode, references: tuple[Reference, ...]) -> None:
        if mode is not Mode.REFERENCE:
            return
        media = self.spec.media
        counts = {k: [r for r in references if r.kind == k] for k in ("image", "video", "audio")}
        limits = {
            "image": media.reference_images,
            "video": media.reference_videos,
            "audio": media.reference_audios,
        }
        for kind, (low, high) in limits.items():
            found = len(counts[kind])
            if found > high or found < low:
                allowed = f"{low} to {high}" if high else "none"
                raise self.fail(
                    "references", f"has {found} reference {kind}s; {self.spec.id} takes {allowed}"
                )
        if counts["audio"] and not (counts["image"] or counts["video"] or media.audio_alone):
            raise self.fail(
                "references", "cannot have reference audio alone; add an image or video"
            )
        for kind in ("video", "audio"):
            self._durations(kind, counts[kind])

    def _durations(self, kind: str, items: list[Reference]) -> None:
        total = 0.0
        for item in items:
            seconds = item.duration or 0.0
            if item.duration is not None and not 2.0 <= seconds <= 15.0:
                raise self.fail("references", f"has a {seconds:.1f} s {kind}; each must be 2-15 s")
            total += seconds
        if total > 15.0:
            raise self.fail("references", f"{kind}s add up to {total:.1f} s; at most 15 s in all")

    def resolution(self, value: str, mode: Mode) -> str:
        caps = self.spec.capabilities
        allowed = caps.reference_resolutions if mode is Mode.REFERENCE else caps.resolutions
        value = value.lower()
        if value not in allowed:
            where = " in reference mode" if mode is Mode.REFERENCE else ""
            raise self.fail(
                "resolution", f"must be one of {', '.join(allowed)}{where} (got {value!r})"
            )
        return value

    def ratio(self, value: str, mode: Mode, *, explicit: bool = True) -> str:
        caps = self.spec.capabilities
        if value not in caps.ratios:
            raise self.fail("ratio", f"must be one of {', '.join(caps.ratios)} (got {value!r})")
        v10 = self.spec.family == "1.0"
        if value == "adaptive" and v10 and mode in (Mode.T2V, Mode.REFERENCE):
            if not explicit:
                return "16:9"
            raise self.fail("ratio", f"cannot be adaptive for {mode} on {self.spec.id}")
        if caps.adaptive_frames and mode in FRAME_MODES and value != "adaptive":
            if not explicit:
                return "adaptive"
            raise self.fail(
                "ratio",
                f"must be adaptive for {mode} generation on {self.spec.id} (the video takes the "
                f"frame's shape; got {value!r})",
            )
        return value

    def duration(self, value: int) -> int:
        rng = self.spec.capabilities.duration
        if value == -1 and rng.auto:
            return value
        if not rng.minimum <= value <= rng.maximum:
            auto = " or -1 (the model decides)" if rng.auto else ""
            raise self.fail(
                "duration",
                f"must be between {rng.minimum} and {rng.maximum} seconds{auto} (got {value})",
            )
        return value

    def frames(self, requested: Any, duration: int) -> int:
        fps = self.spec.fps
        if requested is None:
            seconds = duration if duration > 0 else self.spec.capabilities.duration.auto_seconds
            return seconds * fps + (1 if self.spec.capabilities.frames_plus_one else 0)
        if not self.spec.capabilities.frames:
            raise self.fail(
                "frames", f"is not supported by {self.spec.id}; use duration", "unsupported"
            )
        count = int(requested)
        if not 29 <= count <= 289 or (count - 25) % 4:
            raise self.fail("frames", f"must be 25 + 4n within [29, 289] (got {count})")
        return count

    def seed(self, value: int) -> int:
        if not -1 <= value <= MAX_SEED:
            raise self.fail("seed", f"must be between -1 and {MAX_SEED} (got {value})")
        return value

    def service_tier(self, value: str) -> str:
        tiers = self.spec.capabilities.service_tiers
        if value not in tiers:
            reason = "unsupported" if tiers == ("default",) else "invalid"
            raise self.fail(
                "service_tier", f"must be one of {', '.join(tiers)} for {self.spec.id}", reason
            )
        return value

    def draft(self, fields: Mapping[str, Any], resolution: str) -> None:
        if not fields.get("draft"):
            return
        if not self.spec.capabilities.draft:
            raise self.fail("draft", f"is not supported by {self.spec.id}", "unsupported")
        if resolution != "480p":
            raise self.fail("resolution", f"must be 480p for a draft (got {resolution!r})")
        if fields.get("return_last_frame"):
            raise self.fail("return_last_frame", "cannot be used with draft")
        if fields.get("service_tier") == "flex":
            raise self.fail("service_tier", "cannot be flex for a draft")

    def priority(self, value: Any) -> int:
        if value is None:
            return 0
        if not self.spec.capabilities.priority:
            raise self.fail("priority", f"is not supported by {self.spec.id}", "unsupported")
        if not 0 <= int(value) <= 9:
            raise self.fail("priority", f"must be between 0 and 9 (got {value})")
        return int(value)

    def supported(self, fields: Mapping[str, Any], mode: Mode) -> None:
        caps = self.spec.capabilities
        if fields.get("generate_audio") and not caps.audio:
            raise self.fail("generate_audio", f"is not supported by {self.spec.id}", "unsupported")
        if fields.get("camera_fixed") and (not caps.camera_fixed or mode is Mode.REFERENCE):
            raise self.fail(
                "camera_fixed", f"is not supported by {self.spec.id} in {mode} mode", "unsupported"
            )
        if fields.get("seed") not in (None, -1) and not caps.seed:
            raise self.fail("seed", f"is not supported by {self.spec.id}", "unsupported")
