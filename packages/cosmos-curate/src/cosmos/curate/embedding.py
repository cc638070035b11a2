"""Clip embedders for deduplication, as plugins (spec/curation.md §6).

The reference embeds clips with InternVideo2 or Cosmos-Embed1 (weights not reachable offline). The
offline embedder here, :class:`ColourThumbnailEmbedder` (``"colour-thumbnail-v1"``), is a cheap
**appearance** signature, not a semantic embedding: it finds copies, re-encodes and near-identical
shots, not "the same kind of scene". A model embedder is any object with ``name``, ``dim`` and
``embed(frames) -> float32 [dim]`` (unit norm).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from cosmos.curate.config import EmbeddingConfig
from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import VideoTask

__all__ = ["ClipEmbedder", "ColourThumbnailEmbedder", "EmbeddingStage", "make_embedder"]


class ClipEmbedder(Protocol):
    """``name``, ``dim`` and ``embed(frames uint8 [N, H, W, 3]) -> float32 [dim]`` with unit L2 norm."""

    name: str
    dim: int

    def embed(self, frames: np.ndarray) -> np.ndarray:  # pragma: no cover - protocol
        """Embed one clip's sampled frames."""


class ColourThumbnailEmbedder:
    """Offline appearance signature (576-d): 16x16 grey thumbnails, their change over time, a 4x4x4 colour histogram.

    Parts, each centred/L2-normalised, then weighted and concatenated:

    * 256: mean over frames of the 16x16 grey thumbnail (area-resampled), mean-subtracted (weight 0.8);
    * 256: per-frame grey-thumbnail change (|frame t+1 - frame t|), mean over time (weight 0.3);
    * 64: sqrt of the 4x4x4 RGB histogram pooled over frames, minus its uniform value (weight 0.5).

    Values: float32 ``[576]`` with unit norm (a zero vector only for an empty clip).
    """

    name = "colour-thumbnail-v1"
    dim = 576

    @staticmethod
    def _unit(x: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(x)
        return x / norm if norm > 1e-12 else np.zeros_like(x)

    def embed(self, frames: np.ndarray) -> np.ndarray:
        if frames.shape[0] == 0:
            return np.zeros(self.dim, np.float32)
        video = (
            torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
        )  # [N, 3, H, W]
        grey = (video * torch.tensor([0.299, 0.587, 0.114])[None, :, None, None]).sum(1, keepdim=True)
        thumbs = (
            F.adaptive_avg_pool2d(grey, (16, 16))[:, 0].reshape(len(frames), -1).numpy().astype(np.float64)
        )
        mean_thumb = thumbs.mean(0)
        appearance = self._unit(mean_thumb - mean_thumb.mean())
        change = np.abs(np.diff(thumbs, axis=0)).mean(0) if len(thumbs) > 1 else np.zeros(256)
        change = self._unit(change)
        bins = (frames.reshape(-1, 3).astype(np.int64) >> 6) @ np.array([16, 4, 1])
        histogram = np.sqrt(np.bincount(bins, minlength=64) / bins.size)
        colour = self._unit(histogram - histogram.mean())
        vector = np.concatenate([0.8 * appearance, 0.3 * change, 0.5 * colour])
        return self._unit(vector).astype(np.float32)


def make_embedder(config: EmbeddingConfig) -> ClipEmbedder:
    """The embedder named by ``config.embedder``; raises ``ValueError`` for an unknown name."""
    if config.embedder == ColourThumbnailEmbedder.name:
        return ColourThumbnailEmbedder()
    raise ValueError(f"unknown embedder {config.embedder!r}; offline: {ColourThumbnailEmbedder.name!r}")


class EmbeddingStage(Stage):
    """Embed every kept clip from ``clip.frames`` (sets ``clip.embedding`` and ``clip.embedding_model``)."""

    name = "embed"
    resources = Resources(cpus=0.5)

    def __init__(self, config: EmbeddingConfig) -> None:
        self.config = config
        self.embedder = make_embedder(config)

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        for task in tasks:
            for clip in task.clips:
                if clip.frames is None:
                    continue
                clip.embedding = self.embedder.embed(clip.frames)
                clip.embedding_model = self.embedder.name
        return tasks
