"""Simulation source (extra ``[sim]``, PyBullet): robot pick-and-place episodes, physics scenes and robot
planning tasks with simulator-judged success (reach, push, pick-and-place).

See :mod:`cosmos.curate.sim.robot`, :mod:`cosmos.curate.sim.physics`, :mod:`cosmos.curate.sim.tasks` and
:mod:`cosmos.curate.sim.dataset`.
pybullet is imported only when a generator runs, so this package imports without it.
"""

from cosmos.curate.sim.dataset import write_physics_dataset, write_robot_dataset
from cosmos.curate.sim.physics import PHYSICS_SCENES, PhysicsClip, PhysicsConfig, generate_physics_clip
from cosmos.curate.sim.robot import (
    ACTION_NAMES,
    STATE_NAMES,
    RobotConfig,
    RobotEpisode,
    RobotScene,
    generate_robot_episode,
)
from cosmos.curate.sim.tasks import HELDOUT_TASK_SEED0, TASK_NAMES, RobotTask, TaskConfig

__all__ = [
    "ACTION_NAMES",
    "HELDOUT_TASK_SEED0",
    "PHYSICS_SCENES",
    "PhysicsClip",
    "PhysicsConfig",
    "RobotConfig",
    "RobotEpisode",
    "RobotScene",
    "RobotTask",
    "STATE_NAMES",
    "TASK_NAMES",
    "TaskConfig",
    "generate_physics_clip",
    "generate_robot_episode",
    "write_physics_dataset",
    "write_robot_dataset",
]
