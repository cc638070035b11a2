"""Pack clips into webdataset tars bucketed by resolution, aspect ratio and duration (spec/curation.md §9).

Layout (one tar set; every sample's files sit together under ``__key__`` = clip id)::

    {out}/shards.json                                  index: every tar, its bucket, keys, sha256
    {out}/v0/resolution_{lt_720|720|1080}/aspect_ratio_{W}_{H}/duration_{0_2|2_5|5_10|10_30|30_inf}/
        wdinfo.json                                    keys and tar paths of the bucket
        part_000000/000000.tar                         {key}.mp4, {key}.json, optional {key}.actions.npy,
                                                       {key}.states.npy, {key}.masks.npz, {key}.t5_xxl.npz

Differences from the reference (deliberate): one tar set instead of three parallel ones (``video/``,
``metas/``, ``t5_xxl/``) so a reader opens one file per sample group; and clips shorter than 5 s are not
dropped: they go to ``duration_2_5`` (and ``duration_0_2``), the reference loses all 2-5 s clips.
Tars are byte-deterministic (sorted members, zero mtimes/owners), so a re-run gives identical files.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cosmos.curate.config import ShardConfig

__all__ = [
    "ShardSample",
    "resolution_bucket",
    "aspect_ratio_bucket",
    "duration_bucket",
    "bucket_of",
    "write_shards",
    "SHARD_FORMAT",
]

SHARD_FORMAT = "cosmos-shards/v1"
ASPECT_BINS = ((0.65, "9_16"), (0.88, "3_4"), (1.16, "1_1"), (1.55, "4_3"), (10.0, "16_9"))


def resolution_bucket(height: int, width: int) -> str:
    """``"1080"`` if ``min(H, W) >= 1080``, ``"720"`` if ``>= 720``, else ``"lt_720"``."""
    short = min(height, width)
    return "1080" if short >= 1080 else ("720" if short >= 720 else "lt_720")


def aspect_ratio_bucket(width: int, height: int) -> str:
    """Bucket of ``w / h``: (0, 0.65] 9_16, (0.65, 0.88] 3_4, (0.88, 1.16] 1_1, (1.16, 1.55] 4_3,
    (1.55, 10] 16_9; wider than 10:1 (dropped by the reference) goes to ``"ultrawide"``."""
    ratio = width / height
    for upper, name in ASPECT_BINS:
        if ratio <= upper:
            return name
    return "ultrawide"


def duration_bucket(seconds: float) -> str:
    """``[0, 2)`` 0_2, ``[2, 5)`` 2_5, ``[5, 10]`` 5_10, ``(10, 30]`` 10_30, ``(30, inf)`` 30_inf.

    The three reference bins keep the reference's edges (first matching inclusive bin wins); the two
    shorter bins are ours, so no clip is dropped.
    """
    if seconds < 2.0:
        return "0_2"
    if seconds < 5.0:
        return "2_5"
    if seconds <= 10.0:
        return "5_10"
    if seconds <= 30.0:
        return "10_30"
    return "30_inf"


def bucket_of(metadata: dict) -> str:
    """Relative bucket folder of a clip from its ``width``, ``height``, ``num_frames``, ``framerate``."""
    width, height = int(metadata["width"]), int(metadata["height"])
    seconds = metadata["num_frames"] / metadata["framerate"]
    return (
        f"resolution_{resolution_bucket(height, width)}/aspect_ratio_{aspect_ratio_bucket(width, height)}/"
        f"duration_{duration_bucket(seconds)}"
    )


@dataclass
class ShardSample:
    """One sample: ``key`` (no dots), H.264 ``video`` bytes, JSON ``metadata`` (must hold width, height,
    num_frames, framerate), and named ``arrays`` (``actions`` float32 [T-1, 7], ``states`` float32
    [T, 7], ``masks`` int16 [T, H, W], ``t5_xxl`` float16 [L, D] per window as ``window_{i}``...)."""

    key: str
    video: bytes
    metadata: dict
    arrays: dict[str, np.ndarray | dict[str, np.ndarray]] = field(default_factory=dict)

    def members(self) -> list[tuple[str, bytes]]:
        """``(file name, bytes)`` of every tar member, in sorted name order."""
        if "." in self.key or "/" in self.key:
            raise ValueError(f"sample key must not contain '.' or '/': {self.key!r}")
        out = [
            (f"{self.key}.mp4", self.video),
            (f"{self.key}.json", json.dumps(self.metadata, sort_keys=True).encode()),
        ]
        for name, value in self.arrays.items():
            buffer = io.BytesIO()
            if isinstance(value, dict):
                np.savez_compressed(buffer, **value)
                out.append((f"{self.key}.{name}.npz", buffer.getvalue()))
            elif name == "masks":
                np.savez_compressed(buffer, masks=value)
                out.append((f"{self.key}.{name}.npz", buffer.getvalue()))
            else:
                np.save(buffer, np.ascontiguousarray(value), allow_pickle=False)
                out.append((f"{self.key}.{name}.npy", buffer.getvalue()))
        return sorted(out)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = (
        len(data),
        0,
        0o644,
        0,
        0,
        "",
        "",
    )
    tar.addfile(info, io.BytesIO(data))


def _write_tar(path: Path, samples: list[list[tuple[str, bytes]]]) -> str:
    """Write a deterministic tar; returns its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for members in samples:
            for name, data in members:
                _add(tar, name, data)
    data = buffer.getvalue()
    tmp = path.with_suffix(".tar.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def write_shards(
    samples: Iterable[ShardSample], out_dir: str | Path, config: ShardConfig | None = None
) -> list[dict]:
    """Bucket ``samples`` (in input order) and write tars of at most ``config.max_tar_bytes`` bytes.

    A sample larger than the limit gets its own tar; a part folder holds at most ``max_tars_per_part``
    tars; tars with fewer than ``min_clips_per_tar`` samples are not written (their keys are reported
    under ``"dropped"`` in ``shards.json``). Writes ``shards.json`` and ``wdinfo.json`` per bucket.

    Returns:
        One dict per tar: ``path`` (relative to ``out_dir``), ``bucket``, ``keys``, ``num_samples``,
        ``num_bytes``, ``sha256``.
    """
    config = config or ShardConfig()
    out_dir = Path(out_dir)
    buckets: dict[str, list[tuple[str, list[tuple[str, bytes]]]]] = {}
    for sample in samples:
        buckets.setdefault(bucket_of(sample.metadata), []).append((sample.key, sample.members()))
    records: list[dict] = []
    dropped: list[str] = []
    for bucket in sorted(buckets):
        groups: list[list[tuple[str, list[tuple[str, bytes]]]]] = [[]]
        size = 0
        for key, members in buckets[bucket]:
            sample_bytes = sum(len(data) + 1024 for _, data in members)  # + tar headers
            if groups[-1] and size + sample_bytes > config.max_tar_bytes:
                groups.append([])
                size = 0
            groups[-1].append((key, members))
            size += sample_bytes
        bucket_records = []
        for group in groups:
            if len(group) < max(1, config.min_clips_per_tar):
                dropped.extend(key for key, _ in group)
                continue
            part, number = divmod(len(bucket_records), config.max_tars_per_part)
            relative = f"v0/{bucket}/part_{part:06d}/{number:06d}.tar"
            sha = _write_tar(out_dir / relative, [members for _, members in group])
            bucket_records.append(
                {
                    "path": relative,
                    "bucket": bucket,
                    "keys": [key for key, _ in group],
                    "num_samples": len(group),
                    "num_bytes": (out_dir / relative).stat().st_size,
                    "sha256": sha,
                }
            )
        info = {
            "format": SHARD_FORMAT,
            "bucket": bucket,
            "tars": [r["path"] for r in bucket_records],
            "total_key_count": sum(r["num_samples"] for r in bucket_records),
        }
        (out_dir / "v0" / bucket).mkdir(parents=True, exist_ok=True)
        (out_dir / "v0" / bucket / "wdinfo.json").write_text(json.dumps(info, indent=1, sort_keys=True))
        records.extend(bucket_records)
    index = {"format": SHARD_FORMAT, "shards": records, "dropped": sorted(dropped)}
    (out_dir / "shards.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    return records
