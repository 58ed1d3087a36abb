"""Use cases over the stores, blobs and catalog: what every dialect calls.

Dialects parse their wire format, call these, and render the results; nothing here knows HTTP.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from seedance_gateway import logs, metrics, netguard
from seedance_gateway import references as refs
from seedance_gateway.authentication import Authentication, Principal
from seedance_gateway.blobs import BlobStore
from seedance_gateway.catalog import Catalog, ModelSpec
from seedance_gateway.commands import SubmitCommand
from seedance_gateway.config import Settings
from seedance_gateway.domain import ids, ledger, pricing
from seedance_gateway.domain.ids import new_id
from seedance_gateway.domain.requests import GenerationRequest, Reference, mode_of, normalize
from seedance_gateway.domain.requests import with_concrete_seed as concrete_seed
from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.errors import (
    InvalidState,
    NotFound,
    ValidationFailed,
)
from seedance_gateway.files import Files
from seedance_gateway.finals import Finals
from seedance_gateway.providers.local.weights import PROVIDER as LOCAL_PROVIDER
from seedance_gateway.results import Results
from seedance_gateway.store import Store
from seedance_gateway.store.jobs import RENDER_LOCAL
from seedance_gateway.store.tasks import Idempotency, NewTask, NumberedPage, Page, TaskFilter
from seedance_gateway.store.upstream import SUBMIT as UPSTREAM_SUBMIT
from seedance_gateway.webhooks.manage import Webhooks
from seedance_gateway.webhooks.policy import outbound_policy

MAX_IDEMPOTENCY_KEY = 255
#: Providers that carry a task on a remote service (a durable state machine, not one call).
UPSTREAM_PROVIDERS = ("ark",)


def _first_job(provider: str) -> str:
    """The job a new task queues: hand it to the upstream, render it on a worker's device
    (open-weight models), or render it here."""
    if provider in UPSTREAM_PROVIDERS:
        return UPSTREAM_SUBMIT
    return RENDER_LOCAL if provider == LOCAL_PROVIDER else "generate"


#: Providers whose running tasks can be cancelled: they stop at their next progress report.
STOPS_MID_RUN = (LOCAL_PROVIDER,)
WATCH_SECONDS = 0.5  #: how often ``watch`` reads a task it streams


class UpstreamCancel(Protocol):
    """Cancels a task on the upstream before it is cancelled here."""

    async def cancel(self, task_id: str) -> None:
        """Returns once the upstream will not run it; raises when it cannot be cancelled now."""
        ...


@dataclass(frozen=True, kw_only=True)
class Quote:
    """A price, and the normalized request it is for."""

    credits: int
    request: GenerationRequest


@dataclass(frozen=True, kw_only=True)
class Submission:
    """The task a create produced, and whether it was a replay of an earlier one."""

    task: Task
    replayed: bool


class Service:
    """The application's use cases."""

    def __init__(
        self,
        *,
        settings: Settings,
        auth: Authentication,
        catalog: Catalog,
        store: Store,
        blobs: BlobStore,
        secret: str,
        files: Files,
        webhooks: Webhooks,
        results: Results,
        wake: Callable[[], None] = lambda: None,
        upstream: UpstreamCancel | None = None,
    ) -> None:
        self.settings = settings
        self.auth = auth
        self.results = results
        self.catalog = catalog
        self.store = store
        self.blobs = blobs
        self.secret = secret
        self.files = files
        self.webhooks = webhooks
        self.wake = wake
        self.upstream = upstream
        self.finals = Finals(store.tasks)

    def resolve_model(
        self, name: str, items: tuple[refs.IncomingReference, ...] = (), *, field: str = "model"
    ) -> ModelSpec:
        """The catalog model for a name the client sent."""
        if not name:
            raise ValidationFailed(f"{field} is required", field=field)
        field_of_refs = items[0].field.split("[")[0] if items else "references"
        roles = tuple(_role_only(i) for i in refs.assign_roles(list(items)))
        mode = mode_of(roles, field=field_of_refs)
        spec = self.catalog.find(name, mode)
        if spec is None:
            known = ", ".join(m.id for m in self.catalog.models)
            raise ValidationFailed(
                f"{field} {name!r} is not a known model; use one of: {known}", field=field
            )
        return spec

    def quote(self, command: SubmitCommand) -> Quote:
        """The price of ``command`` with the same checks as a submit (references by role only)."""
        _check_assets(command)
        roles = tuple(_role_only(i) for i in refs.assign_roles(list(command.references)))
        request = self._normalize(command, roles)
        return Quote(credits=pricing.quote(command.spec, request), request=request)

    async def submit(self, principal: Principal, command: SubmitCommand) -> Submission:
        """Validates, prices, holds credits and queues the task (or replays an earlier one)."""
        task_id = new_id("task")
        if command.draft_task_id is not None:
            command = await self.finals.command(principal.account_id, command)
        quoted = self.quote(command)  # the cheap checks first, before any media is fetched
        items = refs.assign_roles(list(command.references))
        await self._check_callback(command)
        resolved = await self.files.resolve(principal.account_id, task_id, items)
        try:
            if resolved:  # normalized and priced again with the media as fetched
                request = self._normalize(command, resolved)
                quoted = Quote(credits=pricing.quote(command.spec, request), request=request)
            new = self._new_task(principal, command, task_id, quoted)
            task, replayed = await self.store.tasks.submit(
                new,
                idempotency=self._idempotency(command),
                max_in_flight=self.settings.max_in_flight,
            )
        except BaseException:
            await self.files.drop(resolved)
            raise
        logs.bind(task_id=task.id)  # the new task, or the one a replay returns
        if replayed:
            await self.files.drop(resolved)
        else:
            metrics.task_created(task.model, task.dialect, command.spec.provider)
            self.wake()
        return Submission(task=task, replayed=replayed)

    def _new_task(
        self, principal: Principal, command: SubmitCommand, task_id: str, quoted: Quote
    ) -> NewTask:
        request = quoted.request
        return NewTask(
            id=task_id,
            account_id=principal.account_id,
            api_key_id=principal.key_id,
            dialect=command.dialect,
            model=command.spec.id,
            model_alias=command.model_alias,
            request=concrete_seed(request).to_json(),
            quote=quoted.credits,
            expires_at=datetime.now(UTC) + timedelta(seconds=request.expires_after),
            client_request_id=command.client_request_id,
            request_id=command.request_id,
            wire_request=command.wire_request,
            job_kind=_first_job(command.spec.provider),
        )

    async def get(self, principal: Principal, task_id: str) -> Task:
        """A task of the caller's account by any spelling of its id (``not_found`` otherwise)."""
        canonical = ids.task_id_of(task_id)
        if ids.is_task_id(canonical):  # what a client sent reaches the logs only if it is one
            logs.bind(task_id=canonical)
        return await self.store.tasks.get(canonical, principal.account_id)

    async def ledger_entries(
        self, principal: Principal, *, limit: int, before: int | None
    ) -> list[ledger.Entry]:
        """The caller's account's ledger entries, newest first."""
        return await self.store.accounts.entries(principal.account_id, limit=limit, before=before)

    async def usage(self, principal: Principal, days: int) -> list[ledger.DailyUsage]:
        """Credits charged per model and UTC day over the last ``days`` days (today included)."""
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        since = today - timedelta(days=days - 1)
        return ledger.daily_usage(await self.store.accounts.charges(principal.account_id, since))

    async def watch(
        self, principal: Principal, task_id: str, *, every: float = WATCH_SECONDS
    ) -> AsyncIterator[Task]:
        """The task now, then each time its status or progress changes, until it ends.

        Reads the task every ``every`` seconds (a deleted task ends the watch). Check the
        task exists first (``get``): this generator raises ``not_found`` only once iterated.
        """
        task = await self.get(principal, task_id)
        seen = None
        while True:
            state = (task.status, task.progress, task.updated_at)
            if state != seen:
                seen = state
                yield task
            if task.status.terminal:
                return
            await asyncio.sleep(every)
            try:
                task = await self.get(principal, task.id)
            except NotFound:
                return

    async def get_by_trace(self, principal: Principal, trace_id: str) -> Task:
        """The task a create request made, by the UUID spelling of its request id."""
        request_id = ids.from_uuid(trace_id, "req")
        if request_id is None:
            raise NotFound(f"no task for trace id {trace_id!r}")
        return await self.store.tasks.by_request_id(request_id, principal.account_id)

    async def tasks_page(
        self, principal: Principal, *, page: int, size: int, where: TaskFilter
    ) -> NumberedPage:
        """A numbered page of the caller's tasks; ids and model names in any spelling."""
        model = where.model
        if model:
            spec = self.catalog.find(model)
            model = spec.id if spec else model
        where = dataclasses.replace(
            where, model=model, task_ids=tuple(ids.task_id_of(i) for i in where.task_ids)
        )
        return await self.store.tasks.numbered_page(
            principal.account_id, page=page, size=size, where=where
        )

    async def list_tasks(
        self,
        principal: Principal,
        *,
        limit: int,
        after: str | None,
        status: str | None,
        model: str | None,
        oldest_first: bool = False,
    ) -> Page:
        """The caller's tasks, newest first unless ``oldest_first``; ``after`` in any spelling."""
        model_id = None
        if model:
            spec = self.catalog.find(model)
            model_id = spec.id if spec else model
        return await self.store.tasks.list(
            principal.account_id,
            limit=limit,
            after=ids.task_id_of(after) if after else None,
            status=status,
            model=model_id,
            oldest_first=oldest_first,
        )

    async def cancel(self, principal: Principal, task_id: str) -> Task:
        """Cancels a queued task and releases its credits (upstream first, if it is there);
        on a model made by a provider that stops mid-run (``local``), a running one too."""
        task = await self.get(principal, task_id)
        if task.status is Status.QUEUED:
            await self._cancel_upstream(task)
        spec = self.catalog.find(task.model)
        running = spec is not None and spec.provider in STOPS_MID_RUN
        return await self.store.tasks.cancel(task.id, principal.account_id, running=running)

    async def upstream_callback(
        self, task_id: str, secret: str, *, finished_as: str | None = None
    ) -> bool:
        """An upstream callback for one of our tasks: check it now (False: not a valid one).

        ``finished_as``: the upstream id the callback says has succeeded (its copy starts now).
        """
        if not await self.store.upstream.nudge(task_id, secret, finished_as=finished_as):
            return False
        self.wake()
        return True

    async def cancel_or_delete(self, principal: Principal, task_id: str) -> None:
        """The upstream's ``DELETE``: cancels a queued task, deletes a finished one.

        A running or cancelled task is refused (``invalid_state``).
        """
        task = await self.get(principal, task_id)
        if task.status is Status.QUEUED:
            task = await self._cancel_if_queued(principal, task)
            if task.status is Status.CANCELLED:
                return
        if task.status in (Status.RUNNING, Status.QUEUED, Status.CANCELLED):
            raise InvalidState(
                f"task {task_id} is {task.status}; a running or cancelled task cannot be "
                "cancelled or deleted"
            )
        await self.store.tasks.delete(task.id, principal.account_id)

    async def delete(self, principal: Principal, task_id: str) -> Task:
        """Deletes a finished task; a queued one is cancelled first (credits released).

        A running task is refused (``invalid_state``): it can be deleted once it has ended.
        """
        task = await self._cancel_if_queued(principal, await self.get(principal, task_id))
        if not task.status.terminal:
            raise InvalidState(
                f"task {task_id} is {task.status}; it can be deleted once it has ended"
            )
        await self.store.tasks.delete(task.id, principal.account_id)
        return task

    async def _cancel_if_queued(self, principal: Principal, task: Task) -> Task:
        """The task after cancelling it if it is queued (as it stands if it started meanwhile)."""
        if task.status is not Status.QUEUED:
            return task
        await self._cancel_upstream(task)
        try:
            return await self.store.tasks.cancel(task.id, principal.account_id)
        except InvalidState:
            return await self.get(principal, task.id)  # it started meanwhile

    async def _cancel_upstream(self, task: Task) -> None:
        """A queued task the upstream carries is cancelled there first (or not at all)."""
        spec = self.catalog.find(task.model)
        if self.upstream is not None and spec is not None and spec.provider in UPSTREAM_PROVIDERS:
            await self.upstream.cancel(task.id)

    async def credits(self, principal: Principal) -> int:
        """The caller's balance."""
        return await self.store.accounts.balance(principal.account_id)

    def _normalize(
        self, command: SubmitCommand, references: tuple[Reference, ...]
    ) -> GenerationRequest:
        return normalize(
            command.spec,
            prompt=command.prompt,
            fields=command.fields,
            references=references,
            names=command.names,
            callback_url=command.callback_url,
            callback_statuses=command.callback_statuses,
            expires_after=command.expires_after or self.settings.default_expires_after,
        )

    async def _check_callback(self, command: SubmitCommand) -> None:
        if command.callback_url is None:
            return
        field = command.names.get("callback_url", "callback_url")
        if not command.callback_url:
            raise ValidationFailed(f"{field} must not be empty", field=field)
        await netguard.check_url(command.callback_url, outbound_policy(self.settings), field=field)

    def _idempotency(self, command: SubmitCommand) -> Idempotency | None:
        key = command.idempotency_key or command.client_request_id
        if not key:
            return None
        if len(key) > MAX_IDEMPOTENCY_KEY:
            raise ValidationFailed(
                f"Idempotency-Key is {len(key)} characters; at most {MAX_IDEMPOTENCY_KEY} allowed",
                field="Idempotency-Key",
            )
        return Idempotency(
            key=key,
            fingerprint=command.fingerprint,
            ttl_seconds=self.settings.idempotency_ttl_seconds,
        )


def _check_assets(command: SubmitCommand) -> None:
    """``asset://`` references only for a model the upstream makes (they pass through to it)."""
    if command.spec.provider in UPSTREAM_PROVIDERS:
        return
    for item in command.references:
        if refs.is_asset(item.url):
            raise ValidationFailed(
                f"{item.field}.url: {item.url.strip()[:100]} is one of the upstream's trusted "
                f"assets; {command.spec.id} is made by this server ({command.spec.provider}), "
                "which cannot read them: send the image itself, or use a model routed to the "
                "upstream",
                field=f"{item.field}.url",
            )


def _role_only(item: refs.IncomingReference) -> Reference:
    return Reference(role=item.role or f"reference_{item.kind}", kind=item.kind, url="")
