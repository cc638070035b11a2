"""Named errors of cosmos.plan: bad planning input fails early and says what is wrong.

Each subclasses a cosmos.core error (and through it ``ValueError``), so ``except ValueError`` and
``except cosmos.core.CosmosError`` keep working.
"""

from __future__ import annotations

from cosmos.core.errors import CosmosError, ShapeError

__all__ = ["ActionSpaceError", "GoalError", "HorizonError", "NonFiniteCostError"]


class ActionSpaceError(ShapeError):
    """The planner's action space does not match the world model's (``action_dim``) or is malformed."""


class HorizonError(ShapeError):
    """A planning horizon the world model cannot roll out (not a positive int, or past its ``max_horizon``)."""


class GoalError(ShapeError):
    """A goal observation of another resolution or layout than the world model's frames."""


class NonFiniteCostError(CosmosError, ValueError):
    """A cost function returned NaN or inf for some candidate (a diverged prediction or a broken cost)."""
