"""The Public API v1's key management (our extension): ``/api/v1/keys``.

A key with the ``keys`` scope lists, creates and revokes the keys of its own account. The new
key's plaintext is in the create response only; the server keeps its hash.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from seedance_gateway.contracts import public_v1_resources as wire
from seedance_gateway.contracts.operation import operation
from seedance_gateway.contracts.public_v1_resources import CreateApiKey
from seedance_gateway.dialects.public_v1 import (
    Caller,
    iso_time,
    parse_body,
    service_of,
)
from seedance_gateway.domain import scopes
from seedance_gateway.errors import NotFound, ValidationFailed
from seedance_gateway.store.rows import ApiKey
from seedance_gateway.web.body import read_json
from seedance_gateway.web.routing import PrefixRouter

router = PrefixRouter(prefix="/api/v1/keys")
REVOKE = wire.link("revoke_key", key_id="id")


@router.get("", responses={200: {"model": wire.ApiKeyList}})
async def list_keys(request: Request, caller: Caller) -> dict[str, Any]:
    """The account's keys, oldest first."""
    found = await service_of(request).auth.list_keys(caller)
    return {"object": "list", "data": [key_json(k, caller.key_id) for k in found]}


@router.post(
    "",
    status_code=201,
    responses={201: {"model": wire.NewApiKey, "links": {"revoke_key": REVOKE}}},
    openapi_extra=operation(body=CreateApiKey),
)
async def create_key(request: Request, caller: Caller) -> JSONResponse:
    """A new key; ``key`` (the plaintext) is shown in this response only."""
    body = _parse(await read_json(request))
    made = await service_of(request).auth.create_key(
        caller, body.name, body.scopes, body.expires_in_days
    )
    return JSONResponse({**key_json(made.key, caller.key_id), "key": made.plaintext}, 201)


@router.post(
    "/{key_id}/revoke",
    responses={200: {"model": wire.ApiKeyObject}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def revoke_key(request: Request, key_id: str, caller: Caller) -> dict[str, Any]:
    """Revokes one of the account's keys; its next request is refused (``api_key_revoked``)."""
    return key_json(await service_of(request).auth.revoke_key(caller, key_id), caller.key_id)


def key_json(key: ApiKey, current: str) -> dict[str, Any]:
    """A key as listed: never its hash or plaintext; ``current`` marks the calling key."""
    return {
        "id": key.id,
        "object": "api_key",
        "name": key.name,
        "prefix": key.prefix,
        "scopes": [s for s in scopes.ALL if s in key.scopes],
        "created_at": iso_time(key.created_at),
        "last_used_at": iso_time(key.last_used_at) if key.last_used_at else None,
        "revoked_at": iso_time(key.revoked_at) if key.revoked_at else None,
        "expires_at": iso_time(key.expires_at) if key.expires_at else None,
        "current": key.id == current,
    }


def _parse(raw: Any) -> CreateApiKey:
    """The body, or ``validation_failed`` naming the field and what a create takes."""
    try:
        return parse_body(CreateApiKey, raw)
    except ValidationFailed as exc:
        allowed = (
            "name (text), scopes (a list of: "
            + ", ".join(scopes.ALL)
            + ") and expires_in_days (a whole number)"
        )
        raise ValidationFailed(f"{exc.message}; send {allowed}", field=exc.field) from None
