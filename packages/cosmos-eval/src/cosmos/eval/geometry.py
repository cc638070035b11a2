"""3D consistency of videos without learned weights: Sampson error, camera-pose recovery, TSE and CSE.

A video of a static scene seen by a moving camera obeys epipolar geometry: a point ``x0`` of one frame and its
match ``x1`` in another satisfy ``x1^T F x0 = 0`` for the pair's fundamental matrix ``F``. A generator that
keeps the scene's 3D structure consistent produces matches that fit one ``F`` closely; one that lets the
geometry drift does not. The Cosmos paper (arXiv 2501.03575, section 5.3, "3D consistency", Table 19 of v3)
measures this on generated static scenes with the Sampson error and the camera-pose estimation success rate;
the multi-view models are judged by the temporal and cross-view Sampson errors (TSE, CSE) of NVIDIA's
Cosmos cookbook (``scripts/metrics/geometrical_consistency/sampson``).

The protocol here, for every image pair:

1. SIFT keypoints and descriptors on the grey frames (OpenCV, default settings, all keypoints);
2. brute-force L2 matching, two nearest neighbours, Lowe's ratio test (``ratio`` 0.8, Lowe 2004 section 7.1);
3. a fundamental matrix by RANSAC over those matches (OpenCV's 7/8-point RANSAC, ``ransac_threshold`` 1 px
   to the epipolar line, confidence 0.999; deterministic);
4. the Sampson distance (first-order geometric error, Hartley & Zisserman eq. 11.9, square-rooted so it is in
   **pixels**) of **every** ratio-test match, not only the RANSAC inliers, and its median over the pair.

A pair with fewer than ``min_matches`` (16) ratio-test matches, or whose RANSAC finds no matrix, is
*undefined*: it counts in ``num_pairs_total`` but not in ``num_pairs`` and contributes NaN. A result with no
defined pair has ``defined == False`` and ``value`` NaN; never a crash and never a silent zero.

Inputs are one video: float ``[3, T, H, W]`` (or ``[1, 3, T, H, W]``) in ``[-1, 1]``, numpy or torch, or
uint8 frames ``[T, H, W, 3]``; a batch ``[B, 3, T, H, W]`` gives a list with one result per video. Float
frames are rounded to 8 bits first (what a video file holds). Anything else raises
:class:`cosmos.core.ShapeError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import torch

from cosmos.core import ShapeError

__all__ = [
    "PoseRecovery",
    "SampsonResult",
    "camera_pose_recovery",
    "cross_view_sampson_error",
    "default_intrinsics",
    "match_features",
    "sampson_distances",
    "sampson_error",
    "temporal_sampson_error",
]

RATIO = 0.8
MIN_MATCHES = 16
RANSAC_THRESHOLD = 1.0
RANSAC_CONFIDENCE = 0.999


# ----------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SampsonResult:
    """A Sampson error in pixels, with the image pairs it was taken over.

    Attributes:
        value: the error in pixels (see the function that made it for how pairs are pooled); NaN when undefined.
        num_pairs: image pairs with an estimate (enough matches and a RANSAC fundamental matrix).
        num_pairs_total: image pairs looked at.
        pairs: one entry per image pair: ``(t0, t1)`` frame indices (:func:`sampson_error`),
            ``(view, t0, t1)`` (:func:`temporal_sampson_error`) or ``(view_a, view_b, t)``
            (:func:`cross_view_sampson_error`).
        pair_values: median Sampson distance (pixels) of each pair, NaN where undefined.
        num_matches: ratio-test matches of each pair.
        groups: per view (TSE) or per view pair (CSE), the median over that group's defined pairs (NaN when none).
    """

    value: float
    num_pairs: int
    num_pairs_total: int
    pairs: tuple[tuple[int, ...], ...] = ()
    pair_values: tuple[float, ...] = ()
    num_matches: tuple[int, ...] = ()
    groups: dict[str, float] = field(default_factory=dict)

    @property
    def defined(self) -> bool:
        """Whether at least one image pair gave an estimate (``value`` is then finite)."""
        return self.num_pairs > 0

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN stays NaN; ``json.dumps`` writes it as ``NaN``)."""
        return {**asdict(self), "defined": self.defined, "pairs": [list(p) for p in self.pairs]}


@dataclass(frozen=True, eq=False)
class PoseRecovery:
    """Camera poses recovered from consecutive frames (:func:`camera_pose_recovery`).

    Attributes:
        success_rate: fraction of consecutive frame pairs whose relative pose was recovered.
        num_pairs: recovered pairs; ``num_pairs_total``: ``T - 1``.
        rotations: float64 ``[T, 3, 3]`` camera-to-world rotations (world = the first camera; NaN from the
            first failed pair on).
        positions: float64 ``[T, 3]`` camera centres in the first camera's frame. Two views fix a translation
            only up to scale, so every step has unit length: the trajectory's shape and directions are
            meaningful, its scale is not.
        relative_rotations: ``[T - 1, 3, 3]``, ``R`` with ``X_{t+1} = R X_t + t`` (points in camera
            coordinates), NaN where not recovered.
        relative_translations: ``[T - 1, 3]`` unit ``t`` of the same relation, NaN where not recovered.
        num_inliers: points passing RANSAC and the cheirality check, per pair.
        intrinsics: the ``[3, 3]`` camera matrix used.
    """

    success_rate: float
    num_pairs: int
    num_pairs_total: int
    rotations: np.ndarray
    positions: np.ndarray
    relative_rotations: np.ndarray
    relative_translations: np.ndarray
    num_inliers: tuple[int, ...]
    intrinsics: np.ndarray

    @property
    def defined(self) -> bool:
        """Whether the video had at least one frame pair to try (``T >= 2``)."""
        return self.num_pairs_total > 0

    @property
    def success(self) -> bool:
        """Every consecutive pair recovered: the whole trajectory is registered (the paper's per-video success;
        its success rate is the mean of this over videos)."""
        return self.defined and self.num_pairs == self.num_pairs_total

    def to_dict(self) -> dict:
        return {
            "success": self.success,
            "success_rate": self.success_rate,
            "defined": self.defined,
            "num_pairs": self.num_pairs,
            "num_pairs_total": self.num_pairs_total,
            "num_inliers": list(self.num_inliers),
            "positions": self.positions.tolist(),
            "rotations": self.rotations.tolist(),
            "intrinsics": self.intrinsics.tolist(),
        }


# ------------------------------------------------------------------------------------------------ inputs


def _float_frames(array: np.ndarray, name: str) -> np.ndarray:
    """float ``[3, T, H, W]`` in [-1, 1] -> uint8 ``[T, H, W, 3]`` (rounded to the nearest 8-bit level)."""
    if not np.isfinite(array).all():
        raise ShapeError(f"{name} contains NaN or inf")
    low, high = float(array.min(initial=0.0)), float(array.max(initial=0.0))
    if low < -1.001 or high > 1.001:
        raise ShapeError(f"{name} values must lie in [-1, 1], got [{low:.4g}, {high:.4g}]")
    levels = np.rint((np.clip(array, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    return np.ascontiguousarray(levels.transpose(1, 2, 3, 0))  # [3, T, H, W] -> [T, H, W, 3]


def _videos(video: torch.Tensor | np.ndarray, name: str = "video") -> tuple[list[np.ndarray], bool]:
    """Validate a video and return its uint8 ``[T, H, W, 3]`` frames, one array per video, and whether the
    input was a batch ``[B, 3, T, H, W]``.

    Raises:
        ShapeError: not a tensor/array, a layout other than float ``[3, T, H, W]`` / ``[B, 3, T, H, W]`` or
            uint8 ``[T, H, W, 3]``, another dtype, NaN/inf, or float values outside ``[-1, 1]``.
    """
    if isinstance(video, torch.Tensor):
        video = (
            video.detach().cpu().float().numpy()
            if video.is_floating_point()
            else video.detach().cpu().numpy()
        )
    if not isinstance(video, np.ndarray):
        raise ShapeError(f"{name} must be a torch.Tensor or numpy array, got {type(video).__name__}")
    layouts = "float [3, T, H, W] / [B, 3, T, H, W] in [-1, 1] or uint8 [T, H, W, 3]"
    if video.dtype == np.uint8:
        if video.ndim != 4 or video.shape[-1] != 3:
            raise ShapeError(f"uint8 {name} must be frames [T, H, W, 3], got shape {video.shape} ({layouts})")
        return [np.ascontiguousarray(video)], False
    if not np.issubdtype(video.dtype, np.floating):
        raise ShapeError(f"{name} must be {layouts}, got dtype {video.dtype}")
    if video.ndim == 4 and video.shape[0] == 3:
        return [_float_frames(video, name)], False
    if video.ndim == 5 and video.shape[1] == 3:
        return [_float_frames(v, f"{name}[{b}]") for b, v in enumerate(video)], True
    raise ShapeError(f"{name} must be {layouts}, got float shape {video.shape}")


# --------------------------------------------------------------------------------- features and matching


@dataclass(frozen=True, eq=False)
class _Features:
    points: np.ndarray  # float32 [N, 2] pixel (x, y)
    descriptors: np.ndarray | None  # float32 [N, 128]


def _sift(frame: np.ndarray) -> _Features:
    """SIFT keypoints of one uint8 ``[H, W, 3]`` RGB frame (OpenCV defaults, all keypoints)."""
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    keypoints, descriptors = cv2.SIFT_create().detectAndCompute(grey, None)
    points = np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2)
    return _Features(points, descriptors)


def _match(a: _Features, b: _Features, ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowe's ratio test on two-nearest-neighbour L2 matches: ``(points_a [M, 2], points_b [M, 2])``."""
    if a.descriptors is None or b.descriptors is None or len(a.points) < 2 or len(b.points) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(a.descriptors, b.descriptors, k=2)
    good = [m[0] for m in pairs if len(m) == 2 and m[0].distance < ratio * m[1].distance]
    index_a = np.array([m.queryIdx for m in good], np.int64)
    index_b = np.array([m.trainIdx for m in good], np.int64)
    return a.points[index_a].reshape(-1, 2), b.points[index_b].reshape(-1, 2)


def match_features(
    frame_a: np.ndarray, frame_b: np.ndarray, *, ratio: float = RATIO
) -> tuple[np.ndarray, np.ndarray]:
    """SIFT matches between two uint8 RGB frames ``[H, W, 3]`` after Lowe's ratio test.

    Returns:
        ``(points_a, points_b)``: float32 ``[M, 2]`` pixel coordinates ``(x, y)`` of the matched keypoints.
    """
    return _match(_sift(frame_a), _sift(frame_b), ratio)


# ------------------------------------------------------------------------------------------- epipolar maths


def sampson_distances(fundamental: np.ndarray, points0: np.ndarray, points1: np.ndarray) -> np.ndarray:
    """Sampson distance in pixels of each match under ``x1^T F x0 = 0`` (Hartley & Zisserman eq. 11.9).

        d = |x1^T F x0| / sqrt((F x0)_1^2 + (F x0)_2^2 + (F^T x1)_1^2 + (F^T x1)_2^2)

    the square root of the first-order approximation of the squared reprojection error.

    Args:
        fundamental: ``[3, 3]``, mapping points of image 0 to epipolar lines of image 1.
        points0, points1: ``[M, 2]`` pixel coordinates ``(x, y)``.

    Returns:
        float64 ``[M]`` distances in pixels.
    """
    f = np.asarray(fundamental, np.float64)
    x0 = np.concatenate([np.asarray(points0, np.float64), np.ones((len(points0), 1))], axis=1)  # [M, 3]
    x1 = np.concatenate([np.asarray(points1, np.float64), np.ones((len(points1), 1))], axis=1)
    line1 = x0 @ f.T  # [M, 3]: F x0, epipolar lines in image 1
    line0 = x1 @ f  # [M, 3]: F^T x1, epipolar lines in image 0
    algebraic = np.sum(x1 * line1, axis=1)
    gradient = line1[:, 0] ** 2 + line1[:, 1] ** 2 + line0[:, 0] ** 2 + line0[:, 1] ** 2
    return np.abs(algebraic) / np.sqrt(np.maximum(gradient, 1e-300))


def _fundamental(points0: np.ndarray, points1: np.ndarray, threshold: float) -> np.ndarray | None:
    """RANSAC fundamental matrix ``F`` with ``x1^T F x0 = 0``, or ``None`` when OpenCV finds none."""
    matrix, _ = cv2.findFundamentalMat(points0, points1, cv2.FM_RANSAC, threshold, RANSAC_CONFIDENCE)
    if matrix is None or matrix.shape != (3, 3) or not np.isfinite(matrix).all():
        return None
    return matrix


def _pair_error(
    points0: np.ndarray, points1: np.ndarray, *, min_matches: int, threshold: float
) -> np.ndarray | None:
    """Sampson distances (pixels) of all matches of one image pair, or ``None`` when undefined."""
    if len(points0) < max(min_matches, 8):
        return None
    fundamental = _fundamental(points0, points1, threshold)
    return None if fundamental is None else sampson_distances(fundamental, points0, points1)


def _median(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


# ------------------------------------------------------------------------------------------ Sampson error


def _frame_pairs_error(
    features: list[_Features],
    pairs: list[tuple[int, int]],
    *,
    ratio: float,
    min_matches: int,
    threshold: float,
) -> tuple[list[float], list[int]]:
    values, counts = [], []
    for t0, t1 in pairs:
        points0, points1 = _match(features[t0], features[t1], ratio)
        errors = _pair_error(points0, points1, min_matches=min_matches, threshold=threshold)
        values.append(math.nan if errors is None else float(np.median(errors)))
        counts.append(len(points0))
    return values, counts


def _sampson_one(
    frames: np.ndarray, frame_gap: int, ratio: float, min_matches: int, threshold: float
) -> SampsonResult:
    features = [_sift(frame) for frame in frames]
    pairs = [(t, t + frame_gap) for t in range(len(frames) - frame_gap)]
    values, counts = _frame_pairs_error(
        features, pairs, ratio=ratio, min_matches=min_matches, threshold=threshold
    )
    defined = sum(math.isfinite(v) for v in values)
    return SampsonResult(_median(values), defined, len(pairs), tuple(pairs), tuple(values), tuple(counts))


def sampson_error(
    video: torch.Tensor | np.ndarray,
    *,
    frame_gap: int = 1,
    ratio: float = RATIO,
    min_matches: int = MIN_MATCHES,
    ransac_threshold: float = RANSAC_THRESHOLD,
) -> SampsonResult | list[SampsonResult]:
    """Median Sampson error (pixels) of a video's frame pairs: the paper's geometric-consistency metric.

    **Pairs**: frames ``(t, t + frame_gap)`` for ``t = 0 .. T - 1 - frame_gap``; with the default ``frame_gap``
    1, every pair of consecutive frames. Each pair gets its own RANSAC fundamental matrix (the camera moves);
    its value is the median Sampson distance of all its ratio-test matches (module docstring, steps 1-4).
    **Value**: the median over the defined pairs. Lower is more consistent; the paper reports 0.355 px for
    Cosmos-1.0 Diffusion Text2World 7B, 0.431 px for real videos and 0.841 px for VideoLDM.

    Args:
        video: one video (float ``[3, T, H, W]`` in [-1, 1] or uint8 ``[T, H, W, 3]``), or a batch
            ``[B, 3, T, H, W]``.
        frame_gap: frames between the two images of a pair (>= 1).
        ratio: Lowe's ratio-test threshold. min_matches: matches a pair needs to be defined (>= 8).
        ransac_threshold: RANSAC inlier distance to the epipolar line, pixels.

    Returns:
        a :class:`SampsonResult` (``pairs`` are ``(t0, t1)``), or a list of them for a batch. Fewer than
        ``frame_gap + 1`` frames, or too few features: ``defined`` False and ``value`` NaN.

    Raises:
        ShapeError: see the module docstring. ValueError: ``frame_gap < 1`` or ``min_matches < 8``.
    """
    _check_options(frame_gap, min_matches)
    videos, batched = _videos(video)
    results = [_sampson_one(frames, frame_gap, ratio, min_matches, ransac_threshold) for frames in videos]
    return results if batched else results[0]


def _check_options(frame_gap: int, min_matches: int) -> None:
    if isinstance(frame_gap, bool) or not isinstance(frame_gap, int) or frame_gap < 1:
        raise ValueError(f"frame_gap must be an int >= 1, got {frame_gap!r}")
    if min_matches < 8:
        raise ValueError(f"min_matches must be >= 8 (the 8-point algorithm), got {min_matches}")


# ------------------------------------------------------------------------------------------ multi-view


def _views(views: torch.Tensor | np.ndarray) -> list[np.ndarray]:
    """``[V, 3, T, H, W]`` float in [-1, 1] (or uint8 ``[V, T, H, W, 3]``) -> V uint8 ``[T, H, W, 3]``."""
    if isinstance(views, torch.Tensor):
        views = views.detach().cpu()
        views = views.float().numpy() if views.is_floating_point() else views.numpy()
    if isinstance(views, np.ndarray) and views.dtype == np.uint8:
        if views.ndim != 5 or views.shape[-1] != 3:
            raise ShapeError(f"uint8 views must be [V, T, H, W, 3], got shape {tuple(views.shape)}")
        return [_videos(view, f"views[{v}]")[0][0] for v, view in enumerate(views)]
    if not isinstance(views, np.ndarray) or views.ndim != 5 or views.shape[1] != 3:
        shape = tuple(getattr(views, "shape", ())) or type(views).__name__
        raise ShapeError(
            f"views must be float [V, 3, T, H, W] in [-1, 1] (one video per camera), got {shape}"
        )
    frames, _ = _videos(views, "views")
    if len(frames) < 1:
        raise ShapeError("views must hold at least one view")
    return frames


def temporal_sampson_error(
    views: torch.Tensor | np.ndarray,
    *,
    ratio: float = RATIO,
    min_matches: int = MIN_MATCHES,
    ransac_threshold: float = RANSAC_THRESHOLD,
) -> SampsonResult:
    """Temporal Sampson error (TSE) of a multi-view video, the NVIDIA Cosmos cookbook protocol.

    **Pairs**: within each view ``v``, consecutive frames ``(t, t + 1)``, each with its own RANSAC fundamental
    matrix; a pair's value is its median Sampson distance (pixels). Per view: the median over its frame pairs
    (``groups["view v"]``). **Value**: the mean over views with a defined value. The paper's multi-view table
    reports TSE 0.68 (Cosmos MultiView) against 0.69 for real videos and 1.24 for VideoLDM-MultiView.

    Args:
        views: ``[V, 3, T, H, W]`` float in [-1, 1] (or uint8 ``[V, T, H, W, 3]``), one video per camera.

    Returns:
        a :class:`SampsonResult` whose ``pairs`` are ``(view, t0, t1)``.
    """
    _check_options(1, min_matches)
    videos = _views(views)
    pairs, values, counts, groups = [], [], [], {}
    for view, frames in enumerate(videos):
        features = [_sift(frame) for frame in frames]
        frame_pairs = [(t, t + 1) for t in range(len(frames) - 1)]
        view_values, view_counts = _frame_pairs_error(
            features, frame_pairs, ratio=ratio, min_matches=min_matches, threshold=ransac_threshold
        )
        pairs += [(view, t0, t1) for t0, t1 in frame_pairs]
        values += view_values
        counts += view_counts
        groups[f"view {view}"] = _median(view_values)
    return _grouped_result(pairs, values, counts, groups)


def _grouped_result(
    pairs: list, values: list[float], counts: list[int], groups: dict[str, float]
) -> SampsonResult:
    finite = [v for v in groups.values() if math.isfinite(v)]
    value = float(np.mean(finite)) if finite else math.nan
    defined = sum(math.isfinite(v) for v in values)
    return SampsonResult(value, defined, len(values), tuple(pairs), tuple(values), tuple(counts), groups)


def cross_view_sampson_error(
    views: torch.Tensor | np.ndarray,
    *,
    view_pairs: Sequence[tuple[int, int]] | None = None,
    ratio: float = RATIO,
    min_matches: int = MIN_MATCHES,
    ransac_threshold: float = RANSAC_THRESHOLD,
) -> SampsonResult:
    """Cross-view Sampson error (CSE) of a multi-view video, the NVIDIA Cosmos cookbook protocol.

    **Pairs**: for each view pair ``(a, b)`` (default: neighbours ``(v, v + 1)``; the cookbook uses front with
    cross-left and front with cross-right), the frames of ``a`` and ``b`` at the same time ``t``, for every
    ``t``. The cameras are rigidly mounted, so one RANSAC fundamental matrix is fitted per view pair to the
    matches of all times pooled; each time's value is the median Sampson distance (pixels) of its matches under
    that matrix, the view pair's value (``groups["views a-b"]``) the median over times. **Value**: the mean
    over view pairs with a defined value. The paper reports CSE 2.11 (Cosmos MultiView) against 1.71 for real
    videos and 6.48 for VideoLDM-MultiView.

    Args:
        views: ``[V, 3, T, H, W]`` float in [-1, 1] (or uint8 ``[V, T, H, W, 3]``), one video per camera.
        view_pairs: the ``(a, b)`` view indices to compare.

    Returns:
        a :class:`SampsonResult` whose ``pairs`` are ``(view_a, view_b, t)``; a time with fewer than
        ``min_matches`` matches is undefined (NaN).

    Raises:
        ShapeError: bad layout, or a view index out of range.
    """
    _check_options(1, min_matches)
    videos = _views(views)
    count = len(videos)
    view_pairs = [(v, v + 1) for v in range(count - 1)] if view_pairs is None else list(view_pairs)
    for a, b in view_pairs:
        if not (0 <= a < count and 0 <= b < count) or a == b:
            raise ShapeError(f"view pair ({a}, {b}) is not two different views among {count}")
    features = [[_sift(frame) for frame in frames] for frames in videos]
    pairs, values, counts, groups = [], [], [], {}
    for a, b in view_pairs:
        matches = [_match(fa, fb, ratio) for fa, fb in zip(features[a], features[b])]
        time_values = _pooled_pair_values(matches, min_matches, ransac_threshold)
        pairs += [(a, b, t) for t in range(len(matches))]
        values += time_values
        counts += [len(p0) for p0, _ in matches]
        groups[f"views {a}-{b}"] = _median(time_values)
    return _grouped_result(pairs, values, counts, groups)


def _pooled_pair_values(
    matches: list[tuple[np.ndarray, np.ndarray]], min_matches: int, threshold: float
) -> list[float]:
    """One fundamental matrix for all times' matches pooled; the median Sampson distance of each time's
    matches (NaN for a time with fewer than ``min_matches``, all NaN when no matrix is found)."""
    usable = [(p0, p1) for p0, p1 in matches if len(p0) >= min_matches]
    if not usable:
        return [math.nan] * len(matches)
    fundamental = _fundamental(
        np.concatenate([p for p, _ in usable]), np.concatenate([p for _, p in usable]), threshold
    )
    if fundamental is None:
        return [math.nan] * len(matches)
    return [
        float(np.median(sampson_distances(fundamental, p0, p1))) if len(p0) >= min_matches else math.nan
        for p0, p1 in matches
    ]


# ------------------------------------------------------------------------------------------- camera poses


def default_intrinsics(height: int, width: int) -> np.ndarray:
    """A pinhole guess for a video of unknown camera: focal length ``1.2 * max(H, W)`` pixels (COLMAP's
    default prior, a horizontal field of view of about 45 degrees for a landscape frame), principal point at
    the image centre, square pixels, no skew. Returns float64 ``[3, 3]``."""
    focal = 1.2 * max(height, width)
    return np.array([[focal, 0.0, width / 2.0], [0.0, focal, height / 2.0], [0.0, 0.0, 1.0]])


def _relative_pose(
    points0: np.ndarray,
    points1: np.ndarray,
    intrinsics: np.ndarray,
    min_matches: int,
    min_inlier_ratio: float,
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """``(R, t, inliers)`` with ``X1 = R X0 + t`` (unit ``t``), or ``None`` when the pair does not register."""
    if len(points0) < max(min_matches, 8):
        return None
    essential, mask = cv2.findEssentialMat(
        points0, points1, intrinsics, method=cv2.RANSAC, prob=RANSAC_CONFIDENCE, threshold=RANSAC_THRESHOLD
    )
    if essential is None or essential.shape[0] < 3 or not np.isfinite(essential).all():
        return None
    inliers, rotation, translation, _ = cv2.recoverPose(
        essential[:3], points0, points1, intrinsics, mask=mask
    )
    if inliers < max(min_matches, min_inlier_ratio * len(points0)):
        return None
    return rotation, translation.reshape(3) / max(np.linalg.norm(translation), 1e-12), int(inliers)


def camera_pose_recovery(
    video: torch.Tensor | np.ndarray,
    intrinsics: np.ndarray | Sequence[Sequence[float]] | None = None,
    *,
    ratio: float = RATIO,
    min_matches: int = MIN_MATCHES,
    min_inlier_ratio: float = 0.5,
) -> PoseRecovery | list[PoseRecovery]:
    """Recover the camera trajectory of a video of a static scene from consecutive frames.

    **Pairs**: consecutive frames ``(t, t + 1)``. Each pair: ratio-test SIFT matches, an essential matrix by
    RANSAC (5-point, 1 px, confidence 0.999) with the camera matrix ``intrinsics``, then OpenCV's
    ``recoverPose`` (the decomposition whose points lie in front of both cameras). A pair **registers** when it
    has ``min_matches`` matches and at least ``max(min_matches, min_inlier_ratio * matches)`` of them pass
    RANSAC and the cheirality check. ``success_rate`` is the fraction of registered pairs; ``success`` (all
    pairs registered) is the per-video outcome whose mean over videos compares with the paper's pose-estimation
    success rate (62.6% for Cosmos-1.0 Diffusion Text2World 7B, 56.4% real videos, 4.4% VideoLDM; the paper
    registers whole videos with a structure-from-motion pipeline, this is its two-view, weight-free analogue).

    Args:
        video: as :func:`sampson_error` (a batch gives a list).
        intrinsics: ``[3, 3]`` pinhole camera matrix in pixels; ``None`` uses :func:`default_intrinsics`.

    Returns:
        a :class:`PoseRecovery` (trajectory with unit steps in the first camera's frame).

    Raises:
        ShapeError: bad video layout, or ``intrinsics`` not a finite ``[3, 3]`` matrix.
    """
    _check_options(1, min_matches)
    videos, batched = _videos(video)
    results = []
    for frames in videos:
        matrix = (
            default_intrinsics(*frames.shape[1:3]) if intrinsics is None else _check_intrinsics(intrinsics)
        )
        results.append(_poses_one(frames, matrix, ratio, min_matches, min_inlier_ratio))
    return results if batched else results[0]


def _check_intrinsics(intrinsics) -> np.ndarray:
    matrix = np.asarray(intrinsics, np.float64)
    if matrix.shape != (3, 3) or not np.isfinite(matrix).all() or matrix[0, 0] <= 0 or matrix[1, 1] <= 0:
        raise ShapeError(
            f"intrinsics must be a finite [3, 3] pinhole matrix with positive focal lengths, got {matrix}"
        )
    return matrix


def _poses_one(
    frames: np.ndarray, intrinsics: np.ndarray, ratio: float, min_matches: int, min_inlier_ratio: float
) -> PoseRecovery:
    count = len(frames)
    features = [_sift(frame) for frame in frames]
    relative_r = np.full((max(count - 1, 0), 3, 3), np.nan)
    relative_t = np.full((max(count - 1, 0), 3), np.nan)
    inliers = []
    for t in range(count - 1):
        pose = _relative_pose(
            *_match(features[t], features[t + 1], ratio), intrinsics, min_matches, min_inlier_ratio
        )
        if pose is not None:
            relative_r[t], relative_t[t] = pose[0], pose[1]
        inliers.append(0 if pose is None else pose[2])
    rotations, positions = _chain(relative_r, relative_t)
    registered = int(np.isfinite(relative_t[:, 0]).sum())
    rate = registered / (count - 1) if count > 1 else math.nan
    return PoseRecovery(rate, registered, max(count - 1, 0), rotations, positions, relative_r, relative_t,
                        tuple(inliers), intrinsics)  # fmt: skip


def _chain(relative_r: np.ndarray, relative_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compose relative poses into camera-to-world rotations ``[T, 3, 3]`` and centres ``[T, 3]``.

    World-to-camera ``X_k = R_k X_w + t_k`` with ``R_0 = I, t_0 = 0``; ``R_{k+1} = R R_k``,
    ``t_{k+1} = R t_k + t``; the camera centre is ``-R_k^T t_k``. NaN propagates past a failed pair.
    """
    count = len(relative_r) + 1
    world_to_camera, translation = np.eye(3), np.zeros(3)
    rotations, positions = np.empty((count, 3, 3)), np.empty((count, 3))
    rotations[0], positions[0] = np.eye(3), 0.0
    for k in range(count - 1):
        world_to_camera = relative_r[k] @ world_to_camera
        translation = relative_r[k] @ translation + relative_t[k]
        rotations[k + 1] = world_to_camera.T
        positions[k + 1] = -world_to_camera.T @ translation
    return rotations, positions
