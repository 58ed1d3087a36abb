"""The SDK's logic, written once as generators that never touch the network (sans-IO).

A step yields what it needs: a :class:`Call` (the driver answers with a :class:`Reply`, or a
:class:`~.errors.ConnectionFailed` when the server could not be reached), a :class:`Sleep`, or
a :class:`Download`. The sync ``Client`` and the async ``AsyncClient`` are two small drivers of
the same steps, so retries, waiting and parsing exist once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from seedance_gateway.client.errors import (
    ConnectionFailed,
    TaskFailed,
    WaitTimeout,
    error_for,
)
from seedance_gateway.client.types import (
    Account,
    ApiKey,
    Generation,
    LedgerEntry,
    Page,
    Quote,
    UploadedFile,
)

T = TypeVar("T")
GENERATIONS = "/api/v1/generations"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRIES = 3
ProgressFn = Callable[[int, int | None], None]  #: (bytes so far, total bytes or None)
UpdateFn = Callable[[Generation], None]


@dataclass(frozen=True)
class Call:
    """One HTTP request to the API."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    upload: Path | None = None  #: sent as the multipart field ``file``
    form: Mapping[str, str] = field(default_factory=dict)
    retry_safe: bool = False  #: repeating it cannot do anything twice

    @property
    def safe(self) -> bool:
        return self.retry_safe or self.method == "GET"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Download:
    """Stream ``url`` into ``target``; the driver answers with the number of bytes written."""

    url: str
    target: Path
    progress: ProgressFn | None = None


Op = Call | Sleep | Download
Step = Generator[Op, Any, T]


def retry_delay(call: Call, attempt: int, reply: Reply | ConnectionFailed) -> float | None:
    """How long to wait before sending ``call`` again, or None to stop here."""
    if not call.safe or attempt >= MAX_RETRIES:
        return None
    if isinstance(reply, ConnectionFailed):
        return 0.5 * 2.0**attempt
    if reply.status not in RETRY_STATUSES:
        return None
    after = _retry_after(reply.headers)
    return min(after if after is not None else 0.5 * 2.0**attempt, 30.0)


def request(call: Call) -> Step[Any]:
    """Sends ``call`` (again, when that is safe and may help); its JSON, or a typed error."""
    attempt = 0
    while True:
        reply = yield call
        delay = retry_delay(call, attempt, reply)
        if delay is None:
            return unwrap(reply)
        attempt += 1
        yield Sleep(delay)


def unwrap(reply: Reply | ConnectionFailed) -> Any:
    """The reply's body, or the typed error it stands for."""
    if isinstance(reply, ConnectionFailed):
        raise reply
    if reply.status >= 400:
        request_id = reply.headers.get("x-request-id")
        raise error_for(reply.status, reply.body, request_id, _retry_after(reply.headers))
    return reply.body


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after", "")
    try:
        return float(value)
    except ValueError:
        return None


# -- the API ---------------------------------------------------------------------------------


def _create_body(
    model: str,
    prompt: str,
    params: Mapping[str, Any] | None,
    client_request_id: str | None = None,
    callback_url: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "prompt": prompt}
    if params:
        body["params"] = dict(params)
    if client_request_id:
        body["client_request_id"] = client_request_id
    if callback_url:
        body["callback_url"] = callback_url
    return body


def create_generation(
    model: str,
    prompt: str,
    params: Mapping[str, Any] | None = None,
    *,
    client_request_id: str | None = None,
    callback_url: str | None = None,
    idempotency_key: str | None = None,
) -> Step[Generation]:
    """``POST /api/v1/generations`` with an idempotency key, so a retry never makes two."""
    body = _create_body(model, prompt, params, client_request_id, callback_url)
    key = idempotency_key or f"sdk-{uuid.uuid4()}"
    headers = {"Idempotency-Key": key}
    answer = yield from request(
        Call("POST", GENERATIONS, json=body, headers=headers, retry_safe=True)
    )
    return Generation.from_json(answer)


def quote(model: str, prompt: str, params: Mapping[str, Any] | None = None) -> Step[Quote]:
    """The price of that create, checked like one; nothing is created or charged."""
    body = _create_body(model, prompt, params)
    answer = yield from request(Call("POST", f"{GENERATIONS}/quote", json=body, retry_safe=True))
    return Quote.from_json(answer)


def get_generation(task_id: str) -> Step[Generation]:
    answer = yield from request(Call("GET", f"{GENERATIONS}/{task_id}"))
    return Generation.from_json(answer)


def list_generations(
    *, limit: int = 20, after: str | None = None, status: str | None = None
) -> Step[Page]:
    params = {"limit": limit, "after": after, "status": status}
    query = {k: v for k, v in params.items() if v is not None}
    answer = yield from request(Call("GET", GENERATIONS, params=query))
    items = [Generation.from_json(item) for item in answer["data"]]
    return Page(items=items, next_cursor=answer.get("next_cursor"))


def cancel_generation(task_id: str) -> Step[Generation]:
    answer = yield from request(Call("POST", f"{GENERATIONS}/{task_id}/cancel", retry_safe=True))
    return Generation.from_json(answer)


def credits() -> Step[int]:
    answer = yield from request(Call("GET", "/api/v1/credits"))
    return int(answer["current_credits"])


def account() -> Step[Account]:
    answer = yield from request(Call("GET", "/api/v1/account"))
    return Account.from_json(answer)


def ledger(*, limit: int = 50, after: str | None = None) -> Step[list[LedgerEntry]]:
    """Credit movements, newest first (``after``: the last entry id already seen)."""
    query: dict[str, Any] = {"limit": limit} | ({"after": after} if after else {})
    answer = yield from request(Call("GET", "/api/v1/credits/ledger", params=query))
    return [LedgerEntry.from_json(item) for item in answer["data"]]


def list_keys() -> Step[list[ApiKey]]:
    answer = yield from request(Call("GET", "/api/v1/keys"))
    return [ApiKey.from_json(item) for item in answer["data"]]


def create_key(
    name: str, scopes: Sequence[str] | None = None, expires_in_days: int | None = None
) -> Step[ApiKey]:
    """A new key on the caller's account; its ``secret`` is in this answer only."""
    body: dict[str, Any] = {"name": name} | ({"scopes": list(scopes)} if scopes else {})
    if expires_in_days is not None:
        body["expires_in_days"] = expires_in_days
    answer = yield from request(Call("POST", "/api/v1/keys", json=body))
    return ApiKey.from_json(answer)


def revoke_key(key_id: str) -> Step[ApiKey]:
    answer = yield from request(Call("POST", f"/api/v1/keys/{key_id}/revoke", retry_safe=True))
    return ApiKey.from_json(answer)


def upload_file(path: Path, *, kind: str | None = None) -> Step[UploadedFile]:
    """``POST /api/v1/files`` (multipart); ``kind`` is image, video or audio (else guessed
    from the file name)."""
    form = {"kind": kind or _kind_of(path.name)}
    answer = yield from request(Call("POST", "/api/v1/files", upload=path, form=form))
    return UploadedFile.from_json(answer)


def wait(
    task_id: str,
    *,
    timeout: float = 900.0,
    poll: float = 1.0,
    max_poll: float = 10.0,
    on_update: UpdateFn | None = None,
) -> Step[Generation]:
    """Polls until the task ends, 1 s apart at first and then less often (up to ``max_poll``).

    Returns the succeeded task; raises :class:`TaskFailed` for any other end, and
    :class:`WaitTimeout` once the pauses between polls add up to ``timeout`` seconds.
    """
    waited, delay = 0.0, poll
    while True:
        task = yield from get_generation(task_id)
        if on_update is not None:
            on_update(task)
        if task.done:
            if task.status != "succeeded":
                raise TaskFailed(task)
            return task
        if waited >= timeout:
            raise WaitTimeout(f"task {task_id} is still {task.status} after {timeout:g} s")
        yield Sleep(delay)
        waited += delay
        delay = min(delay * 1.5, max_poll)


def generate(
    model: str,
    prompt: str,
    params: Mapping[str, Any] | None = None,
    *,
    references: Sequence[tuple[Path | str, str]] = (),
    wait_for_result: bool = True,
    timeout: float = 900.0,
    on_update: UpdateFn | None = None,
    idempotency_key: str | None = None,
) -> Step[Generation]:
    """Uploads local reference files, creates the task and (by default) waits for its end.

    ``references``: (a local path or a URL, role) pairs, e.g. ``(Path("a.png"), "first_frame")``.
    """
    items = []
    for source, role in references:
        url = source
        kind = _kind_of(str(source))
        if isinstance(source, Path):
            uploaded = yield from upload_file(source)
            url, kind = uploaded.url, uploaded.kind
        items.append({"url": str(url), "kind": kind, "role": role})
    merged = dict(params or {})
    if items:
        merged["referenceMediaItems"] = items
    task = yield from create_generation(model, prompt, merged, idempotency_key=idempotency_key)
    if on_update is not None:
        on_update(task)
    if not wait_for_result:
        return task
    return (yield from wait(task.id, timeout=timeout, on_update=on_update))


def download(task: Generation, target: Path, progress: ProgressFn | None = None) -> Step[Path]:
    """Streams the task's video into ``target``."""
    if not task.video_url:
        raise ValueError(f"task {task.id} has no video (it is {task.status})")
    yield Download(task.video_url, target, progress)
    return target


def _kind_of(url: str) -> str:
    lowered = url.lower().split("?")[0]
    if lowered.endswith((".mp4", ".mov", ".webm")):
        return "video"
    if lowered.endswith((".mp3", ".wav", ".m4a", ".aac")):
        return "audio"
    return "image"
