"""Per-channel, per-frame latent statistics used by the Cosmos world models (spec §7.2).

``mean_std.pt`` (Cosmos-1.0-Tokenizer-CV8x8x8, Cosmos-Tokenize1-CV8x8x8-720p) holds a pair (mean, std) of
256 values each: 16 channels x 16 latent frames, channel-major (index ``c*16 + t``). The diffusion world
models normalise latents as ``(z - mean) / std * sigma_data`` (sigma_data = 0.5) and invert that before
decoding. diffusers stores the same numbers as ``latents_mean`` / ``latents_std`` in the VAE config.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from cosmos.core import CheckpointError, ShapeError


@dataclass(frozen=True, eq=False)
class LatentStatistics:
    """Latent mean and standard deviation per channel and latent frame.

    Attributes:
        mean: float ``[C, T_max]`` (16 x 16 for the released CV8x8x8 tokenizers).
        std: float ``[C, T_max]``, positive.
    """

    mean: Tensor
    std: Tensor

    def __post_init__(self) -> None:
        if self.mean.shape != self.std.shape or self.mean.ndim != 2:
            raise ShapeError(
                f"latent statistics must be two [C, T] tensors, got {tuple(self.mean.shape)} / {tuple(self.std.shape)}"
            )

    @classmethod
    def from_flat(cls, mean: Sequence[float] | Tensor, std: Sequence[float] | Tensor, channels: int = 16):
        """From flat channel-major vectors of ``channels * T`` values (``mean_std.pt`` / diffusers config)."""
        mean = torch.as_tensor(mean, dtype=torch.float32).reshape(channels, -1)
        std = torch.as_tensor(std, dtype=torch.float32).reshape(channels, -1)
        return cls(mean, std)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LatentStatistics:
        """Read ``mean_std.pt`` (``torch.load(weights_only=True)``), a diffusers VAE ``config.json`` with
        ``latents_mean``/``latents_std``, or a folder holding either.

        Raises:
            CheckpointError: missing or unreadable file, or no statistics in it.
        """
        path = Path(path)
        if path.is_dir():
            for candidate in (path / "mean_std.pt", path / "vae" / "config.json", path / "config.json"):
                if candidate.is_file():
                    try:
                        return cls.load(candidate)
                    except CheckpointError:
                        continue
            raise CheckpointError(f"no latent statistics (mean_std.pt or diffusers latents_mean) in {path}")
        if not path.is_file():
            raise CheckpointError(f"no such file {path}")
        if path.suffix == ".json":
            document = json.loads(path.read_text())
            if document.get("latents_mean") is None or document.get("latents_std") is None:
                raise CheckpointError(f"{path} has no latents_mean/latents_std")
            return cls.from_flat(document["latents_mean"], document["latents_std"])
        try:
            loaded = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as error:
            raise CheckpointError(
                f"{path} cannot be read with torch.load(weights_only=True): {error}"
            ) from error
        if isinstance(loaded, dict):
            loaded = (loaded.get("mean"), loaded.get("std"))
        if (
            not isinstance(loaded, (tuple, list))
            or len(loaded) != 2
            or not all(isinstance(t, Tensor) for t in loaded)
        ):
            raise CheckpointError(f"{path} must hold a (mean, std) pair of tensors")
        return cls.from_flat(loaded[0].flatten(), loaded[1].flatten())

    def _broadcast(self, z: Tensor) -> tuple[Tensor, Tensor]:
        if z.ndim != 5 or z.shape[1] != self.mean.shape[0]:
            raise ShapeError(f"expected a latent [B, {self.mean.shape[0]}, T', H', W'], got {tuple(z.shape)}")
        frames = z.shape[2]
        if frames > self.mean.shape[1]:
            raise ShapeError(f"statistics cover {self.mean.shape[1]} latent frames, latent has {frames}")
        mean = self.mean[:, :frames].to(z.device, z.dtype)[None, :, :, None, None]  # [1, C, T', 1, 1]
        std = self.std[:, :frames].to(z.device, z.dtype)[None, :, :, None, None]
        return mean, std

    def normalize(self, z: Tensor, sigma_data: float = 0.5) -> Tensor:
        """``(z - mean) / std * sigma_data`` for a latent ``[B, C, T', H', W']`` (T' <= T_max)."""
        mean, std = self._broadcast(z)
        return (z - mean) / std * sigma_data

    def denormalize(self, z: Tensor, sigma_data: float = 0.5) -> Tensor:
        """Inverse of :meth:`normalize`."""
        mean, std = self._broadcast(z)
        return z / sigma_data * std + mean
