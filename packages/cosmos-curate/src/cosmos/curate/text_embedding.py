"""Caption text embeddings for the shards (spec/curation.md §9 step 2: T5-XXL per caption window).

The reference encodes every window's caption with the T5-XXL encoder (``google-t5/t5-11b``), pads or
truncates to 512 tokens and keeps the first ``length`` rows (the real tokens): float16 ``[L, 1024]`` per
window. :class:`T5TextEncoder` does the same through ``transformers`` (extra ``[t5]``-style, weights
from the Hub or a local folder). Any object with ``name`` and ``encode(texts) -> list[float16 [L, D]]``
can replace it. The writer stores them as ``text_embeddings/{clip-id}.npz`` (``window_{i}`` arrays) and
the shards as ``{key}.t5_xxl.npz``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from cosmos.curate.config import TextEmbeddingConfig
from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import VideoTask

__all__ = ["TextEncoder", "T5TextEncoder", "TextEmbeddingStage"]


class TextEncoder(Protocol):
    """``name`` (shard member name, e.g. ``"t5_xxl"``) and ``encode(texts) -> list of float16 [L_i, D]``."""

    name: str

    def encode(self, texts: list[str]) -> list[np.ndarray]:  # pragma: no cover - protocol
        """Embed each text; row count = its number of tokens (padding removed)."""


class T5TextEncoder:
    """Caption embeddings with :class:`cosmos.core.text.T5TextEncoder`: float16 ``[L, D]`` per text, padding
    removed (L = token count with EOS, at most ``max_length``). Loads lazily (in the stage's ``setup``), in
    bfloat16 on GPU and float32 on CPU.

    Raises:
        ImportError: transformers is missing (on first use).
    """

    name = "t5_xxl"

    def __init__(
        self, model: str = "google-t5/t5-11b", max_length: int = 512, device: str | None = None
    ) -> None:
        self.model_name, self.max_length = model, max_length
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._encoder = None

    def setup(self) -> None:
        """Load tokenizer and encoder."""
        from cosmos.core.text import T5TextEncoder as CoreT5

        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self._encoder = CoreT5.from_pretrained(
            self.model_name, max_length=self.max_length, device=self.device, dtype=dtype
        )

    @torch.no_grad()
    def encode(self, texts: list[str]) -> list[np.ndarray]:
        if self._encoder is None:
            self.setup()
        hidden, lengths = self._encoder.encode(texts, return_lengths=True)
        return [hidden[i, : int(n)].to(torch.float16).cpu().numpy() for i, n in enumerate(lengths.tolist())]


class TextEmbeddingStage(Stage):
    """Embed the first caption of every window of every kept clip (``window.text_embedding[name]``)."""

    name = "text_embed"
    resources = Resources(cpus=1.0, gpus=1.0)

    def __init__(self, config: TextEmbeddingConfig, encoder: TextEncoder | None = None) -> None:
        self.config = config
        self.encoder = encoder or T5TextEncoder(config.model, config.max_length)

    def setup(self) -> None:
        if hasattr(self.encoder, "setup"):
            self.encoder.setup()

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        for task in tasks:
            for clip in task.clips:
                windows = [w for w in clip.windows if w.caption]
                if not windows:
                    continue
                embeddings = self.encoder.encode([next(iter(w.caption.values())) for w in windows])
                for window, embedding in zip(windows, embeddings):
                    window.text_embedding[self.encoder.name] = np.asarray(embedding, np.float16)
        return tasks
