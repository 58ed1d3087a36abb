"""What a route tells its OpenAPI operation beyond what FastAPI sees, as ``openapi_extra``.

The routes read their JSON bodies themselves (their own limits and error messages), so FastAPI
sees no body; and the errors a route raises are our exceptions, rendered per dialect. A route
names both here; ``contracts.build`` turns the names into the dialect's responses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from seedance_gateway.errors import GatewayError

#: Where a model's schema lives in the document.
REF_TEMPLATE = "#/components/schemas/{model}"
RAISES = "x-raises"  #: the names of the ``GatewayError`` classes a route raises
PUBLIC = "x-public"  #: the route needs no API key
COMPONENTS = "x-components"  #: schemas the operation refers to, moved into ``components``


def operation(
    *,
    body: type[BaseModel] | None = None,
    raises: tuple[type[GatewayError], ...] = (),
    public: bool = False,
    body_description: str | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` for a route: its JSON ``body`` model, the errors it ``raises`` beyond
    every operation's (validation, authentication, scope, rate limit), and ``public`` when it
    needs no key."""
    extra: dict[str, Any] = {RAISES: [e.__name__ for e in raises]}
    if public:
        extra[PUBLIC] = True
    if body is not None:
        extra.update(json_body(body, body_description))
    return extra


def json_body(model: type[BaseModel], description: str | None = None) -> dict[str, Any]:
    """A required ``application/json`` request body of ``model``, with its schemas."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode="validation")
    components = {**schema.pop("$defs", {}), model.__name__: schema}
    request_body: dict[str, Any] = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": REF_TEMPLATE.format(model=model.__name__)}}
        },
    }
    if description:
        request_body["description"] = description
    return {"requestBody": request_body, COMPONENTS: components}
