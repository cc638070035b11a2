"""cosmos.plan: plan robot actions and evaluate policies inside any world model.

Everything here sees a world model only through the :class:`cosmos.core.WorldModel` protocol
(``encode_context`` / ``predict`` / ``decode``), never through ``DiffusionWFM`` or ``ARWFM``:

* :func:`plan` (CEM, MPPI, random shooting; :data:`PLANNER_PRESETS`) and :func:`mpc`, the receding-horizon loop;
* :class:`ActionSpace` (bounds, step caps, a binary gripper) and :func:`robot_action_space`;
* goal costs :class:`LatentDistanceCost` and :class:`PixelDistanceCost` on a :class:`Goal` (:func:`make_goal`);
* gymnasium environments :class:`~cosmos.plan.envs.WorldModelEnv` (any world model; batched:
  :class:`~cosmos.plan.envs.WorldModelVectorEnv`) and
  :class:`~cosmos.plan.envs.SimTaskEnv` (the real simulator task, extra ``[sim]``), and
  :class:`~cosmos.plan.simulator.SimulatorWorldModel`, the simulator as a world model (the planning upper bound).
"""

from cosmos.plan.action_space import ActionSpace, robot_action_space
from cosmos.plan.costs import Goal, LatentDistanceCost, PixelDistanceCost, image_to_tensor, make_goal
from cosmos.plan.envs import SimTaskEnv, WorldModelEnv, WorldModelVectorEnv
from cosmos.plan.errors import ActionSpaceError, GoalError, HorizonError, NonFiniteCostError
from cosmos.plan.mpc import MPCResult, context_length, mpc
from cosmos.plan.simulator import FrameTokenizer, SimulatorWorldModel, TaskDistanceCost
from cosmos.plan.solvers import (
    PLANNER_PRESETS,
    CEMConfig,
    MPPIConfig,
    PlanResult,
    RandomActionsConfig,
    RandomShootingConfig,
    ZeroConfig,
    plan,
    preset,
    score_candidates,
)

__version__ = "0.1.0"

__all__ = [
    "PLANNER_PRESETS",
    "ActionSpace",
    "ActionSpaceError",
    "CEMConfig",
    "FrameTokenizer",
    "Goal",
    "GoalError",
    "HorizonError",
    "LatentDistanceCost",
    "MPCResult",
    "MPPIConfig",
    "NonFiniteCostError",
    "PixelDistanceCost",
    "PlanResult",
    "RandomActionsConfig",
    "RandomShootingConfig",
    "SimTaskEnv",
    "SimulatorWorldModel",
    "TaskDistanceCost",
    "WorldModelEnv",
    "WorldModelVectorEnv",
    "ZeroConfig",
    "__version__",
    "context_length",
    "image_to_tensor",
    "make_goal",
    "mpc",
    "plan",
    "preset",
    "robot_action_space",
    "score_candidates",
]
