"""The shipped nano tokenizers (package data, trained by examples/train_nano.py) load by short name and work."""

import importlib.resources
from pathlib import Path

import numpy as np
import pytest
import torch

from cosmos.core import psnr
from cosmos.tokenizer import CausalVideoTokenizer

EPISODE = Path(__file__).resolve().parents[3] / "examples" / "data" / "nano_heldout_episode.npz"


def _episode() -> torch.Tensor:
    if not EPISODE.is_file():
        pytest.skip("examples/data/nano_heldout_episode.npz is not in this checkout")
    frames = np.load(EPISODE)["video"]  # uint8 [25, 64, 64, 3], held-out simulator seed
    return torch.from_numpy(frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1


@pytest.mark.parametrize("name", ["nano-cv4x8x8", "nano-dv4x8x8"])
def test_shipped_tokenizer_loads_by_short_name(name):
    tok = CausalVideoTokenizer.from_pretrained(name, dtype=torch.float32)
    assert tok.temporal_compression == 4 and tok.spatial_compression == 8
    files = list(
        Path(str(importlib.resources.files("cosmos.tokenizer.pretrained") / name)).glob("*.safetensors")
    )
    assert files and sum(f.stat().st_size for f in files) < 10 * 2**20  # shipped small, float16
    video = torch.rand(1, 3, 25, 64, 64) * 2 - 1
    encoded = tok.encode(video)
    if name == "nano-cv4x8x8":
        assert encoded.z.shape == (1, 16, 7, 8, 8)
        assert tok.latent_statistics is not None and tok.latent_statistics.mean.shape == (16, 7)
    else:
        assert encoded.indices.shape == (1, 7, 8, 8)
        assert int(encoded.indices.min()) >= 0 and int(encoded.indices.max()) < 8000
    assert tok.decode(encoded).shape == video.shape


@pytest.mark.parametrize("name", ["nano-cv4x8x8", "nano-dv4x8x8"])
def test_shipped_tokenizer_reconstructs_held_out_episode(name):
    video = _episode()
    tok = CausalVideoTokenizer.from_pretrained(name, dtype=torch.float32)
    with torch.no_grad():
        recon = tok.decode(tok.encode(video)).clamp(-1, 1)
    assert float(psnr(recon, video)) > 24.0  # trained far beyond this; random weights give ~6 dB
