"""Evaluation episodes: physics clips with object masks, and action-conditioned robot episodes.

Both can come from cosmos-curate's PyBullet simulator (extra ``[sim]``: ``pip install cosmos-eval[sim]``),
rendered at ``supersample`` times the model's resolution and area-averaged down (masks: every
``supersample``-th pixel), the way the nano models' data is made (``examples/nano_data.py``). Held-out seeds
start at :data:`HELDOUT_SEED0` (1,000,000), disjoint from the training seeds of the shipped nano models.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from cosmos.core import ShapeError

__all__ = [
    "HELDOUT_SEED0",
    "ActionEpisode",
    "PhysicsEpisode",
    "action_episodes",
    "physics_episodes",
    "simulated_robot_episodes",
]

HELDOUT_SEED0 = 1_000_000
PHYSICS_FPS = 16.0


@dataclass(frozen=True, eq=False)
class PhysicsEpisode:
    """A physics clip: ``video`` uint8 ``[T, H, W, 3]``, ``masks`` int ``[T, H, W]`` (0 background, k = the
    k-th dynamic object), its ``scene`` name and ``seed``."""

    video: np.ndarray
    masks: np.ndarray
    scene: str
    seed: int = -1
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class ActionEpisode:
    """An action-conditioned episode: ``video`` uint8 ``[T, H, W, 3]`` and ``actions`` float32 ``[T - 1, A]``
    (``actions[k]`` moves frame ``k`` to frame ``k + 1``)."""

    video: np.ndarray
    actions: np.ndarray
    seed: int = -1


def _downsample(video: np.ndarray, factor: int) -> np.ndarray:
    """Area-average uint8 ``[T, H, W, 3]`` by ``factor`` -> uint8 ``[T, H / factor, W / factor, 3]``."""
    if factor == 1:
        return video
    count, height, width, channels = video.shape
    blocks = video.reshape(count, height // factor, factor, width // factor, factor, channels)
    return np.clip(np.round(blocks.astype(np.float32).mean((2, 4))), 0, 255).astype(np.uint8)


def _sim():
    try:
        import cosmos.curate.sim as sim
    except ImportError as error:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            "simulated episodes need `pip install cosmos-eval[sim]` (cosmos-curate[sim])"
        ) from error
    return sim


def physics_episodes(
    per_scene: int,
    resolution: tuple[int, int],
    num_frames: int,
    *,
    fps: float = PHYSICS_FPS,
    seed0: int = HELDOUT_SEED0,
    supersample: int = 2,
    scenes: Iterable[str] | None = None,
) -> list[PhysicsEpisode]:
    """``per_scene`` clips of each of the paper's eight physics scenes (``cosmos.curate.sim.PHYSICS_SCENES``),
    seeds ``seed0, seed0 + 1, ...``, ordered seed-major (all scenes for one seed, then the next seed).

    Args:
        resolution: ``(H, W)`` of the returned frames; rendered at ``supersample`` times that.
        num_frames: frames per clip at ``fps`` (must divide 240).
        scenes: a subset of the scenes (default: all eight).

    Raises:
        ImportError: the ``[sim]`` extra (PyBullet) is missing. ValueError: unknown scene.
    """
    sim = _sim()
    height, width = resolution
    config = sim.PhysicsConfig(
        height=height * supersample, width=width * supersample, fps=fps, num_frames=num_frames
    )
    names = tuple(sim.PHYSICS_SCENES if scenes is None else scenes)
    episodes = []
    for seed in range(seed0, seed0 + per_scene):
        for scene in names:
            clip = sim.generate_physics_clip(scene, seed, config)
            masks = clip.masks[:, ::supersample, ::supersample]
            episodes.append(
                PhysicsEpisode(_downsample(clip.video, supersample), masks, scene, seed, clip.metadata)
            )
    return episodes


def simulated_robot_episodes(
    count: int,
    resolution: tuple[int, int],
    num_frames: int,
    *,
    seed0: int = HELDOUT_SEED0,
    supersample: int = 2,
) -> list[ActionEpisode]:
    """``count`` scripted Franka pick-and-place episodes (``cosmos.curate.sim.generate_robot_episode``, 5 fps,
    actions ``(dx, dy, dz, droll, dpitch, dyaw, gripper)``), seeds ``seed0 ..``, ``num_frames`` frames each.

    Raises:
        ImportError: the ``[sim]`` extra (PyBullet) is missing.
    """
    sim = _sim()
    height, width = resolution
    config = sim.RobotConfig(height=height * supersample, width=width * supersample, num_steps=num_frames - 1)
    episodes = []
    for seed in range(seed0, seed0 + count):
        episode = sim.generate_robot_episode(seed, config)
        episodes.append(ActionEpisode(_downsample(episode.video, supersample), episode.actions, seed))
    return episodes


def _as_frames(video, name: str) -> np.ndarray:
    """uint8 ``[T, H, W, 3]`` as given, or float ``[3, T, H, W]`` in [-1, 1] rounded to 8 bits."""
    if isinstance(video, torch.Tensor):
        video = video.detach().cpu().numpy()
    video = np.asarray(video)
    if video.dtype == np.uint8 and video.ndim == 4 and video.shape[-1] == 3:
        return video
    if np.issubdtype(video.dtype, np.floating) and video.ndim == 4 and video.shape[0] == 3:
        if not np.isfinite(video).all() or video.min() < -1.001 or video.max() > 1.001:
            raise ShapeError(f"{name} must hold finite values in [-1, 1]")
        return np.rint((np.clip(video, -1, 1) + 1) * 127.5).astype(np.uint8).transpose(1, 2, 3, 0)
    raise ShapeError(
        f"{name} must be uint8 [T, H, W, 3] or float [3, T, H, W] in [-1, 1], got {video.dtype} {video.shape}"
    )


def action_episodes(dataset: Iterable) -> Iterator[ActionEpisode]:
    """Normalise a dataset of action-conditioned episodes to :class:`ActionEpisode`.

    Each item may be an :class:`ActionEpisode` (or anything with ``video`` and ``actions`` attributes, such as
    ``cosmos.curate.sim.RobotEpisode``), a mapping with ``"video"`` and ``"actions"`` keys, or a
    ``(video, actions)`` pair; ``video`` is uint8 ``[T, H, W, 3]`` or float ``[3, T, H, W]`` in [-1, 1] and
    ``actions`` ``[T - 1, A]``.

    Raises:
        ShapeError: an item of another form, a bad video, or not exactly one action per frame transition.
    """
    for index, item in enumerate(dataset):
        if isinstance(item, Mapping):
            video, actions = item.get("video"), item.get("actions")
        elif hasattr(item, "video") and hasattr(item, "actions"):
            video, actions = item.video, item.actions
        elif isinstance(item, tuple | list) and len(item) == 2:
            video, actions = item
        else:
            raise ShapeError(
                f"episode {index}: expected (video, actions), a mapping or an episode, got {type(item).__name__}"
            )
        frames = _as_frames(video, f"episode {index} video")
        actions = np.asarray(
            actions.detach().cpu() if isinstance(actions, torch.Tensor) else actions, np.float32
        )
        if actions.ndim != 2 or len(actions) != len(frames) - 1:
            raise ShapeError(
                f"episode {index}: {len(frames)} frames need actions [{len(frames) - 1}, A], got {actions.shape}"
            )
        yield ActionEpisode(frames, actions, int(getattr(item, "seed", -1)))
