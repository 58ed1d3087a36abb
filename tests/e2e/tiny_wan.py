"""A tiny Wan text-to-video pipeline with random weights, built in code and saved with
``save_pretrained``: the shape of the real ``Wan-AI/Wan2.1-T2V-1.3B-Diffusers`` folder, small
enough for a CPU, and made without any download (the tokenizer is a word-level vocabulary made
here, the text encoder a one-layer UMT5). Component sizes follow diffusers' own Wan tests
(research/anchors-2026-12.md §4.3); ``rope_max_seq_len`` is raised to cover 832x480.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORDS = "a the of on in at over red kite sea boat lighthouse dusk green hill paper lantern"


def word_tokenizer(*, ends_with_eos: bool = False) -> Any:
    """A tokenizer made here, offline: whole words of ``WORDS`` (anything else is ``[UNK]``),
    ``[PAD]`` to pad; with ``ends_with_eos``, each text ends with ``</s>`` as T5's does."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocabulary = ["[PAD]", "[UNK]", "</s>", *WORDS.split()]
    words = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocabulary)}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    if ends_with_eos:
        words.post_processor = processors.TemplateProcessing(
            single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 2)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=words, pad_token="[PAD]", unk_token="[UNK]", eos_token="</s>"
    )


def save_tiny_wan(folder: Path, frames: int = 0) -> Path:
    """Writes a pipeline to ``folder`` (``model_index.json`` and one folder per component):
    text to video (``frames`` 0), or image to video from the first frame (1) or from the first
    and last frames (2: the FLF2V form, whose transformer expects both images)."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanPipeline,
        WanTransformer3DModel,
    )
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        CLIPVisionModel,
        UMT5Config,
        UMT5EncoderModel,
    )

    torch.manual_seed(0)
    tokenizer = word_tokenizer()
    config = UMT5Config(
        vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=32, num_layers=1, num_heads=2
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
        "scheduler": FlowMatchEulerDiscreteScheduler(shift=7.0),
    }
    transformer = {
        "patch_size": (1, 2, 2),
        "num_attention_heads": 2,
        "attention_head_dim": 12,
        "in_channels": 16,
        "out_channels": 16,
        "text_dim": 32,
        "freq_dim": 256,
        "ffn_dim": 32,
        "num_layers": 2,
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "rope_max_seq_len": 1024,
    }
    if frames == 0:
        pipeline = WanPipeline(transformer=WanTransformer3DModel(**transformer), **components)
    else:
        # The image is 4x4 pixels of 1x1 patches: 16 tokens and a class token per frame image.
        transformer |= {"in_channels": 36, "image_dim": 4}
        if frames == 2:
            transformer["pos_embed_seq_len"] = 2 * (4 * 4 + 1)
        vision = CLIPVisionConfig(
            hidden_size=4,
            projection_dim=4,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=4,
            intermediate_size=16,
            patch_size=1,
        )
        pipeline = WanImageToVideoPipeline(
            transformer=WanTransformer3DModel(**transformer),
            image_encoder=CLIPVisionModel(vision).eval(),
            image_processor=CLIPImageProcessor(crop_size=4, size=4),
            **components,
        )
    pipeline.save_pretrained(folder)
    return folder
