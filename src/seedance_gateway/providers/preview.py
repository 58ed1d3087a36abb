"""The preview provider: renders a real H.264 MP4 on the CPU, in a process pool.

The render itself is ``preview_render.render`` (pure, synchronous). It runs in worker processes
so the event loop stays free; progress crosses the process boundary through a small file that
the adapter polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from seedance_gateway.domain.requests import GenerationRequest, Reference
from seedance_gateway.errors import ProviderRejected
from seedance_gateway.providers import Output, Progress, ReadBlob
from seedance_gateway.providers.preview_render import RenderOutput, RenderSpec, render

POLL_SECONDS = 0.25


class PreviewProvider:
    """Deterministic preview videos: same request and seed, same bytes."""

    name = "preview"

    def __init__(self, processes: int = 2) -> None:
        self.processes = max(1, processes)
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=context)
        return self._pool

    async def generate(
        self,
        request: GenerationRequest,
        workdir: Path,
        *,
        read_blob: ReadBlob,
        progress: Progress,
    ) -> Output:
        spec = await _spec(request, read_blob)
        progress_file = workdir / "progress"
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor(), _render_job, spec, workdir, progress_file)
        watcher = asyncio.create_task(_watch(progress_file, progress))
        try:
            result = await future
        except ValueError as exc:
            raise ProviderRejected(str(exc)) from exc
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        return Output(video=result.video_path, last_frame=result.last_frame_path)

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _render_job(spec: RenderSpec, workdir: Path, progress_file: Path) -> RenderOutput:
    """Runs in a pool process; writes progress for the adapter to read."""

    def report(percent: int) -> None:
        progress_file.write_text(str(percent))

    return render(spec, workdir, report)


async def _watch(progress_file: Path, progress: Progress) -> None:
    last = -1
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            value = int(progress_file.read_text() or "0")
        except (FileNotFoundError, ValueError):
            continue
        if value != last:
            last = value
            await progress(value)


async def _image(refs: tuple[Reference, ...], role: str, read_blob: ReadBlob) -> bytes | None:
    ref = next((r for r in refs if r.role == role and r.blob_key), None)
    return await read_blob(ref.blob_key) if ref and ref.blob_key else None


async def _blobs(refs: tuple[Reference, ...], role: str, read_blob: ReadBlob) -> tuple[bytes, ...]:
    return tuple([await read_blob(r.blob_key) for r in refs if r.role == role and r.blob_key])


async def _spec(request: GenerationRequest, read_blob: ReadBlob) -> RenderSpec:
    refs = request.references
    return RenderSpec(
        prompt=request.prompt,
        width=request.width,
        height=request.height,
        fps=request.fps,
        frames=request.frames,
        seed=request.seed,
        camera_fixed=request.camera_fixed,
        generate_audio=request.generate_audio,
        watermark=request.watermark,
        first_frame=await _image(refs, "first_frame", read_blob),
        last_frame=await _image(refs, "last_frame", read_blob),
        reference_images=await _blobs(refs, "reference_image", read_blob),
        reference_videos=await _blobs(refs, "reference_video", read_blob),
        reference_audios=await _blobs(refs, "reference_audio", read_blob),
        return_last_frame=request.return_last_frame,
    )
