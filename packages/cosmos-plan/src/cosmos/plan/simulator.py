"""The simulator as a world model: the planning upper bound (exact dynamics, same planners and costs).

:class:`SimulatorWorldModel` implements :class:`cosmos.core.WorldModel` on top of one live
:class:`cosmos.curate.sim.tasks.RobotTask` (extra ``[sim]``): predicting a candidate restores the task's
PyBullet snapshot, replays the candidate's actions through the same controller the real episode uses, and
records what it sees. PyBullet snapshots are exact (same snapshot, same actions: bit-identical states and
frames; tested), so CEM with this model plans with perfect foresight and bounds what any learned world model
can reach with the same planner, cost and budget.

Because a video cannot set a simulator, the model is bound to a task: ``encode_context(video)`` snapshots the
task's **current** physics (the video is kept as the context pixels only; pass the task's own observation).

Two observation modes fill the :class:`~cosmos.core.WorldState` chunk:

* ``"pixels"`` (default): the rendered frames themselves as a :class:`~cosmos.core.Latent` ``[B, 3, T, H, W]``
  with temporal and spatial compression 1 (:class:`FrameTokenizer`: pixels are their own latent), so
  :class:`~cosmos.plan.LatentDistanceCost` compares frames with the goal image as for any model. Rendering
  costs ~50-80 ms per predicted frame on one CPU thread.
* ``"state"``: the physical state per frame (:data:`cosmos.curate.sim.tasks.PHYSICAL_STATE_NAMES`, metres) as
  a Latent ``[B, 8, T, 1, 1]`` (no rendering, ~10 ms per frame); :class:`TaskDistanceCost` reads the task's
  true distance from it (a privileged cost), and :meth:`SimulatorWorldModel.decode` re-simulates to render.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cosmos.core import Latent, Rollout, ShapeError, WorldState, check_actions, check_context

__all__ = ["FrameTokenizer", "SimulatorWorldModel", "TaskDistanceCost", "frames_to_uint8", "uint8_to_frames"]


def uint8_to_frames(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``[T, H, W, 3]`` -> float32 ``[1, 3, T, H, W]`` in ``[-1, 1]``."""
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).float() / 127.5 - 1.0
    return tensor.permute(3, 0, 1, 2)[None].contiguous()


def frames_to_uint8(video: torch.Tensor) -> np.ndarray:
    """float ``[3, T, H, W]`` in ``[-1, 1]`` -> uint8 ``[T, H, W, 3]`` (rounded)."""
    pixels = ((video.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return pixels.permute(1, 2, 3, 0).cpu().numpy()


class FrameTokenizer:
    """Pixels as their own latent (temporal and spatial compression 1): the simulator's "tokenizer"."""

    temporal_compression = 1
    spatial_compression = 1
    latent_channels = 3

    def encode(self, video: torch.Tensor) -> Latent:
        """``[B, 3, T, H, W]`` -> a Latent wrapping the same tensor."""
        return Latent(video.float(), 1, 1, "frames")

    def decode(self, x: Latent | torch.Tensor) -> torch.Tensor:
        """The frames back, ``[B, 3, T, H, W]``."""
        return x.z if isinstance(x, Latent) else x

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        return num_frames, height, width

    def valid_num_frames(self, num_frames: int) -> bool:
        return num_frames >= 1


class SimulatorWorldModel:
    """A :class:`cosmos.core.WorldModel` whose predictions are exact re-simulations of one task's scene.

    Args:
        task: a live :class:`~cosmos.curate.sim.tasks.RobotTask` (e.g. ``SimTaskEnv.task``); it is left in
            the state it was in after every call.
        observation: ``"pixels"`` or ``"state"`` (see the module docstring).

    Raises:
        ValueError: an unknown observation mode.
    """

    action_dim = 7
    context_frames = (1,)

    def __init__(self, task: Any, *, observation: str = "pixels"):
        if observation not in ("pixels", "state"):
            raise ValueError(f"observation must be 'pixels' or 'state', got {observation!r}")
        self.task, self.observation = task, observation
        self.tokenizer = FrameTokenizer()
        self._snapshots: list[Any] = []

    @property
    def fps(self) -> float:
        return float(self.task.config.fps)

    @property
    def resolution(self) -> tuple[int, int]:
        return (self.task.config.size, self.task.config.size)

    @property
    def chunk_frames(self) -> int:
        return self.task.max_steps + 1

    def close(self) -> None:
        """Free every snapshot taken by :meth:`encode_context`."""
        for snapshot in self._snapshots:
            self.task.forget(snapshot)
        self._snapshots.clear()

    # ---- the contract
    def encode_context(self, video: torch.Tensor) -> WorldState:
        """Snapshot the task's current physics; ``video [B, 3, 1, H, W]`` is kept as the context pixels."""
        check_context(video, resolution=self.resolution, context_frames=self.context_frames)
        batch = video.shape[0]
        self._snapshots.append(self.task.snapshot())
        if self.observation == "pixels":
            z = video.float()
        else:
            z = (
                torch.from_numpy(self.task.physical_state())
                .float()[None, :, None, None, None]
                .repeat(batch, 1, 1, 1, 1)
            )
        index = torch.full((batch,), len(self._snapshots) - 1, dtype=torch.long)
        return WorldState(
            (self._latent(z),), (1,), (0,), torch.zeros(batch, 0, self.action_dim), {"snapshot": index}
        )

    def predict(
        self, state: WorldState, actions: torch.Tensor, *, seed: int | None = None, **_: Any
    ) -> WorldState:
        """Extend each row by ``N`` exactly simulated frames (``actions [B, N, 7]``; ``seed`` is ignored).

        Raises:
            ShapeError: bad actions (:func:`cosmos.core.check_actions`) or rows that do not broadcast.
        """
        actions = check_actions(actions, action_dim=self.action_dim, num_frames=None)
        rows = max(state.batch_size, actions.shape[0])
        if state.batch_size not in (1, rows) or actions.shape[0] not in (1, rows):
            raise ShapeError(
                f"cannot broadcast a {state.batch_size}-row state with {actions.shape[0]} action rows"
            )
        live = self.task.snapshot()
        try:
            new = [
                self._simulate(state, min(i, state.batch_size - 1), actions[min(i, actions.shape[0] - 1)])
                for i in range(rows)
            ]
        finally:
            self.task.restore(live)
            self.task.forget(live)
        old = state.last.z.expand(rows, *state.last.z.shape[1:])
        z = torch.cat([old, torch.stack(new)], dim=2)  # [rows, C, T + N, h, w]
        history = torch.cat([state.actions.expand(rows, -1, -1), actions.expand(rows, -1, -1)], dim=1)
        extras = {"snapshot": state.extras["snapshot"].expand(rows)}
        return WorldState((self._latent(z),), (z.shape[2],), (0,), history, extras)

    def decode(self, state: WorldState) -> torch.Tensor:
        """Pixels ``[B, 3, T, H, W]``: the chunk itself (``"pixels"``) or a rendered re-simulation (``"state"``)."""
        if self.observation == "pixels":
            return state.last.z
        live = self.task.snapshot()
        try:
            videos = [self._replay(state, row, render=True) for row in range(state.batch_size)]
        finally:
            self.task.restore(live)
            self.task.forget(live)
        return torch.stack(videos)

    def rollout(
        self,
        video: torch.Tensor,
        actions: torch.Tensor | None = None,
        *,
        num_frames: int | None = None,
        **_: Any,
    ) -> Rollout:
        """Context plus ``N`` simulated frames (``actions [B, N, 7]``), as :class:`~cosmos.core.Rollout`."""
        actions = check_actions(actions, action_dim=self.action_dim, num_frames=num_frames)
        states = self.predict(self.encode_context(video), actions)
        return Rollout(self.decode(states).clamp(-1, 1), states, {}, num_context_frames=video.shape[2])

    # ---- helpers
    def _latent(self, z: torch.Tensor) -> Latent:
        spatial = 1 if self.observation == "pixels" else self.resolution[0]
        return Latent(z, 1, spatial, f"simulator-{self.observation}")

    def _simulate(self, state: WorldState, row: int, actions: torch.Tensor) -> torch.Tensor:
        """Restore row ``row``'s snapshot, replay its history, apply ``actions [N, 7]``; new frames ``[C, N, h, w]``."""
        self._replay(state, row, render=False)
        return torch.stack([self._step(action) for action in actions.numpy().astype(np.float64)], dim=1)

    def _replay(self, state: WorldState, row: int, *, render: bool) -> torch.Tensor | None:
        self.task.restore(self._snapshots[int(state.extras["snapshot"][row])])
        frames = [uint8_to_frames(self.task.observe()[None])[0, :, 0]] if render else []
        for action in state.actions[row].numpy().astype(np.float64):
            self.task.step(action)
            if render:
                frames.append(uint8_to_frames(self.task.observe()[None])[0, :, 0])
        return torch.stack(frames, dim=1) if render else None

    def _step(self, action: np.ndarray) -> torch.Tensor:
        """Apply one action; the new frame ``[3, H, W]`` or physical state ``[8, 1, 1]``."""
        self.task.step(action)
        if self.observation == "pixels":
            return uint8_to_frames(self.task.observe()[None])[0, :, 0]
        return torch.from_numpy(self.task.physical_state()).float()[:, None, None]


class TaskDistanceCost:
    """The task's true distance to its goal (metres), read from a ``"state"``-mode simulator prediction.

    A privileged cost for the planning upper bound: ``cost(predicted, goal) -> [N]`` ignores ``goal`` and asks
    ``task.distance`` (or, with ``shaped=True``, ``task.shaped_distance``: plus an approach term for push and
    pick-place) about the last predicted physical state.
    """

    def __init__(self, task: Any, *, shaped: bool = False):
        self.task, self.shaped = task, shaped

    def __call__(self, predicted: WorldState, goal: Any = None) -> torch.Tensor:
        last = predicted.last.z[:, :, -1, 0, 0].double().numpy()  # [N, 8]
        distance = self.task.shaped_distance(last) if self.shaped else self.task.distance(last)
        return torch.from_numpy(np.asarray(distance, np.float64)).float()
