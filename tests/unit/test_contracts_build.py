"""``contracts.build``: a dialect's routes become its document, each error in the dialect's own
status and envelope; ``contracts.catalog_schemas``: each model's parameters from the catalog."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Header, Request
from openapi_spec_validator import validate
from pydantic import BaseModel
from starlette.responses import JSONResponse

from seedance_gateway import catalog as catalog_module
from seedance_gateway.catalog.model import Mode
from seedance_gateway.contracts import catalog_schemas
from seedance_gateway.contracts.build import Dialect, combined, document
from seedance_gateway.contracts.operation import operation
from seedance_gateway.dialects import ark_v3, default_error
from seedance_gateway.errors import GatewayError, InsufficientCredits, InvalidState

CATALOG = catalog_module.load(None)


class Thing(BaseModel):
    id: str


class NewThing(BaseModel):
    name: str


class PlainError(BaseModel):
    error: dict[str, Any]


def _router() -> APIRouter:
    router = APIRouter(prefix="/things")

    @router.post(
        "",
        status_code=201,
        responses={201: {"model": Thing, "links": {"Read": {"operationId": "read_thing"}}}},
        openapi_extra=operation(body=NewThing, raises=(InsufficientCredits,)),
    )
    async def make_thing(request: Request, idempotency_key: str | None = Header(None)) -> Any:
        """Makes a thing."""

    @router.get("/{thing_id}", responses={200: {"model": Thing}})
    async def read_thing(request: Request, thing_id: str) -> Any:
        """Reads a thing."""

    @router.post("/{thing_id}/stop", openapi_extra=operation(raises=(InvalidState,)))
    async def stop_thing(request: Request, thing_id: str) -> Any:
        """Stops a thing."""

    @router.get("/status/now", openapi_extra=operation(public=True))
    async def status_now() -> Any:
        """Public."""

    return router


def _dialect(render: Any = default_error, name: str = "things") -> Dialect:
    return Dialect(
        name=name,
        title=f"Things ({name})",
        description="A test dialect.",
        routers=(_router(),),
        render_error=render,
        envelope=PlainError,
    )


def _statuses(doc: dict[str, Any], path: str, method: str) -> set[str]:
    return set(doc["paths"][path][method]["responses"])


def test_each_operation_documents_exactly_the_errors_it_can_send() -> None:
    doc = document(_dialect(), CATALOG, version="1")
    validate(doc)
    assert _statuses(doc, "/things", "post") == {"201", "400", "401", "402", "403", "413", "429"}
    assert _statuses(doc, "/things/{thing_id}", "get") == {"200", "400", "401", "403", "404", "429"}
    assert "409" in _statuses(doc, "/things/{thing_id}/stop", "post")
    public = doc["paths"]["/things/status/now"]["get"]
    assert "security" not in public
    assert set(public["responses"]) == {"200", "400"}
    assert doc["paths"]["/things"]["post"]["security"] == [{"apiKey": []}]
    assert doc["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_an_errors_status_and_example_come_from_the_dialects_renderer() -> None:
    house = document(_dialect(), CATALOG, version="1")["paths"]["/things"]["post"]
    ark = document(_dialect(ark_v3.render_error), CATALOG, version="1")["paths"]["/things"]["post"]
    assert "402" in house["responses"]
    assert "402" not in ark["responses"]  # the upstream says 403 AccountOverdueError
    example = ark["responses"]["403"]["content"]["application/json"]["examples"]
    assert example["InsufficientCredits"]["value"]["error"]["code"] == "AccountOverdueError"
    assert ark["responses"]["429"]["headers"]["Retry-After"]["schema"]["minimum"] == 1
    envelope = house["responses"]["400"]["content"]["application/json"]["schema"]
    assert envelope == {"$ref": "#/components/schemas/PlainError"}


def test_a_body_read_by_the_route_is_documented_and_fastapis_422_is_gone() -> None:
    doc = document(_dialect(), CATALOG, version="1")
    op = doc["paths"]["/things"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewThing"
    }
    assert "NewThing" in doc["components"]["schemas"]
    assert "x-components" not in op and "x-raises" not in op
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    header = op["parameters"][0]
    assert header["in"] == "header" and header["schema"]["type"] == "string"  # never null
    assert op["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"
    }


def test_the_whole_api_prefixes_ids_and_the_links_that_name_them() -> None:
    one, two = _dialect(name="one"), _dialect(name="two")
    doc_one = document(one, CATALOG, version="1")
    doc_two = {**document(two, CATALOG, version="1"), "paths": {}}
    whole = combined([(one, doc_one), (two, doc_two)], version="1")
    validate(whole)
    op = whole["paths"]["/things"]["post"]
    assert op["operationId"] == "one_make_thing"
    assert op["responses"]["201"]["links"]["Read"]["operationId"] == "one_read_thing"
    assert op["tags"] == ["Things (one)"]
    assert doc_one["paths"]["/things"]["post"]["operationId"] == "make_thing"  # not changed


def test_components_that_clash_between_dialects_are_refused() -> None:
    one = _dialect(name="one")
    doc = document(one, CATALOG, version="1")
    other = {"paths": {}, "components": {"schemas": {"Thing": {"type": "integer"}}}}
    with pytest.raises(ValueError, match="Thing"):
        combined([(one, doc), (_dialect(name="two"), other)], version="1")


@pytest.mark.parametrize("spec", CATALOG.models, ids=lambda m: m.id)
def test_each_models_params_schema_is_its_catalog_entry(spec: catalog_module.ModelSpec) -> None:
    schema = catalog_schemas.params_schema(spec)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {p.key for p in spec.params} | {"referenceMediaItems"}
    for param in spec.params:
        entry = schema["properties"][param.key]
        assert entry["default"] == param.default
        if param.kind == "number":
            assert (entry["minimum"], entry["maximum"]) == (param.minimum, param.maximum)
            continue
        spellings = entry["anyOf"][0]["enum"] if "anyOf" in entry else entry["enum"]
        assert spellings == list(param.options)
    names = catalog_schemas.model_names(CATALOG, spec)
    assert names[-1] == spec.id
    without_media = Mode("t2v") if "t2v" in spec.modes else None
    assert all(CATALOG.find(name, without_media) is spec for name in names)


def test_a_model_that_needs_media_requires_it() -> None:
    i2v = next(m for m in CATALOG.models if "t2v" not in m.modes)
    schema = catalog_schemas.params_schema(i2v)
    assert schema["required"] == ["referenceMediaItems"]
    assert schema["properties"]["referenceMediaItems"]["minItems"] == 1


def test_an_unknown_error_name_cannot_be_declared() -> None:
    class Odd(GatewayError):
        """Not one the builder knows."""

    router = APIRouter()

    @router.get("/odd", openapi_extra=operation(raises=(Odd,)))
    async def odd() -> JSONResponse:
        """Odd."""
        return JSONResponse({})

    dialect = Dialect(
        name="odd",
        title="Odd",
        description="",
        routers=(router,),
        render_error=default_error,
        envelope=PlainError,
    )
    with pytest.raises(KeyError, match="odd raises Odd: add an example of it to SAMPLES"):
        document(dialect, CATALOG, version="1")
