"""Motion filter from H.264 motion vectors (spec/curation.md §5.1, the reference's heuristic).

1. Decode the clip with motion-vector export, sampling every ``round(fps / target_fps)``-th frame and
   stopping after ``max(10, round(target_fps * duration * 0.5))`` samples.
2. Each motion vector paints its block (8x8 ... 16x16 px, centred at its destination) with the
   displacement ``-motion / motion_scale``; pixels without vectors stay 0.
3. Magnitude / (width + height) per pixel; ``global_mean`` is its mean over samples and pixels;
   ``per_patch_min_256`` the minimum of the per-pixel temporal mean shrunk by 1/256 in both axes.
4. Small motion iff ``global_mean < 0.00098`` or ``per_patch_min_256 < 1e-6``; undecodable clips
   score -1 on both and are filtered.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
import torch
import torch.nn.functional as F

from cosmos.curate.config import MotionConfig
from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import VideoTask

__all__ = ["MotionScores", "motion_scores", "has_small_motion", "MotionFilterStage"]


@dataclass(frozen=True)
class MotionScores:
    """``global_mean`` and ``per_patch_min_256`` (dimensionless, displacement / (W + H) per frame)."""

    global_mean: float
    per_patch_min_256: float


def _flow_from_vectors(vectors: np.ndarray, height: int, width: int) -> np.ndarray:
    """Dense ``[H, W, 2]`` flow from a structured motion-vector array (PyAV ``MotionVectors.to_ndarray()``)."""
    flow = np.zeros((height, width, 2), np.float32)
    scale = np.maximum(vectors["motion_scale"].astype(np.float32), 1.0)
    dx = -vectors["motion_x"].astype(np.float32) / scale
    dy = -vectors["motion_y"].astype(np.float32) / scale
    x0 = vectors["dst_x"].astype(np.int64) - vectors["w"].astype(np.int64) // 2
    y0 = vectors["dst_y"].astype(np.int64) - vectors["h"].astype(np.int64) // 2
    for i in range(len(vectors)):
        ys, xs = max(0, y0[i]), max(0, x0[i])
        ye, xe = min(height, y0[i] + int(vectors["h"][i])), min(width, x0[i] + int(vectors["w"][i]))
        if ye > ys and xe > xs:
            flow[ys:ye, xs:xe, 0] = dx[i]
            flow[ys:ye, xs:xe, 1] = dy[i]
    return flow


def motion_scores(data: bytes, *, target_fps: float = 2.0) -> MotionScores:
    """Motion scores of an H.264 clip from its codec motion vectors.

    Args:
        data: encoded clip bytes (H.264; other codecs export no vectors and score -1).
        target_fps: sampling rate of the scored frames (frames/s).

    Returns:
        :class:`MotionScores`; both -1.0 when no motion vectors could be decoded.
    """
    magnitudes: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            stream.codec_context.options = {"flags2": "+export_mvs"}
            fps = float(stream.average_rate or 0) or 1.0
            duration = (
                float(stream.duration * stream.time_base) if stream.duration else (stream.frames or 0) / fps
            )
            every = max(1, round(fps / target_fps))
            max_samples = max(10, round(target_fps * duration * 0.5))
            for index, frame in enumerate(container.decode(stream)):
                if index % every:
                    continue
                vectors = frame.side_data.get("MOTION_VECTORS")
                if vectors is None:  # intra frame: no vectors, not a sample
                    continue
                height, width = frame.height, frame.width
                flow = _flow_from_vectors(vectors.to_ndarray(), height, width)
                magnitudes.append(np.sqrt((flow**2).sum(-1)) / (width + height))
                if len(magnitudes) >= max_samples:
                    break
    except (av.error.FFmpegError, IndexError):  # type: ignore[attr-defined]
        return MotionScores(-1.0, -1.0)
    if not magnitudes:
        return MotionScores(-1.0, -1.0)
    stack = np.stack(magnitudes)  # [N, H, W]
    mean_map = torch.from_numpy(stack.mean(0))[None, None]  # [1, 1, H, W]
    height, width = stack.shape[1:]
    small = F.interpolate(
        mean_map, size=(max(1, round(height / 256)), max(1, round(width / 256))), mode="bilinear"
    )
    return MotionScores(float(stack.mean()), float(small.min()))


def has_small_motion(scores: MotionScores, config: MotionConfig) -> bool:
    """The reference's rule: ``global_mean < threshold`` or ``per_patch_min_256 < threshold``."""
    return (
        scores.global_mean < config.global_mean_threshold
        or scores.per_patch_min_256 < config.per_patch_min_256_threshold
    )


class MotionFilterStage(Stage):
    """Score every clip's motion and (unless ``score_only``) reject small-motion or too-small clips."""

    name = "motion"
    resources = Resources(cpus=0.5)

    def __init__(self, config: MotionConfig) -> None:
        self.config = config

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        for task in tasks:
            for clip in list(task.clips):
                if clip.encoded_data is None:
                    continue
                if min(clip.metadata["width"], clip.metadata["height"]) < self.config.min_resolution:
                    clip.errors[self.name] = f"resolution too small (< {self.config.min_resolution} px)"
                    if not self.config.score_only:
                        task.reject(clip, self.name)
                    continue
                scores = motion_scores(clip.encoded_data, target_fps=self.config.target_fps)
                clip.scores["motion_global_mean"] = scores.global_mean
                clip.scores["motion_per_patch_min_256"] = scores.per_patch_min_256
                if has_small_motion(scores, self.config) and not self.config.score_only:
                    task.reject(clip, self.name)
        return tasks
