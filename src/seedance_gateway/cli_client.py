"""The client side of ``seedance``: ``generate``, ``tasks``, ``files``, through the SDK.

The server URL and key come from ``--base-url`` / ``--api-key``, else ``SEEDANCE_BASE_URL`` /
``SEEDANCE_API_KEY``, else the config file (``SEEDANCE_CONFIG``, default
``~/.config/seedance/config.toml`` with ``base_url`` and ``api_key``). Errors print the
server's code, message and request id and exit with status 1.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from seedance_gateway.client import Client, Generation, SeedanceError, TaskFailed

T = TypeVar("T")
tasks_app = typer.Typer(help="List, show and cancel your generations.", no_args_is_help=True)
files_app = typer.Typer(help="Upload reference media.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)

BaseUrl = Annotated[
    str | None, typer.Option("--base-url", help="Server URL (or SEEDANCE_BASE_URL).")
]
ApiKey = Annotated[str | None, typer.Option("--api-key", help="API key (or SEEDANCE_API_KEY).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    """Adds the client commands to the ``seedance`` app."""
    app.command()(generate)
    app.add_typer(tasks_app, name="tasks")
    app.add_typer(files_app, name="files")


def config_file() -> dict[str, Any]:
    """The CLI's config file (empty when there is none)."""
    default = Path.home() / ".config" / "seedance" / "config.toml"
    path = Path(os.environ.get("SEEDANCE_CONFIG") or default)
    if not path.is_file():
        return {}
    with path.open("rb") as file:
        return tomllib.load(file)


@contextmanager
def client(base_url: str | None, api_key: str | None) -> Iterator[Client]:
    """An SDK client for the flags, the environment or the config file, in that order."""
    saved = config_file()
    url = base_url or os.environ.get("SEEDANCE_BASE_URL") or saved.get("base_url")
    key = api_key or os.environ.get("SEEDANCE_API_KEY") or saved.get("api_key")
    with Client(url, key) as sdk:
        yield sdk


def guarded(action: Callable[[], T]) -> T:
    """Runs ``action``; a server error is printed with its code and request id, exit status 1."""
    try:
        return action()
    except TaskFailed as exc:
        errors.print(f"[bold red]task {exc.task.id} {exc.task.status}:[/] {exc}", highlight=False)
    except SeedanceError as exc:
        errors.print(f"[bold red]error:[/] {exc}", highlight=False)
    raise typer.Exit(1)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value that reads as JSON (5, true, "x") is taken as such."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {pair!r}", param_hint="--param")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def _source(value: str) -> Path | str:
    """A URL as it is; anything else is a local file to upload."""
    if value.startswith(("http://", "https://", "data:")):
        return value
    path = Path(value)
    if not path.is_file():
        raise typer.BadParameter(f"no such file: {value}")
    return path


def generate(
    prompt: Annotated[str, typer.Argument(help="What the video shows.")],
    model: Annotated[str, typer.Option("--model", "-m", help="Model id or alias.")],
    image: Annotated[
        str | None, typer.Option("--image", help="First frame: a file or a URL.")
    ] = None,
    last: Annotated[str | None, typer.Option("--last", help="Last frame: a file or a URL.")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A model parameter, key=value.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the video.")] = True,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Save the video here.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait at most.")] = 900.0,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Generates a video; with --wait (the default) shows its progress and saves it with -o."""
    params = parse_params(param or [])
    references: list[tuple[Path | str, str]] = []
    if image:
        references.append((_source(image), "first_frame"))
    if last:
        references.append((_source(last), "last_frame"))
    with client(base_url, api_key) as sdk, _progress(quiet=as_json) as bars:
        status = bars.add_task("queued", total=100)

        def update(task: Generation) -> None:
            label = "processing" if task.status == "processing" else task.status
            bars.update(status, description=f"{task.id} {label}", completed=task.progress)

        task = guarded(
            lambda: sdk.generate(
                model,
                prompt,
                params,
                references=references,
                wait_for_result=wait,
                timeout=timeout,
                on_update=update,
            )
        )
        if task.status == "succeeded":
            bars.update(status, completed=100)
        if output is not None and task.status == "succeeded":
            download = bars.add_task("download", total=None)

            def moved(done: int, total: int | None) -> None:
                bars.update(download, completed=done, total=total)

            guarded(lambda: sdk.download(task, output, moved))
    _show(task, as_json)
    if output is not None and task.status == "succeeded" and not as_json:
        console.print(f"saved {output}")


@contextmanager
def _progress(*, quiet: bool) -> Iterator[Progress]:
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=quiet,
        transient=False,
    )
    with bars:
        yield bars


def _show(task: Generation, as_json: bool) -> None:
    if as_json:
        console.print_json(data=task.raw)
        return
    console.print(f"{task.id}  {task.status}  {task.model}  credits {task.credits}")
    if task.video_url:
        console.print(task.video_url, soft_wrap=True)
    if task.error:
        console.print(f"{task.error.get('code')}: {task.error.get('message')}")


@tasks_app.command("list")
def tasks_list(
    limit: Annotated[int, typer.Option(help="How many (1-100).")] = 20,
    status: Annotated[str | None, typer.Option(help="Only tasks with this status.")] = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Your newest generations."""
    with client(base_url, api_key) as sdk:
        page = guarded(lambda: sdk.list_generations(limit=limit, status=status))
    if as_json:
        console.print_json(data=[t.raw for t in page.items])
        return
    # Ids are what `tasks show` and `tasks cancel` take: never cut them on narrow terminals.
    table = Table()
    table.add_column("id", no_wrap=True, min_width=max((len(t.id) for t in page.items), default=2))
    for name in ("status", "model", "credits", "created"):
        table.add_column(name, overflow="fold")
    for t in page.items:
        table.add_row(t.id, t.status, t.model, str(t.credits), t.created_at)
    console.print(table)


TaskId = Annotated[str, typer.Argument(help="The task id.")]


@tasks_app.command("show")
def tasks_show(
    task_id: TaskId, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: AsJson = False
) -> None:
    """One generation."""
    _on_task(base_url, api_key, as_json, lambda sdk: sdk.get_generation(task_id))


@tasks_app.command("cancel")
def tasks_cancel(
    task_id: TaskId, base_url: BaseUrl = None, api_key: ApiKey = None, as_json: AsJson = False
) -> None:
    """Cancels a queued generation (its credits come back)."""
    _on_task(base_url, api_key, as_json, lambda sdk: sdk.cancel_generation(task_id))


def _on_task(
    base_url: str | None, api_key: str | None, as_json: bool, action: Callable[[Client], Generation]
) -> None:
    with client(base_url, api_key) as sdk:
        task = guarded(lambda: action(sdk))
    _show(task, as_json)


@files_app.command("upload")
def files_upload(
    path: Annotated[Path, typer.Argument(help="An image, video or audio file.", exists=True)],
    kind: Annotated[str | None, typer.Option(help="image, video or audio.")] = None,
    base_url: BaseUrl = None,
    api_key: ApiKey = None,
    as_json: AsJson = False,
) -> None:
    """Uploads a file; prints its id and URL (use the URL as a reference)."""
    with client(base_url, api_key) as sdk:
        uploaded = guarded(lambda: sdk.upload_file(path, kind=kind))
    if as_json:
        console.print_json(data=uploaded.raw)
    else:
        console.print(f"{uploaded.id}  {uploaded.kind}  {uploaded.size} bytes\n{uploaded.url}")
