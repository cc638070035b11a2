"""Read LeRobot datasets (format v2.1 and v3.0) as episodes of frames, actions, states and a task.

A LeRobot dataset is a folder with ``meta/info.json`` (its ``codebase_version`` names the layout), frame
tables in parquet (one row per frame: ``observation.state``, ``action``, ``timestamp``, ``frame_index``,
``episode_index``, ``index``, ``task_index``) and one mp4 video per camera (the frames never live in the
parquet). The two layouts differ in how files are cut:

* **v2.1** (lerobot <= 0.3): one parquet and one mp4 per episode; episodes in ``meta/episodes.jsonl``,
  tasks in ``meta/tasks.jsonl``. The frame with parquet ``timestamp`` ts is the one at time ts of the mp4.
* **v3.0** (lerobot >= 0.4): many episodes per file; one row per episode in ``meta/episodes/*/*.parquet``
  names the episode's data and video files and the episode's window ``[from_timestamp, to_timestamp)``
  in the shared mp4; tasks in ``meta/tasks.parquet`` (the task string is the pandas index, stored as the
  column ``__index_level_0__``). The frame with parquet ``timestamp`` ts is the one at time
  ``from_timestamp + ts`` of the mp4.

Frames are found by presentation time (within :data:`TIMESTAMP_TOLERANCE_S`, lerobot's own tolerance),
never by counting. Parquet is read with ``pyarrow`` (extra ``[lerobot]``), video with PyAV (any codec
FFmpeg decodes: AV1, H.264, ...); the ``lerobot`` package itself is not needed. Layout facts measured on
files written by lerobot 0.4.4 and 0.3.3: ``shared/notes/lerobot.md``. Writing:
:mod:`cosmos.curate.lerobot_writer`.

Example::

    ds = LeRobotDataset("data/my_lerobot_dataset", camera="observation.images.front")
    episode = ds[0]
    episode.frames      # uint8 [T, H, W, 3]
    episode.actions     # float32 [T, A]
    for sample in lerobot_clips(ds, num_frames=25):   # the same sample dicts as cosmos.curate.shards
        sample["video"]  # float32 [3, 25, H, W] in [-1, 1]
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch

from cosmos.core import ConfigError, ShapeError, frames_to_video

__all__ = [
    "LeRobotDataset",
    "LeRobotEpisode",
    "SUPPORTED_VERSIONS",
    "TIMESTAMP_TOLERANCE_S",
    "episode_clip",
    "is_lerobot_root",
    "lerobot_arrays",
    "lerobot_clips",
]

SUPPORTED_VERSIONS = ("v2.1", "v3.0")
TIMESTAMP_TOLERANCE_S = 1e-4
ACTION_KEY = "action"
STATE_KEY = "observation.state"


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError("LeRobot datasets need pyarrow: `pip install cosmos-curate[lerobot]`") from exc
    return pa, pc, pq


@dataclass(frozen=True)
class LeRobotEpisode:
    """One episode of a LeRobot dataset.

    Attributes:
        frames: ``uint8 [T, H, W, 3]`` RGB of the selected camera (as :func:`cosmos.core.read_video` gives).
        actions: ``float32 [T, A]``, one per frame (the action taken at that frame).
        states: ``float32 [T, S]`` (``observation.state``; ``S = 0`` when the dataset has none).
        task: the episode's task in words (of its first frame's ``task_index``).
        fps: frames per second.
        episode_index: the episode's ``episode_index`` in the dataset.
        timestamps: ``float32 [T]`` seconds within the episode (0 at its first frame).
    """

    frames: np.ndarray
    actions: np.ndarray
    states: np.ndarray
    task: str
    fps: float
    episode_index: int
    timestamps: np.ndarray


@dataclass(frozen=True)
class _EpisodeRecord:
    """Where one episode lives: its frame table file, its video file and window, its length."""

    episode_index: int
    length: int
    tasks: tuple[str, ...]
    data_path: Path
    video_path: Path
    video_from_s: float
    video_to_s: float | None


def is_lerobot_root(path: str | Path) -> bool:
    """True when ``path`` is a folder with ``meta/info.json`` (a LeRobot dataset; not validated here)."""
    return isinstance(path, (str, Path)) and (Path(path) / "meta" / "info.json").is_file()


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path} is missing: not a LeRobot dataset, or an incomplete one")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise ConfigError(f"{path} is missing (LeRobot v2.1 keeps its episodes and tasks there)")
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} has a line that is not valid JSON: {exc}") from exc


def _require(rows: list[dict], keys: Sequence[str], path: Path) -> list[dict]:
    """``rows`` if every row is an object with ``keys``, else a ConfigError naming the file and line."""
    for line, row in enumerate(rows, start=1):
        missing = [k for k in keys if not isinstance(row, dict) or k not in row]
        if missing:
            raise ConfigError(f"{path}, row {line}: missing {missing}")
    return rows


def _read_parquet(path: Path, columns: Sequence[str] | None = None):
    """A parquet file as an Arrow table; a missing column or an unreadable file is a ConfigError."""
    pa, _, pq = _pyarrow()
    names = _read_parquet_names(path)
    missing = [c for c in columns or () if c not in names]
    if missing:
        raise ConfigError(f"{path} lacks the columns {missing} (has {names})")
    try:
        return pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError(f"{path} cannot be read as parquet: {exc}") from exc


def _read_parquet_names(path: Path) -> list[str]:
    """The column names of a parquet file (ConfigError when it cannot be read)."""
    pa, _, pq = _pyarrow()
    try:
        return pq.read_schema(path).names
    except (pa.ArrowException, OSError) as exc:
        raise ConfigError(f"{path} cannot be read as parquet: {exc}") from exc


def _format_path(info: dict, key: str, **fields: Any) -> str:
    """``info[key]`` (a path template such as ``data_path``) with ``fields`` filled in."""
    try:
        return info[key].format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(f"info.json {key} {info[key]!r} does not fit {sorted(fields)}: {exc}") from exc


def _check_info(info: Any, path: Path) -> None:
    if not isinstance(info, dict):
        raise ConfigError(f"{path} must hold a JSON object, got {type(info).__name__}")
    missing = [k for k in ("codebase_version", "fps", "features", "data_path", "video_path") if k not in info]
    if missing:
        raise ConfigError(f"{path} lacks the keys {missing}")
    if info["codebase_version"] not in SUPPORTED_VERSIONS:
        raise ConfigError(
            f"{path}: codebase_version {info['codebase_version']!r} is not supported "
            f"(only {SUPPORTED_VERSIONS}; "
            "convert older datasets with lerobot's converters)"
        )
    features = info["features"]
    if not isinstance(features, dict) or ACTION_KEY not in features:
        raise ConfigError(f"{path}: the dataset has no {ACTION_KEY!r} feature (features: {list(features)})")
    if not isinstance(info["fps"], (int, float)) or info["fps"] <= 0:
        raise ConfigError(f"{path}: fps must be a positive number, got {info['fps']!r}")


class LeRobotDataset(Sequence):
    """A LeRobot dataset folder (v2.1 or v3.0), indexed by episode.

    All metadata is read and cross-checked when the dataset is opened (every referenced parquet and mp4
    must exist, episode lengths must add up to ``total_frames``); frame tables and video are read per
    episode on ``ds[i]``.

    Args:
        root: the dataset folder (holding ``meta/info.json``).
        camera: the video feature to decode (e.g. ``"observation.images.front"``); default: the first
            video feature of ``info.json``.

    Raises:
        ConfigError: missing or invalid ``meta/info.json``, an unsupported ``codebase_version``, no
            ``action`` feature, an unknown camera (the message lists :attr:`cameras`), missing episode or task
            metadata, a missing parquet or mp4 file, or episode lengths that disagree with ``total_frames``.
        ImportError: pyarrow is not installed (extra ``[lerobot]``).
    """

    def __init__(self, root: str | Path, camera: str | None = None) -> None:
        self.root = Path(root)
        info_path = self.root / "meta" / "info.json"
        self.info: dict = _read_json(info_path)
        _check_info(self.info, info_path)
        self.codebase_version: str = self.info["codebase_version"]
        self.features: dict[str, dict] = self.info["features"]
        self.fps = float(self.info["fps"])
        self.cameras: list[str] = [k for k, f in self.features.items() if f.get("dtype") == "video"]
        if not self.cameras:
            raise ConfigError(f"{info_path}: no video feature (dtype 'video') in {list(self.features)}")
        if camera is not None and camera not in self.cameras:
            raise ConfigError(f"unknown camera {camera!r}; this dataset has {self.cameras}")
        self.camera: str = camera or self.cameras[0]
        if self.codebase_version == "v3.0":
            self.tasks, episodes = self._read_meta_v30()
        else:
            self.tasks, episodes = self._read_meta_v21()
        self._episodes: list[_EpisodeRecord] = episodes
        self._check_files()
        self._table_cache: tuple[Path, Any] | None = None

    # ----------------------------------------------------------------------------------------- metadata
    def _read_meta_v21(self) -> tuple[dict[int, str], list[_EpisodeRecord]]:
        meta = self.root / "meta"
        task_rows = _require(_read_jsonl(meta / "tasks.jsonl"), ("task_index", "task"), meta / "tasks.jsonl")
        tasks = {int(r["task_index"]): str(r["task"]) for r in task_rows}
        chunks_size = int(self.info.get("chunks_size", 1000))
        records = []
        episodes = meta / "episodes.jsonl"
        for row in _require(_read_jsonl(episodes), ("episode_index", "length"), episodes):
            index = int(row["episode_index"])
            chunk = index // chunks_size
            data = _format_path(self.info, "data_path", episode_chunk=chunk, episode_index=index)
            video = _format_path(
                self.info, "video_path", episode_chunk=chunk, video_key=self.camera, episode_index=index
            )
            records.append(
                _EpisodeRecord(
                    index,
                    int(row["length"]),
                    tuple(row.get("tasks", ())),
                    self.root / data,
                    self.root / video,
                    0.0,
                    None,
                )
            )
        return tasks, sorted(records, key=lambda r: r.episode_index)

    def _read_meta_v30(self) -> tuple[dict[int, str], list[_EpisodeRecord]]:
        tasks_path = self.root / "meta" / "tasks.parquet"
        if not tasks_path.is_file():
            raise ConfigError(f"{tasks_path} is missing (LeRobot v3.0 keeps its tasks there)")
        table = _read_parquet(tasks_path)
        # lerobot writes the task strings as the pandas index; a plain "task" column is accepted too
        task_column = next((c for c in ("task", "__index_level_0__") if c in table.column_names), None)
        if task_column is None or "task_index" not in table.column_names:
            raise ConfigError(
                f"{tasks_path} needs task_index and task strings, got columns {table.column_names}"
            )
        tasks = dict(zip(table["task_index"].to_pylist(), table[task_column].to_pylist()))
        files = sorted((self.root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
        if not files:
            raise ConfigError(f"no episode metadata under {self.root / 'meta' / 'episodes'}")
        video = f"videos/{self.camera}"
        columns = ["episode_index", "tasks", "length", "data/chunk_index", "data/file_index"]
        columns += [f"{video}/{k}" for k in ("chunk_index", "file_index", "from_timestamp", "to_timestamp")]
        records = []
        for path in files:
            for row in _read_parquet(path, columns).to_pylist():
                data = _format_path(
                    self.info,
                    "data_path",
                    chunk_index=row["data/chunk_index"],
                    file_index=row["data/file_index"],
                )
                mp4 = _format_path(
                    self.info,
                    "video_path",
                    video_key=self.camera,
                    chunk_index=row[f"{video}/chunk_index"],
                    file_index=row[f"{video}/file_index"],
                )
                records.append(
                    _EpisodeRecord(
                        int(row["episode_index"]),
                        int(row["length"]),
                        tuple(row["tasks"] or ()),
                        self.root / data,
                        self.root / mp4,
                        float(row[f"{video}/from_timestamp"]),
                        float(row[f"{video}/to_timestamp"]),
                    )
                )
        return tasks, sorted(records, key=lambda r: r.episode_index)

    def _check_files(self) -> None:
        missing = sorted(
            {str(p) for r in self._episodes for p in (r.data_path, r.video_path) if not p.is_file()}
        )
        if missing:
            raise ConfigError(
                f"{len(missing)} files named by the episode metadata are missing: {missing[:5]}"
            )
        total = self.info.get("total_episodes")
        if total is not None and total != len(self._episodes):
            raise ConfigError(
                f"info.json says {total} episodes, the episode metadata lists {len(self._episodes)}"
            )
        frames = self.info.get("total_frames")
        if frames is not None and frames != sum(r.length for r in self._episodes):
            raise ConfigError(
                f"info.json says {frames} frames, "
                f"the episode lengths add up to {sum(r.length for r in self._episodes)}"
            )

    # ----------------------------------------------------------------------------------------- episodes
    def __len__(self) -> int:
        return len(self._episodes)

    def __getitem__(self, index: int) -> LeRobotEpisode:
        """Episode number ``index`` (0-based position, negative counts from the end).

        Raises:
            IndexError: out of range.
            ShapeError: the frame table or the video disagrees with the episode's metadata (row count,
                frame indices, a timestamp with no decoded frame within :data:`TIMESTAMP_TOLERANCE_S`).
        """
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"episode index must be an int, got {type(index).__name__}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"episode {index} out of range for {len(self)} episodes")
        record = self._episodes[int(index)]
        actions, states, timestamps, task_index = self._read_rows(record)
        if task_index is not None and task_index not in self.tasks:
            raise ConfigError(
                f"episode {record.episode_index}: task_index {task_index} is not in the task table"
            )
        task = self.tasks[task_index] if task_index is not None else (record.tasks[0] if record.tasks else "")
        times = record.video_from_s + timestamps.astype(np.float64)  # seconds in the mp4
        if (
            record.video_to_s is not None
            and len(times)
            and times[-1] > record.video_to_s - TIMESTAMP_TOLERANCE_S
        ):
            raise ShapeError(
                f"episode {record.episode_index}: frame times up to {times[-1]:.4f} s run past its video "
                f"window [{record.video_from_s}, {record.video_to_s}) in {record.video_path}"
            )
        frames = _decode_at(record.video_path, times)
        return LeRobotEpisode(frames, actions, states, task, self.fps, record.episode_index, timestamps)

    def __iter__(self) -> Iterator[LeRobotEpisode]:
        for index in range(len(self)):
            yield self[index]

    def _frame_table(self, path: Path):
        if self._table_cache is None or self._table_cache[0] != path:
            columns = [ACTION_KEY, "timestamp", "frame_index", "episode_index"]
            optional = [c for c in (STATE_KEY, "task_index") if c in _read_parquet_names(path)]
            self._table_cache = (path, _read_parquet(path, columns + optional))
        return self._table_cache[1]

    def _read_rows(self, record: _EpisodeRecord) -> tuple[np.ndarray, np.ndarray, np.ndarray, int | None]:
        """``actions [T, A]``, ``states [T, S]``, ``timestamps [T]`` and the first frame's task index."""
        _, pc, _ = _pyarrow()
        table = self._frame_table(record.data_path)
        table = table.filter(pc.equal(table["episode_index"], record.episode_index))
        table = table.sort_by("frame_index")
        where = f"episode {record.episode_index} in {record.data_path}"
        if table.num_rows != record.length:
            raise ShapeError(
                f"{where}: {table.num_rows} frame rows, the episode metadata says {record.length}"
            )
        if table["frame_index"].to_pylist() != list(range(record.length)):
            raise ShapeError(f"{where}: frame_index is not 0..{record.length - 1}")
        actions = _vectors(table, ACTION_KEY, self.features[ACTION_KEY], where)
        states = (
            _vectors(table, STATE_KEY, self.features[STATE_KEY], where)
            if STATE_KEY in table.column_names and STATE_KEY in self.features
            else np.zeros((record.length, 0), np.float32)
        )
        timestamps = table["timestamp"].to_numpy().astype(np.float32)
        task_index = int(table["task_index"][0].as_py()) if "task_index" in table.column_names else None
        return actions, states, timestamps, task_index


def _vectors(table, name: str, feature: dict, where: str) -> np.ndarray:
    """A (fixed-size) list column as ``float32 [T, D]``, checked against the feature's ``shape``."""
    column = table[name].combine_chunks()
    values = (
        column.flatten().to_numpy(zero_copy_only=False) if hasattr(column, "flatten") else column.to_numpy()
    )
    width = int(np.prod(feature.get("shape", [1])))
    if values.size != table.num_rows * width:
        raise ShapeError(
            f"{where}: {name} holds {values.size} values for {table.num_rows} frames of width {width}"
        )
    return values.reshape(table.num_rows, width).astype(np.float32, copy=False)


def _decode_at(path: Path, times: np.ndarray, tolerance: float = TIMESTAMP_TOLERANCE_S) -> np.ndarray:
    """The frames of ``path`` presented at ``times`` (seconds, ascending): ``uint8 [len(times), H, W, 3]``.

    Seeks to the key frame before ``times[0]`` and decodes forward, keeping the frame whose presentation
    time is within ``tolerance`` of each wanted time.

    Raises:
        ShapeError: the file has no video stream, or no decoded frame matches one of ``times``.
    """
    wanted = np.asarray(times, np.float64)
    frames: list[np.ndarray] = []
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:
        raise ConfigError(f"{path} cannot be opened as a video: {exc}") from exc
    with container:
        if not container.streams.video:
            raise ShapeError(f"{path} has no video stream")
        stream = container.streams.video[0]
        if len(wanted) and wanted[0] > tolerance:
            container.seek(int((wanted[0] - tolerance) / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            time = float(frame.pts * stream.time_base)
            if time < wanted[len(frames)] - tolerance:
                continue
            if time > wanted[len(frames)] + tolerance:
                break
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) == len(wanted):
                break
    if len(frames) != len(wanted):
        missing = wanted[len(frames)]
        raise ShapeError(
            f"{path}: no frame at {missing:.4f} s (+-{tolerance} s); "
            f"decoded {len(frames)} of {len(wanted)} frames"
        )
    return np.stack(frames) if frames else np.zeros((0, 0, 0, 3), np.uint8)


def episode_clip(
    dataset: LeRobotDataset,
    episode: LeRobotEpisode,
    *,
    start: int = 0,
    num_frames: int | None = None,
    video_format: str = "float",
) -> dict:
    """Frames ``start .. start + num_frames - 1`` of an episode as a training sample (keys as
    :func:`cosmos.curate.shards.decode_sample`; see :func:`lerobot_clips`). ``num_frames=None``: to the
    end."""
    if video_format not in ("float", "uint8"):
        raise ValueError(f"video_format must be 'float' or 'uint8', got {video_format!r}")
    stop = len(episode.frames) if num_frames is None else min(start + num_frames, len(episode.frames))
    frames = episode.frames[start:stop]
    metadata = {
        "source": "lerobot",
        "root": str(dataset.root),
        "camera": dataset.camera,
        "episode_index": episode.episode_index,
        "start_frame": start,
        "num_frames": len(frames),
        "framerate": episode.fps,
        "caption": episode.task,
    }
    return {
        "__key__": f"lerobot_{episode.episode_index:06d}_{start:06d}",
        "__url__": str(dataset.root),
        "metadata": metadata,
        "fps": episode.fps,
        "caption": episode.task,
        "video": frames_to_video(frames)[0] if video_format == "float" else torch.from_numpy(frames.copy()),
        "actions": torch.from_numpy(episode.actions[start : stop - 1].copy()),
        "states": torch.from_numpy(episode.states[start:stop].copy()),
    }


def lerobot_clips(
    dataset: LeRobotDataset,
    *,
    num_frames: int | None = None,
    stride: int | None = None,
    episodes: Sequence[int] | None = None,
    video_format: str = "float",
) -> Iterator[dict]:
    """Training samples from a LeRobot dataset, shaped like :func:`cosmos.curate.shards.decode_sample`'s.

    Args:
        dataset: an opened :class:`LeRobotDataset`.
        num_frames: frames per clip; ``None``: one clip per episode, the whole episode. Episodes shorter
            than ``num_frames`` give no clip.
        stride: frames between clip starts (default ``num_frames``: back-to-back clips).
        episodes: positions of the episodes to read (default all, in order).
        video_format: ``"float"`` (float32 ``[3, T, H, W]`` in [-1, 1]) or ``"uint8"`` (``[T, H, W, 3]``).

    Yields:
        ``{"video", "fps", "caption" (the task), "actions": float32 [T-1, A] (the actions taken at the
        clip's first T-1 frames, one per frame transition), "states": float32 [T, S], "metadata": dict,
        "__key__", "__url__"}``.
    """
    if (num_frames is not None and num_frames < 1) or (stride is not None and stride < 1):
        raise ValueError(f"num_frames and stride must be >= 1, got {num_frames} and {stride}")
    for position in range(len(dataset)) if episodes is None else episodes:
        episode = dataset[position]
        length = num_frames or len(episode.frames)
        for start in range(0, len(episode.frames) - length + 1, stride or length):
            yield episode_clip(dataset, episode, start=start, num_frames=length, video_format=video_format)


def lerobot_arrays(dataset: LeRobotDataset, num_frames: int) -> dict[str, np.ndarray]:
    """The first ``num_frames`` frames of every long-enough episode, stacked for in-memory training.

    The arrays the nano training scripts load (``examples/nano_data.py``'s ``load_robot`` layout), so a
    LeRobot dataset can replace the simulated npz chunks.

    Returns:
        ``{"video": uint8 [N, T, H, W, 3], "actions": float32 [N, T-1, A], "states": float32 [N, T, S],
        "episode_index": int64 [N]}`` with ``T = num_frames``; episodes shorter than ``T`` are left out.

    Raises:
        ShapeError: no episode has ``num_frames`` frames, or the episodes differ in frame size.
    """
    clips = [episode for episode in dataset if len(episode.frames) >= num_frames]
    if not clips:
        raise ShapeError(f"no episode of {dataset.root} has {num_frames} frames")
    sizes = {episode.frames.shape[1:] for episode in clips}
    if len(sizes) > 1:
        raise ShapeError(f"episodes of {dataset.root} differ in frame size: {sorted(sizes)}")
    return {
        "video": np.stack([episode.frames[:num_frames] for episode in clips]),
        "actions": np.stack([episode.actions[: num_frames - 1] for episode in clips]),
        "states": np.stack([episode.states[:num_frames] for episode in clips]),
        "episode_index": np.array([episode.episode_index for episode in clips], np.int64),
    }
