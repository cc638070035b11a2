"""Every released configuration builds on the meta device with the spec's parameter count (spec §9)."""

from __future__ import annotations

import pytest
import torch

from cosmos.tokenizer import PRESETS, CausalVideoTokenizer, ImageTokenizer, config_from_reference, preset_for

# spec §9 "params (computed)", millions, 2 decimals
SPEC_PARAMS_M = {
    "Cosmos-0.1-Tokenizer-CI8x8": 76.79,
    "Cosmos-0.1-Tokenizer-CI16x16": 81.51,
    "Cosmos-0.1-Tokenizer-DI8x8": 79.00,
    "Cosmos-0.1-Tokenizer-DI16x16": 83.72,
    "Cosmos-0.1-Tokenizer-CV8x8x8": 105.65,
    "Cosmos-1.0-Tokenizer-CV8x8x8": 105.65,
    "Cosmos-0.1-Tokenizer-CV8x16x16": 110.90,
    "Cosmos-0.1-Tokenizer-DV4x8x8": 104.67,
    "Cosmos-0.1-Tokenizer-DV8x8x8": 105.65,
    "Cosmos-0.1-Tokenizer-DV8x16x16": 110.90,
    "Cosmos-1.0-Tokenizer-DV8x16x16": 110.90,
    "Cosmos-Tokenize1-CV8x8x8-720p": 105.65,
    "Cosmos-Tokenize1-DV8x16x16-720p": 110.90,
    "Cosmos-Tokenize1-CV4x8x8-360p": 110.21,
    "Cosmos-Tokenize1-DV4x8x8-360p": 112.62,
    "Cosmos-Tokenize1-CI8x8-360p": 81.38,
    "Cosmos-Tokenize1-CI16x16-360p": 84.33,
    "Cosmos-Tokenize1-DI8x8-360p": 83.60,
    "Cosmos-Tokenize1-DI16x16-360p": 86.55,
}


def _build_meta(config):
    cls = ImageTokenizer if config.kind in ("CI", "DI") else CausalVideoTokenizer
    with torch.device("meta"):
        return cls(config)


@pytest.mark.parametrize("name", sorted(SPEC_PARAMS_M))
def test_preset_parameter_count(name):
    model = _build_meta(PRESETS[name])
    count = sum(p.numel() for p in model.parameters())
    assert abs(count / 1e6 - SPEC_PARAMS_M[name]) < 0.006, f"{name}: {count / 1e6:.3f} M"


def test_every_preset_builds_and_is_named():
    for name, config in PRESETS.items():
        model = _build_meta(config)
        assert model.name == name
        assert all(p.is_meta for p in model.parameters())
    # the 0.1 repos were first published without "0.1-" in their names
    assert PRESETS["Cosmos-Tokenizer-CV8x8x8"].kind == "CV"


def test_cv4x8x8_first_release_matches_published_file_sizes():
    """Spec §9 note A: 61 / 88.1 MB bf16 encoder/decoder JITs fit a two-level network whose JITs also hold
    the inactive temporal sampler convs (dropped on load)."""
    model = _build_meta(PRESETS["Cosmos-0.1-Tokenizer-CV4x8x8"])
    encoder = sum(
        p.numel() for name, p in model.named_parameters() if name.startswith(("encoder", "quant_conv"))
    )
    decoder = sum(
        p.numel() for name, p in model.named_parameters() if name.startswith(("decoder", "post_quant"))
    )
    dead_encoder, dead_decoder = 256 * 256 * 3 + 256, 512 * 512 * 3 + 512
    assert abs(2 * (encoder + dead_encoder) / 1e6 - 61.0) < 0.5
    assert abs(2 * (decoder + dead_decoder) / 1e6 - 88.1) < 0.5


def test_encoder_decoder_split_cv8x8x8():
    model = _build_meta(PRESETS["Cosmos-1.0-Tokenizer-CV8x8x8"])
    encoder = sum(p.numel() for p in model.encoder.parameters()) + sum(
        p.numel() for p in model.quant_conv.parameters()
    )
    assert abs(encoder / 1e6 - 42.91) < 0.006


def test_preset_for_matches_hub_ids_folders_and_cache_paths():
    assert preset_for("nvidia/Cosmos-1.0-Tokenizer-CV8x8x8").name == "Cosmos-1.0-Tokenizer-CV8x8x8"
    assert preset_for("/ckpt/Cosmos-Tokenize1-CV8x8x8-720p").name == "Cosmos-Tokenize1-CV8x8x8-720p"
    cache = "/hf/hub/models--nvidia--Cosmos-0.1-Tokenizer-DV8x16x16/snapshots/abc123"
    assert preset_for(cache).name == "Cosmos-0.1-Tokenizer-DV8x16x16"
    assert preset_for("/tmp/some-folder") is None


def test_reference_config_dict_maps_to_release_preset():
    reference = dict(
        attn_resolutions=[32],
        channels=128,
        channels_mult=[2, 4, 4],
        dropout=0.0,
        in_channels=3,
        num_res_blocks=2,
        out_channels=3,
        resolution=1024,
        patch_size=4,
        patch_method="haar",
        z_channels=16,
        z_factor=1,
        num_groups=1,
        legacy_mode=False,
        spatial_compression=16,
        temporal_compression=8,
        quantizer="FSQ",
        embedding_dim=6,
        levels=[8, 8, 8, 5, 5, 5],
        encoder="FACTORIZED",
        decoder="FACTORIZED",
        name="DV",
    )
    config = config_from_reference(reference)
    expected = PRESETS["Cosmos-1.0-Tokenizer-DV8x16x16"]
    assert config == expected.__class__(**{**expected.__dict__, "name": None})
    with pytest.raises(ValueError, match="patch_method"):
        config_from_reference({**reference, "patch_method": "rearrange"})
