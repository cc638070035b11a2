"""Ingest and split: read each input, detect shots, filter scenes into clips (spec/curation.md §3).

Scene detectors: TransNetV2 (default; :mod:`cosmos.curate.transnetv2`), PySceneDetect (extra
``[scenedetect]``) and a fixed-stride splitter. Every detector returns ``[start, end)`` frame pairs,
which :func:`filter_scenes` turns into clips in the reference's order: max length (stride/truncate),
crop both ends, min length.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from cosmos.curate.config import SplitConfig
from cosmos.curate.media import decode_frames, probe_video
from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import Clip, VideoTask, clip_uuid

__all__ = [
    "predictions_to_scenes",
    "filter_scenes",
    "fixed_stride_scenes",
    "pyscenedetect_scenes",
    "scene_cuts",
    "cut_f1",
    "ReadVideoStage",
    "ShotDetectionStage",
]


def predictions_to_scenes(
    predictions: np.ndarray, threshold: float, *, entire_scene_as_clip: bool = True
) -> list[tuple[int, int]]:
    """Binarise transition probabilities and turn them into ``[start, end)`` scenes (spec §3.4).

    A 1→0 edge starts a scene, a 0→1 edge (not at frame 0) ends the current scene there; a trailing
    scene is closed at the last index; with no scene at all the whole video ``(0, N)`` is one scene
    (if ``entire_scene_as_clip``).

    Args:
        predictions: float ``[N]`` probabilities in [0, 1].
        threshold: frames with ``p > threshold`` are transitions.
    """
    binary = (np.asarray(predictions) > threshold).astype(np.uint8)
    scenes: list[tuple[int, int]] = []
    start, previous = 0, 0
    for index, value in enumerate(binary):
        if previous == 1 and value == 0:
            start = index
        if previous == 0 and value == 1 and index != 0:
            scenes.append((start, index))
        previous = value
    if scenes and len(binary) and binary[-1] == 0:
        scenes.append((start, len(binary) - 1))
    if not scenes and entire_scene_as_clip and len(binary):
        scenes.append((0, len(binary)))
    return scenes


def filter_scenes(scenes: list[tuple[int, int]], fps: float, config: SplitConfig) -> list[tuple[int, int]]:
    """Scene filtering in the reference's order (spec §3.5).

    1. scenes longer than ``max_length(fps)`` frames are cut into consecutive pieces (``stride``; a last
       piece shorter than ``min_length(fps)`` is dropped) or truncated to the first piece;
    2. ``crop_length(fps)`` frames are removed from both ends of every scene/piece (empty ones dropped);
    3. scenes shorter than ``min_length(fps)`` frames are dropped;
    4. at most ``limit_clips`` are kept (0 = all).

    Returns:
        ``[start, end)`` frame pairs.
    """
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    max_length, min_length, crop = config.max_length(fps), config.min_length(fps), config.crop_length(fps)
    pieces: list[tuple[int, int]] = []
    for start, end in scenes:
        if end - start <= max_length:
            pieces.append((start, end))
        elif config.max_length_mode == "truncate":
            pieces.append((start, start + max_length))
        else:
            for piece_start in range(start, end, max_length):
                piece_end = min(piece_start + max_length, end)
                if piece_end - piece_start >= min_length:
                    pieces.append((piece_start, piece_end))
    cropped = [(start + crop, end - crop) for start, end in pieces if end - crop > start + crop]
    kept = [(start, end) for start, end in cropped if end - start >= min_length]
    return kept[: config.limit_clips] if config.limit_clips > 0 else kept


def fixed_stride_scenes(num_frames: int, fps: float, config: SplitConfig) -> list[tuple[int, int]]:
    """Fixed-stride spans ``[t, min(t + fixed_stride_s, duration))``, kept if at least ``min_length_s`` long (§3.6)."""
    stride = max(1, round(config.fixed_stride_s * fps))
    minimum = math.ceil(config.min_length_s * fps)
    spans = [(start, min(start + stride, num_frames)) for start in range(0, num_frames, stride)]
    return [(start, end) for start, end in spans if end - start >= minimum]


def pyscenedetect_scenes(data: bytes, config: SplitConfig) -> list[tuple[int, int]]:
    """Scenes from PySceneDetect's ``adaptive``/``content``/``histogram`` detector (extra ``[scenedetect]``).

    Returns ``[start, end)`` frame pairs covering the video (one scene when no cut is found).

    Raises:
        ImportError: scenedetect is not installed.
    """
    try:
        from scenedetect import AdaptiveDetector, ContentDetector, HistogramDetector, SceneManager
        from scenedetect.backends.pyav import VideoStreamAv
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "split algorithm 'pyscenedetect' needs `pip install cosmos-curate[scenedetect]`"
        ) from exc
    kwargs: dict[str, float] = {}
    detector_name = config.pyscenedetect_detector
    if detector_name == "adaptive":
        if config.pyscenedetect_threshold is not None:
            kwargs["adaptive_threshold"] = config.pyscenedetect_threshold
        detector = AdaptiveDetector(**kwargs)
    elif detector_name == "content":
        if config.pyscenedetect_threshold is not None:
            kwargs["threshold"] = config.pyscenedetect_threshold
        detector = ContentDetector(**kwargs)
    elif detector_name == "histogram":
        if config.pyscenedetect_threshold is not None:
            kwargs["threshold"] = config.pyscenedetect_threshold
        detector = HistogramDetector(**kwargs)
    else:
        raise ValueError(f"unknown PySceneDetect detector {detector_name!r} (adaptive, content, histogram)")
    manager = SceneManager()
    manager.add_detector(detector)
    manager.detect_scenes(VideoStreamAv(io.BytesIO(data), suppress_output=True))
    scenes = [(start.frame_num, end.frame_num) for start, end in manager.get_scene_list(start_in_scene=True)]
    return scenes


def scene_cuts(scenes: list[tuple[int, int]]) -> list[int]:
    """First frames of every scene after the first: the detected cut positions."""
    return sorted({start for start, _ in scenes if start > 0})


def cut_f1(detected: list[int], truth: list[int], *, tolerance: int = 2) -> tuple[float, float, float]:
    """Precision, recall and F1 of detected cut frames against true ones (one-to-one matching within
    ``tolerance`` frames, greedy by distance). Empty truth and empty detection score 1.0."""
    if not truth and not detected:
        return 1.0, 1.0, 1.0
    pairs = sorted(
        (abs(d - t), i, j)
        for i, d in enumerate(detected)
        for j, t in enumerate(truth)
        if abs(d - t) <= tolerance
    )
    used_d, used_t = set(), set()
    for _, i, j in pairs:
        if i not in used_d and j not in used_t:
            used_d.add(i)
            used_t.add(j)
    hits = len(used_d)
    precision = hits / len(detected) if detected else 0.0
    recall = hits / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


class ReadVideoStage(Stage):
    """Read an input file into memory and probe its metadata (spec §3.1)."""

    name = "read"
    resources = Resources(cpus=0.5)

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        for task in tasks:
            task.encoded_data = Path(task.input_path).read_bytes()
            try:
                task.metadata = probe_video(task.encoded_data)
            except ValueError as exc:
                task.errors[self.name] = str(exc)
        return tasks


class ShotDetectionStage(Stage):
    """Decode 27x48 frames, detect shots, filter scenes and create :class:`Clip` s (spec §3.2-3.5)."""

    name = "split"
    resources = Resources(cpus=1.0, gpus=0.25)  # TransNetV2 runs on a GPU share when one is visible

    def __init__(self, config: SplitConfig) -> None:
        self.config = config
        self._model = None

    def setup(self) -> None:
        if self.config.algorithm == "transnetv2":
            import torch

            from cosmos.curate.transnetv2 import TransNetV2

            device = "cuda" if torch.cuda.is_available() else "cpu"
            self._model = TransNetV2.from_official(self.config.transnetv2_weights, device=device)

    def detect(self, task: VideoTask) -> list[tuple[int, int]]:
        """Raw ``[start, end)`` scenes of ``task`` (before filtering)."""
        assert task.metadata is not None and task.encoded_data is not None
        if self.config.algorithm == "fixed-stride":
            return [(0, task.metadata.num_frames)]
        if self.config.algorithm == "pyscenedetect":
            return pyscenedetect_scenes(task.encoded_data, self.config)
        from cosmos.curate.transnetv2 import predict_transitions

        if self._model is None:
            self.setup()
        frames = decode_frames(task.encoded_data, size=(27, 48))
        probabilities = predict_transitions(self._model, frames)
        return predictions_to_scenes(
            probabilities, self.config.threshold, entire_scene_as_clip=self.config.entire_scene_as_clip
        )

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        for task in tasks:
            if task.metadata is None or task.encoded_data is None:
                continue
            fps = task.metadata.fps
            if self.config.algorithm == "fixed-stride":
                spans = fixed_stride_scenes(task.metadata.num_frames, fps, self.config)
            else:
                spans = filter_scenes(self.detect(task), fps, self.config)
            task.clips = [
                Clip(
                    uuid=clip_uuid(task.relative_path, start, end),
                    source_video=task.relative_path,
                    frame_range=(start, end),
                    fps_source=fps,
                    width_source=task.metadata.width,
                    height_source=task.metadata.height,
                )
                for start, end in spans
            ]
            task.clip_stats["clips_split"] += len(task.clips)
        return tasks
