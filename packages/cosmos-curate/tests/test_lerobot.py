"""LeRobot datasets: read the official lerobot 0.4.4 (v3.0) and 0.3.3 (v2.1) outputs exactly, write v3.0 and
read it back, export simulated episodes, feed training through the shard readers, reject bad metadata.

The official datasets live in ``shared/data/lerobot`` beside the repository (facts in
``shared/notes/lerobot.md``); CI has them (``COSMOS_FIXTURES`` set: then a missing folder fails), elsewhere
their tests are skipped when the folder is absent.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyarrow", reason="LeRobot datasets need the [lerobot] extra (pyarrow)")

import pyarrow.parquet as pq  # noqa: E402

from cosmos.core import ConfigError, ShapeError  # noqa: E402
from cosmos.curate.lerobot import LeRobotDataset, LeRobotEpisode, lerobot_arrays, lerobot_clips  # noqa: E402
from cosmos.curate.lerobot_writer import choose_video_encoder, write_lerobot_v30  # noqa: E402
from cosmos.curate.shards import ShardDataset, iter_samples  # noqa: E402

CAMERA = "observation.images.front"
OFFICIAL = ("tiny_v30", "tiny_v21")


def _lerobot_data() -> Path:
    """``shared/data/lerobot``: beside ``$COSMOS_FIXTURES``, else ``<repo root>/../shared``."""
    if os.environ.get("COSMOS_FIXTURES"):
        root = Path(os.environ["COSMOS_FIXTURES"]).parent / "data" / "lerobot"
    else:
        root = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "lerobot"
    if not (root / "expected.npz").is_file():
        message = f"the official LeRobot datasets are not at {root} (CI has them in ../shared/data/lerobot)"
        if os.environ.get("COSMOS_FIXTURES"):
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture(scope="module")
def data() -> Path:
    return _lerobot_data()


@pytest.fixture(scope="module")
def expected(data) -> dict:
    with np.load(data / "expected.npz", allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    return {"arrays": arrays, "json": json.loads((data / "expected.json").read_text())}


def _psnr(decoded: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-frame PSNR (dB) of uint8 ``[T, H, W, 3]`` frames, and the episode's PSNR as the last entry."""
    error = (decoded.astype(np.float64) - reference.astype(np.float64)) ** 2
    per_frame = 10 * np.log10(255.0**2 / error.mean(axis=(1, 2, 3)))
    return np.append(per_frame, 10 * np.log10(255.0**2 / error.mean()))


def _expected_episodes(expected) -> list[dict]:
    arrays, tasks = expected["arrays"], list(expected["json"]["tasks"])
    return [
        {
            "frames": arrays[f"episode_{i:03d}/frames"],
            "actions": arrays[f"episode_{i:03d}/action"],
            "states": arrays[f"episode_{i:03d}/observation.state"],
            "task": tasks[int(arrays[f"episode_{i:03d}/task_index"][0])],
        }
        for i in range(len(expected["json"]["episodes"]))
    ]


# ------------------------------------------------------------------------------------- official datasets
@pytest.mark.parametrize("name", OFFICIAL)
def test_official_dataset_reads_exactly(data, expected, name):
    ds = LeRobotDataset(data / name)
    arrays, facts = expected["arrays"], expected["json"]
    assert ds.codebase_version == facts["datasets"][name]["codebase_version"]
    assert len(ds) == len(facts["episodes"]) and ds.fps == facts["fps"] == 5
    assert ds.cameras == [CAMERA] and ds.camera == CAMERA and "action" in ds.features
    assert [ds.tasks[i] for i in sorted(ds.tasks)] == facts["tasks"]
    for i, episode in enumerate(ds):
        key = f"episode_{i:03d}"
        assert isinstance(episode, LeRobotEpisode) and episode.episode_index == i
        assert episode.task == facts["episodes"][i]["task"] and episode.fps == 5.0
        assert episode.actions.dtype == np.float32 and np.array_equal(
            episode.actions, arrays[f"{key}/action"]
        )
        assert np.array_equal(episode.states, arrays[f"{key}/observation.state"])
        assert np.array_equal(episode.timestamps, arrays[f"{key}/timestamp"])
        assert episode.frames.dtype == np.uint8 and episode.frames.shape == (12, 64, 64, 3)
        psnr = _psnr(episode.frames, arrays[f"{key}/frames"])
        assert psnr[-1] >= 30.0, f"{name} episode {i}: {psnr[-1]:.2f} dB"
        np.testing.assert_allclose(psnr[:-1], arrays[f"{name}/{key}/psnr_db"], atol=0.05)


def test_negative_index_range_and_camera_errors(data):
    ds = LeRobotDataset(data / "tiny_v30", camera=CAMERA)
    assert ds[-1].episode_index == 2
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(ConfigError, match=r"observation.images.front"):
        LeRobotDataset(data / "tiny_v30", camera="observation.images.wrist")


# ----------------------------------------------------------------------------------------------- writer
def test_writer_matches_the_official_layout_and_reads_back(data, expected, tmp_path):
    """The official v3.0 content written by our writer: same info.json (with AV1), same parquet schemas and
    episode columns, same tasks table; read back exactly (frames within the codec's loss)."""
    names = json.loads((data / "tiny_v30" / "meta" / "info.json").read_text())["features"]
    write_lerobot_v30(
        tmp_path / "ours",
        _expected_episodes(expected),
        fps=5,
        robot_type="synthetic",
        state_names=names["observation.state"]["names"],
        action_names=names["action"]["names"],
    )
    official, ours = data / "tiny_v30", tmp_path / "ours"
    info = json.loads((ours / "meta" / "info.json").read_text())
    codec = choose_video_encoder()[1]
    reference = json.loads((official / "meta" / "info.json").read_text())
    reference["features"][CAMERA]["info"]["video.codec"] = codec
    assert info == reference
    for path in (
        "data/chunk-000/file-000.parquet",
        "meta/episodes/chunk-000/file-000.parquet",
        "meta/tasks.parquet",
    ):
        assert (
            pq.read_schema(ours / path).remove_metadata() == pq.read_schema(official / path).remove_metadata()
        )
    assert (
        pq.read_table(ours / "meta/tasks.parquet").to_pylist()
        == pq.read_table(official / "meta/tasks.parquet").to_pylist()
    )
    episodes = "meta/episodes/chunk-000/file-000.parquet"
    not_stats = [c for c in pq.read_schema(official / episodes).names if "stats/" not in c]
    rows, official_rows = (
        pq.read_table(p / episodes, columns=not_stats).to_pylist() for p in (ours, official)
    )
    for row, official_row in zip(rows, official_rows, strict=True):
        for key, value in official_row.items():  # to_timestamp: 7.2 here, 7.199999999999999 there
            assert row[key] == (pytest.approx(value, abs=1e-9) if isinstance(value, float) else value), key
    stats, official_stats = (json.loads((p / "meta/stats.json").read_text()) for p in (ours, official))
    for key in ("observation.state", "action"):
        for stat in ("min", "max", "mean", "count"):
            np.testing.assert_allclose(stats[key][stat], official_stats[key][stat], rtol=1e-6)
    _assert_reads_back(ours, _expected_episodes(expected))


def _assert_reads_back(root: Path, episodes: list[dict]) -> None:
    ds = LeRobotDataset(root)
    assert ds.codebase_version == "v3.0" and len(ds) == len(episodes)
    for i, (episode, source) in enumerate(zip(ds, episodes)):
        assert np.array_equal(episode.actions, source["actions"]) and np.array_equal(
            episode.states, source["states"]
        )
        assert episode.task == source["task"]
        assert np.array_equal(
            episode.timestamps, (np.arange(len(source["frames"])) / ds.fps).astype(np.float32)
        )
        psnr = _psnr(episode.frames, source["frames"])[-1]
        assert psnr >= 30.0, f"episode {i}: {psnr:.2f} dB"


def _synthetic_episodes(lengths=(6, 9, 4), size=64) -> list[dict]:
    """Smooth gradients with a moving square (codec-friendly), random actions/states, two tasks."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size]
    episodes = []
    for e, length in enumerate(lengths):
        frames = np.empty((length, size, size, 3), np.uint8)
        for t in range(length):
            frames[t] = np.stack([40 + 2 * x, 40 + 2 * y, np.full_like(x, 60 + 40 * e)], -1)
            corner = 2 + 2 * t
            frames[t, corner : corner + 16, corner : corner + 16] = (220, 60, 60)
        episodes.append(
            {
                "frames": frames,
                "actions": rng.normal(size=(length, 3)).astype(np.float32),
                "states": rng.normal(size=(length, 5)).astype(np.float32),
                "task": ("stack", "push")[e % 2],
            }
        )
    return episodes


@pytest.mark.parametrize("codec", ["h264", "auto"])
def test_writer_round_trip_synthetic(tmp_path, codec):
    episodes = _synthetic_episodes()
    write_lerobot_v30(tmp_path / "ds", episodes, fps=10, codec=codec)
    _assert_reads_back(tmp_path / "ds", episodes)
    info = json.loads((tmp_path / "ds" / "meta" / "info.json").read_text())
    assert (
        info["total_tasks"] == 2
        and info["features"][CAMERA]["info"]["video.codec"] == choose_video_encoder(codec)[1]
    )


def test_writer_rejects_bad_input(tmp_path):
    good = _synthetic_episodes((4,))[0]
    with pytest.raises(ShapeError, match="at least one episode"):
        write_lerobot_v30(tmp_path / "a", [], fps=5, tasks="t")
    with pytest.raises(ShapeError, match="one per frame"):
        write_lerobot_v30(tmp_path / "b", [{**good, "actions": good["actions"][:-1]}], fps=5)
    with pytest.raises(ShapeError, match="even"):
        write_lerobot_v30(tmp_path / "c", [{**good, "frames": good["frames"][:, :63]}], fps=5)
    with pytest.raises(ConfigError, match="no task"):
        write_lerobot_v30(tmp_path / "d", [{**good, "task": None}], fps=5)
    with pytest.raises(ShapeError, match="2 names for a feature of width 3"):
        write_lerobot_v30(tmp_path / "e", [good], fps=5, action_names=["x", "y"])
    assert not (tmp_path / "e").exists()  # checked before anything is written
    write_lerobot_v30(tmp_path / "f", [good], fps=5, codec="h264")
    with pytest.raises(FileExistsError):
        write_lerobot_v30(tmp_path / "f", [good], fps=5)


# ------------------------------------------------------------------------------------- training adapters
def test_training_readers_accept_a_lerobot_root(tmp_path):
    episodes = _synthetic_episodes()
    root = write_lerobot_v30(tmp_path / "ds", episodes, fps=10, codec="h264")
    clips = list(lerobot_clips(LeRobotDataset(root), num_frames=4, stride=2))
    assert [c["metadata"]["start_frame"] for c in clips] == [0, 2, 0, 2, 4, 0]
    clip = clips[1]
    assert (
        clip["video"].shape == (3, 4, 64, 64)
        and clip["actions"].shape == (3, 3)
        and clip["states"].shape == (4, 5)
    )
    assert np.array_equal(clip["actions"].numpy(), episodes[0]["actions"][2:5]) and clip["caption"] == "stack"
    samples = list(iter_samples(root, max_frames=5))
    assert [tuple(s["video"].shape) for s in samples] == [(3, 5, 64, 64), (3, 5, 64, 64), (3, 4, 64, 64)]
    assert [s["fps"] for s in samples] == [10.0] * 3 and samples[1]["caption"] == "push"
    arrays = lerobot_arrays(LeRobotDataset(root), num_frames=5)
    assert arrays["video"].shape == (2, 5, 64, 64, 3) and arrays["actions"].shape == (2, 4, 3)
    assert arrays["states"].shape == (2, 5, 5) and arrays["episode_index"].tolist() == [0, 1]
    assert np.array_equal(arrays["actions"][1], episodes[1]["actions"][:4])
    loaded = list(ShardDataset(root, video_format="uint8", shuffle_seed=0))
    assert sorted(s["metadata"]["episode_index"] for s in loaded) == [0, 1, 2]
    assert loaded[0]["video"].dtype.is_floating_point is False and loaded[0]["video"].shape[-1] == 3


def test_export_simulated_episodes(tmp_path):
    pytest.importorskip("pybullet", reason="the simulator needs the [sim] extra (pybullet)")
    from cosmos.curate.cli import main
    from cosmos.curate.sim import RobotConfig, generate_robot_episode

    assert (
        main(["lerobot-export", str(tmp_path / "sim"), "--seeds", "0:2", "--size", "64", "--frames", "4"])
        == 0
    )
    ds = LeRobotDataset(tmp_path / "sim")
    info = ds.info
    assert info["robot_type"] == "franka_panda" and info["features"]["action"]["names"][-1] == "gripper"
    assert info["features"]["observation.state"]["names"][-1] == "finger_width"
    source = generate_robot_episode(1, RobotConfig(height=64, width=64, num_steps=4))
    episode = ds[1]
    assert episode.frames.shape == (5, 64, 64, 3) and episode.fps == 5.0
    assert np.array_equal(episode.states, source.states) and np.array_equal(
        episode.actions[:-1], source.actions
    )
    assert (
        np.array_equal(episode.actions[-1, :-1], np.zeros(6))
        and episode.actions[-1, -1] == source.actions[-1, -1]
    )
    assert episode.task == source.metadata["caption"]
    assert _psnr(episode.frames, source.video)[-1] >= 30.0
    clip = next(lerobot_clips(ds, episodes=[1]))
    assert np.array_equal(clip["actions"].numpy(), source.actions)


# ------------------------------------------------------------------------------------------- bad input
def _copy(data: Path, name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(data / name, root)
    for path in root.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return root


def _edit_info(root: Path, change) -> None:
    path = root / "meta" / "info.json"
    info = json.loads(path.read_text())
    change(info)
    path.write_text(json.dumps(info))


def test_bad_metadata_raises_named_errors(data, tmp_path):
    root = _copy(data, "tiny_v30", tmp_path)
    (root / "meta" / "info.json").write_text("{ not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        LeRobotDataset(root)
    (root / "meta" / "info.json").unlink()
    with pytest.raises(ConfigError, match="info.json is missing"):
        LeRobotDataset(root)

    root = _copy(data, "tiny_v21", tmp_path)
    _edit_info(root, lambda info: info.update(codebase_version="v1.6"))
    with pytest.raises(ConfigError, match="v1.6"):
        LeRobotDataset(root)
    _edit_info(root, lambda info: (info.update(codebase_version="v2.1"), info["features"].pop("action")))
    with pytest.raises(ConfigError, match="no 'action' feature"):
        LeRobotDataset(root)


@pytest.mark.parametrize("name", OFFICIAL)
def test_missing_files_and_inconsistent_lengths(data, tmp_path, name):
    root = _copy(data, name, tmp_path)
    next((root / "data").rglob("*.parquet")).unlink()
    with pytest.raises(ConfigError, match="missing"):
        LeRobotDataset(root)
    root = _copy(data, name, tmp_path / "video")
    next((root / "videos").rglob("*.mp4")).unlink()
    with pytest.raises(ConfigError, match="missing"):
        LeRobotDataset(root)
    root = _copy(data, name, tmp_path / "corrupt")
    sorted((root / "data").rglob("*.parquet"))[0].write_bytes(b"not a parquet file")
    with pytest.raises(ConfigError, match="cannot be read as parquet"):
        LeRobotDataset(root)[0]
    root = _copy(data, name, tmp_path / "badvideo")
    sorted((root / "videos").rglob("*.mp4"))[0].write_bytes(b"not an mp4")
    with pytest.raises(ConfigError, match="cannot be opened as a video"):
        LeRobotDataset(root)[0]
    root = _copy(data, name, tmp_path / "frames")
    _edit_info(root, lambda info: info.update(total_frames=35))
    with pytest.raises(ConfigError, match="35 frames"):
        LeRobotDataset(root)


def test_second_camera_is_selectable(data, expected, tmp_path):
    root = _copy(data, "tiny_v21", tmp_path)
    wrist = "observation.images.wrist"
    _edit_info(root, lambda info: info["features"].update({wrist: info["features"][CAMERA]}))
    shutil.copytree(root / "videos" / "chunk-000" / CAMERA, root / "videos" / "chunk-000" / wrist)
    ds = LeRobotDataset(root, camera=wrist)
    assert ds.cameras == [CAMERA, wrist] and ds.camera == wrist
    assert np.array_equal(ds[1].frames, LeRobotDataset(root)[1].frames)
    (root / "videos" / "chunk-000" / wrist / "episode_000002.mp4").unlink()
    with pytest.raises(ConfigError, match="missing"):
        LeRobotDataset(root, camera=wrist)
    (root / "meta" / "episodes.jsonl").write_text('{"episode_index": 0, "tasks": []}\n')
    with pytest.raises(ConfigError, match=r"row 1: missing \['length'\]"):
        LeRobotDataset(root)


def test_v30_video_window_disagreeing_with_the_frames(data, tmp_path):
    root = _copy(data, "tiny_v30", tmp_path)
    path = root / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
    table = pq.read_table(path)
    column = f"videos/{CAMERA}/to_timestamp"
    to_timestamp = table[column].to_numpy().copy()
    to_timestamp[1] -= 0.3  # episode 1's last frame (4.6 s) now lies past its window [2.4, 4.5)
    pq.write_table(table.set_column(table.schema.get_field_index(column), column, [to_timestamp]), path)
    ds = LeRobotDataset(root)
    with pytest.raises(ShapeError, match="run past its video window"):
        ds[1]
    assert ds[0].frames.shape == (12, 64, 64, 3)


def test_episode_length_disagreeing_with_its_frames(data, tmp_path):
    root = _copy(data, "tiny_v21", tmp_path)
    episodes = root / "meta" / "episodes.jsonl"
    rows = [json.loads(line) for line in episodes.read_text().splitlines()]
    rows[0]["length"], rows[1]["length"] = 11, 13  # total_frames still adds up
    episodes.write_text("".join(json.dumps(row) + "\n" for row in rows))
    ds = LeRobotDataset(root)
    with pytest.raises(ShapeError, match="12 frame rows, the episode metadata says 11"):
        ds[0]
    assert ds[2].frames.shape[0] == 12
