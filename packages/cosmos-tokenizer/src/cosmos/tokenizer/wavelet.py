"""Haar wavelet patcher and unpatcher for videos (3D) and images (2D) (spec §3).

The wavelet transform is the first layer of every Cosmos tokenizer encoder and the last of every decoder.
One analysis level splits each 2x2x2 (video) or 2x2 (image) block into 8 or 4 bands:

* video band ``k = 4*t + 2*h + w`` (t, h, w = 0 low / 1 high along T, H, W), value
  ``(1/8) * sum_{dt,dh,dw} (-1)^(t*dt + h*dh + w*dw) x[2i+dt, 2j+dh, 2l+dw]``;
* image band ``k = 2*w + h`` (note: W-major), value ``(1/4) * sum (-1)^(w*dw + h*dh) x[2i+dh, 2j+dw]``;
* output channel of (band k, input channel c) is ``k*C + c`` (band-major), recursively over levels.

The synthesis (inverse) is the plain signed sum, without scale, so analysis followed by synthesis is the
identity. The video patcher first prepends ``p - 1`` copies of frame 0 (causal padding) and the unpatcher
drops the first ``p - 1`` output frames. There are no learned parameters.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from cosmos.core import ShapeError

# Haar sign matrix: row = band (0 low, 1 high), column = position in the pair (first, second).
_SIGNS = ((1.0, 1.0), (1.0, -1.0))


def _sign_matrix(like: Tensor) -> Tensor:
    return torch.tensor(_SIGNS, dtype=like.dtype, device=like.device)


def haar_analysis_3d(x: Tensor) -> Tensor:
    """One level of 3D Haar analysis (spec §3.2).

    Args:
        x: float ``[B, C, T, H, W]`` with T, H, W even.
    Returns:
        ``[B, 8*C, T/2, H/2, W/2]``; channel ``k*C + c`` holds band ``k = 4t + 2h + w`` of channel c.
    """
    batch, channels, frames, height, width = x.shape
    m = _sign_matrix(x)
    # [B, C, T, H, W] -> [B, C, T/2, 2, H/2, 2, W/2, 2]
    blocks = x.reshape(batch, channels, frames // 2, 2, height // 2, 2, width // 2, 2)
    # band (a, b, e) = sum over (dt, dh, dw) of signs; result [B, 2, 2, 2, C, T/2, H/2, W/2]
    bands = torch.einsum("ad,be,fg,nctdhewg->nabfcthw", m, m, m, blocks)
    return bands.reshape(batch, 8 * channels, frames // 2, height // 2, width // 2) * 0.125


def haar_synthesis_3d(y: Tensor) -> Tensor:
    """Inverse of :func:`haar_analysis_3d` (spec §3.4): ``[B, 8C, T, H, W] -> [B, C, 2T, 2H, 2W]``, no scale."""
    batch, channels8, frames, height, width = y.shape
    if channels8 % 8:
        raise ShapeError(f"3D Haar synthesis needs a multiple of 8 channels, got {channels8}")
    channels = channels8 // 8
    m = _sign_matrix(y)
    bands = y.reshape(batch, 2, 2, 2, channels, frames, height, width)
    x = torch.einsum("ad,be,fg,nabfcthw->nctdhewg", m, m, m, bands)
    return x.reshape(batch, channels, 2 * frames, 2 * height, 2 * width)


def haar_analysis_2d(x: Tensor) -> Tensor:
    """One level of 2D Haar analysis (spec §3.5).

    Args:
        x: float ``[B, C, H, W]`` with H, W even.
    Returns:
        ``[B, 4*C, H/2, W/2]``; channel ``k*C + c`` holds band ``k = 2w + h`` (W-major band order).
    """
    batch, channels, height, width = x.shape
    m = _sign_matrix(x)
    blocks = x.reshape(batch, channels, height // 2, 2, width // 2, 2)  # [B, C, H/2, dh, W/2, dw]
    bands = torch.einsum("ag,be,nchejg->nabchj", m, m, blocks)  # [B, w-band, h-band, C, H/2, W/2]
    return bands.reshape(batch, 4 * channels, height // 2, width // 2) * 0.25


def haar_synthesis_2d(y: Tensor) -> Tensor:
    """Inverse of :func:`haar_analysis_2d`: ``[B, 4C, H, W] -> [B, C, 2H, 2W]``, no scale."""
    batch, channels4, height, width = y.shape
    if channels4 % 4:
        raise ShapeError(f"2D Haar synthesis needs a multiple of 4 channels, got {channels4}")
    channels = channels4 // 4
    m = _sign_matrix(y)
    bands = y.reshape(batch, 2, 2, channels, height, width)  # [B, w-band, h-band, C, H, W]
    x = torch.einsum("ag,be,nabchj->nchejg", m, m, bands)
    return x.reshape(batch, channels, 2 * height, 2 * width)


def _num_levels(patch_size: int) -> int:
    levels = patch_size.bit_length() - 1
    if patch_size < 1 or 1 << levels != patch_size:
        raise ValueError(f"patch_size must be a power of two, got {patch_size}")
    return levels


class VideoPatcher(nn.Module):
    """Causal 3D Haar patcher (spec §3.3): ``[B, C, T, H, W] -> [B, C*p^3, (T+p-1)/p, H/p, W/p]``.

    T must be ``1 + k*p`` after nothing else (the tokenizer checks ``1 + k*tau``); H, W multiples of p.
    """

    def __init__(self, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.num_levels = _num_levels(patch_size)
        self.stream: dict | None = None  # set by cosmos.tokenizer.video_net.streaming()

    def forward(self, x: Tensor) -> Tensor:
        """``x``: float ``[B, C, T, H, W]`` -> ``[B, C*p^3, (T+p-1)/p, H/p, W/p]``.

        While streaming, only the first chunk gets the frame-0 copies; later chunks hold multiples of p frames.
        """
        first_chunk = self.stream is None or not self.stream.get("started")
        if self.stream is not None:
            self.stream["started"] = True
        if self.patch_size > 1 and first_chunk:
            first = x[:, :, :1].expand(-1, -1, self.patch_size - 1, -1, -1)
            x = torch.cat([first, x], dim=2)  # causal: p-1 copies of frame 0 in front
        for _ in range(self.num_levels):
            x = haar_analysis_3d(x)
        return x


class VideoUnpatcher(nn.Module):
    """Inverse of :class:`VideoPatcher` (spec §3.4): ``[B, C*p^3, T', H', W'] -> [B, C, p*T'-(p-1), p*H', p*W']``."""

    def __init__(self, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.num_levels = _num_levels(patch_size)
        self.stream: dict | None = None  # set by cosmos.tokenizer.video_net.streaming()

    def forward(self, y: Tensor) -> Tensor:
        """``y``: float ``[B, C*p^3, T', H', W']`` -> ``[B, C, p*T' - (p-1), p*H', p*W']``.

        While streaming, only the first chunk drops the p-1 leading frames (later chunks give p*T' frames).
        """
        first_chunk = self.stream is None or not self.stream.get("started")
        if self.stream is not None:
            self.stream["started"] = True
        for _ in range(self.num_levels):
            y = haar_synthesis_3d(y)
        return y[:, :, self.patch_size - 1 :] if first_chunk else y


class ImagePatcher(nn.Module):
    """2D Haar patcher (spec §3.5): ``[B, C, H, W] -> [B, C*p^2, H/p, W/p]``."""

    def __init__(self, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.num_levels = _num_levels(patch_size)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: float ``[B, C, H, W]`` -> ``[B, C*p^2, H/p, W/p]``."""
        for _ in range(self.num_levels):
            x = haar_analysis_2d(x)
        return x


class ImageUnpatcher(nn.Module):
    """Inverse of :class:`ImagePatcher`: ``[B, C*p^2, H', W'] -> [B, C, p*H', p*W']``."""

    def __init__(self, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.num_levels = _num_levels(patch_size)

    def forward(self, y: Tensor) -> Tensor:
        """``y``: float ``[B, C*p^2, H', W']`` -> ``[B, C, p*H', p*W']``."""
        for _ in range(self.num_levels):
            y = haar_synthesis_2d(y)
        return y
