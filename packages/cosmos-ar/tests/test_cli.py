"""The cosmos-ar CLI end to end: convert NVIDIA keys to our layout; generate mp4 -> mp4 + PNG with a real DV tokenizer."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from cosmos.ar import ARWFM, Transformer, TransformerConfig
from cosmos.ar.cli import main
from cosmos.core import read_video, write_video
from cosmos.core.testing import fixture_path, load_fixture_json


def test_convert_reference_weights(tmp_path, capsys):
    info = load_fixture_json("ar", "ar5b_v2w_tiny.config.json")
    source = tmp_path / "nvidia"
    source.mkdir()
    shutil.copy(fixture_path("ar", "ar5b_v2w_tiny.weights.safetensors"), source / "model.safetensors")
    config_file = tmp_path / "config.json"
    config_file.write_text(
        json.dumps(dict(info["reference_model_config"], training_type=info["tokenizer_training_type"]))
    )
    assert main(["convert", str(source), str(tmp_path / "ours"), "--config", str(config_file)]) == 0
    assert "476,288 parameters" in capsys.readouterr().out
    model = Transformer.from_pretrained(tmp_path / "ours")
    assert model.config.has_bov and model.config.embedding_rows == 448


def test_generate_cli_with_a_tiny_dv_tokenizer(tmp_path, capsys):
    tokenizer_module = pytest.importorskip("cosmos.tokenizer")
    config = tokenizer_module.TokenizerConfig(
        kind="DV", channels=4, channels_mult=(2, 4, 4), num_res_blocks=1, z_channels=8, latent_channels=6,
        levels=(8, 8, 8, 5, 5, 5), patch_size=4, spatial_compression=16, temporal_compression=8,
    )  # fmt: skip
    tokenizer = tokenizer_module.CausalVideoTokenizer.from_config(config, seed=0)
    torch.manual_seed(0)
    lm = Transformer(TransformerConfig(dim=32, n_layers=1, n_heads=2, n_kv_heads=1, ffn_hidden_size=48,
                                       vocab_size=64000, video_latent_shape=(2, 2, 3), pad_to_multiple_of=8))  # fmt: skip
    ARWFM(tokenizer, lm).save_pretrained(tmp_path / "wfm")
    frames = (np.random.default_rng(0).random((12, 40, 60, 3)) * 255).astype(np.uint8)
    write_video(tmp_path / "in.mp4", frames, fps=8)
    code = main(["generate", "--model", str(tmp_path / "wfm"), "--input", str(tmp_path / "in.mp4"),
                 "--output", str(tmp_path / "out" / "future.mp4"), "--num-input-frames", "1", "--quiet",
                 "--device", "cpu", "--dtype", "float32"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "tokens/s" in out and "mean accepted length 1.00" in out
    video, _ = read_video(tmp_path / "out" / "future.mp4")
    assert video.shape == (9, 32, 48, 3)
    assert (tmp_path / "out" / "future.png").is_file()


def test_train_cli(tmp_path, tiny_model):
    from safetensors.torch import save_file

    tiny_model(seed=41).save_pretrained(tmp_path / "model")
    save_file({"tokens": torch.randint(0, 32, (8, 24))}, str(tmp_path / "shard.safetensors"))
    args = ["train", "--model", str(tmp_path / "model"), "--shards", str(tmp_path / "shard.safetensors"),
            "--output", str(tmp_path / "run"), "--steps", "4", "--batch-size", "4", "--checkpoint-every", "2"]  # fmt: skip
    assert main(args) == 0
    assert (
        main([*args, "--mode", "medusa", "--output", str(tmp_path / "medusa"), "--num-medusa-heads", "2"])
        == 0
    )
    assert Transformer.from_pretrained(tmp_path / "medusa" / "step-0000004").config.num_medusa_heads == 2
    assert (tmp_path / "run" / "step-0000002" / "model.safetensors").is_file()


def test_rollout_command_on_nano_ar(tmp_path, capsys):
    """``cosmos-ar rollout``: a clip and actions -> greedy prediction (mp4 + PNG), one error line for bad input."""
    import numpy as np

    from cosmos.ar.cli import main
    from cosmos.core import read_video, write_video

    write_video(tmp_path / "clip.mp4", np.full((2, 64, 64, 3), 90, np.uint8), fps=5)
    np.save(tmp_path / "a.npy", np.zeros((4, 7), np.float32))
    argv = ["rollout", "--model", "nano-ar", "--input", str(tmp_path / "clip.mp4"), "--actions",
            str(tmp_path / "a.npy"), "--out", str(tmp_path / "pred.mp4"), "--no-guardrail"]  # fmt: skip
    assert main(argv) == 0
    frames, _ = read_video(tmp_path / "pred.mp4")
    assert frames.shape == (5, 64, 64, 3) and (tmp_path / "pred.png").is_file()
    assert "wrote" in capsys.readouterr().out
    assert main([*argv, "--context", "3"]) == 2
    assert "error:" in capsys.readouterr().err
