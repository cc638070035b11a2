"""Robot planning tasks with ground-truth success judged from the simulator state (extra ``[sim]``).

Each task is an episode on the live scene of :class:`cosmos.curate.sim.robot.RobotScene` (same table, Panda,
cube, tray and jittered camera as the nano training data of that seed) with a goal drawn from a separate
generator, ``np.random.default_rng([seed, task index])``, so the scene of seed ``s`` is the scene of the
pick-and-place episode ``s``:

* ``reach``: bring the end effector (``panda_grasptarget``) to a goal position 15 to 40 cm away from the
  start; the goal image shows the arm there (driven by the scripted controller, then the scene is restored).
  Success: within ``success_radius`` (5 cm) of the goal.
* ``push``: move the cube 8 to 15 cm across the table to a goal position; the goal image shows the cube
  there and the arm at its start pose. Success: the cube's centre within 5 cm of the goal (in x and y).
* ``pick-place``: put the cube in the tray; the goal image shows it there. Success: the scripted episodes'
  rule (:func:`cosmos.curate.sim.robot.cube_in_tray`); distance: cube to tray centre in x and y.

Observations are rendered at ``size * supersample`` pixels and area-averaged down to ``size`` (the nano data's
128 -> 64 pipeline, ``examples/nano_data.py``). Actions are those of the data, ``(dx, dy, dz, droll, dpitch,
dyaw, gripper)`` in metres and radians per 5-fps step, integrated into a commanded end-effector pose exactly as
the scripted policy does; the commanded position is kept inside :data:`WORKSPACE` (above the table top).
Seeds: the planning benchmarks use :data:`HELDOUT_TASK_SEED0` and up (2,000,000+), disjoint from training
(0..2699) and from the quality benchmarks' held-out episodes (1,000,000+). Success is never judged by a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosmos.curate.sim.robot import START_POSITION, TABLE_TOP, RobotConfig, RobotScene, cube_in_tray

__all__ = [
    "HELDOUT_TASK_SEED0",
    "PHYSICAL_STATE_NAMES",
    "TASK_NAMES",
    "WORKSPACE",
    "RobotTask",
    "TaskConfig",
    "TaskSnapshot",
    "downsample",
]

TASK_NAMES = ("reach", "push", "pick-place")
HELDOUT_TASK_SEED0 = 2_000_000
PHYSICAL_STATE_NAMES = ("ee_x", "ee_y", "ee_z", "ee_yaw", "finger_width", "cube_x", "cube_y", "cube_z")
WORKSPACE = ((0.25, -0.4, TABLE_TOP + 0.02), (0.8, 0.4, TABLE_TOP + 0.5))
"""``(low, high)`` of the commanded end-effector position (metres): the table's reachable part, above its top."""
_DEFAULT_MAX_STEPS = {"reach": 20, "push": 30, "pick-place": 40}


@dataclass(frozen=True)
class TaskConfig:
    """Task settings.

    Attributes:
        size: observation frames are ``size x size`` pixels.
        supersample: rendered at ``size * supersample`` and area-averaged (2: the nano data's 128 -> 64).
        fps: control rate (frames/s).
        max_steps: actions per episode before truncation (``None``: 20 reach, 30 push, 40 pick-place).
        success_radius: metres.
    """

    size: int = 64
    supersample: int = 2
    fps: float = 5.0
    max_steps: int | None = None
    success_radius: float = 0.05


@dataclass(frozen=True)
class TaskSnapshot:
    """A saved task state: the PyBullet snapshot id plus the commanded pose (not part of the physics)."""

    state_id: int
    command: tuple[float, ...]
    steps: int


def downsample(frame: np.ndarray, factor: int) -> np.ndarray:
    """Area-average ``uint8 [H, W, 3]`` by ``factor`` -> ``uint8 [H/f, W/f, 3]`` (rounded)."""
    if factor == 1:
        return frame
    height, width, channels = frame.shape
    blocks = frame.reshape(height // factor, factor, width // factor, factor, channels).astype(np.float32)
    return np.clip(np.round(blocks.mean((1, 3))), 0, 255).astype(np.uint8)


class RobotTask:
    """One episode of a task: a live scene, a goal (position and image), success judged from the physics.

    Attributes:
        name: one of :data:`TASK_NAMES`; seed: the scene's seed.
        goal_position: float64 ``[3]`` metres: the end-effector goal (reach) or the cube goal (push,
            pick-place: the tray centre).
        goal_image: uint8 ``[size, size, 3]``.
        steps: actions applied since the start.

    Raises:
        ValueError: an unknown task name.
        ImportError: pybullet is missing (``pip install cosmos-curate[sim]``).
    """

    def __init__(self, name: str, seed: int, config: TaskConfig = TaskConfig()):
        if name not in TASK_NAMES:
            raise ValueError(f"unknown task {name!r}; tasks: {TASK_NAMES}")
        self.name, self.seed, self.config = name, int(seed), config
        side = config.size * config.supersample
        self.scene = RobotScene(seed, RobotConfig(height=side, width=side, fps=config.fps))
        self._command = np.array([*self.scene.settle(), 0.0, 0.0, 0.0, 1.0])  # xyz, roll, pitch, yaw, gripper
        self.steps = 0
        rng = np.random.default_rng([self.seed, TASK_NAMES.index(name)])
        self.goal_position, self.goal_image = getattr(self, f"_make_{name.replace('-', '_')}_goal")(rng)

    @property
    def max_steps(self) -> int:
        """Actions per episode before truncation."""
        return self.config.max_steps or _DEFAULT_MAX_STEPS[self.name]

    def __enter__(self) -> RobotTask:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect the scene."""
        self.scene.close()

    # ---- observation, control, snapshots
    def observe(self) -> np.ndarray:
        """uint8 ``[size, size, 3]``: the current camera frame."""
        return downsample(self.scene.render(), self.config.supersample)

    def step(self, action: np.ndarray) -> None:
        """Apply one action ``(dx, dy, dz, droll, dpitch, dyaw, gripper)``: integrate it into the commanded
        pose (position clipped to :data:`WORKSPACE`), gripper ``>= 0.5`` open, and simulate one control step."""
        action = np.asarray(action, np.float64).reshape(7)
        command = self._command
        command[:3] = np.clip(command[:3] + action[:3], *WORKSPACE)
        command[3:6] += action[3:6]
        command[6] = 1.0 if action[6] >= 0.5 else 0.0
        roll, pitch, yaw = command[3:6]
        self.scene.apply(command[:3], yaw, command[6], roll=roll, pitch=pitch)
        self.steps += 1

    def snapshot(self) -> TaskSnapshot:
        """Save the physics and the commanded pose (free it with :meth:`forget`)."""
        return TaskSnapshot(self.scene.save(), tuple(self._command), self.steps)

    def restore(self, snapshot: TaskSnapshot) -> None:
        """Return exactly to ``snapshot``."""
        self.scene.restore(snapshot.state_id)
        self._command = np.array(snapshot.command)
        self.steps = snapshot.steps

    def forget(self, snapshot: TaskSnapshot) -> None:
        """Free a snapshot's memory."""
        self.scene.forget(snapshot.state_id)

    # ---- ground truth
    def physical_state(self) -> np.ndarray:
        """float64 ``[8]`` (:data:`PHYSICAL_STATE_NAMES`): end effector xyz, yaw, finger width, cube xyz."""
        ee = self.scene.state()
        return np.array([*ee[:3], ee[5], ee[6], *self.scene.cube_position()])

    def distance(self, physical_state: np.ndarray | None = None) -> np.ndarray | float:
        """Metres to the goal from a physical state ``[8]`` or ``[N, 8]`` (default: the current one).

        reach: end effector to goal (3-D); push and pick-place: cube centre to goal in x and y.
        """
        state = self.physical_state() if physical_state is None else np.asarray(physical_state, np.float64)
        if self.name == "reach":
            distance = np.linalg.norm(state[..., 0:3] - self.goal_position, axis=-1)
        else:
            distance = np.linalg.norm(state[..., 5:7] - self.goal_position[:2], axis=-1)
        return float(distance) if distance.ndim == 0 else distance

    def shaped_distance(self, physical_state: np.ndarray) -> np.ndarray | float:
        """:meth:`distance` plus an approach term for the cube tasks (metres; a planner's privileged cost).

        push: half the distance from the end effector to a point 7 cm behind the cube (opposite the goal, at
        the cube's height), so a short-horizon planner first brings the gripper behind the cube, then pushes.
        pick-place: half the distance from the end effector to the cube. reach: the plain distance.
        """
        state = np.asarray(physical_state, np.float64)
        distance = self.distance(state)
        if self.name == "reach":
            return distance
        ee, cube = state[..., 0:3], state[..., 5:8]
        target = cube
        if self.name == "push":
            away = cube[..., :2] - self.goal_position[:2]
            away = away / np.maximum(np.linalg.norm(away, axis=-1, keepdims=True), 1e-9)
            target = np.concatenate([cube[..., :2] + 0.07 * away, cube[..., 2:3]], axis=-1)
        return distance + 0.5 * np.linalg.norm(ee - target, axis=-1)

    def success(self) -> bool:
        """Judged from the simulator state: within ``success_radius`` (reach, push), cube in tray (pick-place)."""
        if self.name == "pick-place":
            return cube_in_tray(self.scene)
        return bool(self.distance() <= self.config.success_radius)

    # ---- goals
    def _with_restore(self, change) -> tuple[np.ndarray, np.ndarray]:
        """Run ``change()`` (returns the goal position), render the goal image, restore the scene."""
        snapshot = self.snapshot()
        try:
            position = change()
            image = self.observe()
        finally:
            self.restore(snapshot)
            self.forget(snapshot)
        return np.asarray(position, np.float64), image

    def _make_reach_goal(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        start = np.array(START_POSITION)
        while True:
            target = np.array(
                [rng.uniform(0.35, 0.65), rng.uniform(-0.25, 0.25), TABLE_TOP + rng.uniform(0.08, 0.35)]
            )
            if 0.15 <= np.linalg.norm(target - start) <= 0.4:
                break

        def drive() -> np.ndarray:
            for _ in range(12):
                delta = target - self._command[:3]
                self.step([*delta * min(1.0, 0.06 / max(np.linalg.norm(delta), 1e-9)), 0, 0, 0, 1])
            for _ in range(3):
                self.step([0, 0, 0, 0, 0, 0, 1])
            return self.physical_state()[:3]  # where the arm really is in the goal image

        return self._with_restore(drive)

    def _make_push_goal(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        cube = self.scene.cube_position()
        while True:
            angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(0.08, 0.15)
            goal = cube[:2] + length * np.array([np.cos(angle), np.sin(angle)])
            inside = 0.38 <= goal[0] <= 0.68 and abs(goal[1]) <= 0.28
            if inside and np.linalg.norm(goal - self.scene.tray_xy) > 0.14:
                break
        return self._with_restore(lambda: self._place_cube(np.array([*goal, cube[2]])))

    def _make_pick_place_goal(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        goal = np.array([*self.scene.tray_xy, TABLE_TOP + 0.03])
        return self._with_restore(lambda: self._place_cube(goal))

    def _place_cube(self, position: np.ndarray) -> np.ndarray:
        client, cube = self.scene.client, self.scene.cube
        orientation = client.getBasePositionAndOrientation(cube)[1]
        client.resetBasePositionAndOrientation(cube, position.tolist(), orientation)
        return position
