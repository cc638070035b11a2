"""Overlay (post-production) text filter (spec/curation.md §5.4), boxes from tesseract.

The reference detects text boxes with PaddleOCR (weights not reachable offline); here the boxes come
from tesseract (Debian ``tesseract-ocr`` + ``pytesseract``, extra ``[ocr]``) and feed the same
heuristics, which are pure Python and tested on their own:

* stable tracks: a box joins an open track when its IoU with the track's last box is ≥ 0.9; a track
  closes after more than 5 frames unseen; a closed track with ≥ 3 detections and a mean IoU between
  consecutive boxes ≥ 0.9 is overlay text;
* corner text (logos): a box centred within 10 % of width and height of a corner; flagged when more
  than 10 % of the sampled frames that have detections contain corner text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cosmos.curate.config import OverlayTextConfig
from cosmos.curate.media import decode_frames
from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import VideoTask

__all__ = ["Box", "iou", "find_overlay_text", "tesseract_boxes", "OverlayTextStage"]

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two axis-aligned boxes (0 when disjoint)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Track:
    boxes: list[Box] = field(default_factory=list)
    ious: list[float] = field(default_factory=list)
    last_frame: int = 0


def find_overlay_text(
    detections: list[tuple[int, list[Box]]], width: int, height: int, config: OverlayTextConfig
) -> bool:
    """Whether per-frame text boxes show overlay text (stable tracks) or corner text (logos).

    Args:
        detections: ``(frame_index, boxes)`` for each sampled frame, in frame order.
        width, height: frame size in pixels (for the corner test).
    """
    open_tracks: list[_Track] = []
    closed: list[_Track] = []
    corner_frames = frames_with_boxes = 0
    for frame_index, boxes in detections:
        for track in [t for t in open_tracks if frame_index - t.last_frame > config.max_gap_frames]:
            open_tracks.remove(track)
            closed.append(track)
        if boxes:
            frames_with_boxes += 1
        corner = False
        for box in boxes:
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            near_x = cx < config.corner_fraction * width or cx > (1 - config.corner_fraction) * width
            near_y = cy < config.corner_fraction * height or cy > (1 - config.corner_fraction) * height
            corner = corner or (near_x and near_y)
            best = max(open_tracks, key=lambda t: iou(t.boxes[-1], box), default=None)
            if best is not None and iou(best.boxes[-1], box) >= config.track_iou:
                best.ious.append(iou(best.boxes[-1], box))
                best.boxes.append(box)
                best.last_frame = frame_index
            else:
                open_tracks.append(_Track([box], [], frame_index))
        corner_frames += corner
    closed.extend(open_tracks)
    for track in closed:
        if len(track.boxes) >= config.min_track_detections and np.mean(track.ious) >= config.track_iou:
            return True
    if config.detect_corner_text and frames_with_boxes:
        return corner_frames / frames_with_boxes > config.corner_frames_fraction
    return False


def tesseract_boxes(frame: np.ndarray, min_confidence: float = 60.0) -> list[Box]:
    """Word boxes of uint8 ``[H, W, 3]`` ``frame`` found by tesseract with confidence ≥ ``min_confidence``.

    Raises:
        ImportError: pytesseract missing. RuntimeError: the ``tesseract`` binary is missing.
    """
    try:
        import pytesseract
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError(
            "the overlay-text filter needs `pip install pytesseract` and `apt-get install tesseract-ocr`"
        ) from exc
    data = pytesseract.image_to_data(frame, output_type=pytesseract.Output.DICT)
    boxes = []
    for text, conf, x, y, w, h in zip(
        data["text"], data["conf"], data["left"], data["top"], data["width"], data["height"]
    ):
        if text.strip() and float(conf) >= min_confidence:
            boxes.append((float(x), float(y), float(x + w), float(y + h)))
    return boxes


class OverlayTextStage(Stage):
    """Reject clips with overlay or corner text (every ``frame_stride``-th frame, longest side ≤ ``max_side``)."""

    name = "overlay_text"
    resources = Resources(cpus=1.0)

    def __init__(self, config: OverlayTextConfig) -> None:
        self.config = config

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        cfg = self.config
        for task in tasks:
            for clip in list(task.clips):
                if clip.encoded_data is None:
                    continue
                height, width = clip.metadata["height"], clip.metadata["width"]
                scale = min(1.0, cfg.max_side / max(height, width))
                size = (round(height * scale), round(width * scale))
                frames = decode_frames(clip.encoded_data, every=cfg.frame_stride, size=size)
                detections = [
                    (i * cfg.frame_stride, tesseract_boxes(f, cfg.min_confidence))
                    for i, f in enumerate(frames)
                ]
                clip.has_overlay_text = find_overlay_text(detections, size[1], size[0], cfg)
                if clip.has_overlay_text:
                    task.reject(clip, self.name)
        return tasks
