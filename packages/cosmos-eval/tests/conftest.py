"""A pure-numpy renderer of textured static scenes seen by a moving pinhole camera (known intrinsics and
extrinsics), the ground truth of the geometry tests, and toy world models for the protocol tests.

Cameras follow OpenCV: x right, y down, z forward; world-to-camera ``X_c = R X_w + t``; pixel centres at
integer coordinates. Each pixel's ray is cast against textured rectangles (z-buffered), 2x2 supersampled.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest
import torch

cv2.setNumThreads(1)

SIZE = 128
FOCAL = 110.0
INTRINSICS = np.array([[FOCAL, 0.0, (SIZE - 1) / 2], [0.0, FOCAL, (SIZE - 1) / 2], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class Rectangle:
    """Points ``corner + a * edge_u + b * edge_v`` for ``a, b`` in [0, 1] (edges orthogonal), textured with
    uint8 ``texture [N, M, 3]`` (rows along ``edge_v``)."""

    corner: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    texture: np.ndarray


def random_texture(rng: np.random.Generator, size: int = 160) -> np.ndarray:
    """Multi-scale smoothed colour noise (blobs at several scales: what SIFT finds), uint8 ``[size, size, 3]``."""
    total = np.zeros((size, size, 3), np.float32)
    for sigma, weight in ((1.0, 0.5), (2.5, 1.0), (6.0, 1.0)):
        noise = rng.standard_normal((size, size, 3)).astype(np.float32)
        blurred = cv2.GaussianBlur(noise, (0, 0), sigma)
        total += weight * blurred / blurred.std()
    total = (total - total.mean()) / total.std()
    return np.clip(128 + 45 * total, 0, 255).astype(np.uint8)


def room(rng: np.random.Generator) -> list[Rectangle]:
    """A back wall, a floor, a side wall and two cards at different depths and slants."""
    r = lambda *v: np.array(v, np.float64)  # noqa: E731
    shapes = [
        (r(-5, -3.5, 7), r(10, 0, 0), r(0, 5.5, 0)),  # back wall, z = 7
        (r(-5, 2, 1), r(10, 0, 0), r(0, 0, 6)),  # floor, y = 2
        (r(-2.6, -3.5, 1), r(0, 0, 6), r(0, 5.5, 0)),  # left wall, x = -2.6
        (r(-0.6, -0.8, 3.6), r(1.5, 0, 0.6), r(0, 1.7, 0)),  # slanted card
        (r(0.7, -1.4, 2.6), r(1.0, 0, -0.3), r(0, 1.3, 0)),  # nearer card
    ]
    return [Rectangle(c, u, v, random_texture(rng)) for c, u, v in shapes]


def _sample(texture: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bilinear texture lookup at fractions ``a`` (columns) and ``b`` (rows) in [0, 1]: float32 ``[N, 3]``."""
    rows, cols = texture.shape[:2]
    x = np.clip(a, 0, 1) * (cols - 1)
    y = np.clip(b, 0, 1) * (rows - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, cols - 1), np.minimum(y0 + 1, rows - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    t = texture.astype(np.float32)
    top = t[y0, x0] * (1 - fx) + t[y0, x1] * fx
    bottom = t[y1, x0] * (1 - fx) + t[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def render(
    scene: list[Rectangle], rotation: np.ndarray, translation: np.ndarray, supersample: int = 2
) -> np.ndarray:
    """uint8 ``[SIZE, SIZE, 3]`` image of ``scene`` from the camera ``X_c = R X_w + t`` with :data:`INTRINSICS`."""
    size, s = SIZE * supersample, supersample
    focal, centre = FOCAL * s, INTRINSICS[0, 2] * s + (s - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    rays = (
        np.stack([(xs - centre) / focal, (ys - centre) / focal, np.ones_like(xs)], -1).reshape(-1, 3)
        @ rotation
    )
    origin = -rotation.T @ translation
    depth = np.full(len(rays), np.inf)
    colour = np.full((len(rays), 3), 60.0, np.float32)
    for shape in scene:
        normal = np.cross(shape.edge_u, shape.edge_v)
        facing = rays @ normal
        with np.errstate(divide="ignore", invalid="ignore"):
            distance = (shape.corner - origin) @ normal / facing
        points = origin + distance[:, None] * rays - shape.corner
        a = points @ shape.edge_u / (shape.edge_u @ shape.edge_u)
        b = points @ shape.edge_v / (shape.edge_v @ shape.edge_v)
        hit = (distance > 0) & (distance < depth) & (a >= 0) & (a <= 1) & (b >= 0) & (b <= 1)
        depth[hit] = distance[hit]
        colour[hit] = _sample(shape.texture, a[hit], b[hit])
    image = colour.reshape(SIZE, s, SIZE, s, 3).mean(axis=(1, 3))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def rotation_y(degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


@dataclass(frozen=True)
class Orbit:
    """A rendered clip: uint8 ``frames [T, H, W, 3]`` and the world-to-camera ``rotations [T, 3, 3]``,
    ``translations [T, 3]``."""

    frames: np.ndarray
    rotations: np.ndarray
    translations: np.ndarray


def camera_path(count: int) -> tuple[np.ndarray, np.ndarray]:
    """A camera sliding right (0.4 units a frame, a little down and forward) while yawing 1 degree a frame
    (world-to-camera R, t); the scene lies 2.5 to 7 units away."""
    rotations, translations = [], []
    for k in range(count):
        rotation = rotation_y(1.0 * k)
        centre = np.array([0.4 * k, 0.1 * k, 0.1 * k])
        rotations.append(rotation)
        translations.append(-rotation @ centre)
    return np.stack(rotations), np.stack(translations)


@pytest.fixture(scope="session")
def orbit() -> Orbit:
    """Five 128x128 frames of one static textured room from a moving camera."""
    scene = room(np.random.default_rng(0))
    rotations, translations = camera_path(5)
    frames = np.stack([render(scene, r, t) for r, t in zip(rotations, translations)])
    return Orbit(frames, rotations, translations)


@pytest.fixture(scope="session")
def unrelated() -> np.ndarray:
    """Five frames from the same camera path, each of a different room (fresh random textures)."""
    rotations, translations = camera_path(5)
    return np.stack(
        [
            render(room(np.random.default_rng(100 + k)), r, t)
            for k, (r, t) in enumerate(zip(rotations, translations))
        ]
    )


# ------------------------------------------------------------------------------------------ toy world models


class ToyWorldModel:
    """Satisfies :class:`cosmos.core.WorldModel` in pixel space (its 'latent' is the video itself); the future is
    ``predict_future(context [B, 3, T0, H, W], actions [B, N, A] | None, N) -> [B, 3, N, H, W]``."""

    tokenizer = None

    def __init__(
        self, predict_future, *, resolution=(32, 32), action_dim=2, context_frames=(1, 3), chunk_frames=9
    ):
        self.predict_future = predict_future
        self._resolution, self._action_dim = tuple(resolution), action_dim
        self._context_frames, self._chunk_frames = tuple(context_frames), chunk_frames
        self.calls: list[dict] = []

    fps = property(lambda self: 16.0)
    resolution = property(lambda self: self._resolution)
    action_dim = property(lambda self: self._action_dim)
    context_frames = property(lambda self: self._context_frames)
    chunk_frames = property(lambda self: self._chunk_frames)

    def rollout(self, video, actions=None, *, num_frames=None, text=None, seed=None, **sampler_options):
        from cosmos.core import Latent, Rollout, WorldState, check_actions, check_context

        check_context(video, resolution=self.resolution, context_frames=self.context_frames)
        actions = check_actions(actions, action_dim=self.action_dim, num_frames=num_frames, batch=len(video))
        self.calls.append({"batch": len(video), "num_frames": num_frames, "seed": seed, **sampler_options})
        full = torch.cat([video, self.predict_future(video, actions, num_frames)], dim=2)
        state = WorldState((Latent(full, 1, 1),), (full.shape[2],), (0,), actions)
        return Rollout(full, state, {}, num_context_frames=video.shape[2])

    def encode_context(self, video):
        from cosmos.core import Latent, WorldState

        return WorldState((Latent(video, 1, 1),), (video.shape[2],), (0,))

    def predict(self, state, actions, *, seed=None, **sampler_options):
        raise NotImplementedError

    def decode(self, state):
        return state.chunks[0].z


def repeat_last_model(**kwargs) -> ToyWorldModel:
    return ToyWorldModel(lambda video, actions, n: video[:, :, -1:].repeat(1, 1, n, 1, 1), **kwargs)


def lookup_oracle(videos: torch.Tensor, **kwargs) -> ToyWorldModel:
    """A model that 'predicts' the true future of known clips ``[N, 3, T, H, W]``, found by their first frame."""
    table = {_key(v[:, 0]): v for v in videos}

    def future(video, actions, n):
        t0 = video.shape[2]
        return torch.stack([table[_key(v[:, 0])][:, t0 : t0 + n] for v in video])

    return ToyWorldModel(future, **kwargs)


def _key(frame: torch.Tensor) -> bytes:
    return ((frame.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy().tobytes()
