"""The catalog's values: models as data (frozen, built by ``loader``)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class Mode(enum.StrEnum):
    """How the reference media shape a generation."""

    T2V = "t2v"  #: text only
    FIRST_FRAME = "first_frame"  #: one image starts the video
    FIRST_LAST_FRAME = "first_last_frame"  #: one image starts it, another ends it
    REFERENCE = "reference"  #: reference images (and, on 2.0, videos and audios) guide it


class ValueType(enum.StrEnum):
    """The type a canonical field carries once parsed."""

    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DECIMAL = "decimal"


#: The canonical request fields a wire parameter can map to, with their types.
CANONICAL_FIELDS: Mapping[str, ValueType] = {
    "resolution": ValueType.STRING,
    "ratio": ValueType.STRING,
    "duration": ValueType.INTEGER,
    "frames": ValueType.INTEGER,
    "seed": ValueType.INTEGER,
    "camera_fixed": ValueType.BOOLEAN,
    "watermark": ValueType.BOOLEAN,
    "generate_audio": ValueType.BOOLEAN,
    "return_last_frame": ValueType.BOOLEAN,
    "safety_checker": ValueType.BOOLEAN,
    "service_tier": ValueType.STRING,
    "scene": ValueType.STRING,
    "web_search": ValueType.BOOLEAN,
    "draft": ValueType.BOOLEAN,
    "steps": ValueType.INTEGER,
    "guidance": ValueType.DECIMAL,
    "negative_prompt": ValueType.STRING,
}
#: What each parameter kind yields: ``select`` any type (its options say), ``number`` an
#: integer in ``[minimum, maximum]``, ``decimal`` a number in ``[minimum, maximum]``, ``text``
#: a string of at most ``maximum`` characters.
KIND_TYPES: Mapping[str, ValueType | None] = {
    "select": None,
    "number": ValueType.INTEGER,
    "decimal": ValueType.DECIMAL,
    "text": ValueType.STRING,
}


@dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One Public API v1 parameter, named exactly as the model's page names it."""

    key: str  #: the wire name in ``params`` (``aspect_ratio``, ``aspectRatio``, ``fixed_lens``)
    kind: str  #: a key of ``KIND_TYPES``: ``select``, ``number``, ``decimal`` or ``text``
    maps_to: str  #: the canonical field (a key of ``CANONICAL_FIELDS``)
    default: str | int | float
    options: tuple[str, ...] = ()
    minimum: int | float | None = None  #: ``number``, ``decimal``
    maximum: int | float | None = None  #: ``number``, ``decimal``; ``text``: its length
    description: str = ""
    extension: bool = False  #: ours, beyond the reference API

    @property
    def value_type(self) -> ValueType:
        """The type of the canonical value this parameter yields."""
        return CANONICAL_FIELDS[self.maps_to]


@dataclass(frozen=True, kw_only=True)
class DurationRange:
    """Durations in whole seconds; ``auto`` allows ``-1`` (the model decides).

    ``auto_seconds`` is the length a ``-1`` gets here: what the preview renders and what the
    quote bills, whichever provider makes the video.
    """

    minimum: int
    maximum: int
    auto: bool = False
    auto_seconds: int = 5


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """What the model can do, whatever the dialect (the upstream's per-model rules)."""

    resolutions: tuple[str, ...]
    ratios: tuple[str, ...]
    duration: DurationRange
    frames: bool  #: accepts an explicit frame count (25 + 4n in [29, 289])
    seed: bool
    camera_fixed: bool
    audio: bool
    service_tiers: tuple[str, ...]
    reference_resolutions: tuple[str, ...]  #: resolutions allowed in reference mode
    defaults: Mapping[str, str | int | bool]  #: the upstream's defaults, by canonical field
    draft: bool = False  #: offers 480p draft videos (``draft``, then a ``draft_task`` item)
    priority: bool = False  #: takes a queue ``priority`` 0-9
    adaptive_frames: bool = False  #: first/last-frame tasks take only ``ratio: adaptive`` (2.5)
    frames_plus_one: bool = False  #: makes duration x fps + 1 frames (Wan's 4k + 1)


@dataclass(frozen=True, kw_only=True)
class MediaRules:
    """How many reference items each mode takes."""

    reference_images: tuple[int, int] = (0, 0)  #: (min, max) in reference mode
    reference_videos: tuple[int, int] = (0, 0)
    reference_audios: tuple[int, int] = (0, 0)
    audio_alone: bool = False  #: reference audio without any image or video is allowed (2.5)


@dataclass(frozen=True, kw_only=True)
class PriceRule:
    """Credits for a request.

    ``pixels``: ``base_credits`` at the Public API v1 defaults, scaled by output pixels x frames
    (the upstream bills tokens = W x H x fps x seconds / 1024), times the audio factor.
    ``table``: credits by resolution and duration, ``(silent, with audio)``; durations between two
    rows are interpolated linearly. Both: flex tier pays ``flex_factor``; always rounded up.
    """

    kind: str
    base_credits: int
    table: Mapping[str, Mapping[int, tuple[int, int]]]
    audio_factor: float = 1.0
    flex_factor: float = 0.5
    resolution_factors: Mapping[str, float] = field(default_factory=dict)
    #: ``pixels`` only: the price scales with the denoising steps asked, against the default
    #: (open-weight models, whose GPU time follows the steps)
    per_step: bool = False


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """One model: its names, modes, parameters, limits, output sizes and price."""

    id: str
    name: str
    family: str
    provider: str
    aliases: tuple[str, ...]
    upstream_ids: Mapping[str, str]  #: upstream model id by region (``volcengine``, ``byteplus``)
    modes: tuple[Mode, ...]
    prompt_max: int
    fps: int
    pixels: Mapping[str, Mapping[str, tuple[int, int]]]  #: resolution -> ratio -> (W, H)
    capabilities: Capabilities
    params: tuple[ParamSpec, ...]
    media: MediaRules
    price: PriceRule
    description: str = ""

    def param(self, key: str) -> ParamSpec | None:
        """The Public API v1 parameter named ``key``, if the model has one."""
        return next((p for p in self.params if p.key == key), None)

    def param_for(self, canonical: str) -> ParamSpec | None:
        """The Public API v1 parameter that fills the canonical field, if the model has one."""
        return next((p for p in self.params if p.maps_to == canonical), None)

    def size(self, resolution: str, ratio: str) -> tuple[int, int]:
        """Output pixels (W, H) for a resolution and a concrete ratio."""
        return self.pixels[resolution][ratio]


@dataclass(frozen=True, kw_only=True)
class Catalog:
    """All models, found by id or any alias."""

    models: tuple[ModelSpec, ...]
    by_name: Mapping[str, ModelSpec]
    mode_routes: Mapping[str, Mapping[str, str]]  #: alias -> mode -> model id ("*" = otherwise)

    def find(self, name: str, mode: Mode | None = None) -> ModelSpec | None:
        """The model for an id or alias (case-insensitive); a routed alias needs the mode."""
        key = name.strip().lower()
        route = self.mode_routes.get(key)
        if route is not None:
            target = route.get(str(mode), route.get("*", "")) if mode else route.get("*", "")
            return self.by_name.get(target)
        return self.by_name.get(key)

    def routed(self, provider: str, names: Iterable[str]) -> Catalog:
        """This catalog with the models ``names`` (ids or aliases; ``*`` for all) on ``provider``.

        A model on the upstream (``ark``) keeps only the upstream's ratios: ours (``9:21``) is
        then refused at create time with the allowed list, rather than failing upstream.
        """
        wanted = {n.strip().lower() for n in names if n.strip()}
        chosen = {
            m.id
            for m in self.models
            if "*" in wanted or wanted & {m.id.lower(), *(a.lower() for a in m.aliases)}
        }
        unknown = wanted - {"*"} - set(self.by_name)
        if unknown:
            raise ValueError(
                f"unknown models {sorted(unknown)}; the catalog has {[m.id for m in self.models]}"
            )
        models = tuple(
            _on_provider(m, provider) if m.id in chosen or m.provider == provider else m
            for m in self.models
        )
        by_id = {m.id: m for m in models}
        by_name = {name: by_id[spec.id] for name, spec in self.by_name.items()}
        return Catalog(models=models, by_name=by_name, mode_routes=self.mode_routes)

    def joined(self, other: Catalog) -> Catalog:
        """This catalog and the models of ``other`` it lacks (by id; this one's names win)."""
        have = {m.id for m in self.models}
        added = tuple(m for m in other.models if m.id not in have)
        names = {k: m for k, m in other.by_name.items() if m.id not in have}
        return Catalog(
            models=self.models + added,
            by_name={**names, **self.by_name},
            mode_routes={**other.mode_routes, **self.mode_routes},
        )

    def without(self, model_ids: Iterable[str]) -> Catalog:
        """This catalog less the models ``model_ids`` (and every name and route to them)."""
        gone = set(model_ids)
        return Catalog(
            models=tuple(m for m in self.models if m.id not in gone),
            by_name={k: m for k, m in self.by_name.items() if m.id not in gone},
            mode_routes={
                alias: route
                for alias, route in self.mode_routes.items()
                if not gone & set(route.values())
            },
        )

    def names(self) -> list[str]:
        """Every id and alias a client may send."""
        return sorted({*self.by_name, *self.mode_routes})


#: The ratios the real upstream takes (research/ark-official-api.md §2.1).
UPSTREAM_RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")


def _on_provider(spec: ModelSpec, provider: str) -> ModelSpec:
    if provider != "ark":
        return dataclasses.replace(spec, provider=provider)
    caps = spec.capabilities
    ratios = tuple(r for r in caps.ratios if r in UPSTREAM_RATIOS)
    return dataclasses.replace(
        spec, provider=provider, capabilities=dataclasses.replace(caps, ratios=ratios)
    )
