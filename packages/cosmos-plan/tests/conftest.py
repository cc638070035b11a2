"""A toy analytic world model for the solver tests: a point mass whose position is the whole state.

Frames are ``SIZE x SIZE`` images whose three channels all hold the position ``(x, y, z)`` in ``[-1, 1]``;
the "tokenizer" averages a frame over its pixels (a ``[B, 3, T, 1, 1]`` latent, no compression in time),
and an action ``(dx, dy, dz)`` moves the point by exactly that much.
"""

from __future__ import annotations

import pytest
import torch

from cosmos.core import Latent, WorldState, check_actions, check_context
from cosmos.plan import ActionSpace

SIZE = 4


class PointMassTokenizer:
    temporal_compression = 1
    spatial_compression = SIZE
    latent_channels = 3

    def encode(self, video: torch.Tensor) -> Latent:
        return Latent(video.mean((-2, -1), keepdim=True), 1, SIZE, "point-mass")

    def decode(self, latent: Latent) -> torch.Tensor:
        z = latent.z if isinstance(latent, Latent) else latent
        return z.expand(*z.shape[:3], SIZE, SIZE).clamp(-1, 1)

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        return num_frames, height // SIZE, width // SIZE

    def valid_num_frames(self, num_frames: int) -> bool:
        return num_frames >= 1


class PointMassWorldModel:
    """Deterministic: ``position[k] = position[k - 1] + action[k]`` (clamped to [-1, 1])."""

    tokenizer = PointMassTokenizer()
    fps = 5.0
    resolution = (SIZE, SIZE)
    action_dim = 3
    context_frames = (1, 2)
    chunk_frames = 8

    def __init__(self, max_horizon: int | None = None):
        self.predict_calls = 0
        if max_horizon is not None:
            self.max_horizon = max_horizon

    def encode_context(self, video: torch.Tensor) -> WorldState:
        check_context(video, resolution=self.resolution, context_frames=self.context_frames)
        latent = self.tokenizer.encode(video)
        actions = torch.zeros(video.shape[0], video.shape[2] - 1, 3)
        return WorldState((latent,), (video.shape[2],), (0,), actions)

    def predict(self, state: WorldState, actions: torch.Tensor, *, seed: int | None = None) -> WorldState:
        self.predict_calls += 1
        actions = check_actions(actions, action_dim=3, num_frames=None)
        rows = max(state.batch_size, actions.shape[0])
        last = state.last.z[:, :, -1:].expand(rows, -1, -1, -1, -1)  # [N, 3, 1, 1, 1]
        path = (last + actions.permute(0, 2, 1)[..., None, None].cumsum(2)).clamp(-1, 1)  # [N, 3, H, 1, 1]
        z = torch.cat([state.last.z.expand(rows, -1, -1, -1, -1), path], dim=2)
        history = torch.cat([state.actions.expand(rows, -1, -1), actions.expand(rows, -1, -1)], dim=1)
        return WorldState((state.last.replace(z=z),), (z.shape[2],), (0,), history)

    def decode(self, state: WorldState) -> torch.Tensor:
        return self.tokenizer.decode(state.last)

    def rollout(self, video, actions=None, *, num_frames=None, text=None, seed=None, **options):
        raise NotImplementedError


def frame_at(position) -> torch.Tensor:
    """A context ``[1, 3, 1, SIZE, SIZE]`` showing the point at ``position``."""
    return torch.tensor(position, dtype=torch.float32)[None, :, None, None, None].expand(1, 3, 1, SIZE, SIZE)


@pytest.fixture
def point_mass() -> PointMassWorldModel:
    return PointMassWorldModel()


@pytest.fixture
def point_space() -> ActionSpace:
    return ActionSpace(
        low=(-0.1,) * 3, high=(0.1,) * 3, names=("dx", "dy", "dz"), step_cap=0.1, translation=(0, 1, 2)
    )
