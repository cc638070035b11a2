"""A LeRobot episode as the input of the shared world-model ``rollout`` command (cosmos.core.rollout_cli)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from cosmos.core import read_video
from cosmos.core.rollout_cli import add_rollout_arguments, load_rollout_input, run_rollout
from cosmos.core.testing import DriftWorldModel


def _dataset(name: str) -> Path:
    fixtures = os.environ.get("COSMOS_FIXTURES")
    root = Path(fixtures).parent if fixtures else Path(__file__).resolve().parents[3].parent / "shared"
    folder = root / "data" / "lerobot" / name
    if not folder.is_dir():
        if fixtures:
            pytest.fail(f"{folder} is missing")
        pytest.skip(f"{folder} is not beside this checkout")
    return folder


@pytest.mark.parametrize("name", ["tiny_v30", "tiny_v21"])
def test_lerobot_episode_rolls_out_with_its_own_actions(tmp_path, name, capsys):
    video, actions, fps = load_rollout_input(_dataset(name), episode=1)
    assert video.shape == (1, 3, 12, 64, 64) and actions.shape == (12, 7) and fps == 5
    parser = argparse.ArgumentParser()
    add_rollout_arguments(parser)
    args = parser.parse_args(["--input", str(_dataset(name)), "--episode", "1", "--start", "2",
                              "--out", str(tmp_path / "pred.mp4"), "--no-guardrail"])  # fmt: skip
    model = DriftWorldModel(resolution=(64, 64), action_dim=7, chunk_frames=9)
    assert run_rollout(args, lambda args: model) == 0
    frames, _ = read_video(tmp_path / "pred.mp4")
    assert frames.shape == (10, 64, 64, 3)  # context frame 2, then the episode's actions at frames 2..10
    assert "frames with truth" in capsys.readouterr().out
