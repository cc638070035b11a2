"""The simulator world model matches the real simulator step for step; the gymnasium envs pass the checker."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pybullet", reason="the simulator tasks need the [sim] extra (pybullet)")

from gymnasium.utils.env_checker import check_env  # noqa: E402

from cosmos.core import WorldModel  # noqa: E402
from cosmos.curate.sim.tasks import TaskConfig  # noqa: E402
from cosmos.plan import ActionSpaceError, GoalError, LatentDistanceCost, make_goal  # noqa: E402
from cosmos.plan.envs import SimTaskEnv, WorldModelEnv  # noqa: E402
from cosmos.plan.simulator import SimulatorWorldModel, TaskDistanceCost, frames_to_uint8, uint8_to_frames  # noqa: E402

from .conftest import SIZE, PointMassWorldModel  # noqa: E402

SEED = 2_000_001
ACTIONS = np.array(
    [[0.04, 0.02, -0.05, 0, 0, 0.1, 1], [0.0, -0.05, -0.03, 0, 0, 0, 0], [-0.03, 0.01, 0.02, 0, 0, -0.2, 1]],
    np.float32,
)
SMALL = TaskConfig(size=32, supersample=1)


@pytest.fixture
def env():
    env = SimTaskEnv("reach", SMALL)
    yield env
    env.close()


def test_simulator_world_model_matches_the_real_simulator(env):
    obs, info = env.reset(seed=SEED)
    pixels = SimulatorWorldModel(env.task)
    state_model = SimulatorWorldModel(env.task, observation="state")
    assert isinstance(pixels, WorldModel) and pixels.resolution == (32, 32)
    context = uint8_to_frames(obs[None])
    predicted = pixels.predict(pixels.encode_context(context), torch.from_numpy(ACTIONS)[None])
    physical = state_model.predict(state_model.encode_context(context), torch.from_numpy(ACTIONS)[None])
    assert env.task.steps == 0 and np.array_equal(env.task.observe(), obs)  # the live task is untouched
    video = frames_to_uint8(pixels.decode(predicted)[0])
    rendered = frames_to_uint8(state_model.decode(physical)[0])
    assert (
        video.shape == (4, 32, 32, 3) and predicted.num_frames == 4 and predicted.actions.shape == (1, 3, 7)
    )
    for k, action in enumerate(ACTIONS, start=1):
        frame, reward, *_ = env.step(action)
        assert np.array_equal(video[k], frame) and np.array_equal(rendered[k], frame)
        assert np.allclose(physical.last.z[0, :, k, 0, 0].numpy(), env.task.physical_state(), atol=1e-6)
        assert reward == pytest.approx(
            -float(TaskDistanceCost(env.task)(physical.select(slice(0, 1)))[0]), abs=0.5
        )
    assert np.isclose(float(TaskDistanceCost(env.task)(physical)[0]), env.task.distance(), atol=1e-6)
    pixels.close(), state_model.close()


def test_simulator_predicts_candidates_in_a_batch_and_continues(env):
    obs, info = env.reset(seed=SEED)
    model = SimulatorWorldModel(env.task)
    state = model.encode_context(uint8_to_frames(obs[None]))
    batch = model.predict(state, torch.from_numpy(ACTIONS[:, None].repeat(2, 1)))  # 3 candidates of 2 steps
    one = model.predict(state, torch.from_numpy(ACTIONS[1:2, None].repeat(2, 1)))
    assert batch.batch_size == 3 and torch.equal(batch.select([1]).last.z, one.last.z)
    longer = model.predict(one, torch.from_numpy(ACTIONS[None, :1]))  # continue a prediction
    assert longer.num_frames == 4 and torch.equal(longer.last.z[:, :, :3], one.last.z)
    goal = make_goal(model, info["goal_image"])
    costs = LatentDistanceCost(model, pools=(1, 8))(batch, goal)
    assert costs.shape == (3,) and bool(torch.isfinite(costs).all())
    with pytest.raises(GoalError, match="32x32"):
        make_goal(model, np.zeros((64, 64, 3), np.uint8))
    model.close()


@pytest.mark.filterwarnings("ignore:.*maximum and minimum values are equal")  # droll, dpitch pinned to 0
def test_sim_task_env_api():
    env = SimTaskEnv("push", TaskConfig(size=32, supersample=1, max_steps=3))  # its goal is cheapest to make
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=SEED)
    assert obs.shape == (32, 32, 3) and info["goal_image"].shape == (32, 32, 3) and info["seed"] == SEED
    assert env.reset()[1]["seed"] == SEED + 1  # without a seed, the next held-out seed
    for _ in range(env.task.max_steps):
        obs, reward, terminated, truncated, info = env.step(np.array([0, 0, 0, 0, 0, 0, 1], np.float32))
    assert truncated and not terminated and reward == -info["distance_m"] and not info["success"]
    env.close()


def test_world_model_env_api_and_reward():
    model = PointMassWorldModel()
    start = np.zeros((1, SIZE, SIZE, 3), np.uint8) + 128

    def reward(frame):
        return float(frame.mean())

    env = WorldModelEnv(model, start, reward_fn=reward, max_steps=5, action_space=_point_space())
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=0)
    obs, r, terminated, truncated, info = env.step(np.array([0.1, 0.1, 0.1], np.float32))
    assert obs.mean() > 128 and r == pytest.approx(obs.mean()) and not terminated
    with pytest.raises(GoalError):
        env.reset(options={"frames": np.zeros((8, 8, 3), np.uint8)})
    with pytest.raises(ActionSpaceError):
        WorldModelEnv(model, start)  # the 7-D robot space on a 3-D model


def _point_space():
    from cosmos.plan import ActionSpace

    return ActionSpace((-0.1,) * 3, (0.1,) * 3, ("dx", "dy", "dz"), 0.1, (0, 1, 2))


def test_vector_env_matches_single_envs_and_autoresets():
    from cosmos.plan.envs import WorldModelVectorEnv

    model = PointMassWorldModel()
    start = np.zeros((1, SIZE, SIZE, 3), np.uint8) + 128
    vector = WorldModelVectorEnv(model, start, 3, max_steps=2, action_space=_point_space())
    observations, _ = vector.reset(seed=0)
    assert observations.shape == (3, SIZE, SIZE, 3) and vector.action_space.shape == (3, 3)
    actions = np.array([[0.1, 0, 0], [0, -0.1, 0], [0.05, 0.05, 0.05]], np.float32)
    calls = model.predict_calls
    observations, rewards, terminated, truncated, _ = vector.step(actions)
    assert model.predict_calls == calls + 1  # one batched prediction for the three episodes
    single = WorldModelEnv(model, start, action_space=_point_space())
    single.reset(seed=0)
    for i in range(3):
        single.reset(seed=0)
        assert np.array_equal(single.step(actions[i])[0], observations[i])
    observations, rewards, terminated, truncated, _ = vector.step(actions)
    assert truncated.all() and not terminated.any()
    observations, *_ = vector.step(actions)  # NEXT_STEP autoreset: back to the start frames
    assert np.array_equal(observations, np.stack([start[0]] * 3))
