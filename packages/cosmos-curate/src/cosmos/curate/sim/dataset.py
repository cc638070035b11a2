"""Write simulator episodes as curated shards (the training loops' format), mp4 files and contact sheets.

Output folder::

    shards/          webdataset tars (cosmos.curate.shard_writer): {key}.mp4, {key}.json and
                     {key}.actions.npy + {key}.states.npy (robot) or {key}.masks.npz (physics)
    videos/{key}.mp4 the same clips as plain files (inputs for `cosmos-curate run`)
    contact_sheets/  PNG: robot episodes, and one per physics scene
    manifest.json    keys, seeds, scenes, success flags, shard paths and sha256

Everything is a deterministic function of (kind, num, seed, config): same arguments, same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from tqdm.auto import tqdm

from cosmos.core import save_contact_sheet
from cosmos.curate.config import ShardConfig
from cosmos.curate.media import encode_h264
from cosmos.curate.shard_writer import ShardSample, write_shards
from cosmos.curate.sim.physics import PHYSICS_SCENES, PhysicsConfig, generate_physics_clip
from cosmos.curate.sim.robot import RobotConfig, generate_robot_episode

__all__ = ["write_robot_dataset", "write_physics_dataset", "VIDEO_CRF"]

VIDEO_CRF = 18


def _sample(key: str, video, metadata: dict, arrays: dict) -> ShardSample:
    mp4 = encode_h264(video, metadata["framerate"], crf=VIDEO_CRF, preset="medium", threads=1)
    meta = {
        **metadata,
        "key": key,
        "width": int(video.shape[2]),
        "height": int(video.shape[1]),
        "num_frames": int(video.shape[0]),
    }
    return ShardSample(key, mp4, meta, arrays)


def _write(out: Path, samples: list[ShardSample], kind: str, shard_config: ShardConfig | None) -> dict:
    (out / "videos").mkdir(parents=True, exist_ok=True)
    for sample in samples:
        (out / "videos" / f"{sample.key}.mp4").write_bytes(sample.video)
    records = write_shards(samples, out / "shards", shard_config)
    manifest = {
        "format": "cosmos-curate-sim/v1",
        "kind": kind,
        "samples": [{k: v for k, v in s.metadata.items() if k != "caption"} for s in samples],
        "shards": [{k: r[k] for k in ("path", "bucket", "num_samples", "sha256")} for r in records],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def write_robot_dataset(
    out_dir: str | Path,
    num: int,
    *,
    seed: int = 0,
    config: RobotConfig | None = None,
    shard_config: ShardConfig | None = None,
    contact_sheets: int = 3,
    progress: bool = True,
) -> dict:
    """Simulate ``num`` pick-and-place episodes (seeds ``seed .. seed+num-1``) and write them.

    Returns the manifest dict (also ``out_dir/manifest.json``).
    """
    out, config = Path(out_dir), config or RobotConfig()
    samples, sheets = [], []
    for i in tqdm(range(num), desc="robot episodes", disable=not progress):
        episode = generate_robot_episode(seed + i, config)
        key = f"robot_{seed + i:06d}"
        samples.append(
            _sample(
                key, episode.video, episode.metadata, {"actions": episode.actions, "states": episode.states}
            )
        )
        if i < contact_sheets:
            sheets.append((key, episode.video))
    if sheets:
        save_contact_sheet(
            out / "contact_sheets" / "robot.png",
            [v for _, v in sheets],
            labels=[k for k, _ in sheets],
            max_frames=9,
        )
    return _write(out, samples, "robot", shard_config)


def physics_schedule(num: int, seed: int) -> Iterator[tuple[str, int]]:
    """``(scene, seed)`` of clip i: scenes in :data:`PHYSICS_SCENES` order, cycling; seed ``seed + i // 8``."""
    for i in range(num):
        yield PHYSICS_SCENES[i % len(PHYSICS_SCENES)], seed + i // len(PHYSICS_SCENES)


def write_physics_dataset(
    out_dir: str | Path,
    num: int,
    *,
    seed: int = 0,
    config: PhysicsConfig | None = None,
    shard_config: ShardConfig | None = None,
    progress: bool = True,
) -> dict:
    """Simulate ``num`` physics clips cycling through the eight scenes, write them and one contact sheet
    per scene (``contact_sheets/physics_{scene}.png``, the scene's first clip)."""
    out, config = Path(out_dir), config or PhysicsConfig()
    samples, seen = [], set()
    for scene, clip_seed in tqdm(
        list(physics_schedule(num, seed)), desc="physics clips", disable=not progress
    ):
        clip = generate_physics_clip(scene, clip_seed, config)
        key = f"physics_{scene}_{clip_seed:06d}"
        samples.append(_sample(key, clip.video, clip.metadata, {"masks": clip.masks}))
        if scene not in seen:
            seen.add(scene)
            save_contact_sheet(
                out / "contact_sheets" / f"physics_{scene}.png", [clip.video], labels=[scene], max_frames=9
            )
    return _write(out, samples, "physics", shard_config)
