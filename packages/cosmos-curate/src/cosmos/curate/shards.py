"""Read curated shards (``cosmos-shards/v1``, written by :mod:`cosmos.curate.shard_writer`) for training.

The training loops of cosmos-diffusion and cosmos-ar import this module::

    from cosmos.curate.shards import ShardDataset, iter_samples

    for sample in iter_samples("out/shards"):
        sample["video"]      # float32 [3, T, H, W] in [-1, 1]  (video_format="uint8": uint8 [T, H, W, 3])
        sample["fps"]        # float, frames/s
        sample["caption"]    # str or None (first window's caption)
        sample["actions"]    # float32 [T-1, 7] (dx, dy, dz, droll, dpitch, dyaw, gripper) or absent
        sample["states"]     # float32 [T, 7] end-effector (x, y, z, roll, pitch, yaw, finger width) or absent
        sample["masks"]      # int16 [T, H, W] per-pixel object ids (physics scenes) or absent
        sample["t5_xxl"]     # list of float16 tensors [L, D], one per caption window, or absent
        sample["metadata"]   # the clip's metadata JSON (dict)
        sample["__key__"], sample["__url__"]

Only the Python standard library, numpy, PyAV and torch are needed (no webdataset install); the tars
are ordinary webdataset tars, so ``webdataset.WebDataset(urls)`` reads them too.

A LeRobot dataset folder (v2.1 or v3.0, recognised by its ``meta/info.json``) is accepted wherever a shard
folder is: each episode becomes one sample with the same keys (``caption`` is the episode's task;
``actions`` ``[T-1, A]``, ``states`` ``[T, S]``; see :func:`cosmos.curate.lerobot.lerobot_clips`, extra
``[lerobot]``).
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from cosmos.core import frames_to_video
from cosmos.curate.lerobot import is_lerobot_root
from cosmos.curate.media import decode_frames

__all__ = ["list_shards", "iter_raw_samples", "decode_sample", "iter_samples", "ShardDataset"]


def list_shards(
    source: str | Path | Sequence[str | Path], *, buckets: Sequence[str] | None = None
) -> list[Path]:
    """Tar paths of a shard folder (from its ``shards.json``, else every ``*.tar`` under it, sorted),
    or the given list of tar paths. ``buckets``: keep only tars whose bucket path contains one of these
    strings (e.g. ``"duration_2_5"``, ``"resolution_720"``)."""
    if isinstance(source, (str, Path)):
        root = Path(source)
        if root.is_file():
            paths = [root]
        elif (root / "shards.json").is_file():
            index = json.loads((root / "shards.json").read_text())
            paths = [root / record["path"] for record in index["shards"]]
        else:
            paths = sorted(root.rglob("*.tar"))
        if not paths:
            raise FileNotFoundError(f"no shards found under {root}")
    else:
        paths = [Path(p) for p in source]
    if buckets:
        paths = [p for p in paths if any(b in p.as_posix() for b in buckets)]
    return paths


def iter_raw_samples(path: str | Path) -> Iterator[dict[str, bytes | str]]:
    """Group the members of one tar by key: ``{"__key__", "__url__", "<ext>": bytes, ...}``."""
    current: dict[str, bytes | str] | None = None
    with tarfile.open(path, mode="r") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = Path(member.name).name
            key, _, extension = name.partition(".")
            if current is None or current["__key__"] != key:
                if current is not None:
                    yield current
                current = {"__key__": key, "__url__": str(path)}
            current[extension] = tar.extractfile(member).read()
    if current is not None:
        yield current


def decode_sample(
    raw: dict[str, bytes | str], *, video_format: str = "float", max_frames: int | None = None
) -> dict:
    """Decode one raw sample (see the module docstring for the keys and shapes).

    Args:
        video_format: ``"float"`` (float32 ``[3, T, H, W]`` in [-1, 1]), ``"uint8"`` (``[T, H, W, 3]``)
            or ``"bytes"`` (the mp4 bytes undecoded).
        max_frames: decode at most this many frames (actions/states/masks are cut to match).
    """
    metadata = json.loads(raw["json"]) if "json" in raw else {}
    sample: dict = {"__key__": raw["__key__"], "__url__": raw["__url__"], "metadata": metadata}
    sample["fps"] = float(metadata.get("framerate", 0.0))
    windows = metadata.get("windows") or []
    captions = [next(iter(w["caption"].values())) for w in windows if w.get("caption")]
    sample["caption"] = metadata.get("caption") or (captions[0] if captions else None)
    if "mp4" in raw:
        if video_format == "bytes":
            sample["video"] = raw["mp4"]
        else:
            frames = decode_frames(raw["mp4"], max_frames=max_frames)
            sample["video"] = (
                frames_to_video(frames)[0] if video_format == "float" else torch.from_numpy(frames)
            )
    for extension, value in raw.items():
        if extension.endswith(".npy"):
            array = np.load(io.BytesIO(value), allow_pickle=False)
            sample[extension[: -len(".npy")]] = torch.from_numpy(array)
        elif extension.endswith(".npz"):
            with np.load(io.BytesIO(value), allow_pickle=False) as archive:
                arrays = {k: torch.from_numpy(archive[k]) for k in archive.files}
            name = extension[: -len(".npz")]
            sample[name] = (
                arrays[name] if name in arrays else [arrays[k] for k in sorted(arrays, key=_window_index)]
            )
    if max_frames is not None:
        for name, length in (("states", max_frames), ("masks", max_frames), ("actions", max_frames - 1)):
            if name in sample:
                sample[name] = sample[name][:length]
    return sample


def _window_index(name: str) -> int:
    return int(name.rsplit("_", 1)[-1]) if name.rsplit("_", 1)[-1].isdigit() else 0


def iter_samples(
    source: str | Path | Sequence[str | Path],
    *,
    buckets: Sequence[str] | None = None,
    video_format: str = "float",
    max_frames: int | None = None,
) -> Iterator[dict]:
    """Decoded samples of every shard under ``source`` (see :func:`list_shards`, :func:`decode_sample`), or
    of every episode of a LeRobot dataset folder (``buckets`` does not apply there)."""
    if is_lerobot_root(source):
        yield from _lerobot_samples(source, None, video_format, max_frames)
        return
    for path in list_shards(source, buckets=buckets):
        for raw in iter_raw_samples(path):
            yield decode_sample(raw, video_format=video_format, max_frames=max_frames)


def _lerobot_samples(root, episodes, video_format: str, max_frames: int | None) -> Iterator[dict]:
    """One sample per LeRobot episode (its first ``max_frames`` frames), keys as :func:`decode_sample`."""
    from cosmos.curate.lerobot import LeRobotDataset, episode_clip

    dataset = root if isinstance(root, LeRobotDataset) else LeRobotDataset(root)
    for position in range(len(dataset)) if episodes is None else episodes:
        yield episode_clip(dataset, dataset[position], num_frames=max_frames, video_format=video_format)


class ShardDataset(torch.utils.data.IterableDataset):
    """``IterableDataset`` over shards, or over the episodes of a LeRobot dataset folder; DataLoader workers
    split the tars (episodes) between them.

    Args:
        source: shard folder, tar paths, or a LeRobot dataset folder. buckets, video_format, max_frames: as
            :func:`iter_samples`.
        shuffle_seed: if given, shuffle the tar (episode) order (per epoch: call :meth:`set_epoch`).
    """

    def __init__(
        self,
        source: str | Path | Sequence[str | Path],
        *,
        buckets: Sequence[str] | None = None,
        video_format: str = "float",
        max_frames: int | None = None,
        shuffle_seed: int | None = None,
    ) -> None:
        super().__init__()
        self.lerobot = None
        if is_lerobot_root(source):
            from cosmos.curate.lerobot import LeRobotDataset

            self.lerobot = LeRobotDataset(source)
            self.paths = list(range(len(self.lerobot)))
        else:
            self.paths = list_shards(source, buckets=buckets)
        self.video_format, self.max_frames, self.shuffle_seed, self.epoch = (
            video_format,
            max_frames,
            shuffle_seed,
            0,
        )

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle the tar order for ``epoch`` (with ``shuffle_seed``)."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[dict]:
        paths = list(self.paths)
        if self.shuffle_seed is not None:
            order = np.random.default_rng(self.shuffle_seed + self.epoch).permutation(len(paths))
            paths = [paths[i] for i in order]
        info = torch.utils.data.get_worker_info()
        if info is not None:
            paths = paths[info.id :: info.num_workers]
        if self.lerobot is not None:
            yield from _lerobot_samples(self.lerobot, paths, self.video_format, self.max_frames)
            return
        for path in paths:
            for raw in iter_raw_samples(path):
                yield decode_sample(raw, video_format=self.video_format, max_frames=self.max_frames)
