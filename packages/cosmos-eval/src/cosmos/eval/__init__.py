"""cosmos.eval: the Cosmos paper's evaluation (arXiv 2501.03575, section 5) for any world model or video file.

* 3D consistency without learned weights (:mod:`cosmos.eval.geometry`): :func:`sampson_error`,
  :func:`camera_pose_recovery`, and the multi-view :func:`temporal_sampson_error` (TSE) and
  :func:`cross_view_sampson_error` (CSE).

See docs/eval.md for what each metric means, its units, the image pairs it uses and the paper's numbers.
"""

from cosmos.eval.geometry import (
    PoseRecovery,
    SampsonResult,
    camera_pose_recovery,
    cross_view_sampson_error,
    default_intrinsics,
    match_features,
    sampson_distances,
    sampson_error,
    temporal_sampson_error,
)

__version__ = "0.1.0"

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
