"""Loads the model catalog from YAML and validates it; a mistake names the model and the field."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from seedance_gateway.catalog.model import (
    CANONICAL_FIELDS,
    KIND_TYPES,
    Capabilities,
    Catalog,
    DurationRange,
    MediaRules,
    Mode,
    ModelSpec,
    ParamSpec,
    PriceRule,
    ValueType,
)


class CatalogError(ValueError):
    """The catalog file is invalid."""


def load(path: Path | None = None) -> Catalog:
    """Reads the shipped catalog, or an operator's file at ``path``."""
    if path is None:
        return _shipped("models.yaml")
    return _parsed(path.read_text(), str(path))


def load_local() -> Catalog:
    """The shipped open-weight models (``local-models.yaml``, provider ``local``)."""
    return _shipped("local-models.yaml")


def _shipped(name: str) -> Catalog:
    return _parsed(resources.files("seedance_gateway.catalog").joinpath(name).read_text(), name)


def _parsed(text: str, source: str) -> Catalog:
    try:
        data = yaml.safe_load(text)
        return build(data)
    except CatalogError as exc:
        raise CatalogError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML: {exc}") from None


def build(data: Mapping[str, Any]) -> Catalog:
    """Builds and cross-checks a catalog from parsed YAML."""
    tables = data.get("pixel_tables") or {}
    models = tuple(_model(raw, tables) for raw in data.get("models") or ())
    if not models:
        raise CatalogError("no models defined")
    by_name: dict[str, ModelSpec] = {}
    for model in models:
        for name in (model.id, *model.aliases):
            key = name.lower()
            if key in by_name:
                raise CatalogError(f"name {name!r} is used by {by_name[key].id!r} and {model.id!r}")
            by_name[key] = model
    routes = {str(k).lower(): dict(v) for k, v in (data.get("mode_routes") or {}).items()}
    for alias, route in routes.items():
        for target in route.values():
            if target not in by_name:
                raise CatalogError(f"mode_routes.{alias}: unknown model {target!r}")
    return Catalog(models=models, by_name=by_name, mode_routes=routes)


def _model(raw: Mapping[str, Any], tables: Mapping[str, Any]) -> ModelSpec:
    model_id = str(raw.get("id", "?"))
    try:
        spec = _model_unchecked(raw, tables)
        _check(spec)
        return spec
    except CatalogError as exc:
        raise CatalogError(f"model {model_id!r}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"model {model_id!r}: missing or malformed field ({exc})") from None


def _model_unchecked(raw: Mapping[str, Any], tables: Mapping[str, Any]) -> ModelSpec:
    table_name = raw["pixel_table"]
    if table_name not in tables:
        raise CatalogError(f"pixel_table {table_name!r} is not defined")
    return ModelSpec(
        id=raw["id"],
        name=raw["name"],
        family=str(raw["family"]),
        provider=raw["provider"],
        description=raw.get("description", ""),
        aliases=tuple(raw.get("aliases") or ()),
        upstream_ids=dict(raw.get("upstream_ids") or {}),
        modes=_modes(raw["modes"]),
        prompt_max=int(raw["prompt_max"]),
        fps=int(raw["fps"]),
        pixels={
            res: {ratio: (int(wh[0]), int(wh[1])) for ratio, wh in row.items()}
            for res, row in tables[table_name].items()
        },
        capabilities=_capabilities(raw["capabilities"]),
        params=tuple(_param(p) for p in raw["params"]),
        media=_media(raw.get("media") or {}),
        price=_price(raw["price"]),
    )


def _modes(raw: Any) -> tuple[Mode, ...]:
    known = [str(m) for m in Mode]
    for mode in raw:
        if str(mode) not in known:
            raise CatalogError(f"modes: unknown mode {mode!r}; use {', '.join(known)}")
    return tuple(Mode(str(m)) for m in raw)


def _capabilities(raw: Mapping[str, Any]) -> Capabilities:
    duration = raw["duration"]
    return Capabilities(
        resolutions=tuple(raw["resolutions"]),
        ratios=tuple(raw["ratios"]),
        duration=DurationRange(
            minimum=int(duration["min"]),
            maximum=int(duration["max"]),
            auto=bool(duration["auto"]),
            auto_seconds=int(duration.get("auto_seconds", raw["defaults"]["duration"])),
        ),
        frames=bool(raw["frames"]),
        seed=bool(raw["seed"]),
        camera_fixed=bool(raw["camera_fixed"]),
        audio=bool(raw["audio"]),
        service_tiers=tuple(raw["service_tiers"]),
        draft=bool(raw.get("draft", False)),
        priority=bool(raw.get("priority", False)),
        adaptive_frames=bool(raw.get("adaptive_frames", False)),
        frames_plus_one=bool(raw.get("frames_plus_one", False)),
        reference_resolutions=tuple(raw.get("reference_resolutions") or ()),
        defaults=dict(raw["defaults"]),
    )


def _param(raw: Mapping[str, Any]) -> ParamSpec:
    return ParamSpec(
        key=raw["key"],
        kind=raw["kind"],
        maps_to=raw["maps_to"],
        default=raw["default"],
        options=tuple(str(o) for o in raw.get("options") or ()),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        description=raw.get("description", ""),
        extension=bool(raw.get("extension", False)),
    )


def _media(raw: Mapping[str, Any]) -> MediaRules:
    def pair(name: str) -> tuple[int, int]:
        low, high = raw.get(name, (0, 0))
        return int(low), int(high)

    return MediaRules(
        reference_images=pair("reference_images"),
        reference_videos=pair("reference_videos"),
        reference_audios=pair("reference_audios"),
        audio_alone=bool(raw.get("audio_alone", False)),
    )


def _price(raw: Mapping[str, Any]) -> PriceRule:
    table = {
        str(res): {int(sec): (int(v[0]), int(v[1])) for sec, v in row.items()}
        for res, row in (raw.get("table") or {}).items()
    }
    return PriceRule(
        kind=raw["kind"],
        base_credits=int(raw["base_credits"]),
        table=table,
        audio_factor=float(raw.get("audio_factor", 1.0)),
        flex_factor=float(raw.get("flex_factor", 0.5)),
        resolution_factors={
            str(k): float(v) for k, v in (raw.get("resolution_factors") or {}).items()
        },
        per_step=bool(raw.get("per_step", False)),
    )


def _check(spec: ModelSpec) -> None:
    caps = spec.capabilities
    if not spec.modes:
        raise CatalogError("modes is empty")
    for res in caps.resolutions:
        for ratio in caps.ratios:
            if ratio != "adaptive" and ratio not in spec.pixels.get(res, {}):
                raise CatalogError(f"pixel table has no size for {res} {ratio}")
    span = caps.duration
    if span.auto and not span.minimum <= span.auto_seconds <= span.maximum:
        raise CatalogError(
            f"duration.auto_seconds {span.auto_seconds} is outside [{span.minimum}, {span.maximum}]"
            " (the length a -1 gets; the default duration when it is not -1)"
        )
    keys = [p.key for p in spec.params]
    if len(keys) != len(set(keys)):
        raise CatalogError("params has a key twice")
    for index, param in enumerate(spec.params):
        try:
            _check_param(param, caps)
        except CatalogError as exc:
            raise CatalogError(f"params[{index}] ({param.key}): {exc}") from None
    _check_price(spec)


def _check_param(param: ParamSpec, caps: Capabilities) -> None:
    if param.maps_to not in CANONICAL_FIELDS:
        raise CatalogError(f"maps_to {param.maps_to!r} is not one of {sorted(CANONICAL_FIELDS)}")
    if param.kind not in KIND_TYPES:
        raise CatalogError(f"kind {param.kind!r} is not one of {sorted(KIND_TYPES)}")
    yields = KIND_TYPES[param.kind]
    if yields is not None and param.value_type is not yields:
        raise CatalogError(f"a {param.kind} cannot fill {param.maps_to} ({param.value_type})")
    if param.kind == "select":
        _check_select(param)
    elif param.kind == "text":
        _check_text(param)
    else:
        _check_range(param)
    if param.maps_to == "resolution" and set(param.options) - set(caps.resolutions):
        raise CatalogError(f"offers a resolution the model lacks ({list(caps.resolutions)})")
    if param.maps_to == "draft" and not caps.draft:
        raise CatalogError("offers drafts, but capabilities.draft is not true")


def _check_select(param: ParamSpec) -> None:
    if not param.options:
        raise CatalogError("a select needs options")
    if str(param.default).lower() not in [o.lower() for o in param.options]:
        raise CatalogError(f"default {param.default!r} is not one of {list(param.options)}")
    options = {o.lower() for o in param.options}
    if param.value_type is ValueType.INTEGER and not all(o.lstrip("-").isdigit() for o in options):
        raise CatalogError("options of an integer field must be integers")
    if param.value_type is ValueType.BOOLEAN and options - {"true", "false"}:
        raise CatalogError("options of a boolean field must be true/false")


def _check_range(param: ParamSpec) -> None:
    """A ``number`` or ``decimal``: its bounds and its default."""
    if param.minimum is None or param.maximum is None or param.minimum > param.maximum:
        raise CatalogError(f"a {param.kind} needs min <= max")
    if isinstance(param.default, str) or not param.minimum <= param.default <= param.maximum:
        bounds = f"[{param.minimum}, {param.maximum}]"
        raise CatalogError(f"default {param.default!r} is outside {bounds}")


def _check_text(param: ParamSpec) -> None:
    if not isinstance(param.maximum, int) or param.maximum <= 0:
        raise CatalogError("a text needs max, its length in characters")
    if not isinstance(param.default, str) or len(param.default) > param.maximum:
        raise CatalogError(f"default {param.default!r} is not a text of at most {param.maximum}")


def _check_price(spec: ModelSpec) -> None:
    price = spec.price
    if price.base_credits <= 0:
        raise CatalogError("price.base_credits must be positive")
    if price.per_step and (price.kind != "pixels" or spec.param_for("steps") is None):
        raise CatalogError("price.per_step needs the pixels rule and a steps parameter")
    if price.kind == "table":
        missing = set(spec.capabilities.resolutions) - set(price.table)
        if missing:
            raise CatalogError(f"price.table lacks resolutions {sorted(missing)}")
    elif price.kind != "pixels":
        raise CatalogError(f"price.kind {price.kind!r} is not pixels or table")
