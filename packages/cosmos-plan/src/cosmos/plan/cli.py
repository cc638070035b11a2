"""``cosmos-plan``: the planning benchmark from the command line.

    cosmos-plan bench --task reach --planner cem --model simulator --episodes 5 --out results.json
    cosmos-plan bench --task push --planner shooting --model nano-v2w-action --samples 40 --iterations 3

The JSON has top-level ``success_rate`` and ``seconds_per_action`` and an ``episodes`` list of
``{seed, success, final_distance_m, ...}`` (see :func:`cosmos.plan.bench.run_benchmark`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["main"]


def _pools(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosmos-plan", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser(
        "bench", help="closed-loop planning on simulator tasks (success judged by the simulator)"
    )
    bench.add_argument("--task", choices=["reach", "push", "pick-place"], default="reach")
    bench.add_argument("--planner", choices=["cem", "mppi", "shooting", "random", "zero"], default="cem",
                       help="shooting: random shooting; random / zero: random or no-motion actions, no planning")  # fmt: skip
    bench.add_argument("--model", default="simulator", help="'simulator' (upper bound) or a world-model name")
    bench.add_argument("--episodes", type=int, default=5)
    bench.add_argument(
        "--first-seed", type=int, default=2_000_000, help="held-out task seeds start at 2,000,000"
    )
    bench.add_argument("--out", type=Path, default=None, help="write the JSON result here")
    bench.add_argument("--cost", choices=["auto", "latent", "pixel", "state"], default="auto",
                       help="auto: state (true distance) for the simulator, latent for a world model")  # fmt: skip
    bench.add_argument("--pools", type=_pools, default=(1, 8, 32), help="distance pooling factors (pixels)")
    bench.add_argument("--samples", type=int, default=None, help="candidates per iteration (preset: 400)")
    bench.add_argument("--elites", type=int, default=None, help="CEM elites (preset: 10)")
    bench.add_argument("--iterations", type=int, default=None, help="CEM/MPPI iterations (preset: 10)")
    bench.add_argument("--horizon", type=int, default=None, help="planned steps (preset: 2)")
    bench.add_argument("--step-cap", type=float, default=0.05, help="metres per action")
    bench.add_argument("--execute-steps", type=int, default=1)
    bench.add_argument("--max-steps", type=int, default=None)
    bench.add_argument("--max-batch", type=int, default=100)
    bench.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from cosmos.plan.bench import BenchmarkConfig, run_benchmark

    options = {k: v for k, v in vars(args).items() if k not in ("command", "out")}
    result = run_benchmark(BenchmarkConfig(**options))
    text = json.dumps(result, indent=1)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(
        f"{args.task} / {args.planner} / {args.model}: success {result['success_rate']:.0%} over "
        f"{len(result['episodes'])} episodes, {result['seconds_per_action']:.2f} s per action"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
