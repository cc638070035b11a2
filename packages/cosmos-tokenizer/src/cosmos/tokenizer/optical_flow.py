"""Dense optical flow for the tokenizer's flow loss (spec §11).

NVIDIA's training uses RAFT-large from torchvision. torchvision has no CPU wheel here and the loss only needs
flows that react to motion errors, so the default estimator is a differentiable dense Lucas-Kanade solver
(Lucas & Kanade 1981): per pixel, the 2x2 least-squares system of the brightness-constancy equations
``Ix*u + Iy*v + It = 0`` over a box window, with Tikhonov regularisation. Any callable with the same signature
(e.g. a RAFT wrapper) can be passed to :class:`cosmos.tokenizer.losses.FlowLoss` instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _gray(frames: Tensor) -> Tensor:
    return frames.mean(dim=1, keepdim=True)  # [N, 3, H, W] -> [N, 1, H, W]


def lucas_kanade_flow(source: Tensor, target: Tensor, *, window: int = 7, eps: float = 1e-3) -> Tensor:
    """Flow from ``source`` to ``target`` frames, in pixels.

    Args:
        source, target: float ``[N, 3, H, W]`` (any range; [-1, 1] in the losses).
        window: odd box-window size of the least-squares neighbourhood.
        eps: regularisation added to the 2x2 normal matrix (flat regions give ~zero flow).

    Returns:
        float ``[N, 2, H, W]``: (u, v) = displacement along (W, H) that maps source pixels onto target.
    """
    a, b = _gray(source), _gray(target)
    mean = (a + b) / 2
    kernel_x = torch.tensor([[-0.5, 0.0, 0.5]], dtype=a.dtype, device=a.device).view(1, 1, 1, 3)
    ix = F.conv2d(F.pad(mean, (1, 1, 0, 0), mode="replicate"), kernel_x)
    iy = F.conv2d(F.pad(mean, (0, 0, 1, 1), mode="replicate"), kernel_x.view(1, 1, 3, 1))
    it = b - a

    def box(x: Tensor) -> Tensor:
        return F.avg_pool2d(F.pad(x, (window // 2,) * 4, mode="replicate"), window, stride=1)

    sxx, syy, sxy = box(ix * ix) + eps, box(iy * iy) + eps, box(ix * iy)
    sxt, syt = box(ix * it), box(iy * it)
    det = sxx * syy - sxy * sxy
    u = (-syy * sxt + sxy * syt) / det
    v = (sxy * sxt - sxx * syt) / det
    return torch.cat([u, v], dim=1)
