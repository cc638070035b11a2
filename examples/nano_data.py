"""Data for the nano models: simulated Franka pick-and-place episodes and the eight physics-alignment scenes
(cosmos.curate.sim) at 64x64.

Episodes are rendered at 128x128 with PyBullet's TinyRenderer and area-downsampled 2x to 64x64
(smoother edges than rendering at 64x64 directly). Each episode has ``NUM_STEPS = 24`` actions and
25 frames (1 + 4*6: six latent frames after the first under 4x temporal compression) at 5 fps.
Physics clips have 25 frames at 16 fps (1.5 s), no actions, and per-pixel object masks (int16, 0 = background,
k = k-th dynamic object; downsampled by taking every second pixel); clip ``i`` of a split is scene ``i % 8``
with seed ``seed0 + i // 8``.

Splits (disjoint, recorded in every model card):
    train    seeds 0 .. N-1
    held-out seeds HELDOUT_SEED0 .. HELDOUT_SEED0 + M - 1  (1,000,000 and up)

Usage::

    python examples/nano_data.py robot --split train --num 1000 --out data/nano   # chunks of 50 episodes
    python examples/nano_data.py robot --split heldout --num 64 --out data/nano
    python examples/nano_data.py physics --split train --num 400 --out data/nano
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

NUM_STEPS = 24
RENDER_SIZE = 128
SIZE = 64
HELDOUT_SEED0 = 1_000_000
CHUNK = 50


def downsample(video: np.ndarray, factor: int) -> np.ndarray:
    """Area-average ``uint8 [T, H, W, 3]`` by ``factor`` -> ``uint8 [T, H/f, W/f, 3]``."""
    if factor == 1:
        return video
    t, h, w, c = video.shape
    v = video.reshape(t, h // factor, factor, w // factor, factor, c).astype(np.float32).mean((2, 4))
    return np.clip(np.round(v), 0, 255).astype(np.uint8)


def robot_episode(seed: int, size: int = SIZE) -> dict:
    """One episode: ``video`` uint8 [25, size, size, 3], ``actions`` float32 [24, 7], ``states`` [25, 7]."""
    from cosmos.curate.sim import RobotConfig, generate_robot_episode

    ep = generate_robot_episode(seed, RobotConfig(height=RENDER_SIZE, width=RENDER_SIZE, num_steps=NUM_STEPS))
    return {
        "video": downsample(ep.video, RENDER_SIZE // size),
        "actions": ep.actions,
        "states": ep.states,
        "success": ep.success,
        "seed": seed,
    }


PHYSICS_FPS = 16.0


def physics_clip(index: int, seed0: int, size: int = SIZE) -> dict:
    """Clip ``index`` of a split: ``video`` uint8 [25, size, size, 3], ``masks`` int16 [25, size, size]."""
    from cosmos.curate.sim import PHYSICS_SCENES, PhysicsConfig, generate_physics_clip

    scene, seed = PHYSICS_SCENES[index % len(PHYSICS_SCENES)], seed0 + index // len(PHYSICS_SCENES)
    config = PhysicsConfig(height=RENDER_SIZE, width=RENDER_SIZE, fps=PHYSICS_FPS, num_frames=NUM_STEPS + 1)
    clip = generate_physics_clip(scene, seed, config)
    factor = RENDER_SIZE // size
    return {
        "video": downsample(clip.video, factor),
        "masks": clip.masks[:, ::factor, ::factor],
        "scene": PHYSICS_SCENES.index(scene),
        "seed": seed,
    }


def load_robot(folder: str | Path, split: str) -> dict[str, np.ndarray]:
    """Concatenate all chunks of a split: video uint8 [N, 25, 64, 64, 3], actions [N, 24, 7], seeds [N].

    ``folder`` may instead be a LeRobot dataset (v2.1 or v3.0, 64x64 frames, e.g. written by
    ``cosmos-curate lerobot-export``): its episodes' first 25 frames are used (``split`` is ignored; the episode
    indices stand in for the seeds)."""
    from cosmos.curate.lerobot import LeRobotDataset, is_lerobot_root, lerobot_arrays

    if is_lerobot_root(folder):
        data = lerobot_arrays(LeRobotDataset(folder), num_frames=NUM_STEPS + 1)
        return {**data, "seeds": data.pop("episode_index")}
    return _load_chunks(folder, split, "robot")


def load_physics(folder: str | Path, split: str) -> dict[str, np.ndarray]:
    """Physics clips of a split: video uint8 [N, 25, 64, 64, 3], masks int16 [N, 25, 64, 64], scene [N]
    (index in ``PHYSICS_SCENES``), seeds [N]."""
    return _load_chunks(folder, split, "physics")


def _load_chunks(folder: str | Path, split: str, kind: str) -> dict[str, np.ndarray]:
    files = sorted(Path(folder).glob(f"{kind}_{split}_*.npz"))
    files = [f for f in files if ".tmp" not in f.name]
    if not files:
        raise FileNotFoundError(f"no {kind}_{split}_*.npz under {folder}: run examples/nano_data.py first")
    parts = [dict(np.load(f)) for f in files]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["robot", "physics"])
    ap.add_argument("--split", choices=["train", "heldout"], default="train")
    ap.add_argument("--num", type=int, default=1000)
    ap.add_argument("--out", default="data/nano")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seed0 = 0 if args.split == "train" else HELDOUT_SEED0
    t0 = time.time()
    for c0 in range(0, args.num, CHUNK):
        path = out / f"{args.kind}_{args.split}_{c0 // CHUNK:04d}.npz"
        if path.exists():
            continue
        tmp = path.with_suffix(".tmp.npz")
        if args.kind == "robot":
            eps = [robot_episode(seed0 + i) for i in range(c0, min(c0 + CHUNK, args.num))]
            keys = ("video", "actions", "states", "success", "seed")
        else:
            eps = [physics_clip(i, seed0) for i in range(c0, min(c0 + CHUNK, args.num))]
            keys = ("video", "masks", "scene", "seed")
        np.savez(tmp, **{("seeds" if k == "seed" else k): np.stack([e[k] for e in eps]) for k in keys})
        tmp.rename(path)
        print(f"{path} done, {c0 + len(eps)} episodes, {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
