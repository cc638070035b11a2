"""``cosmos-plan bench`` on one or two short simulator episodes (tiny budgets)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pybullet", reason="the benchmark tasks need the [sim] extra (pybullet)")

from cosmos.plan.bench import BenchmarkConfig, load_world_model, planner_config  # noqa: E402
from cosmos.plan.cli import main  # noqa: E402


def test_bench_zero_and_random_write_the_json(tmp_path, capsys):
    out = tmp_path / "zero.json"
    assert main(["bench", "--task", "reach", "--planner", "zero", "--episodes", "2", "--max-steps", "2",
                 "--out", str(out)]) == 0  # fmt: skip
    result = json.loads(out.read_text())
    assert result["success_rate"] == 0.0 and result["seconds_per_action"] >= 0 and result["cost"] == "state"
    assert [row["seed"] for row in result["episodes"]] == [2_000_000, 2_000_001]
    assert all(row["final_distance_m"] > 0.05 and not row["success"] for row in result["episodes"])
    out = tmp_path / "shooting.json"
    main(["bench", "--task", "push", "--planner", "shooting", "--episodes", "1", "--first-seed", "2000005",
          "--samples", "3", "--iterations", "1", "--horizon", "1", "--max-steps", "2", "--out", str(out)])  # fmt: skip
    row = json.loads(out.read_text())["episodes"][0]
    assert row["seed"] == 2_000_005 and row["steps"] == 2 and "success" in row
    assert "success" in capsys.readouterr().out
    out = tmp_path / "random.json"
    main(["bench", "--planner", "random", "--episodes", "1", "--max-steps", "3", "--out", str(out)])
    assert json.loads(out.read_text())["episodes"][0]["steps"] == 3


def test_bench_cem_on_the_simulator_reaches():
    from cosmos.plan.bench import run_benchmark

    config = BenchmarkConfig(task="reach", planner="cem", episodes=1, first_seed=2_000_002, samples=16, elites=4,
                             iterations=2, max_steps=8)  # fmt: skip
    result = run_benchmark(config, progress=False)
    assert result["success_rate"] == 1.0 and result["episodes"][0]["final_distance_m"] <= 0.05


def test_planner_budgets_and_bad_names():
    cem = planner_config(BenchmarkConfig(planner="cem", samples=8, iterations=3))
    shoot = planner_config(BenchmarkConfig(planner="shooting", samples=8, iterations=3))
    assert cem.samples * cem.iterations == shoot.samples == 24 and cem.horizon == 2 and cem.step_cap == 0.05
    with pytest.raises(ValueError, match="unknown planner"):
        planner_config(BenchmarkConfig(planner="dijkstra"))
    with pytest.raises(KeyError, match="no world model named"):
        load_world_model("no-such-world-model")
