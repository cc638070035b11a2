"""Quality of the shipped nano models on held-out data (issue 8): prints a table, writes JSON.

* Tokenizers (``nano-cv4x8x8``, ``nano-dv4x8x8``): PSNR/SSIM of the 25-frame round trip on held-out simulated
  episodes (seeds 1,000,000+, never trained on) and on real clips (``box.mp4``, ``vtest.avi`` from Debian's
  opencv-doc via ``examples/fetch_media.py``; 25-frame windows, short side resized to 64, centre crop).
* World models: PSNR/SSIM of the predicted future frames against the simulator's truth, from the first frame
  (context 1) or the first five frames (context 5, two latent frames) plus the episode's 24 actions:
  ``nano-v2w-action`` (RES-2ab, 20 steps, no guidance), ``nano-ar`` (greedy, Medusa), and two trivial
  baselines: repeat the last context frame; linear extrapolation in the nano-cv4x8x8 latent space
  (context 5 only: needs two latent frames). The future frames are 1..24 (context 1) or 5..24 (context 5).
* AR decoding speed (first 4 episodes, 1 and 2 threads): tokens/s of plain greedy decoding, of Medusa with the
  heads' candidate tree, and of Medusa with the tree plus the previous-frame copy chain (the default), tokens per
  forward pass, and whether all three give the same tokens.
* Physics alignment (the paper's Table 20 analogue): held-out clips of the eight physics scenes (25 frames at
  16 fps, 4 per scene), predicted from 1 frame or 5 frames (two latent frames: the analogue of the paper's 9
  frames under its 8x temporal compression) with all-zero actions; PSNR of the squared error pooled over the
  future frames of all clips (a static scene is predicted exactly by the repeat-last baseline), SSIM, object IoU.
  Mask-tracking rule: a 1-nearest-neighbour colour classifier whose prototypes are pixels of the true last
  context frame labelled by the simulator's masks (``nano_eval.colour_labels``); each future frame of a
  prediction is labelled pixel by pixel and each object's mask is compared with the simulator's mask of the
  same frame (IoU averaged over objects, frames and clips). The same rule on the true future frames gives the
  rule's ceiling.

Metrics are per-frame PSNR (data range 2 on [-1, 1], frames rounded to 8 bits) and SSIM (cosmos.core),
averaged over frames and episodes.

    python examples/nano_data.py robot --split heldout --num 50 --out data/nano   # or generated here
    python examples/fetch_media.py                                                # real clips (optional)
    python benchmarks/quality.py [--episodes 32] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from cosmos.ar import generate, medusa_generate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import nano_data  # noqa: E402
import nano_eval  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"


def held_out(data_dir: Path, count: int) -> dict[str, np.ndarray]:
    try:
        data = nano_data.load_robot(data_dir, "heldout")
    except FileNotFoundError:
        episodes = [nano_data.robot_episode(nano_data.HELDOUT_SEED0 + i) for i in range(count)]
        data = {k: np.stack([e[k] for e in episodes]) for k in ("video", "actions")}
        data["seeds"] = np.array([e["seed"] for e in episodes])
    assert (data["seeds"] >= nano_data.HELDOUT_SEED0).all(), "held-out seeds overlap the training split"
    return {k: v[:count] for k, v in data.items()}


def real_clips(max_windows: int) -> dict[str, torch.Tensor]:
    """``{name: [W, 3, 25, 64, 64]}`` windows of the opencv-doc clips, or {} when they cannot be fetched."""
    from cosmos.core import center_crop_video, frames_to_video, read_video, resize_video

    try:
        from fetch_media import fetch_media

        paths = fetch_media()
    except Exception as error:  # noqa: BLE001 - optional data
        print(f"real clips unavailable ({error}); skipped")
        return {}
    out = {}
    for name, path in paths.items():
        frames, _ = read_video(path, max_frames=25 * max_windows)
        video = frames_to_video(frames)
        h, w = video.shape[-2:]
        video = resize_video(video, (64, max(64, round(w * 64 / h))) if h <= w else (round(h * 64 / w), 64))
        video = center_crop_video(video, (64, 64)).clamp(-1, 1)
        windows = [video[:, :, i : i + 25] for i in range(0, video.shape[2] - 24, 25)][:max_windows]
        out[name] = torch.cat(windows)
    return out


def held_out_physics(data_dir: Path, per_scene: int) -> dict[str, np.ndarray]:
    """Held-out physics clips (seeds 1,000,000+), ``per_scene`` of each of the eight scenes."""
    count = 8 * per_scene
    try:
        data = nano_data.load_physics(data_dir, "heldout")
    except FileNotFoundError:
        clips = [nano_data.physics_clip(i, nano_data.HELDOUT_SEED0) for i in range(count)]
        data = {k: np.stack([c[k] for c in clips]) for k in ("video", "masks", "scene", "seed")}
        data["seeds"] = data.pop("seed")
    assert (data["seeds"] >= nano_data.HELDOUT_SEED0).all(), "held-out seeds overlap the training split"
    return {k: v[:count] for k, v in data.items()}


def physics_rows(models, data: dict[str, np.ndarray], steps: int, start: float) -> list[dict]:
    """Diffusion, AR and repeat-last rows on the physics clips at context 1 and 5, with object IoU."""
    from cosmos.curate.sim import PHYSICS_SCENES

    video = nano_eval.to_video(data["video"])
    masks = data["masks"]
    zeros = torch.zeros(len(video), 24, 7)
    rows = []
    label = f"physics ({len(video)} clips)"
    truth = {
        c: nano_eval.physics_iou(video, video, masks, c) for c in (1, 5)
    }  # the tracking rule on the truth: its ceiling
    for context in (1, 5):
        preds = {
            "nano-v2w-action": batched(
                lambda v, a, k=context: nano_eval.diffusion_rollout(
                    models.v2w, v, a, k, steps, fps=nano_data.PHYSICS_FPS
                ),
                video, zeros, size=16,
            ),  # fmt: skip
            "nano-ar (greedy, Medusa)": torch.cat(
                [nano_eval.ar_rollout(models.ar, video[i : i + 1], zeros[:1], context).video for i in range(len(video))]
            ),  # fmt: skip
            "baseline: repeat last frame": nano_eval.repeat_last(video, context),
        }
        for name, pred in preds.items():
            ious = nano_eval.physics_iou(pred, video, masks, context)
            per_scene = {
                scene: round(float(np.nanmean([x for x, s in zip(ious, data["scene"]) if s == i])), 3)
                for i, scene in enumerate(PHYSICS_SCENES)
            }
            rows.append({"what": "physics", "model": name, "data": f"{label}, context {context}",
                         **nano_eval.pooled_scores(pred, video, context), "iou": float(np.nanmean(ious)),
                         "iou_per_scene": per_scene})  # fmt: skip
        rows.append({"what": "physics", "model": "tracking rule on the true frames (ceiling)",
                     "data": f"{label}, context {context}", "psnr": None, "ssim": None,
                     "iou": float(np.nanmean(truth[context]))})  # fmt: skip
        print(f"[{time.perf_counter() - start:.0f} s] physics context {context} done", flush=True)
    return rows


def batched(fn, *tensors, size: int):
    outs = [fn(*(t[i : i + size] for t in tensors)) for i in range(0, len(tensors[0]), size)]
    return torch.cat(outs)


DECODERS = {
    "plain": generate,
    "medusa_heads": functools.partial(medusa_generate, frame_copy=0),
    "medusa_heads_frame_copy": medusa_generate,  # the default: heads' tree + previous-frame copy chain
}


@torch.no_grad()
def ar_speed(models, video: torch.Tensor, actions: torch.Tensor, context: int, episodes: int) -> dict:
    """Greedy decoding speed of ``nano-ar``'s transformer on the first ``episodes`` roll-outs: plain decoding, Medusa
    with the heads' tree only, and Medusa with the heads' tree plus the previous-frame copy chain (the default), at
    1 and 2 threads. Episodes are decoded in turn by every decoder (interleaved), twice; each decoder keeps its best
    pass. Tokens/s counts the tokens after the prefill. Also checks that all decoders give the same tokens."""
    lm = models.ar.lm
    latents = 1 + (context - 1) // 4
    # the tokenizer is causal, so these prompt tokens are the ones ARWFM.generate encodes from the context frames
    indices = models.dv.encode(video[:episodes]).indices.reshape(episodes, -1)
    bov = torch.full((episodes, 1), lm.config.bov_id, dtype=torch.int64)
    prompts = torch.cat([bov, indices[:, : latents * 64]], dim=1)
    new = indices.shape[1] - latents * 64
    result, identical = {}, True
    for threads in sorted({1, max(1, min(2, torch.get_num_threads()))}):
        torch.set_num_threads(threads)
        best: dict[str, tuple[float, float]] = {}
        for _ in range(2):
            totals = {name: [0, 0.0, 0] for name in DECODERS}  # tokens, seconds, forward passes
            for i in range(episodes):
                reference = None
                for name, decode in DECODERS.items():
                    tokens, stats = decode(lm, prompts[i : i + 1], new, context=actions[i : i + 1],
                                           temperature=0.0, progress=False)  # fmt: skip
                    reference = tokens if reference is None else reference
                    identical &= bool(torch.equal(tokens, reference))
                    totals[name][0] += stats.num_decoded_tokens
                    totals[name][1] += stats.decode_seconds
                    totals[name][2] += stats.num_forward_passes
            for name, (count, seconds, passes) in totals.items():
                if name not in best or count / seconds > best[name][0]:
                    best[name] = (count / seconds, count / passes)
        plain = best["plain"][0]
        result[f"threads_{threads}"] = {
            name: {"tokens_per_s": round(tps, 1), "speedup": round(tps / plain, 2), "tokens_per_forward": round(acc, 2)}
            for name, (tps, acc) in best.items()
        }
    result["greedy_tokens_identical"] = identical
    result["episodes_timed"] = episodes
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "nano")
    ap.add_argument("--episodes", type=int, default=32)
    ap.add_argument("--ar-episodes", type=int, default=None, help="episodes for the AR rows (default: all)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--physics-per-scene", type=int, default=4, help="held-out physics clips per scene")
    ap.add_argument("--quick", action="store_true", help="4 episodes, 1 real window, 1 physics clip a scene")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.quick:
        args.episodes, args.ar_episodes, args.physics_per_scene = 4, 2, 1
    threads = max(1, min(2, torch.get_num_threads()))
    torch.set_num_threads(threads)
    start = time.perf_counter()
    models = nano_eval.load_models()
    data = held_out(args.data, args.episodes)
    video = nano_eval.to_video(data["video"])  # [N, 3, 25, 64, 64]
    actions = torch.from_numpy(data["actions"]).float()
    n = len(video)
    n_ar = min(n, args.ar_episodes or n)
    rows: list[dict] = []

    # tokenizers
    real = real_clips(1 if args.quick else 4)
    for name, tok in (("nano-cv4x8x8", models.cv), ("nano-dv4x8x8", models.dv)):
        recon = batched(lambda v, tok=tok: nano_eval.reconstruct(tok, v), video, size=8)
        rows.append({"what": "tokenizer", "model": name, "data": f"held-out sim ({n} episodes)",
                     **nano_eval.scores(recon, video)})  # fmt: skip
        for clip, windows in real.items():
            recon = nano_eval.reconstruct(tok, windows)
            rows.append({"what": "tokenizer", "model": name, "data": f"real: {clip} ({len(windows)}x25 frames)",
                         **nano_eval.scores(recon, windows)})  # fmt: skip
        print(f"[{time.perf_counter() - start:.0f} s] {name} done", flush=True)

    # world models
    speed = {}
    for context in (1, 5):
        label = f"held-out sim, context {context}"
        pred = batched(lambda v, a, k=context: nano_eval.diffusion_rollout(models.v2w, v, a, k, args.steps), video, actions,
                       size=16)  # fmt: skip
        rows.append({"what": "world model", "model": "nano-v2w-action", "data": label,
                     **nano_eval.scores(pred, video, context)})  # fmt: skip
        print(f"[{time.perf_counter() - start:.0f} s] diffusion context {context} done", flush=True)
        ar_preds = [
            nano_eval.ar_rollout(models.ar, video[i : i + 1], actions[i : i + 1], context, medusa=True).video
            for i in range(n_ar)
        ]
        rows.append({"what": "world model", "model": "nano-ar (greedy, Medusa)", "data": label + f" ({n_ar} ep.)",
                     **nano_eval.scores(torch.cat(ar_preds), video[:n_ar], context)})  # fmt: skip
        speed[f"context_{context}"] = ar_speed(models, video, actions, context, min(n_ar, 4))
        torch.set_num_threads(threads)
        print(f"[{time.perf_counter() - start:.0f} s] AR context {context} done: {speed[f'context_{context}']}",
              flush=True)  # fmt: skip
        rows.append({"what": "world model", "model": "baseline: repeat last frame", "data": label,
                     **nano_eval.scores(nano_eval.repeat_last(video, context), video, context)})  # fmt: skip
        if context == 5:
            lin = batched(lambda v: nano_eval.latent_linear(models.cv, v, 5), video, size=8)
            rows.append({"what": "world model", "model": "baseline: linear extrapolation in latent space",
                         "data": label, **nano_eval.scores(lin, video, context)})  # fmt: skip

    rows += physics_rows(models, held_out_physics(args.data, args.physics_per_scene), args.steps, start)

    header = f"| {'what':<11} | {'model':<46} | {'data':<36} | {'PSNR dB':>7} | {'SSIM':>6} | {'obj. IoU':>8} |"
    lines = [header, "|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|"]
    for r in rows:
        iou = f"{r['iou']:>8.3f}" if "iou" in r else f"{'':>8}"
        psnr = f"{r['psnr']:>7.2f}" if r["psnr"] is not None else f"{'':>7}"
        ssim = f"{r['ssim']:>6.3f}" if r["ssim"] is not None else f"{'':>6}"
        lines.append(f"| {r['what']:<11} | {r['model']:<46} | {r['data']:<36} | {psnr} | {ssim} | {iou} |")
    table = "\n".join(lines)
    print(table)
    for key, value in speed.items():
        print(f"AR decoding ({key}): {value}")
    result = {
        "rows": rows,
        "ar_speed": speed,
        "episodes": n,
        "held_out_seeds": [int(data["seeds"].min()), int(data["seeds"].max())],
        "diffusion_sampler": f"res2ab, {args.steps} steps, guidance 0",
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        "seconds": round(time.perf_counter() - start, 1),
        "table": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
