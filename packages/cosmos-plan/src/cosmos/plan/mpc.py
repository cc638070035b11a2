"""Receding-horizon control (model-predictive control) with any planner and world model.

Each control step (Camacho and Bordons, *Model Predictive Control*; the loop of PETS, DINO-WM and
V-JEPA 2-AC): observe the latest frames, encode them, plan ``H`` actions with :func:`cosmos.plan.plan`,
execute the first ``k``, and re-plan from the new observation. The previous plan, shifted by ``k`` steps and
padded with the neutral action, warm-starts the next one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from cosmos.core import WorldModel
from cosmos.plan.action_space import ActionSpace, robot_action_space
from cosmos.plan.solvers import Cost, PlannerConfig, plan, preset

__all__ = ["MPCResult", "context_length", "mpc"]


@dataclass
class MPCResult:
    """What :func:`mpc` returns.

    Attributes:
        actions: float32 ``[T, A]``: every executed action in order.
        plan_costs: the planner's cost of each plan made (one per re-plan).
        plan_seconds: wall seconds of each plan (encoding included).
        done: whether ``execute`` reported the episode finished before ``max_steps``.
    """

    actions: torch.Tensor
    plan_costs: list[float] = field(default_factory=list)
    plan_seconds: list[float] = field(default_factory=list)
    done: bool = False

    @property
    def seconds_per_action(self) -> float:
        """Planning wall time divided by the actions executed."""
        return sum(self.plan_seconds) / max(1, self.actions.shape[0])


def context_length(available: int, context_frames: Sequence[int]) -> int:
    """The longest context length the model takes that ``available`` frames fill (else the shortest one)."""
    usable = [c for c in context_frames if c <= available]
    return max(usable) if usable else min(context_frames)


def mpc(
    world_model: WorldModel,
    observe: Callable[[], torch.Tensor],
    execute: Callable[[torch.Tensor], bool],
    cost: Cost,
    goal: Any = None,
    *,
    horizon: int | None = None,
    planner: PlannerConfig | str = "cem-vjepa2-ac",
    action_space: ActionSpace | None = None,
    execute_steps: int = 1,
    max_steps: int = 20,
    seed: int = 0,
    max_batch: int = 100,
    warm_start: bool = True,
) -> MPCResult:
    """Run plan -> execute ``execute_steps`` actions -> observe until ``execute`` says done or ``max_steps``.

    Args:
        world_model: any :class:`~cosmos.core.WorldModel`.
        observe: returns the current context ``float [1, 3, T0, H, W]`` in ``[-1, 1]`` (``T0`` in
            ``world_model.context_frames``; :func:`context_length` picks one from a frame history).
        execute: applies actions ``float32 [k, A]`` to the real system (an environment, a robot) and returns
            True when the episode is over (success or failure).
        cost, goal, horizon, planner, action_space, max_batch: as in :func:`cosmos.plan.plan`.
        execute_steps: ``k``, actions executed per plan (1: re-plan after every action).
        max_steps: actions executed at most.
        seed: plan ``i`` uses ``seed + i``.
        warm_start: start each plan from the previous one shifted by ``k`` steps.

    Returns:
        :class:`MPCResult`.
    """
    config = preset(planner) if isinstance(planner, str) else planner
    horizon = config.horizon if horizon is None else horizon
    space = robot_action_space() if action_space is None else action_space
    executed, result, init = [], MPCResult(torch.zeros(0, space.dim)), None
    step = 0
    while step < max_steps:
        start = time.perf_counter()
        state = world_model.encode_context(observe())
        planned = plan(
            world_model,
            state,
            cost,
            horizon,
            goal=goal,
            planner=config,
            action_space=space,
            seed=seed + step,
            max_batch=max_batch,
            init=init,
        )
        result.plan_seconds.append(time.perf_counter() - start)
        result.plan_costs.append(float(planned.cost[0]))
        k = min(execute_steps, horizon, max_steps - step)
        actions = planned.actions[0, :k]
        executed.append(actions)
        step += k
        if warm_start:
            pad = space.neutral_action().expand(k, space.dim)
            init = torch.cat([planned.actions[0, k:], pad])[None]
        if execute(actions):
            result.done = True
            break
    result.actions = torch.cat(executed) if executed else result.actions
    return result
