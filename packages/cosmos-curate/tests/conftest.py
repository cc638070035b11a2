"""Shared fixtures: small synthetic videos with known cuts (written with cosmos.core.write_video)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cosmos.core import write_video
from cosmos.curate.config import get_preset
from cosmos.curate.synthetic import cut_video

FPS = 8.0
SHOT = 32  # frames per shot: 4 s at 8 fps


def small_config(**changes):
    """The code preset with a minimum clip length that fits 4-s shots at 8 fps (48 -> 16 frames)."""
    return get_preset("cosmos-curate").replace(**{"split.min_length_frames": 16, **changes})


@pytest.fixture(scope="session")
def video_folder(tmp_path_factory) -> Path:
    """Three 256x256 videos at 8 fps, three 4-s shots each (cuts at 32, 64); shot 1 is static.
    Also one exact copy of video0 (a planted duplicate)."""
    folder = tmp_path_factory.mktemp("videos")
    for index in range(3):
        frames, _ = cut_video([SHOT] * 3, 256, 256, seed=index, static_shots=(1,))
        write_video(folder / f"video{index}.mp4", frames, FPS)
    shutil.copy(folder / "video0.mp4", folder / "video0_copy.mp4")
    return folder
