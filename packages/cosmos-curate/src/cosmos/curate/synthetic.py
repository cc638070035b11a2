"""Synthetic test videos with known shot cuts (for tests, benchmarks and demos; no downloads).

Each shot is a smooth colour field with drifting waves (calm content, as TransNetV2 and PySceneDetect's
adaptive detector expect within a shot), a different palette and pattern per shot; ``moving=False``
freezes a shot (a static clip for the motion filter).
"""

from __future__ import annotations

import numpy as np

__all__ = ["shot_frames", "cut_video"]


def shot_frames(
    num_frames: int, height: int, width: int, seed: int, *, moving: bool = True, speed: float = 3.0
) -> np.ndarray:
    """One shot: uint8 ``[num_frames, height, width, 3]``; the pattern drifts ``speed`` px/frame if ``moving``."""
    rng = np.random.default_rng(seed)
    colour = rng.uniform(40, 215, 3)
    fx, fy, phase = rng.uniform(4, 12), rng.uniform(5, 14), rng.uniform(0, 6)
    tint = rng.uniform(0.5, 1.0, 3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    out = np.zeros((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        shift = speed * t if moving else 0.0
        wave = 60 * np.sin((xx + shift) / fx + phase) * np.cos((yy + 0.5 * shift) / fy)
        texture = 25 * np.sin((0.7 * xx + 1.3 * yy + 2 * shift) / 3.0)
        out[t] = np.clip(colour + (wave + texture)[..., None] * tint, 0, 255)
    return out


def cut_video(
    shot_lengths: list[int], height: int, width: int, *, seed: int = 0, static_shots: tuple[int, ...] = ()
) -> tuple[np.ndarray, list[int]]:
    """Concatenated shots and the true cut frames (first frame of every shot after the first).

    Returns:
        ``(frames uint8 [sum(shot_lengths), H, W, 3], cuts)``.
    """
    shots = [
        shot_frames(n, height, width, seed * 1000 + i, moving=i not in static_shots)
        for i, n in enumerate(shot_lengths)
    ]
    cuts = list(np.cumsum(shot_lengths)[:-1].astype(int))
    return np.concatenate(shots), [int(c) for c in cuts]
