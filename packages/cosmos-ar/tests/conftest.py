"""Shared helpers for the cosmos-ar tests: fixture models loaded through the public path, tiny random models."""

from __future__ import annotations

import shutil

import pytest
import torch
from cosmos.ar import Transformer, TransformerConfig
from cosmos.core.testing import fixture_path, load_fixture_json, load_fixture_tensors

FIXTURE_MODELS = ("ar4b_tiny", "ar5b_v2w_tiny", "ar12b_tiny", "ar13b_v2w_tiny")


def load_fixture_model(name: str, tmp_path) -> tuple[Transformer, dict, dict]:
    """Load a fixture model exactly as a user loads NVIDIA's weights: a folder with the reference-key state dict
    as ``model.safetensors`` and ``config=`` the reference constructor arguments plus ``training_type``."""
    info = load_fixture_json("ar", f"{name}.config.json")
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(fixture_path("ar", f"{name}.weights.safetensors"), folder / "model.safetensors")
    config = dict(info["reference_model_config"], training_type=info["tokenizer_training_type"])
    model = Transformer.from_pretrained(folder, config=config, dtype=torch.float32)
    return model, load_fixture_tensors("ar", f"{name}.tensors.safetensors"), info


def tiny_config(**overrides) -> TransformerConfig:
    """A small random architecture for invariant tests (2 layers, dim 64, vocab 32, 2x3x4 latent grid)."""
    values = dict(
        dim=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden_size=96, vocab_size=32,
        video_latent_shape=(2, 3, 4), pad_to_multiple_of=8, context_dim=16,
    )  # fmt: skip
    values.update(overrides)
    return TransformerConfig(**values)


def tiny_model(seed: int = 0, dtype=torch.float32, **overrides) -> Transformer:
    """A tiny random model with non-trivial norm weights (so misplaced norms would show)."""
    torch.manual_seed(seed)
    model = Transformer(tiny_config(**overrides))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("norm.weight"):
                param.add_(0.1 * torch.randn_like(param))
            elif "medusa" in name:
                param.normal_(0, 0.05)
            elif param.dim() == 2:
                param.normal_(0, param.shape[1] ** -0.5)
        model.output.weight.mul_(3.0)
    return model.to(dtype).eval()


@pytest.fixture(name="tiny_model", scope="session")
def tiny_model_factory():
    """The :func:`tiny_model` factory (tests cannot import conftest under --import-mode=importlib)."""
    return tiny_model


@pytest.fixture(name="tiny_config", scope="session")
def tiny_config_factory():
    return tiny_config


@pytest.fixture(params=FIXTURE_MODELS)
def fixture_model(request, tmp_path):
    return load_fixture_model(request.param, tmp_path)


class StandInTokenizer:
    """A tiny causal discrete video tokenizer satisfying cosmos.core.VideoTokenizer (for tests only).

    Temporal compression 4 (frame 0 alone, then groups of 4 frames averaged), spatial 8 (8x8 patch means), each RGB
    mean quantized to 4 levels -> vocab 64 (index = r + 4 g + 16 b).
    """

    temporal_compression = 4
    spatial_compression = 8
    latent_channels = 3
    vocab_size = 64

    def latent_shape(self, num_frames, height, width):
        return 1 + (num_frames - 1) // 4, height // 8, width // 8

    def valid_num_frames(self, num_frames):
        return num_frames >= 1 and (num_frames - 1) % 4 == 0

    def encode(self, video):
        from cosmos.core import TokenGrid

        batch, _, frames, height, width = video.shape
        assert self.valid_num_frames(frames)
        groups = [video[:, :, :1]] + [video[:, :, 1 + 4 * j : 5 + 4 * j] for j in range((frames - 1) // 4)]
        means = torch.stack([g.mean(dim=2) for g in groups], dim=2)  # [B, 3, T', H, W]
        pooled = torch.nn.functional.avg_pool3d(means, (1, 8, 8))  # [B, 3, T', H/8, W/8]
        levels = ((pooled.clamp(-1, 1) + 1) / 2 * 3).round().long()
        indices = levels[:, 0] + 4 * levels[:, 1] + 16 * levels[:, 2]
        return TokenGrid(indices, 64, 4, 8, tokenizer_name="stand-in")

    def decode(self, grid):
        indices = grid.indices if hasattr(grid, "indices") else grid
        levels = torch.stack(
            [indices % 4, (indices // 4) % 4, indices // 16], dim=1
        ).float()  # [B, 3, T', h, w]
        values = levels / 3 * 2 - 1
        values = values.repeat_interleave(8, dim=3).repeat_interleave(8, dim=4)
        first, rest = values[:, :, :1], values[:, :, 1:].repeat_interleave(4, dim=2)
        return torch.cat([first, rest], dim=2)


@pytest.fixture
def stand_in_tokenizer():
    return StandInTokenizer()
