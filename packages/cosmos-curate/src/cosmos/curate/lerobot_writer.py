"""Write episodes as a LeRobot v3.0 dataset (the layout lerobot >= 0.4 reads), and export simulated episodes.

Layout written (the same paths, columns and types as lerobot 0.4.4 writes; ``shared/notes/lerobot.md``)::

    root/
      meta/info.json                      codebase_version "v3.0", features, fps, path templates, totals
      meta/tasks.parquet                  task_index + the task string as the pandas index (__index_level_0__)
      meta/stats.json                     dataset-wide min/max/mean/std/count/q01/q10/q50/q90/q99 per feature
      meta/episodes/chunk-000/file-000.parquet   one row per episode: files, index range, video window, stats
      data/chunk-000/file-000.parquet     one row per frame, one row group per episode
      videos/<camera>/chunk-000/file-000.mp4     every episode back to back, each starting on a key frame
                                          (one mp4 per camera: episodes may carry several, e.g. drives)

Video: AV1 (libsvtav1, else libaom-av1) with lerobot's defaults (yuv420p, GOP 2, CRF 30), falling back to
H.264 (libx264) when the PyAV build has no AV1 encoder; ``video.codec`` in ``info.json`` records which.

Differences from lerobot's own writer, all allowed by the format: files are never split at
``data_files_size_in_mb`` / ``video_files_size_in_mb`` (every episode goes to chunk 0, file 0); statistics
use every frame (lerobot samples images) and exact quantiles per episode, and the dataset-wide quantiles
are the count-weighted mean of the per-episode ones (as lerobot aggregates them); the data parquet's
``huggingface`` metadata has no ``fingerprint``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from cosmos.core import ConfigError, ShapeError
from cosmos.curate.lerobot import ACTION_KEY, STATE_KEY, _pyarrow

__all__ = [
    "write_lerobot_v30",
    "export_sim_episodes",
    "sim_episode_to_lerobot",
    "drive_to_lerobot",
    "export_sim_drives",
    "choose_video_encoder",
    "DEFAULT_CAMERA",
]

DEFAULT_CAMERA = "observation.images.front"
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"
# (PyAV encoder, codec name lerobot records, encoder options). AV1: lerobot's defaults (GOP 2, CRF 30,
# SVT-AV1 preset 12). H.264: x264's default CRF 23 (lerobot's CRF 30 loses ~3 dB more on x264's scale).
VIDEO_ENCODERS = (
    ("libsvtav1", "av1", {"g": "2", "crf": "30", "preset": "12"}),
    ("libaom-av1", "av1", {"g": "2", "crf": "30", "cpu-used": "8"}),
    ("libx264", "h264", {"g": "2", "crf": "23", "bf": "0"}),
)
QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
INDEX_FEATURES = ("frame_index", "episode_index", "index", "task_index")


def choose_video_encoder(codec: str = "auto") -> tuple[str, str, dict[str, str]]:
    """``(PyAV encoder, codec name, options)``: the first of :data:`VIDEO_ENCODERS` this PyAV build has.

    Args:
        codec: ``"auto"`` (AV1 if available, else H.264), ``"av1"`` or ``"h264"``.

    Raises:
        ConfigError: no encoder of the requested codec in ``av.codecs_available``.
    """
    for encoder, name, options in VIDEO_ENCODERS:
        if codec in ("auto", name) and encoder in av.codecs_available:
            return encoder, name, dict(options)
    raise ConfigError(
        f"no {codec!r} video encoder in this PyAV build (tried {[e for e, *_ in VIDEO_ENCODERS]})"
    )


class _VideoFile:
    """One mp4 holding episodes back to back; each episode starts with a forced key frame."""

    def __init__(self, path: Path, fps: float, height: int, width: int, codec: str, crf: int | None) -> None:
        encoder, self.codec, options = choose_video_encoder(codec)
        if crf is not None:
            options["crf"] = str(crf)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.container = av.open(str(path), mode="w")
        self.stream = self.container.add_stream(encoder, rate=Fraction(fps).limit_denominator(1001))
        self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "yuv420p"
        self.stream.options = options
        self.fps, self.num_frames = fps, 0

    def add_episode(self, frames: np.ndarray) -> tuple[float, float]:
        """Encode ``uint8 [T, H, W, 3]``; returns the episode's window ``(from_s, to_s)`` in the file."""
        start = self.num_frames
        for offset, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = start + offset
            if offset == 0:
                frame.pict_type = av.video.frame.PictureType.I
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
        self.num_frames += len(frames)
        return start / self.fps, self.num_frames / self.fps

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def _field(episode: Any, name: str, default: Any = None) -> Any:
    if isinstance(episode, Mapping):
        return episode.get(name, default)
    return getattr(episode, name, default)


def _episode_arrays(
    episode: Any, position: int, camera: str
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """``{camera: frames uint8 [T, H, W, 3]}``, ``actions float32 [T, A]``, ``states float32 [T, S]`` of one
    input; ``frames`` is one array (stored under ``camera``) or a mapping of camera keys to arrays."""
    field = _field(episode, "frames")
    videos = {str(k): np.asarray(v) for k, v in field.items()} if isinstance(field, Mapping) else None
    videos = videos if videos is not None else {camera: np.asarray(field)}
    actions = np.asarray(_field(episode, "actions"), dtype=np.float32)
    states = np.asarray(_field(episode, "states"), dtype=np.float32)
    if not videos:
        raise ShapeError(f"episode {position}: no cameras in frames")
    length = len(next(iter(videos.values())))
    for key, frames in videos.items():
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or not len(frames):
            raise ShapeError(
                f"episode {position}: frames must be uint8 [T>0, H, W, 3], got {frames.dtype} {frames.shape}"
            )
        if frames.shape[1] % 2 or frames.shape[2] % 2:
            raise ShapeError(
                f"episode {position}: yuv420p video needs an even height and width, got {frames.shape[1:3]}"
            )
        if len(frames) != length:
            raise ShapeError(f"episode {position}: camera {key!r} has {len(frames)} frames, not {length}")
    for name, array in (("actions", actions), ("states", states)):
        if array.ndim != 2 or len(array) != length:
            raise ShapeError(
                f"episode {position}: {name} must be [T={length}, D] (one per frame), got {array.shape}"
            )
    return videos, actions, states


def _stats(values: np.ndarray) -> dict[str, list]:
    """min/max/mean/std/count/quantiles over axis 0 of ``[N, ...]``, as JSON-ready lists."""
    floats = values.astype(np.float64)
    integer = np.issubdtype(values.dtype, np.integer)
    stats = {
        "min": values.min(0).astype(np.int64 if integer else np.float64).tolist(),
        "max": values.max(0).astype(np.int64 if integer else np.float64).tolist(),
        "mean": floats.mean(0).tolist(),
        "std": floats.std(0).tolist(),
        "count": [len(values)],
    }
    stats.update({name: np.quantile(floats, q, axis=0).tolist() for name, q in QUANTILES.items()})
    return stats


def _image_stats(frames: np.ndarray) -> dict[str, list]:
    """Per-channel statistics of ``uint8 [T, H, W, 3]`` on [0, 1], each shaped ``[3, 1, 1]`` (lerobot's)."""
    pixels = frames.reshape(-1, 3)  # [T*H*W, 3]
    stats = _stats(pixels.astype(np.float64) / 255.0)
    stats = {
        k: (np.asarray(v)[:, None, None].tolist() if k != "count" else [len(frames)])
        for k, v in stats.items()
    }
    return stats


def _aggregate(per_episode: list[dict[str, list]]) -> dict[str, list]:
    """Dataset-wide statistics from per-episode ones (pooled mean and variance; weighted quantiles)."""
    counts = np.array([s["count"][0] for s in per_episode], np.float64)
    weights = counts.reshape(-1, *[1] * np.asarray(per_episode[0]["mean"]).ndim) / counts.sum()

    def stack(key: str) -> np.ndarray:
        return np.stack([np.asarray(s[key], np.float64) for s in per_episode])

    mean = (stack("mean") * weights).sum(0)
    variance = ((stack("std") ** 2 + (stack("mean") - mean) ** 2) * weights).sum(0)
    result = {
        "min": np.stack([np.asarray(s["min"]) for s in per_episode]).min(0).tolist(),
        "max": np.stack([np.asarray(s["max"]) for s in per_episode]).max(0).tolist(),
        "mean": mean.tolist(),
        "std": np.sqrt(variance).tolist(),
        "count": [int(counts.sum())],
    }
    result.update({name: (stack(name) * weights).sum(0).tolist() for name in QUANTILES})
    return result


def _vector_feature(width: int, names: Sequence[str] | None) -> dict:
    if names is not None and len(names) != width:
        raise ShapeError(f"{len(names)} names for a feature of width {width}")
    return {"dtype": "float32", "shape": [width], "names": list(names) if names is not None else None}


def _features(cameras: dict[str, tuple[int, int]], fps: float, codec: str, state: dict, action: dict) -> dict:
    def video_info(height: int, width: int) -> dict:
        return {
            "video.height": height,
            "video.width": width,
            "video.codec": codec,
            "video.pix_fmt": "yuv420p",
            "video.is_depth_map": False,
            "video.fps": fps,
            "video.channels": 3,
            "has_audio": False,
        }

    features = {
        camera: {
            "dtype": "video",
            "shape": [height, width, 3],
            "names": ["height", "width", "channels"],
            "info": video_info(height, width),
        }
        for camera, (height, width) in cameras.items()
    }
    features |= {
        STATE_KEY: state,
        ACTION_KEY: action,
        "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    }
    features.update({name: {"dtype": "int64", "shape": [1], "names": None} for name in INDEX_FEATURES})
    return features


def _frame_schema(state_width: int, action_width: int):
    pa, _, _ = _pyarrow()
    fields = [
        (STATE_KEY, pa.list_(pa.float32(), state_width)),
        (ACTION_KEY, pa.list_(pa.float32(), action_width)),
        ("timestamp", pa.float32()),
        *[(name, pa.int64()) for name in INDEX_FEATURES],
    ]
    vector = {"feature": {"dtype": "float32", "_type": "Value"}, "_type": "List"}
    hf = {
        STATE_KEY: {**vector, "length": state_width},
        ACTION_KEY: {**vector, "length": action_width},
        "timestamp": {"dtype": "float32", "_type": "Value"},
        **{name: {"dtype": "int64", "_type": "Value"} for name in INDEX_FEATURES},
    }
    metadata = {"huggingface": json.dumps({"info": {"features": hf}})}
    return pa.schema(fields, metadata=metadata)


def _frame_table(
    schema, frames_before: int, episode_index: int, task_index: int, fps: float, actions, states
):
    pa, _, _ = _pyarrow()
    length = len(actions)
    frame_index = np.arange(length, dtype=np.int64)
    columns = [
        pa.FixedSizeListArray.from_arrays(pa.array(states.reshape(-1)), states.shape[1]),
        pa.FixedSizeListArray.from_arrays(pa.array(actions.reshape(-1)), actions.shape[1]),
        pa.array((frame_index / fps).astype(np.float32)),
        pa.array(frame_index),
        pa.array(np.full(length, episode_index, np.int64)),
        pa.array(frame_index + frames_before),
        pa.array(np.full(length, task_index, np.int64)),
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _write_tasks(path: Path, tasks: dict[str, int]) -> None:
    """``tasks.parquet`` as pandas writes it: ``task_index`` plus the task strings as the index column."""
    pa, _, pq = _pyarrow()
    pandas_metadata = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": None,
                "field_name": "__index_level_0__",
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.3.3",
    }
    schema = pa.schema(
        [("task_index", pa.int64()), ("__index_level_0__", pa.string())],
        metadata={"pandas": json.dumps(pandas_metadata)},
    )
    table = pa.Table.from_arrays(
        [pa.array(list(tasks.values()), pa.int64()), pa.array(list(tasks))], schema=schema
    )
    pq.write_table(table, path)


def _episode_row(index, length, task, frames_before, windows, stats) -> dict:
    row = {
        "episode_index": index,
        "tasks": [task],
        "length": length,
        "data/chunk_index": 0,
        "data/file_index": 0,
        "dataset_from_index": frames_before,
        "dataset_to_index": frames_before + length,
    }
    for camera, window in windows.items():
        row[f"videos/{camera}/chunk_index"] = 0
        row[f"videos/{camera}/file_index"] = 0
        row[f"videos/{camera}/from_timestamp"] = window[0]
        row[f"videos/{camera}/to_timestamp"] = window[1]
    for feature, values in stats.items():
        row.update({f"stats/{feature}/{name}": value for name, value in values.items()})
    return {**row, "meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}


def _episode_stats(videos, actions, states, timestamps, frames_before, index, task_index) -> dict:
    length = len(actions)
    frame_index = np.arange(length, dtype=np.int64)[:, None]
    return {
        **{camera: _image_stats(frames) for camera, frames in videos.items()},
        STATE_KEY: _stats(states),
        ACTION_KEY: _stats(actions),
        "timestamp": _stats(timestamps[:, None]),
        "frame_index": _stats(frame_index),
        "episode_index": _stats(np.full((length, 1), index, np.int64)),
        "index": _stats(frame_index + frames_before),
        "task_index": _stats(np.full((length, 1), task_index, np.int64)),
    }


class _V30Writer:
    """Streams episodes into one data parquet (a row group each) and one mp4 per camera; metadata at the end."""

    def __init__(
        self, root: Path, *, fps: float, camera: str, codec: str, crf: int | None, names: tuple
    ) -> None:
        self.root, self.fps, self.camera, self.codec, self.crf = root, fps, camera, codec, crf
        self.state_names, self.action_names = names
        self.tasks: dict[str, int] = {}
        self.rows: list[dict] = []
        self.stats: list[dict] = []
        self.videos: dict[str, _VideoFile] = {}
        self.parquet = self.schema = self.shape = self.state = self.action = None
        self.num_frames = 0

    def _open(self, shape: tuple) -> None:
        _, _, pq = _pyarrow()
        self.shape = shape
        cameras, action_width, state_width = shape
        self.state = _vector_feature(state_width, self.state_names)  # checks the names before any encoding
        self.action = _vector_feature(action_width, self.action_names)
        for camera, height, width in cameras:
            mp4 = self.root / VIDEO_PATH.format(video_key=camera, chunk_index=0, file_index=0)
            self.videos[camera] = _VideoFile(mp4, self.fps, height, width, self.codec, self.crf)
        self.schema = _frame_schema(state_width, action_width)
        data = self.root / DATA_PATH.format(chunk_index=0, file_index=0)
        data.parent.mkdir(parents=True, exist_ok=True)
        self.parquet = pq.ParquetWriter(data, self.schema)

    def add(self, videos: dict[str, np.ndarray], actions: np.ndarray, states: np.ndarray, task: str) -> None:
        """Append one episode (arrays checked by :func:`_episode_arrays`)."""
        cameras = tuple((camera, frames.shape[1], frames.shape[2]) for camera, frames in videos.items())
        index, shape = len(self.rows), (cameras, actions.shape[1], states.shape[1])
        if not self.videos:
            self._open(shape)
        if shape != self.shape:
            raise ShapeError(
                f"episode {index}: ((camera, H, W), A, S) = {shape} differs from episode 0's {self.shape}"
            )
        task_index = self.tasks.setdefault(task, len(self.tasks))
        table = _frame_table(self.schema, self.num_frames, index, task_index, self.fps, actions, states)
        self.parquet.write_table(table)
        windows = {camera: self.videos[camera].add_episode(frames) for camera, frames in videos.items()}
        timestamps = table["timestamp"].to_numpy()
        stats = _episode_stats(videos, actions, states, timestamps, self.num_frames, index, task_index)
        self.rows.append(_episode_row(index, len(actions), task, self.num_frames, windows, stats))
        self.stats.append(stats)
        self.num_frames += len(actions)

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        for video in self.videos.values():
            video.close()

    def write_meta(self, robot_type: str) -> None:
        """``meta/``: episodes parquet, tasks parquet, stats.json and (last) info.json."""
        pa, _, pq = _pyarrow()
        (self.root / EPISODES_PATH).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(self.rows), self.root / EPISODES_PATH)
        _write_tasks(self.root / "meta" / "tasks.parquet", self.tasks)
        stats = {key: _aggregate([s[key] for s in self.stats]) for key in self.stats[0]}
        (self.root / "meta" / "stats.json").write_text(json.dumps(stats, indent=4))
        fps = int(self.fps) if float(self.fps).is_integer() else float(self.fps)
        cameras = {camera: (height, width) for camera, height, width in self.shape[0]}
        codec = next(iter(self.videos.values())).codec
        info = {
            "codebase_version": "v3.0",
            "robot_type": robot_type,
            "total_episodes": len(self.rows),
            "total_frames": self.num_frames,
            "total_tasks": len(self.tasks),
            "chunks_size": 1000,
            "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 200,
            "fps": fps,
            "splits": {"train": f"0:{len(self.rows)}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH,
            "features": _features(cameras, fps, codec, self.state, self.action),
        }
        (self.root / "meta" / "info.json").write_text(json.dumps(info, indent=4))


def write_lerobot_v30(
    root: str | Path,
    episodes: Iterable[Any],
    *,
    fps: float,
    tasks: str | Sequence[str] | None = None,
    camera: str = DEFAULT_CAMERA,
    robot_type: str = "unknown",
    state_names: Sequence[str] | None = None,
    action_names: Sequence[str] | None = None,
    codec: str = "auto",
    crf: int | None = None,
) -> Path:
    """Write episodes as a LeRobot v3.0 dataset (layout in the module docstring), streaming one at a time.

    Args:
        root: output folder; must not exist yet or be empty.
        episodes: each a mapping or object with ``frames`` uint8 ``[T, H, W, 3]`` (H, W even) or a mapping of
            camera keys to such arrays (several cameras: one video feature and mp4 each), ``actions``
            ``[T, A]`` and ``states`` ``[T, S]`` (one per frame; same cameras, H, W, A, S in every episode)
            and, when ``tasks`` is None, ``task`` (e.g. :class:`cosmos.curate.lerobot.LeRobotEpisode`).
        fps: frames per second.
        tasks: one task string for every episode, or one per episode; None: each episode's ``task``.
        camera: the video feature's key when ``frames`` is one array.
        robot_type, state_names, action_names: recorded in ``info.json``.
        codec: ``"auto"`` (AV1, else H.264), ``"av1"`` or ``"h264"`` (see :func:`choose_video_encoder`).
        crf: the encoder's constant rate factor (default: :data:`VIDEO_ENCODERS`' 30 for AV1, 23 for H.264).

    Returns:
        ``root``.

    Raises:
        ShapeError: no episodes, malformed or inconsistent arrays, odd frame size, wrong number of names.
        ConfigError: ``fps <= 0``, a missing task, or no encoder for ``codec``.
        FileExistsError: ``root`` exists and is not empty.
    """
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} exists and is not empty")
    if not fps or fps <= 0:
        raise ConfigError(f"fps must be > 0, got {fps}")
    choose_video_encoder(codec)
    names = (state_names, action_names)
    writer = _V30Writer(root, fps=fps, camera=camera, codec=codec, crf=crf, names=names)
    try:
        for index, episode in enumerate(episodes):
            writer.add(*_episode_arrays(episode, index, camera), _task_of(episode, index, tasks))
    finally:
        writer.close()
    if not writer.rows:
        raise ShapeError("write_lerobot_v30 needs at least one episode")
    writer.write_meta(robot_type)
    return root


def _task_of(episode: Any, index: int, tasks: str | Sequence[str] | None) -> str:
    if isinstance(tasks, str):
        return tasks
    if tasks is not None:
        if index >= len(tasks):
            raise ConfigError(f"{len(tasks)} tasks given, but there are more episodes")
        return str(tasks[index])
    task = _field(episode, "task")
    if not task:
        raise ConfigError(f"episode {index} has no task; pass tasks=...")
    return str(task)


def sim_episode_to_lerobot(episode: Any) -> dict:
    """A :class:`cosmos.curate.sim.RobotEpisode` as one LeRobot episode (one action per frame).

    The simulator gives ``T + 1`` frames and states and ``T`` actions (the action taken at frame t leads to
    frame t + 1); LeRobot stores one action per frame, so the last frame gets a "hold" action: zero motion
    and the last gripper command. ``lerobot_clips`` drops each clip's last action again, so a clip read back
    has exactly the simulator's actions.

    Returns:
        ``{"frames": uint8 [T+1, H, W, 3], "actions": float32 [T+1, 7], "states": float32 [T+1, 7], "task"}``.
    """
    actions = np.asarray(episode.actions, np.float32)
    hold = np.zeros((1, actions.shape[1]), np.float32)
    if len(actions):
        hold[0, -1] = actions[-1, -1]
    return {
        "frames": episode.video,
        "actions": np.concatenate([actions, hold]),
        "states": np.asarray(episode.states, np.float32),
        "task": episode.metadata.get("caption") or episode.metadata.get("task", "pick and place"),
    }


def export_sim_episodes(
    root: str | Path, seeds: Iterable[int], config: Any = None, *, codec: str = "auto"
) -> Path:
    """Simulate robot pick-and-place episodes (:func:`cosmos.curate.sim.generate_robot_episode`, extra
    ``[sim]``) for ``seeds`` and write them as a LeRobot v3.0 dataset at ``root``.

    States are ``(x, y, z, roll, pitch, yaw, finger_width)``, actions ``(dx, dy, dz, droll, dpitch, dyaw,
    gripper)`` (see :func:`sim_episode_to_lerobot` for the last frame's action); ``robot_type`` is
    ``"franka_panda"``, the task is the episode's caption.

    Args:
        config: a :class:`cosmos.curate.sim.RobotConfig` (default ``RobotConfig()``).
    """
    from cosmos.curate.sim.robot import ACTION_NAMES, STATE_NAMES, RobotConfig, generate_robot_episode

    config = config or RobotConfig()
    episodes = (sim_episode_to_lerobot(generate_robot_episode(seed, config)) for seed in seeds)
    return write_lerobot_v30(
        root,
        episodes,
        fps=config.fps,
        robot_type="franka_panda",
        state_names=STATE_NAMES,
        action_names=ACTION_NAMES,
        codec=codec,
    )


DRIVE_STATE_NAMES = ("x", "y", "z", "yaw")


def drive_to_lerobot(drive: Any) -> dict:
    """A :class:`cosmos.curate.sim.DrivingEpisode` as one multi-camera LeRobot episode.

    Returns:
        ``{"frames": {"observation.images.<view>": uint8 [T, H, W, 3]}`` (views in order), ``"actions"``:
        float32 ``[T, 3 * num_waypoints]``, the trajectory flattened point-major (``x0, y0, z0, x1, ...``,
        metres, ego frame: the drive's "action"), ``"states"``: float32 ``[T, 4]`` ego ``(x, y, z, yaw)`` in
        the world frame (metres, radians), ``"task"``: the front view's caption}.
    """
    names = drive.metadata["view_names"]
    poses = np.asarray(drive.ego_poses)
    yaw = np.arctan2(poses[:, 1, 0], poses[:, 0, 0])
    trajectory = np.asarray(drive.trajectory, np.float32)
    return {
        "frames": {f"observation.images.{name}": drive.views[v] for v, name in enumerate(names)},
        "actions": trajectory.reshape(len(trajectory), -1),
        "states": np.concatenate([poses[:, :3, 3], yaw[:, None]], axis=1).astype(np.float32),
        "task": drive.captions[0],
    }


def export_sim_drives(
    root: str | Path, seeds: Iterable[int], config: Any = None, *, codec: str = "auto"
) -> Path:
    """Simulate multi-camera drives (:func:`cosmos.curate.sim.generate_drive`, extra ``[sim]``) for ``seeds``
    and write them as a LeRobot v3.0 dataset at ``root``: one video feature per view
    (``observation.images.front``, ``...front_left``, ...), actions the ego trajectory and states the ego
    pose (:func:`drive_to_lerobot`), ``robot_type`` ``"sim_car"``. Cameras, captions of the other views and
    the scene are not part of LeRobot's format: use the shard writer for those.

    Args:
        config: a :class:`cosmos.curate.sim.DrivingConfig` (default ``DrivingConfig()``).
    """
    from cosmos.curate.sim.driving import DrivingConfig, generate_drive

    config = config or DrivingConfig()
    episodes = (drive_to_lerobot(generate_drive(seed, config)) for seed in seeds)
    return write_lerobot_v30(
        root,
        episodes,
        fps=config.fps,
        robot_type="sim_car",
        state_names=DRIVE_STATE_NAMES,
        action_names=[f"{axis}{j}" for j in range(config.num_waypoints) for axis in "xyz"],
        codec=codec,
    )
