"""JSON Schemas the catalog decides: each model's Public API v1 ``params``, and the create body
as one variant per model (chosen by ``model``), so a client sees what each model takes."""

from __future__ import annotations

from typing import Any

from seedance_gateway.catalog import Catalog, ModelSpec
from seedance_gateway.catalog.model import ParamSpec, ValueType
from seedance_gateway.catalog.params import RESERVED_KEYS
from seedance_gateway.contracts.operation import REF_TEMPLATE
from seedance_gateway.contracts.public_v1 import ReferenceItem

CREATE_BODY = "CreateGeneration"
REFERENCE_ITEM = ReferenceItem.__name__
assert {"referenceMediaItems"} == RESERVED_KEYS, "params' reserved keys changed: document them"


def refine_public_v1(doc: dict[str, Any], catalog: Catalog) -> None:
    """Replaces the generic create body with one variant per catalog model."""
    schemas: dict[str, Any] = doc["components"]["schemas"]
    generic = schemas[CREATE_BODY]
    schemas[REFERENCE_ITEM] = ReferenceItem.model_json_schema(ref_template=REF_TEMPLATE)
    mapping: dict[str, str] = {}
    for spec in catalog.models:
        params, body = f"GenerationParams.{spec.id}", f"{CREATE_BODY}.{spec.id}"
        schemas[params] = params_schema(spec)
        schemas[body] = _variant(generic, spec, model_names(catalog, spec), params)
        mapping.update(dict.fromkeys(model_names(catalog, spec), REF_TEMPLATE.format(model=body)))
    schemas[CREATE_BODY] = {
        "title": CREATE_BODY,
        "description": "A generation: `model` (an id or alias, case-insensitive) decides which "
        "`params` it takes.",
        "oneOf": [{"$ref": ref} for ref in dict.fromkeys(mapping.values())],
        "discriminator": {"propertyName": "model", "mapping": mapping},
    }


def model_names(catalog: Catalog, spec: ModelSpec) -> list[str]:
    """Every name that picks ``spec`` for a create without references: its aliases (a name
    that routes by mode counts for the model it picks without references), then its id.

    The id comes last because generators name enum members by their value with punctuation
    replaced, and keep the last of names that collide (``seedance-1.0-pro`` and
    ``seedance-1-0-pro``): the id must be the one a generated client can send.
    """
    names = [a for a in spec.aliases if a.lower() != spec.id]
    for name, route in catalog.mode_routes.items():
        if route.get("t2v", route.get("*")) == spec.id:
            names.append(name)
    return [*names, spec.id]


def params_schema(spec: ModelSpec) -> dict[str, Any]:
    """``spec``'s ``params`` object: each parameter's values, range and default."""
    properties = {p.key: param_schema(p) for p in spec.params}
    properties["referenceMediaItems"] = {
        "type": "array",
        "items": {"$ref": REF_TEMPLATE.format(model=REFERENCE_ITEM)},
        "description": "Images, videos and audio the generation starts from or refers to.",
    }
    schema = {
        "title": f"Parameters of {spec.id}",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if "t2v" not in spec.modes:  # it starts from media: at least one item
        properties["referenceMediaItems"]["minItems"] = 1
        schema["required"] = ["referenceMediaItems"]
    return schema


def param_schema(param: ParamSpec) -> dict[str, Any]:
    """One parameter: an integer range, or its options (as strings, as the reference API sends
    them, or as native JSON)."""
    schema: dict[str, Any] = {"default": param.default}
    if param.description:
        schema["description"] = param.description
    if param.kind == "number":
        return {**schema, "type": "integer", "minimum": param.minimum, "maximum": param.maximum}
    spelled = {"type": "string", "enum": list(param.options)}
    if param.value_type is ValueType.INTEGER:
        native: dict[str, Any] = {"type": "integer", "enum": [int(o) for o in param.options]}
    elif param.value_type is ValueType.BOOLEAN:
        native = {"type": "boolean"}
    else:
        return {**schema, **spelled}
    return {**schema, "anyOf": [spelled, native]}


def _variant(
    generic: dict[str, Any], spec: ModelSpec, names: list[str], params: str
) -> dict[str, Any]:
    properties = dict(generic["properties"])
    properties["model"] = {"type": "string", "enum": names, "description": spec.name}
    properties["params"] = {"$ref": REF_TEMPLATE.format(model=params)}
    required = list(generic["required"])
    if "t2v" not in spec.modes:
        required.append("params")
    properties["prompt"] = {**properties["prompt"], "maxLength": spec.prompt_max}
    return {
        **generic,
        "title": f"{CREATE_BODY} with {spec.id}",
        "properties": properties,
        "required": required,
    }
