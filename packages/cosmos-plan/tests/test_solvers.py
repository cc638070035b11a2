"""Solvers on the point-mass world model: they reach goals, are deterministic, batch exactly, fail by name."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core import ShapeError, WorldState
from cosmos.plan import (
    ActionSpaceError,
    CEMConfig,
    GoalError,
    HorizonError,
    LatentDistanceCost,
    MPPIConfig,
    NonFiniteCostError,
    PixelDistanceCost,
    RandomActionsConfig,
    RandomShootingConfig,
    ZeroConfig,
    make_goal,
    mpc,
    plan,
    preset,
    robot_action_space,
    score_candidates,
)

from .conftest import SIZE, PointMassWorldModel, frame_at

GOAL = (0.3, -0.2, 0.25)  # 0.45 from the origin: reachable in 5 steps of at most 0.1


def _setup(model):
    state = model.encode_context(frame_at((0.0, 0.0, 0.0)))
    goal = make_goal(model, frame_at(GOAL)[:, :, 0])
    return state, goal


def _final_distance(actions: torch.Tensor) -> float:
    return float((actions[0].sum(0) - torch.tensor(GOAL)).norm())


def _plan(model, space, planner, seed=0, cost=None, **kwargs):
    state, goal = _setup(model)
    cost = cost or LatentDistanceCost(model, p=1)
    return plan(model, state, cost, 5, goal=goal, planner=planner, action_space=space, seed=seed, **kwargs)


def test_cem_and_mppi_beat_random_shooting_at_equal_budget(point_mass, point_space):
    cem = _plan(point_mass, point_space, CEMConfig(samples=64, elites=8, iterations=5))
    mppi = _plan(point_mass, point_space, MPPIConfig(samples=64, iterations=5, noise_std=0.5))
    shoot = _plan(point_mass, point_space, RandomShootingConfig(samples=320))
    assert cem.actions.shape == (1, 5, 3) and cem.evaluations == shoot.evaluations == 320
    cem_distance, mppi_distance = _final_distance(cem.actions), _final_distance(mppi.actions)
    assert cem_distance < 0.05 and mppi_distance < 0.1  # of 0.45 to travel; random shooting misses by ~0.18
    assert _final_distance(shoot.actions) > 1.5 * max(cem_distance, mppi_distance)


def test_plans_respect_the_action_space(point_mass, point_space):
    result = _plan(point_mass, point_space, CEMConfig(samples=32, elites=4, iterations=2))
    assert result.actions.abs().max() <= 0.1 + 1e-6
    assert result.actions[0].norm(dim=-1).max() <= point_space.step_cap + 1e-6
    zero = _plan(point_mass, point_space, ZeroConfig())
    assert torch.equal(zero.actions, torch.zeros(1, 5, 3)) and math.isnan(float(zero.cost))
    random = _plan(point_mass, point_space, RandomActionsConfig(), seed=3)
    assert random.evaluations == 0 and random.actions.abs().max() <= 0.1 + 1e-6
    assert torch.equal(random.actions, _plan(point_mass, point_space, RandomActionsConfig(), seed=3).actions)


def test_same_seed_same_plan(point_mass, point_space):
    config = CEMConfig(samples=32, elites=4, iterations=3)
    a = _plan(point_mass, point_space, config, seed=7)
    b = _plan(PointMassWorldModel(), point_space, config, seed=7)
    c = _plan(point_mass, point_space, config, seed=8)
    assert torch.equal(a.actions, b.actions) and not torch.equal(a.actions, c.actions)


def test_batched_scoring_equals_one_by_one(point_mass, point_space):
    state, goal = _setup(point_mass)
    candidates = point_space.sample_uniform((13, 4), torch.Generator().manual_seed(0))
    cost = LatentDistanceCost(point_mass, p=2)
    batched = score_candidates(point_mass, state, candidates, cost, goal, max_batch=5, seed=0)
    single = torch.cat(
        [score_candidates(point_mass, state, c[None], cost, goal, max_batch=1, seed=0) for c in candidates]
    )
    assert batched.shape == (13,) and torch.allclose(batched, single)
    before = point_mass.predict_calls
    _plan(point_mass, point_space, RandomShootingConfig(samples=10), max_batch=4)
    assert point_mass.predict_calls - before == 3


def test_pixel_cost_and_user_callable_agree_with_latent_cost(point_mass, point_space):
    state, goal = _setup(point_mass)
    candidates = point_space.sample_uniform((6, 3), torch.Generator().manual_seed(1))
    latent = score_candidates(
        point_mass, state, candidates, LatentDistanceCost(point_mass), goal, max_batch=6, seed=0
    )
    pixel = score_candidates(
        point_mass, state, candidates, PixelDistanceCost(point_mass), goal, max_batch=6, seed=0
    )

    def user_cost(predicted, goal):  # a user callable: cost(predicted_states, goal) -> [N]
        return (predicted.last.z[:, :, -1].flatten(1) - goal.latent.z[:, :, 0].flatten(1)).abs().mean(1)

    user = score_candidates(point_mass, state, candidates, user_cost, goal, max_batch=6, seed=0)
    assert torch.allclose(latent, pixel, atol=1e-6) and torch.allclose(latent, user, atol=1e-6)


def test_rows_are_planned_independently(point_mass, point_space):
    context = torch.cat([frame_at((0.0, 0.0, 0.0)), frame_at(GOAL)])
    state = point_mass.encode_context(context)
    goal = make_goal(point_mass, frame_at(GOAL)[:, :, 0])
    result = plan(
        point_mass,
        state,
        LatentDistanceCost(point_mass),
        3,
        goal=goal,
        action_space=point_space,
        planner=CEMConfig(samples=48, elites=6, iterations=4),
    )
    assert result.actions.shape == (2, 3, 3)
    assert result.cost[1] < result.cost[0]  # the second row already sits at the goal


def test_mpc_reaches_the_goal(point_mass, point_space):
    position = torch.zeros(3)
    goal = make_goal(point_mass, frame_at(GOAL)[:, :, 0])

    def execute(actions):
        position.add_(actions.sum(0))
        return bool((position - torch.tensor(GOAL)).norm() < 0.02)

    result = mpc(
        point_mass,
        lambda: frame_at(position.tolist()),
        execute,
        LatentDistanceCost(point_mass),
        goal,
        horizon=3,
        planner=CEMConfig(samples=48, elites=6, iterations=4),
        action_space=point_space,
        max_steps=10,
    )
    assert result.done and result.actions.shape[0] <= 7 and result.seconds_per_action > 0


def test_named_errors(point_mass, point_space):
    state, goal = _setup(point_mass)
    cost = LatentDistanceCost(point_mass)
    with pytest.raises(ActionSpaceError, match="action_dim=3"):
        plan(point_mass, state, cost, 2, goal=goal, action_space=robot_action_space())
    for bad in (0, -1, 2.5):
        with pytest.raises(HorizonError):
            plan(point_mass, state, cost, bad, goal=goal, action_space=point_space)
    with pytest.raises(HorizonError, match="max_horizon=4"):
        plan(PointMassWorldModel(max_horizon=4), state, cost, 5, goal=goal, action_space=point_space)
    with pytest.raises(NonFiniteCostError):
        plan(
            point_mass,
            state,
            lambda p, g: torch.full((p.batch_size,), float("nan")),
            2,
            action_space=point_space,
        )
    with pytest.raises(ShapeError, match="expected"):
        plan(
            point_mass,
            state,
            lambda p, g: torch.zeros(1),
            2,
            action_space=point_space,
            planner="random-shooting",
        )
    with pytest.raises(GoalError, match="8x8"):
        make_goal(point_mass, torch.zeros(1, 3, 8, 8))
    with pytest.raises(GoalError):
        make_goal(point_mass, torch.zeros(SIZE, SIZE, 3, dtype=torch.int64))
    with pytest.raises(KeyError, match="cem-vjepa2-ac"):
        preset("cem-nope")


def test_presets_copy_the_papers():
    vjepa, dino = preset("cem-vjepa2-ac"), preset("cem-dino-wm")
    assert (vjepa.horizon, vjepa.samples, vjepa.elites, vjepa.iterations, vjepa.step_cap) == (
        2,
        400,
        10,
        10,
        0.05,
    )
    assert (dino.horizon, dino.samples, dino.elites, dino.iterations) == (5, 300, 30, 30)
    assert preset("cem-vjepa2-ac", samples=16).samples == 16


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1.0, 1.0), min_size=7, max_size=7), st.floats(0.01, 0.06))
def test_projection_stays_in_the_robot_space(values, cap):
    space = robot_action_space(step_cap=cap)
    projected = space.project(torch.tensor(values)[None])[0]
    low, high = space.bounds()
    assert bool((projected >= low).all() and (projected <= high).all())
    assert float(projected[:3].norm()) <= cap + 1e-6 and float(projected[6]) in (0.0, 1.0)
    assert torch.allclose(space.project(projected[None])[0], projected, atol=1e-7)  # idempotent


def test_robot_space_matches_the_simulator():
    robot = pytest.importorskip("cosmos.curate.sim.robot")
    config = robot.RobotConfig()
    space = robot_action_space()
    assert space.names == robot.ACTION_NAMES
    assert space.high[:3] == (config.max_step,) * 3 and space.high[5] == config.max_yaw_step


def test_pooled_distance_ranks_non_overlapping_positions():
    from cosmos.plan.costs import _distance

    def blob(x: int) -> torch.Tensor:
        image = -torch.ones(1, 3, 32, 32)
        image[..., 12:16, x : x + 4] = 1.0
        return image

    goal, near, far = blob(2), blob(8), blob(26)
    assert torch.equal(_distance(near, goal, 1), _distance(far, goal, 1))  # plain L1 cannot tell them apart
    assert float(_distance(near, goal, 1, (1, 8, 32))) < float(_distance(far, goal, 1, (1, 8, 32)))
    assert float(_distance(goal, goal, 2, (1, 8, 64))) == 0.0


def test_latent_cost_reencodes_the_last_frame_of_a_temporally_compressed_chunk(point_mass, point_space):
    class Compressed(PointMassWorldModel):
        """Claims 4x temporal compression: the cost must decode and re-encode the last frame."""

        decoded = 0

        def encode_context(self, video):
            state = super().encode_context(video)
            return WorldState(
                (state.last.replace(temporal_compression=4),), state.frames, state.overlaps, state.actions
            )

        def decode(self, state):
            Compressed.decoded += 1
            return super().decode(state)

    compressed = Compressed()
    state, goal = _setup(point_mass)
    compressed_state = compressed.encode_context(frame_at((0.0, 0.0, 0.0)))
    candidates = point_space.sample_uniform((5, 2), torch.Generator().manual_seed(2))
    direct = score_candidates(
        point_mass, state, candidates, LatentDistanceCost(point_mass), goal, max_batch=5, seed=0
    )
    cost = LatentDistanceCost(compressed)
    reencoded = score_candidates(compressed, compressed_state, candidates, cost, goal, max_batch=5, seed=0)
    assert Compressed.decoded == 1 and torch.allclose(direct, reencoded, atol=1e-6)
