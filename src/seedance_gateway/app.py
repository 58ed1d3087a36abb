"""``create_app(settings)``: the one composition root for the API (and in-process workers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.telemetry import TelemetryConfig
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedance_gateway import accounts as accounts_module
from seedance_gateway import catalog as catalog_module
from seedance_gateway import config, logs, media, metrics, netguard
from seedance_gateway.authentication import Authentication, KeyCache
from seedance_gateway.blobs import BlobStore
from seedance_gateway.blobs.filesystem import FilesystemBlobStore
from seedance_gateway.blobs.s3 import S3BlobStore
from seedance_gateway.dialects import (
    ErrorRoute,
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
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.ids import new_id
from seedance_gateway.errors import GatewayError, ValidationFailed
from seedance_gateway.files import Files
from seedance_gateway.providers import Provider
from seedance_gateway.providers.ark.channels import Channel, Channels, channel_name
from seedance_gateway.providers.ark.client import ArkClient
from seedance_gateway.providers.ark.runner import ArkConfig, ArkRunner
from seedance_gateway.providers.local import speed as local_speed
from seedance_gateway.providers.local import weights as local_weights
from seedance_gateway.providers.preview import PreviewProvider
from seedance_gateway.queue import Wakeup
from seedance_gateway.ratelimit import RateLimiter
from seedance_gateway.results import Results
from seedance_gateway.scratch import Scratch
from seedance_gateway.service import Service
from seedance_gateway.store import Store, migrate
from seedance_gateway.web import console, docs, fast_lane, openapi, routes, upstream_callback
from seedance_gateway.web import metrics as web_metrics
from seedance_gateway.webhooks.manage import Webhooks
from seedance_gateway.webhooks.sender import Renderer, Sender, SenderConfig
from seedance_gateway.worker import Worker

log = logging.getLogger(__name__)
#: The first route whose prefix matches renders the error: the more specific prefix first.
ERROR_ROUTES = [
    ErrorRoute("/api/v1", default_error),
    ErrorRoute(ark_v3.PREFIX, ark_v3.render_error),
    ErrorRoute(acedata.PREFIX + "/", acedata.render_error),
    ErrorRoute(openai_videos.PREFIX, openai_videos.render_error),
    *(ErrorRoute(prefix, seedanceapi.render_error) for prefix in seedanceapi.PREFIXES),
]


def create_app(settings: config.Settings, *, run_worker: bool = True) -> FastAPI:
    """The ASGI app; everything connects in its lifespan, nothing at import."""
    app = fast_lane.FastLaneApp(
        around=RequestIdMiddleware,  # the fast lane's requests get ids, logs and metrics too
        title="Seedance Gateway",
        version="0.1.0",
        lifespan=_lifespan(settings, run_worker),
        telemetry=NO_TELEMETRY,
        openapi_url=None,  # web/openapi.py publishes the contracts
        docs_url=None,
        redoc_url=None,
    )
    fast_lane.install(app, API_ROUTERS, POLLING_READS + CREATES)
    for router in API_ROUTERS:
        app.include_router(router)
    console.install(app)
    docs.install(app)
    app.include_router(openapi.router)
    app.include_router(upstream_callback.router)
    app.include_router(web_metrics.router)
    _install_request_handling(app)
    return app


#: The API's routers, in the order FastAPI tries them (``web/routing.py``): the status reads
#: and creates first.
API_ROUTERS = (
    public_v1.router,
    ark_v3.router,
    openai_videos.router,
    seedanceapi.router,
    acedata.router,
    public_v1_credits.router,
    public_v1_files.router,
    public_v1_webhooks.router,
    public_v1_keys.router,
    public_v1_accounts.router,
    routes.router,
)

#: The reads a polling client repeats, served ahead of FastAPI's stack (``web/fast_lane.py``).
POLLING_READS = (
    public_v1.get_generation,
    public_v1.get_credits,
    ark_v3.get_task,
    openai_videos.retrieve_video,
    seedanceapi.status,
)

#: Each dialect's create, also served ahead of FastAPI's routing (each reads its own body).
CREATES = (
    public_v1.create_generation,
    ark_v3.create_task,
    openai_videos.create_video,
    seedanceapi.generate_v1,
    seedanceapi.generate_v2,
)

#: FastAPI's own OpenTelemetry off: the gateway's metrics are Prometheus's (``metrics.py``),
#: and asking OpenTelemetry for its providers cost every request some CPU.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

#: Set by ``seedance serve --workers N`` for its processes: "0" when they run no worker.
RUN_WORKER_ENV = "SEEDANCE_SERVE_RUN_WORKER"


def app_from_environment() -> FastAPI:
    """The app of one process of ``seedance serve --workers N`` (uvicorn's factory): settings
    from the environment the command prepared, logs configured as ``serve`` configures them."""
    settings = config.from_env()
    logs.configure(settings.log_format)
    return create_app(settings, run_worker=os.environ.get(RUN_WORKER_ENV, "1") != "0")


def create_metrics_app(settings: config.Settings, store: Store) -> FastAPI:
    """A standalone worker's own listener: ``/metrics`` alone, with the API's ids and errors."""
    app = FastAPI(
        title="Seedance Gateway worker", openapi_url=None, docs_url=None, telemetry=NO_TELEMETRY
    )
    app.include_router(web_metrics.router)
    _install_request_handling(app)
    app.state.metrics = web_metrics.Scrape(token=settings.metrics_token, jobs=store.jobs)
    return app


def _install_request_handling(app: FastAPI) -> None:
    """Request ids, metrics and log context (the middleware), and the error envelopes; called
    once every route is in place."""
    app.add_middleware(RequestIdMiddleware, templates=_plain_route_templates(app))
    app.add_exception_handler(GatewayError, _gateway_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)


def know_catalog(catalog: catalog_module.Catalog) -> None:
    """Tells the metrics which provider serves each model (a process does it once it starts)."""
    metrics.know_models({m.id: m.provider for m in catalog.models})


def build_blobs(settings: config.Settings) -> BlobStore:
    """The blob store ``SEEDANCE_BLOBS`` names: an S3 bucket, or ``home/blobs`` on local disk."""
    if settings.blobs:
        return S3BlobStore(settings.blobs, os.environ)
    return FilesystemBlobStore(settings.home / "blobs")


def build_catalog(settings: config.Settings) -> catalog_module.Catalog:
    """The catalog, with ``SEEDANCE_ARK_MODELS`` moved to the upstream; refuses an upstream
    model that cannot be sent (no API key, or no upstream id for the region)."""
    catalog = catalog_module.load(settings.catalog_path)
    if settings.ark_models:
        catalog = catalog.routed("ark", settings.ark_models.split(","))
    for model in catalog.models:
        if model.provider != "ark":
            continue
        if not settings.ark_channel_keys:
            raise config.ConfigError(
                f"model {model.id} is served by the upstream (provider ark) but "
                "SEEDANCE_ARK_API_KEYS is empty"
            )
        if settings.ark_region not in model.upstream_ids:
            raise config.ConfigError(
                f"model {model.id} has no {settings.ark_region} upstream id in the catalog"
            )
    return _with_local_models(catalog, settings)


def _with_local_models(
    catalog: catalog_module.Catalog, settings: config.Settings
) -> catalog_module.Catalog:
    """The catalog with the shipped open-weight models when ``SEEDANCE_LOCAL_WEIGHTS`` names
    any, less those that cannot run here (logged, with why)."""
    if settings.local_weights:
        catalog = catalog.joined(catalog_module.load_local())
    reasons = local_weights.unavailable(catalog, local_weights.parse(settings.local_weights))
    local_speed.parse(settings.local_speed)  # a malformed setting stops the start, with why
    for model_id, reason in reasons.items():
        log.info("model %s is not offered: %s", model_id, reason)
    return catalog.without(reasons)


def build_upstream(
    settings: config.Settings,
    store: Store,
    catalog: catalog_module.Catalog,
    wakeup: Wakeup,
    scratch: Scratch,
) -> ArkRunner | None:
    """The upstream runner, when some model is served by provider ``ark``."""
    if not any(m.provider == "ark" for m in catalog.models):
        return None
    channels = Channels(
        [
            Channel(
                name=channel_name(key),
                client=ArkClient(
                    settings.effective_ark_base_url,
                    key,
                    timeout=settings.ark_timeout_seconds,
                    channel=channel_name(key),
                ),
                max_in_flight=settings.ark_max_in_flight,
                list_interval=settings.ark_list_interval_seconds,
            )
            for key in settings.ark_channel_keys
        ],
        rpm=settings.ark_rpm,
        redis_url=settings.redis_url,
    )
    callbacks = settings.ark_callbacks and bool(settings.public_url)
    return ArkRunner(
        config=ArkConfig(
            region=settings.ark_region,
            callback_base=settings.effective_public_url if callbacks else None,
            poll_min_seconds=settings.ark_poll_min_seconds,
            poll_max_seconds=settings.ark_poll_max_seconds,
            batch=settings.ark_batch,
            reconcile_after_seconds=settings.ark_reconcile_after_seconds,
            max_video_bytes=settings.ark_max_video_bytes,
            url_ttl_seconds=settings.url_ttl_seconds,
        ),
        store=store,
        blobs=build_blobs(settings),
        channels=channels,
        catalog=catalog,
        secret=config.load_secret(settings),
        public_url=settings.effective_public_url,
        wakeup=wakeup,
        scratch=scratch,
    )


def build_providers(
    settings: config.Settings, catalog: catalog_module.Catalog
) -> dict[str, Provider]:
    """The providers this deployment offers, by name (``local`` when it serves a local model)."""
    providers: dict[str, Provider] = {
        "preview": PreviewProvider(processes=settings.render_processes)
    }
    if any(m.provider == local_weights.PROVIDER for m in catalog.models):
        from seedance_gateway.providers.local.provider import LocalProvider  # needs [local]

        providers[local_weights.PROVIDER] = LocalProvider(
            catalog,
            local_weights.parse(settings.local_weights),
            device=settings.local_device,
            download=settings.local_download,
            speeds=local_speed.parse(settings.local_speed),
        )
    return providers


#: Webhook and callback bodies by renderer name: "webhook" for endpoints, else a task's dialect.
RENDERERS: dict[str, Renderer] = {
    wh.ENDPOINT_RENDERER: public_v1.event_json,
    "public_v1": public_v1.event_json,
    "ark_v3": ark_v3.callback_json,
    "acedata": acedata.callback_json,
    "seedanceapi": seedanceapi.callback_json,
}


def build_worker(
    settings: config.Settings,
    store: Store,
    wakeup: Wakeup,
    catalog: catalog_module.Catalog,
    scratch: Scratch,
    upstream: ArkRunner | None = None,
) -> Worker:
    """A worker with this deployment's providers, blobs and webhook sender."""
    secret = config.load_secret(settings)
    return Worker(
        settings=settings,
        store=store,
        blobs=build_blobs(settings),
        providers=build_providers(settings, catalog),
        wakeup=wakeup,
        model_providers={m.id: m.provider for m in catalog.models},
        scratch=scratch,
        sender=Sender(
            store=store.webhooks,
            renderers=RENDERERS,
            config=SenderConfig.from_settings(settings, secret),
        ),
        upstream=upstream,
    )


def build_files(
    settings: config.Settings, store: Store, blobs: BlobStore, secret: str, scratch: Scratch
) -> Files:
    """The Files use cases with this deployment's limits and fetch policy."""
    return Files(
        store=store.files,
        blobs=blobs,
        secret=secret,
        scratch=scratch,
        quota_bytes=settings.storage_quota_bytes,
        limits=media.MediaLimits(),
        fetch_policy=netguard.FetchPolicy(
            allow_private=settings.allow_private_urls,
            timeout_seconds=settings.fetch_timeout_seconds,
        ),
        upload_ttl=settings.upload_ttl,
    )


def _lifespan(
    settings: config.Settings, run_worker: bool
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        catalog = build_catalog(settings)
        know_catalog(catalog)
        url = settings.effective_database_url
        await migrate.upgrade(url)
        store = Store.open(url, max_attempts=settings.job_max_attempts)
        app.state.metrics = web_metrics.Scrape(token=settings.metrics_token, jobs=store.jobs)
        blobs = build_blobs(settings)
        limiter = RateLimiter(settings.rate_limit, settings.redis_url)
        sign_in_limiter = RateLimiter(
            accounts_module.SIGN_IN_LIMIT, settings.redis_url, subject="signing in to this email"
        )
        wakeup = Wakeup()
        secret = config.load_secret(settings)
        scratch = Scratch(settings.home / "tmp").open()
        upstream = build_upstream(settings, store, catalog, wakeup, scratch)
        app.state.service = Service(
            settings=settings,
            auth=Authentication(
                store=store, limiter=limiter, cache=KeyCache(settings.key_cache_seconds)
            ),
            catalog=catalog,
            store=store,
            blobs=blobs,
            secret=secret,
            files=build_files(settings, store, blobs, secret, scratch),
            webhooks=Webhooks(store=store.webhooks, settings=settings, secret=secret),
            results=Results(
                blobs=blobs,
                scratch=scratch,
                secret=secret,
                public_url=settings.public_url,
                url_ttl_seconds=settings.url_ttl_seconds,
                retention=settings.result_ttl,
            ),
            wake=wakeup.notify,
            upstream=upstream,
        )
        app.state.accounts = accounts_module.Accounts(
            store, sign_in_limiter, timedelta(seconds=settings.sign_in_ttl_seconds)
        )
        stop = asyncio.Event()
        worker = (
            build_worker(settings, store, wakeup, catalog, scratch, upstream)
            if run_worker
            else None
        )
        runner = asyncio.create_task(worker.run(stop)) if worker is not None else None
        try:
            yield
        finally:
            stop.set()
            wakeup.notify()
            if runner is not None and worker is not None:
                await runner
                await worker.close()
            if upstream is not None:
                await upstream.close()
            await limiter.close()
            await sign_in_limiter.close()
            await store.close()
            scratch.close()

    return lifespan


def _plain_route_templates(app: FastAPI) -> dict[object, str]:
    """The templates of the routes FastAPI routes without setting ``scope["route"]`` (plain
    Starlette routes and mounts: the API docs, the console's assets), by the endpoint it sets."""
    templates: dict[object, str] = {}
    for route in app.routes:
        if isinstance(route, Mount):
            templates[route.app] = route.path
        elif isinstance(route, Route):
            templates[route.endpoint] = route.path
    return templates


class RequestIdMiddleware:
    """Gives every request an id (``request.state.request_id``, and the log context) and every
    response ``x-request-id`` and ``X-Content-Type-Options: nosniff``; refuses a NUL in the URL;
    counts the request under its route's template (``metrics.request_answered``).

    Pure ASGI rather than ``BaseHTTPMiddleware``, which costs ~0.3 ms per request.
    """

    def __init__(self, app: ASGIApp, templates: Mapping[object, str] | None = None) -> None:
        self.app = app
        self.templates = templates or {}  #: see ``_plain_route_templates``

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        request_id = new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id
        context = logs.open_request(request_id)
        answer = _Answer(send, request_id)
        try:
            await self._answer(scope, receive, answer)
        finally:
            metrics.request_answered(
                self._template(scope), scope["method"], answer.status, time.perf_counter() - began
            )
            logs.close(context)

    def _template(self, scope: Scope) -> str | None:
        """The matched route's path template; None when no route matched.

        FastAPI puts the matched API route in ``scope["route"]``: the router's own route, whose
        path is the whole template because every router carries its prefix
        (``APIRouter(prefix=...)``; ``include_router`` adds none). Other routes leave only their
        endpoint in the scope.
        """
        route = scope.get("route")
        if route is not None:
            path: str = route.path
            return path
        return self.templates.get(scope.get("endpoint"))

    async def _answer(self, scope: Scope, receive: Receive, answer: _Answer) -> None:
        if _url_holds_nul(scope):
            refusal = ValidationFailed("the URL contains a NUL character (%00)", field="url")
            await _render(Request(scope, receive), refusal)(scope, receive, answer.send)
            return
        try:
            await self.app(scope, receive, answer.send)
        except Exception as exc:
            # Answered here, the 500 keeps the connection usable; Starlette's outermost
            # handler would re-raise and the server would drop the keep-alive connection.
            if answer.started:
                raise
            response = await _unexpected_error(Request(scope, receive), exc)
            await response(scope, receive, answer.send)


class _Answer:
    """Sends a response with the request's id and ``nosniff``, noting its status."""

    __slots__ = ("request_id", "send_on", "started", "status")

    def __init__(self, send: Send, request_id: str) -> None:
        self.send_on = send
        self.request_id = request_id
        self.started = False
        self.status = 500  #: until a response starts (a request that never answers counts so)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            headers = MutableHeaders(scope=message)
            headers.setdefault("x-request-id", self.request_id)
            headers.setdefault("x-content-type-options", "nosniff")
        await self.send_on(message)


def _url_holds_nul(scope: Scope) -> bool:
    """A NUL in the path or the query string: no store keeps it, no route takes it."""
    query: bytes = scope.get("query_string", b"")
    return "\x00" in scope["path"] or b"%00" in query or b"\x00" in query


def _render(request: Request, error: GatewayError) -> Response:
    request_id = getattr(request.state, "request_id", None) or new_id("req")
    renderer = next(
        (r.render for r in ERROR_ROUTES if request.url.path.startswith(r.prefix)), default_error
    )
    response = renderer(request, error, request_id)
    response.headers["x-request-id"] = request_id
    return response


async def _gateway_error(request: Request, exc: GatewayError) -> Response:
    return _render(request, exc)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    first = exc.errors()[0] if exc.errors() else {"loc": ("body",), "msg": "invalid"}
    field = ".".join(str(p) for p in first["loc"] if p not in ("body", "query", "header", "path"))
    return _render(request, ValidationFailed(f"{field or 'request'}: {first['msg']}", field=field))


async def _http_error(request: Request, exc: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed", 401: "api_key_missing"}
    error = GatewayError(str(exc.detail), code=codes.get(exc.status_code, "http_error"))
    error.status = exc.status_code
    return _render(request, error)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _render(
        request, GatewayError("internal error; the request id identifies it in our logs")
    )
