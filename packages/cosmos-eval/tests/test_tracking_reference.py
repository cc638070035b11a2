"""The object-IoU tracking rule of cosmos.eval gives the same numbers as the implementation it replaced.

``_reference_physics_iou`` is the pre-cosmos-eval code of ``examples/nano_eval.py`` (``quantize``,
``colour_labels``, ``object_iou``, ``physics_iou`` as of commit f628458, which produced the README's physics
rows), kept verbatim here as the regression reference: ``benchmarks/quality.py`` now scores through
:func:`cosmos.eval.track_objects` / :func:`cosmos.eval.physics_alignment`, and its IoU column must not move.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cosmos.core import frames_to_video
from cosmos.eval import PhysicsEpisode, physics_alignment, quantize, track_objects

from .conftest import ToyWorldModel

# ------------------------------------------------------------------ the old examples/nano_eval.py code (reference)


def _reference_quantize(video: torch.Tensor) -> torch.Tensor:
    return ((video.clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1


def _reference_colour_labels(
    frames: torch.Tensor, reference: torch.Tensor, reference_mask: np.ndarray
) -> np.ndarray:
    pixels = reference.permute(1, 2, 0).reshape(-1, 3)
    flat = torch.from_numpy(reference_mask.reshape(-1).astype(np.int64))
    protos, labels = [], []
    for label in flat.unique().tolist():
        where = (flat == label).nonzero()[:, 0]
        where = where[torch.linspace(0, len(where) - 1, min(256, len(where))).long()]
        protos.append(pixels[where])
        labels.append(torch.full((len(where),), label))
    protos, labels = torch.cat(protos), torch.cat(labels)
    c, t, h, w = frames.shape
    query = frames.permute(1, 2, 3, 0).reshape(-1, 3)
    nearest = torch.cdist(query, protos).argmin(dim=1)
    return labels[nearest].reshape(t, h, w).numpy()


def _reference_object_iou(pred_labels: np.ndarray, true_masks: np.ndarray) -> float:
    ious = []
    for k in range(1, int(true_masks.max()) + 1):
        p, t = pred_labels == k, true_masks == k
        union = (p | t).sum(axis=(1, 2))
        inter = (p & t).sum(axis=(1, 2))
        ious += (inter[union > 0] / union[union > 0]).tolist()
    return float(np.mean(ious)) if ious else float("nan")


def _reference_physics_iou(
    pred: torch.Tensor, true: torch.Tensor, masks: np.ndarray, context: int
) -> list[float]:
    out = []
    for b in range(pred.shape[0]):
        labels = _reference_colour_labels(
            _reference_quantize(pred[b, :, context:]), true[b, :, context - 1], masks[b, context - 1]
        )
        out.append(_reference_object_iou(labels, masks[b, context:]))
    return out


# ------------------------------------------------------------------------------------------ synthetic clips


def _clips(count: int = 3, frames: int = 6, size: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """uint8 ``[N, T, H, W, 3]`` clips of two coloured squares (a falling one and a sliding one, both shaded by
    noise) over a noisy grey background, and their masks int64 ``[N, T, H, W]`` (0 background, 1 and 2)."""
    rng = np.random.default_rng(7)
    video = np.zeros((count, frames, size, size, 3), np.uint8)
    masks = np.zeros((count, frames, size, size), np.int64)
    for n in range(count):
        colours = rng.integers(0, 256, (2, 3))
        for t in range(frames):
            image = np.clip(90 + rng.normal(0, 12, (size, size, 3)), 0, 255)
            for k, (y, x) in enumerate(((2 + 3 * t, 4 + n), (15, 1 + 2 * t + n)), start=1):
                image[y : y + 5, x : x + 5] = np.clip(colours[k - 1] + rng.normal(0, 10, (5, 5, 3)), 0, 255)
                masks[n, t, y : y + 5, x : x + 5] = k
            video[n, t] = np.rint(image).astype(np.uint8)
    return video, masks


def _predictions(true: torch.Tensor) -> dict[str, torch.Tensor]:
    """Float predictions off the 8-bit grid: noisy truth, objects shifted 1 px, a blur, the frozen last frame."""
    gen = torch.Generator().manual_seed(0)
    return {
        "noisy": (true + 0.05 * torch.randn(true.shape, generator=gen)).clamp(-1, 1),
        "shifted": torch.roll(true, shifts=1, dims=4),
        "blurred": torch.nn.functional.avg_pool3d(true, (1, 3, 3), stride=1, padding=(0, 1, 1)),
        "frozen": true[:, :, :1].expand_as(true).clone(),
    }


@pytest.mark.parametrize("context", [1, 2])
def test_track_objects_matches_the_old_nano_eval_rule(context):
    frames, masks = _clips()
    true = frames_to_video(frames)
    for name, pred in _predictions(true).items():
        old = _reference_physics_iou(pred, true, masks, context)
        new = track_objects(quantize(pred), true, masks, context)
        assert new == old, name  # the same labels, hence bit-identical IoUs
        assert 0 < np.mean(new) <= 1
    # the rule on the truth itself (the benchmark's ceiling row)
    assert track_objects(true, true, masks, context) == _reference_physics_iou(true, true, masks, context)


def test_physics_alignment_iou_matches_the_old_rule():
    """Through the protocol (a world model that predicts the noisy truth): the per-clip IoUs and their mean."""
    frames, masks = _clips()
    true = frames_to_video(frames)
    pred = _predictions(true)["noisy"]
    table_of = {frames[n, 0].tobytes(): pred[n] for n in range(len(frames))}

    def future(video, actions, count):
        first = ((video[:, :, 0] + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        return torch.stack([table_of[f.tobytes()][:, video.shape[2] : video.shape[2] + count] for f in first])

    model = ToyWorldModel(future, resolution=(24, 24), action_dim=0, context_frames=(1,), chunk_frames=6)
    clips = [PhysicsEpisode(frames[n], masks[n], f"scene{n}", n) for n in range(len(frames))]
    table = physics_alignment(model, 1, clips, baselines=False, name="toy")
    rows = {row["scene"]: row["iou"] for row in table.rows}
    old = _reference_physics_iou(pred, true, masks, 1)
    assert [rows[f"scene{n}"] for n in range(len(frames))] == pytest.approx(old, abs=1e-12)
    assert rows["all"] == pytest.approx(float(np.mean(old)), abs=1e-12)
