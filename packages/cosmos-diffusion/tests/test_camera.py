"""Camera helpers: joystick trajectories -> rigid camera-to-world poses -> Plücker rays (spec §11.1)."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core import ShapeError
from cosmos.diffusion.camera import (
    MOVES,
    PoseError,
    camera_trajectory,
    check_rigid,
    latent_intrinsics,
    plucker_rays,
    reference_plucker_rays,
    rigid_inverse,
    trajectory_plucker_rays,
)

SIZE = (32, 48, 32, 48)  # (H_pad, W_pad, H_res, W_res): no padding, latent 4 x 6


def _optical_axis(pose):
    return pose[:3, 2]  # camera +z in world coordinates


def test_translations_move_along_the_current_camera_axes():
    forward = camera_trajectory("forward", 5, step=0.1)
    assert forward.shape == (5, 4, 4)
    torch.testing.assert_close(forward[:, :3, 3], torch.tensor([[0, 0, 0.1 * i] for i in range(5)]))
    torch.testing.assert_close(forward[:, :3, :3], torch.eye(3).expand(5, 3, 3))
    left = camera_trajectory("left", 3, step=0.1)
    assert left[-1, 0, 3] < 0 and left[-1, 2, 3] == 0
    up = camera_trajectory("up", 3, step=0.1)
    assert up[-1, 1, 3] < 0  # y points down in OpenCV axes
    # after turning right by 90 degrees, "forward" moves along world +x
    path = camera_trajectory([("pan_right", 45), ("forward", 1)], step=1.0, degrees_per_frame=2.0)
    torch.testing.assert_close(path[-1, :3, 3], torch.tensor([1.0, 0, 0]), atol=1e-5, rtol=0)


def test_pan_and_tilt_rotate_in_place():
    pan = camera_trajectory("pan_left", 11, degrees_per_frame=3.0)
    torch.testing.assert_close(pan[:, :3, 3], torch.zeros(11, 3))
    axis = _optical_axis(pan[-1])
    assert axis[0] < 0  # looks left
    assert math.isclose(math.degrees(math.acos(axis[2].item())), 30.0, abs_tol=1e-3)
    tilt = camera_trajectory("tilt_up", 4)
    assert _optical_axis(tilt[-1])[1] < 0  # looks up (y down)


def test_orbit_keeps_looking_at_its_centre():
    radius = 2.0
    orbit = camera_trajectory("orbit_left", 16, degrees_per_frame=5.0, orbit_radius=radius)
    centre = torch.tensor([0.0, 0.0, radius])
    distances = (orbit[:, :3, 3] - centre).norm(dim=-1)
    torch.testing.assert_close(distances, torch.full((16,), radius), atol=1e-5, rtol=0)
    to_centre = (centre - orbit[:, :3, 3]) / distances[:, None]
    torch.testing.assert_close(orbit[:, :3, 2], to_centre, atol=1e-5, rtol=0)
    assert orbit[-1, 0, 3] < 0  # orbit_left moves the camera to its left
    assert camera_trajectory("orbit_right", 3)[-1, 0, 3] > 0


@settings(max_examples=25, deadline=None)
@given(
    segments=st.lists(st.tuples(st.sampled_from(MOVES), st.integers(0, 4)), min_size=1, max_size=4),
    step=st.floats(0.01, 1.0),
    degrees=st.floats(0.0, 20.0),
)
def test_every_trajectory_is_rigid_and_starts_at_the_start_pose(segments, step, degrees):
    start = camera_trajectory([("pan_left", 3), ("up", 2)])[-1]
    poses = camera_trajectory(segments, step=step, degrees_per_frame=degrees, start=start)
    assert poses.shape == (1 + sum(frames for _, frames in segments), 4, 4)
    check_rigid(poses)
    torch.testing.assert_close(poses[0], start)
    torch.testing.assert_close(rigid_inverse(rigid_inverse(poses)), poses, atol=1e-5, rtol=0)


def test_trajectory_rays_for_the_camera_model():
    poses = camera_trajectory([("forward", 4), ("orbit_right", 4)], step=0.2)
    intrinsics = (0.5, 0.75, 0.5, 0.5)
    rays = trajectory_plucker_rays(poses, intrinsics, SIZE)
    assert rays.shape == (1, 6, 9, 4, 6)
    torch.testing.assert_close(rays[0, :3, 0], torch.zeros(3, 4, 6))  # frame 0 at the origin: no moment
    torch.testing.assert_close(rays[0, 3:].norm(dim=0), torch.ones(9, 4, 6))  # unit directions
    torch.testing.assert_close((rays[0, :3] * rays[0, 3:]).sum(0), torch.zeros(9, 4, 6), atol=1e-6, rtol=0)
    # the same rays from first principles: relative to frame 0 (identity here), scaled into the unit sphere
    extent = torch.cdist(poses[:, :3, 3], poses[:, :3, 3]).max()
    scaled = poses.clone()
    scaled[:, :3, 3] /= extent
    matrix, height, width = latent_intrinsics(torch.tensor(intrinsics), SIZE)
    direct = plucker_rays(matrix.expand(1, 9, 3, 3), scaled[None], height, width)
    torch.testing.assert_close(rays, direct, atol=1e-5, rtol=0)


def test_non_rigid_poses_are_named_errors():
    poses = camera_trajectory("forward", 3)
    scaled = poses.clone()
    scaled[1, :3, :3] *= 1.5
    reflected = poses.clone()
    reflected[2, 0, 0] = -1
    last_row = poses.clone()
    last_row[1, 3, 0] = 0.5
    nan = poses.clone()
    nan[0, 0, 3] = float("nan")
    for bad in (scaled, reflected, last_row, nan):
        with pytest.raises(PoseError):
            trajectory_plucker_rays(bad)
        with pytest.raises(PoseError):
            reference_plucker_rays(bad, torch.tensor([0.5, 0.75, 0.5, 0.5]), SIZE)
        with pytest.raises(PoseError):
            plucker_rays(torch.eye(3).expand(1, 3, 3, 3), bad[None], 4, 6)
    with pytest.raises(PoseError):
        camera_trajectory("forward", 3, start=scaled[1])
    with pytest.raises(ValueError, match="unknown camera move"):
        camera_trajectory("barrel_roll", 3)
    with pytest.raises(ValueError, match="num_frames"):
        camera_trajectory("forward")
    with pytest.raises(ShapeError):
        trajectory_plucker_rays(poses[:, :3, :3])
    assert issubclass(PoseError, ValueError)


def test_rays_drive_a_camera_model():
    from cosmos.diffusion import DiT, DiTConfig

    config = DiTConfig(
        model_channels=32,
        num_blocks=1,
        num_heads=2,
        crossattn_channels=8,
        adaln_lora_dim=8,
        max_size=(8, 8, 8),
        condition_mask=True,
        camera_channels=6,
    )
    net = DiT(config).eval()
    rays = trajectory_plucker_rays(camera_trajectory("pan_left", 9), (0.5, 0.75, 0.5, 0.5), SIZE)
    x = torch.randn(1, 16, 3, 4, 6)
    with torch.no_grad():
        out = net(
            x, torch.zeros(1), torch.zeros(1, 2, 8), None, 24.0, None, torch.ones(1, 1, 3, 4, 6), camera=rays
        )
    assert out.shape == x.shape  # 9 pixel-frame rays, the first 3 used for 3 latent frames
