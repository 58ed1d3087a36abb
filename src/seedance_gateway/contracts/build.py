"""Each dialect's OpenAPI 3.1 document, built from its routes, its error renderer and the
catalog; and the whole API's document, their union."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request

from seedance_gateway import errors
from seedance_gateway.catalog import Catalog
from seedance_gateway.contracts.operation import COMPONENTS, PUBLIC, RAISES, REF_TEMPLATE
from seedance_gateway.errors import GatewayError

#: Renders an error for one dialect: (request, error, request id) -> response.
ErrorRenderer = Callable[[Request, GatewayError, str], Any]
#: Adds what the catalog decides (model names, parameters) to a dialect's document.
Refinement = Callable[[dict[str, Any], Catalog], None]
SECURITY_SCHEME = "apiKey"
#: Every operation can be refused as invalid (a malformed URL, a parameter); every one that
#: needs a key can be refused for the key, its scope or its rate.
ALWAYS: tuple[type[GatewayError], ...] = (errors.ValidationFailed,)
WITH_A_KEY: tuple[type[GatewayError], ...] = (
    errors.Unauthorized,
    errors.Forbidden,
    errors.RateLimited,
)
#: One instance of each error a route may name, rendered as the document's example.
SAMPLES: dict[str, GatewayError] = {
    e.__class__.__name__: e
    for e in (
        errors.ValidationFailed("prompt is required", field="prompt", reason="missing"),
        errors.Unauthorized(),
        errors.Forbidden("this API key does not have the 'generate' scope"),
        errors.InsufficientCredits("this generation costs 50 credits; the balance is 20"),
        errors.NotFound("no such task"),
        errors.IdempotencyConflict(),
        errors.InvalidState("only a queued task can be cancelled"),
        errors.PayloadTooLarge("the request body exceeds 10 MB"),
        errors.RateLimited("60 requests per minute per key; try again in 2 s", retry_after=2),
    )
}
EXAMPLE_REQUEST_ID = "req_01m91g739691q6jqhjezqhm1ye"


@dataclass(frozen=True, kw_only=True)
class Dialect:
    """One published document: a wire dialect's routes and how it renders errors."""

    name: str  #: its URL name: ``/openapi/<name>.json``
    title: str
    description: str
    routers: tuple[APIRouter, ...]
    render_error: ErrorRenderer
    envelope: type[BaseModel]  #: the schema of its error bodies
    refine: Refinement | None = None
    webhooks: APIRouter | None = None  #: what it POSTs to subscribers (OpenAPI ``webhooks``)

    @property
    def routes(self) -> Iterator[APIRoute]:
        for router in self.routers:
            for route in router.routes:
                if isinstance(route, APIRoute) and route.include_in_schema:
                    yield route


def document(dialect: Dialect, catalog: Catalog, *, version: str) -> dict[str, Any]:
    """``dialect``'s OpenAPI 3.1 document."""
    routes = list(dialect.routes)
    doc = get_openapi(
        title=dialect.title,
        version=version,
        description=dialect.description,
        routes=routes,
        webhooks=dialect.webhooks.routes if dialect.webhooks else None,
        separate_input_output_schemas=False,
    )
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    _add_model(schemas, dialect.envelope)
    names = _operation_ids(routes)
    for path, method, op in _operations(doc):
        op["operationId"] = names[(path, method)]
        schemas.update(op.pop(COMPONENTS, {}))
        _finish(op, dialect)
    for _, _, op in _operations(doc, "webhooks"):
        schemas.update(op.pop(COMPONENTS, {}))
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    doc["components"]["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key: `Authorization: Bearer sdg_...` (`seedance keys create`).",
        }
    }
    if dialect.refine is not None:
        dialect.refine(doc, catalog)
    return doc


def combined(
    documents: Iterable[tuple[Dialect, dict[str, Any]]], *, version: str
) -> dict[str, Any]:
    """The whole API in one document: every dialect's operations, tagged with its title."""
    whole: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Seedance Gateway",
            "version": version,
            "description": "Every wire dialect this server speaks. Each also has a document "
            "of its own: /openapi/index.json lists them.",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "tags": [],
    }
    for dialect, doc in documents:
        whole["tags"].append({"name": dialect.title, "description": dialect.description})
        for path, method, op in _operations(doc):
            tagged = _prefixed(op, dialect.name.replace("-", "_"))
            whole["paths"].setdefault(path, {})[method] = {**tagged, "tags": [dialect.title]}
        for kind, entries in doc.get("components", {}).items():
            _merge(whole["components"].setdefault(kind, {}), entries, dialect.name)
        if "webhooks" in doc:
            _merge(whole.setdefault("webhooks", {}), doc["webhooks"], dialect.name)
    return whole


def _prefixed(op: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``op`` with its id, and the ids its links name, prefixed (unique in the whole API)."""
    op = json.loads(json.dumps(op))
    op["operationId"] = f"{prefix}_{op['operationId']}"
    for response in op.get("responses", {}).values():
        for link in response.get("links", {}).values():
            if "operationId" in link:  # an operationRef names a path: the same in the whole API
                link["operationId"] = f"{prefix}_{link['operationId']}"
    return op


def _merge(into: dict[str, Any], entries: dict[str, Any], source: str) -> None:
    for name, entry in entries.items():
        if name in into and into[name] != entry:
            raise ValueError(f"component {name!r} of {source} differs from another dialect's")
        into[name] = entry


def _operations(
    doc: dict[str, Any], section: str = "paths"
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc.get(section, {}).items():
        for method, op in item.items():
            yield path, method, op


def _operation_ids(routes: list[APIRoute]) -> dict[tuple[str, str], str]:
    """Each operation's id: its endpoint's name, with the path's version where one endpoint
    serves several paths (``/v1/status`` and ``/v2/status``)."""
    seen: dict[str, int] = {}
    for route in routes:
        seen[route.name] = seen.get(route.name, 0) + len(route.methods or ())
    ids: dict[tuple[str, str], str] = {}
    for route in routes:
        for method in route.methods or ():
            name = route.name
            if seen[name] > 1:
                name = f"{name}_{route.path.strip('/').split('/')[0]}"
            ids[(route.path_format, method.lower())] = name
    return ids


def _finish(op: dict[str, Any], dialect: Dialect) -> None:
    """The operation's errors in the dialect's envelope, its security, and tidy schemas."""
    responses: dict[str, Any] = op.setdefault("responses", {})
    responses.pop("422", None)  # FastAPI's own validation error, which we never send
    for response in responses.values():
        for media in response.get("content", {}).values():
            schema = media.get("schema", {})
            if "$ref" in schema:  # FastAPI adds the return annotation's schema beside it
                media["schema"] = {"$ref": schema["$ref"]}
    for parameter in op.get("parameters", []):
        parameter["schema"] = _not_null(parameter["schema"])
    public = op.pop(PUBLIC, False)
    raised = [*ALWAYS, *(() if public else WITH_A_KEY)]
    named = [_sample(name, op["operationId"]) for name in op.pop(RAISES, [])]
    if any(p["in"] == "path" for p in op.get("parameters", [])):
        named.append(SAMPLES["NotFound"])  # what the path names may not exist
    if "requestBody" in op:
        named.append(SAMPLES["PayloadTooLarge"])
    for status, response in _error_responses(
        dialect, [SAMPLES[e.__name__] for e in raised] + named
    ):
        responses.setdefault(status, response)
    if not public:
        op["security"] = [{SECURITY_SCHEME: []}]


def _sample(name: str, operation_id: str) -> GatewayError:
    if name not in SAMPLES:
        raise KeyError(f"{operation_id} raises {name}: add an example of it to SAMPLES")
    return SAMPLES[name]


def _error_responses(
    dialect: Dialect, samples: list[GatewayError]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """One response per status the dialect gives ``samples``, each with its codes."""
    by_status: dict[str, list[tuple[GatewayError, Any]]] = {}
    for sample in samples:
        rendered = dialect.render_error(_REQUEST, sample, EXAMPLE_REQUEST_ID)
        entries = by_status.setdefault(str(rendered.status_code), [])
        if all(type(e) is not type(sample) for e, _ in entries):
            entries.append((sample, rendered))
    for status in sorted(by_status):
        entries = by_status[status]
        response: dict[str, Any] = {
            "description": "; ".join(_describe(e) for e, _ in entries),
            "content": {
                "application/json": {
                    "schema": {"$ref": REF_TEMPLATE.format(model=dialect.envelope.__name__)},
                    "examples": {type(e).__name__: {"value": _json(r.body)} for e, r in entries},
                }
            },
        }
        if any(r.headers.get("retry-after") for _, r in entries):
            response["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
        yield status, response


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without FastAPI's ``null`` (an optional parameter is left out, never
    sent as null)."""
    kinds = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(kinds) != 1 or len(kinds) == len(schema.get("anyOf", [])):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**kinds[0], **rest}


def _describe(error: GatewayError) -> str:
    return (type(error).__doc__ or type(error).__name__).strip().rstrip(".")


def _json(body: bytes) -> Any:
    return json.loads(body)


def _add_model(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema


_REQUEST = Request(
    {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
)
