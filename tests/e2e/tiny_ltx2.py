"""A tiny LTX-2 pipeline (video with audio) with random weights, built in code and saved with
``save_pretrained``: the component layout of the real ``Lightricks/LTX-2`` diffusers folder, small
enough for a CPU, and made without any download. The tokenizer is the word-level vocabulary of
``tiny_wan`` (no Gemma tokenizer; it saves as transformers' ``TokenizersBackend``), the text
encoder a ``Gemma3ForConditionalGeneration`` with two 32-wide text layers and a one-layer 8x8-pixel
SigLIP tower. Transformer, connectors and audio VAE follow diffusers' own LTX-2 tests
(tests/pipelines/ltx2/testing_utils.py), except that the ``AutoencoderKLLTX2Video`` has the real
layout (32x in space, 8x in time), the audio VAE the real three levels (``mel_bins=8``), and the
``LTX2Vocoder`` the real 240x upsampling, so the waveform really is 24 kHz.

Checked with diffusers 0.42.1, transformers 5.25, torch 2.13 CPU, offline:

- ``DiffusionPipeline.from_pretrained(folder, local_files_only=True)`` gives an
  ``LTX2Pipeline`` (``model_index.json`` records the tokenizer as ``TokenizersBackend``; the
  pipeline sets ``padding_side="left"`` on it at each call). Prompts are padded to
  ``max_sequence_length`` (default 1024; fine here, 64 is faster).
- Text to video with audio: ``pipe(prompt=..., negative_prompt=..., height=H, width=W,
  num_frames=N, frame_rate=24, num_inference_steps=2,
  generator=torch.Generator("cpu").manual_seed(0), output_type="np", callback_on_step_end=fn)``
  returns ``LTX2PipelineOutput(frames, audio)`` (``return_dict=False``: ``(video, audio)``).
  ``frames`` is a float32 array (1, N, H, W, 3) in [0, 1] (``"pt"``: tensor (1, N, 3, H, W);
  the default ``"pil"``: lists of PIL images). ``audio`` is always a float32 torch tensor
  (whatever ``output_type``) of shape (1, 2, samples): stereo waveform after ``tanh`` so in
  [-1, 1] (here about -0.01..0.15, near constant: random weights). Its rate is
  ``pipe.vocoder.config.output_sampling_rate`` == 24000; ``pipe.audio_sampling_rate`` (16000) is
  the mel input rate, not the output's. ``output_type="latent"`` gives video latents
  (1, 8, F', H/32, W/32) and audio latents (1, 2, L, 2).
- Audio length: L = round(N / frame_rate * 25) latent frames, 4L - 3 mel frames, 240 samples
  each: ``(4 * round(N / frame_rate * 25) - 3) * 240`` samples, a few tens of ms shorter or
  longer than the video (9 frames at 24: 7920 = 0.33 s for 0.375 s; 25 at 24: 24240 = 1.01 s
  for 1.04 s; 25 at 25: 23280 = 0.97 s; 121 at 24: 120240 = 5.01 s for 5.04 s).
- Sizes: ``height`` and ``width`` must be multiples of 32 (otherwise ``ValueError``) and at
  least 64 (32 fails in the VAE decoder's reflect padding with ``RuntimeError``). Frames: 8k+1;
  other counts give 8 * ((N - 1) // 8) + 1 video frames without a warning, but the audio follows
  the requested N (12 gives 9 frames and 0.45 s of audio), so use ``24 * seconds + 1``.
- ``guidance_scale`` (default 3.0) and ``negative_prompt`` (default None, meaning "") work and
  change the video; the defaults also run spatio-temporal guidance (``stg_scale=1.0``) and
  modality guidance (``modality_scale=3.0``), so a step is up to 3 transformer passes even with
  ``guidance_scale=1.0``; ``stg_scale=0.0, modality_scale=1.0, audio_guidance_scale=1.0,
  audio_stg_scale=0.0, audio_modality_scale=1.0`` turn everything off.
- ``callback_on_step_end(pipe, step_index, timestep, callback_kwargs) -> dict`` as usual (tensor
  inputs: ``latents``, ``prompt_embeds``, ``negative_prompt_embeds``; timesteps 1000 and 500 for
  2 steps); ``latents`` are the packed video latents (1, tokens, 8); with guidance
  ``prompt_embeds`` holds negative and positive (2, 1024, 96); audio latents are not offered.
- First frame to video with audio: ``LTX2ImageToVideoPipeline.from_pipe(pipe)`` (or
  ``.from_pretrained(folder)``), called like text to video plus ``image=<PIL image>`` (any size,
  resized); same output form.
- Times on the 2-core CPU, 2 steps, default guidance (noisy): build and save 0.6 s (3.1 MB),
  load 0.1 s; 64x64 9 frames 0.1 to 1 s, 17 frames 0.4 to 1.2 s; 768x512 25 frames 3 to 4 s
  (image to video up to 7 s); 768x512 121 frames 13 s.
"""

from __future__ import annotations

from pathlib import Path

from .tiny_wan import word_tokenizer


def save_tiny_ltx2(folder: Path) -> Path:
    """Writes an LTX-2-shaped ``LTX2Pipeline`` to ``folder`` (``model_index.json`` and one folder
    per component) and returns ``folder``; load it with ``from_pretrained`` and use
    ``LTX2ImageToVideoPipeline.from_pipe`` on it for first frame to video."""
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3TextConfig,
        SiglipVisionConfig,
    )

    torch.manual_seed(0)
    tokenizer = word_tokenizer()
    # Gemma 3 with two 32-wide layers; the pipeline feeds all 3 hidden states (embeddings
    # included) to the connectors. The 8x8-pixel SigLIP tower is only there to complete the class.
    text = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
    )
    vision = SiglipVisionConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=8,
        patch_size=2,
    )
    config = Gemma3Config(
        text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=4
    )
    connectors = LTX2TextConnectors(
        caption_channels=32,
        text_proj_in_factor=text.num_hidden_layers + 1,
        video_connector_num_attention_heads=4,
        video_connector_attention_head_dim=8,
        video_connector_num_layers=1,
        video_connector_num_learnable_registers=None,
        audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8,
        audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32,
        rope_double_precision=False,
        rope_type="split",
    )
    # The real VAE's layout (patch 4, then spatial, temporal and two spatio-temporal
    # downsamplings: 32x in space, 8x in time) with thin blocks.
    vae = AutoencoderKLLTX2Video(
        latent_channels=8,
        block_out_channels=(8, 16, 32, 64),
        decoder_block_out_channels=(8, 16, 32),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1),
        spatial_compression_ratio=32,
        temporal_compression_ratio=8,
    )
    transformer = LTX2VideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        num_attention_heads=2,
        attention_head_dim=8,
        cross_attention_dim=16,
        audio_in_channels=4,
        audio_out_channels=4,
        audio_num_attention_heads=2,
        audio_attention_head_dim=4,
        audio_cross_attention_dim=8,
        num_layers=1,
        caption_channels=32,
        rope_double_precision=False,
        rope_type="split",
    )
    # 16 kHz mel frames every 160 samples (100 a second), 4x fewer latent frames, 8 mel bins.
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4,
        output_channels=2,
        ch_mult=(1, 2, 4),
        num_res_blocks=1,
        in_channels=2,
        resolution=32,
        latent_channels=2,
        sample_rate=16000,
        mel_hop_length=160,
        mel_bins=8,
    )
    # The real vocoder's 240x upsampling (6*5*2*2*2): 100 mel frames a second give 24 kHz stereo.
    vocoder = LTX2Vocoder(
        in_channels=2 * 8,
        hidden_channels=64,
        out_channels=2,
        upsample_kernel_sizes=[16, 15, 8, 4, 4],
        upsample_factors=[6, 5, 2, 2, 2],
        resnet_kernel_sizes=[3],
        resnet_dilations=[[1, 3, 5]],
        output_sampling_rate=24000,
    )
    pipeline = LTX2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        audio_vae=audio_vae,
        text_encoder=Gemma3ForConditionalGeneration(config).eval(),
        tokenizer=tokenizer,
        connectors=connectors,
        transformer=transformer,
        vocoder=vocoder,
    )
    pipeline.save_pretrained(folder)
    return folder
