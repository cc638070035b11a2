"""Planning tasks: goals from held-out seeds, success judged from the physics, exact snapshots."""

import numpy as np
import pytest

pytest.importorskip("pybullet", reason="the simulator needs the [sim] extra (pybullet)")

from cosmos.curate.sim.robot import RobotConfig, RobotScene  # noqa: E402
from cosmos.curate.sim.tasks import HELDOUT_TASK_SEED0, TASK_NAMES, RobotTask, TaskConfig  # noqa: E402

SEED = HELDOUT_TASK_SEED0 + 3


@pytest.mark.parametrize("name", TASK_NAMES)
def test_goal_is_deterministic_and_not_already_reached(name):
    with RobotTask(name, SEED) as a, RobotTask(name, SEED) as b:
        assert np.array_equal(a.goal_position, b.goal_position) and np.array_equal(a.goal_image, b.goal_image)
        assert a.goal_image.shape == (64, 64, 3) and a.goal_image.dtype == np.uint8
        assert not a.success() and a.distance() > a.config.success_radius
        assert np.abs(a.goal_image.astype(int) - a.observe().astype(int)).sum() > 0  # the goal is visible
        # the goal image was rendered on a restored scene: the episode starts untouched
        assert np.array_equal(a.observe(), b.observe())


def test_reach_succeeds_by_driving_to_the_goal_and_fails_standing_still():
    with RobotTask("reach", SEED) as task:
        for _ in range(3):
            task.step(np.zeros(7) + [0, 0, 0, 0, 0, 0, 1])
        assert not task.success()
        for _ in range(10):
            delta = task.goal_position - task.physical_state()[:3]
            task.step([*delta * min(1.0, 0.06 / np.linalg.norm(delta)), 0, 0, 0, 1])
        assert task.success() and task.distance() < 0.02 and task.steps == 13


def test_snapshots_are_exact():
    with RobotTask("push", SEED, TaskConfig(size=32)) as task:
        snapshot = task.snapshot()
        actions = [[0.03, -0.02, -0.05, 0, 0, 0.1, 1], [0.0, 0.04, -0.06, 0, 0, 0, 0]]
        for action in actions:
            task.step(action)
        first = (task.physical_state(), task.observe())
        task.restore(snapshot)
        for action in actions:
            task.step(action)
        assert np.array_equal(first[0], task.physical_state()) and np.array_equal(first[1], task.observe())
        task.forget(snapshot)


def test_task_scene_is_the_episode_scene():
    with RobotTask("pick-place", 5) as task, RobotScene(5, RobotConfig(height=128, width=128)) as scene:
        assert np.array_equal(task.scene.cube_xy, scene.cube_xy) and np.array_equal(
            task.scene.tray_xy, scene.tray_xy
        )
    with pytest.raises(ValueError, match="unknown task"):
        RobotTask("juggle", 0)


def test_shaped_distance_adds_an_approach_term():
    with (
        RobotTask("push", SEED, TaskConfig(size=32)) as push,
        RobotTask("reach", SEED, TaskConfig(size=32)) as reach,
    ):
        states = np.stack([push.physical_state(), push.physical_state() + [0.1, 0, 0, 0, 0, 0, 0, 0]])
        assert np.all(push.shaped_distance(states) > push.distance(states))
        assert np.allclose(push.distance(states), push.distance())  # the cube did not move
        assert reach.shaped_distance(reach.physical_state()) == reach.distance()
