"""Position encodings of the Cosmos DiT: 3D-factorised RoPE and the learnable per-block absolute embedding.

Spec §5 (``shared/spec/diffusion.md``); fixtures ``rope_hd128`` and ``*.net`` ``mid.rope_angles`` /
``mid.extra_pos_emb``. Token order everywhere is t-major: ``index = t * H' * W' + h * W' + w``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def rope_axis_dims(head_dim: int) -> tuple[int, int, int]:
    """Split of the head dim among (t, h, w): ``d_h = d_w = floor(hd/6)*2``, ``d_t = hd - 2 d_h`` (spec §5.1).

    ``head_dim = 128`` gives ``(44, 42, 42)``.
    """
    dim_hw = head_dim // 6 * 2
    return head_dim - 2 * dim_hw, dim_hw, dim_hw


def rope_axis_angles(
    num_positions: int,
    axis_dim: int,
    scale: float,
    *,
    fps: Tensor | float | None = None,
    base_fps: float = 24.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Angles ``position * omega_j`` for one axis, ``[num_positions, axis_dim // 2]`` float32.

    ``omega_j = theta^(-2j/d)`` with the NTK-scaled base ``theta = 10000 * scale^(d/(d-2))`` (spec §5.2).
    With ``fps`` (temporal axis only) positions are ``index / fps * base_fps``.

    ``dtype`` is the arithmetic precision: float32 (diffusers, our default) or bfloat16 to reproduce
    the official bf16 inference bit-exactly (fixture README §3c: the exponent range is made in float32
    then cast; every later op rounds to ``dtype``).
    """
    theta = 10000.0 * scale ** (axis_dim / (axis_dim - 2))
    exponent = (torch.arange(0, axis_dim, 2, device=device)[: axis_dim // 2].float() / axis_dim).to(dtype)
    freqs = 1.0 / (theta**exponent)
    positions = torch.arange(num_positions, device=device, dtype=torch.float32).to(dtype)
    if fps is not None:
        fps = torch.as_tensor(fps, device=device).reshape(-1)[:1].to(dtype)
        positions = positions / fps * base_fps
    return torch.outer(positions, freqs).float()


def rope_angles(
    grid: tuple[int, int, int],
    head_dim: int,
    scale: tuple[float, float, float],
    *,
    fps: Tensor | float | None = None,
    base_fps: float = 24.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Full 3D RoPE angle table ``[T'*H'*W', head_dim]`` float32 (spec §5.1-5.2).

    Row ``t*H'W' + h*W' + w`` is ``[t*omega_t, h*omega_h, w*omega_w]`` (``d_t/2, d_h/2, d_w/2`` columns)
    duplicated to ``head_dim`` (rotate-half layout). ``fps`` (a scalar or ``[B]``; only the first entry is
    used, as the reference does) rescales time; ``fps=None`` uses plain indices (images).
    """
    frames, height, width = grid
    dim_t, dim_h, dim_w = rope_axis_dims(head_dim)
    kwargs = {"dtype": dtype, "device": device}
    angles_t = rope_axis_angles(frames, dim_t, scale[0], fps=fps, base_fps=base_fps, **kwargs)
    angles_h = rope_axis_angles(height, dim_h, scale[1], **kwargs)
    angles_w = rope_axis_angles(width, dim_w, scale[2], **kwargs)
    table = torch.cat(
        [
            angles_t[:, None, None, :].expand(frames, height, width, -1),
            angles_h[None, :, None, :].expand(frames, height, width, -1),
            angles_w[None, None, :, :].expand(frames, height, width, -1),
        ],
        dim=-1,
    )  # [T', H', W', head_dim/2]
    table = table.reshape(frames * height * width, head_dim // 2)
    return torch.cat([table, table], dim=-1)


def rotate_half(x: Tensor) -> Tensor:
    """``[x1, x2] -> [-x2, x1]`` over the two halves of the last dim (GPT-NeoX / TE non-interleaved)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate ``x [B, heads, L, head_dim]`` by precomputed ``cos/sin [L, head_dim]`` in float32 (spec §5.1).

    Returns ``x``'s dtype (TE's fused kernel also rotates in float32 and casts back).
    """
    x_float = x.float()
    return (x_float * cos + rotate_half(x_float) * sin).to(x.dtype)


class LearnablePosEmbed(nn.Module):
    """Learnable per-axis absolute position embedding, RMS-normalised (spec §5.3; official "learnable" type).

    Tables ``pos_emb_t [max_t, D]``, ``pos_emb_h [max_h, D]``, ``pos_emb_w [max_w, D]`` are cropped to the
    token grid (no interpolation) and summed per token; the sum is normalised to unit RMS:
    ``E / (1e-6 + ||E||_2 / sqrt(D))``. The DiT adds it at the start of every block.
    """

    def __init__(self, max_grid: tuple[int, int, int], dim: int) -> None:
        super().__init__()
        self.pos_emb_t = nn.Parameter(torch.empty(max_grid[0], dim))
        self.pos_emb_h = nn.Parameter(torch.empty(max_grid[1], dim))
        self.pos_emb_w = nn.Parameter(torch.empty(max_grid[2], dim))
        for table in (self.pos_emb_t, self.pos_emb_h, self.pos_emb_w):
            nn.init.trunc_normal_(table, std=0.02)

    def forward(self, grid: tuple[int, int, int]) -> Tensor:
        """Token grid ``(T', H', W')`` -> embedding ``[T'*H'*W', D]`` (parameter dtype, norm in float32)."""
        frames, height, width = grid
        emb = (
            self.pos_emb_t[:frames, None, None, :]
            + self.pos_emb_h[None, :height, None, :]
            + self.pos_emb_w[None, None, :width, :]
        )  # [T', H', W', D]
        norm = torch.linalg.vector_norm(emb, dim=-1, keepdim=True, dtype=torch.float32)
        norm = torch.add(1e-6, norm, alpha=math.sqrt(1.0 / emb.shape[-1]))
        return (emb / norm.to(emb.dtype)).reshape(frames * height * width, -1)
