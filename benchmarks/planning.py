"""Closed-loop planning in world models, success judged by the simulator (``cosmos-plan bench`` rows in one table).

Rows: CEM on the nano diffusion model, CEM on the nano AR model, the random- and zero-action baselines, and CEM
with the simulator itself as the world model (the upper bound, true-distance cost). Every row plays the same
held-out task seeds (2,000,000+, disjoint from all training seeds) and writes ``benchmarks/results/planning.json``;
the table is printed as markdown.

    python benchmarks/planning.py                       # reach, 5 episodes, small CEM budget (CPU)
    python benchmarks/planning.py --task push --episodes 10 --samples 64 --iterations 3

Budgets are small on CPU: the learned-model rows use ``--samples`` candidates x ``--iterations`` CEM iterations
(horizon 2, 5 cm steps, the V-JEPA 2-AC settings scaled down); the published presets (400 x 10) are far beyond
5 s per action on 2 CPU cores with these models.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "planning.json"


def rows(args: argparse.Namespace) -> list[dict]:
    budget = {"samples": args.samples, "elites": max(2, args.samples // 8), "iterations": args.iterations}
    return [
        {"name": "CEM, nano-v2w-action (latent cost)", "planner": "cem", "model": "nano-v2w-action", **budget},
        {"name": "CEM, nano-ar (latent cost)", "planner": "cem", "model": "nano-ar", **budget},
        {"name": "random actions", "planner": "random", "model": "simulator"},
        {"name": "zero actions", "planner": "zero", "model": "simulator"},
        {"name": "CEM, simulator (true distance; upper bound)", "planner": "cem", "model": "simulator", **budget},
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="reach", choices=["reach", "push", "pick-place"])
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=2_000_000)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=None, help="actions per episode (default: the task's)")
    parser.add_argument("--only", nargs="*", default=None, help="row models to run (e.g. simulator)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from cosmos.plan.bench import BenchmarkConfig, run_benchmark

    table = []
    for row in rows(args):
        if args.only and row["model"] not in args.only:
            continue
        name = row.pop("name")
        config = BenchmarkConfig(task=args.task, episodes=args.episodes, first_seed=args.first_seed,
                                 max_steps=args.max_steps, **row)  # fmt: skip
        start = time.perf_counter()
        result = run_benchmark(config, progress=False)
        table.append({"row": name, **row, "success_rate": result["success_rate"],
                      "seconds_per_action": result["seconds_per_action"],
                      "mean_final_distance_m": sum(e["final_distance_m"] for e in result["episodes"])
                      / max(1, len(result["episodes"])), "wall_s": round(time.perf_counter() - start, 1)})  # fmt: skip
        print(table[-1], flush=True)
    out = {"task": args.task, "episodes": args.episodes, "first_seed": args.first_seed, "rows": table}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"\n{args.task}, {args.episodes} held-out episodes (seeds {args.first_seed}+)\n")
    print("| planner and world model | success | mean final distance | s / action |\n|---|---|---|---|")
    for r in table:
        print(f"| {r['row']} | {r['success_rate']:.0%} | {100 * r['mean_final_distance_m']:.1f} cm | "
              f"{r['seconds_per_action']:.2f} |")  # fmt: skip
    print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
