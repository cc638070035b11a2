"""The data model passed between stages: :class:`VideoTask` holding :class:`Clip` s holding :class:`Window` s.

Follows spec/curation.md §2: one task per input video; stages mutate and return tasks; filtering never
deletes (a rejected clip moves from ``clips`` to ``filtered_clips`` with the stage name in
``filtered_by``). Clip ids are UUID5 of ``"{source}_{start_frame}_{end_frame}"`` so a re-run (or a
resumed run, or another executor) gives the same ids.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["CLIP_NAMESPACE", "clip_uuid", "VideoMetadata", "Window", "Clip", "VideoTask"]

#: Namespace of all clip ids (fixed forever: changing it changes every id).
CLIP_NAMESPACE = uuid.UUID("6f1b3c1e-3b8a-5d0e-9a43-7c05c0500001")


def clip_uuid(source: str, start_frame: int, end_frame: int) -> str:
    """Reproducible clip id: UUID5 of ``f"{source}_{start_frame}_{end_frame}"`` (spec §2).

    Args:
        source: the input video's path relative to the input folder (so moving the folder keeps ids).
        start_frame, end_frame: the clip's ``[start, end)`` frame range in the source.
    """
    return str(uuid.uuid5(CLIP_NAMESPACE, f"{source}_{int(start_frame)}_{int(end_frame)}"))


@dataclass(frozen=True)
class VideoMetadata:
    """Container/stream facts read with PyAV (the reference uses ffprobe).

    ``fps`` in frames/s, ``duration`` in seconds, ``num_frames`` counted or estimated
    (``round(duration * fps)``) when the container has no frame count.
    """

    width: int
    height: int
    fps: float
    num_frames: int
    duration: float
    video_codec: str
    pixel_format: str
    bit_rate_k: int
    format_name: str
    size: int


@dataclass
class Window:
    """A caption unit: frames ``start_frame..end_frame`` (inclusive) of its clip (spec §7)."""

    start_frame: int
    end_frame: int
    caption: dict[str, str] = field(default_factory=dict)
    caption_status: str = "skipped"
    text_embedding: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Clip:
    """One clip of a source video.

    Attributes:
        uuid: :func:`clip_uuid` of (source, frame range).
        source_video: relative path of the source video.
        frame_range: ``(start, end)`` frames of the source, end exclusive.
        fps_source: source frame rate (frames/s).
        encoded_data: the transcoded H.264 mp4 bytes (after the transcode stage).
        metadata: the transcoded clip's ``width, height, fps, num_frames, duration``.
        frames: uint8 ``[N, H, W, 3]`` frames sampled for scorers/embedders (dropped by the writer).
        scores: named scores (``motion_global_mean``, ``motion_per_patch_min_256``,
            ``technical_quality``, ``aesthetic_score``), floats.
        has_overlay_text: overlay-text filter verdict (``None`` when not run).
        embedding: float32 ``[D]`` unit vector, with ``embedding_model``.
        windows: caption windows.
        filtered_by: name of the stage that rejected the clip (``None`` if kept).
        errors: stage name -> message.
    """

    uuid: str
    source_video: str
    frame_range: tuple[int, int]
    fps_source: float
    width_source: int = 0
    height_source: int = 0
    encoded_data: bytes | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    frames: np.ndarray | None = None
    scores: dict[str, float] = field(default_factory=dict)
    has_overlay_text: bool | None = None
    embedding: np.ndarray | None = None
    embedding_model: str | None = None
    windows: list[Window] = field(default_factory=list)
    filtered_by: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def span(self) -> tuple[float, float]:
        """``(start_s, end_s)`` in seconds of the source video."""
        start, end = self.frame_range
        return start / self.fps_source, end / self.fps_source

    @property
    def num_frames(self) -> int:
        """Frames in the clip's source range."""
        return self.frame_range[1] - self.frame_range[0]


@dataclass
class VideoTask:
    """One input video flowing through the split-annotate stages.

    Attributes:
        input_path: absolute path of the file.
        relative_path: path relative to the input folder (the clip-id source, the resume key).
        encoded_data: raw file bytes (read by the ingest stage, dropped by the writer).
        metadata: :class:`VideoMetadata`.
        frames_27x48: uint8 ``[T, 27, 48, 3]`` frames for shot detection (dropped after splitting).
        clips / filtered_clips: kept and rejected clips.
        clip_stats: counters per filter.
        errors: stage name -> message.
    """

    input_path: str
    relative_path: str
    encoded_data: bytes | None = None
    metadata: VideoMetadata | None = None
    frames_27x48: np.ndarray | None = None
    clips: list[Clip] = field(default_factory=list)
    filtered_clips: list[Clip] = field(default_factory=list)
    clip_stats: Counter = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)

    def reject(self, clip: Clip, stage: str) -> None:
        """Move ``clip`` from ``clips`` to ``filtered_clips`` and count it under ``stage``."""
        clip.filtered_by = stage
        self.clips.remove(clip)
        self.filtered_clips.append(clip)
        self.clip_stats[f"filtered_{stage}"] += 1
