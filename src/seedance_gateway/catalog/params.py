"""Parses a model's Public API v1 ``params`` object into typed canonical fields.

Select values are accepted as the reference API sends them (``"5"``, ``"false"``) and as native
JSON (``5``, ``false``); ``null`` counts as absent. Anything else is a ``validation_failed`` that
names the field and what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from seedance_gateway.catalog.model import ModelSpec, ParamSpec, ValueType
from seedance_gateway.errors import ValidationFailed

Number = TypeVar("Number", int, float)
#: Keys of ``params`` that are not model parameters.
RESERVED_KEYS = frozenset({"referenceMediaItems"})


def parse(spec: ModelSpec, params: Mapping[str, Any], *, defaults: bool = True) -> dict[str, Any]:
    """Canonical fields for ``params``, with the model's Public API v1 defaults filled in
    (unless ``defaults`` is false: then only what ``params`` holds)."""
    fields: dict[str, Any] = {}
    if defaults:
        fields = {p.maps_to: _typed(p, p.default) for p in spec.params}
    for key, raw in params.items():
        if key in RESERVED_KEYS or raw is None:
            continue
        param = spec.param(key)
        if param is None:
            allowed = ", ".join(p.key for p in spec.params)
            raise ValidationFailed(
                f"params.{key} is not a parameter of {spec.id}; allowed: {allowed}",
                field=f"params.{key}",
            )
        fields[param.maps_to] = _typed(param, _accepted(param, raw))
    return fields


def wire_names(spec: ModelSpec) -> dict[str, str]:
    """Canonical field -> ``params.<key>``, for error messages."""
    names = {p.maps_to: f"params.{p.key}" for p in spec.params}
    names.setdefault("prompt", "prompt")
    names["references"] = "params.referenceMediaItems"
    return names


def _accepted(param: ParamSpec, raw: Any) -> str | int | float:
    """The raw value if the parameter accepts it, else a helpful ``ValidationFailed``."""
    name = f"params.{param.key}"
    if param.kind == "decimal":
        return _decimal(param, name, raw)
    if param.kind == "text":
        return _text(param, name, raw)
    if param.kind == "number":
        number = _as_int(raw)
        if number is None:
            raise ValidationFailed(f"{name} must be an integer (got {raw!r})", field=name)
        return _in_range(param, name, number)
    text = _as_text(raw)
    for option in param.options:
        if text is not None and option.lower() == text.lower():
            return option
    allowed = ", ".join(param.options)
    raise ValidationFailed(f"{name} must be one of {allowed} (got {raw!r})", field=name)


def _decimal(param: ParamSpec, name: str, raw: Any) -> float:
    number = _as_float(raw)
    if number is None:
        raise ValidationFailed(f"{name} must be a number (got {raw!r})", field=name)
    return _in_range(param, name, number)


def _in_range(param: ParamSpec, name: str, number: Number) -> Number:
    """``number`` if it lies within the parameter's bounds (inclusive), else the refusal."""
    assert param.minimum is not None and param.maximum is not None
    if not param.minimum <= number <= param.maximum:
        shown = f"{number:g}" if isinstance(number, float) else str(number)
        raise ValidationFailed(
            f"{name} must be between {param.minimum} and {param.maximum} (got {shown})",
            field=name,
        )
    return number


def _text(param: ParamSpec, name: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValidationFailed(f"{name} must be a string (got {raw!r})", field=name)
    assert param.maximum is not None
    if len(raw) > param.maximum:
        raise ValidationFailed(
            f"{name} is {len(raw)} characters long; at most {param.maximum} are allowed",
            field=name,
        )
    return raw


def _typed(param: ParamSpec, value: str | int | float) -> Any:
    if param.value_type is ValueType.INTEGER:
        return int(value)
    if param.value_type is ValueType.DECIMAL:
        return float(value)
    if param.value_type is ValueType.BOOLEAN:
        return str(value).lower() == "true"
    return str(value)


def _as_int(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if re.fullmatch(r"-?[0-9]{1,19}", text):
            return int(text)
    return None


def _as_float(raw: Any) -> float | None:
    """A finite number from a JSON number or a decimal string (``"5.5"``)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        number = float(raw)
    elif isinstance(raw, str) and re.fullmatch(r"-?[0-9]{1,9}(\.[0-9]{1,9})?", raw.strip()):
        number = float(raw.strip())
    else:
        return None
    return number if math.isfinite(number) else None


def _as_text(raw: Any) -> str | None:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, str):
        return raw.strip()
    return None
