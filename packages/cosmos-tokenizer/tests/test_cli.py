"""The cosmos-tokenizer CLI end to end on a synthetic mp4 with small random or fixture models."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors import safe_open

from cosmos.core import read_video, write_video
from cosmos.core.testing import fixture_path, load_fixture_json
from cosmos.tokenizer import CausalVideoTokenizer
from cosmos.tokenizer.cli import main


@pytest.fixture
def clip(tmp_path):
    """A 20-frame 36x44 mp4 of a moving gradient square (sizes and frame count deliberately invalid)."""
    frames = np.zeros((20, 36, 44, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:36, 0:44]
    for t in range(20):
        frames[t, ..., 0] = (xx * 5 + t * 7) % 256
        frames[t, ..., 1] = (yy * 6) % 256
        frames[t, 8 + t // 2 : 20 + t // 2, 10:22, 2] = 220
    return write_video(tmp_path / "clip.mp4", frames, fps=10)


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_reconstruct_random_init(clip, tmp_path, capsys):
    out = tmp_path / "recon.mp4"
    code = main(
        [
            "reconstruct",
            str(clip),
            "--model",
            "Cosmos-1.0-Tokenizer-CV8x8x8",
            "--random-init",
            "--channels",
            "4",
            "--chunk-size",
            "9",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result = _last_json(capsys)
    assert np.isfinite(result["psnr_db"]) and -1 <= result["ssim"] <= 1
    frames, fps = read_video(out)
    assert frames.shape == (20, 36, 88, 3) and abs(fps - 10) < 0.1  # input | reconstruction side by side
    assert (tmp_path / "recon.png").stat().st_size > 1000


def test_encode_decode_round_trip_random_init(clip, tmp_path, capsys):
    tokens = tmp_path / "tokens.safetensors"
    assert (
        main(
            [
                "encode",
                str(clip),
                "--model",
                "Cosmos-0.1-Tokenizer-DV8x16x16",
                "--random-init",
                "--channels",
                "4",
                "--out",
                str(tokens),
            ]
        )
        == 0
    )
    encoded = _last_json(capsys)
    assert encoded["shapes"]["indices"] == [1, 4, 3, 3] and encoded["original_size"] == [20, 36, 44]
    with safe_open(str(tokens), framework="pt") as handle:
        assert handle.get_tensor("indices").dtype == torch.int64
    out = tmp_path / "decoded.mp4"
    assert main(["decode", str(tokens), "--out", str(out)]) == 0
    frames, _ = read_video(out)
    assert frames.shape == (20, 36, 44, 3)


def test_convert_reference_checkpoint(tmp_path, capsys):
    src = tmp_path / "reference"
    src.mkdir()
    shutil.copy(fixture_path("tokenizer", "cv8x8x8.weights.safetensors"), src / "model.safetensors")
    config = json.dumps(load_fixture_json("tokenizer", "cv8x8x8.config.json")["config"])
    dst = tmp_path / "ours"
    assert main(["convert", str(src), str(dst), "--config", config]) == 0
    result = _last_json(capsys)
    assert result["parameters"] == 577136
    model = CausalVideoTokenizer.from_pretrained(dst)
    assert model.config.channels == 8


def test_presets_listing(capsys):
    assert main(["presets"]) == 0
    assert "Cosmos-Tokenize1-DV4x8x8-360p" in capsys.readouterr().out
