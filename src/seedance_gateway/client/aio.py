"""``AsyncClient``: the asyncio driver of the SDK's steps (``calls``)."""

from __future__ import annotations

import asyncio
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


class AsyncClient:
    """The Public API v1 for asyncio; the same methods as ``Client``, awaited."""

    def __init__(
        self, base_url: str | None = None, api_key: str | None = None, *, timeout: float = 60.0
    ) -> None:
        self.connection = Connection.resolve(base_url, api_key, timeout)
        self._http = httpx.AsyncClient(
            base_url=self.connection.base_url,
            headers=self.connection.headers(),
            timeout=timeout,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def run(self, step: Step[T]) -> T:
        """Drives one of the ``calls`` steps to its end."""
        answer: Any = None
        while True:
            try:
                op = step.send(answer)
            except StopIteration as stop:
                result: T = stop.value
                return result
            if isinstance(op, Sleep):
                await asyncio.sleep(op.seconds)
                answer = None
            elif isinstance(op, Download):
                answer = await self._download(op)
            else:
                answer = await self._send(op)

    async def _send(self, call: Call) -> Any:
        try:
            if call.upload is None:
                response = await self._http.request(call.method, call.path, **request_args(call))
            else:
                with call.upload.open("rb") as file:
                    files = {"file": (call.upload.name, file)}
                    response = await self._http.request(
                        call.method, call.path, files=files, **request_args(call)
                    )
        except httpx.TransportError as exc:
            return ConnectionFailed(f"could not reach {self.connection.base_url}: {exc}")
        return reply_of(response)

    async def _download(self, op: Download) -> int:
        written = 0
        try:
            async with (
                httpx.AsyncClient(timeout=self.connection.timeout) as plain,
                plain.stream("GET", op.url) as response,
            ):
                if response.status_code >= 400:
                    await response.aread()
                    calls.unwrap(reply_of(response))
                total = total_of(response)
                with op.target.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        written += len(chunk)
                        if op.progress is not None:
                            op.progress(written, total)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"download of {op.url} failed: {exc}") from exc
        return written

    # -- the API (each line drives the step of the same name in ``calls``) ---------------

    async def create_generation(
        self, model: str, prompt: str, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> Generation:
        return await self.run(calls.create_generation(model, prompt, params, **kwargs))

    async def get_generation(self, task_id: str) -> Generation:
        return await self.run(calls.get_generation(task_id))

    async def list_generations(self, **kwargs: Any) -> Page:
        return await self.run(calls.list_generations(**kwargs))

    async def cancel_generation(self, task_id: str) -> Generation:
        return await self.run(calls.cancel_generation(task_id))

    async def credits(self) -> int:
        return await self.run(calls.credits())

    async def quote(self, model: str, prompt: str, params: dict[str, Any] | None = None) -> Quote:
        return await self.run(calls.quote(model, prompt, params))

    async def account(self) -> Account:
        return await self.run(calls.account())

    async def ledger(self, **kwargs: Any) -> list[LedgerEntry]:
        return await self.run(calls.ledger(**kwargs))

    async def list_keys(self) -> list[ApiKey]:
        return await self.run(calls.list_keys())

    async def create_key(
        self, name: str, scopes: list[str] | None = None, expires_in_days: int | None = None
    ) -> ApiKey:
        return await self.run(calls.create_key(name, scopes, expires_in_days))

    async def revoke_key(self, key_id: str) -> ApiKey:
        return await self.run(calls.revoke_key(key_id))

    async def upload_file(self, path: Path | str, *, kind: str | None = None) -> UploadedFile:
        return await self.run(calls.upload_file(Path(path), kind=kind))

    async def wait(self, task_id: str, **kwargs: Any) -> Generation:
        return await self.run(calls.wait(task_id, **kwargs))

    async def generate(
        self, model: str, prompt: str, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> Generation:
        return await self.run(calls.generate(model, prompt, params, **kwargs))

    async def download(
        self, task: Generation, target: Path | str, progress: ProgressFn | None = None
    ) -> Path:
        return await self.run(calls.download(task, Path(target), progress))
