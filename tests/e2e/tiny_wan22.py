"""A tiny Wan 2.2 TI2V pipeline with random weights, built in code and saved with
``save_pretrained``: the shape of the real ``Wan-AI/Wan2.2-TI2V-5B-Diffusers`` folder (one
``WanPipeline`` that does both text to video and first frame to video), small enough for a CPU,
and made without any download (the tokenizer is a word-level vocabulary made here, the text
encoder a one-layer UMT5). Component sizes follow diffusers' own Wan 2.2 5B tests
(tests/pipelines/wan/test_wan_22.py): a 48-channel ``AutoencoderKLWan`` with ``is_residual``,
``patch_size=2`` and 16x spatial, 4x temporal compression; a 48-channel transformer; the
``UniPCMultistepScheduler`` of the real model (flow prediction, ``flow_shift=3.0``); and
``expand_timesteps=True`` in the pipeline config. ``rope_max_seq_len`` is raised to 1024 (as in
the real model) so that 1280x704 works.

Checked with diffusers 0.42.1, transformers 5.25, torch 2.13 CPU, offline:

- ``DiffusionPipeline.from_pretrained(folder, local_files_only=True)`` gives a ``WanPipeline``
  (config ``expand_timesteps=True``, ``boundary_ratio=None``, ``transformer_2=None``); the
  tokenizer comes back as transformers' ``TokenizersBackend``.
- Text to video: ``pipe(prompt=..., height=H, width=W, num_frames=N, num_inference_steps=2,
  generator=torch.Generator("cpu").manual_seed(0), output_type="np",
  callback_on_step_end=fn)``; ``frames`` is a float32 array (1, N, H, W, 3) (``"np"`` is also
  the default ``output_type``).
- First frame to video, same weights: ``WanImageToVideoPipeline.from_pipe(pipe)`` needs no extra
  keyword arguments: ``expand_timesteps=True`` and ``boundary_ratio`` come over from the
  config, ``image_encoder`` and ``image_processor`` are None (the TI2V transformer has no
  ``image_dim``, so no CLIP image encoding is done; passing ``image_encoder=None,
  image_processor=None`` explicitly also works). ``WanImageToVideoPipeline.from_pretrained
  (folder)`` works as well. Call it like text to video plus ``image=<PIL image>``; the image is
  resized to W x H by the pipeline, so any size works. The encoded image replaces the first
  latent frame (its timestep is 0), and the output has N frames.
- Sizes: ``height`` and ``width`` that are not multiples of 16 raise ``ValueError``; multiples
  of 16 are rounded down to multiples of 32 (VAE 16x times patch 2) with a warning. Use
  multiples of 32 (1280x704 is the real 720p). Frames: ``num_frames`` is rounded down to
  4k+1 with a warning; at the real model's 24 fps, ``24 * seconds + 1`` frames fits.
- ``guidance_scale`` (float, default 5.0) and ``negative_prompt`` (str, default None, encoded
  as "") are accepted by both pipelines; classifier-free guidance (two transformer passes per
  step) runs when ``guidance_scale > 1``. ``guidance_scale_2`` raises ``ValueError`` here
  (it needs ``boundary_ratio``, the two-expert A14B form).
- ``callback_on_step_end(pipe, step_index, timestep, callback_kwargs) -> dict`` is called
  after every step by both pipelines (tensor inputs: ``latents``, ``prompt_embeds``,
  ``negative_prompt_embeds``); latents are (1, 48, (N-1)/4+1, H/16, W/16).
- Times on the 2-core CPU, 2 steps, guidance on, text to video and first frame alike (noisy,
  the CPU was shared): build and save 0.3 s (318 KB), load 0.1 s; 64x32 9 frames 0.05 s;
  256x160 25 frames 0.25 s; 1280x704 25 frames 9 to 28 s (mostly the VAE and the 270 MB
  float output), peak memory about 1.8 GB.
"""

from __future__ import annotations

from pathlib import Path

from .tiny_wan import word_tokenizer


def save_tiny_wan22_ti2v(folder: Path) -> Path:
    """Writes a Wan 2.2 TI2V-shaped ``WanPipeline`` to ``folder`` (``model_index.json`` and one
    folder per component) and returns ``folder``; load it with ``from_pretrained`` and use
    ``WanImageToVideoPipeline.from_pipe`` on it for first frame to video."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    tokenizer = word_tokenizer()
    config = UMT5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=2
    )
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=48,
        in_channels=12,
        out_channels=12,
        is_residual=True,
        patch_size=2,
        latents_mean=[0.0] * 48,
        latents_std=[1.0] * 48,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        scale_factor_spatial=16,
        scale_factor_temporal=4,
        temperal_downsample=[False, True, True],
    )
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=48,
        out_channels=48,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=1024,
    )
    pipeline = WanPipeline(
        tokenizer=tokenizer,
        text_encoder=UMT5EncoderModel(config).eval(),
        vae=vae,
        scheduler=UniPCMultistepScheduler(
            prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
        ),
        transformer=transformer,
        expand_timesteps=True,
    )
    pipeline.save_pretrained(folder)
    return folder


def save_tiny_wan22_a14b(folder: Path, *, image: bool) -> Path:
    """Writes a Wan 2.2 A14B-shaped pipeline to ``folder``: two experts (``transformer`` for
    the high-noise steps, ``transformer_2`` for the rest, split at ``boundary_ratio``), the
    16-channel VAE of Wan 2.1 and the UniPC scheduler. ``image``: the I2V form
    (``WanImageToVideoPipeline``, 36 input channels, no CLIP image encoder; it takes a first
    frame, and a last one too), else T2V (``WanPipeline``). Checked: both load back with
    ``from_pretrained`` as those classes with ``transformer_2`` and ``boundary_ratio`` (0.9 /
    0.875 as the real configs), and a last frame changes the video."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanImageToVideoPipeline,
        WanPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    tokenizer = word_tokenizer()
    config = UMT5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=2
    )

    def expert() -> WanTransformer3DModel:
        return WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=2,
            attention_head_dim=12,
            in_channels=36 if image else 16,
            out_channels=16,
            text_dim=32,
            freq_dim=256,
            ffn_dim=32,
            num_layers=2,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            rope_max_seq_len=1024,
        )

    components = {
        "tokenizer": tokenizer,
        "text_encoder": UMT5EncoderModel(config).eval(),
        "vae": AutoencoderKLWan(
            base_dim=3,
            z_dim=16,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
        ),
        "scheduler": UniPCMultistepScheduler(
            prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
        ),
        "transformer": expert(),
        "transformer_2": expert(),
    }
    if image:
        pipeline: WanPipeline | WanImageToVideoPipeline = WanImageToVideoPipeline(
            image_encoder=None, image_processor=None, boundary_ratio=0.9, **components
        )
    else:
        pipeline = WanPipeline(boundary_ratio=0.875, **components)
    pipeline.save_pretrained(folder)
    return folder
