"""Franka Panda pick-and-place episodes with end-effector delta actions (PyBullet, extra ``[sim]``).

A Bridge-like source of action-conditioned robot video (design.md §5; measured facts in
notes/simulation-and-media.md): a Panda on a table picks a 5 cm cube of random colour, pose and yaw and
drops it in a tray, driven by a scripted policy with teleop-like jitter. Control at ``fps`` (5):
every step applies one action ``(dx, dy, dz, droll, dpitch, dyaw, gripper)`` (world frame, metres and
radians; gripper 1 = open, 0 = closed, the Bridge convention) to the commanded end-effector pose,
solves IK for ``panda_grasptarget``, runs ``240 / fps`` physics substeps at 240 Hz and renders one frame
with the CPU TinyRenderer. Same seed, same config: bit-identical frames, actions and states.

:class:`RobotScene` is the live scene of one seed (table, Panda, cube, tray, camera) with the controller
(``apply``), the renderer and snapshots; the scripted episode here and the planning tasks of
:mod:`cosmos.curate.sim.tasks` both drive it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "ACTION_NAMES",
    "START_POSITION",
    "STATE_NAMES",
    "RobotConfig",
    "RobotEpisode",
    "RobotScene",
    "cube_in_tray",
    "generate_robot_episode",
]

ACTION_NAMES = ("dx", "dy", "dz", "droll", "dpitch", "dyaw", "gripper")
STATE_NAMES = ("x", "y", "z", "roll", "pitch", "yaw", "finger_width")
TABLE_TOP = 0.626
ARM_JOINTS = tuple(range(7))
FINGER_JOINTS = (9, 10)
EE_LINK = 11
REST_POSE = (0.0, -0.3, 0.0, -2.2, 0.0, 2.0, 0.785)
PHYSICS_HZ = 240


@dataclass(frozen=True)
class RobotConfig:
    """Episode settings.

    Attributes:
        height, width: rendered frame size in pixels.
        fps: control and video rate (frames/s); ``240 / fps`` substeps per step.
        num_steps: actions per episode (video has ``num_steps + 1`` frames).
        max_step: largest |Δxyz| per step in metres; max_yaw_step: largest |Δyaw| in radians.
        jitter: std of the Gaussian noise added to commanded translations (metres).
        camera_jitter: std of the camera eye/target perturbation (metres).
    """

    height: int = 256
    width: int = 256
    fps: float = 5.0
    num_steps: int = 25
    max_step: float = 0.06
    max_yaw_step: float = 0.25
    jitter: float = 0.003
    camera_jitter: float = 0.03

    def __post_init__(self) -> None:
        if PHYSICS_HZ % self.fps:
            raise ValueError(f"fps must divide {PHYSICS_HZ}, got {self.fps}")


@dataclass
class RobotEpisode:
    """One episode: ``video`` uint8 ``[T+1, H, W, 3]``, ``actions`` float32 ``[T, 7]`` (:data:`ACTION_NAMES`),
    ``states`` float32 ``[T+1, 7]`` (:data:`STATE_NAMES`), ``success`` (cube ended in the tray), metadata."""

    video: np.ndarray
    actions: np.ndarray
    states: np.ndarray
    success: bool
    metadata: dict = field(default_factory=dict)


def _random_colour(rng: np.random.Generator) -> list[float]:
    hue = rng.uniform(0, 1)
    rgb = [min(1.0, max(0.0, abs(hue * 6 - k) - 1 if k == 3 else 2 - abs(hue * 6 - k))) for k in (3, 2, 4)]
    return [0.15 + 0.8 * c for c in rgb] + [1.0]


def _import_pybullet():
    try:
        import pybullet as p
        import pybullet_data
        from pybullet_utils.bullet_client import BulletClient
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError(
            "the simulator needs `pip install cosmos-curate[sim]` (pybullet, Python <= 3.11 wheels)"
        ) from exc
    return p, pybullet_data, BulletClient


START_POSITION = (0.45, 0.0, TABLE_TOP + 0.3)
"""Where :meth:`RobotScene.settle` parks the end effector (metres, world frame), gripper open, yaw 0."""


class RobotScene:
    """The live PyBullet scene of one seed: a Panda on a table, a cube of random colour, pose and yaw, a tray,
    and a jittered camera (all drawn from ``np.random.default_rng(seed)`` in a fixed order).

    Attributes:
        rng: the seed's generator after the scene draws (the scripted policy keeps drawing its jitter from it).
        cube_xy, cube_yaw, tray_xy: the initial cube pose and the tray position (metres, radians).
        client, robot, cube, tray: the PyBullet client and body ids.

    Use as a context manager (or call :meth:`close`): it owns a PyBullet ``DIRECT`` connection.

    Raises:
        ImportError: pybullet is not installed (``pip install cosmos-curate[sim]``).
    """

    def __init__(self, seed: int, config: RobotConfig = RobotConfig()):
        p, pybullet_data, BulletClient = _import_pybullet()
        self._p, self.config = p, config
        rng = self.rng = np.random.default_rng(seed)
        client = self.client = BulletClient(connection_mode=p.DIRECT)
        client.setAdditionalSearchPath(pybullet_data.getDataPath())
        client.setGravity(0, 0, -9.81)
        client.setTimeStep(1.0 / PHYSICS_HZ)
        client.loadURDF("plane.urdf")
        client.loadURDF("table/table.urdf", [0.5, 0, 0], useFixedBase=True)
        robot = self.robot = client.loadURDF("franka_panda/panda.urdf", [0, 0, TABLE_TOP], useFixedBase=True)
        side = 1.0 if rng.uniform() < 0.5 else -1.0
        self.cube_xy = np.array([rng.uniform(0.45, 0.62), side * rng.uniform(0.08, 0.2)])
        self.cube_yaw = rng.uniform(-math.pi / 4, math.pi / 4)
        self.tray_xy = np.array([rng.uniform(0.45, 0.6), -side * rng.uniform(0.18, 0.26)])
        cube = self.cube = client.loadURDF(
            "cube_small.urdf",
            [*self.cube_xy, TABLE_TOP + 0.025],
            client.getQuaternionFromEuler([0, 0, self.cube_yaw]),
        )
        tray = self.tray = client.loadURDF(
            "tray/traybox.urdf", [*self.tray_xy, TABLE_TOP], globalScaling=0.45, useFixedBase=True
        )
        client.changeVisualShape(cube, -1, rgbaColor=_random_colour(rng))
        client.changeVisualShape(tray, -1, rgbaColor=[*rng.uniform(0.3, 0.8, 3), 1.0])
        client.changeDynamics(cube, -1, lateralFriction=1.5)
        for joint, angle in zip(ARM_JOINTS, REST_POSE):
            client.resetJointState(robot, joint, angle)
        for joint in FINGER_JOINTS:
            client.resetJointState(robot, joint, 0.04)
            client.changeDynamics(robot, joint, lateralFriction=1.5)
        eye = np.array([1.25, 0.0, 1.18]) + rng.normal(0, config.camera_jitter, 3)
        target = np.array([0.45, 0.0, 0.63]) + rng.normal(0, config.camera_jitter / 2, 3)
        self._view = client.computeViewMatrix(eye.tolist(), target.tolist(), [0, 0, 1])
        self._projection = client.computeProjectionMatrixFOV(55, config.width / config.height, 0.05, 5.0)

    def __enter__(self) -> RobotScene:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect from PyBullet (idempotent)."""
        if self.client is not None:
            self.client.disconnect()
            self.client = None

    def render(self) -> np.ndarray:
        """uint8 ``[H, W, 3]`` from the scene's camera (TinyRenderer, ``config.height x config.width``)."""
        config = self.config
        _, _, rgba, _, _ = self.client.getCameraImage(
            config.width,
            config.height,
            self._view,
            self._projection,
            renderer=self._p.ER_TINY_RENDERER,
            flags=self._p.ER_NO_SEGMENTATION_MASK,
        )
        return np.asarray(rgba, np.uint8).reshape(config.height, config.width, 4)[..., :3].copy()

    def state(self) -> np.ndarray:
        """float64 ``[7]`` (:data:`STATE_NAMES`): end-effector position, Euler angles and finger width."""
        client = self.client
        link = client.getLinkState(self.robot, EE_LINK, computeForwardKinematics=True)
        width = sum(client.getJointState(self.robot, j)[0] for j in FINGER_JOINTS)
        return np.array([*link[4], *client.getEulerFromQuaternion(link[5]), width], np.float64)

    def cube_position(self) -> np.ndarray:
        """float64 ``[3]``: the cube's centre (metres, world frame)."""
        return np.array(self.client.getBasePositionAndOrientation(self.cube)[0], np.float64)

    def apply(
        self, position: np.ndarray, yaw: float, gripper: float, roll: float = 0.0, pitch: float = 0.0
    ) -> None:
        """Command the end-effector pose (IK on ``panda_grasptarget``, gripper pointing down rotated by ``roll``,
        ``pitch``, ``yaw``) and the gripper (1 open, 0 closed), then simulate one control step."""
        client, p = self.client, self._p
        orientation = client.getQuaternionFromEuler([math.pi + roll, pitch, yaw])
        joints = client.calculateInverseKinematics(
            self.robot,
            EE_LINK,
            position.tolist(),
            orientation,
            maxNumIterations=50,
            residualThreshold=1e-4,
            lowerLimits=[-2.9, -1.8, -2.9, -3.0, -2.9, -0.08, -2.9],
            upperLimits=[2.9, 1.8, 2.9, 0.0, 2.9, 3.8, 2.9],
            jointRanges=[5.8, 3.6, 5.8, 3.0, 5.8, 3.9, 5.8],
            restPoses=list(REST_POSE),
        )
        for joint in ARM_JOINTS:
            client.setJointMotorControl2(
                self.robot, joint, p.POSITION_CONTROL, joints[joint], force=240.0, maxVelocity=2.0
            )
        for joint in FINGER_JOINTS:
            client.setJointMotorControl2(self.robot, joint, p.POSITION_CONTROL, 0.04 * gripper, force=40.0)
        for _ in range(int(PHYSICS_HZ / self.config.fps)):
            client.stepSimulation()

    def settle(self) -> np.ndarray:
        """Drive to :data:`START_POSITION` (10 control steps, gripper open); returns the commanded position."""
        start = np.array(START_POSITION)
        for _ in range(10):
            self.apply(start, 0.0, 1.0)
        return start.copy()

    def save(self) -> int:
        """Snapshot the physics state in memory (``pybullet.saveState``); returns its id for :meth:`restore`."""
        return self.client.saveState()

    def restore(self, state_id: int) -> None:
        """Return to a snapshot taken by :meth:`save` (exact: the same actions then give the same states)."""
        self.client.restoreState(stateId=state_id)

    def forget(self, state_id: int) -> None:
        """Free a snapshot."""
        self.client.removeState(state_id)


def generate_robot_episode(seed: int, config: RobotConfig = RobotConfig()) -> RobotEpisode:
    """Simulate and render one scripted pick-and-place episode (deterministic in ``seed``).

    Raises:
        ImportError: pybullet is not installed (``pip install cosmos-curate[sim]``).
    """
    with RobotScene(seed, config) as scene:
        rng, cube_xy, cube_yaw, tray_xy = scene.rng, scene.cube_xy, scene.cube_yaw, scene.tray_xy
        command, command_yaw = scene.settle(), 0.0
        grasp_z, hover = TABLE_TOP + 0.025, 0.14
        tray_drop = np.array([*tray_xy, TABLE_TOP + 0.16])
        # (target xyz, target yaw, gripper, steps to hold after reaching)
        waypoints = [
            (np.array([*cube_xy, grasp_z + hover]), cube_yaw, 1.0, 0),
            (np.array([*cube_xy, grasp_z]), cube_yaw, 1.0, 0),
            (np.array([*cube_xy, grasp_z]), cube_yaw, 0.0, 2),
            (np.array([*cube_xy, grasp_z + 0.18]), cube_yaw, 0.0, 0),
            (tray_drop, cube_yaw, 0.0, 0),
            (tray_drop, cube_yaw, 1.0, 20),
        ]
        frames, actions, states = [scene.render()], [], [scene.state()]
        stage, held, gripper = 0, 0, 1.0
        for _ in range(config.num_steps):
            goal, goal_yaw, goal_gripper, hold = waypoints[min(stage, len(waypoints) - 1)]
            delta = goal - command
            distance = np.linalg.norm(delta)
            if distance > config.max_step:
                delta = delta * (config.max_step / distance)
            delta = delta + rng.normal(0, config.jitter, 3)
            dyaw = float(np.clip(goal_yaw - command_yaw, -config.max_yaw_step, config.max_yaw_step))
            if np.linalg.norm(goal - command - delta) < 0.012 and abs(goal_yaw - command_yaw - dyaw) < 1e-3:
                gripper = goal_gripper
                held += 1
                if held > hold:
                    stage, held = stage + 1, 0
            command = command + delta
            command_yaw += dyaw
            scene.apply(command, command_yaw, gripper)
            actions.append([*delta, 0.0, 0.0, dyaw, gripper])
            states.append(scene.state())
            frames.append(scene.render())
        success = cube_in_tray(scene)
    metadata = {
        "source": "cosmos.curate.sim.robot",
        "robot": "franka_panda",
        "task": "pick_and_place",
        "seed": int(seed),
        "framerate": float(config.fps),
        "action_names": list(ACTION_NAMES),
        "state_names": list(STATE_NAMES),
        "success": success,
        "caption": "A Franka Panda robot arm picks up a small cube from the table and places it in a tray.",
    }
    return RobotEpisode(
        video=np.stack(frames),
        actions=np.asarray(actions, np.float32),
        states=np.asarray(states, np.float32),
        success=success,
        metadata=metadata,
    )


def cube_in_tray(scene: RobotScene) -> bool:
    """Pick-and-place success: the cube rests inside the tray (within 12 cm of its centre in x and y, below
    10 cm above the table top)."""
    cube = scene.cube_position()
    return bool(np.all(np.abs(cube[:2] - scene.tray_xy) < 0.12) and cube[2] < TABLE_TOP + 0.1)
