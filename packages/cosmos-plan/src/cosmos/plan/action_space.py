"""Action spaces: per-component bounds, a translation step cap and binary components (a gripper).

Every candidate a planner scores is first projected into the space (:meth:`ActionSpace.project`): clamped to
``[low, high]`` per component, its translation ``actions[..., translation]`` scaled down to at most
``step_cap`` metres, and its binary components rounded to ``{0, 1}``. So a plan never asks the robot for a
step the training data never showed (V-JEPA 2-AC caps steps at 5 cm, arXiv 2506.09985 section 4).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cosmos.plan.errors import ActionSpaceError

__all__ = ["ActionSpace", "ROBOT_ACTION_NAMES", "robot_action_space"]

ROBOT_ACTION_NAMES = ("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper")
# cosmos.curate.sim.robot.RobotConfig: max_step 0.06 m per step (|dxyz|), max_yaw_step 0.25 rad; the scripted
# data never rolls or pitches (droll = dpitch = 0); gripper 1 = open, 0 = closed. A test checks these values.
ROBOT_MAX_STEP = 0.06
ROBOT_MAX_YAW_STEP = 0.25


@dataclass(frozen=True)
class ActionSpace:
    """A box of actions with an optional cap on the translation norm.

    Attributes:
        low, high: per-component bounds (``A`` floats each, ``low <= high``; equal bounds pin a component).
        names: one name per component (for messages and JSON).
        step_cap: largest Euclidean norm of ``actions[..., translation]`` (metres), ``None`` for no cap.
        translation: indices of the translation components the cap applies to.
        binary: indices of components that take only the values 0 and 1 (rounded at 0.5).
        neutral: the "do nothing" action (zero motion, gripper open), ``A`` floats.

    Raises:
        ActionSpaceError: lengths differ, ``low > high`` somewhere, or an index is out of range.
    """

    low: tuple[float, ...]
    high: tuple[float, ...]
    names: tuple[str, ...]
    step_cap: float | None = None
    translation: tuple[int, ...] = ()
    binary: tuple[int, ...] = ()
    neutral: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        dim = len(self.low)
        if not (len(self.high) == len(self.names) == dim) or dim == 0:
            raise ActionSpaceError(
                f"low, high and names need one entry per component, got {len(self.low)}, {len(self.high)}, "
                f"{len(self.names)}"
            )
        if any(lo > hi for lo, hi in zip(self.low, self.high)):
            raise ActionSpaceError(f"low must not exceed high: low={self.low}, high={self.high}")
        if any(not 0 <= i < dim for i in (*self.translation, *self.binary)):
            raise ActionSpaceError(
                f"component indices must lie in [0, {dim}): {self.translation}, {self.binary}"
            )
        if self.neutral is not None and len(self.neutral) != dim:
            raise ActionSpaceError(f"neutral needs {dim} components, got {len(self.neutral)}")
        if self.step_cap is not None and self.step_cap <= 0:
            raise ActionSpaceError(f"step_cap must be positive metres, got {self.step_cap}")

    @property
    def dim(self) -> int:
        """``A``: components of one action."""
        return len(self.low)

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(low, high)`` as float32 ``[A]`` tensors."""
        return torch.tensor(self.low, dtype=torch.float32), torch.tensor(self.high, dtype=torch.float32)

    def neutral_action(self) -> torch.Tensor:
        """float32 ``[A]``: :attr:`neutral`, or the box centre when none is set."""
        if self.neutral is not None:
            return torch.tensor(self.neutral, dtype=torch.float32)
        low, high = self.bounds()
        return self.project((low + high) / 2)

    def with_step_cap(self, step_cap: float | None) -> ActionSpace:
        """The same space with a tighter translation cap (``None`` keeps the current one)."""
        if step_cap is None:
            return self
        cap = step_cap if self.step_cap is None else min(step_cap, self.step_cap)
        return ActionSpace(self.low, self.high, self.names, cap, self.translation, self.binary, self.neutral)

    def project(self, actions: torch.Tensor) -> torch.Tensor:
        """Clamp ``actions [..., A]`` into the box, cap the translation norm, round binary components.

        Raises:
            ActionSpaceError: the last dimension is not ``A``.
        """
        if actions.shape[-1] != self.dim:
            raise ActionSpaceError(
                f"actions have {actions.shape[-1]} components, the action space {self.dim}"
            )
        low, high = self.bounds()
        out = torch.maximum(torch.minimum(actions, high.to(actions)), low.to(actions))
        if self.step_cap is not None and self.translation:
            index = list(self.translation)
            norm = out[..., index].norm(dim=-1, keepdim=True)
            out[..., index] = out[..., index] * (self.step_cap / norm.clamp_min(self.step_cap))
        if self.binary:
            index = list(self.binary)
            out[..., index] = (out[..., index] >= 0.5).to(out.dtype)
        return out

    def sample_uniform(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """``shape + (A,)`` actions drawn uniformly in the box (on the CPU, from ``generator``), projected."""
        low, high = self.bounds()
        unit = torch.rand((*shape, self.dim), generator=generator)
        return self.project(low + unit * (high - low))

    def check(self, action_dim: int) -> None:
        """Raise :class:`ActionSpaceError` unless the space has ``action_dim`` components (the world model's)."""
        if action_dim != self.dim:
            raise ActionSpaceError(
                f"the planner's action space has {self.dim} components {self.names}, the world model takes "
                f"action_dim={action_dim}: pass an ActionSpace that matches the model"
            )


def robot_action_space(step_cap: float | None = ROBOT_MAX_STEP) -> ActionSpace:
    """The nano robot world models' actions ``(dx, dy, dz, droll, dpitch, dyaw, gripper)``.

    Metres and radians per step at 5 fps in the world frame (cosmos.curate.sim.robot): ``|dxyz| <= step_cap``
    (default the simulator's ``max_step``, 6 cm), ``|dyaw| <= 0.25`` rad, roll and pitch pinned to 0 (never
    seen in training), gripper in ``{0, 1}`` (1 = open).
    """
    step, yaw = ROBOT_MAX_STEP, ROBOT_MAX_YAW_STEP
    return ActionSpace(
        low=(-step, -step, -step, 0.0, 0.0, -yaw, 0.0),
        high=(step, step, step, 0.0, 0.0, yaw, 1.0),
        names=ROBOT_ACTION_NAMES,
        step_cap=step_cap,
        translation=(0, 1, 2),
        binary=(6,),
        neutral=(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
    )
