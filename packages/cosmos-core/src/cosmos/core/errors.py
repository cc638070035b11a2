"""Exceptions shared by every cosmos package.

Each error names the problem it reports (which tensor, which key, which file), so that bad input
fails early and clearly instead of producing a silently wrong answer deep inside a model.
"""

from __future__ import annotations

__all__ = ["CosmosError", "ShapeError", "CheckpointError", "GatedRepoError", "ConfigError"]


class CosmosError(Exception):
    """Base class of every error raised on purpose by a cosmos package."""


class ShapeError(CosmosError, ValueError):
    """A tensor has the wrong shape, frame count, spatial size, dtype or value range.

    Subclasses :class:`ValueError`, so ``except ValueError`` keeps working for callers that do not
    know about cosmos.
    """


class CheckpointError(CosmosError, RuntimeError):
    """A checkpoint cannot be loaded: missing, unexpected or mis-shaped keys, or a corrupt file."""


class GatedRepoError(CheckpointError):
    """A Hugging Face Hub repository is gated: accept its licence on the Hub and set ``HF_TOKEN``."""


class ConfigError(CosmosError, ValueError):
    """A config or metadata file is missing, invalid, or inconsistent."""
