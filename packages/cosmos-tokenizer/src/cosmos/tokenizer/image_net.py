"""2D encoder and decoder of the Cosmos CI/DI image tokenizers (spec §6).

A classic latent-diffusion style network behind the 2D Haar patcher: GroupNorm with 32 groups (eps 1e-6),
SiLU, 3x3 convs, residual blocks, single-head attention in the mid block, stride-2 conv down-sampling
(no pooling branch) and nearest-neighbour up-sampling. Module names mirror NVIDIA's state-dict keys (§10.2).
"""

from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from cosmos.core import attention

from .config import TokenizerConfig
from .wavelet import ImagePatcher, ImageUnpatcher


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm(32 groups, eps 1e-6, affine): the image networks' normalization (§6)."""
    return nn.GroupNorm(num_groups=32, num_channels=channels, eps=1e-6, affine=True)


class ResnetBlock2d(nn.Module):
    """``shortcut(x) + conv2(dropout(silu(norm2(conv1(silu(norm1(x)))))))``: ``[B, Cin, H, W] -> [B, Cout, H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        skip = x if self.nin_shortcut is None else self.nin_shortcut(x)
        return skip + h


class AttentionBlock2d(nn.Module):
    """Single-head self-attention over the H*W positions, scale C^-1/2, residual: ``[B, C, H, W] -> same``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        h = self.norm(x)
        # [B, C, H, W] -> [B, 1 head, H*W, C]
        query, key, value = (
            rearrange(t, "b c h w -> b 1 (h w) c") for t in (self.q(h), self.k(h), self.v(h))
        )
        out = rearrange(attention(query, key, value), "b 1 (h w) c -> b c h w", h=height)
        return x + self.proj_out(out)


class Downsample2d(nn.Module):
    """Zero-pad one column right and one row bottom, then 3x3 conv stride 2: ``[B, C, H, W] -> [B, C, H/2, W/2]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=0)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample2d(nn.Module):
    """Nearest-neighbour x2 then 3x3 conv: ``[B, C, H, W] -> [B, C, 2H, 2W]``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3))


class _Level(nn.Module):
    """One resolution level: ``block`` (residual blocks), optional ``attn`` and ``downsample``/``upsample``."""


class ImageEncoder(nn.Module):
    """Image encoder (spec §6): ``[B, 3, H, W] -> [B, z_channels, H/s, W/s]`` (H, W multiples of s)."""

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        c0, mult, p = config.channels, config.channels_mult, config.patch_size
        n, num_down = len(mult), config.num_spatial_steps
        self.patcher = ImagePatcher(p)
        self.conv_in = nn.Conv2d(config.in_channels * p**2, c0, 3, padding=1)
        resolution = config.resolution // p
        block_in = c0
        self.down = nn.ModuleList()
        for i in range(n):
            level = _Level()
            level.block = nn.ModuleList()
            attn = nn.ModuleList()
            for _ in range(config.num_res_blocks):
                level.block.append(ResnetBlock2d(block_in, c0 * mult[i], config.dropout))
                block_in = c0 * mult[i]
                if resolution in config.attn_resolutions:
                    attn.append(AttentionBlock2d(block_in))
            if len(attn):
                level.attn = attn
            if i < num_down:
                level.downsample = Downsample2d(block_in)
                resolution //= 2
            self.down.append(level)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock2d(block_in, block_in, config.dropout)
        self.mid.attn_1 = AttentionBlock2d(block_in)
        self.mid.block_2 = ResnetBlock2d(block_in, block_in, config.dropout)
        self.norm_out = group_norm(block_in)
        self.conv_out = nn.Conv2d(block_in, config.z_channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        """``x``: float ``[B, 3, H, W]`` -> ``[B, z_channels, H/s, W/s]``."""
        h = self.conv_in(self.patcher(x))
        for level in self.down:
            attn = getattr(level, "attn", None)
            for j, block in enumerate(level.block):
                h = block(h)
                if attn is not None:
                    h = attn[j](h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h)))


class ImageDecoder(nn.Module):
    """Image decoder (spec §6): ``[B, z_channels, h, w] -> [B, 3, h*s, w*s]``; level n-1 runs first."""

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        c0, mult, p = config.channels, config.channels_mult, config.patch_size
        n, num_up = len(mult), config.num_spatial_steps
        block_in = c0 * mult[n - 1]
        resolution = (config.resolution // p) // 2**num_up
        self.conv_in = nn.Conv2d(config.z_channels, block_in, 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock2d(block_in, block_in, config.dropout)
        self.mid.attn_1 = AttentionBlock2d(block_in)
        self.mid.block_2 = ResnetBlock2d(block_in, block_in, config.dropout)
        levels: list[nn.Module] = [nn.Module() for _ in range(n)]
        for i in reversed(range(n)):
            level = _Level()
            level.block = nn.ModuleList()
            attn = nn.ModuleList()
            for _ in range(config.num_res_blocks + 1):
                level.block.append(ResnetBlock2d(block_in, c0 * mult[i], config.dropout))
                block_in = c0 * mult[i]
                if resolution in config.attn_resolutions:
                    attn.append(AttentionBlock2d(block_in))
            if len(attn):
                level.attn = attn
            if i >= n - num_up:
                level.upsample = Upsample2d(block_in)
                resolution *= 2
            levels[i] = level
        self.up = nn.ModuleList(levels)
        self.norm_out = group_norm(block_in)
        self.conv_out = nn.Conv2d(block_in, config.in_channels * p**2, 3, padding=1)
        self.unpatcher = ImageUnpatcher(p)

    def forward(self, z: Tensor) -> Tensor:
        """``z``: float ``[B, z_channels, h, w]`` -> ``[B, 3, h*s, w*s]``."""
        h = self.conv_in(z)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        for level in reversed(self.up):
            attn = getattr(level, "attn", None)
            for j, block in enumerate(level.block):
                h = block(h)
                if attn is not None:
                    h = attn[j](h)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.unpatcher(self.conv_out(F.silu(self.norm_out(h))))
