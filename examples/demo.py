"""The README's first command (``nox -s demo``): the whole platform on the shipped nano models, offline, on CPU.

With no arguments it
  1. simulates a held-out Franka pick-and-place episode (PyBullet, ``cosmos.curate.sim``; seed 1,000,007, outside
     the training seeds 0..N-1; without pybullet the same episode is read from ``examples/data/``),
  2. passes the text prompt through the pre-guard (``cosmos.guard.default_guardrail(False)``, offline preset),
  3. tokenizes and reconstructs the clip with ``nano-cv4x8x8`` and ``nano-dv4x8x8`` (PSNR/SSIM),
  4. rolls ``nano-v2w-action`` (diffusion) forward from the first frame and the episode's 24 actions,
  5. does the same with ``nano-ar`` (greedy, Medusa on; plain decoding is run too for the speed-up and to check
     that the tokens are identical),
  6. runs the post-guard on both predictions,
  7. writes ``outputs/demo/``: ``side_by_side.mp4`` (truth | diffusion | AR, 4x upscaled), ``contact_sheet.png``
     and ``metrics.json``.

    python examples/demo.py
    python examples/demo.py --input my_clip.mp4 [--actions actions.npy]   # [24, 7] .npy/.json; default zeros
    python examples/demo.py --context 5                                   # condition on the first 5 frames
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from cosmos.core import (
    center_crop_video,
    frames_to_video,
    read_video,
    resize_video,
    save_contact_sheet,
    video_to_frames,
    write_video,
)
from cosmos.eval import future_scores, repeat_last_frame

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import nano_data  # noqa: E402
import nano_eval  # noqa: E402

DEMO_SEED = nano_data.HELDOUT_SEED0 + 7
STORED_EPISODE = HERE / "data" / "nano_heldout_episode.npz"
PROMPT = "A robot arm picks up a small cube from the table and places it in a tray."


def held_out_episode(seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``(uint8 [25, 64, 64, 3], float32 [24, 7], source)``: simulated now, or the stored copy without pybullet."""
    try:
        episode = nano_data.robot_episode(seed)
        return (
            episode["video"],
            episode["actions"],
            f"simulated held-out episode, seed {seed} (cosmos.curate.sim)",
        )
    except ImportError:
        if seed != DEMO_SEED:
            raise
        stored = np.load(STORED_EPISODE)
        return (
            stored["video"],
            stored["actions"],
            f"stored held-out episode {STORED_EPISODE.name}, seed {seed}",
        )


def user_clip(path: Path, actions_path: Path | None) -> tuple[np.ndarray, np.ndarray, str]:
    """The first 25 frames of ``path`` (the last one repeated if shorter), resized and centre-cropped to 64x64."""
    frames, fps = read_video(path, max_frames=nano_eval.NUM_FRAMES)
    video = frames_to_video(frames)
    height, width = video.shape[-2:]
    scale = nano_eval.SIZE / min(height, width)
    video = resize_video(
        video, (max(nano_eval.SIZE, round(height * scale)), max(nano_eval.SIZE, round(width * scale)))
    )
    video = center_crop_video(video, (nano_eval.SIZE, nano_eval.SIZE)).clamp(-1, 1)
    frames = video_to_frames(video)[0]
    if len(frames) < nano_eval.NUM_FRAMES:
        frames = np.concatenate([frames, np.repeat(frames[-1:], nano_eval.NUM_FRAMES - len(frames), 0)])
    actions = np.zeros((nano_eval.NUM_FRAMES - 1, 7), np.float32)
    if actions_path is not None:
        loaded = (
            np.load(actions_path)
            if actions_path.suffix == ".npy"
            else np.array(json.loads(actions_path.read_text()))
        )
        loaded = np.asarray(loaded, np.float32).reshape(-1, 7)[: len(actions)]
        actions[: len(loaded)] = loaded
    else:
        print("no --actions given: the world models get zero actions (the arm is told to hold still)")
    return frames, actions, f"{path} ({fps:.1f} fps, first {nano_eval.NUM_FRAMES} frames at 64x64)"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--input", type=Path, help="your video (default: a simulated held-out episode)")
    parser.add_argument("--actions", type=Path, help="[24, 7] actions (.npy or .json) for --input")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="held-out simulator seed (>= 1,000,000)")
    parser.add_argument("--prompt", default=PROMPT)
    parser.add_argument("--context", type=int, default=1, choices=(1, 5), help="conditioning frames")
    parser.add_argument("--steps", type=int, default=20, help="diffusion sampler steps")
    parser.add_argument("--out", type=Path, default=Path("outputs/demo"))
    args = parser.parse_args(argv)
    if args.input is None and args.seed < nano_data.HELDOUT_SEED0:
        parser.error(
            f"--seed must be a held-out seed (>= {nano_data.HELDOUT_SEED0}); lower seeds are training data"
        )
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    clock = nano_eval.Timer()
    metrics: dict = {"prompt": args.prompt, "context_frames": args.context}

    # 1. the input
    if args.input is None:
        frames, actions, source = held_out_episode(args.seed)
    else:
        frames, actions, source = user_clip(args.input, args.actions)
    metrics["input"] = source
    print(f"[{clock()} s] input: {source}")
    video = frames_to_video(frames[None])  # [1, 3, 25, 64, 64]
    action = torch.from_numpy(actions)[None].float()  # [1, 24, 7]

    # 2. pre-guard
    from cosmos.guard import default_guardrail

    guard = default_guardrail(False)
    text_report = guard.check_text(args.prompt)
    metrics["pre_guard"] = {"allowed": text_report.allowed, "summary": text_report.summary()}
    print(f"[{clock()} s] pre-guard: {'allowed' if text_report.allowed else 'BLOCKED'}")
    if not text_report.allowed:
        print(text_report.summary())
        raise SystemExit(1)

    # 3. tokenizers
    models = nano_eval.load_models()
    print(f"[{clock()} s] loaded nano-cv4x8x8, nano-dv4x8x8, nano-v2w-action, nano-ar")
    recon_cv = nano_eval.reconstruct(models.cv, video)
    recon_dv = nano_eval.reconstruct(models.dv, video)
    metrics["tokenizer"] = {
        "nano-cv4x8x8": future_scores(recon_cv, video),
        "nano-dv4x8x8": future_scores(recon_dv, video),
    }
    print(f"[{clock()} s] tokenizers: {json.dumps(metrics['tokenizer'])}")

    # 4. diffusion
    t0 = time.perf_counter()
    pred_diffusion = nano_eval.diffusion_rollout(models.v2w, video, action, args.context, args.steps)
    metrics["diffusion"] = {
        **future_scores(pred_diffusion, video, args.context),
        "seconds": round(time.perf_counter() - t0, 2),
        "sampler": f"res2ab, {args.steps} steps, no guidance",
    }
    baseline = repeat_last_frame(video, args.context)
    metrics["baseline_repeat_last_frame"] = future_scores(baseline, video, args.context)
    print(f"[{clock()} s] diffusion: {json.dumps(metrics['diffusion'])}")

    # 5. AR, Medusa on, and plain for the comparison
    ar_medusa = nano_eval.ar_rollout(models.ar, video, action, args.context, medusa=True)
    ar_plain = nano_eval.ar_rollout(models.ar, video, action, args.context, medusa=False)
    same = bool(torch.equal(ar_medusa.tokens.indices, ar_plain.tokens.indices))
    metrics["ar"] = {
        **future_scores(ar_medusa.video, video, args.context),
        "medusa_tokens_per_s": round(ar_medusa.stats.tokens_per_second, 1),
        "plain_tokens_per_s": round(ar_plain.stats.tokens_per_second, 1),
        "medusa_speedup": round(ar_medusa.stats.tokens_per_second / ar_plain.stats.tokens_per_second, 2),
        "mean_accepted_length": round(ar_medusa.stats.mean_accepted_length, 2),
        "greedy_tokens_identical": same,
    }
    print(f"[{clock()} s] AR: {json.dumps(metrics['ar'])}")

    # 6. post-guard
    post = {}
    for name, pred in (("diffusion", pred_diffusion), ("ar", ar_medusa.video)):
        report = guard.check_video(pred)
        post[name] = report.allowed
        if not report.allowed:
            print(f"post-guard blocked the {name} output: {report.summary()}")
    metrics["post_guard_allowed"] = post
    print(f"[{clock()} s] post-guard: {post}")

    # 7. outputs
    args.out.mkdir(parents=True, exist_ok=True)
    shown = [video, pred_diffusion if post["diffusion"] else torch.zeros_like(video),
             ar_medusa.video if post["ar"] else torch.zeros_like(video)]  # fmt: skip
    big = [resize_video(v, (4 * nano_eval.SIZE, 4 * nano_eval.SIZE)).clamp(-1, 1) for v in shown]
    write_video(args.out / "side_by_side.mp4", video_to_frames(torch.cat(big, dim=-1))[0], nano_eval.FPS)
    save_contact_sheet(
        args.out / "contact_sheet.png",
        [video, recon_cv, recon_dv, shown[1], shown[2], baseline],
        labels=["truth", "nano-cv4x8x8 reconstruction", "nano-dv4x8x8 reconstruction",
                "nano-v2w-action prediction", "nano-ar prediction (Medusa)", "baseline: repeat last frame"],
        max_frames=9,
    )  # fmt: skip
    metrics["seconds"] = clock()
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {args.out}/side_by_side.mp4 (truth | diffusion | AR), contact_sheet.png, metrics.json "
          f"in {metrics['seconds']} s")  # fmt: skip
    return metrics


if __name__ == "__main__":
    main()
