"""Reconstruction and prediction quality metrics over videos: PSNR and SSIM.

Both take ``pred`` and ``target`` video tensors ``[B, C, T, H, W]`` (or images ``[B, C, H, W]``, taken
as one frame) in a known value range (``data_range`` = max - min; 2.0 for the model convention
``[-1, 1]``, 255.0 for uint8 levels), compute one value per frame, and either return the per-frame
values ``[B, T]`` (``reduction="none"``) or their mean (``reduction="mean"``), as the Cosmos paper's
tokenizer and world-model tables report (section 3.4, section 5).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cosmos.core.errors import ShapeError

__all__ = ["psnr", "ssim"]


def _frames(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """Check and fold ``[B, C, T, H, W]`` to ``[B*T, C, H, W]`` (float64)."""
    if not isinstance(pred, torch.Tensor) or not isinstance(target, torch.Tensor):
        raise ShapeError("pred and target must be torch tensors")
    if pred.shape != target.shape:
        raise ShapeError(f"pred shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    if pred.ndim == 4:
        pred, target = pred.unsqueeze(2), target.unsqueeze(2)
    if pred.ndim != 5:
        raise ShapeError(f"expected [B, C, T, H, W] or [B, C, H, W], got shape {tuple(pred.shape)}")
    batch, channels, frames, height, width = pred.shape

    def fold(x: torch.Tensor) -> torch.Tensor:
        return x.double().permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, height, width)

    return fold(pred), fold(target), batch, frames


def _reduce(values: torch.Tensor, batch: int, frames: int, reduction: str) -> torch.Tensor:
    values = values.reshape(batch, frames)
    if reduction == "none":
        return values.float()
    if reduction == "mean":
        return values.mean().float()
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def psnr(pred: torch.Tensor, target: torch.Tensor, *, data_range: float = 2.0, reduction: str = "mean") -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, per frame: ``10 * log10(data_range**2 / MSE)``.

    The MSE is taken over the channels and pixels of one frame; identical frames give ``inf``.

    Args:
        pred, target: ``[B, C, T, H, W]`` or ``[B, C, H, W]``, same shape, values in a range of width
            ``data_range``.
        data_range: max - min of the value range (2.0 for ``[-1, 1]``).
        reduction: ``"mean"`` (scalar, mean over frames and batch) or ``"none"`` (``[B, T]``).

    Raises:
        ShapeError: shapes differ or have the wrong rank.
    """
    pred, target, batch, frames = _frames(pred, target)
    mse = (pred - target).pow(2).mean(dim=(1, 2, 3))
    values = 10.0 * torch.log10(data_range**2 / mse)
    return _reduce(values, batch, frames, reduction)


def _gaussian_window(size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    coords = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    window = torch.exp(-(coords**2) / (2 * sigma**2))
    return window / window.sum()


def ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    data_range: float = 2.0,
    reduction: str = "mean",
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004, eq. 13), per frame.

    Local means, variances and covariance use a Gaussian window (``window_size`` 11, ``sigma`` 1.5,
    valid region only, no padding); ``C1 = (k1 * L)**2``, ``C2 = (k2 * L)**2`` with ``L = data_range``;

        SSIM = ((2 mu_x mu_y + C1)(2 sigma_xy + C2)) / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2))

    averaged over the valid pixels, then over channels. Frames smaller than the window use the largest
    odd window that fits. Values lie in ``[-1, 1]``; identical frames give 1.

    Args / Returns / Raises: as :func:`psnr`.
    """
    pred, target, batch, frames = _frames(pred, target)
    channels, height, width = pred.shape[1:]
    size = min(window_size, height, width)
    size -= 1 - size % 2
    window = _gaussian_window(size, sigma, pred.dtype, pred.device)
    kernel_h = window.view(1, 1, size, 1).expand(channels, 1, size, 1)
    kernel_w = window.view(1, 1, 1, size).expand(channels, 1, 1, size)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(x, kernel_h, groups=channels), kernel_w, groups=channels)

    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    mu_x, mu_y = blur(pred), blur(target)
    var_x = blur(pred * pred) - mu_x**2
    var_y = blur(target * target) - mu_y**2
    cov = blur(pred * target) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    values = index.mean(dim=(1, 2, 3))
    return _reduce(values, batch, frames, reduction)


def psnr_from_mse(mse: float, data_range: float = 2.0) -> float:
    """``10 * log10(data_range**2 / mse)`` for a scalar MSE (``inf`` for 0)."""
    return math.inf if mse == 0 else 10.0 * math.log10(data_range**2 / mse)
