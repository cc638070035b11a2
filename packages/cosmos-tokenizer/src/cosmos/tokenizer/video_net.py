"""Causal factorized 3D encoder and decoder of the Cosmos CV/DV video tokenizers (spec §4, §5).

Building blocks (all temporally causal: output frame t depends on input frames <= t only):

* :class:`CausalConv3d`: conv3d without internal temporal padding, preceded by ``(kt-1) + (1-st)`` copies of
  frame 0 (replication, never zeros) and by zero padding of H and W.
* factorized "3x3x3" conv = ``Sequential((1,3,3) spatial conv, (3,1,1) temporal conv)`` (§4.2).
* :class:`CausalNorm`: GroupNorm(1 group, eps 1e-6) applied to every frame on its own (§4.3).
* :class:`ResnetBlock` (§4.4), :class:`SpatialAttention` (§4.5), :class:`TemporalAttention` (§4.6, causal mask),
  :class:`HybridDownsample` (§4.8), :class:`HybridUpsample` (§4.9).

Module names mirror NVIDIA's state-dict keys (``conv3d``, ``norm``, ``conv1.0`` ...) so the reference
checkpoints load without renaming (spec §10.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

from cosmos.core import attention

from .config import TokenizerConfig
from .wavelet import VideoPatcher, VideoUnpatcher


def replicate_first_frame(x: Tensor, count: int) -> Tensor:
    """Prepend ``count`` copies of frame 0: ``[B, C, T, H, W] -> [B, C, T + count, H, W]`` (causal padding)."""
    if count == 0:
        return x
    return torch.cat([x[:, :, :1].expand(-1, -1, count, -1, -1), x], dim=2)


class CausalConv3d(nn.Module):
    """Causal 3D convolution (spec §4.1). State-dict child: ``conv3d``.

    Args:
        in_channels, out_channels: channel counts.
        kernel_size: (kt, kh, kw).
        stride: (st, sh, sw).
        padding: zero padding of H and W on each side (T is padded causally by replicating frame 0).

    Shapes: ``[B, Cin, T, H, W] -> [B, Cout, ceil(T/st), (H + 2*pad - kh)//sh + 1, (W + 2*pad - kw)//sw + 1]``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int, int] = (1, 1, 1),
        stride: tuple[int, int, int] = (1, 1, 1),
        padding: int = 0,
    ) -> None:
        super().__init__()
        kt = kernel_size[0]
        self.time_pad = (kt - 1) + (1 - stride[0])
        self.conv3d = nn.Conv3d(
            in_channels, out_channels, kernel_size, stride=stride, padding=(0, padding, padding)
        )
        self.stream: dict | None = (
            None  # set by streaming(): holds the last input frames of the previous chunk
        )
        # Kernels without spatial extent (temporal (kt,1,1) and pointwise convs) run as a conv2d over the
        # [B, C, T, H*W] view: same result, and CPU backends run it 2-3x faster than conv3d.
        self.temporal_only = kernel_size[1:] == (1, 1) and stride[1:] == (1, 1) and padding == 0

    def _pad_time(self, x: Tensor) -> Tensor:
        """Causal padding: frame-0 copies, or (streaming, after the first chunk) the previous chunk's last frames."""
        if self.time_pad == 0:
            return x
        tail = None if self.stream is None else self.stream.get("tail")
        x = replicate_first_frame(x, self.time_pad) if tail is None else torch.cat([tail, x], dim=2)
        if self.stream is not None:
            self.stream["tail"] = x[:, :, -self.time_pad :].clone()
        return x

    def forward(self, x: Tensor) -> Tensor:
        x = self._pad_time(x)
        if self.temporal_only:
            batch, channels, frames, height, width = x.shape
            weight = self.conv3d.weight.squeeze(-1)  # [Cout, Cin, kt, 1, 1] -> [Cout, Cin, kt, 1]
            # [B, C, T, H, W] -> [B, C, T, H*W]
            out = F.conv2d(
                x.reshape(batch, channels, frames, height * width),
                weight,
                self.conv3d.bias,
                stride=(self.conv3d.stride[0], 1),
            )
            return out.reshape(batch, out.shape[1], out.shape[2], height, width)
        return self.conv3d(x.contiguous())


@contextmanager
def streaming(module: nn.Module) -> Iterator[None]:
    """Run ``module`` (a :class:`VideoEncoder` or :class:`VideoDecoder`) on consecutive temporal chunks as if on
    their concatenation: inside the context every causal conv keeps the last input frames of the previous chunk
    (instead of replicating frame 0), temporal attention caches keys and values, and the patcher, unpatcher and
    temporal samplers treat only the first chunk as the start of the clip. Chunks after the first must hold a
    multiple of ``temporal_compression`` frames (encoder) or any number of latent frames (decoder).
    """
    stateful = [m for m in module.modules() if hasattr(m, "stream")]
    for m in stateful:
        m.stream = {}
    try:
        yield
    finally:
        for m in stateful:
            m.stream = None


def factorized_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """A "3x3x3" conv of the factorized nets (§4.2): (1,3,3) spatial conv then (3,1,1) causal temporal conv."""
    return nn.Sequential(
        CausalConv3d(in_channels, out_channels, (1, 3, 3), padding=1),
        CausalConv3d(out_channels, out_channels, (3, 1, 1)),
    )


class CausalNorm(nn.Module):
    """GroupNorm with one group applied per frame (spec §4.3). State-dict child: ``norm``.

    Each (b, t) frame is normalized over (C, H, W) jointly, eps 1e-6, then scaled per channel.
    ``[B, C, T, H, W] -> same``.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(num_groups=1, num_channels=channels, eps=eps, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, frames, height, width = x.shape
        # [B, C, T, H, W] -> [B*T, C, H, W]: time folded into batch so statistics never mix frames
        # (the native GroupNorm kernel plus two layout copies is ~6x faster on CPU than var_mean over dims)
        frames_as_batch = x.transpose(1, 2).reshape(batch * frames, channels, height, width)
        out = self.norm(frames_as_batch)
        # back to a contiguous [B, C, T, H, W] so the convolutions take their fast (oneDNN) path
        return out.reshape(batch, frames, channels, height, width).transpose(1, 2).contiguous()


class ResnetBlock(nn.Module):
    """Factorized residual block (spec §4.4): ``x + conv2(silu(norm2(conv1(silu(norm1(x))))))``.

    ``[B, Cin, T, H, W] -> [B, Cout, T, H, W]``; a 1x1x1 ``nin_shortcut`` maps the skip when Cin != Cout.
    """

    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = CausalNorm(in_channels)
        self.conv1 = factorized_conv(in_channels, out_channels)
        self.norm2 = CausalNorm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = factorized_conv(out_channels, out_channels)
        self.nin_shortcut = CausalConv3d(in_channels, out_channels) if in_channels != out_channels else None

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        skip = x if self.nin_shortcut is None else self.nin_shortcut(x)
        return skip + h


class _AttentionBase(nn.Module):
    """Shared parameters of the single-head spatial/temporal attention blocks (norm, q, k, v, proj_out)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = CausalNorm(channels)
        self.q = CausalConv3d(channels, channels)
        self.k = CausalConv3d(channels, channels)
        self.v = CausalConv3d(channels, channels)
        self.proj_out = CausalConv3d(channels, channels)

    def _qkv(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        h = self.norm(x)
        return self.q(h), self.k(h), self.v(h)


class SpatialAttention(_AttentionBase):
    """Per-frame single-head self-attention over the H*W positions (spec §4.5). ``[B, C, T, H, W] -> same``."""

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, frames, height, width = x.shape
        query, key, value = self._qkv(x)
        # [B, C, T, H, W] -> [B*T, 1 head, H*W, C]
        query, key, value = (rearrange(t, "b c t h w -> (b t) 1 (h w) c") for t in (query, key, value))
        out = attention(query, key, value)
        out = rearrange(out, "(b t) 1 (h w) c -> b c t h w", b=batch, h=height)
        return x + self.proj_out(out)


class TemporalAttention(_AttentionBase):
    """Per-pixel causal single-head self-attention over the T frames (spec §4.6). ``[B, C, T, H, W] -> same``.

    While streaming, keys and values of earlier chunks are cached, so a chunk's frames attend to every earlier
    frame exactly as in one pass (the cache grows by ``2 * B * H * W * C`` values per frame).
    """

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.stream: dict | None = None  # set by streaming()

    def forward(self, x: Tensor) -> Tensor:
        batch, channels, frames, height, width = x.shape
        query, key, value = self._qkv(x)
        # [B, C, T, H, W] -> [B*H*W, 1 head, T, C]
        query, key, value = (rearrange(t, "b c t h w -> (b h w) 1 t c") for t in (query, key, value))
        past = None if self.stream is None else self.stream.get("key")
        if past is not None:
            key = torch.cat([past, key], dim=2)
            value = torch.cat([self.stream["value"], value], dim=2)
        if self.stream is not None:
            self.stream["key"], self.stream["value"] = key, value
        if past is None:
            out = attention(query, key, value, is_causal=True)  # frame i attends to frames <= i
        else:  # query i of this chunk is frame past+i: it sees every cached frame and chunk frames <= i
            num_past = past.shape[2]
            mask = torch.ones(frames, num_past + frames, dtype=torch.bool, device=x.device).tril(num_past)
            out = attention(query, key, value, attn_mask=mask)
        out = rearrange(out, "(b h w) 1 t c -> b c t h w", b=batch, h=height)
        return x + self.proj_out(out)


def attention_block(channels: int) -> nn.Sequential:
    """Spatial attention (index 0) then causal temporal attention (index 1), spec §4.7."""
    return nn.Sequential(SpatialAttention(channels), TemporalAttention(channels))


def _mean_pool_spatial(x: Tensor) -> Tensor:
    """Average pool 1x2x2 / stride 1x2x2 (as a reshape-mean, which also runs in bf16 on CPU)."""
    batch, channels, frames, height, width = x.shape
    x = x[..., : height // 2 * 2, : width // 2 * 2]
    return x.reshape(batch, channels, frames, height // 2, 2, width // 2, 2).mean(dim=(4, 6))


def _mean_pool_temporal(x: Tensor) -> Tensor:
    """Average pool 2x1x1 / stride 2x1x1 (floor: a trailing odd frame is dropped, like avg_pool3d)."""
    batch, channels, frames, height, width = x.shape
    x = x[:, :, : frames // 2 * 2]
    return x.reshape(batch, channels, frames // 2, 2, height, width).mean(dim=3)


class HybridDownsample(nn.Module):
    """Encoder down-sampler (spec §4.8): strided conv + average pool, spatially and/or temporally.

    ``[B, C, T, H, W] -> [B, C, T', H', W']`` with H' = H/2, W' = W/2 if ``spatial`` and T' = ceil(T/2) if
    ``temporal`` (so 1 + 2k frames -> 1 + k). Creates no weights when neither flag is set (identity).
    """

    def __init__(self, channels: int, spatial: bool, temporal: bool) -> None:
        super().__init__()
        self.spatial = spatial
        self.temporal = temporal
        self.stream: dict | None = None  # set by streaming()
        if spatial:
            self.conv1 = CausalConv3d(channels, channels, (1, 3, 3), stride=(1, 2, 2))
        if temporal:
            self.conv2 = CausalConv3d(channels, channels, (3, 1, 1), stride=(2, 1, 1))
        if spatial or temporal:
            self.conv3 = CausalConv3d(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        if not (self.spatial or self.temporal):
            return x
        if self.spatial:
            padded = F.pad(x, (0, 1, 0, 1))  # one zero column right, one zero row at the bottom
            x = self.conv1(padded) + _mean_pool_spatial(x)
        if self.temporal:
            # the extra frame-0 copy makes 1 + 2k frames pair up as (x0, x0), (x1, x2), ...; a later streaming
            # chunk (even length, starting at an odd frame) pairs up on its own and gets no copy
            if self.stream is None or not self.stream.get("started"):
                x = replicate_first_frame(x, 1)
            if self.stream is not None:
                self.stream["started"] = True
            x = self.conv2(x) + _mean_pool_temporal(x)
        return self.conv3(x)


class HybridUpsample(nn.Module):
    """Decoder up-sampler (spec §4.9): repeat + causal conv residual, temporally then spatially.

    ``[B, C, T, H, W] -> [B, C, T', H', W']`` with T' = 2T - 1 (T > 1) if ``temporal``, H' = 2H, W' = 2W if
    ``spatial``. Identity (no weights) when neither flag is set.
    """

    def __init__(self, channels: int, spatial: bool, temporal: bool) -> None:
        super().__init__()
        self.spatial = spatial
        self.temporal = temporal
        self.stream: dict | None = None  # set by streaming()
        if temporal:
            self.conv1 = CausalConv3d(channels, channels, (3, 1, 1))
        if spatial:
            self.conv2 = CausalConv3d(channels, channels, (1, 3, 3), padding=1)
        if spatial or temporal:
            self.conv3 = CausalConv3d(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        if not (self.spatial or self.temporal):
            return x
        if self.temporal:
            first_chunk = self.stream is None or not self.stream.get("started")
            if self.stream is not None:
                self.stream["started"] = True
            if first_chunk:
                if x.shape[2] > 1:
                    x = x.repeat_interleave(2, dim=2)[:, :, 1:]  # x0, x1, x1, x2, x2, ...
            else:  # streaming, later chunk: every frame is doubled
                x = x.repeat_interleave(2, dim=2)
            x = self.conv1(x) + x
        if self.spatial:
            x = x.repeat_interleave(2, dim=3).repeat_interleave(2, dim=4)
            x = self.conv2(x) + x
        return self.conv3(x)


class _Level(nn.Module):
    """One resolution level: ``block`` (residual blocks), optional ``attn`` and ``downsample``/``upsample``."""


class VideoEncoder(nn.Module):
    """Factorized causal video encoder (spec §5.1).

    ``[B, 3, T, H, W]`` (T = 1 + k*tau, H and W multiples of s) -> ``[B, z_channels, 1 + k, H/s, W/s]``.
    """

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        c0, mult, p = config.channels, config.channels_mult, config.patch_size
        n = len(mult)
        self.patcher3d = VideoPatcher(p)
        self.conv_in = factorized_conv(config.in_channels * p**3, c0)
        resolution = config.resolution // p
        self.down = nn.ModuleList()
        block_in = c0
        for i in range(n):
            level = _Level()
            level.block = nn.ModuleList()
            attn = nn.ModuleList()
            block_out = c0 * mult[i]
            for _ in range(config.num_res_blocks):
                level.block.append(ResnetBlock(block_in, block_out, config.dropout))
                block_in = block_out
                if resolution in config.attn_resolutions:
                    attn.append(attention_block(block_in))
            if len(attn):
                level.attn = attn
            if i < n - 1:
                level.downsample = HybridDownsample(
                    block_in, spatial=i < config.num_spatial_steps, temporal=i < config.num_temporal_steps
                )
                resolution //= 2
            self.down.append(level)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in, config.dropout)
        self.mid.attn_1 = attention_block(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in, config.dropout)
        self.norm_out = CausalNorm(block_in)
        self.conv_out = nn.Sequential(
            CausalConv3d(block_in, config.z_channels, (1, 3, 3), padding=1),
            CausalConv3d(config.z_channels, config.z_channels, (3, 1, 1)),
        )

    def forward(self, x: Tensor) -> Tensor:
        """``x``: float ``[B, 3, T, H, W]`` -> ``[B, z_channels, 1 + (T-1)/tau, H/s, W/s]``."""
        h = self.conv_in(self.patcher3d(x))
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


class VideoDecoder(nn.Module):
    """Factorized causal video decoder (spec §5.2).

    ``[B, z_channels, t, h, w]`` -> ``[B, 3, 1 + (t-1)*tau, h*s, w*s]``. ``up.{i}`` is resolution level i;
    the deepest level (i = n-1) runs first.
    """

    def __init__(self, config: TokenizerConfig) -> None:
        super().__init__()
        c0, mult, p = config.channels, config.channels_mult, config.patch_size
        n = len(mult)
        n_s, n_t = config.num_spatial_steps, config.num_temporal_steps
        block_in = c0 * mult[n - 1]
        resolution = (config.resolution // p) // 2 ** (n - 1)
        self.conv_in = factorized_conv(config.z_channels, block_in)
        self.mid = nn.Module()
        self.mid.block_1 = ResnetBlock(block_in, block_in, config.dropout)
        self.mid.attn_1 = attention_block(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in, config.dropout)
        levels: list[nn.Module] = [nn.Module() for _ in range(n)]
        for i in reversed(range(n)):
            level = _Level()
            level.block = nn.ModuleList()
            attn = nn.ModuleList()
            block_out = c0 * mult[i]
            for _ in range(config.num_res_blocks + 1):
                level.block.append(ResnetBlock(block_in, block_out, config.dropout))
                block_in = block_out
                if resolution in config.attn_resolutions:
                    attn.append(attention_block(block_in))
            if len(attn):
                level.attn = attn
            if i != 0:
                j = n - 1 - i  # execution position, 0 for the deepest level
                temporal = (j < n_t) if config.legacy_mode else (0 < j < n_t + 1)
                spatial = temporal or (j < n_s and n_s > n_t)
                level.upsample = HybridUpsample(block_in, spatial=spatial, temporal=temporal)
                resolution *= 2
            levels[i] = level
        self.up = nn.ModuleList(levels)
        self.norm_out = CausalNorm(block_in)
        out_channels = config.in_channels * p**3
        self.conv_out = nn.Sequential(
            CausalConv3d(block_in, out_channels, (1, 3, 3), padding=1),
            CausalConv3d(out_channels, out_channels, (3, 1, 1)),
        )
        self.unpatcher3d = VideoUnpatcher(p)

    def forward(self, z: Tensor) -> Tensor:
        """``z``: float ``[B, z_channels, t, h, w]`` -> ``[B, 3, 1 + (t-1)*tau, h*s, w*s]``."""
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
        h = self.conv_out(F.silu(self.norm_out(h)))
        return self.unpatcher3d(h)
