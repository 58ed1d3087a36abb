"""The Public API v1's credit history (our extension): ``/api/v1/credits/ledger`` and
``/api/v1/credits/usage``, what the console's Credits page shows."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Query, Request

from seedance_gateway.contracts import public_v1_resources as wire
from seedance_gateway.dialects.public_v1 import Caller, iso_time, service_of
from seedance_gateway.domain import ledger
from seedance_gateway.errors import ValidationFailed
from seedance_gateway.web.routing import PrefixRouter

router = PrefixRouter(prefix="/api/v1/credits")
MAX_USAGE_DAYS = 366
CURSOR = re.compile(r"[0-9]{1,10}")
MAX_ENTRY_ID = 2**31 - 1  #: the largest id the ledger's ``Integer`` column holds


@router.get("/ledger", responses={200: {"model": wire.LedgerPage}})
async def ledger_page(
    request: Request,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[str | None, Query(json_schema_extra={"pattern": "^[0-9]{1,10}$"})] = None,
) -> dict[str, Any]:
    """Ledger entries, newest first; ``after`` is the previous page's ``next_cursor``."""
    before = _cursor(after)
    entries = await service_of(request).ledger_entries(caller, limit=limit + 1, before=before)
    page = entries[:limit]
    more = len(entries) > limit
    return {
        "object": "list",
        "data": [entry_json(e) for e in page],
        "has_more": more,
        "next_cursor": str(page[-1].id) if more else None,
    }


@router.get("/usage", responses={200: {"model": wire.Usage}})
async def usage(
    request: Request,
    caller: Caller,
    days: Annotated[int, Query(ge=1, le=MAX_USAGE_DAYS)] = 30,
) -> dict[str, Any]:
    """Credits charged per model and UTC day over the last ``days`` days (today included)."""
    rows = await service_of(request).usage(caller, days)
    return {
        "object": "list",
        "days": days,
        "total_credits": sum(r.credits for r in rows),
        "data": [
            {"day": r.day.isoformat(), "model": r.model, "tasks": r.tasks, "credits": r.credits}
            for r in rows
        ],
    }


def entry_json(entry: ledger.Entry) -> dict[str, Any]:
    """One ledger entry: ``delta`` is the signed change, ``amount`` the credits it concerns."""
    return {
        "id": str(entry.id),
        "kind": str(entry.kind),
        "amount": entry.amount,
        "delta": entry.delta,
        "balance_after": entry.balance_after,
        "task_id": entry.task_id,
        "note": entry.note,
        "created_at": iso_time(entry.created_at),
    }


def _cursor(after: str | None) -> int | None:
    """The entry id ``after`` names (ASCII digits, within the id column's range)."""
    if after is None or after == "":
        return None
    if not CURSOR.fullmatch(after) or int(after) > MAX_ENTRY_ID:
        raise ValidationFailed("after must be the next_cursor of a previous page", field="after")
    return int(after)
