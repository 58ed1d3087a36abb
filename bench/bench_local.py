"""Benchmark provider ``local`` on a GPU against a plain diffusers pipeline call (issue 22).

For one model, builds the FULL-SIZE transformer and VAE with RANDOM weights (a video model's
speed does not depend on its weights' values), saves them with ``save_pretrained``, and renders
the model's default size and length from that folder two ways, in the same run:

* **plain**: ``DiffusionPipeline.from_pretrained(folder, dtype=...)`` with the transformer and
  text encoder in bfloat16 and the VAE in float32 (diffusers' Wan and LTX docs decode in
  float32, and so does our provider: ``speed.load_dtypes``), ``.to("cuda")``, then
  ``pipe(prompt=..., negative_prompt=..., height=..., width=..., num_frames=...,
  num_inference_steps=..., guidance_scale=..., generator=..., output_type="np")``;
* **ours**: ``LocalProvider.generate`` (the worker's render path: the provider's loading with
  the ``--speed`` settings, ``speed.apply``, the pipeline in a thread with a step callback, and
  the MP4 encode), once per ``--speed`` given.

Each path loads, renders one warm-up clip (for a compiled path that is the compile), then
``--runs`` measured clips. Reported per path: load seconds, the first (warm-up) clip, seconds
per measured clip (median), seconds per denoising step (between the first and the last step's
end, the device synchronized at each), what follows the last step (the VAE decode, and for
ours the MP4 encode too), peak GPU memory during the measured clips
(``torch.cuda.max_memory_allocated``, reset between phases), plain/ours, and for a first-block
cache how many transformer calls reused the cached blocks. Prints a markdown table;
``--json FILE`` keeps the figures.

    python bench/bench_local.py --model wan-2-1-t2v-1-3b --json bench/results/local-wan.json
    python bench/bench_local.py --model ltx-video --speed '{"compile": true}' \\
        --speed '{"fp8": true, "cache": 0.05}' --speed '{"fp8": true}'
    python bench/bench_local.py --tiny            # CPU smoke test of the whole script (< 1 min)
    python bench/bench_local.py --tiny --model ltx-video
    python bench/bench_local.py --tiny --speed '{"cache": 0.5}'   # the tiny LTX has too few
                                                                   # blocks for the cache

Ours' default is one row with every setting that needs no extra package,
``{"fp8": true, "cache": 0.05, "compile": true}`` (with fp8 or the cache, ``speed.apply``
compiles each block with graph breaks: dynamo cannot trace their hooks as one graph). Give more
``--speed`` rows to see each setting alone; a row that fails reports its error and the others
still run.

``--weights-dir DIR`` builds the weights there, or reuses what an earlier run left (a rerun on
the same machine skips the build). ``--steps`` and ``--runs`` (measured clips per path, default
1) change the work. Without ``--tiny`` it needs a CUDA GPU and exits with an error otherwise.
``--tiny`` renders the test suite's tiny pipelines (``tests/e2e/tiny_wan.py``,
``tiny_ltx.py``) on the CPU at 64x64, 9 frames, 2 steps: it checks the script, its figures
mean nothing.

The models (``--model``; sizes and frames are the catalog's defaults):

* ``wan-2-1-t2v-1-3b``: ``WanTransformer3DModel`` with the config of
  ``Wan-AI/Wan2.1-T2V-1.3B-Diffusers`` (diffusers' ``scripts/convert_wan_to_diffusers.py``: 30
  layers, 12 heads of 128, ffn 8960, text_dim 4096), ``AutoencoderKLWan()`` (its default is the
  real Wan 2.1 VAE), ``UniPCMultistepScheduler(flow_shift=3.0)`` as the real model ships it
  (diffusers' ``wan.md``: the default, shift 3.0 for 480p); 832x480, 81 frames, 16 fps,
  guidance 5.0 (two transformer passes a step). **10 steps by default, not the catalog's 30**,
  to fit the GPU time a session has (see the estimate below): the table projects each clip to
  the catalog's steps from the seconds per step (``--steps 30`` measures them).
* ``ltx-video``: ``LTXVideoTransformer3DModel()`` and ``AutoencoderKLLTXVideo()`` (their
  defaults are LTX-Video 0.9's 2B transformer and VAE), ``FlowMatchEulerDiscreteScheduler()``;
  704x480, 121 frames, ``frame_rate=24``, guidance 3.0 (one pass of batch 2), 30 steps (the
  catalog's 50 projected).

Caveats:

* **Random weights.** Time and memory are the real model's; the frames are noise. The
  first-block cache decides per step from how much the first block's output changed, and random
  weights change differently from trained ones: the "cache reuse" column says how often it
  reused here, and that rate, not the weights, sets what the cache saves. Give a second
  ``--speed`` without ``cache`` to see the rest of the settings alone.
* **Small text encoder.** Not UMT5-XXL / T5-XXL (about 5B parameters: slow to build at random
  and not what is measured): a 2-layer UMT5 (Wan) / T5 (LTX) with the real width (d_model
  4096, 64 heads of 64, d_ff 10240) and a word-level vocabulary made here, so the transformer
  cross-attends to the real shape (512 tokens for Wan, 128 for LTX). The prompt is encoded once
  per clip: the real encoder would add a fraction of a second to clips of tens of seconds, to
  both paths alike, and about 10 GB to both peaks.
* **First-block cache trades quality** (diffusers' docs: 0.05-0.2): reuse skips the rest of the
  blocks for that step, and the frames drift from what the full model would draw.
* Ours includes the MP4 encode (x264 ``veryfast`` on the CPU); the line under the table gives
  that encode's time on plain's frames, so the two can be compared either way.

Time for a run of plain and two rows of ours (six clips, one compile) on one H100, estimated,
not yet measured (the default, one row of ours, is four clips):

* Wan 2.1 1.3B: 32,760 tokens (21 latent frames of 30x52 patches). A pass is about 0.28 PFLOP,
  70% of it attention (0.2 PFLOP at 350-450 TFLOP/s for PyTorch's attention on Hopper, about
  0.5 s) and 0.08 PFLOP of matrix products (0.15 s): 1.3-1.6 s a step of two passes. A clip at
  10 steps: 13-16 s, plus the float32 VAE decode of 81 frames (3-6 s): 17-22 s. Imports and
  CUDA start 20 s, building and saving 4 GB of weights 20-40 s, three loads 30 s, six clips
  about 2 min, the compile 1-2 min: **about 4.5-5.5 minutes** (``--steps 30``: 7-8.5, too close
  to a 10-minute command limit with the rest). For scale: Wan's README gives about 4 minutes
  for this clip at 50 steps on an RTX 4090 with offloading.
* LTX-Video: 5,280 tokens (16 latent frames of 15x22); about 0.06 PFLOP a step (batch 2),
  0.1-0.2 s; with the VAE decode a clip is 5-10 s at 30 steps (LTX's README: faster than real
  time on an H100). Building and saving 6 GB 30-50 s, three loads 30 s, six clips 1 min, the
  compile 1-2 min: **about 3-4 minutes**.

Each further ``--speed`` adds a load and two clips, and with ``compile`` a compile. Both
models in one 15-minute GPU session leave little room for a rerun: run Wan first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import inspect
import json
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # --tiny's (tests/e2e)

from seedance_gateway import catalog as catalog_module
from seedance_gateway.catalog import Mode
from seedance_gateway.domain.requests import GenerationRequest
from seedance_gateway.providers.local import encode, speed
from seedance_gateway.providers.local.provider import LocalProvider

PROMPT = "a red paper lantern over the sea at dusk a boat and a lighthouse on a green hill"
NEGATIVE = "a kite"
SEED = 7
#: Ours' default settings, each its own row. ``compile`` with ``fp8`` or ``cache`` fails at
#: present (torch 2.13, diffusers 0.42: dynamo cannot trace their hooks in ``fullgraph``).
DEFAULT_SPEED = ('{"fp8": true, "cache": 0.05, "compile": true}',)
#: --tiny's default (compile takes ~15 s on the CPU: give it if wanted). The tiny LTX has one
#: block, too few for a first-block cache (diffusers' ``apply_first_block_cache`` needs two).
TINY_SPEED = {"wan-2-1-t2v-1-3b": '{"fp8": true, "cache": 0.05}', "ltx-video": '{"fp8": true}'}
TINY = {"width": 64, "height": 64, "frames": 9, "steps": 2}
#: The real text encoders' width and layer shape (UMT5-XXL, T5-XXL v1.1), two layers of 24.
TEXT_ENCODER: dict[str, Any] = {
    "d_model": 4096,
    "d_kv": 64,
    "num_heads": 64,
    "d_ff": 10240,
    "num_layers": 2,
}
#: ``Wan-AI/Wan2.1-T2V-1.3B-Diffusers``'s transformer (diffusers' conversion script).
WAN_TRANSFORMER: dict[str, Any] = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 12,
    "attention_head_dim": 128,
    "in_channels": 16,
    "out_channels": 16,
    "text_dim": 4096,
    "freq_dim": 256,
    "ffn_dim": 8960,
    "num_layers": 30,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6,
    "rope_max_seq_len": 1024,
}


@dataclass(frozen=True)
class Model:
    """A model's defaults: the catalog's size, frames and rate, and the bench's steps."""

    id: str
    width: int
    height: int
    frames: int
    fps: int
    steps: int
    guidance: float
    catalog_steps: int  #: the catalog's default, which the table projects each clip to


MODELS = {
    "wan-2-1-t2v-1-3b": Model("wan-2-1-t2v-1-3b", 832, 480, 81, 16, 10, 5.0, 30),
    "ltx-video": Model("ltx-video", 704, 480, 121, 24, 30, 3.0, 50),
}


@dataclass
class PathResult:
    """One path's figures (seconds, GiB); ``error`` when it failed."""

    path: str
    settings: str
    load_s: float | None = None
    first_s: float | None = None
    clips_s: list[float] = field(default_factory=list)
    step_s: float | None = None
    after_steps_s: float | None = None
    peak_load_gib: float | None = None
    peak_first_gib: float | None = None
    peak_gib: float | None = None
    cache_reused: int | None = None
    cache_calls: int | None = None
    nonfinite: float | None = None  #: plain only: the share of NaN/inf in its frames
    error: str | None = None

    @property
    def clip_s(self) -> float | None:
        return statistics.median(self.clips_s) if self.clips_s else None

    def projected_s(self, steps: int, to_steps: int) -> float | None:
        """A clip at ``to_steps`` steps: the measured clip plus (or less) the steps' time."""
        if self.clip_s is None or self.step_s is None:
            return None
        return self.clip_s + self.step_s * (to_steps - steps)


# --- the device ---------------------------------------------------------------------------


def sync() -> None:
    """Waits for the GPU's queued work (nothing on the CPU)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak() -> None:
    """Starts a phase: frees cached blocks and resets the peak-memory counter."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def release() -> None:
    """Between paths: drops compiled graphs (they may hold a path's modules) and cached blocks."""
    import torch

    torch._dynamo.reset()
    reset_peak()


def peak_gib() -> float | None:
    """The phase's peak allocated GPU memory in GiB (None on the CPU)."""
    import torch

    if not torch.cuda.is_available():
        return None
    return float(torch.cuda.max_memory_allocated()) / 2**30


class Clock:
    """Times one clip: its start, each step's end (the device synchronized) and its end."""

    def __init__(self) -> None:
        sync()
        self.start = time.perf_counter()
        self.marks: list[float] = []
        self.end = self.start

    def mark(self) -> None:
        sync()
        self.marks.append(time.perf_counter())

    def stop(self) -> float:
        sync()
        self.end = time.perf_counter()
        return self.elapsed

    @property
    def elapsed(self) -> float:
        return self.end - self.start

    def per_step(self, steps: int) -> float | None:
        """Seconds per step between the first and the last step's end."""
        ends = self.marks[:steps]
        return (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else None

    def after_steps(self, steps: int) -> float | None:
        """Seconds from the last step's end to the clip's end (decode, and any encode)."""
        return self.end - self.marks[steps - 1] if len(self.marks) >= steps else None


def watch_cache() -> dict[str, int] | None:
    """Counts the first-block cache's decisions (computed or reused), by wrapping diffusers'
    ``FBCHeadBlockHook._should_compute_remaining_blocks``; None where that is not there."""
    import torch
    from diffusers.hooks import first_block_cache

    hook = getattr(first_block_cache, "FBCHeadBlockHook", None)
    decide = getattr(hook, "_should_compute_remaining_blocks", None)
    if hook is None or decide is None:
        return None
    counts = {"computed": 0, "reused": 0}

    @torch.compiler.disable  # type: ignore[untyped-decorator]
    def counted(self: Any, residual: Any) -> bool:
        computed = bool(decide(self, residual))
        counts["computed" if computed else "reused"] += 1
        return computed

    hook._should_compute_remaining_blocks = counted
    return counts


# --- the weights ---------------------------------------------------------------------------


def word_tokenizer(t5_ending: bool) -> Any:
    """The tests' offline word-level tokenizer; ``t5_ending`` ends texts with ``</s>``."""
    from e2e.tiny_wan import word_tokenizer as made_here

    return made_here(ends_with_eos=t5_ending)


def build_wan(folder: Path, device: str) -> None:
    """Saves a random Wan 2.1 T2V 1.3B (full-size transformer and VAE) to ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = word_tokenizer(t5_ending=False)
    config = UMT5Config(vocab_size=len(tokenizer), feed_forward_proj="gated-gelu", **TEXT_ENCODER)
    with torch.device(device):
        pipeline = WanPipeline(
            tokenizer=tokenizer,
            text_encoder=UMT5EncoderModel(config).to(torch.bfloat16).eval(),
            transformer=WanTransformer3DModel(**WAN_TRANSFORMER).to(torch.bfloat16),
            vae=AutoencoderKLWan(),  # float32, as both paths load it
            scheduler=UniPCMultistepScheduler(
                prediction_type="flow_prediction",
                use_flow_sigmas=True,
                num_train_timesteps=1000,
                flow_shift=3.0,
            ),
        )
    pipeline.save_pretrained(folder)


def build_ltx(folder: Path, device: str) -> None:
    """Saves a random LTX-Video 0.9 (full-size 2B transformer and VAE) to ``folder``."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    tokenizer = word_tokenizer(t5_ending=True)
    config = T5Config(vocab_size=len(tokenizer), feed_forward_proj="gated-gelu", **TEXT_ENCODER)
    with torch.device(device):
        pipeline = LTXPipeline(
            tokenizer=tokenizer,
            text_encoder=T5EncoderModel(config).to(torch.bfloat16).eval(),
            transformer=LTXVideoTransformer3DModel().to(torch.bfloat16),
            vae=AutoencoderKLLTXVideo(),  # float32, as both paths load it
            scheduler=FlowMatchEulerDiscreteScheduler(),
        )
    pipeline.save_pretrained(folder)


def build_tiny(model: Model, folder: Path) -> None:
    """Saves the test suite's tiny pipeline for ``model`` (``tests/e2e``)."""
    if model.id == "ltx-video":
        from e2e.tiny_ltx import save_tiny_ltx

        save_tiny_ltx(folder)
    else:
        from e2e.tiny_wan import save_tiny_wan

        save_tiny_wan(folder)


def ensure_weights(model: Model, folder: Path, tiny: bool, device: str) -> float | None:
    """Builds and saves the weights unless ``folder`` already holds them; seconds, or None
    when they were there."""
    import torch

    if (folder / "model_index.json").exists():
        return None
    start = time.perf_counter()
    torch.manual_seed(0)
    if tiny:
        build_tiny(model, folder)
    elif model.id == "ltx-video":
        build_ltx(folder, device)
    else:
        build_wan(folder, device)
    reset_peak()
    return time.perf_counter() - start


@contextlib.contextmanager
def weights_folder(chosen: Path | None, model: Model, tiny: bool) -> Iterator[Path]:
    """``chosen`` (kept), else a temporary folder removed at the end."""
    if chosen is not None:
        chosen.mkdir(parents=True, exist_ok=True)
        yield chosen
        return
    with tempfile.TemporaryDirectory(prefix=f"bench-local-{model.id}-") as tmp:
        yield Path(tmp) / ("tiny" if tiny else "random")


# --- the two paths -------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What every clip renders, and how many measured clips per path."""

    model: Model
    width: int
    height: int
    frames: int
    steps: int
    runs: int
    device: str


def load_plain(folder: Path, device: str) -> Any:
    """The saved pipeline loaded plainly: compute in bfloat16 (float32 on the CPU), the VAE in
    float32, on ``device``."""
    import torch
    from diffusers import DiffusionPipeline

    compute = torch.float32 if device == "cpu" else torch.bfloat16
    pipe = DiffusionPipeline.from_pretrained(  # type: ignore[no-untyped-call]
        str(folder), local_files_only=True, dtype={"default": compute, "vae": torch.float32}
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def call_plain(pipe: Any, plan: Plan, clock: Clock) -> Any:
    """One plain pipeline call; marks ``clock`` at each step's end; returns the frames."""
    import torch

    def on_step_end(_pipe: Any, _index: int, _t: Any, tensors: dict[str, Any]) -> Any:
        clock.mark()
        return tensors

    options: dict[str, Any] = {}
    if "frame_rate" in inspect.signature(pipe.__call__).parameters:
        options["frame_rate"] = plan.model.fps  # LTX (its default is 25), as ours passes it
    return pipe(
        prompt=PROMPT,
        negative_prompt=NEGATIVE,
        height=plan.height,
        width=plan.width,
        num_frames=plan.frames,
        num_inference_steps=plan.steps,
        guidance_scale=plan.model.guidance,
        generator=torch.Generator(device="cpu").manual_seed(SEED),
        output_type="np",
        callback_on_step_end=on_step_end,
        **options,
    ).frames


def run_plain(folder: Path, plan: Plan, encode_dir: Path) -> tuple[PathResult, float]:
    """The plain path's figures, and the seconds the MP4 encode of its frames takes."""
    import numpy as np

    compute = "fp32" if plan.device == "cpu" else "bf16"
    result = PathResult("plain diffusers", f"{compute}, VAE fp32")
    reset_peak()
    start = time.perf_counter()
    pipe = load_plain(folder, plan.device)
    sync()
    result.load_s, result.peak_load_gib = time.perf_counter() - start, peak_gib()
    reset_peak()
    clock = Clock()
    call_plain(pipe, plan, clock)
    result.first_s, result.peak_first_gib = clock.stop(), peak_gib()
    reset_peak()
    for _ in range(plan.runs):
        clock = Clock()
        frames = call_plain(pipe, plan, clock)
        result.clips_s.append(clock.stop())
    result.peak_gib = peak_gib()
    result.step_s, result.after_steps_s = clock.per_step(plan.steps), clock.after_steps(plan.steps)
    result.nonfinite = float(1.0 - np.isfinite(frames).mean())
    del pipe
    start = time.perf_counter()
    encode.write(frames, plan.model.fps, encode_dir / "plain.mp4")
    return result, time.perf_counter() - start


def request(plan: Plan) -> GenerationRequest:
    """The task ours renders: the same prompt, size, frames, steps, guidance and seed."""
    return GenerationRequest(
        model=plan.model.id,
        prompt=PROMPT,
        negative_prompt=NEGATIVE,
        mode=Mode.T2V,
        resolution="480p",
        ratio="16:9",
        width=plan.width,
        height=plan.height,
        duration=max(1, plan.frames // plan.model.fps),
        frames=plan.frames,
        fps=plan.model.fps,
        seed=SEED,
        steps=plan.steps,
        guidance=plan.model.guidance,
    )


async def never(_key: str) -> bytes:
    raise AssertionError("a text-to-video task reads no media")


async def render(provider: LocalProvider, plan: Plan, workdir: Path) -> Clock:
    """One task through ``LocalProvider.generate``; each progress report marks a step."""
    clock = Clock()

    async def progress(_percent: int) -> None:
        clock.mark()

    workdir.mkdir(parents=True)
    await provider.generate(request(plan), workdir, read_blob=never, progress=progress)
    clock.stop()
    return clock


async def run_ours(
    folder: Path, plan: Plan, setting: str, workdir: Path, cache: dict[str, int] | None
) -> PathResult:
    """Our path's figures with the speed settings ``setting`` (a JSON object)."""
    chosen = speed.parse(json.dumps({"*": json.loads(setting)}))["*"]
    result = PathResult("ours (LocalProvider)", setting)
    both = catalog_module.load().joined(catalog_module.load_local())
    provider = LocalProvider(
        both, {plan.model.id: str(folder)}, device=plan.device, download=False, speeds={"*": chosen}
    )
    reset_peak()
    start = time.perf_counter()  # the provider's own loading (it loads on the first task)
    await asyncio.to_thread(provider._pipeline, provider.specs[plan.model.id], with_images=False)
    sync()
    result.load_s, result.peak_load_gib = time.perf_counter() - start, peak_gib()
    reset_peak()
    result.first_s = (await render(provider, plan, workdir / "first")).elapsed
    result.peak_first_gib = peak_gib()
    reset_peak()
    if cache is not None:
        cache.update(computed=0, reused=0)
    for run in range(plan.runs):
        clock = await render(provider, plan, workdir / f"run-{run}")
        result.clips_s.append(clock.elapsed)
    result.peak_gib = peak_gib()
    result.step_s, result.after_steps_s = clock.per_step(plan.steps), clock.after_steps(plan.steps)
    if cache is not None and chosen.cache:
        result.cache_reused, result.cache_calls = cache["reused"], sum(cache.values())
    await provider.close()
    return result


def guarded(path: str, setting: str, work: Callable[[], PathResult]) -> PathResult:
    """``work()``, or a row with its error, so that one path's failure keeps the others."""
    try:
        return work()
    except Exception as exc:  # a compile or out-of-memory failure is a finding, not a crash
        traceback.print_exc()
        print(f"{path} {setting}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return PathResult(path, setting, error=f"{type(exc).__name__}: {exc}")
    finally:
        release()


def bench(folder: Path, plan: Plan, settings: list[str], scratch: Path) -> dict[str, Any]:
    """Runs plain, then ours once per setting; the rows and the MP4 encode time."""
    encode_s: list[float] = []

    def plain() -> PathResult:
        row, seconds = run_plain(folder, plan, scratch)
        encode_s.append(seconds)
        return row

    rows = [guarded("plain diffusers", "", plain)]
    cache = watch_cache()

    def ours(setting: str, workdir: Path) -> PathResult:
        return asyncio.run(run_ours(folder, plan, setting, workdir, cache))

    for index, setting in enumerate(settings):
        work = functools.partial(ours, setting, scratch / f"ours-{index}")
        rows.append(guarded("ours (LocalProvider)", setting, work))
    return {"rows": rows, "encode_s": encode_s[0] if encode_s else None}


# --- the report ----------------------------------------------------------------------------


def header(plan: Plan, tiny: bool, args: argparse.Namespace) -> dict[str, Any]:
    """What was measured, where: printed above the table and kept in the JSON."""
    import diffusers
    import torch

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    return {
        "model": plan.model.id,
        "size": f"{plan.width}x{plan.height}",
        "frames": plan.frames,
        "fps": plan.model.fps,
        "steps": plan.steps,
        "catalog_steps": plan.model.catalog_steps,
        "guidance": plan.model.guidance,
        "runs": plan.runs,
        "device": gpu,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "weights": "tiny test pipeline (tests/e2e): a smoke test, the figures mean nothing"
        if tiny
        else "random; full-size transformer and VAE",
        "text_encoder": "tiny test encoder"
        if tiny
        else "2-layer stand-in with the real width (d_model 4096), not UMT5-XXL / T5-XXL",
        "speed": args.speed,
    }


def cell(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: list[PathResult], plan: Plan) -> list[str]:
    """The markdown table: one row per path, plain/ours against the plain row."""
    base, to_steps = rows[0].clip_s, plan.model.catalog_steps
    lines = [
        "| path | settings | load s | first clip s | s / clip | s / step | after steps s "
        f"| s / clip at {to_steps} steps | peak GiB | plain / ours | cache reuse |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        if row.error:
            reason = row.error.splitlines()[0][:160].replace("|", "/")
            lines.append(f"| {row.path} | `{row.settings}` | failed: {reason} |")
            continue
        ratio = f"{base / row.clip_s:.2f}x" if base and row.clip_s else "-"
        reuse = "-" if row.cache_calls is None else f"{row.cache_reused}/{row.cache_calls}"
        settings = f"`{row.settings}`" if row.settings.startswith("{") else row.settings
        lines.append(
            f"| {row.path} | {settings} | {cell(row.load_s, 1)} | {cell(row.first_s, 1)} "
            f"| {cell(row.clip_s)} | {cell(row.step_s, 3)} | {cell(row.after_steps_s)} "
            f"| {cell(row.projected_s(plan.steps, to_steps))} | {cell(row.peak_gib)} | {ratio} "
            f"| {reuse} |"
        )
    return lines


def notes(rows: list[PathResult], encode_s: float | None, plan: Plan) -> list[str]:
    """The lines under the table: compile, ratios at the catalog's steps, memory, warnings."""
    plain, lines = rows[0], []
    to_steps = plan.model.catalog_steps
    plain_projected = plain.projected_s(plan.steps, to_steps)
    if encode_s is not None:
        lines.append(f"MP4 encode of plain's frames: {encode_s:.2f} s (inside ours' s / clip)")
    for row in rows[1:]:
        if row.error or row.first_s is None or row.clip_s is None:
            continue
        compiled = bool(json.loads(row.settings).get("compile"))
        extra = row.first_s - row.clip_s
        memory = (
            f", peak memory plain / ours {plain.peak_gib / row.peak_gib:.2f}x"
            if plain.peak_gib and row.peak_gib
            else ""
        )
        compile_s = f"first clip - s / clip = {extra:.1f} s (the compile)" if compiled else ""
        projected = row.projected_s(plan.steps, to_steps)
        at_steps = (
            f"plain / ours at {to_steps} steps {plain_projected / projected:.2f}x (projected)"
            if plain_projected and projected and to_steps != plan.steps
            else ""
        )
        parts = filter(None, [compile_s, at_steps, memory[2:]])
        lines.append(f"`{row.settings}`: " + ", ".join(parts))
    if plain.nonfinite:
        lines.append(f"warning: {plain.nonfinite:.0%} of plain's frame values are NaN or inf")
    return lines


def write_json(
    path: Path, about: dict[str, Any], result: dict[str, Any], build_s: float | None
) -> None:
    """Keeps the figures: the header, the build time, each row with its median clip."""
    steps, to_steps = about["steps"], about["catalog_steps"]
    rows = [
        asdict(row) | {"clip_s": row.clip_s, "projected_s": row.projected_s(steps, to_steps)}
        for row in result["rows"]
    ]
    data = about | {"build_s": build_s, "encode_s": result["encode_s"], "rows": rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


# --- main ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="wan-2-1-t2v-1-3b")
    parser.add_argument(
        "--speed",
        action="append",
        help="ours' speed settings, a JSON object (repeat for several; default: "
        f"{' and '.join(DEFAULT_SPEED)}; --tiny: fp8, and the cache on Wan)",
    )
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    parser.add_argument("--runs", type=int, default=1, help="measured clips per path (1+)")
    parser.add_argument("--weights-dir", type=Path, help="build here, or reuse what is here")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--tiny", action="store_true", help="CPU smoke test: tiny pipelines")
    return parser.parse_args()


def plan_of(args: argparse.Namespace) -> Plan:
    model = MODELS[args.model]
    if args.tiny:
        return Plan(model, runs=args.runs, device="cpu", **TINY)
    steps = args.steps or model.steps
    return Plan(model, model.width, model.height, model.frames, steps, args.runs, "cuda")


def quiet() -> None:
    """No progress bars or info logs from diffusers and transformers while loading."""
    import diffusers
    import transformers

    for library in (diffusers, transformers):
        library.utils.logging.set_verbosity_error()
        library.utils.logging.disable_progress_bar()


def main() -> None:
    args = parse_args()
    import torch

    quiet()

    if not args.tiny and not torch.cuda.is_available():
        sys.exit(
            f"bench_local.py measures a CUDA GPU and torch {torch.__version__} sees none; "
            "run it on a GPU machine, or with --tiny for the CPU smoke test"
        )
    if args.tiny:  # the tiny models' operations are too small to share out: threads add noise
        torch.set_num_threads(1)
    args.runs = max(1, args.runs)
    args.speed = args.speed or ([TINY_SPEED[args.model]] if args.tiny else list(DEFAULT_SPEED))
    for setting in args.speed:  # a malformed setting fails before anything is built
        speed.parse(json.dumps({"*": json.loads(setting)}))
    plan = plan_of(args)
    about = header(plan, args.tiny, args)
    print(
        f"bench_local: {about['model']}, {about['size']}, {plan.frames} frames at {plan.model.fps} "
        f"fps, {plan.steps} steps, guidance {plan.model.guidance}, {plan.runs} measured clip(s) "
        "per path after a warm-up"
    )
    print(f"device: {about['device']} (torch {about['torch']}, diffusers {about['diffusers']})")
    print(f"weights: {about['weights']}; text encoder: {about['text_encoder']}")
    with (
        weights_folder(args.weights_dir, plan.model, args.tiny) as folder,
        tempfile.TemporaryDirectory(prefix="bench-local-out-") as scratch,
    ):
        build_s = ensure_weights(plan.model, folder, args.tiny, plan.device)
        print(
            f"weights in {folder}: "
            + ("reused" if build_s is None else f"built in {build_s:.1f} s")
        )
        result = bench(folder, plan, args.speed, Path(scratch))
    print()
    print("\n".join(table(result["rows"], plan)))
    print()
    print("\n".join(notes(result["rows"], result["encode_s"], plan)))
    if args.json:
        write_json(args.json, about, result, build_s)
    if any(row.error for row in result["rows"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
