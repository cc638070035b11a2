"""Errors specific to cosmos.guard (on top of cosmos.core's `CosmosError` family)."""

from __future__ import annotations

from cosmos.core import CosmosError

__all__ = ["GuardConfigError"]


class GuardConfigError(CosmosError, ValueError):
    """A guard is configured in a way that cannot work: an empty keyword list, an unknown preset or guard
    name, an invalid option. Raised at construction, never swallowed."""
