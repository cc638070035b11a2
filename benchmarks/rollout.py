"""Roll-outs of the nano world models through the world-model contract (``cosmos.core.WorldModel``).

Three tables, written to ``benchmarks/results/rollout.json`` and printed as markdown:

1. **steps**: nano-v2w-action quality vs sampler steps (RES-2ab and Euler) on held-out 25-frame episodes, one
   context frame and the episode's 24 actions: what the fast roll-out setting (10 RES-2ab steps) costs.
2. **drift**: PSNR/SSIM against the simulator's truth at 1x, 2x and 4x the training clip (24, 48, 96 predicted
   frames) for nano-v2w-action, nano-ar (greedy) and the repeat-last-frame baseline. Long held-out episodes are
   simulated here (seeds 1,000,000+, 96 steps; the scripted pick-and-place ends within about 40 steps and the arm
   then holds still, so 4x is mostly a static scene).
3. **speed**: seconds per predicted frame of ``predict`` (one clip of 24 frames) at batch 1 and batch 64.

    python benchmarks/rollout.py                 # all tables (about 15 minutes on 2 CPU cores)
    python benchmarks/rollout.py --quick         # 2 episodes, short tables (a smoke run)

Needs cosmos-diffusion, cosmos-ar and cosmos-curate[sim] (PyBullet) installed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from cosmos.core import ssim

HELDOUT_SEED0 = 1_000_000
RESULTS = Path(__file__).resolve().parent / "results" / "rollout.json"


def heldout_episodes(count: int, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` simulated held-out episodes of ``steps`` actions at 64x64: video float ``[N, 3, steps + 1, 64, 64]``
    in [-1, 1] and actions ``[N, steps, 7]`` (rendered at 128x128 and area-averaged, as the nano training data)."""
    from cosmos.curate.sim import RobotConfig, generate_robot_episode

    videos, actions = [], []
    for index in range(count):
        episode = generate_robot_episode(
            HELDOUT_SEED0 + index, RobotConfig(height=128, width=128, num_steps=steps)
        )
        frames = torch.from_numpy(episode.video).permute(3, 0, 1, 2).float()  # [3, T, 128, 128]
        frames = torch.nn.functional.avg_pool2d(frames, 2).round()  # [3, T, 64, 64], uint8 values
        videos.append(frames / 127.5 - 1)
        actions.append(torch.from_numpy(episode.actions))
    return torch.stack(videos), torch.stack(actions)


def scores(pred: torch.Tensor, true: torch.Tensor) -> dict[str, float]:
    """PSNR (dB) of the mean squared error pooled over frames and clips, mean SSIM; on the 8-bit grid."""

    def grid(video):
        return ((video.clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1

    p, t = grid(pred), grid(true)
    mse = float((p - t).pow(2).mean())
    return {
        "psnr": round(10 * float(np.log10(4.0 / max(mse, 1e-12))), 2),
        "ssim": round(float(ssim(p, t)), 3),
    }


def steps_table(wfm, video: torch.Tensor, actions: torch.Tensor, steps: list[int]) -> list[dict]:
    rows = []
    for sampler in ("res2ab", "euler"):
        for num_steps in steps:
            start = time.perf_counter()
            out = wfm.rollout(
                video[:, :, :1], actions[:, :24], num_steps=num_steps, sampler=sampler, guardrail=None
            )
            seconds = (time.perf_counter() - start) / video.shape[0]
            row = {"sampler": sampler, "steps": num_steps, **scores(out.video[:, :, 1:], video[:, :, 1:25])}
            rows.append({**row, "seconds_per_clip": round(seconds, 2)})
            print(row, flush=True)
    return rows


def drift_table(models: dict, video: torch.Tensor, actions: torch.Tensor, horizons: list[int]) -> list[dict]:
    rows = []
    for horizon in horizons:
        truth = video[:, :, 1 : 1 + horizon]
        repeat = video[:, :, :1].expand_as(truth)
        row = {"frames": horizon, "repeat_last": scores(repeat, truth)}
        for name, model in models.items():
            start = time.perf_counter()
            out = model.rollout(video[:, :, :1], actions[:, :horizon], guardrail=None)
            row[name] = {
                **scores(out.video[:, :, 1:], truth),
                "seconds_per_frame": round((time.perf_counter() - start) / (horizon * len(video)), 3),
            }
        rows.append(row)
        print(row, flush=True)
    return rows


def speed_table(models: dict, video: torch.Tensor, batches: list[int]) -> list[dict]:
    rows = []
    generator = torch.Generator().manual_seed(0)
    for name, model in models.items():
        state = model.encode_context(video[:1, :, :1])
        for batch in batches:
            candidates = torch.randn(batch, 24, 7, generator=generator) * 0.03
            start = time.perf_counter()
            model.predict(state, candidates)
            seconds = time.perf_counter() - start
            row = {
                "model": name,
                "batch": batch,
                "seconds_per_frame": round(seconds / (24 * batch), 4),
                "candidates_per_second": round(batch / seconds, 2),
            }
            rows.append(row)
            print(row, flush=True)
    return rows


def markdown(results: dict) -> str:
    lines = ["| sampler | steps | PSNR dB | SSIM | s / clip |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['sampler']} | {r['steps']} | {r['psnr']} | {r['ssim']} | {r['seconds_per_clip']} |"
        for r in results["steps"]
    ]
    lines += [
        "",
        "| predicted frames | nano-v2w-action PSNR / SSIM | nano-ar PSNR / SSIM | repeat last PSNR / SSIM |",
        "|---|---|---|---|",
    ]
    for r in results["drift"]:
        cells = [f"{r[k]['psnr']} / {r[k]['ssim']}" for k in ("nano-v2w-action", "nano-ar", "repeat_last")]
        lines.append(f"| {r['frames']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| model | batch | s / predicted frame | candidates / s (24 frames each) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['model']} | {r['batch']} | {r['seconds_per_frame']} | {r['candidates_per_second']} |"
        for r in results["speed"]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=16, help="held-out episodes")
    parser.add_argument("--quick", action="store_true", help="2 episodes, fewer rows (smoke run)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from cosmos.ar import ARWFM
    from cosmos.diffusion import DiffusionWFM

    episodes = 2 if args.quick else args.episodes
    horizons = [24] if args.quick else [24, 48, 96]
    t0 = time.perf_counter()
    video, actions = heldout_episodes(episodes, max(horizons))
    print(
        f"simulated {episodes} held-out episodes of {max(horizons)} steps in {time.perf_counter() - t0:.0f} s"
    )
    models = {
        "nano-v2w-action": DiffusionWFM.from_pretrained("nano-v2w-action", dtype=torch.float32),
        "nano-ar": ARWFM.from_pretrained("nano-ar", dtype=torch.float32),
    }
    results = {
        "episodes": episodes,
        "threads": args.threads,
        "steps": steps_table(
            models["nano-v2w-action"], video, actions, [2, 10] if args.quick else [2, 4, 6, 10, 20, 35]
        ),
        "drift": drift_table(models, video, actions, horizons),
        "speed": speed_table(models, video, [1, 4] if args.quick else [1, 64]),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(markdown(results))
    print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
