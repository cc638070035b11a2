"""Object IoU of predicted physics videos: a documented, model-free tracking rule against simulator masks.

The Cosmos paper (section 5.3, physics alignment, Table 20) scores a predicted video of a physics scene by the
IoU of the tracked objects against the simulator's ground-truth masks ("Avg IoU"). It tracks with a learned
segmenter (SAMURAI); we use a rule with no weights that any reader can reproduce: each object's appearance is
taken from the **true last context frame**, where the simulator says which pixel belongs to which object, and
every pixel of every predicted frame is given the label of the nearest such prototype colour. A prediction that
moves an object where physics moves it gets that object's colour there and scores a high IoU; a blurred, frozen
or misplaced object does not. Running the rule on the true future frames gives its ceiling (below 1 where an
object shares its colour with the background, or is shaded differently as it turns).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from cosmos.core import ShapeError

__all__ = ["colour_labels", "object_iou", "track_objects"]

PROTOTYPES = 256


def colour_labels(
    frames: torch.Tensor, reference: torch.Tensor, reference_mask: np.ndarray, *, prototypes: int = PROTOTYPES
) -> np.ndarray:
    """The mask-tracking rule: a 1-nearest-neighbour colour classifier.

    Prototypes are up to ``prototypes`` (256) pixels of each label (0 = background, k = the k-th dynamic
    object) of ``reference`` under its simulator mask ``reference_mask``, taken at even strides through the
    label's pixels in raster order; every pixel of ``frames`` gets the label of its nearest prototype in RGB
    (Euclidean distance, ties to the first prototype).

    Args:
        frames: float ``[3, T, H, W]`` in [-1, 1], the frames to label.
        reference: float ``[3, H, W]`` in [-1, 1], the frame whose mask is known (the true last context frame).
        reference_mask: int ``[H, W]``, that frame's simulator labels.

    Returns:
        int64 ``[T, H, W]`` labels.

    Raises:
        ShapeError: ranks, channel counts or spatial sizes that do not fit together.
    """
    if frames.ndim != 4 or frames.shape[0] != 3 or reference.shape != (3, *frames.shape[2:]):
        raise ShapeError(
            f"colour_labels needs frames [3, T, H, W] and reference [3, H, W] of the same size, got "
            f"{tuple(frames.shape)} and {tuple(reference.shape)}"
        )
    if tuple(reference_mask.shape) != tuple(frames.shape[2:]):
        raise ShapeError(
            f"reference_mask is {tuple(reference_mask.shape)}, frames are {tuple(frames.shape[2:])}"
        )
    pixels = reference.float().permute(1, 2, 0).reshape(-1, 3)  # [3, H, W] -> [H*W, 3]
    flat = torch.from_numpy(np.asarray(reference_mask).reshape(-1).astype(np.int64))
    protos, labels = [], []
    for label in flat.unique().tolist():
        where = (flat == label).nonzero()[:, 0]
        where = where[torch.linspace(0, len(where) - 1, min(prototypes, len(where))).long()]
        protos.append(pixels[where])
        labels.append(torch.full((len(where),), label))
    protos, labels = torch.cat(protos), torch.cat(labels)
    _, count, height, width = frames.shape
    query = frames.float().permute(1, 2, 3, 0).reshape(-1, 3)  # [3, T, H, W] -> [T*H*W, 3]
    nearest = torch.cdist(query, protos).argmin(dim=1)
    return labels[nearest].reshape(count, height, width).numpy()


def object_iou(pred_labels: np.ndarray, true_masks: np.ndarray) -> float:
    """Mean IoU over dynamic objects (labels >= 1) and frames of labels ``[T, H, W]`` against the simulator's
    masks ``[T, H, W]``; an object absent from both in a frame is skipped. NaN when nothing is left (no
    dynamic object in view).

    Raises:
        ShapeError: the two label arrays differ in shape.
    """
    if pred_labels.shape != true_masks.shape:
        raise ShapeError(f"labels {pred_labels.shape} and masks {true_masks.shape} differ")
    ious: list[float] = []
    for k in range(1, int(true_masks.max(initial=0)) + 1):
        pred, true = pred_labels == k, true_masks == k
        union = (pred | true).sum(axis=(1, 2))
        inter = (pred & true).sum(axis=(1, 2))
        ious += (inter[union > 0] / union[union > 0]).tolist()
    return float(np.mean(ious)) if ious else math.nan


def track_objects(
    pred: torch.Tensor, true: torch.Tensor, masks: np.ndarray, context_frames: int
) -> list[float]:
    """Per-clip object IoU of predicted videos on their future frames ``context_frames ..``.

    Objects are tracked with :func:`colour_labels` fitted on the true last context frame
    ``true[b, :, context_frames - 1]`` and its mask, then scored with :func:`object_iou` against the
    simulator's masks of the same future frames.

    Args:
        pred, true: float ``[B, 3, T, H, W]`` in [-1, 1] (the predicted and the true clip).
        masks: int ``[B, T, H, W]`` simulator labels of the true clip.
        context_frames: ``T0 >= 1``, frames given to the model.

    Returns:
        ``B`` IoUs (NaN for a clip without a visible dynamic object).
    """
    if pred.shape != true.shape or tuple(masks.shape) != (true.shape[0], *true.shape[2:]):
        raise ShapeError(
            f"pred {tuple(pred.shape)}, true {tuple(true.shape)} and masks {masks.shape} do not fit"
        )
    if not 1 <= context_frames < true.shape[2]:
        raise ShapeError(f"context_frames must be in [1, {true.shape[2] - 1}], got {context_frames}")
    out = []
    for b in range(pred.shape[0]):
        reference = true[b, :, context_frames - 1]
        labels = colour_labels(pred[b, :, context_frames:], reference, masks[b, context_frames - 1])
        out.append(object_iou(labels, np.asarray(masks[b, context_frames:])))
    return out
