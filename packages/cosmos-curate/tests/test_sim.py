"""Simulator: determinism (same seed, same bytes), actions/states, masks, scene behaviour, contact sheets."""

import hashlib

import numpy as np
import pytest

pytest.importorskip("pybullet", reason="the simulator needs the [sim] extra (pybullet)")

from cosmos.curate.sim import (  # noqa: E402
    PHYSICS_SCENES,
    PhysicsConfig,
    RobotConfig,
    generate_physics_clip,
    generate_robot_episode,
    write_physics_dataset,
    write_robot_dataset,
)

TINY_ROBOT = RobotConfig(height=64, width=64, num_steps=8)
TINY_PHYSICS = PhysicsConfig(height=64, width=64, num_frames=33, shadows=False)


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_robot_episode_shapes_and_action_limits():
    episode = generate_robot_episode(3, TINY_ROBOT)
    assert episode.video.shape == (9, 64, 64, 3) and episode.video.dtype == np.uint8
    assert episode.actions.shape == (8, 7) and episode.states.shape == (9, 7)
    assert np.abs(episode.actions[:, :3]).max() <= TINY_ROBOT.max_step + 5 * TINY_ROBOT.jitter
    assert set(np.unique(episode.actions[:, 6])) <= {0.0, 1.0} and (episode.actions[:, 3:5] == 0).all()
    # the end effector follows the commanded deltas (states are measured, actions commanded)
    moved = np.linalg.norm(episode.states[-1, :3] - episode.states[0, :3])
    assert moved > 0.05 and episode.video[0].std() > 10


def test_robot_episode_completes_pick_and_place():
    episode = generate_robot_episode(0, RobotConfig(height=32, width=32))
    assert episode.success and episode.metadata["success"]


def test_same_seed_same_bytes(tmp_path):
    a = write_robot_dataset(tmp_path / "a", 1, seed=5, config=TINY_ROBOT, progress=False)
    b = write_robot_dataset(tmp_path / "b", 1, seed=5, config=TINY_ROBOT, progress=False)
    assert (
        a == b
        and _digest(tmp_path / "a" / a["shards"][0]["path"].replace("v0", "shards/v0", 1))
        == a["shards"][0]["sha256"]
    )
    assert _digest(tmp_path / "a/videos/robot_000005.mp4") == _digest(tmp_path / "b/videos/robot_000005.mp4")
    c = write_robot_dataset(tmp_path / "c", 1, seed=6, config=TINY_ROBOT, progress=False)
    assert c["shards"][0]["sha256"] != a["shards"][0]["sha256"]
    one = generate_physics_clip("dominoes", 1, PhysicsConfig(height=32, width=32, num_frames=6))
    two = generate_physics_clip("dominoes", 1, PhysicsConfig(height=32, width=32, num_frames=6))
    assert np.array_equal(one.video, two.video) and np.array_equal(one.masks, two.masks)


@pytest.fixture(scope="module")
def physics_clips():
    return {scene: generate_physics_clip(scene, 0, TINY_PHYSICS) for scene in PHYSICS_SCENES}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_every_scene_has_masks_for_its_objects(physics_clips):
    for scene, clip in physics_clips.items():
        assert clip.video.shape == (33, 64, 64, 3) and clip.masks.shape == (33, 64, 64), scene
        assert clip.masks.dtype == np.int16 and clip.masks.min() >= 0
        visible = set(np.unique(clip.masks[0])) - {0}
        assert visible and max(visible) <= len(clip.metadata["objects"]), scene


def test_scene_behaviour(physics_clips):
    stable, unstable = physics_clips["stable_stack"].masks, physics_clips["unstable_stack"].masks
    assert _iou(stable[0] > 0, stable[-1] > 0) > 0.9  # a stable stack stays put
    assert _iou(unstable[0] > 0, unstable[-1] > 0) < 0.6  # an unstable one topples
    fall = physics_clips["free_fall"].masks
    rows = [np.nonzero(m == 1)[0].mean() for m in fall[:6] if (m == 1).any()]
    assert all(b > a for a, b in zip(rows, rows[1:]))  # the sphere moves down the image while falling
    dominoes = physics_clips["dominoes"].masks
    assert _iou(dominoes[0] > 0, dominoes[-1] > 0) < 0.5


def test_physics_dataset_writes_a_contact_sheet_per_scene(tmp_path):
    manifest = write_physics_dataset(
        tmp_path, 8, config=PhysicsConfig(height=32, width=32, num_frames=4), progress=False
    )
    assert [s["scene"] for s in manifest["samples"]] == list(PHYSICS_SCENES)
    for scene in PHYSICS_SCENES:
        assert (tmp_path / "contact_sheets" / f"physics_{scene}.png").stat().st_size > 0
    from cosmos.curate.shards import iter_samples

    masks = {s["__key__"]: s["masks"] for s in iter_samples(tmp_path / "shards", video_format="bytes")}
    assert len(masks) == 8 and all(m.shape == (4, 32, 32) for m in masks.values())
