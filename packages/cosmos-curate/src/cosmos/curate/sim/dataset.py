"""Write simulator episodes as curated shards (the training loops' format), mp4 files and contact sheets.

Output folder::

    shards/          webdataset tars (cosmos.curate.shard_writer): {key}.mp4, {key}.json and
                     {key}.actions.npy + {key}.states.npy (robot) or {key}.masks.npz (physics)
    videos/{key}.mp4 the same clips as plain files (inputs for `cosmos-curate run`)
    contact_sheets/  PNG: robot episodes, and one per physics scene
    manifest.json    keys, seeds, scenes, success flags, shard paths and sha256

Driving drives (:func:`write_driving_dataset`, one sample per drive): ``{key}.mp4`` is the views tiled in a
grid (:data:`~cosmos.curate.sim.driving.DRIVING_GRID_LAYOUT`: 1x3 or 2x3), ``{key}.json`` carries the
captions per view, the cameras (intrinsics, camera-to-ego rig, conventions) and the scene, and
``{key}.{trajectory,ego_poses,extrinsics,intrinsics,vehicle_poses}.npy`` the arrays of
:class:`~cosmos.curate.sim.driving.DrivingEpisode`; :func:`drive_from_sample` splits a decoded sample back.

Everything is a deterministic function of (kind, num, seed, config): same arguments, same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cosmos.core import save_contact_sheet
from cosmos.curate.config import ShardConfig
from cosmos.curate.media import encode_h264
from cosmos.curate.shard_writer import ShardSample, write_shards
from cosmos.curate.sim.driving import DRIVING_GRID_LAYOUT, DrivingConfig, generate_drive
from cosmos.curate.sim.physics import PHYSICS_SCENES, PhysicsConfig, generate_physics_clip
from cosmos.curate.sim.robot import RobotConfig, generate_robot_episode

__all__ = [
    "DRIVE_ARRAYS",
    "VIDEO_CRF",
    "drive_from_sample",
    "views_from_grid",
    "write_driving_dataset",
    "write_physics_dataset",
    "write_robot_dataset",
]

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


def _write(
    out: Path,
    samples: list[ShardSample],
    kind: str,
    shard_config: ShardConfig | None,
    summary_keys: tuple[str, ...] | None = None,
) -> dict:
    (out / "videos").mkdir(parents=True, exist_ok=True)
    for sample in samples:
        (out / "videos" / f"{sample.key}.mp4").write_bytes(sample.video)
    records = write_shards(samples, out / "shards", shard_config)
    manifest = {
        "format": "cosmos-curate-sim/v1",
        "kind": kind,
        "samples": [
            {
                k: v
                for k, v in s.metadata.items()
                if k != "caption" and (summary_keys is None or k in summary_keys)
            }
            for s in samples
        ],
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


DRIVE_ARRAYS = ("trajectory", "ego_poses", "extrinsics", "intrinsics", "vehicle_poses")
"""Arrays of a drive stored as ``{key}.{name}.npy`` (shapes and dtypes of :class:`DrivingEpisode`)."""


def _grid(views: np.ndarray) -> np.ndarray:
    """uint8 ``[V, T, H, W, 3]`` -> ``[T, rows * H, 3 * W, 3]`` tiled by :data:`DRIVING_GRID_LAYOUT`."""
    rows = [np.concatenate([views[v] for v in row], axis=2) for row in DRIVING_GRID_LAYOUT[views.shape[0]]]
    return np.concatenate(rows, axis=1)


def views_from_grid(video: np.ndarray, num_views: int) -> np.ndarray:
    """Split a grid video ``[T, rows * H, cols * W, C]`` back into numpy ``[V, T, H, W, C]``.

    Raises:
        ValueError: ``num_views`` has no layout, or the frame size does not divide into the grid.
    """
    if num_views not in DRIVING_GRID_LAYOUT:
        raise ValueError(f"no grid layout for {num_views} views; known: {sorted(DRIVING_GRID_LAYOUT)}")
    video = np.asarray(video)
    layout = DRIVING_GRID_LAYOUT[num_views]
    rows, cols = len(layout), len(layout[0])
    if video.ndim != 4 or video.shape[1] % rows or video.shape[2] % cols:
        raise ValueError(f"grid video must be [T, {rows}*H, {cols}*W, C], got {tuple(video.shape)}")
    height, width = video.shape[1] // rows, video.shape[2] // cols
    cells = {
        view: video[:, r * height : (r + 1) * height, c * width : (c + 1) * width]
        for r, row in enumerate(layout)
        for c, view in enumerate(row)
    }
    return np.stack([cells[v] for v in range(num_views)])


def drive_from_sample(sample: dict) -> dict:
    """A decoded drive sample (:func:`cosmos.curate.shards.decode_sample` with ``video_format="uint8"``) as
    ``{"views": uint8 [V, T, H, W, 3], "captions": [V], "view_names", <DRIVE_ARRAYS as numpy>, "metadata"}``.

    Raises:
        ValueError: the sample is not a drive (no ``multiview`` metadata) or its video is not uint8 frames.
    """
    metadata = sample.get("metadata", {})
    if "multiview" not in metadata:
        raise ValueError(
            f"sample {sample.get('__key__')!r} is not a simulated drive (no 'multiview' metadata)"
        )
    video = np.asarray(sample["video"])
    if video.dtype != np.uint8:
        raise ValueError("decode the sample with video_format='uint8'")
    names = metadata["multiview"]["views"]
    out = {
        "views": views_from_grid(video, len(names)),
        "view_names": list(names),
        "captions": [metadata["captions"][name] for name in names],
        "metadata": metadata,
    }
    out.update({name: np.asarray(sample[name]) for name in DRIVE_ARRAYS if name in sample})
    return out


def write_driving_dataset(
    out_dir: str | Path,
    num: int,
    *,
    seed: int = 0,
    config: DrivingConfig | None = None,
    shard_config: ShardConfig | None = None,
    contact_sheets: int = 3,
    progress: bool = True,
) -> dict:
    """Simulate ``num`` drives (seeds ``seed .. seed+num-1``, :func:`generate_drive`) and write them as shards,
    grid mp4s under ``videos/``, contact sheets of the first ``contact_sheets`` grids and ``manifest.json``.

    Returns the manifest dict (samples: key, seed, view names, lane change, vehicle count).
    """
    out, config = Path(out_dir), config or DrivingConfig()
    samples, sheets = [], []
    for i in tqdm(range(num), desc="drives", disable=not progress):
        drive = generate_drive(seed + i, config)
        key = f"drive_{seed + i:06d}"
        grid = _grid(drive.views)
        metadata = {
            **drive.metadata,
            "caption": drive.captions[0],
            "multiview": {
                "views": list(config.view_names),
                "grid": [list(row) for row in DRIVING_GRID_LAYOUT[config.views]],
                "view_height": config.height,
                "view_width": config.width,
            },
            "intrinsics": drive.intrinsics[0].tolist(),
            "num_vehicles": len(drive.metadata["vehicles"]),
        }
        arrays = {name: getattr(drive, name) for name in DRIVE_ARRAYS}
        samples.append(_sample(key, grid, metadata, arrays))
        if i < contact_sheets:
            sheets.append((key, grid))
    if sheets:
        save_contact_sheet(
            out / "contact_sheets" / "drives.png",
            [v for _, v in sheets],
            labels=[k for k, _ in sheets],
            max_frames=5,
        )
    summary = (
        "key",
        "seed",
        "view_names",
        "ego",
        "num_vehicles",
        "framerate",
        "num_frames",
        "width",
        "height",
    )
    return _write(out, samples, "driving", shard_config, summary)
