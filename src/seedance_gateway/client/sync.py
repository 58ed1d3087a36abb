"""``Client``: the blocking driver of the SDK's steps (``calls``)."""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from seedance_gateway.client import calls
from seedance_gateway.client.calls import Call, Download, ProgressFn, Sleep, Step
from seedance_gateway.client.errors import ConnectionFailed
from seedance_gateway.client.transport import Connection, reply_of, request_args, total_of
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


class Client:
    """The Public API v1, blocking. ``base_url`` and ``api_key`` default to
    ``SEEDANCE_BASE_URL`` and ``SEEDANCE_API_KEY``."""

    def __init__(
        self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = 60.0
    ) -> None:
        self.connection = Connection.resolve(base_url, api_key, timeout)
        self._http = httpx.Client(
            base_url=self.connection.base_url,
            headers=self.connection.headers(),
            timeout=timeout,
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def run(self, step: Step[T]) -> T:
        """Drives one of the ``calls`` steps to its end."""
        answer: Any = None
        while True:
            try:
                op = step.send(answer)
            except StopIteration as stop:
                result: T = stop.value
                return result
            if isinstance(op, Sleep):
                time.sleep(op.seconds)
                answer = None
            elif isinstance(op, Download):
                answer = self._download(op)
            else:
                answer = self._send(op)

    def _send(self, call: Call) -> Any:
        try:
            if call.upload is None:
                response = self._http.request(call.method, call.path, **request_args(call))
            else:
                with call.upload.open("rb") as file:
                    files = {"file": (call.upload.name, file)}
                    response = self._http.request(
                        call.method, call.path, files=files, **request_args(call)
                    )
        except httpx.TransportError as exc:
            return ConnectionFailed(f"could not reach {self.connection.base_url}: {exc}")
        return reply_of(response)

    def _download(self, op: Download) -> int:
        written = 0
        try:
            with (
                httpx.Client(timeout=self.connection.timeout) as plain,  # no key to a result URL
                plain.stream("GET", op.url) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    calls.unwrap(reply_of(response))
                total = total_of(response)
                with op.target.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
                        written += len(chunk)
                        if op.progress is not None:
                            op.progress(written, total)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"download of {op.url} failed: {exc}") from exc
        return written

    # -- the API (each line drives the step of the same name in ``calls``) ---------------

    def create_generation(
        self, model: str, prompt: str, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> Generation:
        return self.run(calls.create_generation(model, prompt, params, **kwargs))

    def get_generation(self, task_id: str) -> Generation:
        return self.run(calls.get_generation(task_id))

    def list_generations(self, **kwargs: Any) -> Page:
        return self.run(calls.list_generations(**kwargs))

    def cancel_generation(self, task_id: str) -> Generation:
        return self.run(calls.cancel_generation(task_id))

    def credits(self) -> int:
        return self.run(calls.credits())

    def quote(self, model: str, prompt: str, params: dict[str, Any] | None = None) -> Quote:
        return self.run(calls.quote(model, prompt, params))

    def account(self) -> Account:
        return self.run(calls.account())

    def ledger(self, **kwargs: Any) -> list[LedgerEntry]:
        return self.run(calls.ledger(**kwargs))

    def list_keys(self) -> list[ApiKey]:
        return self.run(calls.list_keys())

    def create_key(
        self, name: str, scopes: list[str] | None = None, expires_in_days: int | None = None
    ) -> ApiKey:
        return self.run(calls.create_key(name, scopes, expires_in_days))

    def revoke_key(self, key_id: str) -> ApiKey:
        return self.run(calls.revoke_key(key_id))

    def upload_file(self, path: Path | str, *, kind: str | None = None) -> UploadedFile:
        return self.run(calls.upload_file(Path(path), kind=kind))

    def wait(self, task_id: str, **kwargs: Any) -> Generation:
        return self.run(calls.wait(task_id, **kwargs))

    def generate(
        self, model: str, prompt: str, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> Generation:
        return self.run(calls.generate(model, prompt, params, **kwargs))

    def download(
        self, task: Generation, target: Path | str, progress: ProgressFn | None = None
    ) -> Path:
        return self.run(calls.download(task, Path(target), progress))
