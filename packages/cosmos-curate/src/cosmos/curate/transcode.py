"""Transcode clips to H.264 with PyAV and extract the frames that scorers and embedders share.

Spec/curation.md §4 (transcode; libx264 replaces the reference's libopenh264, which PyAV wheels lack)
and §5.2 (frame extraction, one decode per clip).
"""

from __future__ import annotations

import math

import numpy as np

from cosmos.curate.config import TranscodeConfig
from cosmos.curate.media import H264Encoder, decode_frames, iter_frames, probe_video
from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import VideoTask

__all__ = ["TranscodeStage", "FrameExtractionStage", "target_size"]


def target_size(height: int, width: int, max_height: int | None) -> tuple[int, int] | None:
    """``(height, width)`` scaled down to ``max_height`` (even sizes, aspect kept), or ``None`` to keep."""
    if max_height is None or height <= max_height:
        return None
    scale = max_height / height
    return max_height // 2 * 2, max(2, round(width * scale) // 2 * 2)


class TranscodeStage(Stage):
    """Re-encode every clip's frame range of its source as its own H.264 mp4 (one source decode per video).

    Sets ``clip.encoded_data`` and ``clip.metadata`` (width, height, fps, num_frames, duration, encoder).
    A clip that fails to encode is rejected with the error recorded in ``clip.errors``.
    """

    name = "transcode"
    resources = Resources(cpus=1.0)

    def __init__(self, config: TranscodeConfig) -> None:
        self.config = config

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        cfg = self.config
        for task in tasks:
            if not task.clips or task.encoded_data is None or task.metadata is None:
                continue
            clips = sorted(task.clips, key=lambda clip: clip.frame_range[0])
            size = target_size(task.metadata.height, task.metadata.width, cfg.max_height)
            encoders = {
                clip.uuid: H264Encoder(
                    task.metadata.fps,
                    encoder=cfg.encoder,
                    bit_rate=cfg.bit_rate,
                    preset=cfg.preset,
                    threads=cfg.threads,
                )
                for clip in clips
            }
            last_frame = max(clip.frame_range[1] for clip in clips)
            for index, image in iter_frames(task.encoded_data, size=size):
                if index >= last_frame:
                    break
                for clip in clips:  # clips may overlap (fixed stride does not, detectors do not)
                    if clip.frame_range[0] <= index < clip.frame_range[1]:
                        encoders[clip.uuid].add(image)
            for clip in clips:
                try:
                    clip.encoded_data = encoders[clip.uuid].finish()
                    meta = probe_video(clip.encoded_data)
                except ValueError as exc:
                    clip.errors[self.name] = str(exc)
                    task.reject(clip, self.name)
                    continue
                clip.metadata = {
                    "width": meta.width,
                    "height": meta.height,
                    "framerate": meta.fps,
                    "num_frames": encoders[clip.uuid].num_frames,
                    "duration": encoders[clip.uuid].num_frames / meta.fps,
                    "video_codec": meta.video_codec,
                    "encoder": cfg.encoder,
                    "size": len(clip.encoded_data),
                }
            task.clip_stats["clips_transcoded"] += len(task.clips)
        return tasks


class FrameExtractionStage(Stage):
    """Decode each clip once at about ``fps`` frames/s (at most ``max_frames``, longest side ≤ ``max_side``).

    Sets ``clip.frames`` uint8 ``[N, H, W, 3]`` for the scorer, embedder and caption stages.
    """

    name = "extract_frames"
    resources = Resources(cpus=0.5)

    def __init__(self, fps: float = 2.0, max_frames: int = 16, max_side: int = 512) -> None:
        self.fps, self.max_frames, self.max_side = fps, max_frames, max_side

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        for task in tasks:
            for clip in task.clips:
                if clip.encoded_data is None:
                    continue
                height, width = clip.metadata["height"], clip.metadata["width"]
                scale = min(1.0, self.max_side / max(height, width))
                size = None if scale == 1.0 else (max(2, round(height * scale)), max(2, round(width * scale)))
                every = max(1, round(clip.metadata["framerate"] / self.fps))
                num = clip.metadata["num_frames"]
                # spread at most max_frames samples over the whole clip
                every = max(every, math.ceil(num / self.max_frames))
                clip.frames = decode_frames(
                    clip.encoded_data, every=every, size=size, max_frames=self.max_frames
                )
                if clip.frames.shape[0] == 0:
                    clip.frames = np.zeros((0, 1, 1, 3), np.uint8)
        return tasks
