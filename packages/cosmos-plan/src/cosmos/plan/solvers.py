"""Trajectory optimisers over any :class:`cosmos.core.WorldModel`: CEM, MPPI, random shooting.

One signature for all: :func:`plan` takes a world model, a :class:`~cosmos.core.WorldState` (the encoded
context, ``B`` rows), a cost ``cost(predicted, goal) -> [N]`` and a horizon ``H``, and returns the planned
actions ``[B, H, A]``. Each solver proposes ``N`` candidate action sequences ``[N, H, A]``, projects them into
the :class:`~cosmos.plan.action_space.ActionSpace`, scores them in batches of ``max_batch`` through
``world_model.predict(state, candidates)`` (a one-row state broadcasts to the candidates) and the cost, and
refines:

* **CEM** (Rubinstein 1999; as used by PETS, DINO-WM arXiv 2411.04983 and V-JEPA 2-AC arXiv 2506.09985):
  a diagonal Gaussian over ``[H, A]`` refitted to the ``elites`` lowest-cost candidates each iteration.
* **MPPI** (Williams et al. 2017, TD-MPC2 arXiv 2310.16828): the mean moves to the softmax(-cost /
  temperature)-weighted average of the candidates.
* **Random shooting**: uniform candidates in the box, the best one wins (the planning baseline).

Two non-planners share the signature as baselines: random actions and the neutral ("zero") action.

Every random draw comes from one CPU ``torch.Generator`` seeded by ``seed``, and the world model gets seeds
derived from it, so the same seed plans the same actions.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch

from cosmos.core import WorldModel, WorldState, make_generator
from cosmos.core.errors import ShapeError
from cosmos.plan.action_space import ActionSpace, robot_action_space
from cosmos.plan.errors import HorizonError, NonFiniteCostError

__all__ = [
    "CEMConfig",
    "MPPIConfig",
    "PLANNER_PRESETS",
    "PlanResult",
    "RandomActionsConfig",
    "RandomShootingConfig",
    "ZeroConfig",
    "check_horizon",
    "plan",
    "preset",
    "score_candidates",
]

Cost = Callable[[WorldState, Any], torch.Tensor]


@dataclass(frozen=True)
class CEMConfig:
    """Cross-entropy method settings.

    Attributes:
        samples: candidates per iteration (``N``).
        elites: lowest-cost candidates the Gaussian is refitted to (``top k``).
        iterations: refits.
        init_std: initial standard deviation as a fraction of each component's half range.
        min_std: floor of the standard deviation (same unit), so the search never collapses to a point early.
        step_cap: translation cap in metres for this planner (``None``: the action space's own).
        horizon: the preset's planning horizon (used when :func:`plan` gets ``horizon=None``).
    """

    samples: int = 300
    elites: int = 30
    iterations: int = 10
    init_std: float = 1.0
    min_std: float = 0.02
    step_cap: float | None = None
    horizon: int = 5


@dataclass(frozen=True)
class MPPIConfig:
    """Model-predictive path integral settings.

    Attributes:
        samples: candidates per iteration.
        iterations: mean updates.
        temperature: softmax temperature relative to the spread ``max - min`` of the iteration's costs
            (scale-free: 0.1 puts weight ``e^-10`` on the worst candidate relative to the best).
        noise_std: perturbation standard deviation as a fraction of each component's half range.
        step_cap, horizon: as in :class:`CEMConfig`.
    """

    samples: int = 256
    iterations: int = 6
    temperature: float = 0.1
    noise_std: float = 0.5
    step_cap: float | None = None
    horizon: int = 5


@dataclass(frozen=True)
class RandomShootingConfig:
    """Random shooting: ``samples`` uniform candidates, the lowest cost wins (a baseline)."""

    samples: int = 300
    step_cap: float | None = None
    horizon: int = 5


@dataclass(frozen=True)
class RandomActionsConfig:
    """No planning: uniformly random actions in the action space (the random-policy baseline)."""

    horizon: int = 1


@dataclass(frozen=True)
class ZeroConfig:
    """No planning: the neutral action (no motion, gripper open) at every step (a baseline)."""

    horizon: int = 1


PlannerConfig = CEMConfig | MPPIConfig | RandomShootingConfig | RandomActionsConfig | ZeroConfig

# named after the papers whose settings they copy (robots and tasks differ: see the package README)
PLANNER_PRESETS: dict[str, PlannerConfig] = {
    # V-JEPA 2-AC (arXiv 2506.09985, section 4): horizon 2, 400 samples, top 10, 10 iterations, 5 cm steps
    "cem-vjepa2-ac": CEMConfig(samples=400, elites=10, iterations=10, step_cap=0.05, horizon=2),
    # DINO-WM (arXiv 2411.04983, appendix): horizon 5, 300 samples, top 30, 30 optimisation steps
    "cem-dino-wm": CEMConfig(samples=300, elites=30, iterations=30, horizon=5),
    "mppi": MPPIConfig(),
    "random-shooting": RandomShootingConfig(),
    "random-actions": RandomActionsConfig(),
    "zero": ZeroConfig(),
}


@dataclass(frozen=True, eq=False)
class PlanResult:
    """What :func:`plan` returns.

    Attributes:
        actions: float32 ``[B, H, A]``: the planned actions (projected into the action space).
        cost: float32 ``[B]``: the cost of the returned plan as scored during planning (NaN for ``zero``).
        evaluations: candidates scored per row (world-model predictions).
        seconds: wall time of the whole call.
    """

    actions: torch.Tensor
    cost: torch.Tensor
    evaluations: int
    seconds: float


def check_horizon(world_model: WorldModel, horizon: int) -> None:
    """Raise :class:`HorizonError` unless ``horizon`` is a positive int the model can roll out.

    The contract has no length limit (``predict`` continues chunk after chunk); a model that has one may
    expose ``max_horizon`` (predicted frames), which is honoured here.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise HorizonError(f"horizon must be a positive int (predicted frames), got {horizon!r}")
    limit = getattr(world_model, "max_horizon", None)
    if limit is not None and horizon > limit:
        raise HorizonError(f"horizon {horizon} exceeds what this world model rolls out (max_horizon={limit})")


def score_candidates(
    world_model: WorldModel,
    state: WorldState,
    candidates: torch.Tensor,
    cost: Cost,
    goal: Any,
    *,
    max_batch: int,
    seed: int,
) -> torch.Tensor:
    """Costs ``[N]`` of ``candidates [N, H, A]`` from a one-row ``state``, ``max_batch`` predictions at a time.

    Batch ``j`` is predicted with seed ``seed + j`` (deterministic for deterministic batching).

    Raises:
        ShapeError: the cost does not return one value per candidate.
        NonFiniteCostError: a cost is NaN or inf.
    """
    costs = []
    for j, start in enumerate(range(0, candidates.shape[0], max_batch)):
        batch = candidates[start : start + max_batch]
        with torch.no_grad():
            predicted = world_model.predict(state, batch, seed=seed + j)
            value = torch.as_tensor(cost(predicted, goal)).detach().float().cpu()
        if value.shape != (batch.shape[0],):
            raise ShapeError(f"the cost returned shape {tuple(value.shape)}, expected [{batch.shape[0]}]")
        costs.append(value)
    costs = torch.cat(costs)
    if not bool(torch.isfinite(costs).all()):
        bad = int((~torch.isfinite(costs)).sum())
        raise NonFiniteCostError(f"the cost is NaN or inf for {bad} of {costs.numel()} candidates")
    return costs


def plan(
    world_model: WorldModel,
    state: WorldState,
    cost: Cost,
    horizon: int | None = None,
    *,
    goal: Any = None,
    planner: PlannerConfig | str = "cem-vjepa2-ac",
    action_space: ActionSpace | None = None,
    seed: int = 0,
    max_batch: int = 100,
    init: torch.Tensor | None = None,
) -> PlanResult:
    """Plan ``H`` actions for each of the ``B`` rows of ``state`` that minimise ``cost(predicted, goal)``.

    Args:
        world_model: any :class:`~cosmos.core.WorldModel`.
        state: the encoded context (``world_model.encode_context(video)``), ``B`` rows planned independently.
        cost: ``cost(predicted: WorldState, goal) -> float [N]``, lower is better (see :mod:`cosmos.plan.costs`).
        horizon: ``H`` predicted frames (``None``: the planner preset's).
        goal: passed to the cost unchanged.
        planner: a config or a :data:`PLANNER_PRESETS` name.
        action_space: bounds and caps (default: the nano robot space, :func:`robot_action_space`).
        seed: seeds every random draw and the world model's sampling.
        max_batch: candidates per ``predict`` call (memory bound).
        init: optional ``[B, H, A]`` (or ``[H, A]``) initial mean, e.g. the previous plan shifted (warm start).

    Returns:
        :class:`PlanResult` with ``actions [B, H, A]``.

    Raises:
        KeyError: an unknown preset name.
        ActionSpaceError: the action space does not match ``world_model.action_dim``.
        HorizonError: see :func:`check_horizon`.
        NonFiniteCostError: a candidate's cost is NaN or inf.
    """
    start = time.perf_counter()
    config = preset(planner) if isinstance(planner, str) else planner
    horizon = config.horizon if horizon is None else horizon
    space = robot_action_space() if action_space is None else action_space
    space.check(world_model.action_dim)
    check_horizon(world_model, horizon)
    space = space.with_step_cap(getattr(config, "step_cap", None))
    init = _initial_mean(init, state.batch_size, horizon, space)
    generator = make_generator(seed)
    rows, costs, evaluations = [], [], 0
    for row in range(state.batch_size):
        score = _scorer(world_model, state.select([row]), cost, goal, max_batch, seed + 1000 * row)
        actions, value, count = _SOLVERS[type(config)](config, score, init[row], space, generator)
        rows.append(actions)
        costs.append(value)
        evaluations = count
    return PlanResult(torch.stack(rows), torch.stack(costs), evaluations, time.perf_counter() - start)


def _initial_mean(init: torch.Tensor | None, batch: int, horizon: int, space: ActionSpace) -> torch.Tensor:
    if init is None:
        return space.neutral_action().expand(batch, horizon, space.dim).clone()
    init = torch.as_tensor(init, dtype=torch.float32)
    if init.ndim == 2:
        init = init.expand(batch, *init.shape)
    if init.shape != (batch, horizon, space.dim):
        raise ShapeError(f"init must be [{batch}, {horizon}, {space.dim}], got {tuple(init.shape)}")
    return space.project(init.clone())


def _scorer(world_model, state, cost, goal, max_batch, seed) -> Callable[[torch.Tensor], torch.Tensor]:
    """``score(candidates [N, H, A]) -> [N]`` for one row; call ``i`` seeds the model with ``seed + 100000 i``."""
    calls = itertools.count()

    def score(candidates: torch.Tensor) -> torch.Tensor:
        call_seed = seed + 100_000 * next(calls)
        return score_candidates(
            world_model, state, candidates, cost, goal, max_batch=max_batch, seed=call_seed
        )

    return score


def _half_range(space: ActionSpace) -> torch.Tensor:
    low, high = space.bounds()
    return (high - low) / 2


def _cem(config: CEMConfig, score, mean, space, generator):
    """CEM: sample around the mean, keep the ``elites`` best, refit mean and std (per step and component)."""
    half = _half_range(space)
    std = config.init_std * half.expand_as(mean).clone()
    best_cost = torch.tensor(float("inf"))
    for _ in range(config.iterations):
        noise = torch.randn((config.samples, *mean.shape), generator=generator)
        candidates = space.project(mean + std * noise)  # [N, H, A]
        candidates[0] = space.project(mean)  # the current mean always competes
        costs = score(candidates)
        order = torch.argsort(costs)[: config.elites]
        elites = candidates[order]  # [k, H, A]
        mean = elites.mean(0)
        std = torch.maximum(elites.std(0, unbiased=False), config.min_std * half)
        best_cost = costs[order[0]]
    return space.project(mean), best_cost, config.samples * config.iterations


def _mppi(config: MPPIConfig, score, mean, space, generator):
    """MPPI: the mean moves to the exp(-cost / (temperature * spread))-weighted average of the candidates."""
    half = _half_range(space)
    best_cost = torch.tensor(float("inf"))
    for _ in range(config.iterations):
        noise = torch.randn((config.samples, *mean.shape), generator=generator)
        candidates = space.project(mean + config.noise_std * half * noise)
        candidates[0] = space.project(mean)
        costs = score(candidates)
        spread = (costs.max() - costs.min()).clamp_min(1e-12)
        weights = torch.softmax(-(costs - costs.min()) / (config.temperature * spread), dim=0)
        mean = (weights[:, None, None] * candidates).sum(0)
        best_cost = costs.min()
    return space.project(mean), best_cost, config.samples * config.iterations


def _random_shooting(config: RandomShootingConfig, score, mean, space, generator):
    """Random shooting: uniform candidates in the box; the lowest cost wins."""
    candidates = space.sample_uniform((config.samples, *mean.shape[:-1]), generator)
    candidates[0] = space.project(mean)
    costs = score(candidates)
    best = int(torch.argmin(costs))
    return candidates[best], costs[best], config.samples


def _random_actions(config: RandomActionsConfig, score, mean, space, generator):
    """Uniform random actions, nothing scored."""
    return space.sample_uniform(mean.shape[:-1], generator), torch.tensor(float("nan")), 0


def _zero(config: ZeroConfig, score, mean, space, generator):
    """The neutral action at every step, nothing scored."""
    return space.neutral_action().expand_as(mean).clone(), torch.tensor(float("nan")), 0


_SOLVERS = {
    CEMConfig: _cem,
    MPPIConfig: _mppi,
    RandomShootingConfig: _random_shooting,
    RandomActionsConfig: _random_actions,
    ZeroConfig: _zero,
}


def preset(name: str, **changes: Any) -> PlannerConfig:
    """A :data:`PLANNER_PRESETS` entry with fields replaced (e.g. ``preset("cem-vjepa2-ac", samples=64)``).

    Raises:
        KeyError: an unknown name (the message lists the presets).
    """
    if name not in PLANNER_PRESETS:
        raise KeyError(f"unknown planner {name!r}; presets: {sorted(PLANNER_PRESETS)}")
    return replace(PLANNER_PRESETS[name], **changes)
