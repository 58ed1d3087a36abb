"""A tiny Wan text-to-video pipeline with random weights, built in code and saved with
``save_pretrained``: the shape of the real ``Wan-AI/Wan2.1-T2V-1.3B-Diffusers`` folder, small
enough for a CPU, and made without any download (the tokenizer is a word-level vocabulary made
here, the text encoder a one-layer UMT5). Component sizes follow diffusers' own Wan tests
(research/anchors-2026-12.md §4.3); ``rope_max_seq_len`` is raised to cover 832x480.
"""

from __future__ import annotations

from pathlib import Path

WORDS = "a the of on in at over red kite sea boat lighthouse dusk green hill paper lantern"


def save_tiny_wan(folder: Path) -> Path:
    """Writes the pipeline to ``folder`` (``model_index.json`` and one folder per component)."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    vocabulary = ["[PAD]", "[UNK]", "</s>", *WORDS.split()]
    words = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocabulary)}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words, pad_token="[PAD]", unk_token="[UNK]", eos_token="</s>"
    )
    config = UMT5Config(
        vocab_size=len(vocabulary), d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=2
    )
    pipeline = WanPipeline(
        tokenizer=tokenizer,
        text_encoder=UMT5EncoderModel(config).eval(),
        vae=AutoencoderKLWan(
            base_dim=3,
            z_dim=16,
            dim_mult=[1, 1, 1, 1],
            num_res_blocks=1,
            temperal_downsample=[False, True, True],
        ),
        transformer=WanTransformer3DModel(
            patch_size=(1, 2, 2),
            num_attention_heads=2,
            attention_head_dim=12,
            in_channels=16,
            out_channels=16,
            text_dim=32,
            freq_dim=256,
            ffn_dim=32,
            num_layers=2,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            rope_max_seq_len=1024,
        ),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
    )
    pipeline.save_pretrained(folder)
    return folder
