"""Post-guard 2: face pixelation (spec §5).

`pixelate_faces` reproduces the reference's pixelation exactly: each face box of at least 20 x 20 px is
clipped to the frame, shrunk to 5 x 5 with bilinear interpolation and enlarged back with nearest-neighbour
(two ``cv2.resize`` calls), so every face becomes a 5 x 5 grid of flat tiles. Unlike the reference, the
caller's frames are never modified (we work on a copy).

Detectors implement `FaceDetector` (``detect(frame) -> (boxes [N, 4] x1 y1 x2 y2 px, scores [N])``):

* `HaarFaceDetector`: OpenCV's bundled frontal-face Haar cascade (offline default; needs
  ``opencv-python-headless >= 4.8, < 5``, since OpenCV 5 wheels ship no cascades);
* `cosmos.guard.retinaface.RetinaFaceDetector`: our RetinaFace-ResNet-50 module, for the reference's
  ``Resnet50_Final.pth`` weights.

`FaceBlur` is the post-processing stage: detect on every frame, pixelate, report the boxes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from cosmos.core import CheckpointError, ShapeError

from .verdict import StageResult

__all__ = ["FaceBlur", "FaceDetector", "HaarFaceDetector", "pixelate_faces", "pixelate_region"]

MIN_FACE_SIZE = 20  # px, spec §5.1 and the paper's "faces larger than 20 x 20 px"
PIXEL_GRID = 5  # every face becomes PIXEL_GRID x PIXEL_GRID flat tiles


def _cv2():
    try:
        import cv2
    except ImportError as error:  # pragma: no cover - cv2 is a dependency
        raise ImportError("face blur needs OpenCV: pip install 'opencv-python-headless>=4.8,<5'") from error
    return cv2


def pixelate_region(
    frame: np.ndarray, box: tuple[float, float, float, float], *, grid: int = PIXEL_GRID
) -> bool:
    """Pixelate one box of `frame` **in place** (use `pixelate_faces` to keep the caller's frames intact).

    Args:
        frame: ``uint8 [H, W, 3]``, modified in place.
        box: ``(x1, y1, x2, y2)`` in pixels (truncated to int, then clipped to the frame).
        grid: tiles per side (5 in the reference).

    Returns:
        True when something was pixelated (False when the clipped box is empty).
    """
    cv2 = _cv2()
    height, width = frame.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in box)
    x1, y1 = max(x1, 0), max(y1, 0)
    x2, y2 = min(x2, width), min(y2, height)
    if x2 <= x1 or y2 <= y1:
        return False
    region = frame[y1:y2, x1:x2]
    small = cv2.resize(region, (grid, grid), interpolation=cv2.INTER_LINEAR)  # [grid, grid, 3]
    frame[y1:y2, x1:x2] = cv2.resize(small, (x2 - x1, y2 - y1), interpolation=cv2.INTER_NEAREST)
    return True


def pixelate_faces(
    frames: np.ndarray,
    boxes: list[np.ndarray] | list[list[tuple[float, float, float, float]]],
    *,
    min_size: int = MIN_FACE_SIZE,
    grid: int = PIXEL_GRID,
) -> tuple[np.ndarray, list[list[list[int]]]]:
    """Pixelate the face boxes of every frame, on a copy (spec §5.1).

    Args:
        frames: ``uint8 [T, H, W, 3]`` RGB (or ``[H, W, 3]`` for one image). Not modified.
        boxes: per frame, boxes ``(x1, y1, x2, y2)`` in pixels, as detected (unclipped); for one image,
            just that image's boxes.
        min_size: boxes narrower or shorter than this (before clipping) are left untouched.
        grid: tiles per side.

    Returns:
        (pixelated copy with the input's shape, per frame the int boxes actually pixelated; for one image,
        just its list of boxes).

    Raises:
        ShapeError: bad frame layout/dtype, or len(boxes) != number of frames.
    """
    frames = np.asarray(frames)
    single = frames.ndim == 3
    batch = frames[None] if single else frames
    if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
        raise ShapeError(
            f"frames must be uint8 [T, H, W, 3] or [H, W, 3] RGB, got {frames.dtype} {frames.shape}"
        )
    if single:
        boxes = [boxes]  # one image: `boxes` is that image's list of boxes
    if len(boxes) != len(batch):
        raise ShapeError(f"got boxes for {len(boxes)} frames but {len(batch)} frames")
    out = batch.copy()
    done: list[list[list[int]]] = []
    for frame, frame_boxes in zip(out, boxes):
        kept = []
        for box in np.asarray(frame_boxes, dtype=np.float64).reshape(-1, 4):
            x1, y1, x2, y2 = (int(v) for v in box)
            if x2 - x1 < min_size or y2 - y1 < min_size:
                continue
            if pixelate_region(frame, (x1, y1, x2, y2), grid=grid):
                kept.append([x1, y1, x2, y2])
        done.append(kept)
    return (out[0], done[0]) if single else (out, done)


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in one RGB frame.

    ``detect(frame uint8 [H, W, 3]) -> (boxes float32 [N, 4] as x1, y1, x2, y2 in px, scores float32 [N])``.
    """

    name: str
    model_id: str
    revision: str | None

    def detect(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class HaarFaceDetector:
    """OpenCV's Viola-Jones Haar cascade for frontal faces (offline default, spec §5.2).

    Args:
        scale_factor: image pyramid step (1.1 = finer and slower, 1.2 = faster).
        min_neighbors: detections needed around a face to keep it (higher = fewer false positives).
        min_size: smallest face searched for, in px.
        profiles: also run the profile-face cascade on the frame and its mirror image (better recall on
            turned heads, about 3x the cost).
        cascade_path: a cascade XML of your own instead of ``haarcascade_frontalface_default.xml``.

    Raises:
        CheckpointError: the cascade file is missing or unreadable (e.g. OpenCV >= 5, which ships none).
    """

    name = "haar"

    def __init__(
        self,
        *,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = MIN_FACE_SIZE,
        profiles: bool = False,
        cascade_path: str | Path | None = None,
    ) -> None:
        cv2 = _cv2()
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = min_size
        folder = Path(getattr(getattr(cv2, "data", None), "haarcascades", "") or ".")
        frontal = (
            Path(cascade_path) if cascade_path is not None else folder / "haarcascade_frontalface_default.xml"
        )
        self._cascades = [(self._load(cv2, frontal), False)]
        if profiles:
            profile = self._load(cv2, folder / "haarcascade_profileface.xml")
            self._cascades += [(profile, False), (profile, True)]
        self.model_id = f"opencv-haar:{frontal.name}"
        self.revision = f"opencv-{cv2.__version__}"

    @staticmethod
    def _load(cv2, path: Path):
        if not hasattr(cv2, "CascadeClassifier"):
            raise CheckpointError(
                f"OpenCV {cv2.__version__} has no CascadeClassifier (OpenCV 5 removed it): "
                "install 'opencv-python-headless>=4.8,<5'"
            )
        if not path.is_file():
            raise CheckpointError(f"Haar cascade not found: {path} (OpenCV 5 wheels ship none; use opencv<5)")
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise CheckpointError(f"could not read Haar cascade {path}")
        return cascade

    def detect(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Faces in one ``uint8 [H, W, 3]`` RGB frame: (boxes float32 [N, 4] xyxy px, scores float32 [N] = 1)."""
        cv2 = _cv2()
        gray = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
        width = gray.shape[1]
        boxes = []
        for cascade, mirrored in self._cascades:
            image = gray[:, ::-1].copy() if mirrored else gray
            found = cascade.detectMultiScale(
                image,
                scaleFactor=self.scale_factor,
                minNeighbors=self.min_neighbors,
                minSize=(self.min_size, self.min_size),
            )
            for x, y, w, h in np.asarray(found).reshape(-1, 4):
                if mirrored:
                    x = width - x - w
                boxes.append([x, y, x + w, y + h])
        boxes_arr = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        return boxes_arr, np.ones(len(boxes_arr), dtype=np.float32)


class FaceBlur:
    """Post-processing stage: detect faces on every frame and pixelate those >= `min_size` px.

    Args:
        detector: a `FaceDetector` (default `HaarFaceDetector()`).
        min_size: smallest face (width and height, px) that is pixelated.
        grid: tiles per side.
        detect_every: run the detector on every k-th frame (and the last) only; frames in between get the
            boxes of both neighbouring key frames, each dilated by `carry_dilation` (union). 1 (default) detects
            on every frame, as the reference does.
        carry_dilation: relative growth of carried-over boxes (0.1 = 10 % wider and taller).
        progress: show a tqdm bar over frames.
        name: stage name in verdicts.
    """

    def __init__(
        self,
        detector: FaceDetector | None = None,
        *,
        min_size: int = MIN_FACE_SIZE,
        grid: int = PIXEL_GRID,
        detect_every: int = 1,
        carry_dilation: float = 0.1,
        progress: bool = False,
        name: str = "face_blur",
    ) -> None:
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        self.detector = detector if detector is not None else HaarFaceDetector()
        self.detect_every = detect_every
        self.carry_dilation = carry_dilation
        self.min_size = min_size
        self.grid = grid
        self.progress = progress
        self.name = name

    @property
    def model_id(self) -> str:
        """The detector's model id, recorded in verdicts."""
        return self.detector.model_id

    def process(self, frames: np.ndarray, *, input: str = "video") -> tuple[np.ndarray, StageResult]:
        """Pixelate faces in a copy of `frames`.

        Args:
            frames: ``uint8 [T, H, W, 3]`` RGB (not modified).

        Returns:
            (pixelated copy ``uint8 [T, H, W, 3]``, `StageResult` with status ``"pass"`` and
            ``extras["faces"]`` = per frame the pixelated boxes ``[x1, y1, x2, y2]``).

        Raises:
            ShapeError: bad frames. Detector errors propagate (the runner fails closed: unblurred faces
            must not leak).
        """
        t0 = time.perf_counter()
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ShapeError(f"frames must be uint8 [T, H, W, 3] RGB, got {frames.dtype} {frames.shape}")
        keys = sorted({*range(0, len(frames), self.detect_every), len(frames) - 1})
        iterator = keys
        if self.progress:
            from tqdm.auto import tqdm

            iterator = tqdm(keys, desc="face blur", unit="frame")
        found = {i: self.detector.detect(frames[i])[0] for i in iterator}
        detections = [found[i] if i in found else self._carried(found, keys, i) for i in range(len(frames))]
        blurred, done = pixelate_faces(frames, detections, min_size=self.min_size, grid=self.grid)
        count = sum(len(b) for b in done)
        frames_with = sum(1 for b in done if b)
        return blurred, StageResult(
            name=self.name,
            status="pass",
            detail=f"pixelated {count} face boxes in {frames_with}/{len(frames)} frames",
            input=input,
            seconds=time.perf_counter() - t0,
            model_id=self.model_id,
            revision=self.detector.revision,
            extras={"faces": done, "detector": self.detector.name, "detected_frames": len(keys)},
        )

    def _carried(self, found: dict[int, np.ndarray], keys: list[int], index: int) -> np.ndarray:
        """Boxes for a frame between two key frames: both neighbours' boxes, dilated, stacked."""
        after = next(k for k in keys if k > index)
        before = max(k for k in keys if k < index)
        boxes = np.concatenate([found[before], found[after]]).reshape(-1, 4).astype(np.float64)
        grow_x = (boxes[:, 2] - boxes[:, 0]) * self.carry_dilation / 2
        grow_y = (boxes[:, 3] - boxes[:, 1]) * self.carry_dilation / 2
        return np.stack(
            [boxes[:, 0] - grow_x, boxes[:, 1] - grow_y, boxes[:, 2] + grow_x, boxes[:, 3] + grow_y], axis=1
        )

    def to(self, device: str) -> FaceBlur:
        """Move a torch detector to `device` (no-op for Haar)."""
        if hasattr(self.detector, "to"):
            self.detector.to(device)
        return self
