"""The planning benchmark: closed-loop MPC on simulator tasks, success judged by the simulator.

:func:`run_benchmark` plays ``episodes`` episodes of a :class:`~cosmos.plan.envs.SimTaskEnv` task on held-out
seeds: each control step encodes the latest frames with the world model, plans with the chosen planner and
cost toward the episode's goal image, executes the first action(s) in the real simulator, and repeats until
success (``terminated``) or the step limit. Success and the final distance come from the physics, never from
the model. ``cosmos-plan bench`` (:mod:`cosmos.plan.cli`) is its command line.

World models are named: ``"simulator"`` is :class:`~cosmos.plan.simulator.SimulatorWorldModel` on the
episode's own scene (the upper bound); any other name goes to :func:`load_world_model`.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from typing import Any

import numpy as np
import torch

from cosmos.core import WorldModel
from cosmos.plan.costs import LatentDistanceCost, PixelDistanceCost, make_goal
from cosmos.plan.envs import SimTaskEnv
from cosmos.plan.mpc import context_length, mpc
from cosmos.plan.simulator import SimulatorWorldModel, TaskDistanceCost, uint8_to_frames
from cosmos.plan.solvers import (
    CEMConfig,
    MPPIConfig,
    PlannerConfig,
    RandomActionsConfig,
    RandomShootingConfig,
    ZeroConfig,
    preset,
)

__all__ = ["BenchmarkConfig", "ENTRY_POINT_GROUP", "load_world_model", "planner_config", "run_benchmark"]

ENTRY_POINT_GROUP = "cosmos.world_models"
"""Entry points ``name = "module:factory"`` (``factory(name) -> WorldModel``) that :func:`load_world_model` finds."""
# the shipped world-model packages, tried in order when no entry point has the name (imported only here)
_FALLBACK_LOADERS = (("cosmos.diffusion", "DiffusionWFM"), ("cosmos.ar", "ARWFM"))


@dataclass(frozen=True)
class BenchmarkConfig:
    """One benchmark run.

    Attributes:
        task: ``reach``, ``push`` or ``pick-place``.
        planner: ``cem`` (the V-JEPA 2-AC preset), ``mppi``, ``shooting`` (random shooting) or the
            non-planning baselines ``random`` (uniform random actions) and ``zero`` (no motion).
        model: ``simulator`` or a world-model name for :func:`load_world_model`.
        episodes, first_seed: seeds ``first_seed .. first_seed + episodes - 1`` (held-out: 2,000,000+).
        cost: ``latent``, ``pixel``, ``state`` (the simulator's privileged true distance, shaped with an
            approach term for push and pick-place: :meth:`RobotTask.shaped_distance`) or ``auto``
            (``state`` for the simulator, ``latent`` for a learned model).
        pools: pooling factors of the pixel/latent distances, in pixels (divided by the tokenizer's spatial
            compression for latents).
        samples, elites, iterations, horizon: planner budget (``None``: the preset's); ``shooting`` gets
            ``samples * iterations`` candidates (the same budget as CEM and MPPI).
        step_cap: translation cap per action in metres.
        execute_steps: actions executed per plan; max_steps: per episode (``None``: the task's limit).
        max_batch: candidates per ``predict`` call; seed: the planners' seed.
    """

    task: str = "reach"
    planner: str = "cem"
    model: str = "simulator"
    episodes: int = 5
    first_seed: int = 2_000_000
    cost: str = "auto"
    pools: tuple[int, ...] = (1, 8, 32)
    samples: int | None = None
    elites: int | None = None
    iterations: int | None = None
    horizon: int | None = None
    step_cap: float = 0.05
    execute_steps: int = 1
    max_steps: int | None = None
    max_batch: int = 100
    seed: int = 0
    extra: dict = field(default_factory=dict)


def planner_config(config: BenchmarkConfig) -> PlannerConfig:
    """The solver settings a benchmark name stands for (overrides applied).

    Raises:
        ValueError: an unknown planner name.
    """
    base: CEMConfig = preset("cem-vjepa2-ac")
    samples = config.samples or base.samples
    iterations = config.iterations or base.iterations
    horizon = config.horizon or base.horizon
    if config.planner == "cem":
        elites = config.elites or base.elites
        return CEMConfig(samples, elites, iterations, step_cap=config.step_cap, horizon=horizon)
    if config.planner == "mppi":
        return MPPIConfig(samples, iterations, step_cap=config.step_cap, horizon=horizon)
    if config.planner == "shooting":
        return RandomShootingConfig(samples * iterations, step_cap=config.step_cap, horizon=horizon)
    if config.planner == "random":
        return RandomActionsConfig(horizon=1)
    if config.planner == "zero":
        return ZeroConfig(horizon=1)
    raise ValueError(f"unknown planner {config.planner!r}: cem, mppi, shooting, random or zero")


def load_world_model(name: str, **kwargs: Any) -> WorldModel:
    """A world model by name: an entry point of :data:`ENTRY_POINT_GROUP`, else ``DiffusionWFM.from_pretrained``
    then ``ARWFM.from_pretrained`` (imported lazily: cosmos.plan never depends on them).

    Raises:
        KeyError: no loader knows ``name``.
        TypeError: the loaded object does not satisfy :class:`cosmos.core.WorldModel`.
    """
    loaders = [point.load() for point in entry_points(group=ENTRY_POINT_GROUP) if point.name == name]
    for module, attribute in _FALLBACK_LOADERS:
        try:
            loaders.append(getattr(importlib.import_module(module), attribute).from_pretrained)
        except ImportError:
            continue
    errors = []
    for loader in loaders:
        try:
            model = loader(name, **kwargs)
        except Exception as exc:  # a loader that does not know the name
            errors.append(f"{getattr(loader, '__qualname__', loader)}: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(model, WorldModel):
            raise TypeError(
                f"{name!r} loaded a {type(model).__name__}, which does not implement cosmos.core.WorldModel"
            )
        return model
    raise KeyError(f"no world model named {name!r} (tried: {'; '.join(errors) or 'no loader installed'})")


def _cost(kind: str, model: WorldModel, task: Any, pools: tuple[int, ...]):
    if kind == "state":
        return TaskDistanceCost(task, shaped=True)
    if kind == "pixel":
        return PixelDistanceCost(model, pools=pools)
    spatial = model.tokenizer.spatial_compression
    return LatentDistanceCost(model, pools=tuple(sorted({max(1, k // spatial) for k in pools})))


def _episode(
    env: SimTaskEnv, seed: int, model: WorldModel | None, config: BenchmarkConfig, cost_kind: str
) -> dict:
    """One closed-loop episode; the result row of the JSON."""
    obs, info = env.reset(seed=seed)
    own = model is None
    if own:
        model = SimulatorWorldModel(env.task, observation="state" if cost_kind == "state" else "pixels")
    goal = make_goal(model, info["goal_image"], encode=cost_kind == "latent", position=info["goal_position"])
    history, last = [obs], {"info": info}

    def observe() -> torch.Tensor:
        length = context_length(len(history), model.context_frames)
        return uint8_to_frames(np.stack(([history[0]] * length + history)[-length:]))

    def execute(actions: torch.Tensor) -> bool:
        for action in actions.numpy():
            frame, _, terminated, truncated, last["info"] = env.step(action)
            history.append(frame)
            if terminated or truncated:
                return True
        return False

    result = mpc(
        model, observe, execute, _cost(cost_kind, model, env.task, config.pools), goal,
        planner=planner_config(config), execute_steps=config.execute_steps,
        max_steps=config.max_steps or env.task.max_steps, seed=config.seed + seed, max_batch=config.max_batch,
    )  # fmt: skip
    if own:
        model.close()
    return {
        "seed": seed,
        "success": bool(last["info"]["success"]),
        "final_distance_m": float(last["info"]["distance_m"]),
        "steps": int(result.actions.shape[0]),
        "plan_seconds": float(sum(result.plan_seconds)),
    }


def run_benchmark(
    config: BenchmarkConfig, *, world_model: WorldModel | None = None, progress: bool = True
) -> dict:
    """Play the episodes and return the JSON-ready result.

    Returns:
        ``{"success_rate", "seconds_per_action", "episodes": [{seed, success, final_distance_m, steps,
        plan_seconds}], "config", "cost", ...}``; ``seconds_per_action`` is planning wall time (encoding,
        planning, world-model calls; not the real simulator's step) over all executed actions.
    """
    cost_kind = (
        config.cost if config.cost != "auto" else ("state" if config.model == "simulator" else "latent")
    )
    if config.model == "simulator":
        model = None
    else:
        model = world_model or load_world_model(config.model, **config.extra)
    env = SimTaskEnv(config.task)
    rows, start = [], time.perf_counter()
    try:
        for seed in range(config.first_seed, config.first_seed + config.episodes):
            rows.append(_episode(env, seed, model, config, cost_kind))
            if progress:
                row = rows[-1]
                print(
                    f"{config.task} seed {seed}: success={row['success']} distance={row['final_distance_m']:.3f} m "
                    f"steps={row['steps']} ({row['plan_seconds'] / max(1, row['steps']):.2f} s/action)",
                    flush=True,
                )
    finally:
        env.close()
    actions = sum(row["steps"] for row in rows)
    return {
        "success_rate": sum(row["success"] for row in rows) / max(1, len(rows)),
        "seconds_per_action": sum(row["plan_seconds"] for row in rows) / max(1, actions),
        "mean_final_distance_m": float(np.mean([row["final_distance_m"] for row in rows])) if rows else None,
        "episodes": rows,
        "cost": cost_kind,
        "planner_config": asdict(planner_config(config)) | {"kind": config.planner},
        "config": asdict(config) | {"pools": list(config.pools)},
        "wall_seconds": time.perf_counter() - start,
        "torch_threads": torch.get_num_threads(),
    }
