"""The diffusion world model's text encoder: :class:`cosmos.core.text.T5TextEncoder` (spec §6), re-exported."""

from cosmos.core.text import MAX_LENGTH, T5_NAME, T5TextEncoder

__all__ = ["MAX_LENGTH", "T5_NAME", "T5TextEncoder"]
