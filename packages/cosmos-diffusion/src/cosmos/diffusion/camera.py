"""Camera conditioning: per-pixel Plücker rays (spec §11.1; Cosmos paper Sec. 6.2, camera control).

A camera with intrinsics ``K`` and camera-to-world pose ``[R | c]`` casts through pixel ``(u, v)`` the ray with
unit direction ``d = normalize(R K^-1 [u, v, 1]^T)`` from its centre ``c``; its Plücker coordinates are
``(c x d, d) in R^6`` (**moment first**, as the released camera model was trained), independent of the point
chosen on the ray. The camera-control DiT receives them as 6 extra input channels at the latent resolution,
one set per latent frame: ``[B, 6, T, H', W']``.

Three layers, from the lowest:

* :func:`plucker_rays`: any intrinsics and camera-to-world poses -> rays.
* :func:`reference_plucker_rays`: NVIDIA's data path for a DL3DV-style ``camera.json`` (NeMo
  ``camera_ctrl_utils.py``): poses read as **world-to-camera**, translations scaled into the unit sphere,
  poses made relative to frame 0, normalised intrinsics scaled to the latent grid. Fixture
  ``cameracond_tiny.rays``.
* :func:`camera_trajectory`: "joystick" moves (forward, backward, left, right, up, down, orbit, pan, tilt)
  -> camera-to-world poses, for users who have no recorded camera path.

Every pose must be a rigid transform (orthonormal rotation with determinant +1, last row ``0 0 0 1``);
anything else raises :class:`PoseError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from cosmos.core import CosmosError, ShapeError


class PoseError(CosmosError, ValueError):
    """A camera pose that is not a rigid transform (non-orthonormal rotation, reflection, bad last row)."""


def check_rigid(poses: Tensor, *, atol: float = 1e-3, what: str = "poses") -> None:
    """Raise :class:`PoseError` unless every ``[..., 4, 4]`` (or ``[..., 3, 4]``) pose is a rigid transform.

    Checks ``R R^T = I`` and ``det R = +1`` within ``atol`` (float64), and a ``0 0 0 1`` last row for 4x4.
    """
    if poses.ndim < 2 or poses.shape[-2:] not in ((4, 4), (3, 4)):
        raise ShapeError(f"{what} must be [..., 4, 4] or [..., 3, 4], got {tuple(poses.shape)}")
    if not torch.isfinite(poses).all():
        raise PoseError(f"{what} contain NaN or inf")
    poses = poses.double()
    rotation = poses[..., :3, :3]
    identity = torch.eye(3, dtype=torch.float64, device=poses.device)
    orthogonality = (rotation @ rotation.transpose(-1, -2) - identity).abs().amax().item()
    if orthogonality > atol:
        raise PoseError(f"{what}: rotation part is not orthonormal (max |R R^T - I| = {orthogonality:.3g})")
    determinant = torch.linalg.det(rotation)
    if (determinant < 0).any():
        raise PoseError(f"{what}: rotation part is a reflection (det R = -1)")
    if poses.shape[-2] == 4:
        last = poses[..., 3, :] - torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64, device=poses.device)
        if last.abs().amax().item() > atol:
            raise PoseError(f"{what}: last row must be 0 0 0 1")


def plucker_rays(intrinsics: Tensor, cam_to_world: Tensor, height: int, width: int) -> Tensor:
    """Plücker ray embedding of every pixel centre of a ``height x width`` grid.

    Args:
        intrinsics: ``[B, T, 3, 3]`` pinhole ``K`` in units of the target grid (scale ``fx, fy, cx, cy`` by
            ``1 / spatial_compression`` for a latent grid).
        cam_to_world: ``[B, T, 4, 4]`` (or ``[B, T, 3, 4]``) rigid camera-to-world poses, e.g. normalised to
            the unit sphere as in the reference data preparation.
        height, width: grid size (the latent ``H', W'`` for the DiT).

    Returns:
        float32 ``[B, 6, T, height, width]``: channels ``(m_x, m_y, m_z, d_x, d_y, d_z)``, the moment
        ``m = c x d`` first, then the unit direction ``d`` (the released model's order, spec §11.1 step 6).
        Pixel centres are ``(j + 0.5, i + 0.5)``.

    Raises:
        ShapeError: wrong shapes or non-finite intrinsics.
        PoseError: a pose that is not a rigid transform.
    """
    if intrinsics.ndim != 4 or intrinsics.shape[-2:] != (3, 3):
        raise ShapeError(f"intrinsics must be [B, T, 3, 3], got {tuple(intrinsics.shape)}")
    if cam_to_world.ndim != 4 or cam_to_world.shape[:2] != intrinsics.shape[:2]:
        raise ShapeError(
            f"cam_to_world must be [B, T, 4, 4] matching intrinsics, got {tuple(cam_to_world.shape)}"
        )
    if not torch.isfinite(intrinsics).all():
        raise ShapeError("camera intrinsics contain NaN or inf")
    check_rigid(cam_to_world, what="cam_to_world")
    batch, frames = intrinsics.shape[:2]
    directions = _pixel_directions(intrinsics.float(), height, width)  # [B, T, HW, 3] in camera frame
    rotation, centre = cam_to_world[..., :3, :3].float(), cam_to_world[..., :3, 3].float()
    rays = _rays(rotation, centre, directions)  # [B, T, HW, 6]
    return rays.reshape(batch, frames, height, width, 6).permute(0, 4, 1, 2, 3).contiguous()


def _pixel_directions(intrinsics: Tensor, height: int, width: int) -> Tensor:
    """``K [..., 3, 3]`` -> camera-frame directions ``K^-1 [u, v, 1]^T`` ``[..., H*W, 3]`` (row-major pixels)."""
    v, u = torch.meshgrid(
        torch.arange(height, dtype=torch.float32, device=intrinsics.device) + 0.5,
        torch.arange(width, dtype=torch.float32, device=intrinsics.device) + 0.5,
        indexing="ij",
    )
    pixels = torch.stack([u, v, torch.ones_like(u)], dim=-1).reshape(-1, 3)  # [HW, 3]
    return torch.einsum("...ij,nj->...ni", torch.linalg.inv(intrinsics), pixels)


def _rays(rotation: Tensor, centre: Tensor, camera_dirs: Tensor) -> Tensor:
    """Camera-to-world ``R [..., 3, 3]``, centre ``c [..., 3]``, directions ``[..., N, 3]`` -> ``(c x d, d) [..., N, 6]``."""
    directions = torch.einsum("...ij,...nj->...ni", rotation, camera_dirs)
    directions = directions / directions.norm(dim=-1, keepdim=True)
    moments = torch.cross(centre[..., None, :].expand_as(directions), directions, dim=-1)
    return torch.cat([moments, directions], dim=-1)


# ------------------------------------------------------------------------------------------------
# NVIDIA's data path (NeMo camera_ctrl_utils.py; spec §11.1 steps 1-7)
# ------------------------------------------------------------------------------------------------
def unit_sphere_poses(transform_matrix: Tensor) -> Tensor:
    """Scale the translations of ``[N, 4, 4]`` poses by ``1 / max_{j,k} ||t_j - t_k||`` in float64 (step 2).

    Rotations are unchanged; a static camera (all translations equal) is returned unscaled. Returns float64.
    """
    poses = transform_matrix.double().clone()
    translations = poses[:, :3, 3]
    extent = torch.cdist(translations, translations).max()
    if extent > 0:
        poses[:, :3, 3] = translations / extent
    return poses


def latent_intrinsics(
    intrinsics: Tensor, image_size: Sequence[int], spatial_compression: int = 8
) -> tuple[Tensor, int, int]:
    """Normalised ``K`` (fx, cx as fractions of the width; fy, cy of the height) -> latent-grid ``K`` (step 3).

    ``image_size = (H_pad, W_pad, H_res, W_res)``: row 0 is scaled by ``w W_res / W_pad``, row 1 by
    ``h H_res / H_pad`` with ``h = H_pad // spatial_compression``, ``w = W_pad // spatial_compression``.
    Returns ``(K [3, 3] float32, h, w)``. Pixel intrinsics (DL3DV's raw values, what Cosmos's scripts pass)
    give rays that are almost parallel: normalise them first.
    """
    height_pad, width_pad, height_res, width_res = (int(s) for s in image_size)
    height, width = height_pad // spatial_compression, width_pad // spatial_compression
    if intrinsics.shape == (4,):
        fx, fy, cx, cy = intrinsics.tolist()
        intrinsics = torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    if intrinsics.shape != (3, 3):
        raise ShapeError(f"intrinsics must be [3, 3] or (fx, fy, cx, cy), got {tuple(intrinsics.shape)}")
    matrix = intrinsics.float().clone()
    matrix[2, 2] = 1.0
    matrix[0] = matrix[0] * (width * width_res / width_pad)
    matrix[1] = matrix[1] * (height * height_res / height_pad)
    return matrix, height, width


def reference_padding_mask(image_size: Sequence[int], spatial_compression: int = 8) -> tuple[Tensor, Tensor]:
    """The camera pipeline's padding mask (step 7), reference quirk included.

    The mask is ones ``[1, 1, H_pad, W_pad]`` with ``[top : top + H_pad, left : left + W_pad] = 0``
    (``top = (H_pad - H_res) // 2``, ``left = (W_pad - W_res) // 2``): only the rows above ``top`` and the
    columns left of ``left`` stay 1.

    Returns:
        ``(pixel mask [1, 1, H_pad, W_pad], latent mask [1, 1, h, w])`` float32; the pixel mask is the
        network's ``padding_mask``, the latent one (legacy nearest) multiplies the rays by ``1 - mask``.
    """
    height_pad, width_pad, height_res, width_res = (int(s) for s in image_size)
    top, left = (height_pad - height_res) // 2, (width_pad - width_res) // 2
    pixel = torch.ones(1, 1, height_pad, width_pad)
    pixel[..., top : top + height_pad, left : left + width_pad] = 0
    size = (height_pad // spatial_compression, width_pad // spatial_compression)
    return pixel, torch.nn.functional.interpolate(pixel, size=size, mode="nearest")


def reference_plucker_rays(
    transform_matrix: Tensor,
    intrinsics: Tensor | Sequence[float] | dict,
    image_size: Sequence[int],
    *,
    spatial_compression: int = 8,
    mask_padding: bool = False,
) -> Tensor:
    """Plücker rays exactly as NVIDIA's camera pipeline makes them (spec §11.1; fixture ``cameracond_tiny.rays``).

    Args:
        transform_matrix: ``[N, 4, 4]`` per-frame poses from ``camera.json`` (``frames[i].transform_matrix``),
            already selected (inference: the first ``num_video_frames``; training: frames ``start+1 ...``).
            They are read as **world-to-camera** ``[R | t]``, as the reference does.
        intrinsics: normalised ``K [3, 3]``, ``(fx, fy, cx, cy)`` or a ``camera.json``-style dict with
            ``fl_x, fl_y, cx, cy``: fx, cx as fractions of the image width, fy, cy of the height (see
            :func:`latent_intrinsics`).
        image_size: ``(H_pad, W_pad, H_res, W_res)``: padded size and aspect-preserving resized size.
        spatial_compression: tokenizer spatial factor (8): rays are made at ``H_pad / 8 x W_pad / 8``.
        mask_padding: multiply the rays by ``1 - mask`` of :func:`reference_padding_mask` (``camera_ctrl.py``).

    Returns:
        float32 ``[N, 6, h, w]``, moment ``c x d`` first, then ``d``; frame 0's moments are 0. For the DiT,
        ``rays.permute(1, 0, 2, 3)[None]`` is ``camera [1, 6, N, h, w]`` (it keeps the first ``T`` frames).

    Raises:
        ShapeError: wrong shapes. PoseError: a pose that is not a rigid transform.
    """
    transform_matrix = torch.as_tensor(transform_matrix)
    if isinstance(intrinsics, dict):  # camera.json keys
        intrinsics = [intrinsics[key] for key in ("fl_x", "fl_y", "cx", "cy")]
    intrinsics = torch.as_tensor(intrinsics, dtype=torch.float32)
    if transform_matrix.ndim != 3 or transform_matrix.shape[-2:] != (4, 4):
        raise ShapeError(f"transform_matrix must be [N, 4, 4], got {tuple(transform_matrix.shape)}")
    check_rigid(transform_matrix, what="transform_matrix")
    poses = unit_sphere_poses(transform_matrix).float()  # step 2 in float64, then float32 as the reference
    matrix, height, width = latent_intrinsics(intrinsics, image_size, spatial_compression)
    rotation, translation = poses[:, :3, :3], poses[:, :3, 3]  # world-to-camera
    relative_rotation = rotation @ rotation[:1].transpose(-1, -2)  # R'_i = R_i R_0^T
    relative_translation = translation - torch.einsum("nij,j->ni", relative_rotation, translation[0])
    centre = -torch.einsum("nji,nj->ni", relative_rotation, relative_translation)  # c = -R'^T t'
    camera_dirs = _pixel_directions(matrix, height, width)  # [hw, 3]
    rays = _rays(relative_rotation.transpose(-1, -2), centre, camera_dirs.expand(len(poses), -1, -1))
    rays = rays.reshape(len(poses), height, width, 6).permute(0, 3, 1, 2).contiguous()  # [N, 6, h, w]
    if mask_padding:
        rays = rays * (1 - reference_padding_mask(image_size, spatial_compression)[1][0])
    return rays


# ------------------------------------------------------------------------------------------------
# "Joystick" trajectories for users without a recorded camera path
# ------------------------------------------------------------------------------------------------
MOVES = (
    "static",
    "forward",
    "backward",
    "left",
    "right",
    "up",
    "down",
    "pan_left",
    "pan_right",
    "tilt_up",
    "tilt_down",
    "orbit_left",
    "orbit_right",
)
"""Camera moves :func:`camera_trajectory` knows (OpenCV camera axes: x right, y down, z forward)."""

_TRANSLATIONS = {
    "forward": (0, 0, 1),
    "backward": (0, 0, -1),
    "left": (-1, 0, 0),
    "right": (1, 0, 0),
    "up": (0, -1, 0),
    "down": (0, 1, 0),
}
_ROTATIONS = {
    "pan_left": (1, -1),
    "pan_right": (1, 1),
    "tilt_up": (0, 1),
    "tilt_down": (0, -1),
}  # (axis, sign)


def _axis_rotation(axis: int, angle: float) -> Tensor:
    """``[4, 4]`` float64 rotation by ``angle`` radians about camera axis 0 (x) or 1 (y)."""
    cos, sin = math.cos(angle), math.sin(angle)
    matrix = torch.eye(4, dtype=torch.float64)
    if axis == 0:  # R_x: +angle turns the optical axis (+z) towards -y, i.e. up
        matrix[1:3, 1:3] = torch.tensor([[cos, -sin], [sin, cos]], dtype=torch.float64)
    else:  # R_y: +angle turns the optical axis towards +x, i.e. right
        matrix[0, 0], matrix[0, 2], matrix[2, 0], matrix[2, 2] = cos, sin, -sin, cos
    return matrix


def _translation(vector: Sequence[float]) -> Tensor:
    matrix = torch.eye(4, dtype=torch.float64)
    matrix[:3, 3] = torch.tensor(vector, dtype=torch.float64)
    return matrix


def camera_trajectory(
    moves: str | Sequence[tuple[str, int]],
    num_frames: int | None = None,
    *,
    step: float = 0.05,
    degrees_per_frame: float = 2.0,
    orbit_radius: float = 1.0,
    start: Tensor | None = None,
) -> Tensor:
    """Joystick moves -> camera-to-world poses ``[N, 4, 4]`` float32 (frame 0 = ``start``, default identity).

    Args:
        moves: one move name for all frames (with ``num_frames``), or segments ``[(move, frames), ...]``
            played one after the other, e.g. ``[("forward", 8), ("pan_left", 8)]``. Names: :data:`MOVES`.
            Translations and pan/tilt are in the *current* camera frame (a flying camera); ``orbit_*`` circles
            the point ``orbit_radius`` ahead of the camera where the orbit segment starts, about the camera's
            vertical axis, always looking at that point.
        num_frames: total frames ``N`` when ``moves`` is a single name (the first frame is the start pose, so
            ``N - 1`` steps are taken); with segments ``N = 1 + sum(frames)``.
        step: translation per frame (scene units; the reference scales trajectories to the unit sphere anyway).
        degrees_per_frame: rotation per frame for pan, tilt and orbit.
        orbit_radius: distance of the orbit centre.
        start: optional rigid ``[4, 4]`` camera-to-world start pose.

    Returns:
        float32 ``[N, 4, 4]`` rigid camera-to-world poses (OpenCV axes). Feed them to
        :func:`trajectory_plucker_rays` for the camera model, or invert them for :func:`reference_plucker_rays`.

    Raises:
        ValueError: an unknown move, a negative frame count, or ``num_frames`` missing for a single move.
        PoseError: ``start`` is not a rigid transform.
    """
    if isinstance(moves, str):
        if num_frames is None or num_frames < 1:
            raise ValueError("a single move needs num_frames >= 1")
        moves = [(moves, num_frames - 1)]
    pose = torch.eye(4, dtype=torch.float64)
    if start is not None:
        check_rigid(start, what="start")
        pose = start.double().clone()
    poses = [pose]
    angle = math.radians(degrees_per_frame)
    for move, frames in moves:
        if move not in MOVES:
            raise ValueError(f"unknown camera move {move!r}; choose from {MOVES}")
        if frames < 0:
            raise ValueError(f"frame count of {move!r} must be >= 0, got {frames}")
        base = poses[-1]
        for index in range(1, frames + 1):
            if move in _TRANSLATIONS:
                pose = poses[-1] @ _translation([step * v for v in _TRANSLATIONS[move]])
            elif move in _ROTATIONS:
                axis, sign = _ROTATIONS[move]
                pose = poses[-1] @ _axis_rotation(axis, sign * angle)
            elif move.startswith("orbit"):
                sign = 1.0 if move == "orbit_left" else -1.0
                centre = _translation([0.0, 0.0, orbit_radius])
                pose = base @ centre @ _axis_rotation(1, sign * angle * index) @ torch.linalg.inv(centre)
            else:  # static
                pose = poses[-1]
            poses.append(pose)
    return torch.stack(poses).float()


def rigid_inverse(poses: Tensor) -> Tensor:
    """Inverse of rigid ``[..., 4, 4]`` poses, ``[R | t]^-1 = [R^T | -R^T t]`` (camera-to-world <-> world-to-camera).

    Raises:
        PoseError: a pose that is not a rigid transform.
    """
    check_rigid(poses)
    rotation_t = poses[..., :3, :3].transpose(-1, -2)
    inverse = torch.zeros_like(poses)
    inverse[..., :3, :3] = rotation_t
    inverse[..., :3, 3] = -(rotation_t @ poses[..., :3, 3:4])[..., 0]
    inverse[..., 3, 3] = 1
    return inverse


def trajectory_plucker_rays(
    cam_to_world: Tensor,
    intrinsics: Tensor | Sequence[float] = (0.5, 0.5 * 16 / 9, 0.5, 0.5),
    image_size: Sequence[int] = (704, 1280, 704, 1280),
    *,
    spatial_compression: int = 8,
) -> Tensor:
    """Camera-to-world poses (e.g. :func:`camera_trajectory`) -> the camera model's ``camera`` input.

    The poses are inverted to the world-to-camera convention NVIDIA's data used and go through
    :func:`reference_plucker_rays` (unit sphere, relative to frame 0, normalised intrinsics), so the rays are
    distributed as the released model saw them in training.

    Args:
        cam_to_world: rigid ``[N, 4, 4]`` poses, one per **pixel** frame (the network keeps the first ``T``
            latent frames' worth: latent frame t takes pixel frame t's rays, spec §11.1).
        intrinsics: normalised ``(fx, fy, cx, cy)`` or ``K [3, 3]`` (fx, cx over the width; fy, cy over the
            height). The default is a 90° horizontal field of view on a 16:9 frame.
        image_size: ``(H_pad, W_pad, H_res, W_res)`` (no padding: the same size twice).
        spatial_compression: tokenizer spatial factor.

    Returns:
        float32 ``[1, 6, N, H_pad / 8, W_pad / 8]`` (moment first), the layout of ``net(..., camera=...)`` and
        ``DiffusionWFM.sample(camera=...)`` (slice ``[:, :, :T']`` for the latent frame count).

    Raises:
        PoseError: a pose that is not a rigid transform. ShapeError: wrong shapes.
    """
    intrinsics = torch.as_tensor(intrinsics, dtype=torch.float32)
    rays = reference_plucker_rays(
        rigid_inverse(cam_to_world), intrinsics, image_size, spatial_compression=spatial_compression
    )
    return rays.permute(1, 0, 2, 3)[None].contiguous()  # [N, 6, h, w] -> [1, 6, N, h, w]


def camera_json_poses(path_or_dict, num_frames: int | None = None) -> tuple[Tensor, Tensor]:
    """Read a DL3DV-style ``camera.json`` -> ``(transform_matrix [N, 4, 4], normalised (fx, fy, cx, cy))``.

    Takes the first ``num_frames`` entries of ``frames`` (inference, spec §11.1 step 1). Intrinsics
    ``fl_x, fl_y, cx, cy`` are divided by the file's ``w`` / ``h`` when it gives them (pixel values); without
    them they are taken as already normalised. (NVIDIA's scripts pass pixel values unchanged, which makes all
    rays of a frame nearly parallel: the pitfall of step 3.)

    Raises:
        ShapeError: fewer frames than ``num_frames`` or missing keys.
    """
    import json
    from pathlib import Path

    data = path_or_dict if isinstance(path_or_dict, dict) else json.loads(Path(path_or_dict).read_text())
    try:
        frames = data["frames"][:num_frames] if num_frames is not None else data["frames"]
        poses = torch.tensor([frame["transform_matrix"] for frame in frames], dtype=torch.float32)
        fx, fy, cx, cy = (float(data[key]) for key in ("fl_x", "fl_y", "cx", "cy"))
    except (KeyError, TypeError) as error:
        raise ShapeError(
            f"camera.json lacks {error}: needs fl_x, fl_y, cx, cy and frames[].transform_matrix"
        ) from error
    if num_frames is not None and len(poses) < num_frames:
        raise ShapeError(f"camera.json has {len(poses)} frames, {num_frames} needed")
    if "w" in data and "h" in data:
        fx, cx, fy, cy = (
            fx / float(data["w"]),
            cx / float(data["w"]),
            fy / float(data["h"]),
            cy / float(data["h"]),
        )
    return poses, torch.tensor([fx, fy, cx, cy])
