"""Simulation source (extra ``[sim]``, PyBullet): robot pick-and-place episodes and physics scenes.

See :mod:`cosmos.curate.sim.robot`, :mod:`cosmos.curate.sim.physics` and :mod:`cosmos.curate.sim.dataset`.
pybullet is imported only when a generator runs, so this package imports without it.
"""

from cosmos.curate.sim.dataset import write_physics_dataset, write_robot_dataset
from cosmos.curate.sim.physics import PHYSICS_SCENES, PhysicsClip, PhysicsConfig, generate_physics_clip
from cosmos.curate.sim.robot import (
    ACTION_NAMES,
    STATE_NAMES,
    RobotConfig,
    RobotEpisode,
    generate_robot_episode,
)

__all__ = [
    "ACTION_NAMES",
    "PHYSICS_SCENES",
    "PhysicsClip",
    "PhysicsConfig",
    "RobotConfig",
    "RobotEpisode",
    "STATE_NAMES",
    "generate_physics_clip",
    "generate_robot_episode",
    "write_physics_dataset",
    "write_robot_dataset",
]
