"""Simulated multi-camera driving: determinism, shapes, rigid cameras, projection consistency with the
rendered pixels, the trajectory's definition, the shard round trip, the CLI and named errors."""

import importlib.util
import json

import numpy as np
import pytest

pytest.importorskip("pybullet", reason="the simulator needs the [sim] extra (pybullet)")

from cosmos.core import ConfigError, ShapeError  # noqa: E402
from cosmos.curate.cli import main  # noqa: E402
from cosmos.curate.shards import iter_samples  # noqa: E402
from cosmos.curate.sim import (  # noqa: E402
    DRIVE_ARRAYS,
    DRIVING_VIEW_NAMES,
    DrivingConfig,
    drive_from_sample,
    generate_drive,
    project_points,
    views_from_grid,
    write_driving_dataset,
)
from cosmos.curate.sim.driving import GRASS_COLOUR, camera_to_ego  # noqa: E402

TINY = DrivingConfig(height=32, width=32, num_frames=4)
EMPTY = dict(traffic_density=0.0, obstacle_density=0.0, tree_density=0.0, ground_detail=0.0)


@pytest.fixture(scope="module")
def drive6():
    return generate_drive(5, DrivingConfig(views=6, height=32, width=32, num_frames=4))


def test_same_seed_is_bit_identical_and_seeds_differ():
    first, second, other = generate_drive(3, TINY), generate_drive(3, TINY), generate_drive(4, TINY)
    for name in ("views", "intrinsics", "extrinsics", "ego_poses", "trajectory", "vehicle_poses"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert first.captions == second.captions and json.dumps(first.metadata) == json.dumps(second.metadata)
    assert not np.array_equal(first.views, other.views)
    assert not np.array_equal(first.trajectory, other.trajectory)


def test_shapes_dtypes_and_three_views_are_the_first_three_of_six(drive6):
    assert drive6.views.shape == (6, 4, 32, 32, 3) and drive6.views.dtype == np.uint8
    assert drive6.intrinsics.shape == (6, 3, 3) and drive6.extrinsics.shape == (6, 4, 4, 4)
    assert drive6.ego_poses.shape == (4, 4, 4) and drive6.trajectory.shape == (4, 64, 3)
    assert drive6.trajectory.dtype == np.float32 and len(drive6.captions) == 6
    assert drive6.vehicle_poses.shape[1:] == (4, 4, 4)
    assert drive6.metadata["view_names"] == list(DRIVING_VIEW_NAMES)
    three = generate_drive(5, DrivingConfig(views=3, height=32, width=32, num_frames=4))
    assert np.array_equal(three.views, drive6.views[:3])
    assert np.array_equal(three.extrinsics, drive6.extrinsics[:3]) and three.captions == drive6.captions[:3]
    for v in range(6):  # every view shows something: not a blank frame
        assert drive6.views[v].std() > 10


def test_extrinsics_are_rigid_and_follow_the_rig(drive6):
    rotations = drive6.extrinsics[..., :3, :3]
    assert np.allclose(rotations @ np.swapaxes(rotations, -1, -2), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(rotations), 1.0)
    assert np.allclose(drive6.extrinsics[..., 3, :], [0, 0, 0, 1])
    config = DrivingConfig(views=6)
    for v in range(6):
        assert np.allclose(drive6.extrinsics[v], drive6.ego_poses @ camera_to_ego(v, config))
    assert np.allclose(drive6.extrinsics[..., 2, 3], config.camera_height)
    # the front camera looks forward along the ego's x axis (pitched down), the back camera backward
    forward = drive6.extrinsics[:, 0, :3, 2]  # optical axes in the world
    heading = drive6.ego_poses[0, :3, 0]
    assert forward[0] @ heading > 0.99 and forward[3] @ heading < -0.99 and forward[0, 2] < 0


def test_trajectory_is_the_future_ego_path_in_the_ego_frame():
    config = DrivingConfig(height=16, width=16, num_frames=12, fps=10.0, **EMPTY)
    drive = generate_drive(1, config)
    # at 10 fps and 0.1 s spacing, waypoint j of frame t is the ego position of frame t + j + 1
    for t in range(3):
        for j in range(config.num_frames - t - 1):
            world = drive.ego_poses[t] @ np.array([*drive.trajectory[t, j], 1.0])
            assert np.allclose(world[:3], drive.ego_poses[t + j + 1, :3, 3], atol=1e-4)
    steps = np.linalg.norm(np.diff(drive.trajectory[0], axis=0), axis=-1)
    low, high = config.speed_range
    assert np.all(steps > 0.9 * low * 0.1) and np.all(steps < 1.1 * high * 0.1)  # metres per 0.1 s
    assert np.all(drive.trajectory[:, :, 0] > 0) and np.all(drive.trajectory[:, :, 2] == 0)  # forward, flat
    assert abs(drive.trajectory[0, 0, 1]) < 0.1  # the first waypoint is almost straight ahead


def _is_road(pixel: np.ndarray) -> bool:
    return int(pixel.max()) - int(pixel.min()) < 25 and 50 < pixel.mean() < 140  # grey asphalt


def test_waypoints_project_onto_the_road_in_the_front_view():
    config = DrivingConfig(height=64, width=64, num_frames=1, lane_change_prob=0.0, **EMPTY)
    for seed in range(3):
        drive = generate_drive(seed, config)
        world = drive.ego_poses[0, :3, :3] @ drive.trajectory[0].astype(np.float64).T
        world = world.T + drive.ego_poses[0, :3, 3]
        uvd = project_points(world, drive.intrinsics[0], drive.extrinsics[0, 0])
        inside = [k for k in range(64) if 4 < uvd[k, 2] < 30]
        assert len(inside) >= 10
        horizon = 32 - drive.intrinsics[0, 1, 1] * np.tan(np.radians(config.camera_pitch_deg))
        for k in inside:
            u, v = uvd[k, :2]
            assert 0 <= u < 64 and horizon < v < 64
            assert _is_road(drive.views[0, 0, int(v), int(u)]), (seed, k, uvd[k])
        # 12 m beside the road is grass
        s, x, y, heading = np.array(drive.metadata["road"]["centreline"]).T
        ahead = np.argmin(np.abs(s - 15.0))
        normal = np.array([-np.sin(heading[ahead]), np.cos(heading[ahead])])
        grass = np.array([*(np.array([x[ahead], y[ahead]]) + 12.0 * normal), 0.0])
        u, v, depth = project_points(grass, drive.intrinsics[1], drive.extrinsics[1, 0])
        if depth > 1 and 0 <= u < 64 and 0 <= v < 64:
            pixel = drive.views[1, 0, int(v), int(u)].astype(float)
            assert np.argmax(pixel) == 1 and pixel[1] > 255 * GRASS_COLOUR[1] * 0.6


def test_lane_markings_project_exactly_where_they_are_rendered():
    # 256 px, no supersampling: where a 15 cm edge line is at least 1.2 px thick in the image, the pixel under
    # its projected centre must be white in every view that sees it (a 3% focal-length or a half-pixel
    # principal-point error fails this)
    config = DrivingConfig(height=256, width=256, supersample=1, num_frames=1, **EMPTY)
    drive = generate_drive(2, config)
    road = drive.metadata["road"]
    s, x, y, heading = np.array(road["centreline"]).T
    exact, total = 0, 0
    for at in np.arange(-20.0, 20.0, 0.5):  # the centreline interpolated (rows are 2 m apart)
        centre = np.array([np.interp(at, s, x), np.interp(at, s, y)])
        normal = np.array([-np.sin(np.interp(at, s, heading)), np.cos(np.interp(at, s, heading))])
        for side in (-1, 1):
            point = np.array([*(centre + side * road["edge_line_offset"] * normal), 0.015])
            across = np.array([*normal, 0.0]) * 0.075  # half the line's width
            along = np.array([normal[1], -normal[0], 0.0]) * 0.5
            for view in range(3):
                camera = drive.intrinsics[view], drive.extrinsics[view, 0]
                u, v, depth = project_points(point, *camera)
                ends = project_points(
                    np.stack([point - across, point + across, point - along, point + along]), *camera
                )
                direction = (ends[3, :2] - ends[2, :2]) / np.linalg.norm(ends[3, :2] - ends[2, :2])
                width = ends[1, :2] - ends[0, :2]
                thick = abs(direction[0] * width[1] - direction[1] * width[0]) >= 1.2  # not an edge-on sliver
                if 4 < depth < 12 and 1 <= u < 255 and 1 <= v < 255 and thick:
                    total += 1
                    exact += drive.views[view, 0, int(v), int(u)].min() > 180
                    patch = drive.views[view, 0, int(v) - 1 : int(v) + 2, int(u) - 1 : int(u) + 2]
                    assert patch.min(-1).max() > 180, (at, side, view, u, v)
    assert total >= 8 and exact >= 0.9 * total, (exact, total)


def test_vehicles_project_where_they_are_rendered():
    config = DrivingConfig(height=128, width=128, supersample=1, num_frames=1, traffic_density=6.0)
    drive = generate_drive(2, config)
    checked = 0
    for vehicle, pose in zip(drive.metadata["vehicles"], drive.vehicle_poses):
        u, v, depth = project_points(pose[0, :3, 3], drive.intrinsics[0], drive.extrinsics[0, 0])
        if 5 < depth < 40 and 0 <= u < 128 and 0 <= v < 128:
            pixel = drive.views[0, 0, int(v), int(u)].astype(float)
            colour = np.array(vehicle["colour"][:3]) * 255
            cosine = pixel @ colour / (np.linalg.norm(pixel) * np.linalg.norm(colour) + 1e-9)
            assert cosine > 0.95, (vehicle, pixel)
            checked += 1
    assert checked >= 1


def test_captions_describe_each_view():
    config = DrivingConfig(height=16, width=16, num_frames=2, views=6)
    drive = generate_drive(0, config)
    for caption, name in zip(drive.captions, DRIVING_VIEW_NAMES):
        assert caption.startswith(f"The {name.replace('_', '-')} camera of a car driving at about")
        assert "three-lane road" in caption
    assert drive.metadata["captions"]["back"] == drive.captions[3]
    single = generate_drive(0, DrivingConfig(height=16, width=16, num_frames=2, num_lanes=1, **EMPTY))
    assert "one-lane road" in single.captions[0] and "No other vehicles" in single.captions[0]


def test_writer_round_trip(tmp_path):
    config = DrivingConfig(views=6, height=32, width=32, num_frames=5)
    manifest = write_driving_dataset(tmp_path / "out", 2, seed=7, config=config, progress=False)
    assert [s["key"] for s in manifest["samples"]] == ["drive_000007", "drive_000008"]
    assert (tmp_path / "out/videos/drive_000007.mp4").is_file()
    assert (tmp_path / "out/contact_sheets/drives.png").is_file()
    samples = list(iter_samples(tmp_path / "out/shards", video_format="uint8"))
    assert len(samples) == 2
    for sample in samples:
        drive = generate_drive(sample["metadata"]["seed"], config)
        back = drive_from_sample(sample)
        assert back["views"].shape == drive.views.shape and back["view_names"] == list(DRIVING_VIEW_NAMES)
        error = back["views"].astype(float) - drive.views.astype(float)
        assert 10 * np.log10(255**2 / np.mean(error**2)) > 28  # H.264 crf 18
        for name in DRIVE_ARRAYS:
            assert np.array_equal(back[name], getattr(drive, name)), name
        assert back["captions"] == drive.captions and sample["caption"] == drive.captions[0]
        assert sample["fps"] == config.fps and sample["metadata"]["multiview"]["grid"] == [
            [1, 0, 2],
            [4, 3, 5],
        ]


def test_views_from_grid_layout():
    views = np.arange(3 * 2 * 4 * 5 * 3, dtype=np.int64).reshape(3, 2, 4, 5, 3)
    grid = np.concatenate([views[1], views[0], views[2]], axis=2)  # front-left, front, front-right
    assert np.array_equal(views_from_grid(grid, 3), views)
    with pytest.raises(ValueError, match="no grid layout"):
        views_from_grid(grid, 4)
    with pytest.raises(ValueError, match="grid video"):
        views_from_grid(grid[:, :, :14], 3)
    with pytest.raises(ValueError, match="not a simulated drive"):
        drive_from_sample({"metadata": {}, "video": grid})


def test_cli_sim_drive(tmp_path, capsys):
    out = tmp_path / "drives"
    assert main(["sim-drive", str(out), "--num", "1", "--views", "3", "--size", "16", "--frames", "3"]) == 0
    assert "sim-drive: 1 drives x 3 views" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "driving" and manifest["samples"][0]["width"] == 48
    if importlib.util.find_spec("pyarrow") is not None:
        assert (
            main(
                [
                    "sim-drive",
                    str(tmp_path / "lr"),
                    "--num",
                    "1",
                    "--size",
                    "16",
                    "--frames",
                    "2",
                    "--lerobot",
                ]
            )
            == 0
        )
        assert (tmp_path / "lr/videos/observation.images.front_right/chunk-000/file-000.mp4").is_file()


@pytest.mark.parametrize(
    "changes",
    [
        {"views": 4},
        {"height": 4},
        {"supersample": 0},
        {"fps": 0.0},
        {"num_frames": 0},
        {"num_waypoints": 0},
        {"num_lanes": 0},
        {"num_lanes": 7},
        {"traffic_density": -1.0},
        {"speed_range": (10.0, 5.0)},
        {"lane_change_prob": 1.5},
        {"horizontal_fov_deg": 180.0},
        {"view_distance": 1.0},
    ],
)
def test_bad_config_raises_config_error(changes):
    with pytest.raises(ConfigError):
        DrivingConfig(**changes)


def test_bad_inputs_raise_named_errors():
    with pytest.raises(ConfigError, match="DrivingConfig"):
        generate_drive(0, {"views": 3})
    with pytest.raises(ShapeError):
        project_points(np.zeros((4, 2)), np.eye(3), np.eye(4))
    with pytest.raises(ShapeError):
        project_points(np.zeros(3), np.eye(4), np.eye(4))


def test_lerobot_export_has_one_camera_per_view(tmp_path):
    pytest.importorskip("pyarrow", reason="LeRobot export needs the [lerobot] extra (pyarrow)")
    from cosmos.curate.lerobot import LeRobotDataset
    from cosmos.curate.lerobot_writer import export_sim_drives

    config = DrivingConfig(views=3, height=32, width=32, num_frames=4)
    export_sim_drives(tmp_path / "lr", [0, 1], config, codec="h264")
    dataset = LeRobotDataset(tmp_path / "lr", camera="observation.images.front_left")
    assert len(dataset) == 2 and set(dataset.cameras) == {
        f"observation.images.{n}" for n in config.view_names
    }
    drive = generate_drive(1, config)
    episode = dataset[1]
    assert np.array_equal(episode.actions, drive.trajectory.reshape(4, 192))  # the trajectory, point-major
    assert np.allclose(episode.states[:, :2], drive.ego_poses[:, :2, 3], atol=1e-5)
    assert episode.task == drive.captions[0] and episode.frames.shape == (4, 32, 32, 3)
    error = episode.frames.astype(float) - drive.views[1].astype(float)
    assert 10 * np.log10(255**2 / np.mean(error**2)) > 25


def test_lerobot_writer_rejects_cameras_of_different_lengths(tmp_path):
    pytest.importorskip("pyarrow", reason="LeRobot export needs the [lerobot] extra (pyarrow)")
    from cosmos.curate.lerobot_writer import write_lerobot_v30

    frames = {
        "observation.images.a": np.zeros((3, 8, 8, 3), np.uint8),
        "observation.images.b": np.zeros((2, 8, 8, 3), np.uint8),
    }
    episode = {"frames": frames, "actions": np.zeros((3, 2)), "states": np.zeros((3, 1)), "task": "t"}
    with pytest.raises(ShapeError, match="camera 'observation.images.b' has 2 frames"):
        write_lerobot_v30(tmp_path / "bad", [episode], fps=10, codec="h264")
