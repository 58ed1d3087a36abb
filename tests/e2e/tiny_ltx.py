"""A tiny LTX-Video pipeline with random weights, built in code and saved with
``save_pretrained``: the shape of the real ``Lightricks/LTX-Video`` (0.9.x) diffusers folder,
small enough for a CPU, and made without any download (the tokenizer is a word-level vocabulary
made here that ends every text with ``</s>`` like T5's, the text encoder a one-layer T5 with
``d_model=32``). The transformer is the one of diffusers' own LTX tests
(tests/pipelines/ltx/test_ltx.py); the ``AutoencoderKLLTXVideo`` has 8-channel blocks and
``latent_channels=8`` like those tests, but the real model's ``patch_size=4`` and three
spatio-temporal downsamplings, so it compresses 32x in space and 8x in time like the real VAE
(the tests' VAE compresses only 4x). ``timestep_conditioning=True`` gives the 0.9.1+ VAE, whose
decoder uses ``decode_timestep`` and ``decode_noise_scale``.

Checked with diffusers 0.42.1, transformers 5.25, torch 2.13 CPU, offline:

- ``DiffusionPipeline.from_pretrained(folder, local_files_only=True)`` gives an
  ``LTXPipeline``; the tokenizer comes back as transformers' ``TokenizersBackend``. The
  pipeline pads prompts to ``max_sequence_length`` (default 128) and passes the tokenizer's
  attention mask to the transformer as ``prompt_attention_mask``; longer prompts are truncated
  with a warning.
- Text to video: ``pipe(prompt=..., height=H, width=W, num_frames=N, frame_rate=24,
  num_inference_steps=2, generator=torch.Generator("cpu").manual_seed(0), output_type="np",
  callback_on_step_end=fn)``; ``frames`` is a float32 array (1, N, H, W, 3). The default
  ``output_type`` is ``"pil"`` (a list of lists of PIL images) and the default ``frame_rate``
  25, so pass both.
- First frame to video, same weights: ``LTXImageToVideoPipeline.from_pipe(pipe)``, no extra
  keyword arguments (``LTXImageToVideoPipeline.from_pretrained(folder)`` works too); call it
  like text to video plus ``image=<PIL image>`` (resized to W x H by the pipeline).
- Sizes: ``height`` and ``width`` must be multiples of 32, otherwise ``ValueError``. Frames:
  8k+1; other counts are rounded down without a warning (24 gives 17 frames), so use
  ``24 * seconds + 1`` at 24 fps.
- ``guidance_scale`` (default ``3``, typed float) and ``negative_prompt`` (str, default None,
  encoded as "") are accepted by both pipelines; guidance runs when ``guidance_scale > 1`` (the
  negative and positive prompts go through the transformer as one batch of 2).
  ``decode_timestep`` (default 0.0) and ``decode_noise_scale`` (default None, meaning
  ``decode_timestep``) are accepted always but only used with ``timestep_conditioning=True``
  (the real 0.9.1 values are 0.03 and 0.025).
- ``callback_on_step_end(pipe, step_index, timestep, callback_kwargs) -> dict`` works as in
  ``WanPipeline`` (tensor inputs: ``latents``, ``prompt_embeds``,
  ``negative_prompt_embeds``), but ``latents`` are packed as (1, tokens, 8) and, with
  guidance, ``prompt_embeds`` holds the negative and positive embeddings together; returned
  ``negative_prompt_embeds`` are ignored.
- Times on the 2-core CPU, 2 steps, guidance on, text to video and first frame alike (noisy,
  the CPU was shared): build and save 0.3 s (597 KB), load 0.05 s; 64x32 9 frames 0.04 s;
  256x160 25 frames 0.3 s; 704x480 25 frames (the real default size) 1.1 to 4 s.
"""

from __future__ import annotations

from pathlib import Path

from .tiny_wan import word_tokenizer


def save_tiny_ltx(folder: Path, timestep_conditioning: bool = False) -> Path:
    """Writes an LTX-Video-shaped ``LTXPipeline`` to ``folder`` (``model_index.json`` and one
    folder per component) and returns ``folder``; load it with ``from_pretrained`` and use
    ``LTXImageToVideoPipeline.from_pipe`` on it for first frame to video.
    ``timestep_conditioning`` makes the VAE of LTX-Video 0.9.1 and later."""
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    tokenizer = word_tokenizer(ends_with_eos=True)
    config = T5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=4
    )
    scaling = (True, True, True, False)
    vae = AutoencoderKLLTXVideo(
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=scaling,
        decoder_spatio_temporal_scaling=scaling,
        timestep_conditioning=timestep_conditioning,
        patch_size=4,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=1,
        caption_channels=32,
    )
    pipeline = LTXPipeline(
        tokenizer=tokenizer,
        text_encoder=T5EncoderModel(config).eval(),
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        transformer=transformer,
    )
    pipeline.save_pretrained(folder)
    return folder
