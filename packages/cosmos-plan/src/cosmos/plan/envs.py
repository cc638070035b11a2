"""gymnasium environments: the real simulator task and a world model standing in for it.

* :class:`SimTaskEnv`: a :mod:`cosmos.curate.sim.tasks` task (reach, push, pick-and-place; extra ``[sim]``)
  behind the gymnasium 1.x API, success judged from the physics.
* :class:`WorldModelEnv`: any :class:`cosmos.core.WorldModel` behind the same API: ``reset`` encodes real
  frames (a first frame or the start of a dataset episode), each ``step`` predicts one frame with the given
  action. An optional reward function scores predicted frames; a policy evaluated here is evaluated on the
  model's imagination, not on the world.

Observations are uint8 ``[H, W, 3]`` frames in both, actions float32 ``[A]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from cosmos.core import WorldModel
from cosmos.plan.action_space import ActionSpace, robot_action_space
from cosmos.plan.errors import GoalError
from cosmos.plan.mpc import context_length
from cosmos.plan.simulator import frames_to_uint8, uint8_to_frames

__all__ = ["SimTaskEnv", "WorldModelEnv", "WorldModelVectorEnv", "predict_next_frames"]


def _box(space: ActionSpace) -> gym.spaces.Box:
    low, high = space.bounds()
    return gym.spaces.Box(low.numpy(), high.numpy(), dtype=np.float32)


class SimTaskEnv(gym.Env):
    """A simulator task as a gymnasium environment.

    ``reset(seed=s)`` starts the task on scene and goal seed ``s`` (without a seed: ``first_seed``, then the
    following seeds episode after episode). ``step(action)`` applies ``(dx, dy, dz, droll, dpitch, dyaw,
    gripper)``; the reward is minus the distance to the goal in metres, ``terminated`` is success (judged from
    the physics), ``truncated`` is the step limit. ``info`` holds ``distance_m``, ``success``, ``seed`` and, after
    ``reset``, ``goal_image`` (uint8 ``[H, W, 3]``) and ``goal_position`` (metres).

    Args:
        task: ``"reach"``, ``"push"`` or ``"pick-place"``.
        config: a :class:`cosmos.curate.sim.tasks.TaskConfig` (default: 64x64 frames at 5 fps).
        first_seed: the first episode's seed when ``reset`` gets none (default: the held-out 2,000,000).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 5}

    def __init__(
        self, task: str = "reach", config: Any = None, *, first_seed: int | None = None, render_mode=None
    ):
        from cosmos.curate.sim.tasks import HELDOUT_TASK_SEED0, TASK_NAMES, TaskConfig

        if task not in TASK_NAMES:
            raise ValueError(f"unknown task {task!r}; tasks: {TASK_NAMES}")
        self.task_name, self.config = task, config or TaskConfig()
        self.render_mode = render_mode
        self._next_seed = HELDOUT_TASK_SEED0 if first_seed is None else first_seed
        size = self.config.size
        self.observation_space = gym.spaces.Box(0, 255, (size, size, 3), dtype=np.uint8)
        self.action_space = _box(robot_action_space())
        self.task = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        from cosmos.curate.sim.tasks import RobotTask

        super().reset(seed=seed)
        episode_seed = self._next_seed if seed is None else int(seed)
        self._next_seed = episode_seed + 1
        if self.task is not None:
            self.task.close()
        self.task = RobotTask(self.task_name, episode_seed, self.config)
        info = self._info()
        info.update(
            goal_image=self.task.goal_image.copy(),
            goal_position=self.task.goal_position.copy(),
            seed=episode_seed,
        )
        return self.task.observe(), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.task is None:
            raise RuntimeError("call reset() before step()")
        self.task.step(np.asarray(action, np.float64))
        info = self._info()
        truncated = self.task.steps >= self.task.max_steps and not info["success"]
        return self.task.observe(), -info["distance_m"], info["success"], truncated, info

    def render(self) -> np.ndarray | None:
        return None if self.task is None else self.task.observe()

    def close(self) -> None:
        if self.task is not None:
            self.task.close()
            self.task = None

    def _info(self) -> dict:
        return {
            "distance_m": float(self.task.distance()),
            "success": self.task.success(),
            "seed": self.task.seed,
        }


class WorldModelEnv(gym.Env):
    """A world model as a gymnasium environment: each step predicts the next frame from the action.

    Args:
        world_model: any :class:`cosmos.core.WorldModel`.
        frames: uint8 ``[T, H, W, 3]`` start frames (a real first frame, or the start of a dataset episode),
            or a callable ``seed -> frames`` that picks an episode per reset; ``reset(options={"frames": ...})``
            overrides it for one episode.
        reward_fn: optional ``reward_fn(frame uint8 [H, W, 3]) -> float`` on each predicted frame (0 without).
        success_fn: optional ``success_fn(frame) -> bool`` ending the episode (``terminated``) when true.
        max_steps: predicted frames per episode before ``truncated``.
        action_space: the actions' bounds (default: the nano robot space); actions are projected into it.
        sampler_options: passed to ``world_model.predict`` (e.g. fewer sampling steps).

    Each step encodes the last context frames (the longest length in ``world_model.context_frames`` that the
    history fills) and predicts one frame: the model sees a sliding window, as in an autoregressive roll-out.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        world_model: WorldModel,
        frames: np.ndarray | Callable[[int], np.ndarray],
        *,
        reward_fn: Callable[[np.ndarray], float] | None = None,
        success_fn: Callable[[np.ndarray], bool] | None = None,
        max_steps: int = 20,
        action_space: ActionSpace | None = None,
        render_mode: str | None = None,
        **sampler_options: Any,
    ):
        self.world_model, self.frames = world_model, frames
        self.reward_fn, self.success_fn, self.max_steps = reward_fn, success_fn, max_steps
        self.space = robot_action_space() if action_space is None else action_space
        self.space.check(world_model.action_dim)
        height, width = world_model.resolution
        self.observation_space = gym.spaces.Box(0, 255, (height, width, 3), dtype=np.uint8)
        self.action_space = _box(self.space)
        self.render_mode, self.sampler_options = render_mode, sampler_options
        self.history: list[np.ndarray] = []
        self._steps, self._seed = 0, 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._seed = 0 if seed is None else int(seed)
        frames = _start_frames((options or {}).get("frames", self.frames), self._seed, self.world_model)
        self.history, self._steps = [frame.copy() for frame in frames], 0
        return self.history[-1].copy(), {"step": 0}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.history:
            raise RuntimeError("call reset() before step()")
        actions = torch.as_tensor(action, dtype=torch.float32).reshape(1, 1, -1)
        seed = self._seed * 100_003 + self._steps
        frame = predict_next_frames(
            self.world_model, [self.history], actions, self.space, seed, self.sampler_options
        )[0]
        return self._advance(frame)

    def _advance(self, frame: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        """Append a predicted frame and score it."""
        self.history.append(frame)
        self._steps += 1
        reward = float(self.reward_fn(frame)) if self.reward_fn else 0.0
        terminated = bool(self.success_fn(frame)) if self.success_fn else False
        truncated = self._steps >= self.max_steps and not terminated
        return frame.copy(), reward, terminated, truncated, {"step": self._steps}

    def render(self) -> np.ndarray | None:
        return self.history[-1] if self.history else None


def _start_frames(frames, seed: int, world_model: WorldModel) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` start frames from an array or a ``seed -> frames`` callable.

    Raises:
        GoalError: frames of another resolution than the world model's.
    """
    frames = np.asarray(frames(seed) if callable(frames) else frames, np.uint8)
    frames = frames[None] if frames.ndim == 3 else frames
    if frames.ndim != 4 or frames.shape[1:3] != tuple(world_model.resolution) or frames.shape[-1] != 3:
        raise GoalError(
            f"start frames must be uint8 [T, H, W, 3] at the world model's {world_model.resolution}, "
            f"got shape {frames.shape}"
        )
    return frames


def predict_next_frames(
    world_model: WorldModel,
    histories: list[list[np.ndarray]],
    actions: torch.Tensor,
    space: ActionSpace,
    seed: int,
    sampler_options: dict | None = None,
) -> np.ndarray:
    """One predicted frame per history, in one batched ``predict`` call.

    Args:
        histories: ``B`` lists of uint8 ``[H, W, 3]`` frames (the last ``T0`` frames are the context; a short
            history is padded with its first frame).
        actions: ``[B, 1, A]`` (projected into ``space``).

    Returns:
        uint8 ``[B, H, W, 3]``.
    """
    length = context_length(min(len(history) for history in histories), world_model.context_frames)
    contexts = np.stack([np.stack(([history[0]] * length + history)[-length:]) for history in histories])
    video = torch.cat([uint8_to_frames(context) for context in contexts])  # [B, 3, T0, H, W]
    with torch.no_grad():
        state = world_model.encode_context(video)
        state = world_model.predict(state, space.project(actions), seed=seed, **(sampler_options or {}))
        last = world_model.decode(state)[:, :, -1:]  # [B, 3, 1, H, W]
    return np.stack([frames_to_uint8(row)[0] for row in last])


class WorldModelVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` :class:`WorldModelEnv` episodes stepped together: one batched ``predict`` per step.

    Same arguments as :class:`WorldModelEnv` plus ``num_envs``; ``frames`` (or the callable, called with
    ``seed + i`` for sub-environment ``i``) gives each episode's start. Autoreset follows gymnasium's
    ``NEXT_STEP`` mode: the step after an episode ends resets that sub-environment (reward 0).
    """

    metadata = {"render_modes": [], "autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, world_model: WorldModel, frames, num_envs: int, **options: Any):
        self.envs = [WorldModelEnv(world_model, frames, **options) for _ in range(num_envs)]
        self.num_envs, self.world_model = num_envs, world_model
        self.single_observation_space = self.envs[0].observation_space
        self.single_action_space = self.envs[0].action_space
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self._ended = np.zeros(num_envs, bool)
        self._step_count = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        base = 0 if seed is None else int(seed)
        observations = [env.reset(seed=base + i, options=options)[0] for i, env in enumerate(self.envs)]
        self._ended[:] = False
        return np.stack(observations), {}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        actions = torch.as_tensor(np.asarray(actions), dtype=torch.float32).reshape(self.num_envs, 1, -1)
        live = [i for i in range(self.num_envs) if not self._ended[i]]
        frames = {}
        if live:
            histories = [self.envs[i].history for i in live]
            predicted = predict_next_frames(
                self.world_model, histories, actions[live], self.envs[0].space, self._step_count,
                self.envs[0].sampler_options,
            )  # fmt: skip
            frames = dict(zip(live, predicted))
        self._step_count += 1
        observations, rewards = [], np.zeros(self.num_envs)
        terminated, truncated = np.zeros(self.num_envs, bool), np.zeros(self.num_envs, bool)
        for i, env in enumerate(self.envs):
            if self._ended[i]:
                observations.append(env.reset(seed=env._seed)[0])
                self._ended[i] = False
                continue
            observation, rewards[i], terminated[i], truncated[i], _ = env._advance(frames[i])
            observations.append(observation)
        self._ended = terminated | truncated
        return np.stack(observations), rewards, terminated, truncated, {}
