"""Position encodings of the Cosmos autoregressive models: 3D RoPE (with YaRN) and the 3D sinusoidal APE.

Both are constant tables indexed by **sequence position** (spec §3.5-§3.7): row ``n`` is video token ``n`` for the
base models; for Video2World models row 0 is the ``<bov>`` token (identity rotation, zero embedding) and row
``1 + n`` is video token ``n``. Rows past the last token (padding up to ``max_seq_len``) are identity / zero.

Video token ``n`` sits at latent grid position ``(t, h, w)`` with ``n = t * H * W + h * W + w`` (time slowest,
spec §2.2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "YarnConfig",
    "rope_split",
    "rope_inverse_frequencies",
    "yarn_rescale",
    "rope_table",
    "apply_rope",
    "ape_split",
    "sincos_1d",
    "ape_table",
    "grid_positions",
]

from dataclasses import dataclass


@dataclass(frozen=True)
class YarnConfig:
    """YaRN frequency rescaling (spec §3.6); the 12B and 13B models use ``scale 2, beta 4/1, [3, 40, 64]``.

    Attributes:
        scale: context extension factor (temporal length ratio).
        beta_fast: ramp end, in rotations over the original length.
        beta_slow: ramp start, in rotations over the original length.
        original_latent_shape: ``(T, H, W)`` latent grid the model was first trained on. The temporal set uses
            ``T``; **both** spatial axes use ``H`` (a quirk of the reference that the checkpoints depend on).
    """

    scale: float = 2.0
    beta_fast: float = 4.0
    beta_slow: float = 1.0
    original_latent_shape: tuple[int, int, int] = (3, 40, 64)


def rope_split(head_dim: int) -> tuple[int, int, int]:
    """Head-dim split ``(dim_t, dim_h, dim_w)`` of the 3D RoPE: ``dim_h = dim_w = (head_dim // 6) * 2`` (spec §3.5).

    Example: 128 -> (44, 42, 42); 32 -> (12, 10, 10).
    """
    dim_spatial = (head_dim // 6) * 2
    return head_dim - 2 * dim_spatial, dim_spatial, dim_spatial


def yarn_rescale(inv_freq: Tensor, *, original_length: int, yarn: YarnConfig) -> Tensor:
    """Apply the YaRN ramp to inverse frequencies (spec §3.6).

    ``high = 2 pi beta_fast / L``, ``low = 2 pi beta_slow / L``, ``r = clamp((f - low) / (high - low), 0, 1)``,
    ``f' = f ((1 - r) / scale + r)``. The attention "mscale" is deliberately not computed: the released models'
    RoPE path does not apply it.

    Args:
        inv_freq: float64 ``[n]``.
        original_length: ``L``, the axis length the model was first trained at.
    Returns:
        float64 ``[n]``.
    """
    high = 2 * math.pi * yarn.beta_fast / original_length
    low = 2 * math.pi * yarn.beta_slow / original_length
    ramp = ((inv_freq - low) / (high - low)).clamp(0.0, 1.0)
    return inv_freq * ((1.0 - ramp) / yarn.scale + ramp)


def rope_inverse_frequencies(
    head_dim: int, *, theta: float = 500000.0, yarn: YarnConfig | None = None
) -> tuple[Tensor, Tensor]:
    """Temporal and spatial inverse frequencies, float64 (spec §3.5, §3.6).

    ``f_t[k] = theta^(-2k / dim_t)`` (``dim_t / 2`` values), ``f_s[k] = theta^(-2k / dim_h)`` (``dim_h / 2``
    values, shared by the h and w axes). With ``yarn``, the temporal set is ramped with ``L = T_orig`` and the
    spatial set with ``L = H_orig``.

    Returns:
        ``(temporal [dim_t // 2], spatial [dim_h // 2])``, float64.
    """
    dim_t, dim_h, _ = rope_split(head_dim)
    temporal = theta ** (-torch.arange(0, dim_t, 2, dtype=torch.float64) / dim_t)
    spatial = theta ** (-torch.arange(0, dim_h, 2, dtype=torch.float64) / dim_h)
    if yarn is not None:
        t_orig, h_orig, _ = yarn.original_latent_shape
        temporal = yarn_rescale(temporal, original_length=t_orig, yarn=yarn)
        spatial = yarn_rescale(spatial, original_length=h_orig, yarn=yarn)
    return temporal, spatial


def grid_positions(latent_shape: Sequence[int]) -> Tensor:
    """``(t, h, w)`` of every video token in raster order (time slowest), int64 ``[T * H * W, 3]`` (spec §2.2)."""
    frames, height, width = latent_shape
    t, h, w = torch.meshgrid(torch.arange(frames), torch.arange(height), torch.arange(width), indexing="ij")
    return torch.stack([t.reshape(-1), h.reshape(-1), w.reshape(-1)], dim=-1)


def rope_table(
    head_dim: int,
    latent_shape: Sequence[int],
    max_seq_len: int,
    *,
    theta: float = 500000.0,
    yarn: YarnConfig | None = None,
    has_bov: bool = False,
) -> tuple[Tensor, Tensor]:
    """cos/sin tables of the 3D RoPE, float32 ``[max_seq_len, head_dim]`` each (spec §3.5).

    Angles of video token ``(t, h, w)``: ``a = [t * f_t, h * f_s, w * f_s]`` (``head_dim / 2`` values), laid out
    as ``[a, a]`` for the rotate-half convention. Computed in float64, returned as float32. Row 0 is the identity
    when ``has_bov``; rows past the last token are the identity.

    Raises:
        ValueError: if the sequence (``T * H * W`` plus the ``<bov>``) does not fit in ``max_seq_len``.
    """
    temporal, spatial = rope_inverse_frequencies(head_dim, theta=theta, yarn=yarn)
    grid = grid_positions(latent_shape).to(torch.float64)  # [N, 3]
    angles = torch.cat(
        [grid[:, :1] * temporal, grid[:, 1:2] * spatial, grid[:, 2:3] * spatial], dim=-1
    )  # [N, head_dim / 2]
    offset = int(has_bov)
    if offset + angles.shape[0] > max_seq_len:
        raise ValueError(f"{offset + angles.shape[0]} positions do not fit in max_seq_len={max_seq_len}")
    table = torch.zeros(max_seq_len, head_dim // 2, dtype=torch.float64)
    table[offset : offset + angles.shape[0]] = angles
    table = torch.cat([table, table], dim=-1)  # [max_seq_len, head_dim]
    return table.cos().float(), table.sin().float()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate-half RoPE (GPT-NeoX convention; channel ``i`` pairs with ``i + D/2``), spec §3.5.

    Args:
        x: ``[B, S, heads, D]``.
        cos, sin: ``[S, D]`` (or broadcastable ``[B, S, 1, D]``), cast to ``x.dtype`` before use as the
            reference does.
    Returns:
        ``[B, S, heads, D]``, same dtype as ``x``.
    """
    if cos.dim() == 2:
        cos, sin = cos[None, :, None, :], sin[None, :, None, :]  # [S, D] -> [1, S, 1, D]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    first, second = x.chunk(2, dim=-1)
    rotated = torch.cat([-second, first], dim=-1)
    return x * cos + rotated * sin


def ape_split(dim: int) -> tuple[int, int, int]:
    """Model-dim split ``(dim_t, dim_h, dim_w)`` of the 3D APE: ``dim_h = dim_w = (dim // 6) * 2`` (spec §3.7).

    Example: 4096 -> (1368, 1364, 1364); 5120 -> (1708, 1706, 1706).
    """
    dim_spatial = (dim // 6) * 2
    return dim - 2 * dim_spatial, dim_spatial, dim_spatial


def sincos_1d(dim: int, positions: Tensor) -> Tensor:
    """1-D sinusoidal embedding ``[sin(p w_0..), cos(p w_0..)]`` with ``w_k = 10000^(-k / (dim/2))`` (spec §3.7).

    Args:
        dim: even embedding width.
        positions: ``[N]`` integer positions.
    Returns:
        float64 ``[N, dim]`` (all sines, then all cosines; not interleaved).
    """
    omega = 10000.0 ** (-torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    angles = positions.to(torch.float64)[:, None] * omega  # [N, dim/2]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


def ape_table(dim: int, latent_shape: Sequence[int], max_seq_len: int, *, has_bov: bool = False) -> Tensor:
    """3D sinusoidal absolute position embedding, **bfloat16** ``[max_seq_len, dim]`` (spec §3.7).

    Token ``(t, h, w)`` gets ``[sincos(t) (dim_t), sincos(h) (dim_h), sincos(w) (dim_w)]``, computed in float64
    and rounded to bfloat16 (the reference keeps the table in bfloat16 even for float32 models; adding it to a
    float32 residual stream promotes the bf16 values exactly). Row 0 (``<bov>``) and padding rows are zero.
    """
    dim_t, dim_h, dim_w = ape_split(dim)
    grid = grid_positions(latent_shape)
    rows = torch.cat(
        [sincos_1d(dim_t, grid[:, 0]), sincos_1d(dim_h, grid[:, 1]), sincos_1d(dim_w, grid[:, 2])], dim=-1
    )  # [N, dim]
    offset = int(has_bov)
    if offset + rows.shape[0] > max_seq_len:
        raise ValueError(f"{offset + rows.shape[0]} positions do not fit in max_seq_len={max_seq_len}")
    table = torch.zeros(max_seq_len, dim, dtype=torch.float64)
    table[offset : offset + rows.shape[0]] = rows
    return table.to(torch.bfloat16)
