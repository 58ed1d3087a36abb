"""The published contracts: ``/openapi.json`` (the whole API), ``/openapi/<dialect>.json`` and
``/openapi/index.json`` (``contracts.documents``), built once per process from its catalog."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedance_gateway.contracts import documents as contracts
from seedance_gateway.errors import NotFound

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
async def whole_api(request: Request) -> JSONResponse:
    """Every dialect's operations in one document."""
    return _json(_documents(request)[""])


@router.get("/openapi/index.json")
async def index() -> JSONResponse:
    """The documents, one per dialect."""
    return _json(contracts.index())


@router.get("/openapi/{name}.json")
async def one_dialect(request: Request, name: str) -> JSONResponse:
    """One dialect's document."""
    built = _documents(request).get(name) if name else None
    if built is None:
        known = ", ".join(d.name for d in contracts.DIALECTS)
        raise NotFound(f"no document {name!r}; the documents are: {known}")
    return _json(built)


def _documents(request: Request) -> dict[str, dict[str, Any]]:
    state = request.app.state
    built: dict[str, dict[str, Any]] | None = getattr(state, "contracts", None)
    if built is None:
        built = state.contracts = contracts.documents(state.service.catalog)
    return built


def _json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers={"Cache-Control": "no-cache"})
