"""The ``seedance`` command: serve, worker, keys, accounts, credits, models, db (and, from
``cli_client``, the client commands generate, tasks and files)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from seedance_gateway import (
    accounts,
    bootstrap,
    cli_client,
    config,
    devices,
    logs,
    serving,
    supervisor,
)
from seedance_gateway.app import (
    RUN_WORKER_ENV,
    build_catalog,
    build_upstream,
    build_worker,
    create_app,
    create_metrics_app,
    know_catalog,
)
from seedance_gateway.domain import scopes
from seedance_gateway.errors import GatewayError, NotFound
from seedance_gateway.queue import Wakeup
from seedance_gateway.scratch import Scratch
from seedance_gateway.store import Store, migrate
from seedance_gateway.web import metrics as web_metrics

app = typer.Typer(
    help="Seedance Gateway: a self-hostable API for Seedance video generation.",
    no_args_is_help=True,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
credits_app = typer.Typer(help="Grant and show credits.", no_args_is_help=True)
accounts_app = typer.Typer(
    help="Accounts that sign in to the console with an email and password.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(credits_app, name="credits")
app.add_typer(accounts_app, name="accounts")
app.add_typer(db_app, name="db")
cli_client.register(app)
console = Console()
log = logging.getLogger(__name__)
T = TypeVar("T")


def _settings() -> config.Settings:
    return config.from_env()


def _run(factory: Callable[[config.Settings], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(factory(_settings()))
    except GatewayError as exc:  # e.g. an unknown key or account: a message, not a traceback
        Console(stderr=True).print(f"[bold red]error:[/] {exc.message}", highlight=False)
        raise typer.Exit(1) from None


async def _with_store(settings: config.Settings, action: Callable[[Store], Awaitable[T]]) -> T:
    store = await bootstrap.open_store(settings)
    try:
        return await action(store)
    finally:
        await store.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only; run `seedance worker` elsewhere.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="API processes sharing the port (each runs its own worker unless --no-worker).",
        ),
    ] = 1,
) -> None:
    """Runs the API (and, unless --no-worker, the workers) in one process, or in --workers N."""
    settings = _settings().with_changes(host=host, port=port)
    _refuse_unless_deployable(settings, split=no_worker)
    logs.configure(settings.log_format)
    created = asyncio.run(bootstrap.first_key(settings))  # migrates, once, before any process
    if created is not None:
        _announce(settings, created)
    if workers > 1:  # each process makes its app, on its own socket (``serving``)
        _prepare_processes(settings, workers, run_worker=not no_worker)
        serving.run(host, port, workers)
        return
    uvicorn.run(
        create_app(settings, run_worker=not no_worker),
        host=host,
        port=port,
        log_config=None,  # uvicorn's loggers go through ``logs.configure``'s handler
        log_level="info",
        access_log=False,
    )


def _prepare_processes(settings: config.Settings, workers: int, *, run_worker: bool) -> None:
    """The environment ``serve --workers N``'s processes read their settings from; the signing
    secret exists before they start (each would otherwise make its own)."""
    config.load_secret(settings)
    os.environ.update(
        {
            "SEEDANCE_HOME": str(settings.home),
            "SEEDANCE_HOST": settings.host,
            "SEEDANCE_PORT": str(settings.port),
            RUN_WORKER_ENV: "1" if run_worker else "0",
        }
    )
    if not settings.redis_url:
        log.warning(
            "%d API processes without SEEDANCE_REDIS_URL: each counts SEEDANCE_RATE_LIMIT on "
            "its own, so a key may make up to %d times as many requests",
            workers,
            workers,
        )


def _refuse_unless_deployable(settings: config.Settings, *, split: bool) -> None:
    """Exits with the reason when this process cannot work with the others of its deployment."""
    try:
        config.require_shared_secret(settings, split=split)
    except config.ConfigError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _announce(settings: config.Settings, created: bootstrap.NewKey) -> None:
    base = settings.effective_public_url
    if settings.log_format == "json":  # the output stays one JSON object a line
        log.warning(
            "created API key %s (shown once; %d credits); console at %s/",
            created.plaintext,
            created.credits,
            base,
        )
        return
    console.print(f"\n[bold green]Created API key[/] (shown once; {created.credits} credits):\n")
    print(created.plaintext)
    console.print("\nTry it:\n")
    print(
        f"curl -s {base}/api/v1/generations -H 'Authorization: Bearer {created.plaintext}' "
        '-H \'Content-Type: application/json\' -d \'{"model": "seedance-1-0-pro", '
        '"prompt": "A cinematic product reveal with smooth camera movement"}\'\n'
    )
    console.print(f"Or open the console at {base}/ and sign in with the key.\n")


@app.command()
def worker(
    gpus: Annotated[
        str,
        typer.Option(
            "--gpus",
            help="One worker process per device, each keeping the open-weight models warm on "
            "its own and rendering one task at a time there: CUDA indices (0,1) or device "
            "names (cuda:2, cpu). Without it, one worker on SEEDANCE_LOCAL_DEVICE.",
        ),
    ] = "",
) -> None:
    """Runs workers only (for `serve --no-worker` deployments)."""
    settings = _settings()
    _refuse_unless_deployable(settings, split=True)
    logs.configure(settings.log_format)
    if not gpus:
        asyncio.run(_worker(settings))
        return
    try:
        chosen = devices.parse(gpus)
    except config.ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--gpus") from None
    if not settings.local_weights:
        log.warning("--gpus without SEEDANCE_LOCAL_WEIGHTS: no open-weight model to render")
    config.load_secret(settings)  # before the processes start: each would make its own
    log.info("one worker process per device: %s", ", ".join(chosen))
    targets = [
        (_device_worker, (devices.environment(device, n, settings),))
        for n, device in enumerate(chosen)
    ]
    supervisor.supervise(targets, "worker process")


def _device_worker(env: dict[str, str]) -> None:
    """One ``worker --gpus`` process: its device's settings, then the worker."""
    os.environ.update(env)
    settings = _settings()
    logs.configure(settings.log_format)
    asyncio.run(_worker(settings))


async def _worker(settings: config.Settings) -> None:
    catalog = build_catalog(settings)
    know_catalog(catalog)
    store = await bootstrap.open_store(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    wakeup = Wakeup()
    scratch = Scratch(settings.home / "tmp").open()
    upstream = build_upstream(settings, store, catalog, wakeup, scratch)
    runner = build_worker(settings, store, wakeup, catalog, scratch, upstream)
    try:
        async with _metrics_listener(settings, store):
            await runner.run(stop)
    finally:
        await runner.close()
        if upstream is not None:
            await upstream.close()
        await store.close()
        scratch.close()


def _metrics_listener(
    settings: config.Settings, store: Store
) -> contextlib.AbstractAsyncContextManager[None]:
    """The worker's ``/metrics`` on ``SEEDANCE_HOST:SEEDANCE_METRICS_PORT`` (none when 0)."""
    if not settings.metrics_port:
        return contextlib.nullcontext()
    app = create_metrics_app(settings, store)
    return web_metrics.listening(app, settings.host, settings.metrics_port)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A label for the key.")],
    credits: Annotated[int, typer.Option(help="Credits granted to the key's new account.")] = 0,
    key_scopes: Annotated[
        str,
        typer.Option("--scopes", help=f"Comma-separated, some of: {', '.join(scopes.ALL)}."),
    ] = ",".join(scopes.ALL),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Creates an account and an API key; the key is shown once."""
    if credits < 0:
        raise typer.BadParameter("credits must not be negative", param_hint="--credits")
    try:
        chosen = scopes.parse(key_scopes.split(","))
    except scopes.UnknownScope as exc:
        raise typer.BadParameter(str(exc), param_hint="--scopes") from None
    created = _run(
        lambda s: _with_store(
            s,
            lambda st: bootstrap.create_key(st, name=name, credits=credits, key_scopes=chosen),
        )
    )
    if as_json:
        print(
            json.dumps(
                {
                    "key": created.plaintext,
                    "id": created.key.id,
                    "account_id": created.key.account_id,
                    "credits": created.credits,
                    "scopes": [x for x in scopes.ALL if x in created.key.scopes],
                }
            )
        )
    else:
        console.print(
            f"Key [bold]{created.key.id}[/] for account {created.key.account_id} "
            f"({created.credits} credits), shown once:"
        )
        print(created.plaintext)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Lists keys (prefixes only; keys are stored hashed)."""
    keys = _run(lambda s: _with_store(s, lambda st: st.accounts.list_keys()))
    if as_json:
        rows = [
            {
                "id": key.id,
                "prefix": key.prefix,
                "name": key.name,
                "account_id": key.account_id,
                "created_at": key.created_at.isoformat(),
                "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            }
            for key in keys
        ]
        print(json.dumps(rows))
        return
    # Ids are what `keys revoke` and `credits grant` take: never cut them on narrow terminals.
    table = Table()
    table.add_column("id", no_wrap=True, min_width=max((len(k.id) for k in keys), default=2))
    table.add_column("prefix", no_wrap=True)
    table.add_column("name")
    table.add_column("account", overflow="fold")
    table.add_column("created")
    table.add_column("revoked")
    for key in keys:
        table.add_row(
            key.id,
            key.prefix + "…",
            key.name,
            key.account_id,
            key.created_at.isoformat(timespec="seconds"),
            key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key: Annotated[str, typer.Argument(help="Key id or prefix.")]) -> None:
    """Revokes a key; requests with it get 401 api_key_revoked."""
    revoked = _run(lambda s: _with_store(s, lambda st: st.accounts.revoke_key(key)))
    console.print(f"Revoked {revoked.id} ({revoked.prefix}…)")


Password = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="SEEDANCE_PASSWORD",
        help="The sign-in password (asked for when not given; or env SEEDANCE_PASSWORD).",
    ),
]


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Option(help="The account's display name.")],
    email: Annotated[str, typer.Option(help="The email it signs in with.")],
    password: Password,
    admin: Annotated[bool, typer.Option(help="An operator: sees and manages accounts.")] = False,
    credits: Annotated[int, typer.Option(help="Credits granted to the account.")] = 0,
) -> None:
    """Creates an account that signs in to the console (no key: it gets one on sign-in)."""
    new = accounts.NewAccount(
        name=name,
        email=email,
        password=password,
        role="admin" if admin else "user",
        credits=credits,
    )
    made = _run(lambda s: _with_store(s, lambda st: accounts.create_account(st, new)))
    console.print(
        f"Account [bold]{made.id}[/] ({made.email}, {made.role}, {made.balance} credits)",
        soft_wrap=True,
    )


@accounts_app.command("password")
def accounts_password(
    email: Annotated[str, typer.Argument(help="The account's email.")], password: Password
) -> None:
    """Sets an account's sign-in password."""

    async def change(store: Store) -> str:
        found = await store.accounts.sign_in_record(accounts.normalize_email(email))
        if found is None:
            raise NotFound(f"no account with email {email!r}")
        await store.accounts.set_password(found[0].id, accounts.hash_checked(password))
        return found[0].id

    account_id = _run(lambda s: _with_store(s, change))
    console.print(f"Password set for {account_id}")


@credits_app.command("grant")
def credits_grant(
    account: Annotated[str, typer.Argument(help="Account id (see `seedance keys list`).")],
    amount: Annotated[int, typer.Argument(help="Credits to add.")],
) -> None:
    """Adds credits to an account."""
    if amount <= 0:
        raise typer.BadParameter("amount must be positive", param_hint="AMOUNT")
    balance = _run(
        lambda s: _with_store(s, lambda st: st.accounts.grant(account, amount, note="cli grant"))
    )
    console.print(f"{account}: {balance} credits")


@credits_app.command("show")
def credits_show(account: Annotated[str, typer.Argument(help="Account id.")]) -> None:
    """Shows an account's balance."""
    balance = _run(lambda s: _with_store(s, lambda st: st.accounts.balance(account)))
    print(balance)


@app.command()
def models(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Lists the model catalog."""
    catalog = build_catalog(_settings())
    if as_json:
        rows: list[dict[str, Any]] = [
            {
                "id": m.id,
                "aliases": list(m.aliases),
                "modes": [str(x) for x in m.modes],
                "base_credits": m.price.base_credits,
            }
            for m in catalog.models
        ]
        print(json.dumps(rows))
        return
    table = Table()
    table.add_column("id", no_wrap=True, min_width=max(len(m.id) for m in catalog.models))
    table.add_column("modes")
    table.add_column("resolutions")
    table.add_column("credits")
    table.add_column("aliases", overflow="fold")
    for m in catalog.models:
        table.add_row(
            m.id,
            ", ".join(m.modes),
            ", ".join(m.capabilities.resolutions),
            str(m.price.base_credits),
            ", ".join(m.aliases),
        )
    console.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrates the database to the newest schema."""
    settings = _settings()
    asyncio.run(migrate.upgrade(settings.effective_database_url))
    console.print("database is up to date")


def main() -> None:
    """Entry point of the ``seedance`` script."""
    app()
