"""Simulated multi-camera driving: an ego car on a curved multi-lane road with traffic (PyBullet, extra ``[sim]``).

A driving source for the multi-view world models (``shared/spec/multiview.md``; issue #15): the ego drives
along a curving road of ``num_lanes`` lanes (all in one direction, right-hand traffic) with dashed lane
markings and solid edge lines, other vehicles in the lanes, traffic cones on the shoulders and trees beside
the road, seen by a rig of 3 forward or 6 surround cameras with known intrinsics and extrinsics. Every body
is a coloured primitive placed kinematically (no dynamics), rendered with the CPU TinyRenderer at
``supersample`` times the frame size and area-averaged down (the nano robot data's 128 -> 64 pipeline).
Everything is drawn from ``np.random.default_rng(seed)``: same seed, same config, bit-identical output.

Conventions (all lengths in metres, times in seconds, angles in radians):

* **World frame**: z up, the ground plane is z = 0, the ego starts at the origin heading along +x.
* **Ego frame** (``ego_poses``, ``trajectory``): origin on the ground under the ego's centre, x forward,
  y left, z up (FLU). ``ego_poses[t]`` is the ego-to-world 4x4 rigid transform at frame ``t``.
* **Trajectory**: ``trajectory[t, j]`` is the ego position ``(j + 1) * waypoint_dt`` seconds after frame ``t``
  (``j = 0 .. num_waypoints - 1``; 64 points 0.1 s apart by default, spec §2.4), expressed in the ego frame of
  frame ``t``; z is 0 (flat road). This is the ``trajectory [64, 3]`` that
  ``cosmos.diffusion.MultiViewWFM`` takes (flattened point-major to 192 numbers).
* **Cameras**: OpenCV axes (x right, y down, z along the optical axis). ``extrinsics[v, t]`` is the
  **camera-to-world** 4x4 rigid transform, ``ego_poses[t] @ camera_to_ego[v]``. ``intrinsics[v]`` is the
  pinhole ``K`` at the output size: a world point ``X`` projects to ``(u, v) = (K @ x_c)[:2] / x_c[2]`` with
  ``x_c = inv(extrinsics[v, t]) @ X``, in continuous pixel coordinates whose origin is the top-left
  *corner* of the image (pixel ``(i, j)`` covers ``[j, j + 1) x [i, i + 1)``, so its centre is at
  ``(j + 0.5, i + 0.5)``); square pixels, ``cx = W / 2``, ``cy = H / 2``. :func:`project_points` does this.
* **View order** (spec §1): 0 front, 1 front-left, 2 front-right, 3 back, 4 back-left, 5 back-right (the
  spec's "left"/"right" views are the forward-looking side cameras at +-60 degrees yaw); three views are the
  first three. :data:`DRIVING_VIEW_NAMES`, :data:`CAMERA_YAWS_DEG`.

Ego motion: arc length ``s(t) = v0 t`` plus a slow speed oscillation (up to 8 %), lateral offset from the road's
centreline = the lane centre, blended into the next lane by a quintic smoothstep (C2) during a lane change
(probability ``lane_change_prob`` per drive, 3 to 5 s long, anywhere in the frames' and waypoints' horizon);
the heading follows the velocity. The road's heading is a sum of two random sinusoids in arc length
(curvature up to about 1/150 m). Other vehicles drive at constant speed along their lane's centre; they are
placed so that they never come within 12 m (along the road) of the ego or of each other while sharing a lane.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from cosmos.core import ConfigError, ShapeError

__all__ = [
    "CAMERA_YAWS_DEG",
    "DRIVING_GRID_LAYOUT",
    "DRIVING_VIEW_NAMES",
    "DrivingConfig",
    "DrivingEpisode",
    "camera_to_ego",
    "generate_drive",
    "intrinsics_matrix",
    "project_points",
]

DRIVING_GRID_LAYOUT = {3: ((1, 0, 2),), 6: ((1, 0, 2), (4, 3, 5))}
"""View index per cell of the grid video, by view count (rows of ``front-left, front, front-right`` and
``back-left, back, back-right``; the layout of ``cosmos.diffusion.multiview_grid``)."""
DRIVING_VIEW_NAMES = ("front", "front_left", "front_right", "back", "back_left", "back_right")
"""View order of the rig (spec §1: front, left, right, back, back-left, back-right)."""
CAMERA_YAWS_DEG = (0.0, 60.0, -60.0, 180.0, 120.0, -120.0)
"""Yaw of each camera's optical axis in the ego frame (degrees, counter-clockwise from forward)."""
_CAMERA_XY = ((1.5, 0.0), (1.2, 0.5), (1.2, -0.5), (-1.5, 0.0), (-1.2, 0.5), (-1.2, -0.5))
"""Camera centres in the ego frame (metres): on the roof, around the car's outline."""
ROAD_COLOUR = (0.36, 0.36, 0.38, 1.0)
MARKING_COLOUR = (0.95, 0.95, 0.95, 1.0)
GRASS_COLOUR = (0.30, 0.52, 0.22, 1.0)
CONE_COLOUR = (1.0, 0.45, 0.05, 1.0)
SKY_COLOUR = (150, 190, 235)
"""uint8 RGB of the background (pixels no body covers)."""
_VEHICLE_SIZE = (4.4, 1.8, 1.5)
_MIN_GAP = 12.0
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class DrivingConfig:
    """Settings of a simulated drive.

    Attributes:
        views: cameras, 3 (front, front-left, front-right) or 6 (plus back, back-left, back-right).
        height, width: frame size in pixels (each view).
        supersample: rendered at ``supersample`` times the size, then area-averaged (integer >= 1).
        fps: frames per second of the videos.
        num_frames: frames per view.
        num_waypoints: future ego positions per frame (64, spec §2.4); waypoint_dt: their spacing (s).
        num_lanes: lanes of the road (1 to 6), lane_width: metres.
        traffic_density: other vehicles per lane per 100 m of road (mean of a Poisson draw).
        obstacle_density: traffic cones per 100 m of road (both shoulders together).
        tree_density: trees per 100 m of road (both sides together).
        ground_detail: flat patches per 100 m of road (grass of other shades beside it, worn asphalt on it):
            texture for feature matching (with the default, SIFT finds 10 to 50 % more keypoints), and
            delineator posts every 25 m when above 0.
        speed_range: ``(low, high)`` of the ego's mean speed (m/s).
        lane_change_prob: probability of one lane change in the drive's horizon.
        horizontal_fov_deg: every camera's horizontal field of view (degrees, below 180).
        camera_height: camera centres above the ground (m); camera_pitch_deg: downward pitch (degrees).
        view_distance: far clipping distance (m); the road is built this far ahead of and behind the ego.

    Raises:
        ConfigError: a value out of range (checked on construction).
    """

    views: int = 3
    height: int = 64
    width: int = 64
    supersample: int = 2
    fps: float = 10.0
    num_frames: int = 25
    num_waypoints: int = 64
    waypoint_dt: float = 0.1
    num_lanes: int = 3
    lane_width: float = 3.5
    traffic_density: float = 1.5
    obstacle_density: float = 4.0
    tree_density: float = 8.0
    ground_detail: float = 60.0
    speed_range: tuple[float, float] = (8.0, 14.0)
    lane_change_prob: float = 0.5
    horizontal_fov_deg: float = 80.0
    camera_height: float = 1.6
    camera_pitch_deg: float = 5.0
    view_distance: float = 80.0

    def __post_init__(self) -> None:
        checks = (
            (self.views in (3, 6), f"views must be 3 or 6, got {self.views}"),
            (
                self.height >= 8 and self.width >= 8,
                f"height and width must be >= 8, got {self.height}x{self.width}",
            ),
            (
                int(self.supersample) == self.supersample >= 1,
                f"supersample must be an integer >= 1, got {self.supersample}",
            ),
            (self.fps > 0, f"fps must be > 0, got {self.fps}"),
            (self.num_frames >= 1, f"num_frames must be >= 1, got {self.num_frames}"),
            (self.num_waypoints >= 1, f"num_waypoints must be >= 1, got {self.num_waypoints}"),
            (self.waypoint_dt > 0, f"waypoint_dt must be > 0, got {self.waypoint_dt}"),
            (1 <= self.num_lanes <= 6, f"num_lanes must be in 1..6, got {self.num_lanes}"),
            (self.lane_width > 0, f"lane_width must be > 0, got {self.lane_width}"),
            (
                min(self.traffic_density, self.obstacle_density, self.tree_density, self.ground_detail) >= 0,
                "traffic_density, obstacle_density, tree_density and ground_detail must be >= 0",
            ),
            (
                len(self.speed_range) == 2 and 0 < self.speed_range[0] <= self.speed_range[1],
                f"speed_range must be (low, high) with 0 < low <= high, got {self.speed_range}",
            ),
            (
                0 <= self.lane_change_prob <= 1,
                f"lane_change_prob must be in [0, 1], got {self.lane_change_prob}",
            ),
            (
                0 < self.horizontal_fov_deg < 180,
                f"horizontal_fov_deg must be in (0, 180), got {self.horizontal_fov_deg}",
            ),
            (self.camera_height > 0, f"camera_height must be > 0, got {self.camera_height}"),
            (
                -60 <= self.camera_pitch_deg <= 60,
                f"camera_pitch_deg must be in [-60, 60], got {self.camera_pitch_deg}",
            ),
            (self.view_distance > 5, f"view_distance must be > 5, got {self.view_distance}"),
        )
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @property
    def view_names(self) -> tuple[str, ...]:
        """Names of the views, in order."""
        return DRIVING_VIEW_NAMES[: self.views]


@dataclass
class DrivingEpisode:
    """One simulated drive (``V`` views, ``T`` frames, ``N`` other vehicles).

    Attributes:
        views: uint8 ``[V, T, H, W, 3]`` RGB, in :data:`DRIVING_VIEW_NAMES` order.
        intrinsics: float64 ``[V, 3, 3]`` pinhole ``K`` at the output size (pixels).
        extrinsics: float64 ``[V, T, 4, 4]`` camera-to-world (OpenCV camera axes), see the module docstring.
        ego_poses: float64 ``[T, 4, 4]`` ego-to-world (x forward, y left, z up).
        trajectory: float32 ``[T, num_waypoints, 3]``: the next waypoints in the ego frame of each frame (m).
        vehicle_poses: float64 ``[N, T, 4, 4]`` box-centre-to-world of the other vehicles.
        captions: one caption per view (templates).
        metadata: seed, config, fps, view names, conventions, the rig (``camera_to_ego``), the ego's speed
            and lane change, the road (lane offsets from the centreline, left positive; edge-line offset;
            ``centreline`` rows ``(s, x, y, heading)`` every 2 m), vehicles, cones and the captions.
    """

    views: np.ndarray
    intrinsics: np.ndarray
    extrinsics: np.ndarray
    ego_poses: np.ndarray
    trajectory: np.ndarray
    vehicle_poses: np.ndarray
    captions: list[str]
    metadata: dict = field(default_factory=dict)


def intrinsics_matrix(height: int, width: int, horizontal_fov_deg: float) -> np.ndarray:
    """float64 ``[3, 3]`` pinhole ``K`` with square pixels: ``fx = fy = (W / 2) / tan(hfov / 2)``,
    ``cx = W / 2``, ``cy = H / 2`` (pixel-corner origin, see the module docstring)."""
    focal = (width / 2) / math.tan(math.radians(horizontal_fov_deg) / 2)
    return np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], np.float64)


def camera_to_ego(view: int, config: DrivingConfig) -> np.ndarray:
    """float64 ``[4, 4]``: camera ``view`` (OpenCV axes) to ego frame: mounted at :data:`_CAMERA_XY`,
    ``camera_height`` up, yawed by :data:`CAMERA_YAWS_DEG`, pitched down by ``camera_pitch_deg``."""
    yaw, pitch = math.radians(CAMERA_YAWS_DEG[view]), math.radians(config.camera_pitch_deg)
    forward = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), -math.sin(pitch)])
    right = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, down, forward], axis=1)
    pose[:3, 3] = [*_CAMERA_XY[view], config.camera_height]
    return pose


def project_points(points: np.ndarray, intrinsics: np.ndarray, camera_to_world: np.ndarray) -> np.ndarray:
    """Project world points into a camera.

    Args:
        points: ``[..., 3]`` world points (m). intrinsics: ``[3, 3]``. camera_to_world: ``[4, 4]``.

    Returns:
        float64 ``[..., 3]``: ``(u, v, depth)``: pixel coordinates (pixel-corner origin) and the depth along
        the optical axis in metres (``<= 0``: behind the camera, ``u, v`` then meaningless).

    Raises:
        ShapeError: ``points`` not ``[..., 3]`` or the matrices not ``[3, 3]`` / ``[4, 4]``.
    """
    points = np.asarray(points, np.float64)
    if points.shape[-1:] != (3,) or np.shape(intrinsics) != (3, 3) or np.shape(camera_to_world) != (4, 4):
        raise ShapeError(
            f"points [..., 3], intrinsics [3, 3], camera_to_world [4, 4] expected, got {points.shape}, "
            f"{np.shape(intrinsics)}, {np.shape(camera_to_world)}"
        )
    world_to_camera = np.linalg.inv(camera_to_world)
    camera = points @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    depth = camera[..., 2]
    pixels = camera @ np.asarray(intrinsics, np.float64).T
    safe = np.where(np.abs(depth) > 1e-9, depth, 1e-9)
    return np.stack([pixels[..., 0] / safe, pixels[..., 1] / safe, depth], axis=-1)


# ---------------------------------------------------------------------------------------------------------
# Road geometry and motion (pure numpy, deterministic)


class _Road:
    """Centreline with heading ``theta(s) = sum_k a_k (sin(w_k s + p_k) - sin(p_k))`` (so ``theta(0) = 0``),
    integrated numerically on a 0.25 m grid over ``[s_min, s_max]``; ``C(0)`` is the origin."""

    def __init__(self, rng: np.random.Generator, s_min: float, s_max: float, lanes: int, lane_width: float):
        self.lanes, self.lane_width = lanes, lane_width
        wavelengths = rng.uniform(150.0, 500.0, 2)
        self.omega = 2 * math.pi / wavelengths
        max_kappa = rng.uniform(0.0, 1.0 / 150.0)
        share = rng.dirichlet([1.0, 1.0])
        self.amplitude = share * max_kappa / self.omega * rng.choice([-1.0, 1.0], 2)
        self.phase = rng.uniform(0, 2 * math.pi, 2)
        self.s_grid = np.arange(math.floor(s_min) - 1.0, math.ceil(s_max) + 1.0, 0.25)
        theta = self.heading(self.s_grid)
        step = np.diff(self.s_grid)[:, None]
        direction = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
        xy = np.concatenate([[[0.0, 0.0]], np.cumsum((direction[1:] + direction[:-1]) / 2 * step, axis=0)])
        xy -= np.array([np.interp(0.0, self.s_grid, xy[:, 0]), np.interp(0.0, self.s_grid, xy[:, 1])])
        self.xy = xy

    def heading(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, np.float64)[..., None]
        return (self.amplitude * (np.sin(self.omega * s + self.phase) - np.sin(self.phase))).sum(-1)

    def curvature(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, np.float64)[..., None]
        return (self.amplitude * self.omega * np.cos(self.omega * s + self.phase)).sum(-1)

    def lane_offset(self, lane: float) -> float:
        """Lateral offset (m, left positive) of lane ``lane`` (0 = rightmost) from the centreline."""
        return (lane - (self.lanes - 1) / 2) * self.lane_width

    @property
    def half_width(self) -> float:
        return self.lanes * self.lane_width / 2

    def point(self, s: np.ndarray, offset: np.ndarray | float = 0.0) -> np.ndarray:
        """``[..., 2]`` world xy of arc length ``s`` shifted ``offset`` metres to the left."""
        s = np.asarray(s, np.float64)
        theta = self.heading(s)
        base = np.stack(
            [np.interp(s, self.s_grid, self.xy[:, 0]), np.interp(s, self.s_grid, self.xy[:, 1])], -1
        )
        normal = np.stack([-np.sin(theta), np.cos(theta)], axis=-1)
        return base + np.asarray(offset, np.float64)[..., None] * normal


@dataclass(frozen=True)
class _EgoMotion:
    v0: float
    speed_amplitude: float
    speed_period: float
    speed_phase: float
    lane_from: int
    lane_to: int
    change_start: float
    change_duration: float

    def arc_length(self, t: np.ndarray) -> np.ndarray:
        w = 2 * math.pi / self.speed_period
        a = self.speed_amplitude
        return self.v0 * t + self.v0 * a / w * (math.cos(self.speed_phase) - np.cos(w * t + self.speed_phase))

    def speed(self, t: np.ndarray) -> np.ndarray:
        w = 2 * math.pi / self.speed_period
        return self.v0 * (1 + self.speed_amplitude * np.sin(w * t + self.speed_phase))

    def lateral(self, road: _Road, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offset from the centreline (m) and its time derivative (m/s)."""
        start, end = road.lane_offset(self.lane_from), road.lane_offset(self.lane_to)
        x = np.clip((t - self.change_start) / self.change_duration, 0.0, 1.0)
        blend = x**3 * (10 - 15 * x + 6 * x**2)
        rate = 30 * x**2 * (1 - x) ** 2 / self.change_duration
        return start + (end - start) * blend, (end - start) * rate

    def poses(self, road: _Road, t: np.ndarray) -> np.ndarray:
        """float64 ``[len(t), 4, 4]`` ego-to-world at times ``t``."""
        t = np.asarray(t, np.float64)
        s = self.arc_length(t)
        offset, offset_rate = self.lateral(road, t)
        xy = road.point(s, offset)
        yaw = road.heading(s) + np.arctan2(offset_rate, self.speed(t) * (1 - road.curvature(s) * offset))
        poses = np.tile(np.eye(4), (len(t), 1, 1))
        poses[:, 0, 0], poses[:, 0, 1] = np.cos(yaw), -np.sin(yaw)
        poses[:, 1, 0], poses[:, 1, 1] = np.sin(yaw), np.cos(yaw)
        poses[:, :2, 3] = xy
        return poses


def _draw_ego(rng: np.random.Generator, config: DrivingConfig, horizon: float) -> _EgoMotion:
    """The ego's speed profile and lane (change); always the same draws, so later draws do not depend on it."""
    lane = target = int(rng.integers(config.num_lanes))
    change = rng.uniform() < config.lane_change_prob
    duration = rng.uniform(3.0, 5.0)
    start = rng.uniform(-1.0, max(horizon - duration, 0.0))  # may be under way at the first frame
    side = int(rng.choice([-1, 1]))
    if change and config.num_lanes > 1:
        target = lane + side if 0 <= lane + side < config.num_lanes else lane - side
    return _EgoMotion(
        v0=float(rng.uniform(*config.speed_range)),
        speed_amplitude=float(rng.uniform(0.0, 0.08)),
        speed_period=float(rng.uniform(6.0, 12.0)),
        speed_phase=float(rng.uniform(0, 2 * math.pi)),
        lane_from=lane,
        lane_to=target,
        change_start=float(start),
        change_duration=float(duration),
    )


def _draw_vehicles(
    rng: np.random.Generator,
    config: DrivingConfig,
    road: _Road,
    ego: _EgoMotion,
    span: tuple[float, float],
    horizon: float,
) -> list[dict]:
    """Vehicles (lane, s0, speed, colour) never within :data:`_MIN_GAP` of the ego or each other in a lane."""
    times = np.arange(0.0, horizon + 1e-9, 0.1)
    ego_s = ego.arc_length(times)
    ego_offset, _ = ego.lateral(road, times)
    length = span[1] - span[0]
    vehicles: list[dict] = []
    for lane in range(config.num_lanes):
        count = int(rng.poisson(config.traffic_density * length / 100.0))
        overlap = np.abs(ego_offset - road.lane_offset(lane)) < 0.8 * config.lane_width + _VEHICLE_SIZE[1] / 2
        placed: list[np.ndarray] = []
        for _ in range(count):
            s0 = rng.uniform(*span)
            speed = ego.v0 * rng.uniform(0.75, 1.2)
            colour = [*rng.uniform(0.05, 0.95, 3).tolist(), 1.0]
            path = s0 + speed * times
            if np.any(overlap & (np.abs(path - ego_s) < _MIN_GAP)):
                continue
            if any(np.any(np.abs(path - other) < _MIN_GAP) for other in placed):
                continue
            placed.append(path)
            vehicles.append({"lane": lane, "s0": float(s0), "speed": float(speed), "colour": colour})
    return vehicles


def _vehicle_poses(road: _Road, vehicles: list[dict], times: np.ndarray) -> np.ndarray:
    poses = np.tile(np.eye(4), (len(vehicles), len(times), 1, 1))
    for index, vehicle in enumerate(vehicles):
        s = vehicle["s0"] + vehicle["speed"] * times
        yaw = road.heading(s)
        poses[index, :, 0, 0], poses[index, :, 0, 1] = np.cos(yaw), -np.sin(yaw)
        poses[index, :, 1, 0], poses[index, :, 1, 1] = np.sin(yaw), np.cos(yaw)
        poses[index, :, :2, 3] = road.point(s, road.lane_offset(vehicle["lane"]))
        poses[index, :, 2, 3] = _VEHICLE_SIZE[2] / 2
    return poses


# ---------------------------------------------------------------------------------------------------------
# PyBullet scene


def _quaternion_z(yaw: float) -> list[float]:
    return [0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]


def _quaternion_of(rotation: np.ndarray) -> list[float]:
    """xyzw quaternion of a yaw-only rotation matrix."""
    return _quaternion_z(math.atan2(rotation[1, 0], rotation[0, 0]))


class _Builder:
    """Adds static, collision-free coloured boxes and cylinders to a BulletClient (visual shapes cached)."""

    def __init__(self, client) -> None:
        self.client, self._shapes = client, {}

    def _visual(self, kind: str, size: tuple, colour: tuple) -> int:
        key = (kind, tuple(round(x, 4) for x in size), tuple(colour))
        if key not in self._shapes:
            c = self.client
            if kind == "box":
                self._shapes[key] = c.createVisualShape(
                    c.GEOM_BOX, halfExtents=list(size), rgbaColor=list(colour)
                )
            else:
                self._shapes[key] = c.createVisualShape(
                    c.GEOM_CYLINDER, radius=size[0], length=size[1], rgbaColor=list(colour)
                )
        return self._shapes[key]

    def add(self, kind: str, size: tuple, colour: tuple, position, yaw: float = 0.0) -> int:
        return self.client.createMultiBody(
            baseMass=0.0,
            baseCollisionShapeIndex=-1,
            baseVisualShapeIndex=self._visual(kind, size, colour),
            basePosition=[float(x) for x in position],
            baseOrientation=_quaternion_z(yaw),
        )


def _build_static(
    builder: _Builder, rng: np.random.Generator, config: DrivingConfig, road: _Road, span
) -> dict:
    """Ground, road, markings, cones and trees over arc lengths ``span``; returns the obstacle records."""
    s_lo, s_hi = span
    centre = road.point(np.array((s_lo + s_hi) / 2))
    extent = (s_hi - s_lo) / 2 + 60.0
    builder.add("box", (extent, extent, 0.05), GRASS_COLOUR, [*centre, -0.05])
    segment = 5.0
    half = road.half_width
    for s in np.arange(s_lo, s_hi, segment):
        mid = s + segment / 2
        yaw = float(road.heading(mid))
        builder.add("box", (segment / 2 + 0.15, half + 0.3, 0.01), ROAD_COLOUR, [*road.point(mid), 0.0], yaw)
        for edge in (-half + 0.2, half - 0.2):
            builder.add(
                "box",
                (segment / 2 + 0.05, 0.075, 0.005),
                MARKING_COLOUR,
                [*road.point(mid, edge), 0.012],
                yaw,
            )
    dash, period = 3.0, 9.0
    for boundary in range(1, config.num_lanes):
        offset = road.lane_offset(boundary - 0.5)
        for s in np.arange(math.floor(s_lo / period) * period, s_hi, period):
            mid = s + dash / 2
            yaw = float(road.heading(mid))
            builder.add(
                "box", (dash / 2, 0.075, 0.005), MARKING_COLOUR, [*road.point(mid, offset), 0.012], yaw
            )
    length = s_hi - s_lo
    obstacles = []
    for _ in range(int(rng.poisson(config.obstacle_density * length / 100.0))):
        s, side = rng.uniform(s_lo, s_hi), rng.choice([-1.0, 1.0])
        offset = side * (half + rng.uniform(0.6, 2.0))
        xy = road.point(np.array(s), offset)
        builder.add("box", (0.2, 0.2, 0.35), CONE_COLOUR, [*xy, 0.35])
        obstacles.append({"kind": "cone", "position": [float(xy[0]), float(xy[1]), 0.35], "s": float(s)})
    num_trees = int(rng.poisson(config.tree_density * length / 100.0))
    for _ in range(num_trees):
        s, side = rng.uniform(s_lo, s_hi), rng.choice([-1.0, 1.0])
        xy = road.point(np.array(s), side * (half + rng.uniform(3.0, 12.0)))
        height = rng.uniform(3.0, 7.0)
        builder.add("cylinder", (0.2, height), (0.4, 0.27, 0.15, 1.0), [*xy, height / 2])
        canopy = rng.uniform(1.0, 2.2)
        green = (0.1, rng.uniform(0.35, 0.6), 0.1, 1.0)
        builder.add(
            "box", (canopy, canopy, canopy), green, [*xy, height + canopy * 0.6], rng.uniform(0, math.pi)
        )
    if config.ground_detail > 0:  # delineator posts (white, black band) every 25 m on both shoulders
        for s in np.arange(math.ceil(s_lo / 25.0) * 25.0, s_hi, 25.0):
            for side in (-1.0, 1.0):
                xy = road.point(np.array(s), side * (half + 1.0))
                builder.add("box", (0.06, 0.06, 0.5), MARKING_COLOUR, [*xy, 0.5])
                builder.add("box", (0.065, 0.065, 0.1), (0.05, 0.05, 0.05, 1.0), [*xy, 0.8])
    for _ in range(int(rng.poisson(config.ground_detail * length / 100.0))):
        s, side, yaw = rng.uniform(s_lo, s_hi), rng.choice([-1.0, 1.0]), rng.uniform(0, math.pi)
        if rng.uniform() < 0.25:  # worn asphalt on the road, under the markings
            size = (rng.uniform(0.3, 1.5), rng.uniform(0.2, 0.8), 0.001)
            xy = road.point(np.array(s), rng.uniform(-half + 0.5, half - 0.5))
            shade = rng.uniform(0.22, 0.3)
            builder.add("box", size, (shade, shade, shade * 1.05, 1.0), [*xy, 0.0105], yaw)
        else:  # grass of another shade
            size = (rng.uniform(1.0, 4.0), rng.uniform(1.0, 3.0), 0.001)
            xy = road.point(np.array(s), side * (half + 1.5 + rng.exponential(8.0)))
            green = (rng.uniform(0.1, 0.55), rng.uniform(0.3, 0.75), rng.uniform(0.05, 0.2), 1.0)
            builder.add("box", size, green, [*xy, 0.001], yaw)
    return {"obstacles": obstacles, "num_trees": num_trees}


def _projection(config: DrivingConfig, near: float = 0.1) -> list[float]:
    """Column-major OpenGL projection of the render size whose pixels match :func:`intrinsics_matrix`.

    The TinyRenderer samples pixel column ``j`` at ``u = j`` and row ``i`` at ``v = i + 1`` of the usual NDC to
    pixel mapping (measured: small boxes land half a pixel right of and above their projections), so the
    principal point given to it is shifted by ``(-0.5, +0.5)`` pixels: then the pixel ``(i, j)`` shows what ``K``
    puts at its centre ``(j + 0.5, i + 0.5)``.
    """
    height, width = config.height * config.supersample, config.width * config.supersample
    k = intrinsics_matrix(height, width, config.horizontal_fov_deg)
    cx, cy, far = k[0, 2] - 0.5, k[1, 2] + 0.5, config.view_distance
    matrix = np.array(
        [
            [2 * k[0, 0] / width, 0.0, 1 - 2 * cx / width, 0.0],
            [0.0, 2 * k[1, 1] / height, 2 * cy / height - 1, 0.0],
            [0.0, 0.0, -(far + near) / (far - near), -2 * far * near / (far - near)],
            [0.0, 0.0, -1.0, 0.0],
        ]
    )
    return matrix.flatten(order="F").tolist()


def _render(client, p, config: DrivingConfig, camera_to_world: np.ndarray, projection) -> np.ndarray:
    scale = config.supersample
    height, width = config.height * scale, config.width * scale
    gl_from_cv = np.diag([1.0, -1.0, -1.0, 1.0])
    view = gl_from_cv @ np.linalg.inv(camera_to_world)
    _, _, rgba, _, segmentation = client.getCameraImage(
        width,
        height,
        view.flatten(order="F").tolist(),
        projection,
        renderer=p.ER_TINY_RENDERER,
        shadow=0,
        lightDirection=[0.4, 0.3, 1.0],
    )
    frame = np.asarray(rgba, np.uint8).reshape(height, width, 4)[..., :3].copy()
    frame[np.asarray(segmentation).reshape(height, width) < 0] = SKY_COLOUR
    if scale == 1:
        return frame
    blocks = frame.reshape(config.height, scale, config.width, scale, 3).astype(np.float32)
    return np.clip(np.round(blocks.mean((1, 3))), 0, 255).astype(np.uint8)


def generate_drive(seed: int, config: DrivingConfig = DrivingConfig()) -> DrivingEpisode:
    """Simulate and render one drive (deterministic in ``seed``; see the module docstring).

    Raises:
        ConfigError: ``config`` is not a :class:`DrivingConfig`.
        ImportError: pybullet is not installed (``pip install cosmos-curate[sim]``).
    """
    if not isinstance(config, DrivingConfig):
        raise ConfigError(f"config must be a DrivingConfig, got {type(config).__name__}")
    from cosmos.curate.sim.robot import _import_pybullet

    p, _, BulletClient = _import_pybullet()
    rng = np.random.default_rng(seed)
    video_time = (config.num_frames - 1) / config.fps
    horizon = video_time + config.num_waypoints * config.waypoint_dt
    frame_times = np.arange(config.num_frames) / config.fps
    s_max_ego = config.speed_range[1] * 1.1 * horizon
    span = (-config.view_distance, config.speed_range[1] * 1.1 * video_time + config.view_distance)
    road = _Road(rng, span[0] - 5.0, max(span[1], s_max_ego) + 10.0, config.num_lanes, config.lane_width)
    ego = _draw_ego(rng, config, horizon)
    vehicles = _draw_vehicles(rng, config, road, ego, span, horizon)

    ego_poses = ego.poses(road, frame_times)
    offsets = (np.arange(config.num_waypoints) + 1) * config.waypoint_dt
    future = ego.poses(road, (frame_times[:, None] + offsets[None]).reshape(-1)).reshape(
        config.num_frames, config.num_waypoints, 4, 4
    )
    world_to_ego = np.linalg.inv(ego_poses)
    trajectory = (
        np.einsum("tij,tkj->tki", world_to_ego[:, :3, :3], future[..., :3, 3]) + world_to_ego[:, None, :3, 3]
    )
    rig = np.stack([camera_to_ego(v, config) for v in range(config.views)])
    extrinsics = np.einsum("tij,vjk->vtik", ego_poses, rig)
    intrinsics = np.tile(
        intrinsics_matrix(config.height, config.width, config.horizontal_fov_deg), (config.views, 1, 1)
    )
    vehicle_poses = _vehicle_poses(road, vehicles, frame_times)

    client = BulletClient(connection_mode=p.DIRECT)
    try:
        builder = _Builder(client)
        static = _build_static(builder, rng, config, road, span)
        bodies = []
        for vehicle in vehicles:
            length, width, height = _VEHICLE_SIZE
            body = builder.add(
                "box", (length / 2, width / 2, height / 2), tuple(vehicle["colour"]), [0, 0, -50]
            )
            bodies.append(body)
        projection = _projection(config)
        frames = np.empty((config.views, config.num_frames, config.height, config.width, 3), np.uint8)
        for t in range(config.num_frames):
            for index, body in enumerate(bodies):
                pose = vehicle_poses[index, t]
                client.resetBasePositionAndOrientation(body, pose[:3, 3].tolist(), _quaternion_of(pose))
            for v in range(config.views):
                frames[v, t] = _render(client, p, config, extrinsics[v, t], projection)
    finally:
        client.disconnect()

    samples = np.arange(span[0], span[1], 2.0)
    centreline = np.concatenate(
        [samples[:, None], road.point(samples), road.heading(samples)[:, None]], axis=1
    )
    for vehicle, poses in zip(vehicles, vehicle_poses):
        vehicle["size"] = list(_VEHICLE_SIZE)
        vehicle["start_position"] = poses[0, :3, 3].tolist()
    metadata = {
        "source": "cosmos.curate.sim.driving",
        "seed": int(seed),
        "framerate": float(config.fps),
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "view_names": list(config.view_names),
        "conventions": {
            "world": "z up, ground z=0, ego starts at the origin heading +x",
            "ego": "x forward, y left, z up; origin on the ground under the ego centre",
            "camera": "OpenCV (x right, y down, z forward); extrinsics are camera-to-world",
            "pixels": "origin at the top-left image corner; pixel centres at +0.5",
            "trajectory": f"[T, {config.num_waypoints}, 3] metres in the ego frame of each frame, "
            f"{config.waypoint_dt} s apart starting {config.waypoint_dt} s ahead",
        },
        "camera_to_ego": rig.tolist(),
        "ego": {
            "mean_speed": ego.v0,
            "lane_start": ego.lane_from,
            "lane_end": ego.lane_to,
            "lane_change": None
            if ego.lane_from == ego.lane_to
            else {"start_s": ego.change_start, "duration_s": ego.change_duration},
        },
        "road": {
            "num_lanes": config.num_lanes,
            "lane_width": config.lane_width,
            "lane_0": "rightmost",
            "lane_offsets": [road.lane_offset(lane) for lane in range(config.num_lanes)],
            "edge_line_offset": road.half_width - 0.2,
            "centreline": centreline.tolist(),
        },
        "vehicles": vehicles,
        **static,
    }
    captions = _captions(
        config,
        road,
        ego,
        vehicle_poses,
        static["obstacles"],
        static["num_trees"] > 0,
        intrinsics,
        extrinsics,
        video_time,
    )
    metadata["captions"] = dict(zip(config.view_names, captions))
    return DrivingEpisode(
        views=frames,
        intrinsics=intrinsics,
        extrinsics=extrinsics,
        ego_poses=ego_poses,
        trajectory=trajectory.astype(np.float32),
        vehicle_poses=vehicle_poses,
        captions=captions,
        metadata=metadata,
    )


# ---------------------------------------------------------------------------------------------------------
# Captions


def _visible(
    points: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray, config: DrivingConfig
) -> np.ndarray:
    """bool ``[N]``: point ``n`` (``[N, T, 3]`` world, per frame) is inside the view in some frame."""
    seen = np.zeros(points.shape[0], bool)
    for t in range(points.shape[1]):
        uvd = project_points(points[:, t], intrinsics, extrinsics[t])
        seen |= (
            (uvd[:, 2] > 1.0)
            & (uvd[:, 2] < config.view_distance * 0.8)
            & (uvd[:, 0] >= 0)
            & (uvd[:, 0] < config.width)
            & (uvd[:, 1] >= 0)
            & (uvd[:, 1] < config.height)
        )
    return seen


def _count(n: int, noun: str) -> str:
    word = _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)
    return f"{word} {noun}{'' if n == 1 else 's'}"


def _captions(
    config, road, ego, vehicle_poses, obstacles, trees_present, intrinsics, extrinsics, video_time
) -> list[str]:
    s = ego.arc_length(np.linspace(0.0, video_time, 16))
    kappa = float(np.mean(road.curvature(s)))
    lanes = config.num_lanes
    road_text = f"a {'one' if lanes == 1 else _NUMBER_WORDS[lanes]}-lane road"
    if abs(kappa) < 0.002:
        road_text = f"a straight {road_text[2:]}"
    else:
        road_text += (
            f" that curves {'gently ' if abs(kappa) < 0.005 else ''}to the {'left' if kappa > 0 else 'right'}"
        )
    if lanes == 1:
        position = "single lane"
    elif ego.lane_from == 0:
        position = "right lane"
    elif ego.lane_from == lanes - 1:
        position = "left lane"
    else:
        position = "middle lane" if lanes == 3 else f"lane {ego.lane_from + 1} from the right"
    change = ""
    if ego.lane_from != ego.lane_to and ego.change_start < video_time:
        change = f", changing into the lane to its {'left' if ego.lane_to > ego.lane_from else 'right'}"
    kmh = int(round(ego.v0 * 3.6 / 5.0) * 5)
    scene = f"a car driving at about {kmh} km/h in the {position} of {road_text}{change}"
    cones = np.array([o["position"] for o in obstacles], np.float64).reshape(-1, 1, 3)
    cones = np.repeat(cones, extrinsics.shape[1], axis=1)
    trees = " Trees line the road under a clear sky." if trees_present else " The sky is clear."
    captions = []
    for v, name in enumerate(config.view_names):
        direction = name.replace("_", "-")
        cars = (
            int(_visible(vehicle_poses[..., :3, 3], intrinsics[v], extrinsics[v], config).sum())
            if len(vehicle_poses)
            else 0
        )
        seen_cones = int(_visible(cones, intrinsics[v], extrinsics[v], config).sum()) if len(cones) else 0
        traffic = (
            "No other vehicles are in view."
            if cars == 0
            else f"{_count(cars, 'other vehicle').capitalize()} {'is' if cars == 1 else 'are'} in view."
        )
        extra = " Orange traffic cones stand on the roadside." if seen_cones else ""
        captions.append(f"The {direction} camera of {scene}, looking {_LOOK[name]}. {traffic}{extra}{trees}")
    return captions


_LOOK = {
    "front": "ahead",
    "front_left": "forward and to the left",
    "front_right": "forward and to the right",
    "back": "behind",
    "back_left": "backward and to the left",
    "back_right": "backward and to the right",
}
