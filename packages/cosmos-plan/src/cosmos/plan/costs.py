"""Goal costs for planners: distance to a goal image in the tokenizer's latent space or in pixels.

A cost is any callable ``cost(predicted: WorldState, goal) -> float [N]`` (lower is better) over the ``N``
predicted roll-outs of a :class:`~cosmos.core.WorldState`; user callables with that signature plug into
:func:`cosmos.plan.plan` unchanged. The library's two costs compare the **last predicted frame** with a
:class:`Goal` made once by :func:`make_goal`.

Latent space and causal tokenizers: a causal video tokenizer encodes a single image as a "first frame" latent
(latent frame 0 covers one pixel frame), while a predicted chunk's last latent frame covers
``temporal_compression`` frames (and may cover padding). The two are not comparable. So
:class:`LatentDistanceCost` decodes the predicted state, re-encodes its last pixel frame as a one-frame clip
(exactly as the goal image was encoded) and compares the two image latents: the V-JEPA 2-AC recipe (L1 between
the goal's and the prediction's features, arXiv 2506.09985 section 4) with like-for-like encodings. For a
state whose chunks are per-frame (``temporal_compression == 1``, e.g. :class:`cosmos.plan.SimulatorWorldModel`)
the last latent frame is already an image latent and is compared directly, without decoding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from cosmos.core import Latent, TokenGrid, WorldModel, WorldState, check_video
from cosmos.plan.errors import GoalError

__all__ = ["Goal", "LatentDistanceCost", "PixelDistanceCost", "encode_frame", "image_to_tensor", "make_goal"]


@dataclass(frozen=True, eq=False)
class Goal:
    """A goal observation prepared for a world model.

    Attributes:
        image: float32 ``[1, 3, H, W]`` in ``[-1, 1]`` at the model's resolution.
        latent: the image encoded as a one-frame clip by the model's tokenizer (``None`` if not encoded).
        info: anything else a user cost wants (e.g. a goal position in metres); never used by the library costs.
    """

    image: torch.Tensor
    latent: Latent | TokenGrid | None = None
    info: dict[str, Any] = field(default_factory=dict)


def image_to_tensor(image: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A frame as float32 ``[1, 3, H, W]`` in ``[-1, 1]``.

    Accepts uint8 ``[H, W, 3]`` (numpy or torch, the simulator's and video files' layout) or float
    ``[3, H, W]`` / ``[1, 3, H, W]`` already in ``[-1, 1]``.

    Raises:
        GoalError: any other layout or dtype.
    """
    tensor = torch.as_tensor(np.ascontiguousarray(image) if isinstance(image, np.ndarray) else image)
    if tensor.dtype == torch.uint8:
        if tensor.ndim != 3 or tensor.shape[-1] != 3:
            raise GoalError(f"a uint8 goal image must be [H, W, 3], got shape {tuple(tensor.shape)}")
        return (tensor.permute(2, 0, 1)[None].float() / 127.5 - 1.0).contiguous()
    if tensor.ndim == 3:
        tensor = tensor[None]
    if tensor.ndim != 4 or tensor.shape[:2] != (1, 3) or not tensor.is_floating_point():
        raise GoalError(f"a float goal image must be [1, 3, H, W] in [-1, 1], got {tuple(tensor.shape)}")
    return tensor.float()


def encode_frame(world_model: WorldModel, image: torch.Tensor) -> Latent | TokenGrid:
    """Encode frames ``[N, 3, H, W]`` as one-frame clips with the model's tokenizer (image latents)."""
    with torch.no_grad():
        return world_model.tokenizer.encode(image[:, :, None])


def make_goal(
    world_model: WorldModel, image: np.ndarray | torch.Tensor, *, encode: bool = True, **info: Any
) -> Goal:
    """Prepare a goal image for ``world_model``: check its resolution, encode it once.

    Args:
        image: see :func:`image_to_tensor`.
        encode: also encode it (needed by :class:`LatentDistanceCost`).
        info: stored in :attr:`Goal.info`.

    Raises:
        GoalError: a layout :func:`image_to_tensor` rejects, or a resolution other than
            ``world_model.resolution`` (resize with :func:`cosmos.core.resize_video` first).
    """
    tensor = image_to_tensor(image)
    if tuple(tensor.shape[-2:]) != tuple(world_model.resolution):
        height, width = world_model.resolution
        raise GoalError(
            f"the goal image is {tensor.shape[-2]}x{tensor.shape[-1]}, the world model works at {height}x{width} "
            "(resize it with cosmos.core.resize_video first)"
        )
    check_video(tensor, name="goal image", ndim=4)
    latent = encode_frame(world_model, tensor) if encode else None
    return Goal(tensor, latent, dict(info))


def _values(code: Latent | TokenGrid) -> torch.Tensor:
    """The comparable float values of an encoding, ``[B, C, ...]`` (FSQ codes for a TokenGrid with codes)."""
    if isinstance(code, Latent):
        return code.z.float()
    if code.codes is not None:
        return code.codes.float()
    return code.indices[:, None].float()


def _distance(a: torch.Tensor, b: torch.Tensor, p: int, pools: tuple[int, ...] = (1,)) -> torch.Tensor:
    """Mean ``|a - b|^p`` per row, summed over average-pooled copies: ``[N, C, (1,) h, w]`` against
    ``[1, C, (1,) h, w]`` -> ``[N]``.

    Pool ``k`` averages ``k x k`` windows (stride ``k / 2``) first (``k`` larger than the image shrinks to the whole image); coarse
    pools give a cost that still decreases when the moved object does not yet overlap its goal position
    (a Gaussian-pyramid-like basin of attraction; pool 1 alone is the plain distance).
    """
    if a.ndim == 5:  # [N, C, 1, h, w] one-frame latents
        a, b = a[:, :, -1], b[:, :, -1]
    total = torch.zeros(a.shape[0], dtype=torch.float32, device=a.device)
    for pool in pools:
        kernel = max(1, min(pool, a.shape[-2], a.shape[-1]))
        stride = max(1, kernel // 2)  # half-overlapping windows: no blind spot at block borders
        pa = torch.nn.functional.avg_pool2d(a.float(), kernel, stride) if kernel > 1 else a.float()
        pb = torch.nn.functional.avg_pool2d(b.float(), kernel, stride) if kernel > 1 else b.float()
        total = total + (pa - pb.to(pa.device)).abs().pow(p).flatten(1).mean(1)
    return total


@dataclass(frozen=True)
class LatentDistanceCost:
    """Distance between the last predicted frame and the goal image in the tokenizer's latent space.

    Attributes:
        world_model: the model whose tokenizer re-encodes the predicted frame (see the module docstring).
        p: 1 (mean absolute difference, V-JEPA 2-AC's L1) or 2 (mean squared difference).
        pools: average-pooling factors over the latent grid whose distances are summed (``(1,)``: plain).

    For a discrete tokenizer without codes the distance is the fraction of differing tokens.
    """

    world_model: WorldModel
    p: int = 1
    pools: tuple[int, ...] = (1,)

    def __post_init__(self) -> None:
        if self.p not in (1, 2):
            raise ValueError(f"p must be 1 or 2, got {self.p!r}")

    def __call__(self, predicted: WorldState, goal: Goal) -> torch.Tensor:
        """float32 ``[N]`` distances of the ``N`` roll-outs of ``predicted`` to ``goal.latent``."""
        if goal.latent is None:
            raise GoalError(
                "this goal was made with encode=False; LatentDistanceCost needs make_goal(..., encode=True)"
            )
        last = predicted.last
        if last.temporal_compression == 1 and type(last) is type(goal.latent):
            mine = _values(last)[:, :, -1:]  # [N, C, 1, h, w]: the last latent frame is the last pixel frame
        else:
            frames = self.world_model.decode(predicted)[:, :, -1].clamp(-1, 1)  # [N, 3, H, W]
            mine = _values(encode_frame(self.world_model, frames))
        theirs = _values(goal.latent)
        if isinstance(goal.latent, TokenGrid) and goal.latent.codes is None:
            return (mine != theirs).flatten(1).float().mean(1)
        return _distance(mine, theirs, self.p, self.pools)


@dataclass(frozen=True)
class PixelDistanceCost:
    """Distance between the decoded last predicted frame and the goal image, in pixels (``[-1, 1]`` units).

    Attributes:
        world_model: the model that decodes the prediction.
        p: 1 (mean absolute difference) or 2 (mean squared difference).
        pools: average-pooling factors whose distances are summed, e.g. ``(1, 8, 32)`` for a wide basin of
            attraction (``(1,)``: the plain distance).
    """

    world_model: WorldModel
    p: int = 1
    pools: tuple[int, ...] = (1,)

    def __post_init__(self) -> None:
        if self.p not in (1, 2):
            raise ValueError(f"p must be 1 or 2, got {self.p!r}")

    def __call__(self, predicted: WorldState, goal: Goal) -> torch.Tensor:
        """float32 ``[N]`` distances of the ``N`` roll-outs' last decoded frames to ``goal.image``."""
        frames = self.world_model.decode(predicted)[:, :, -1].clamp(-1, 1)  # [N, 3, H, W]
        return _distance(frames.float(), goal.image.to(frames.device), self.p, self.pools)
