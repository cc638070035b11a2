"""Shard layout, bucket boundaries, size limits, byte determinism and the reader."""

import json
import tarfile

import numpy as np
import pytest
import torch

from cosmos.curate.config import ShardConfig
from cosmos.curate.media import encode_h264
from cosmos.curate.shard_writer import (
    ShardSample,
    aspect_ratio_bucket,
    bucket_of,
    duration_bucket,
    resolution_bucket,
    write_shards,
)
from cosmos.curate.shards import ShardDataset, iter_samples, list_shards
from cosmos.curate.synthetic import shot_frames


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [
        (0.5, "0_2"),
        (1.99, "0_2"),
        (2.0, "2_5"),
        (4.99, "2_5"),
        (5.0, "5_10"),
        (10.0, "5_10"),
        (10.01, "10_30"),
        (30.0, "10_30"),
        (30.5, "30_inf"),
        (3600.0, "30_inf"),
    ],
)
def test_duration_buckets_keep_short_clips(seconds, bucket):
    assert duration_bucket(seconds) == bucket


@pytest.mark.parametrize(
    ("width", "height", "bucket"),
    [
        (65, 100, "9_16"),
        (66, 100, "3_4"),
        (88, 100, "3_4"),
        (89, 100, "1_1"),
        (116, 100, "1_1"),
        (117, 100, "4_3"),
        (155, 100, "4_3"),
        (156, 100, "16_9"),
        (1000, 100, "16_9"),
        (1001, 100, "ultrawide"),
    ],
)
def test_aspect_ratio_bins(width, height, bucket):
    assert aspect_ratio_bucket(width, height) == bucket


def test_resolution_bins():
    assert resolution_bucket(719, 1280) == "lt_720" and resolution_bucket(720, 1280) == "720"
    assert resolution_bucket(1080, 1920) == "1080" and resolution_bucket(2160, 1080) == "1080"
    assert bucket_of({"width": 320, "height": 256, "num_frames": 24, "framerate": 8.0}) == (
        "resolution_lt_720/aspect_ratio_4_3/duration_2_5"
    )


@pytest.fixture(scope="module")
def samples():
    out = []
    for i, (frames, fps, h, w) in enumerate(
        [(20, 8.0, 64, 64), (24, 8.0, 64, 64), (50, 8.0, 48, 80), (12, 8.0, 64, 64)]
    ):
        video = shot_frames(frames, h, w, seed=i)
        meta = {"width": w, "height": h, "num_frames": frames, "framerate": fps, "caption": f"clip {i}"}
        arrays = {
            "actions": np.full((frames - 1, 7), i, np.float32),
            "masks": np.zeros((frames, h, w), np.int16),
        }
        out.append(ShardSample(f"clip{i}", encode_h264(video, fps, crf=20), meta, arrays))
    return out


def test_layout_keys_and_round_trip(samples, tmp_path):
    records = write_shards(samples, tmp_path)
    buckets = {r["bucket"]: r["keys"] for r in records}
    assert buckets == {
        "resolution_lt_720/aspect_ratio_1_1/duration_2_5": ["clip0", "clip1"],
        "resolution_lt_720/aspect_ratio_16_9/duration_5_10": ["clip2"],
        "resolution_lt_720/aspect_ratio_1_1/duration_0_2": ["clip3"],
    }
    tar_path = tmp_path / "v0/resolution_lt_720/aspect_ratio_1_1/duration_2_5/part_000000/000000.tar"
    with tarfile.open(tar_path) as tar:
        names = tar.getnames()
    assert names == [
        "clip0.actions.npy",
        "clip0.json",
        "clip0.masks.npz",
        "clip0.mp4",
        "clip1.actions.npy",
        "clip1.json",
        "clip1.masks.npz",
        "clip1.mp4",
    ]
    info = json.loads((tar_path.parents[1] / "wdinfo.json").read_text())
    assert info["total_key_count"] == 2 and info["tars"] == [tar_path.relative_to(tmp_path).as_posix()]
    decoded = {s["__key__"]: s for s in iter_samples(tmp_path)}
    assert set(decoded) == {"clip0", "clip1", "clip2", "clip3"}
    clip2 = decoded["clip2"]
    assert clip2["video"].shape == (3, 50, 48, 80) and clip2["video"].dtype == torch.float32
    assert -1.0 <= float(clip2["video"].min()) and float(clip2["video"].max()) <= 1.0
    assert clip2["actions"].shape == (49, 7) and float(clip2["actions"][0, 0]) == 2.0
    assert clip2["masks"].shape == (50, 48, 80) and clip2["caption"] == "clip 2" and clip2["fps"] == 8.0
    short = next(iter_samples(tmp_path, buckets=["duration_2_5"], video_format="uint8", max_frames=5))
    assert short["video"].shape == (5, 64, 64, 3) and short["actions"].shape == (4, 7)


def test_shards_are_byte_deterministic_and_size_limited(samples, tmp_path):
    first = write_shards(samples, tmp_path / "a")
    second = write_shards(samples, tmp_path / "b")
    assert [r["sha256"] for r in first] == [r["sha256"] for r in second]
    small = write_shards(samples[:2], tmp_path / "c", ShardConfig(max_tar_bytes=1))  # one sample per tar
    assert [r["keys"] for r in small] == [["clip0"], ["clip1"]]
    assert [r["path"].rsplit("/", 1)[-1] for r in small] == ["000000.tar", "000001.tar"]
    parts = write_shards(samples[:2], tmp_path / "d", ShardConfig(max_tar_bytes=1, max_tars_per_part=1))
    assert [r["path"].split("/")[-2] for r in parts] == ["part_000000", "part_000001"]


def test_dataset_splits_tars_between_workers(samples, tmp_path):
    write_shards(samples, tmp_path)
    dataset = ShardDataset(tmp_path, video_format="bytes", shuffle_seed=0)
    assert sorted(s["__key__"] for s in dataset) == ["clip0", "clip1", "clip2", "clip3"]
    loader = torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2)
    assert sorted(s["__key__"] for s in loader) == ["clip0", "clip1", "clip2", "clip3"]
    with pytest.raises(FileNotFoundError):
        list_shards(tmp_path / "empty")
    with pytest.raises(ValueError, match="key"):
        ShardSample("a.b", b"", {}).members()
