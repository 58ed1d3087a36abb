"""The documents this server publishes: one per wire dialect (``/openapi/<name>.json``)."""

from __future__ import annotations

from typing import Any

from seedance_gateway.catalog import Catalog
from seedance_gateway.contracts import public_v1_resources
from seedance_gateway.contracts.acedata import AceDataError, refine_acedata
from seedance_gateway.contracts.ark_v3 import ArkErrorBody, refine_ark_v3
from seedance_gateway.contracts.build import Dialect, combined, document
from seedance_gateway.contracts.catalog_schemas import refine_public_v1
from seedance_gateway.contracts.openai_videos import OpenAIErrorBody, refine_openai_videos
from seedance_gateway.contracts.public_v1 import PublicError
from seedance_gateway.contracts.seedanceapi import SeedanceApiError, refine_seedanceapi
from seedance_gateway.dialects import (
    acedata,
    ark_v3,
    default_error,
    openai_videos,
    public_v1,
    public_v1_accounts,
    public_v1_credits,
    public_v1_files,
    public_v1_keys,
    public_v1_webhooks,
    seedanceapi,
)
from seedance_gateway.web import routes

VERSION = "0.1.0"
DIALECTS: tuple[Dialect, ...] = (
    Dialect(
        name="public-v1",
        title="Public API v1",
        description="The house API: generations, models, credits, files, webhooks and keys. "
        'Errors are `{"error": {"code", "message", "requestId"}}`.',
        routers=(
            public_v1.router,
            public_v1_credits.router,
            public_v1_files.router,
            public_v1_webhooks.router,
            public_v1_keys.router,
            public_v1_accounts.router,
            routes.router,
        ),
        render_error=default_error,
        envelope=PublicError,
        refine=refine_public_v1,
        webhooks=public_v1_resources.WEBHOOKS,
    ),
    Dialect(
        name="ark-v3",
        title="Upstream API v3",
        description="The official upstream's `/api/v3` task API: the Volcengine and BytePlus "
        "Ark SDKs work against it unchanged.",
        routers=(ark_v3.router,),
        render_error=ark_v3.render_error,
        envelope=ArkErrorBody,
        refine=refine_ark_v3,
    ),
    Dialect(
        name="openai-videos",
        title="OpenAI Videos",
        description="OpenAI's `/v1/videos`: the OpenAI SDKs work against it unchanged.",
        routers=(openai_videos.router,),
        render_error=openai_videos.render_error,
        envelope=OpenAIErrorBody,
        refine=refine_openai_videos,
    ),
    Dialect(
        name="seedanceapi",
        title="Seed 003 (v1 and v2 generate)",
        description="Seed 003's `/v1/generate`, `/v2/generate` and `/v1|v2/status`.",
        routers=(seedanceapi.router,),
        render_error=seedanceapi.render_error,
        envelope=SeedanceApiError,
        refine=refine_seedanceapi,
    ),
    Dialect(
        name="acedata",
        title="Seed 004 (/seedance)",
        description="Seed 004's `/seedance/videos` and `/seedance/tasks`.",
        routers=(acedata.router,),
        render_error=acedata.render_error,
        envelope=AceDataError,
        refine=refine_acedata,
    ),
)
BY_NAME = {d.name: d for d in DIALECTS}


def documents(catalog: Catalog) -> dict[str, dict[str, Any]]:
    """Every dialect's document by name, and the whole API's under ``""``."""
    built = {d.name: document(d, catalog, version=VERSION) for d in DIALECTS}
    built[""] = combined(((d, built[d.name]) for d in DIALECTS), version=VERSION)
    return built


def index() -> dict[str, Any]:
    """What ``/openapi/index.json`` lists."""
    return {
        "documents": [
            {"name": d.name, "title": d.title, "url": f"/openapi/{d.name}.json"} for d in DIALECTS
        ]
    }
