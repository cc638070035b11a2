"""Shared helpers for the cosmos-tokenizer tests: tiny configs and fixture loading through the public API."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from cosmos.core.testing import fixture_path, load_fixture_json
from cosmos.tokenizer import CausalVideoTokenizer, ImageTokenizer, TokenizerConfig

MODEL_FIXTURES = ("cv8x8x8", "dv8x16x16", "cv4x8x8_p2", "ci8x8", "di16x16")


def tiny_video_config(
    kind: str = "CV", spatial: int = 8, temporal: int = 8, patch: int = 4
) -> TokenizerConfig:
    """A ~0.1 M parameter causal video tokenizer with the released structure."""
    return TokenizerConfig(
        kind=kind,
        channels=4,
        channels_mult=(2, 4, 4),
        num_res_blocks=1,
        z_channels=8,
        latent_channels=16 if kind == "CV" else 6,
        patch_size=patch,
        spatial_compression=spatial,
        temporal_compression=temporal,
    )


def tiny_image_config(kind: str = "CI", spatial: int = 8) -> TokenizerConfig:
    return TokenizerConfig(
        kind=kind,
        channels=32,
        channels_mult=(1, 1),
        num_res_blocks=1,
        z_channels=8,
        latent_channels=16 if kind == "CI" else 6,
        patch_size=4,
        spatial_compression=spatial,
        temporal_compression=1,
    )


def load_fixture_model(name: str, tmp_path: Path):
    """The fixture's reference weights loaded through the public ``from_pretrained(folder, config=...)`` path."""
    meta = load_fixture_json("tokenizer", f"{name}.config.json")
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(fixture_path("tokenizer", f"{name}.weights.safetensors"), folder / "model.safetensors")
    cls = ImageTokenizer if meta["kind"] in ("CI", "DI") else CausalVideoTokenizer
    return cls.from_pretrained(folder, config=meta["config"]), meta


@pytest.fixture
def random_video():
    def make(batch=1, frames=9, height=32, width=32, seed=0):
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(batch, 3, frames, height, width, generator=generator) * 2 - 1

    return make
