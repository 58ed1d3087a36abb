"""The Public API v1's accounts (our extension): sign-in, the caller's account, admin accounts.

- ``POST /api/v1/sessions`` signs in with an email and password and answers a new API key
  (see ``seedance_gateway.accounts``); sign out by revoking it (``/api/v1/keys/{id}/revoke``).
- ``GET /api/v1/account``: the caller's account, with its role and balance.
- ``/api/v1/admin/accounts``: list and create accounts, and grant credits (admin role and the
  ``keys`` scope).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from seedance_gateway.accounts import Accounts, NewAccount
from seedance_gateway.contracts import public_v1_resources as wire
from seedance_gateway.contracts.operation import operation
from seedance_gateway.contracts.public_v1_resources import CreateAccount, GrantCredits, SignIn
from seedance_gateway.dialects.public_v1 import Caller, iso_time, parse_body
from seedance_gateway.errors import InvalidState, NotFound, RateLimited, Unauthorized
from seedance_gateway.store.rows import Account
from seedance_gateway.web.body import SMALL_BYTES, read_json
from seedance_gateway.web.routing import PrefixRouter

router = PrefixRouter(prefix="/api/v1")
GRANT = wire.link("grant", account_id="id")


def accounts_of(request: Request) -> Accounts:
    """The account use cases the composition root attached to the app."""
    accounts: Accounts = request.app.state.accounts
    return accounts


@router.post(
    "/sessions",
    status_code=201,
    responses={201: {"model": wire.Session}},
    openapi_extra=operation(body=SignIn, raises=(Unauthorized, RateLimited), public=True),
)
async def sign_in(request: Request) -> JSONResponse:
    """Signs in: a new API key for the account (``invalid_credentials`` otherwise)."""
    body = parse_body(SignIn, await read_json(request, SMALL_BYTES))
    signed = await accounts_of(request).sign_in(body.email, body.password)
    return JSONResponse(
        {
            "object": "session",
            "key": signed.key.plaintext,
            "key_id": signed.key.key.id,
            "account": account_json(signed.account),
        },
        201,
    )


@router.get("/account", responses={200: {"model": wire.AccountObject}})
async def get_account(request: Request, caller: Caller) -> dict[str, Any]:
    """The caller's account."""
    return account_json(await accounts_of(request).account(caller))


@router.get("/admin/accounts", responses={200: {"model": wire.AccountList}})
async def list_accounts(
    request: Request,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    after: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """Every account, in creation order, ``limit`` at a time after the account id ``after``."""
    found = await accounts_of(request).list_accounts(caller, limit=limit + 1, after=after)
    page = found[:limit]
    return {
        "object": "list",
        "data": [account_json(a) for a in page],
        "has_more": len(found) > limit,
        "next_cursor": page[-1].id if len(found) > limit else None,
    }


@router.post(
    "/admin/accounts",
    status_code=201,
    responses={201: {"model": wire.AccountObject, "links": {"grant": GRANT}}},
    openapi_extra=operation(body=CreateAccount, raises=(InvalidState,)),
)
async def create_account(request: Request, caller: Caller) -> JSONResponse:
    """A new account; it signs in with its email and password."""
    body = parse_body(CreateAccount, await read_json(request))
    new = NewAccount(**body.model_dump())
    return JSONResponse(account_json(await accounts_of(request).create(caller, new)), 201)


@router.post(
    "/admin/accounts/{account_id}/grants",
    responses={200: {"model": wire.AccountObject}},
    openapi_extra=operation(body=GrantCredits, raises=(NotFound,)),
)
async def grant(request: Request, account_id: str, caller: Caller) -> dict[str, Any]:
    """Adds credits to an account; answers the account with its new balance."""
    body = parse_body(GrantCredits, await read_json(request))
    account = await accounts_of(request).grant(caller, account_id, body.credits, body.note)
    return account_json(account)


def account_json(account: Account) -> dict[str, Any]:
    """An account as the API shows it (never its password hash)."""
    return {
        "id": account.id,
        "object": "account",
        "name": account.name,
        "email": account.email,
        "role": account.role,
        "current_credits": account.balance,
        "created_at": iso_time(account.created_at),
    }
