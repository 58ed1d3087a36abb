"""The worker loop: claim -> start -> provider step (with heartbeats) -> store -> settle.

Each job runs as its own asyncio task. A heartbeat renews the lease; if it is ever lost, the
work is abandoned (another worker owns the job now) and nothing is written or charged.
Webhook deliveries (``deliver`` jobs) share the queue but have their own concurrency, so a slow
receiver never holds up a generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import socket
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from seedance_gateway import logs, metrics, queue
from seedance_gateway.blobs import BlobStore
from seedance_gateway.config import Settings
from seedance_gateway.domain.ids import new_id
from seedance_gateway.domain.requests import GenerationRequest
from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.errors import ProviderRejected, ProviderUnavailable, TaskStopped
from seedance_gateway.providers import Output, Provider
from seedance_gateway.providers.ark.runner import ArkRunner
from seedance_gateway.providers.local.weights import PROVIDER as LOCAL_PROVIDER
from seedance_gateway.queue import Wakeup
from seedance_gateway.retention import Collector
from seedance_gateway.scratch import Scratch
from seedance_gateway.store import Store
from seedance_gateway.store.jobs import RENDER_LOCAL
from seedance_gateway.store.outbox import DELIVER
from seedance_gateway.store.retention import COLLECT
from seedance_gateway.store.rows import Job
from seedance_gateway.store.upstream import FETCH, SUBMIT
from seedance_gateway.webhooks.sender import Sender

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 5.0
#: At most one claim round per this many seconds: under load the jobs that became due (or
#: slots that came free) meanwhile are claimed together, one transaction for all of them.
CLAIM_ROUND_SECONDS = 0.02
COLLECT_RETRY = 60.0  #: seconds before a failed collection runs again


class LeaseLost(Exception):
    """Another worker owns the job now."""


class Complete(Protocol):
    """Settles a job and its task (``JobStore.complete``'s shape); False: the lease was lost."""

    async def __call__(
        self,
        job: Job,
        status: Status,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, str] | None = None,
    ) -> bool: ...


@dataclass(frozen=True)
class Pool:
    """Jobs of some kinds that share a number of slots, and what runs each one."""

    slots: int
    kinds: tuple[str, ...]  #: claimed in this order of preference
    run: Callable[[Job], Coroutine[None, None, None]]
    running: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def free(self) -> int:
        return self.slots - len(self.running)


class Worker:
    """Runs generation jobs from the queue."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        blobs: BlobStore,
        providers: Mapping[str, Provider],
        wakeup: Wakeup,
        model_providers: Mapping[str, str],
        scratch: Scratch,
        sender: Sender | None = None,
        upstream: ArkRunner | None = None,
    ) -> None:
        self.settings = settings
        self.scratch = scratch
        self.store = store
        self.blobs = blobs
        self.providers = providers
        self.wakeup = wakeup
        self.model_providers = model_providers
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{new_id('w')[-8:]}"
        self.sender = sender
        self.upstream = upstream
        self.pools = [Pool(settings.worker_concurrency, ("generate",), self.process)]
        if LOCAL_PROVIDER in providers:  # one slot: its device renders one task at a time, so
            # this worker claims the next only when the device is free, and an idle one elsewhere
            # takes it meanwhile
            self.pools.append(Pool(1, (RENDER_LOCAL,), self.process))
        if sender is not None:
            self.pools.append(Pool(settings.webhook_concurrency, (DELIVER,), self.deliver))
        if upstream is not None:
            self.pools.append(Pool(settings.ark_concurrency, (FETCH, SUBMIT), self.step))
        self.pools.append(Pool(1, (COLLECT,), self.collect))
        self.collector = Collector(
            store=store.retention,
            files=store.files,
            blobs=blobs,
            retention=settings.result_ttl,
            upload_ttl=settings.upload_ttl,
        )

    async def close(self) -> None:
        """Closes the providers and the webhook sender (after ``run`` returned); the upstream
        runner belongs to whoever built it (it may serve the API's cancels too)."""
        for provider in self.providers.values():
            await provider.close()
        if self.sender is not None:
            await self.sender.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Claims and runs jobs until ``stop`` is set; then waits for running jobs."""
        checks = asyncio.create_task(self._check_loop(stop)) if self.upstream else None
        async with queue.listening(self.store.db, self.wakeup):
            await self._loop(stop)
        pending = [runner for pool in self.pools for runner in pool.running]
        if checks is not None:
            pending.append(checks)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    async def _loop(self, stop: asyncio.Event) -> None:
        next_housekeeping = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            if loop.time() >= next_housekeeping:
                await self._housekeeping()
                next_housekeeping = loop.time() + HOUSEKEEPING_SECONDS
            round_began = loop.time()
            claimed = await self._claim()
            if not claimed:
                await self.wakeup.wait(self.settings.poll_seconds)
            # a burst of wake-ups (jobs finishing, tasks arriving) is claimed in one round
            await asyncio.sleep(round_began + CLAIM_ROUND_SECONDS - loop.time())

    async def _housekeeping(self) -> None:
        try:
            await self.store.jobs.reap()
            await self.store.jobs.expire()
            await self.collector.schedule()
        except Exception:
            log.exception("housekeeping failed")

    async def _claim(self) -> int:
        """One claim round: every pool with a free slot claims, in one transaction."""
        pools = [pool for pool in self.pools if pool.free > 0]
        if not pools:
            return 0
        try:
            claimed = await self.store.jobs.claim_each(
                self.owner, [(pool.kinds, pool.free) for pool in pools], self.settings.lease_seconds
            )
        except Exception:
            log.exception("claim failed")
            return 0
        for pool, jobs in zip(pools, claimed, strict=True):
            for job in jobs:
                runner = asyncio.create_task(_observed(pool.run, job))
                pool.running.add(runner)
                runner.add_done_callback(functools.partial(self._finished, pool=pool.running))
        return sum(len(jobs) for jobs in claimed)

    def _finished(self, runner: asyncio.Task[None], *, pool: set[asyncio.Task[None]]) -> None:
        pool.discard(runner)
        self.wakeup.notify()

    async def collect(self, job: Job) -> None:
        """Deletes the blobs of tasks past their retention under a heartbeat, then puts the job
        back for the next run (a crash leaves it to the reaper; collecting again deletes nothing
        twice)."""
        work = await self._leased(job, self._collect())
        if work is None:
            return
        failure = work.exception()
        if failure is None:  # the same row runs again later: one collect job, not one per run
            interval = self.settings.collect_interval_seconds
            await self.store.jobs.defer(job, interval, "the next collection")
            return
        log.error("collecting blobs failed: %s", failure, exc_info=failure)
        await self.store.jobs.retry(job, f"collecting blobs failed: {failure}", COLLECT_RETRY)

    async def _collect(self) -> dict[str, object]:
        return {"tasks": await self.collector.collect()}

    async def deliver(self, job: Job) -> None:
        """Makes one delivery attempt under a heartbeat; a crash leaves the job to the reaper."""
        assert self.sender is not None
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            await self.sender.deliver(job)
        except Exception:
            log.exception("delivery job %s failed; it is retried when its lease expires", job.id)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await heartbeat

    async def process(self, job: Job) -> None:
        """Runs one job to a settled state (or abandons it if the lease is lost)."""
        task = await self.store.jobs.start_task(job)
        if task is None:
            await self.store.jobs.complete(
                job, Status.FAILED, error=_error("gone", "task finished")
            )
            return
        logs.bind(account_id=task.account_id)
        work = await self._leased(job, self._produce(job, task))
        if work is not None:
            await self._settle(job, work)

    async def step(self, job: Job) -> None:
        """Runs one upstream step (submit or fetch) under a heartbeat, then settles it (a copy
        that ends its task closes the task's upstream row in the same transaction)."""
        work = await self._leased(job, self._upstream_step(job))
        if work is not None:
            complete = self.store.upstream.complete_fetch if job.kind == FETCH else None
            await self._settle(job, work, complete=complete)

    async def _upstream_step(self, job: Job) -> dict[str, object] | None:
        assert self.upstream is not None
        if job.kind == SUBMIT:
            await self.upstream.submit(job)  # it moves its job on itself
            return None
        result = await self.upstream.fetch(job)
        if result is None:
            await self.store.jobs.hand_off(job)
        return result

    async def _check_loop(self, stop: asyncio.Event) -> None:
        """Checks upstream tasks as they fall due; a callback or a new task wakes it early."""
        assert self.upstream is not None
        waiter = self.wakeup.fork()
        while not stop.is_set():
            try:
                if await self.upstream.check_due():
                    continue
                next_due = await self.store.upstream.next_due()
            except Exception:
                log.exception("upstream checks failed")
                next_due = None
            timeout = self.settings.poll_seconds
            if next_due is not None:
                until = (next_due - datetime.now(UTC)).total_seconds()
                timeout = min(max(until, 0.05), timeout)
            await waiter.wait(timeout)

    async def _leased(
        self, job: Job, work: Coroutine[None, None, dict[str, object] | None]
    ) -> asyncio.Task[dict[str, object] | None] | None:
        """Runs ``work`` while a heartbeat holds the lease; None if the lease was lost."""
        heartbeat = asyncio.create_task(self._heartbeat(job))
        runner = asyncio.create_task(work)
        done, _ = await asyncio.wait({heartbeat, runner}, return_when=asyncio.FIRST_COMPLETED)
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError, LeaseLost):
            await heartbeat
        if runner in done:
            return runner
        runner.cancel()
        log.warning("lease lost for job %s; abandoning task %s", job.id, job.task_id)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
        return None

    async def _settle(
        self,
        job: Job,
        work: asyncio.Task[dict[str, object] | None],
        *,
        complete: Complete | None = None,
    ) -> None:
        """Completes, retries or fails the job by how ``work`` ended (through ``complete``,
        ``JobStore.complete`` unless the step needs more in the same transaction)."""
        complete = complete or self.store.jobs.complete
        try:
            result = work.result()
        except ProviderUnavailable as exc:
            await self._retry_or_fail(job, exc.code, exc.message, complete)
            return
        except ProviderRejected as exc:
            await complete(job, Status.FAILED, error=_error(exc.code, exc.message))
            return
        except TaskStopped as exc:  # the task ended meanwhile (cancelled, expired): end the job
            log.info("%s", exc.message)
            await complete(job, Status.FAILED, error=_error(exc.code, exc.message))
            return
        except Exception as exc:
            log.exception("task %s failed", job.task_id)
            await self._retry_or_fail(job, "internal_error", f"generation failed: {exc}", complete)
            return
        if result is None:
            return  # the step has moved its job on itself
        if not await complete(job, Status.SUCCEEDED, result=result):
            log.warning("job %s lost its lease before settling; result dropped", job.id)

    async def _retry_or_fail(self, job: Job, code: str, message: str, complete: Complete) -> None:
        if job.attempt < job.max_attempts:
            await self.store.jobs.retry(job, message, delay_seconds=2.0 * 2 ** (job.attempt - 1))
        else:
            await complete(job, Status.FAILED, error=_error(code, message))

    async def _heartbeat(self, job: Job) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            if not await self.store.jobs.heartbeat(job, self.settings.lease_seconds):
                raise LeaseLost(job.id)

    async def _produce(self, job: Job, task: Task) -> dict[str, object] | None:
        request = GenerationRequest.from_json(task.request)
        provider = self.providers[self.model_providers.get(task.model, "preview")]
        workdir = self.scratch.folder_for(f"render-{task.id}")
        try:

            async def progress(percent: int) -> None:
                if not await self.store.tasks.set_progress(task.id, min(99, max(0, percent))):
                    raise TaskStopped(f"task {task.id} is no longer running; its work stops")

            output = await provider.generate(
                request, workdir, read_blob=self._read_input, progress=progress
            )
            return await self._store_output(task, request, output)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _read_input(self, key: str) -> bytes:
        """A reference's bytes; a missing one fails the task with a clear message."""
        try:
            return await self.blobs.read(key)
        except KeyError:
            raise ProviderRejected(
                "a reference media file of this task is no longer stored; submit the task again"
            ) from None

    async def _store_output(
        self, task: Task, request: GenerationRequest, output: Output
    ) -> dict[str, object]:
        video_key = f"results/{task.id}/video.mp4"
        await self.blobs.put_file(video_key, output.video)
        frame_key = None
        if output.last_frame is not None:
            frame_key = f"results/{task.id}/last_frame.png"
            await self.blobs.put_file(frame_key, output.last_frame)
        return {
            "video_key": video_key,
            "last_frame_key": frame_key,
            "duration": request.seconds,
            "width": request.width,
            "height": request.height,
            "tool_usage": {"web_search": 0} if request.web_search else None,  # no search here
        }


async def _observed(run: Callable[[Job], Coroutine[None, None, None]], job: Job) -> None:
    """Runs a job in its own log context (its task), timing it for the metrics and the log."""
    context = logs.open_job(job.task_id)
    began = time.perf_counter()
    try:
        await run(job)
    finally:
        seconds = time.perf_counter() - began
        metrics.job_ran(job.kind, seconds)
        log.info("%s job %s (attempt %d) ran %.3f s", job.kind, job.id, job.attempt, seconds)
        logs.close(context)


def _error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}
