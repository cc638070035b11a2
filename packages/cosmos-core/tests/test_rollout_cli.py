"""The shared ``rollout`` sub-command (cosmos.core.rollout_cli) on a toy world model with exact dynamics."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch

from cosmos.core import ShapeError, read_video, write_video
from cosmos.core.rollout_cli import add_rollout_arguments, load_actions, run_rollout
from cosmos.core.testing import DriftWorldModel


def _args(argv):
    parser = argparse.ArgumentParser()
    add_rollout_arguments(parser)
    return parser.parse_args(argv)


def test_rollout_command_writes_prediction_and_truth_comparison(tmp_path, capsys):
    model = DriftWorldModel(resolution=(16, 16), action_dim=2, chunk_frames=9)
    frames = np.full((12, 32, 32, 3), 100, np.uint8)  # 32x32 input: resized to the model's 16x16
    write_video(tmp_path / "in.mp4", frames, fps=5)
    np.save(tmp_path / "a.npy", np.full((14, 2), 0.5, np.float32))
    args = _args(["--input", str(tmp_path / "in.mp4"), "--actions", str(tmp_path / "a.npy"),
                  "--out", str(tmp_path / "out" / "pred.mp4"), "--no-guardrail"])  # fmt: skip
    assert run_rollout(args, lambda args: model) == 0
    pred, fps = read_video(tmp_path / "out" / "pred.mp4")
    assert pred.shape == (15, 16, 16, 3) and fps == pytest.approx(5.0)
    assert pred[-1].mean() == pytest.approx(pred[0].mean() + 14 * 0.01 * 127.5, abs=2)  # +0.01 a step in [-1, 1]
    assert (tmp_path / "out" / "pred.png").is_file() and (tmp_path / "out" / "pred_vs_truth.mp4").is_file()
    printed = capsys.readouterr().out
    assert "psnr_db" in printed and "timings (s)" in printed


def test_rollout_command_errors(tmp_path):
    model = DriftWorldModel(resolution=(16, 16), action_dim=2)
    write_video(tmp_path / "in.mp4", np.zeros((3, 16, 16, 3), np.uint8), fps=5)
    args = _args(["--input", str(tmp_path / "in.mp4"), "--out", str(tmp_path / "p.mp4")])
    with pytest.raises(ShapeError, match="needs actions"):
        run_rollout(args, lambda args: model)
    args = _args(["--input", str(tmp_path / "in.mp4"), "--start", "3", "--out", str(tmp_path / "p.mp4")])
    with pytest.raises(ShapeError, match="--start 3"):
        run_rollout(args, lambda args: model)
    (tmp_path / "bad.json").write_text("[1, 2, 3]")
    with pytest.raises(ShapeError, match=r"\[N, action_dim\]"):
        load_actions(tmp_path / "bad.json")
    np.save(tmp_path / "ok.npy", np.zeros((4, 2)))
    assert load_actions(tmp_path / "ok.npy").dtype == torch.float32
