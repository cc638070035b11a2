"""The paper's eight physics-alignment scenes, rendered with PyBullet (extra ``[sim]``).

arXiv 2501.03575 (physics alignment) renders simple rigid-body scenarios to test whether a world
model's predictions obey physics; we build the same eight with primitive shapes (measured set-ups in
notes/simulation-and-media.md): free fall, tilted slope, U-slope, stable stack, unstable stack,
dominoes, seesaw and gyroscope. Each clip: ``num_frames`` (33) frames at ``fps`` (16) from a side
camera with random yaw (±15°) and distance (1.7-2.0 m), 240 Hz physics (15 substeps per frame), all
dynamic bodies with zero linear and angular damping (the default 0.04 angular damping kills the
gyroscope's spin), plus per-pixel object masks: 0 = background/ground/static props, ``k`` = the k-th
dynamic object. Deterministic per seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["PHYSICS_SCENES", "PhysicsConfig", "PhysicsClip", "generate_physics_clip"]

PHYSICS_SCENES = (
    "free_fall",
    "tilted_slope",
    "u_slope",
    "stable_stack",
    "unstable_stack",
    "dominoes",
    "seesaw",
    "gyroscope",
)
PHYSICS_HZ = 240


@dataclass(frozen=True)
class PhysicsConfig:
    """Clip settings: frame size (pixels), ``fps`` (must divide 240), ``num_frames``, ``shadows``."""

    height: int = 256
    width: int = 256
    fps: float = 16.0
    num_frames: int = 33
    shadows: bool = True

    def __post_init__(self) -> None:
        if PHYSICS_HZ % self.fps:
            raise ValueError(f"fps must divide {PHYSICS_HZ}, got {self.fps}")


@dataclass
class PhysicsClip:
    """``video`` uint8 ``[T, H, W, 3]``, ``masks`` int16 ``[T, H, W]`` (0 background, k = k-th dynamic
    object), ``metadata`` (scene, seed, fps, object names, camera)."""

    video: np.ndarray
    masks: np.ndarray
    metadata: dict = field(default_factory=dict)


class _Scene:
    """Helpers to add bodies to a BulletClient; records dynamic bodies in creation order."""

    def __init__(self, client, rng: np.random.Generator) -> None:
        self.client, self.rng = client, rng
        self.dynamic: list[tuple[int, str]] = []

    def colour(self) -> list[float]:
        return [*self.rng.uniform(0.1, 0.95, 3).tolist(), 1.0]

    def box(
        self,
        half,
        position,
        *,
        mass=1.0,
        euler=(0, 0, 0),
        name="box",
        colour=None,
        friction=0.5,
        restitution=0.1,
    ) -> int:
        c = self.client
        shape = c.createCollisionShape(c.GEOM_BOX, halfExtents=list(half))
        visual = c.createVisualShape(c.GEOM_BOX, halfExtents=list(half), rgbaColor=colour or self.colour())
        body = c.createMultiBody(mass, shape, visual, list(position), c.getQuaternionFromEuler(list(euler)))
        return self._finish(body, mass, name, friction, restitution)

    def sphere(self, radius, position, *, mass=1.0, name="sphere", friction=0.5, restitution=0.1) -> int:
        c = self.client
        shape = c.createCollisionShape(c.GEOM_SPHERE, radius=radius)
        visual = c.createVisualShape(c.GEOM_SPHERE, radius=radius, rgbaColor=self.colour())
        body = c.createMultiBody(mass, shape, visual, list(position))
        return self._finish(body, mass, name, friction, restitution)

    def _finish(self, body: int, mass: float, name: str, friction: float, restitution: float) -> int:
        self.client.changeDynamics(
            body, -1, linearDamping=0.0, angularDamping=0.0, lateralFriction=friction, restitution=restitution
        )
        if mass > 0:
            self.dynamic.append((body, name))
        return body


def _free_fall(s: _Scene) -> dict:
    for i in range(int(s.rng.integers(1, 3))):
        s.sphere(
            s.rng.uniform(0.06, 0.1),
            [(-0.2 + 0.4 * i), 0, s.rng.uniform(0.8, 1.4)],
            restitution=s.rng.uniform(0.3, 0.8),
            name=f"sphere{i}",
        )
    return {"look_at_z": 0.5}


def _tilted_slope(s: _Scene) -> dict:
    angle = s.rng.uniform(0.25, 0.5)
    length = 1.0
    s.box(
        [length / 2, 0.2, 0.02],
        [0, 0, 0.05 + math.sin(angle) * length / 2],
        mass=0.0,
        euler=(0, angle, 0),
        name="slope",
    )
    top = np.array([-math.cos(angle) * length / 2 + 0.1, 0, 0.05 + math.sin(angle) * length - 0.02])
    normal = np.array([math.sin(angle), 0, math.cos(angle)])
    friction = s.rng.uniform(0.05, 0.3)
    if s.rng.uniform() < 0.5:
        s.sphere(0.06, (top + normal * 0.09).tolist(), friction=friction, name="ball")
    else:
        s.box(
            [0.05] * 3, (top + normal * 0.08).tolist(), euler=(0, angle, 0), friction=friction, name="block"
        )
    return {"look_at_z": 0.3, "slope_rad": angle}


def _u_slope(s: _Scene) -> dict:
    radius, planks = 0.7, 16
    for k in range(planks + 1):
        theta = -math.pi / 2 + math.pi * k / planks  # -90°..90°, the lower half-circle
        x, z = radius * math.sin(theta), radius - radius * math.cos(theta) + 0.02
        s.box(
            [radius * math.pi / planks / 2 + 0.01, 0.25, 0.015],
            [x, 0, z],
            mass=0.0,
            euler=(0, -theta, 0),
            name="plank",
        )
    release = s.rng.uniform(0.6, 1.2) * (1 if s.rng.uniform() < 0.5 else -1)
    r = radius - 0.08
    s.sphere(
        0.06, [r * math.sin(release), 0, radius - r * math.cos(release) + 0.02], friction=0.5, name="ball"
    )
    return {"look_at_z": 0.4}


def _stack(s: _Scene, offset: Callable[[int], float], name: str) -> dict:
    z = 0.0
    for i in range(int(s.rng.integers(3, 6))):
        half = 0.07
        s.box(
            [half, half, half], [offset(i), s.rng.uniform(-0.008, 0.008), z + half + 0.001], name=f"{name}{i}"
        )
        z += 2 * half + 0.002
    return {"look_at_z": 0.35}


def _stable_stack(s: _Scene) -> dict:
    return _stack(s, lambda i: float(s.rng.uniform(-0.008, 0.008)), "box")


def _unstable_stack(s: _Scene) -> dict:
    step = s.rng.uniform(0.045, 0.075)
    return _stack(s, lambda i: i * step, "box")


def _dominoes(s: _Scene) -> dict:
    count = int(s.rng.integers(6, 10))
    curve = s.rng.uniform(-0.02, 0.02)
    bodies = []
    for i in range(count):
        x = -0.6 + i * 0.14
        bodies.append(
            s.box(
                [0.012, 0.06, 0.12],
                [x, curve * (i - count / 2) ** 2, 0.121],
                mass=0.2,
                name=f"domino{i}",
                friction=0.6,
            )
        )
    s.client.resetBaseVelocity(bodies[0], angularVelocity=[0, 4.0, 0])
    return {"look_at_z": 0.2}


def _seesaw(s: _Scene) -> dict:
    c = s.client
    pivot_height = 0.15
    s.box([0.05, 0.12, pivot_height / 2], [0, 0, pivot_height / 2], mass=0.0, name="pivot")
    plank_shape = c.createCollisionShape(c.GEOM_BOX, halfExtents=[0.6, 0.1, 0.015])
    plank_visual = c.createVisualShape(c.GEOM_BOX, halfExtents=[0.6, 0.1, 0.015], rgbaColor=s.colour())
    seesaw = c.createMultiBody(
        baseMass=0.0,
        basePosition=[0, 0, pivot_height + 0.016],
        linkMasses=[1.0],
        linkCollisionShapeIndices=[plank_shape],
        linkVisualShapeIndices=[plank_visual],
        linkPositions=[[0, 0, 0]],
        linkOrientations=[[0, 0, 0, 1]],
        linkInertialFramePositions=[[0, 0, 0]],
        linkInertialFrameOrientations=[[0, 0, 0, 1]],
        linkParentIndices=[0],
        linkJointTypes=[c.JOINT_REVOLUTE],
        linkJointAxis=[[0, 1, 0]],
    )
    c.changeDynamics(seesaw, 0, linearDamping=0.0, angularDamping=0.0, jointDamping=0.0)
    s.dynamic.append((seesaw, "seesaw"))
    s.box([0.05] * 3, [0.5, 0, pivot_height + 0.09], mass=0.2, name="light_box")
    s.box([0.07] * 3, [-0.5, 0, s.rng.uniform(0.7, 1.0)], mass=3.0, name="heavy_box")
    return {"look_at_z": 0.35}


def _gyroscope(s: _Scene) -> dict:
    c = s.client
    disc_radius, disc_half, axle_radius, axle_below = 0.13, 0.012, 0.012, 0.16
    shapes = c.createCollisionShapeArray(
        [c.GEOM_CYLINDER, c.GEOM_CAPSULE],
        radii=[disc_radius, axle_radius],
        lengths=[2 * disc_half, axle_below + 0.05],
        collisionFramePositions=[[0, 0, 0], [0, 0, -(axle_below - 0.05) / 2]],
    )
    visuals = c.createVisualShapeArray(
        [c.GEOM_CYLINDER, c.GEOM_CAPSULE, c.GEOM_BOX],
        radii=[disc_radius, axle_radius, 0],
        lengths=[2 * disc_half, axle_below + 0.05, 0],
        halfExtents=[[0, 0, 0], [0, 0, 0], [disc_radius * 0.9, 0.015, disc_half + 0.001]],
        rgbaColors=[s.colour(), [0.6, 0.6, 0.6, 1], [0.05, 0.05, 0.05, 1]],
        visualFramePositions=[[0, 0, 0], [0, 0, -(axle_below - 0.05) / 2], [0, 0, 0]],
    )
    tilt, heading = s.rng.uniform(0.2, 0.45), s.rng.uniform(0, 2 * math.pi)
    orientation = c.getQuaternionFromEuler([tilt * math.cos(heading), tilt * math.sin(heading), 0])
    axis = np.array(c.getMatrixFromQuaternion(orientation)).reshape(3, 3)[:, 2]
    tip_to_centre = (
        axle_below + 0.05 / 2 + axle_radius - (axle_below - 0.05) / 2
    )  # tip of the capsule to the disc centre
    centre = np.array([0, 0, 0.0]) + axis * tip_to_centre + np.array([0, 0, 0.001])
    body = c.createMultiBody(1.0, shapes, visuals, centre.tolist(), orientation)
    # a disc's inertia (the compound shape's default is its bounding box's): I_axis = m r^2 / 2
    c.changeDynamics(
        body,
        -1,
        linearDamping=0.0,
        angularDamping=0.0,
        lateralFriction=0.8,
        rollingFriction=0.0,
        spinningFriction=0.0,
        localInertiaDiagonal=[disc_radius**2 / 4, disc_radius**2 / 4, disc_radius**2 / 2],
    )
    s.dynamic.append((body, "gyroscope"))
    c.resetBaseVelocity(body, angularVelocity=(axis * s.rng.uniform(60, 90)).tolist())
    return {"look_at_z": 0.15, "distance_scale": 0.6}


SCENE_BUILDERS: dict[str, Callable[[_Scene], dict]] = {
    "free_fall": _free_fall,
    "tilted_slope": _tilted_slope,
    "u_slope": _u_slope,
    "stable_stack": _stable_stack,
    "unstable_stack": _unstable_stack,
    "dominoes": _dominoes,
    "seesaw": _seesaw,
    "gyroscope": _gyroscope,
}


def generate_physics_clip(scene: str, seed: int, config: PhysicsConfig = PhysicsConfig()) -> PhysicsClip:
    """Simulate and render one clip of ``scene`` (one of :data:`PHYSICS_SCENES`), deterministic in ``seed``.

    Raises:
        ValueError: unknown scene. ImportError: pybullet missing (``pip install cosmos-curate[sim]``).
    """
    if scene not in SCENE_BUILDERS:
        raise ValueError(f"unknown physics scene {scene!r}; known: {PHYSICS_SCENES}")
    try:
        import pybullet as p
        from pybullet_utils.bullet_client import BulletClient
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError(
            "the simulator needs `pip install cosmos-curate[sim]` (pybullet, Python <= 3.11 wheels)"
        ) from exc
    rng = np.random.default_rng([seed, PHYSICS_SCENES.index(scene)])
    client = BulletClient(connection_mode=p.DIRECT)
    try:
        client.setGravity(0, 0, -9.81)
        client.setTimeStep(1.0 / PHYSICS_HZ)
        scene_state = _Scene(client, rng)
        ground_colour = [*rng.uniform(0.55, 0.8, 3).tolist(), 1.0]
        wall_colour = [*rng.uniform(0.75, 0.95, 3).tolist(), 1.0]
        scene_state.box(
            [3, 3, 0.05],
            [0, 0, -0.05],
            mass=0.0,
            name="ground",
            colour=ground_colour,
            friction=0.8,
            restitution=0.6,
        )
        scene_state.box([3, 0.05, 1.5], [0, 1.2, 1.5], mass=0.0, name="wall", colour=wall_colour)
        layout = SCENE_BUILDERS[scene](scene_state)
        yaw = rng.uniform(-15, 15)
        distance = rng.uniform(1.7, 2.0) * layout.get("distance_scale", 1.0)
        target = [0, 0, layout["look_at_z"]]
        view = client.computeViewMatrixFromYawPitchRoll(target, distance, yaw, -12.0, 0.0, 2)
        projection = client.computeProjectionMatrixFOV(45, config.width / config.height, 0.05, 10.0)
        ids = {body: k + 1 for k, (body, _) in enumerate(scene_state.dynamic)}
        lut_keys = np.array(sorted(ids), np.int64)
        frames, masks = [], []
        substeps = int(PHYSICS_HZ / config.fps)
        for index in range(config.num_frames):
            if index:
                for _ in range(substeps):
                    client.stepSimulation()
            _, _, rgba, _, segmentation = client.getCameraImage(
                config.width,
                config.height,
                view,
                projection,
                renderer=p.ER_TINY_RENDERER,
                shadow=int(config.shadows),
                lightDirection=[0.5, -0.6, 1.0],
            )
            frames.append(np.asarray(rgba, np.uint8).reshape(config.height, config.width, 4)[..., :3].copy())
            seg = np.asarray(segmentation, np.int64).reshape(config.height, config.width) & ((1 << 24) - 1)
            mask = np.zeros(seg.shape, np.int16)
            for body in lut_keys:
                mask[seg == body] = ids[int(body)]
            masks.append(mask)
    finally:
        client.disconnect()
    metadata = {
        "source": "cosmos.curate.sim.physics",
        "scene": scene,
        "seed": int(seed),
        "framerate": float(config.fps),
        "objects": [name for _, name in scene_state.dynamic],
        "camera": {"yaw_deg": float(yaw), "distance_m": float(distance), "target": target},
        "caption": f"A physics simulation of the '{scene.replace('_', ' ')}' scenario rendered from a side camera.",
    }
    return PhysicsClip(video=np.stack(frames), masks=np.stack(masks), metadata=metadata)
