"""cosmos.eval: the Cosmos paper's evaluation (arXiv 2501.03575, section 5) for any world model or video file.

* 3D consistency without learned weights (:mod:`cosmos.eval.geometry`): :func:`sampson_error`,
  :func:`camera_pose_recovery`, and the multi-view :func:`temporal_sampson_error` (TSE) and
  :func:`cross_view_sampson_error` (CSE).
* Protocols on any :class:`cosmos.core.WorldModel` (:mod:`cosmos.eval.protocols`): :func:`physics_alignment`
  (the eight physics scenes; object IoU by the model-free rule of :mod:`cosmos.eval.tracking`),
  :func:`action_following` and :func:`consistency_3d` (generated static scenes); each returns an :class:`EvalTable` (markdown when printed, JSON when saved).
* Learned metrics, weights loaded from their published layout: :class:`LPIPS` (AlexNet / VGG16) and FID
  (:class:`FIDInception`, :func:`frechet_inception_distance`, :func:`frechet_distance`) and FVD
  (:class:`I3D`, :func:`frechet_video_distance`).

See docs/eval.md for what each metric means, its units, the image pairs it uses and the paper's numbers.
"""

from cosmos.eval.episodes import (
    HELDOUT_SEED0,
    ActionEpisode,
    PhysicsEpisode,
    action_episodes,
    physics_episodes,
    simulated_robot_episodes,
)
from cosmos.eval.fid import FIDInception, feature_statistics, frechet_distance, frechet_inception_distance
from cosmos.eval.fvd import I3D, frechet_video_distance
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
from cosmos.eval.lpips import LPIPS
from cosmos.eval.protocols import (
    action_following,
    check_world_model,
    consistency_3d,
    future_scores,
    physics_alignment,
    quantize,
    repeat_last_frame,
    rollout_future,
)
from cosmos.eval.table import EvalTable
from cosmos.eval.tracking import colour_labels, object_iou, track_objects

__version__ = "0.1.0"

__all__ = [
    "HELDOUT_SEED0",
    "ActionEpisode",
    "EvalTable",
    "FIDInception",
    "I3D",
    "LPIPS",
    "PhysicsEpisode",
    "PoseRecovery",
    "SampsonResult",
    "action_episodes",
    "action_following",
    "camera_pose_recovery",
    "check_world_model",
    "colour_labels",
    "consistency_3d",
    "cross_view_sampson_error",
    "default_intrinsics",
    "feature_statistics",
    "frechet_distance",
    "frechet_inception_distance",
    "frechet_video_distance",
    "future_scores",
    "match_features",
    "object_iou",
    "physics_alignment",
    "physics_episodes",
    "quantize",
    "repeat_last_frame",
    "rollout_future",
    "sampson_distances",
    "sampson_error",
    "simulated_robot_episodes",
    "temporal_sampson_error",
    "track_objects",
]
