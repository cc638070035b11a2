"""Simulation source (extra ``[sim]``, PyBullet): robot pick-and-place episodes, physics scenes, robot
planning tasks with simulator-judged success (reach, push, pick-and-place) and multi-camera driving.

See :mod:`cosmos.curate.sim.robot`, :mod:`cosmos.curate.sim.physics`, :mod:`cosmos.curate.sim.tasks`,
:mod:`cosmos.curate.sim.driving` and :mod:`cosmos.curate.sim.dataset`.
pybullet is imported only when a generator runs, so this package imports without it.
"""

from cosmos.curate.sim.dataset import (
    DRIVE_ARRAYS,
    drive_from_sample,
    views_from_grid,
    write_driving_dataset,
    write_physics_dataset,
    write_robot_dataset,
)
from cosmos.curate.sim.driving import (
    DRIVING_GRID_LAYOUT,
    DRIVING_VIEW_NAMES,
    DrivingConfig,
    DrivingEpisode,
    generate_drive,
    project_points,
)
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
    "DRIVE_ARRAYS",
    "DRIVING_GRID_LAYOUT",
    "DRIVING_VIEW_NAMES",
    "DrivingConfig",
    "DrivingEpisode",
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
    "drive_from_sample",
    "generate_drive",
    "generate_physics_clip",
    "generate_robot_episode",
    "project_points",
    "views_from_grid",
    "write_driving_dataset",
    "write_physics_dataset",
    "write_robot_dataset",
]
