"""The upstream state machine's steps: submit once, check in batches, copy the result home.

* ``submit`` (job ``upstream_submit``): take an in-flight slot on a channel (or wait in our queue
  when every channel is full), write the row, then send the create. What happens next depends on
  the outcome (``client``): the upstream id is stored; or the slot is freed and the job retried,
  on another channel if this one is cooling down; or the row turns ``ambiguous`` and reconciling
  decides; or the task fails with the upstream's code.
* ``Poller``: per channel, leases the rows due for a check and asks about up to ``batch`` of them
  in one list call (``filter.task_ids``), on an adaptive schedule; an inbound callback only makes
  its task due now. Ambiguous rows are reconciled through the list of the model's newest tasks,
  matched by the seed we sent and the time window; only when none matches (after
  ``reconcile_after``) is the task sent again.
* ``fetch`` (job ``upstream_fetch``): re-reads the task for fresh URLs, streams the video (and
  last frame) into our blobs under a size cap, checks the video decodes, then the worker settles
  the task ``succeeded`` (capturing the hold).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from seedance_gateway import logs, media
from seedance_gateway.blobs import BlobStore
from seedance_gateway.blobs.signing import signed_url
from seedance_gateway.catalog import Catalog, ModelSpec
from seedance_gateway.domain.requests import GenerationRequest
from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.errors import (
    InvalidState,
    ProviderRejected,
    ProviderUnavailable,
    UpstreamUnavailable,
)
from seedance_gateway.providers.ark import wire
from seedance_gateway.providers.ark.channels import Channel, Channels
from seedance_gateway.providers.ark.client import (
    Accepted,
    Ambiguous,
    NotArrived,
    Refused,
    TooLarge,
    Unreachable,
)
from seedance_gateway.queue import Wakeup
from seedance_gateway.scratch import Scratch
from seedance_gateway.store import Store
from seedance_gateway.store.rows import Job
from seedance_gateway.store.upstream import Checked, Handoff, TaskGone, UpstreamTask

log = logging.getLogger(__name__)
CLOCK_SKEW_SECONDS = 120  #: how far the upstream's clock may be from ours when reconciling
RECONCILE_PAGES = 5  #: pages of the model's newest tasks searched for an ambiguous create
CHECK_LEASE_SECONDS = 60.0  #: a claimed check is due again after this if the poller dies
ACCOUNT_REFUSALS = {401, 403}  #: the channel's key or account is at fault: try another channel


@dataclass(frozen=True, kw_only=True)
class ArkConfig:
    """The provider's settings (``SEEDANCE_ARK_*``)."""

    region: str  #: which ``upstream_ids`` of the catalog: volcengine | byteplus
    callback_base: str | None  #: our public URL for inbound callbacks; None sends none
    poll_min_seconds: float = 2.0
    poll_max_seconds: float = 30.0
    batch: int = 100  #: task ids per list call
    reconcile_after_seconds: float = 30.0
    max_video_bytes: int = 512 * 1024 * 1024
    slot_wait_seconds: float = 2.0  #: how long a task waits before asking for a slot again
    url_ttl_seconds: int = 86400  #: lifetime of the signed URLs of reference video and audio


class ArkRunner:
    """Runs the upstream steps for tasks of models whose provider is ``ark``."""

    def __init__(
        self,
        *,
        config: ArkConfig,
        store: Store,
        blobs: BlobStore,
        channels: Channels,
        catalog: Catalog,
        secret: str,
        public_url: str,
        wakeup: Wakeup,
        scratch: Scratch,
    ) -> None:
        self.config = config
        self.scratch = scratch
        self.store = store
        self.blobs = blobs
        self.channels = channels
        self.catalog = catalog
        self.secret = secret
        self.public_url = public_url.rstrip("/")
        self.wakeup = wakeup

    async def close(self) -> None:
        """Closes the channels' connections."""
        await self.channels.close()

    # -- submit ------------------------------------------------------------------------------

    async def submit(self, job: Job) -> None:
        """Hands the job's task to the upstream once (see the module docstring)."""
        task = await self.store.tasks.get(job.task_id or "")
        logs.bind(account_id=task.account_id)
        if task.status.terminal:
            await self.store.jobs.hand_off(job)
            return
        request = GenerationRequest.from_json(task.request)
        spec = self._spec(task)
        draft = await self._draft_row(request)
        candidates = [
            c for c in self.channels.candidates() if draft is None or c.name == draft.channel
        ]
        if not candidates:
            await self.store.jobs.defer(job, self.config.slot_wait_seconds, "every channel cools")
            return
        handoff = Handoff(
            channel="",
            upstream_model=self._upstream_model(spec),
            seed=request.seed if spec.capabilities.seed else None,
            service_tier=request.service_tier,
            callback_secret=secrets.token_urlsafe(24),
        )
        limits = [(c.name, c.max_in_flight) for c in candidates]
        try:
            slot = await self.store.upstream.claim_slot(job, limits, handoff)
        except TaskGone:
            await self.store.jobs.hand_off(job)
            return
        if slot is None:
            await self.store.jobs.defer(
                job, self.config.slot_wait_seconds, "waiting for an upstream in-flight slot"
            )
            return
        if not slot.fresh:
            await self._resume(job, slot.row)
            return
        await self._send(job, task, request, spec, slot.row, draft)

    async def _draft_row(self, request: GenerationRequest) -> UpstreamTask | None:
        """A final's draft as sent upstream: the final goes to the same channel (upstream ids
        belong to one account) and names the draft's upstream id."""
        if request.draft_task_id is None:
            return None
        row = await self.store.upstream.get(request.draft_task_id)
        if row is None or row.upstream_id is None:
            raise ProviderRejected(
                f"the draft {request.draft_task_id} was not made upstream, so the upstream "
                "cannot make its final; make a new draft",
                code="draft_not_upstream",
            )
        if row.channel not in self.channels.by_name:
            raise ProviderRejected(
                f"the draft {request.draft_task_id} was made on channel {row.channel}, which "
                "is no longer configured; make a new draft",
                code="draft_not_upstream",
            )
        return row

    async def _resume(self, job: Job, row: UpstreamTask) -> None:
        """An earlier attempt got as far as ``row``: never send blindly again."""
        if row.state == "submitting":  # it died mid-request: the create may have arrived
            await self.store.upstream.ambiguous(row.task_id, "interrupted while sending", _now())
            self.wakeup.notify()
        await self.store.jobs.hand_off(job)

    async def _send(
        self,
        job: Job,
        task: Task,
        request: GenerationRequest,
        spec: ModelSpec,
        row: UpstreamTask,
        draft: UpstreamTask | None,
    ) -> None:
        channel = self.channels.by_name[row.channel]
        if not await self.channels.take_create(channel):
            await self.store.upstream.release(task.id)
            await self.store.jobs.defer(job, 1.0, f"{channel.name} is at its requests per minute")
            return
        body = wire.create_body(
            request,
            spec,
            upstream_model=row.upstream_model,
            media_urls={} if draft is not None else await self._media_urls(request),
            expires_after=_seconds_left(task),
            callback_url=self._callback_url(task.id, row.callback_secret),
            draft_upstream_id=draft.upstream_id if draft is not None else None,
        )
        outcome = await channel.client.create(body, client_request_id=task.id)
        if isinstance(outcome, Accepted):
            await self.store.upstream.accepted(job, outcome.id, self._first_check())
            self.wakeup.notify()
        elif isinstance(outcome, Ambiguous):
            log.warning("create of task %s is ambiguous: %s", task.id, outcome.reason)
            retry_at = _now() + timedelta(seconds=min(5.0, self.config.reconcile_after_seconds))
            await self.store.upstream.ambiguous(task.id, outcome.reason, retry_at)
            await self.store.jobs.hand_off(job)
        elif isinstance(outcome, NotArrived):
            await self._not_arrived(job, channel, outcome)
        else:
            await self._refused(job, channel, outcome)

    async def _not_arrived(self, job: Job, channel: Channel, outcome: NotArrived) -> None:
        """No task was made: free the slot; the next attempt may take another channel."""
        log.warning("create on %s did not arrive: %s", channel.name, outcome.reason)
        channel.cool_down(outcome.retry_after)
        await self.store.upstream.release(job.task_id or "")
        if outcome.status == 429:  # over the upstream's limits: wait, it is no failure
            await self.store.jobs.defer(job, outcome.retry_after or 2.0, outcome.reason)
            return
        raise ProviderUnavailable(outcome.reason)

    async def _refused(self, job: Job, channel: Channel, outcome: Refused) -> None:
        await self.store.upstream.release(job.task_id or "")
        if outcome.status in ACCOUNT_REFUSALS and len(self.channels.all) > 1:
            channel.cool_down(60.0)
            raise ProviderUnavailable(f"{channel.name} refused: {outcome.code}: {outcome.message}")
        raise ProviderRejected(outcome.message, code=outcome.code)

    async def _media_urls(self, request: GenerationRequest) -> dict[int, str]:
        """Images travel inline (``data:``); video and audio as signed URLs to our blobs."""
        urls: dict[int, str] = {}
        for index, ref in enumerate(request.references):
            if ref.blob_key is None:
                urls[index] = ref.url
            elif ref.kind == "image":
                data = base64.b64encode(await self.blobs.read(ref.blob_key)).decode()
                urls[index] = f"data:{ref.mime_type or 'image/png'};base64,{data}"
            else:
                urls[index] = signed_url(
                    self.public_url, self.secret, ref.blob_key, self.config.url_ttl_seconds
                )
        return urls

    def _callback_url(self, task_id: str, secret: str) -> str | None:
        if self.config.callback_base is None:
            return None
        return f"{self.config.callback_base.rstrip('/')}/upstream/ark/{task_id}/{secret}"

    def _first_check(self) -> datetime:
        return _now() + timedelta(seconds=self.config.poll_min_seconds)

    def _spec(self, task: Task) -> ModelSpec:
        spec = self.catalog.find(task.model)
        if spec is None:
            raise ProviderRejected(f"model {task.model} is no longer in the catalog")
        return spec

    def _upstream_model(self, spec: ModelSpec) -> str:
        model = spec.upstream_ids.get(self.config.region)
        if model is None:
            raise ProviderRejected(f"model {spec.id} has no {self.config.region} upstream id")
        return model

    # -- checks --------------------------------------------------------------------------

    async def check_due(self) -> int:
        """One round over every channel: the rows due now, in batches; how many were checked."""
        counts = await asyncio.gather(*(self._check_channel(c) for c in self.channels.all))
        return sum(counts)

    async def _check_channel(self, channel: Channel) -> int:
        try:
            rows = await self.store.upstream.claim_due(
                channel.name, self.config.batch, CHECK_LEASE_SECONDS
            )
            for row in rows:
                if row.state == "ambiguous":
                    await self._reconcile(channel, row)
            active = [r for r in rows if r.state == "active" and r.upstream_id]
            for tier in sorted({r.service_tier for r in active}):
                await self._check_batch(channel, [r for r in active if r.service_tier == tier])
            return len(rows)
        except Exception:
            log.exception("checking tasks on %s failed", channel.name)
            return 0

    async def _check_batch(self, channel: Channel, rows: list[UpstreamTask]) -> None:
        await _pace(channel)
        try:
            found = await channel.client.lookup(
                [r.upstream_id or "" for r in rows], service_tier=rows[0].service_tier
            )
        except Unreachable as exc:
            log.warning("list on %s failed: %s", channel.name, exc)
            for row in rows:
                await self.store.upstream.reschedule(
                    row.task_id, self._backoff(row), error=str(exc)
                )
            return
        by_id = {task.id: task for task in found}
        answers: list[tuple[UpstreamTask, wire.RemoteTask]] = []
        for row in rows:
            remote = by_id.get(row.upstream_id or "")
            if remote is None:
                remote = await self._get_one(channel, row)
                if remote is None:
                    continue
            answers.append((row, remote))
        await self.apply(answers)

    async def _get_one(self, channel: Channel, row: UpstreamTask) -> wire.RemoteTask | None:
        """A task the list left out: asked about alone; one the upstream lost ends here."""
        try:
            remote = await channel.client.get(row.upstream_id or "")
        except Unreachable as exc:
            await self.store.upstream.reschedule(row.task_id, self._backoff(row), error=str(exc))
            return None
        if remote is None:
            log.warning("upstream task %s of %s is gone", row.upstream_id, row.task_id)
            error = {
                "code": "upstream_task_missing",
                "message": "the upstream no longer has this task; nothing was charged",
            }
            await self.store.upstream.end(row.task_id, Status.FAILED, error)
        return remote

    async def apply(self, answers: list[tuple[UpstreamTask, wire.RemoteTask]]) -> None:
        """Moves tasks on by what the upstream says about them: every task that goes on in one
        transaction; each that ended (its credits released) in one of its own."""
        checks: list[Checked] = []
        for row, remote in answers:
            status = remote.mapped
            if status is None:
                log.warning(
                    "task %s: unknown upstream status %r; asking again later",
                    row.task_id,
                    remote.status,
                )
                checks.append(
                    Checked(
                        task_id=row.task_id,
                        upstream_status=remote.status[:40],
                        next_check_at=_now() + timedelta(seconds=self.config.poll_max_seconds),
                        error=f"unknown upstream status {remote.status!r}",
                    )
                )
            elif not status.terminal or status is Status.SUCCEEDED:
                checks.append(
                    Checked(
                        task_id=row.task_id,
                        upstream_status=str(status),
                        next_check_at=self._next_check(row),
                        finished=status is Status.SUCCEEDED,
                    )
                )
            else:
                await self.store.upstream.end(row.task_id, status, _end_error(status, remote))
        if checks and await self.store.upstream.record(checks):
            self.wakeup.notify()

    def _next_check(self, row: UpstreamTask) -> datetime:
        """Young tasks often, old ones less: a tenth of the age, within the configured bounds.

        With callbacks the upstream tells us when a task ends, so checks are only the safety
        net for a lost callback and come at the longest interval.
        """
        age = (_now() - row.submitted_at).total_seconds()
        delay = min(max(age / 10, self.config.poll_min_seconds), self.config.poll_max_seconds)
        if self.config.callback_base is not None:
            delay = self.config.poll_max_seconds
        return _now() + timedelta(seconds=delay)

    def _backoff(self, row: UpstreamTask) -> datetime:
        delay = min(
            self.config.poll_min_seconds * 2 ** min(row.checks, 6), self.config.poll_max_seconds
        )
        return _now() + timedelta(seconds=delay)

    # -- reconciliation ------------------------------------------------------------------

    async def _reconcile(self, channel: Channel, row: UpstreamTask) -> None:
        """Finds an ambiguous create upstream, or sends it again once it surely is not there."""
        try:
            match = await self._find_sent(channel, row)
        except Unreachable as exc:
            await self.store.upstream.reschedule(row.task_id, self._backoff(row), error=str(exc))
            return
        if match is not None:
            log.info("task %s: ambiguous create found upstream as %s", row.task_id, match)
            await self.store.upstream.adopt(row.task_id, match)
            return
        waited = (_now() - row.submitted_at).total_seconds()
        if waited < self.config.reconcile_after_seconds:
            await self.store.upstream.reschedule(row.task_id, _now() + timedelta(seconds=2))
            return
        log.warning("task %s: create never arrived upstream; sending it again", row.task_id)
        if await self.store.upstream.resubmit(row.task_id, self.store.tasks.max_attempts):
            self.wakeup.notify()

    async def _find_sent(self, channel: Channel, row: UpstreamTask) -> str | None:
        """The upstream id of the task our ambiguous create made, if it made one."""
        earliest = int(row.submitted_at.timestamp()) - CLOCK_SKEW_SECONDS
        candidates: list[wire.RemoteTask] = []
        for page in range(1, RECONCILE_PAGES + 1):
            await _pace(channel)
            items = await channel.client.recent(
                row.upstream_model, service_tier=row.service_tier, page=page
            )
            candidates += [t for t in items if (t.created_at or 0) >= earliest and _same(t, row)]
            if not items or min(t.created_at or 0 for t in items) < earliest:
                break
        known = await self.store.upstream.known_ids([t.id for t in candidates])
        fresh = sorted(
            (t for t in candidates if t.id not in known), key=lambda t: t.created_at or 0
        )
        return fresh[0].id if fresh else None

    # -- fetch ---------------------------------------------------------------------------

    async def fetch(self, job: Job) -> dict[str, Any] | None:
        """Copies a finished task's video home; the result to settle with.

        None: nothing to do, or the upstream has not finished after all (checked again later).
        """
        row = await self.store.upstream.get(job.task_id or "")
        task = await self.store.tasks.get(job.task_id or "")
        logs.bind(account_id=task.account_id)
        if task.status.terminal:  # cancelled or expired meanwhile: nothing to copy or check
            await self.store.upstream.done(task.id)
            return None
        if row is None or row.upstream_id is None:
            return None
        channel = self.channels.by_name.get(row.channel)
        if channel is None:
            raise ProviderUnavailable(f"channel {row.channel} is no longer configured")
        try:
            remote = await channel.client.get(row.upstream_id)
        except Unreachable as exc:
            raise ProviderUnavailable(str(exc)) from exc
        if remote is not None and remote.mapped is not Status.SUCCEEDED:
            await self._not_finished(row, remote)
            return None
        if remote is None or not remote.video_url:
            raise ProviderRejected(
                "the upstream finished the task but no longer offers its video",
                code="result_unavailable",
            )
        workdir = self.scratch.folder_for(f"fetch-{task.id}")
        try:
            return await self._copy_home(channel, task, remote, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _not_finished(self, row: UpstreamTask, remote: wire.RemoteTask) -> None:
        """The copy was queued on a callback the upstream does not confirm (yet)."""
        status = remote.mapped
        if status is None or not status.terminal:
            log.info("task %s: the upstream says %s, not succeeded", row.task_id, remote.status)
            await self.store.upstream.recheck(row.task_id, self._next_check(row))
            self.wakeup.notify()
            return
        await self.store.upstream.end(row.task_id, status, _end_error(status, remote))

    async def _copy_home(
        self, channel: Channel, task: Task, remote: wire.RemoteTask, workdir: Path
    ) -> dict[str, Any]:
        video = workdir / "video.mp4"
        await self._download(channel, remote.video_url or "", video)
        limits = media.MediaLimits(
            video_max_bytes=self.config.max_video_bytes,
            video_min_seconds=0.0,
            video_max_seconds=3600.0,
            video_max_pixels=4400 * 4400,
        )
        try:
            info = await asyncio.to_thread(media.inspect, video, "video", limits, field="video")
        except media.MediaRejected as exc:
            raise ProviderUnavailable(f"the upstream's video does not decode: {exc}") from exc
        video_key = f"results/{task.id}/video.mp4"
        await self.blobs.put_file(video_key, video)
        frame_key = None
        if remote.last_frame_url:
            frame = workdir / "last_frame.png"
            await self._download(channel, remote.last_frame_url, frame)
            frame_key = f"results/{task.id}/last_frame.png"
            await self.blobs.put_file(frame_key, frame)
        return {
            "video_key": video_key,
            "last_frame_key": frame_key,
            "duration": info.duration,
            "width": info.width,
            "height": info.height,
            "revised_prompt": remote.revised_prompt,
            "tool_usage": remote.tool_usage,
        }

    async def _download(self, channel: Channel, url: str, target: Path) -> None:
        try:
            await channel.client.download(url, target, max_bytes=self.config.max_video_bytes)
        except TooLarge as exc:
            raise ProviderRejected(str(exc), code="result_too_large") from exc
        except Unreachable as exc:
            raise ProviderUnavailable(str(exc)) from exc

    # -- cancel (the service's port) -----------------------------------------------------

    async def cancel(self, task_id: str) -> None:
        """Cancels a queued task upstream first; raises when it cannot be cancelled now."""
        row = await self.store.upstream.get(task_id)
        if row is None or row.state == "done":
            return  # never handed over: cancelling it here is enough
        if row.state in ("submitting", "ambiguous") or row.upstream_id is None:
            raise InvalidState(
                f"task {task_id} is being handed to the upstream; cancel it again in a few seconds"
            )
        if row.state == "fetching":
            raise InvalidState(f"task {task_id} has finished upstream; its video is being stored")
        channel = self.channels.by_name.get(row.channel)
        if channel is None:
            raise UpstreamUnavailable(f"channel {row.channel} is no longer configured")
        try:
            refusal = await channel.client.delete(row.upstream_id)
        except Unreachable as exc:
            raise UpstreamUnavailable(
                f"the upstream could not be reached to cancel task {task_id}; try again"
            ) from exc
        await self.store.upstream.reschedule(task_id, _now())  # learn its new status soon
        self.wakeup.notify()
        if refusal is not None:
            raise InvalidState(
                f"the upstream refused to cancel task {task_id} ({refusal.code}: "
                f"{refusal.message}); a started task cannot be cancelled",
                code=refusal.code,
            )


async def _pace(channel: Channel) -> None:
    """Keeps this process's list calls on ``channel`` at most one per ``list_interval``."""
    wait = channel.next_list_at - time.monotonic()
    channel.next_list_at = max(channel.next_list_at, time.monotonic()) + channel.list_interval
    if wait > 0:
        await asyncio.sleep(wait)


def _same(remote: wire.RemoteTask, row: UpstreamTask) -> bool:
    """Whether ``remote`` can be the task ``row`` sent (the seed we chose tells them apart)."""
    return row.seed is None or remote.seed == row.seed


def _end_error(status: Status, remote: wire.RemoteTask) -> dict[str, str] | None:
    if status is Status.CANCELLED:
        return None
    if status is Status.EXPIRED:
        return {
            "code": "expired",
            "message": remote.error_message or "the upstream did not finish the task in time",
        }
    return {
        "code": remote.error_code or "upstream_failed",
        "message": remote.error_message or "the upstream could not generate the video",
    }


def _seconds_left(task: Task) -> int:
    if task.expires_at is None:
        return wire.EXPIRY_RANGE[1]
    return int((task.expires_at - _now()).total_seconds())


def _now() -> datetime:
    return datetime.now(UTC)
