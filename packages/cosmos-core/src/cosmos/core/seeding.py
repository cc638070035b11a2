"""Seeding that does not depend on the device.

Random draws that decide a result (initial noise, sampling) are made on the CPU with an explicit
``torch.Generator`` and then moved, so the same seed gives the same video on CPU, MPS and CUDA.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["make_generator", "randn"]


def make_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (an int in ``[0, 2**63)``).

    Raises:
        ValueError: ``seed`` is not a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    return torch.Generator(device="cpu").manual_seed(seed)


def randn(
    shape: Sequence[int],
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Standard normal samples of ``shape`` drawn in float32 on the CPU, then moved to ``device``/``dtype``."""
    sample = torch.randn(tuple(shape), generator=generator, dtype=torch.float32, device="cpu")
    return sample.to(device=device, dtype=dtype)
