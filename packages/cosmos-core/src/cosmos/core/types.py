"""The tensor types through which cosmos packages compose (design.md section 2).

* video: ``float`` tensor ``[B, 3, T, H, W]`` with values in ``[-1, 1]`` (NVIDIA's convention);
* :class:`Latent`: a continuous tokenizer latent ``[B, C, T', H', W']`` (``[B, C, H', W']`` for image
  tokenizers) with the compression factors that produced it;
* :class:`TokenGrid`: discrete token indices ``int64 [B, T', H', W']`` (``[B, H', W']`` for images) in
  ``[0, vocab_size)``, with optional quantized codes;
* :class:`VideoTokenizer`: the protocol every tokenizer satisfies, so that a world model can take any
  tokenizer (``DiffusionWFM(tokenizer=...)``, ``ARWFM(tokenizer=...)``).

For a causal video tokenizer with temporal compression ``t`` a clip of ``T = 1 + k*t`` frames maps to
``T' = 1 + k`` latent frames (Cosmos paper, section 3.1).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from cosmos.core.errors import ShapeError

__all__ = ["Latent", "TokenGrid", "VideoTokenizer", "check_video"]


def _check_factor(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ShapeError(f"{name} must be a positive int, got {value!r}")


@dataclass(frozen=True, eq=False)
class Latent:
    """A continuous latent produced by a tokenizer's encoder.

    Args:
        z: floating tensor ``[B, C, T', H', W']`` (video) or ``[B, C, H', W']`` (image tokenizers).
        temporal_compression: frames per latent frame after the first (1 for image tokenizers).
        spatial_compression: pixels per latent pixel along H and W.
        tokenizer_name: optional name of the tokenizer that made it (for provenance).

    Raises:
        ShapeError: ``z`` is not a 4-D/5-D floating tensor, or a factor is not a positive int.
    """

    z: torch.Tensor
    temporal_compression: int
    spatial_compression: int
    tokenizer_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.z, torch.Tensor):
            raise ShapeError(f"Latent.z must be a torch.Tensor, got {type(self.z).__name__}")
        if self.z.ndim not in (4, 5):
            raise ShapeError(
                f"Latent.z must be [B, C, T', H', W'] (video) or [B, C, H', W'] (image), got shape {tuple(self.z.shape)}"
            )
        if not self.z.is_floating_point():
            raise ShapeError(f"Latent.z must be floating point, got {self.z.dtype}")
        _check_factor("temporal_compression", self.temporal_compression)
        _check_factor("spatial_compression", self.spatial_compression)

    @property
    def is_image(self) -> bool:
        """True for an image latent ``[B, C, H', W']``."""
        return self.z.ndim == 4

    @property
    def batch_size(self) -> int:
        return self.z.shape[0]

    @property
    def channels(self) -> int:
        return self.z.shape[1]

    @property
    def shape(self) -> torch.Size:
        return self.z.shape

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Latent:
        """Return a copy with ``z`` moved to ``device`` and/or cast to ``dtype``."""
        return dataclasses.replace(self, z=self.z.to(device=device, dtype=dtype))

    def replace(self, **changes) -> Latent:
        """Return a copy with the given fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, eq=False)
class TokenGrid:
    """Discrete tokens produced by a discrete tokenizer (e.g. FSQ indices).

    Args:
        indices: ``int64`` tensor ``[B, T', H', W']`` (video) or ``[B, H', W']`` (image), values in
            ``[0, vocab_size)``. Other integer dtypes are rejected: convert with ``.long()``.
        vocab_size: number of distinct tokens (64,000 for FSQ levels 8,8,8,5,5,5).
        temporal_compression, spatial_compression: as in :class:`Latent`.
        codes: optional floating tensor ``[B, D, T', H', W']`` / ``[B, D, H', W']`` of quantized codes.
        tokenizer_name: optional provenance.

    Raises:
        ShapeError: wrong rank or dtype, an index outside ``[0, vocab_size)``, or codes whose batch and
            grid dimensions do not match ``indices``.
    """

    indices: torch.Tensor
    vocab_size: int
    temporal_compression: int
    spatial_compression: int
    codes: torch.Tensor | None = None
    tokenizer_name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.indices, torch.Tensor):
            raise ShapeError(f"TokenGrid.indices must be a torch.Tensor, got {type(self.indices).__name__}")
        if self.indices.ndim not in (3, 4):
            raise ShapeError(
                "TokenGrid.indices must be [B, T', H', W'] (video) or [B, H', W'] (image), "
                f"got shape {tuple(self.indices.shape)}"
            )
        if self.indices.dtype != torch.int64:
            raise ShapeError(f"TokenGrid.indices must be int64, got {self.indices.dtype}")
        _check_factor("vocab_size", self.vocab_size)
        _check_factor("temporal_compression", self.temporal_compression)
        _check_factor("spatial_compression", self.spatial_compression)
        if self.indices.numel() and self.indices.device.type != "meta":
            low, high = int(self.indices.min()), int(self.indices.max())
            if low < 0 or high >= self.vocab_size:
                raise ShapeError(
                    f"TokenGrid.indices must lie in [0, {self.vocab_size}), got values in [{low}, {high}]"
                )
        if self.codes is not None:
            if not isinstance(self.codes, torch.Tensor) or not self.codes.is_floating_point():
                raise ShapeError("TokenGrid.codes must be a floating torch.Tensor")
            expected = (self.indices.shape[0], *self.indices.shape[1:])
            got = (self.codes.shape[0], *self.codes.shape[2:])
            if self.codes.ndim != self.indices.ndim + 1 or got != expected:
                raise ShapeError(
                    f"TokenGrid.codes shape {tuple(self.codes.shape)} does not match indices shape "
                    f"{tuple(self.indices.shape)} (expected [B, D, *grid])"
                )

    @property
    def is_image(self) -> bool:
        """True for an image token grid ``[B, H', W']``."""
        return self.indices.ndim == 3

    @property
    def batch_size(self) -> int:
        return self.indices.shape[0]

    @property
    def shape(self) -> torch.Size:
        return self.indices.shape

    def to(self, device: torch.device | str | None = None) -> TokenGrid:
        """Return a copy on ``device`` (codes too)."""
        codes = None if self.codes is None else self.codes.to(device)
        return dataclasses.replace(self, indices=self.indices.to(device), codes=codes)

    def replace(self, **changes) -> TokenGrid:
        """Return a copy with the given fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)


@runtime_checkable
class VideoTokenizer(Protocol):
    """What a world model needs from a tokenizer (design.md section 2).

    Attributes:
        temporal_compression: ``t``: ``1 + k*t`` frames encode to ``1 + k`` latent frames.
        spatial_compression: ``s``: an ``H x W`` frame encodes to ``H/s x W/s``.
        latent_channels: channels of the continuous latent (or of the codes of a discrete tokenizer).
    """

    temporal_compression: int
    spatial_compression: int
    latent_channels: int

    def encode(self, video: torch.Tensor) -> Latent | TokenGrid:
        """Encode ``float [B, 3, T, H, W]`` in ``[-1, 1]``."""
        ...

    def decode(self, x: Latent | TokenGrid | torch.Tensor) -> torch.Tensor:
        """Decode to ``float [B, 3, T, H, W]`` in ``[-1, 1]``."""
        ...

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        """``(T', H', W')`` of the latent of a ``num_frames x height x width`` clip."""
        ...

    def valid_num_frames(self, num_frames: int) -> bool:
        """Whether ``num_frames`` can be encoded without padding."""
        ...


def check_video(
    video: torch.Tensor,
    *,
    name: str = "video",
    ndim: int = 5,
    value_range: tuple[float, float] | None = (-1.0, 1.0),
    tolerance: float = 1e-3,
) -> None:
    """Validate a model-facing video (or image) tensor, raising early with a named problem.

    Args:
        video: floating tensor ``[B, 3, T, H, W]`` (``ndim=5``) or ``[B, 3, H, W]`` (``ndim=4``).
        name: how the error message names the tensor.
        ndim: expected rank.
        value_range: expected value range (``None`` skips the check); values may exceed it by ``tolerance``.

    Raises:
        ShapeError: not a tensor, wrong rank, channel count other than 3, a non-floating dtype,
            NaN/inf values, or values outside ``value_range``.
    """
    layout = "[B, 3, T, H, W]" if ndim == 5 else "[B, 3, H, W]"
    if not isinstance(video, torch.Tensor):
        raise ShapeError(f"{name} must be a torch.Tensor {layout}, got {type(video).__name__}")
    if video.ndim != ndim:
        raise ShapeError(f"{name} must be {layout}, got shape {tuple(video.shape)}")
    if video.shape[1] != 3:
        raise ShapeError(f"{name} must have 3 (RGB) channels in dim 1 {layout}, got shape {tuple(video.shape)}")
    if not video.is_floating_point():
        raise ShapeError(
            f"{name} must be a floating tensor with values in [-1, 1], got {video.dtype} "
            "(convert uint8 frames with cosmos.core.frames_to_video)"
        )
    if video.device.type == "meta" or video.numel() == 0:
        return
    if not bool(torch.isfinite(video).all()):
        raise ShapeError(f"{name} contains NaN or inf values")
    if value_range is not None:
        low, high = float(video.min()), float(video.max())
        if low < value_range[0] - tolerance or high > value_range[1] + tolerance:
            raise ShapeError(
                f"{name} values must lie in [{value_range[0]}, {value_range[1]}], got [{low:.4g}, {high:.4g}]"
            )
