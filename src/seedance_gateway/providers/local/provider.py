"""The ``local`` provider: a diffusers pipeline per model, loaded once and kept warm on its
device, one task at a time (a video model fills a GPU); progress from the denoising steps.

Loading goes through the standard ``DiffusionPipeline.from_pretrained`` (the pipeline class comes
from the weights' ``model_index.json``), offline unless ``SEEDANCE_LOCAL_DOWNLOAD`` allows a
download. One set of weights that does text and first frame to video (Wan 2.2 TI2V, LTX-Video)
loads as its text pipeline; a first-frame task gets the image pipeline over the same components
(``from_pipe``: no second copy on the device). A pipeline runs in a thread, so the worker's loop
keeps its heartbeats; its ``callback_on_step_end`` reports each step.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import io
import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

from seedance_gateway.catalog import Catalog, ModelSpec
from seedance_gateway.domain.requests import GenerationRequest
from seedance_gateway.errors import ProviderRejected, TaskStopped
from seedance_gateway.providers import Output, Progress, ReadBlob
from seedance_gateway.providers.local import encode, speed, weights

log = logging.getLogger(__name__)
DEFAULT_STEPS = 30
REPORT_WAIT = 60.0  #: seconds a step waits for its progress to be recorded
#: Progress while denoising; the rest is decoding and encoding.
DENOISE_SHARE = 90


class LocalProvider:
    """Open-weight models on this process's device."""

    name = weights.PROVIDER

    def __init__(
        self,
        catalog: Catalog,
        sources: Mapping[str, str],
        *,
        device: str,
        download: bool,
        speeds: Mapping[str, speed.Speed] | None = None,
    ) -> None:
        local = [m for m in catalog.models if m.provider == weights.PROVIDER]
        self.specs = {m.id: m for m in local if {m.id, *m.aliases} & set(sources)}
        self.sources = {
            m.id: weights.source_of(m.id, m.aliases, sources) for m in self.specs.values()
        }
        self.speeds = {
            m.id: speed.for_model(speeds or {}, (m.id, *m.aliases)) for m in self.specs.values()
        }
        self.device = device
        self.download = download
        self._pipelines: dict[str, Any] = {}
        #: One task at a time on the device, held by the thread that renders: a task whose
        #: coroutine was cancelled keeps it until its thread has stopped at the next step.
        self._device = threading.Lock()

    async def generate(
        self,
        request: GenerationRequest,
        workdir: Path,
        *,
        read_blob: ReadBlob,
        progress: Progress,
    ) -> Output:
        spec = self.specs.get(request.model)
        if spec is None:
            raise ProviderRejected(f"model {request.model} is not served by provider local")
        loop = asyncio.get_running_loop()

        async def report(percent: int) -> None:
            await progress(percent)

        stop = threading.Event()

        def step(percent: int) -> None:  # from the pipeline's thread, after each step
            if stop.is_set():
                raise _Stopped
            try:  # waits for the report: a task cancelled meanwhile stops here
                asyncio.run_coroutine_threadsafe(report(percent), loop).result(REPORT_WAIT)
            except TaskStopped as exc:
                raise _Stopped from exc

        video = workdir / "video.mp4"
        frame = workdir / "last_frame.png" if request.return_last_frame else None
        images = await _frames(request, read_blob)
        run = functools.partial(self._run, spec, request, images, step, video, frame)
        try:
            finished = await asyncio.to_thread(run)
        except asyncio.CancelledError:
            stop.set()  # the worker gave the task up (lease lost, shutdown): stop between steps
            raise
        if not finished:
            raise TaskStopped(f"{request.model} stopped between denoising steps")
        return Output(video=video, last_frame=frame)

    async def close(self) -> None:
        self._pipelines.clear()

    def _run(
        self,
        spec: ModelSpec,
        request: GenerationRequest,
        images: dict[str, Image.Image],
        step: Any,
        video: Path,
        last_frame: Path | None,
    ) -> bool:
        """Loads (once) and renders, holding the device; False: stopped between steps."""
        with self._device:
            try:
                pipeline = self._pipeline(spec, with_images=bool(images))
                self._render(pipeline, request, images, step, video, last_frame)
            except _Stopped:
                log.info("task stopped between denoising steps")
                return False
        return True

    def _pipeline(self, spec: ModelSpec, *, with_images: bool) -> Any:
        """The model's pipeline on the device, loaded on first use and kept; for frames, the
        image pipeline over the same components where the weights load as a text pipeline."""
        key = f"{spec.id}+images" if with_images else spec.id
        if key not in self._pipelines:
            if spec.id not in self._pipelines:
                source, chosen = self.sources[spec.id], self.speeds[spec.id]
                self._pipelines[spec.id] = _load(source, chosen, self.device, self.download)
            loaded = self._pipelines[spec.id]
            self._pipelines[key] = _taking_images(loaded) if with_images else loaded
        return self._pipelines[key]

    def _render(
        self,
        pipeline: Any,
        request: GenerationRequest,
        images: dict[str, Image.Image],
        step: Any,
        video: Path,
        last_frame: Path | None,
    ) -> None:
        import torch

        steps = request.steps or DEFAULT_STEPS

        def on_step_end(_pipe: Any, index: int, _t: Any, tensors: dict[str, Any]) -> Any:
            step((index + 1) * DENOISE_SHARE // steps)
            return tensors

        options: dict[str, Any] = {}
        takes = inspect.signature(pipeline.__call__).parameters
        if "frame_rate" in takes:  # LTX conditions on it (its default is 25)
            options["frame_rate"] = request.fps
        if type(pipeline).__name__ in LTX_VIDEO and pipeline.vae.config.timestep_conditioning:
            options |= LTX_DECODE  # LTX-Video 0.9.1+: its VAE decodes from a noised latent
        if request.guidance is not None:
            options["guidance_scale"] = request.guidance
        if request.negative_prompt:
            options["negative_prompt"] = request.negative_prompt
        try:
            generator = torch.Generator(device="cpu").manual_seed(request.seed)
            result = pipeline(
                prompt=request.prompt,
                height=request.height,
                width=request.width,
                num_frames=request.frames,
                num_inference_steps=steps,
                generator=generator,
                output_type="np",
                callback_on_step_end=on_step_end,
                **options,
                **images,
            )
        except torch.OutOfMemoryError as exc:
            raise ProviderRejected(
                f"the GPU ran out of memory for {request.width}x{request.height}, "
                f"{request.frames} frames: try fewer frames or a smaller size ({exc})",
                code="out_of_memory",
            ) from exc
        step(DENOISE_SHARE)
        encode.write(
            result.frames, request.fps, video, last_frame, _sound(pipeline, request, result)
        )


class _Stopped(Exception):
    """Raised in a pipeline's step callback to stop a task its worker gave up."""


#: The pipelines' names for a request's frames (``WanImageToVideoPipeline``'s).
FRAME_ARGUMENTS = {"first_frame": "image", "last_frame": "last_image"}
#: The image pipeline that takes frames over a text pipeline's components, by class name.
IMAGE_PIPELINES = {
    "WanPipeline": "WanImageToVideoPipeline",  # Wan 2.2 TI2V 5B
    "LTXPipeline": "LTXImageToVideoPipeline",
    "LTX2Pipeline": "LTX2ImageToVideoPipeline",
}
#: The decode settings of LTX-Video 0.9.1 and later (diffusers' documented values).
LTX_DECODE = {"decode_timestep": 0.03, "decode_noise_scale": 0.025}
LTX_VIDEO = ("LTXPipeline", "LTXImageToVideoPipeline")


def _sound(pipeline: Any, request: GenerationRequest, result: Any) -> encode.Soundtrack | None:
    """The model's sound when it makes some and the request wants it (LTX-2: a waveform
    tensor, batch x channels x samples, at its vocoder's output rate)."""
    audio = getattr(result, "audio", None)
    if audio is None or not request.generate_audio:
        return None
    samples = audio[0].float().cpu().numpy()
    return encode.Soundtrack(samples, int(pipeline.vocoder.config.output_sampling_rate))


def _taking_images(pipeline: Any) -> Any:
    """``pipeline`` itself when it takes frames (Wan 2.1 I2V), else its image twin over the
    same components (``from_pipe``)."""
    twin = IMAGE_PIPELINES.get(type(pipeline).__name__)
    if twin is None:
        return pipeline
    import diffusers

    derived = getattr(diffusers, twin).from_pipe(pipeline)
    derived.set_progress_bar_config(disable=True)
    return derived


async def _frames(request: GenerationRequest, read_blob: ReadBlob) -> dict[str, Image.Image]:
    """The request's first (and last) frame as the pipeline takes them, each cropped to the
    video's size (``image``, ``last_image``); none for text to video."""
    images: dict[str, Image.Image] = {}
    for ref in request.references:
        argument = FRAME_ARGUMENTS.get(ref.role)
        if argument is None or ref.blob_key is None:
            continue
        picture = Image.open(io.BytesIO(await read_blob(ref.blob_key))).convert("RGB")
        size = (request.width, request.height)
        images[argument] = ImageOps.fit(picture, size, method=Image.Resampling.LANCZOS)
    return images


def _load(source: str, settings: speed.Speed, device: str, download: bool) -> Any:
    """``DiffusionPipeline.from_pretrained(source)`` on ``device`` (``auto``: the first GPU,
    else the CPU) with the model's speed settings; a failure is the task's, with the reason."""
    import torch
    from diffusers import DiffusionPipeline

    target = device
    if device == "auto":
        target = "cuda" if torch.cuda.is_available() else "cpu"
    log.info("loading %s onto %s (%s)", source, target, settings)
    try:
        pipeline = DiffusionPipeline.from_pretrained(  # type: ignore[no-untyped-call]
            source,
            local_files_only=not download,
            dtype=speed.load_dtypes(settings, target),
        )
    except (OSError, ValueError) as exc:
        raise ProviderRejected(
            f"the weights at {source} could not be loaded ({exc}); check "
            "SEEDANCE_LOCAL_WEIGHTS (a repo id not in the local cache needs "
            "SEEDANCE_LOCAL_DOWNLOAD=true)",
            code="weights_unavailable",
        ) from exc
    pipeline.set_progress_bar_config(disable=True)  # progress goes to the task, not the log
    return speed.apply(pipeline, settings, target)
