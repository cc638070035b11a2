"""Finite Scalar Quantization (Mentzer et al. 2023) as used by the Cosmos DV/DI tokenizers (spec §8).

Levels ``L = (8, 8, 8, 5, 5, 5)`` give a vocabulary of 8^3 * 5^3 = 64,000 codes. Per channel d of the
``quant_conv`` output z:

1. bound: ``half_l = (L-1)(1+eps)/2`` (eps = 1e-3), ``offset = 0.5`` for even L else 0,
   ``shift = atanh(offset / half_l)``, ``b = tanh(z + shift) * half_l - offset``;
2. round to the nearest integer q (half to even, straight-through gradient);
3. code = ``q / (L // 2)``.

Index: digits ``g_d = q_d + L_d // 2`` combined little-endian with ``basis = cumprod([1] + L[:-1])``
(``(1, 8, 64, 512, 2560, 12800)``), so indices lie in ``[0, 64000)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor

from cosmos.core import ShapeError


class FSQ(nn.Module):
    """Finite Scalar Quantizer with index <-> code tables (spec §8). No learned parameters.

    Args:
        levels: number of levels per code dimension, e.g. ``(8, 8, 8, 5, 5, 5)``.
        eps: the bound's margin (1e-3 in the reference).

    Codes keep the channel axis at dim 1 (``[B, D, ...]``, D = ``len(levels)``); indices drop it
    (``[B, ...]``, int64).
    """

    def __init__(self, levels: tuple[int, ...] = (8, 8, 8, 5, 5, 5), eps: float = 1e-3) -> None:
        super().__init__()
        self.levels = tuple(int(level) for level in levels)
        self.eps = eps
        self.dim = len(self.levels)
        self.vocab_size = math.prod(self.levels)
        self._init_non_persistent_buffers()

    def _init_non_persistent_buffers(self) -> None:
        levels = torch.tensor(self.levels, dtype=torch.int64)
        basis = torch.cumprod(torch.tensor((1,) + self.levels[:-1], dtype=torch.int64), dim=0)
        device = None
        if hasattr(self, "_levels") and self._levels.device.type != "meta":
            device = self._levels.device
        self.register_buffer("_levels", levels.to(device), persistent=False)
        self.register_buffer("_basis", basis.to(device), persistent=False)
        # Float constants of the bound stay Python floats (not buffers), so that model.to(bfloat16) cannot
        # round them: half_l = 3.5035 would become 3.5 in bf16 and move the rounding boundaries.
        self._half_l = tuple((level - 1) * (1 + self.eps) / 2 for level in self.levels)
        self._offset = tuple(0.5 if level % 2 == 0 else 0.0 for level in self.levels)
        self._shift = tuple(math.atanh(o / h) for o, h in zip(self._offset, self._half_l))
        self._half_width = tuple(float(level // 2) for level in self.levels)

    def _per_channel(
        self, values: tuple[float, ...], like: Tensor, dtype: torch.dtype | None = None
    ) -> Tensor:
        """A float32 constant per code dimension, shaped to broadcast against ``like`` ([B, D, ...])."""
        table = torch.tensor(values, dtype=torch.float32, device=like.device)
        return table.to(dtype or like.dtype).view(1, self.dim, *([1] * (like.ndim - 2)))

    def _check(self, z: Tensor) -> None:
        if z.ndim < 2 or z.shape[1] != self.dim:
            raise ShapeError(f"FSQ expects [B, {self.dim}, ...] (channel axis 1), got {tuple(z.shape)}")

    def bound(self, z: Tensor) -> Tensor:
        """tanh bound (step 1): float ``[B, D, ...]`` -> same shape, values in ``(-L/2 - eps', L/2)``."""
        self._check(z)
        half_l = self._per_channel(self._half_l, z)
        offset = self._per_channel(self._offset, z)
        shift = self._per_channel(self._shift, z)
        return torch.tanh(z + shift) * half_l - offset

    def quantize(self, z: Tensor) -> Tensor:
        """Codes of ``z``: float ``[B, D, ...]`` -> float ``[B, D, ...]`` with values ``q / (L//2)``.

        Straight-through: the gradient w.r.t. ``z`` is the gradient of the bound.
        """
        bounded = self.bound(z)
        rounded = bounded + (torch.round(bounded) - bounded).detach()
        return rounded / self._per_channel(self._half_width, z)

    def codes_to_indices(self, codes: Tensor) -> Tensor:
        """float codes ``[B, D, ...]`` -> int64 indices ``[B, ...]`` in ``[0, vocab_size)``."""
        self._check(codes)
        half_width = self._per_channel(self._half_width, codes, torch.float32)
        digits = torch.round(codes.float() * half_width + half_width).to(torch.int64)
        basis = self._basis.view(1, self.dim, *([1] * (codes.ndim - 2)))
        return (digits * basis).sum(dim=1)

    def indices_to_codes(self, indices: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
        """integer indices ``[B, ...]`` in ``[0, vocab_size)`` -> codes ``[B, D, ...]`` in ``dtype``.

        Raises:
            ShapeError: non-integer dtype or values outside ``[0, vocab_size)``.
        """
        if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype == torch.bool:
            raise ShapeError(f"FSQ indices must be an integer tensor, got {indices.dtype}")
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= self.vocab_size):
            raise ShapeError(
                f"FSQ indices must lie in [0, {self.vocab_size}), got range "
                f"[{int(indices.min())}, {int(indices.max())}]"
            )
        indices = indices.to(torch.int64).unsqueeze(1)  # [B, 1, ...]
        shape = (1, self.dim, *([1] * (indices.ndim - 2)))
        digits = (indices // self._basis.view(shape)) % self._levels.view(shape)
        half_width = self._per_channel(self._half_width, digits, torch.float32)
        return ((digits.to(torch.float32) - half_width) / half_width).to(dtype)

    def codebook(self) -> Tensor:
        """All code vectors, float32 ``[vocab_size, D]`` (the reference's ``implicit_codebook``)."""
        indices = torch.arange(self.vocab_size, device=self._basis.device)
        return self.indices_to_codes(indices.unsqueeze(0)).squeeze(0).transpose(0, 1)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Quantize: float ``[B, D, ...]`` -> (int64 indices ``[B, ...]``, float codes ``[B, D, ...]``)."""
        codes = self.quantize(z)
        return self.codes_to_indices(codes.detach()), codes
