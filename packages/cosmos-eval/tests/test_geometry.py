"""Sampson error, pose recovery, TSE and CSE on scenes rendered with known cameras (conftest.py), on frames of
unrelated scenes, and on bad input."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core import ShapeError, frames_to_video
from cosmos.eval import (
    camera_pose_recovery,
    cross_view_sampson_error,
    default_intrinsics,
    sampson_distances,
    sampson_error,
    temporal_sampson_error,
)

from .conftest import INTRINSICS, SIZE, camera_path, render, room, rotation_y


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(max(-1.0, min(1.0, cosine))))


def _rotation_error_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(max(-1.0, min(1.0, (np.trace(a.T @ b) - 1) / 2))))


def _warp(frames: np.ndarray, amplitude: float, seed: int) -> np.ndarray:
    """Each frame displaced by its own smooth random field (``amplitude`` px RMS): no single 3D scene fits."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    out = []
    for frame in frames:
        fields = [
            cv2.GaussianBlur(rng.standard_normal((SIZE, SIZE)).astype(np.float32), (0, 0), 12) for _ in "xy"
        ]
        dx, dy = (f * amplitude / f.std() for f in fields)
        out.append(cv2.remap(frame, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
    return np.stack(out)


# --------------------------------------------------------------------------------------------- Sampson


def test_sampson_distance_is_the_pixel_distance_to_the_epipolar_line_for_a_pure_translation():
    # camera moving along x: F = [t]_x for identity intrinsics, epipolar lines are the rows y = const
    fundamental = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    points0 = np.array([[10.0, 20.0], [5.0, 7.0]])
    points1 = np.array([[30.0, 20.0], [9.0, 9.0]])  # on its line; 2 px off its line
    # first-order distance for a symmetric error split between both images: |dy| / sqrt(2)
    np.testing.assert_allclose(sampson_distances(fundamental, points0, points1), [0.0, 2 / math.sqrt(2)])


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(-3.0, 3.0))
def test_sampson_distance_vanishes_on_the_epipolar_line_and_grows_off_it(seed, offset):
    rng = np.random.default_rng(seed)
    u, _, vt = np.linalg.svd(rng.standard_normal((3, 3)))
    fundamental = u @ np.diag([1.0, rng.uniform(0.1, 1.0), 0.0]) @ vt  # a random rank-2 F
    point0 = rng.uniform(0, 100, 2)
    line = fundamental @ np.append(point0, 1.0)  # a x + b y + c = 0 in image 1
    normal = line[:2] / np.linalg.norm(line[:2])
    on_line = -line[2] * line[:2] / (line[:2] @ line[:2])  # the foot of the origin on the line
    point1 = on_line + rng.uniform(-50, 50) * np.array([-normal[1], normal[0]])
    distances = sampson_distances(
        fundamental, np.stack([point0, point0]), np.stack([point1, point1 + offset * normal])
    )
    assert distances[0] == pytest.approx(0, abs=1e-6)
    # moving x1 off its line by |offset| px changes the first-order error by at most |offset| px
    assert distances[1] <= abs(offset) + 1e-6
    assert distances[1] > 0 or abs(offset) < 1e-9


def test_static_scene_from_a_moving_camera_has_sub_pixel_sampson_error(orbit):
    result = sampson_error(orbit.frames)
    assert result.defined and result.num_pairs == result.num_pairs_total == 4
    assert result.pairs == ((0, 1), (1, 2), (2, 3), (3, 4))
    assert min(result.num_matches) >= 50
    assert result.value < 0.5, result
    assert max(result.pair_values) < 1.0


def test_float_and_uint8_inputs_agree(orbit):
    video = frames_to_video(orbit.frames)  # [1, 3, T, H, W] in [-1, 1]
    from_uint8 = sampson_error(orbit.frames)
    assert sampson_error(video[0]).value == pytest.approx(from_uint8.value)
    batch = sampson_error(torch.cat([video, video]))
    assert isinstance(batch, list) and len(batch) == 2
    assert batch[1].value == pytest.approx(from_uint8.value)


def test_non_rigid_warps_raise_the_sampson_error(orbit):
    rigid = sampson_error(orbit.frames).value
    warped = sampson_error(_warp(orbit.frames, amplitude=2.0, seed=1))
    assert warped.defined and warped.value > 3 * rigid, (rigid, warped.value)


def test_unrelated_scenes_are_undefined_not_zero(unrelated):
    result = sampson_error(unrelated)
    assert not result.defined and math.isnan(result.value)
    assert result.num_pairs == 0 and result.num_pairs_total == 4
    assert all(math.isnan(v) for v in result.pair_values)
    assert "NaN" in json.dumps(result.to_dict())


def test_too_few_frames_or_features_are_undefined(orbit):
    single = sampson_error(orbit.frames[:1])
    assert not single.defined and single.num_pairs_total == 0 and math.isnan(single.value)
    flat = np.full((3, 64, 64, 3), 128, np.uint8)
    assert not sampson_error(flat).defined
    assert not camera_pose_recovery(flat).success


# ------------------------------------------------------------------------------------------------ poses


def test_camera_pose_recovered_on_the_rendered_orbit(orbit):
    result = camera_pose_recovery(orbit.frames, INTRINSICS)
    assert result.success and result.success_rate == 1.0
    for k in range(4):
        true_rotation = orbit.rotations[k + 1] @ orbit.rotations[k].T  # X_{k+1} = R X_k + t
        true_translation = orbit.translations[k + 1] - true_rotation @ orbit.translations[k]
        assert _rotation_error_deg(true_rotation, result.relative_rotations[k]) < 2.0
        assert _angle_deg(true_translation, result.relative_translations[k]) < 8.0
    true_centres = -np.einsum("kji,kj->ki", orbit.rotations, orbit.translations)
    assert _angle_deg(true_centres[-1], result.positions[-1]) < 5.0  # the direction of travel
    np.testing.assert_allclose(np.linalg.norm(np.diff(result.positions, axis=0), axis=1), 1.0)  # unit steps
    assert _rotation_error_deg(orbit.rotations[-1].T, result.rotations[-1]) < 3.0


def test_camera_pose_recovery_fails_on_unrelated_scenes(unrelated):
    result = camera_pose_recovery(unrelated, INTRINSICS)
    assert result.num_pairs == 0 and not result.success and result.success_rate == 0.0
    assert np.isnan(result.positions[1:]).all()


def test_default_intrinsics_are_documented_guess():
    matrix = default_intrinsics(480, 640)
    np.testing.assert_allclose(matrix, [[768, 0, 320], [0, 768, 240], [0, 0, 1]])
    with pytest.raises(ShapeError, match="intrinsics"):
        camera_pose_recovery(np.zeros((2, 32, 32, 3), np.uint8), np.eye(2))


# -------------------------------------------------------------------------------------------- multi-view


def _rotation_x(degrees: float) -> np.ndarray:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rig(scene_seeds, wobble_deg: float = 0.0, frames: int = 4) -> np.ndarray:
    """uint8 ``[V, T, H, W, 3]``: three cameras 25 degrees apart on a rigid rig following the camera path;
    view ``v`` shows room ``scene_seeds[v]``; ``wobble_deg`` turns the side cameras by a random angle per frame
    about its x axis (a rig that is not rigid)."""
    rotations, translations = camera_path(frames)
    rng = np.random.default_rng(7)
    views = []
    for v, seed in enumerate(scene_seeds):
        scene = room(np.random.default_rng(seed))
        images = []
        for rotation, translation in zip(rotations, translations):
            pitch = (v != 1) * wobble_deg * rng.standard_normal()  # moves points across the epipolar lines
            mount = _rotation_x(pitch) @ rotation_y(-25.0 * (v - 1))
            images.append(
                render(scene, mount @ rotation, mount @ translation + np.array([-0.3 * (v - 1), 0, 0]))
            )
        views.append(np.stack(images))
    return np.stack(views)


@pytest.fixture(scope="module")
def rig() -> np.ndarray:
    return _rig([0, 0, 0])


def test_tse_and_cse_of_a_rigid_rig_are_sub_pixel(rig):
    tse = temporal_sampson_error(rig)
    assert tse.num_pairs == tse.num_pairs_total == 9 and tse.value < 0.5
    assert set(tse.groups) == {"view 0", "view 1", "view 2"}
    cse = cross_view_sampson_error(rig)
    assert cse.pairs[0] == (0, 1, 0) and cse.num_pairs == cse.num_pairs_total == 8
    assert set(cse.groups) == {"views 0-1", "views 1-2"} and cse.value < 0.5
    video = torch.from_numpy(rig).permute(0, 4, 1, 2, 3).float() / 127.5 - 1  # [V, 3, T, H, W]
    reverse = cross_view_sampson_error(
        video, view_pairs=[(1, 0)]
    )  # float input, the pair the other way round
    assert set(reverse.groups) == {"views 1-0"} and reverse.value < 0.5


def test_cse_catches_a_rig_that_is_not_rigid_and_views_of_other_scenes(rig):
    rigid = cross_view_sampson_error(rig).value
    wobbly = cross_view_sampson_error(_rig([0, 0, 0], wobble_deg=4.0))
    assert wobbly.defined and wobbly.value > 3 * rigid, (rigid, wobbly.value)
    other = cross_view_sampson_error(_rig([0, 0, 5], frames=2))
    assert math.isnan(other.groups["views 1-2"]) and math.isfinite(other.groups["views 0-1"])


# ----------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "video, match",
    [
        (torch.zeros(4, 3, 8, 8), r"\[3, T, H, W\]"),  # channels in the wrong place
        (torch.zeros(3, 2, 8, 8, dtype=torch.int64), "dtype"),
        (torch.full((3, 2, 8, 8), 2.0), r"\[-1, 1\]"),
        (torch.full((3, 2, 8, 8), float("nan")), "NaN"),
        (np.zeros((2, 8, 8, 4), np.uint8), r"\[T, H, W, 3\]"),
        ([[0.0]], "torch.Tensor or numpy"),
    ],
)
def test_bad_video_raises_a_named_error(video, match):
    with pytest.raises(ShapeError, match=match):
        sampson_error(video)


def test_bad_views_and_options_raise():
    with pytest.raises(ShapeError, match=r"\[V, 3, T, H, W\]"):
        temporal_sampson_error(torch.zeros(3, 4, 8, 8))
    with pytest.raises(ShapeError, match="view pair"):
        cross_view_sampson_error(torch.zeros(2, 3, 2, 8, 8), view_pairs=[(0, 2)])
    with pytest.raises(ValueError, match="frame_gap"):
        sampson_error(np.zeros((3, 8, 8, 3), np.uint8), frame_gap=0)
