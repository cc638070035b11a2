"""Quality of the shipped nano models on held-out data, measured with cosmos-eval: prints tables, writes JSON.

Every score and protocol comes from the library (``cosmos.eval``, ``cosmos.core``); this script only loads
the models and the held-out data (``examples/nano_data.py``) and lays the results out.

* Tokenizers (``nano-cv4x8x8``, ``nano-dv4x8x8``): PSNR/SSIM (:func:`cosmos.eval.future_scores` from frame 0) of
  the 25-frame round trip on held-out simulated episodes (seeds 1,000,000+, never trained on) and on real clips
  (``box.mp4``, ``vtest.avi`` from Debian's opencv-doc via ``examples/fetch_media.py``; 25-frame windows, short
  side resized to 64, centre crop).
* World models: :func:`cosmos.eval.action_following` on the held-out robot episodes, from the first frame
  (context 1) or the first five frames (context 5, two latent frames) plus the episode's 24 actions (those of
  the context transitions too: ``context_actions=True``), through the ``cosmos.core.WorldModel`` contract:
  ``nano-v2w-action`` (RES-2ab, 20 steps, no guidance), ``nano-ar`` (greedy, Medusa), the repeat-last-frame baseline (the protocol's own row) and, at
  context 5, linear extrapolation in the nano-cv4x8x8 latent space (``nano_eval.latent_linear``, scored with
  :func:`cosmos.eval.future_scores`). Scores are on the predicted frames 1..24 (context 1) or 5..24 (context 5).
* AR decoding speed (first 4 episodes, 1 and 2 threads): tokens/s of plain greedy decoding, of Medusa with the
  heads' candidate tree, and of Medusa with the tree plus the previous-frame copy chain (the default), tokens per
  forward pass, and whether all three give the same tokens.
* Physics alignment (the paper's Table 20 analogue): :func:`cosmos.eval.physics_alignment` on held-out clips of
  the eight physics scenes (25 frames at 16 fps, 4 per scene), predicted from 1 frame or 5 frames (two latent
  frames: the analogue of the paper's 9 frames under its 8x temporal compression) with all-zero actions; PSNR of
  the squared error pooled over the future frames of all clips, SSIM, and object IoU after the model-free
  tracking rule of :mod:`cosmos.eval.tracking` (its ceiling: the same rule on the true future frames).

PSNR is in dB on [-1, 1] (data range 2) and SSIM per frame (cosmos.core), both on frames rounded to 8 bits;
world-model and tokenizer rows average per-frame values over frames and episodes.

    python examples/nano_data.py robot --split heldout --num 32 --out data/nano     # or generated here
    python examples/nano_data.py physics --split heldout --num 32 --out data/nano   # or generated here
    python examples/fetch_media.py                                                  # real clips (optional)
    python benchmarks/quality.py [--data data/nano] [--episodes 32] [--threads 2] [--quick]
"""

from __future__ import annotations

import argparse
import functools
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from cosmos.ar import generate, medusa_generate
from cosmos.core import frames_to_video
from cosmos.eval import (
    ActionEpisode,
    EvalTable,
    PhysicsEpisode,
    action_following,
    future_scores,
    physics_alignment,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import nano_data  # noqa: E402
import nano_eval  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"
COLUMNS = ("what", "model", "data", "psnr", "ssim", "iou")
AR_NAME = "nano-ar (greedy, Medusa)"
V2W_NAME = "nano-v2w-action"
REPEAT_LAST = "baseline: repeat last frame"
CEILING = "tracking rule on the true frames (ceiling)"
LINEAR = "baseline: linear extrapolation in latent space"


def held_out(data_dir: Path, count: int) -> dict[str, np.ndarray]:
    """Held-out robot episodes (seeds 1,000,000+): video uint8 ``[N, 25, 64, 64, 3]``, actions ``[N, 24, 7]``."""
    try:
        data = nano_data.load_robot(data_dir, "heldout")
    except FileNotFoundError:
        episodes = [nano_data.robot_episode(nano_data.HELDOUT_SEED0 + i) for i in range(count)]
        data = {k: np.stack([e[k] for e in episodes]) for k in ("video", "actions")}
        data["seeds"] = np.array([e["seed"] for e in episodes])
    assert (data["seeds"] >= nano_data.HELDOUT_SEED0).all(), "held-out seeds overlap the training split"
    return {k: v[:count] for k, v in data.items()}


def held_out_physics(data_dir: Path, per_scene: int) -> list[PhysicsEpisode]:
    """Held-out physics clips (seeds 1,000,000+), ``per_scene`` of each of the eight scenes."""
    from cosmos.curate.sim import PHYSICS_SCENES

    count = 8 * per_scene
    try:
        data = nano_data.load_physics(data_dir, "heldout")
    except FileNotFoundError:
        clips = [nano_data.physics_clip(i, nano_data.HELDOUT_SEED0) for i in range(count)]
        data = {k: np.stack([c[k] for c in clips]) for k in ("video", "masks", "scene", "seed")}
        data["seeds"] = data.pop("seed")
    assert (data["seeds"] >= nano_data.HELDOUT_SEED0).all(), "held-out seeds overlap the training split"
    return [
        PhysicsEpisode(video, masks, PHYSICS_SCENES[int(scene)], int(seed))
        for video, masks, scene, seed in list(
            zip(data["video"], data["masks"], data["scene"], data["seeds"])
        )[:count]
    ]


def real_clips(max_windows: int) -> dict[str, torch.Tensor]:
    """``{name: [W, 3, 25, 64, 64]}`` windows of the opencv-doc clips, or {} when they cannot be fetched."""
    from cosmos.core import center_crop_video, read_video, resize_video

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


def batched(fn, *tensors, size: int):
    outs = [fn(*(t[i : i + size] for t in tensors)) for i in range(0, len(tensors[0]), size)]
    return torch.cat(outs)


def tokenizer_rows(models, video: torch.Tensor, real: dict[str, torch.Tensor], start: float) -> list[dict]:
    """Round-trip PSNR/SSIM of both tokenizers on the held-out episodes and the real clips."""
    rows = []
    for name, tok in (("nano-cv4x8x8", models.cv), ("nano-dv4x8x8", models.dv)):
        recon = batched(lambda v, tok=tok: nano_eval.reconstruct(tok, v), video, size=8)
        rows.append({"what": "tokenizer", "model": name, "data": f"held-out sim ({len(video)} episodes)",
                     **future_scores(recon, video)})  # fmt: skip
        for clip, windows in real.items():
            recon = nano_eval.reconstruct(tok, windows)
            rows.append({"what": "tokenizer", "model": name, "data": f"real: {clip} ({len(windows)}x25 frames)",
                         **future_scores(recon, windows)})  # fmt: skip
        print(f"[{time.perf_counter() - start:.0f} s] {name} done", flush=True)
    return rows


def world_model_rows(models, data: dict, context: int, steps: int, n_ar: int, start: float) -> list[dict]:
    """:func:`cosmos.eval.action_following` rows of both world models at one context length (+ baselines).

    The models also get the episode's actions of the transitions inside the context (``context_actions=True``:
    known past actions, as in training); at context 5 leaving them unknown (zeros) costs ~1 dB."""
    episodes = [ActionEpisode(v, a, int(s)) for v, a, s in zip(data["video"], data["actions"], data["seeds"])]
    label = f"held-out sim, context {context}"
    v2w = action_following(models.v2w, episodes, context_frames=context, batch_size=16, name=V2W_NAME,
                           context_actions=True,
                           rollout_options={"num_steps": steps, "sampler": "res2ab", "guidance": 0.0})  # fmt: skip
    print(f"[{time.perf_counter() - start:.0f} s] diffusion context {context} done", flush=True)
    ar = action_following(models.ar, episodes[:n_ar], context_frames=context, batch_size=1, baselines=False,
                          name=AR_NAME, context_actions=True,
                          rollout_options={"temperature": 0.0, "medusa": True})  # fmt: skip
    print(f"[{time.perf_counter() - start:.0f} s] AR context {context} done", flush=True)
    model, baseline = v2w.rows
    rows = [{"what": "world model", "model": V2W_NAME, "data": label, "psnr": model["psnr"], "ssim": model["ssim"]},
            {"what": "world model", "model": AR_NAME, "data": label + f" ({n_ar} ep.)",
             "psnr": ar.rows[0]["psnr"], "ssim": ar.rows[0]["ssim"]},
            {"what": "world model", "model": REPEAT_LAST, "data": label,
             "psnr": baseline["psnr"], "ssim": baseline["ssim"]}]  # fmt: skip
    if context == 5:
        video = frames_to_video(data["video"])
        lin = batched(lambda v: nano_eval.latent_linear(models.cv, v, 5), video, size=8)
        rows.append(
            {"what": "world model", "model": LINEAR, "data": label, **future_scores(lin, video, context)}
        )
    return rows


def physics_rows(models, clips: list[PhysicsEpisode], steps: int, start: float) -> tuple[list[dict], dict]:
    """:func:`cosmos.eval.physics_alignment` of both world models at context 1 and 5: the over-all rows (model,
    AR, repeat-last, tracking ceiling) and the per-scene tables (for the JSON)."""
    rows, tables = [], {}
    label = f"physics ({len(clips)} clips)"
    for context in (1, 5):
        v2w = physics_alignment(models.v2w, context, clips, batch_size=16, name=V2W_NAME,
                                rollout_options={"num_steps": steps, "sampler": "res2ab", "guidance": 0.0,
                                                 "fps": nano_data.PHYSICS_FPS})  # fmt: skip
        ar = physics_alignment(models.ar, context, clips, batch_size=1, baselines=False, name=AR_NAME,
                               rollout_options={"temperature": 0.0, "medusa": True})  # fmt: skip
        overall = {row["model"]: row for row in v2w.rows + ar.rows if row["scene"] == "all"}
        for name in (V2W_NAME, AR_NAME, REPEAT_LAST, CEILING):
            row = overall[name]
            rows.append({"what": "physics", "model": name, "data": f"{label}, context {context}",
                         "psnr": row["psnr"], "ssim": row["ssim"], "iou": row["iou"]})  # fmt: skip
        tables[f"context_{context}"] = {"diffusion_and_baselines": v2w.to_dict(), "ar": ar.to_dict()}
        print(f"[{time.perf_counter() - start:.0f} s] physics context {context} done", flush=True)
    return rows, tables


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
    # the cross-attention context ARWFM builds from ``action=``: the actions padded to the clip's action steps
    padded = actions.new_zeros(episodes, lm.config.action_steps, lm.config.action_dim)
    padded[:, : actions.shape[1]] = actions[:episodes, : lm.config.action_steps]
    contexts = lm.embed_actions(padded)
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
                    tokens, stats = decode(lm, prompts[i : i + 1], new, context=contexts[i : i + 1],
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
            name: {
                "tokens_per_s": round(tps, 1),
                "speedup": round(tps / plain, 2),
                "tokens_per_forward": round(acc, 2),
            }
            for name, (tps, acc) in best.items()
        }
    result["greedy_tokens_identical"] = identical
    result["episodes_timed"] = episodes
    return result


PAPER_ROWS = [
    {"what": "**paper** (Cosmos-1.0)", "model": "Diffusion 7B V2W", "data": "Bridge (action-conditioned)",
     "PSNR dB": "21.14", "SSIM": "0.82", "object IoU": ""},
    {"what": "**paper**", "model": "Diffusion 7B V2W, 9 frames", "data": "physics alignment (8 scenes)",
     "PSNR dB": "21.06", "SSIM": "0.69", "object IoU": "0.592"},
]  # fmt: skip


def readme_table(rows: list[dict], episodes: int, clips: int) -> EvalTable:
    """The README's condensed quality table ("Quality of the nano models") from the full rows: same rows and
    columns, values of one cell joined with " / " ("-" where a row has none)."""

    def pick(what: str, model: str, data: str) -> dict:
        found = [r for r in rows if r["what"] == what and r["model"] == model and r["data"].startswith(data)]
        return found[0] if found else {}

    def cell(found: list[dict], key: str, decimals: int, bold: bool = False) -> str:
        text = " / ".join("-" if r.get(key) is None else f"{r[key]:.{decimals}f}" for r in found)
        return f"**{text}**" if bold and text else text

    def line(
        what: str, model: str, data: str, found: list[dict], iou: bool = False, bold: bool = False
    ) -> dict:
        return {"what": what, "model": model, "data": data, "PSNR dB": cell(found, "psnr", 2, bold),
                "SSIM": cell(found, "ssim", 3), "object IoU": cell(found, "iou", 3) if iou else ""}  # fmt: skip

    out = []
    for tok in ("nano-cv4x8x8", "nano-dv4x8x8"):
        found = [r for r in rows if r["what"] == "tokenizer" and r["model"] == tok]
        names = [r["data"].split(" (")[0].removeprefix("real: ") for r in found]
        out.append(line("tokenizer", tok, " / ".join(names), found))
    for context, title in ((1, "world model, 1 context frame"), (5, "world model, 5 context frames")):
        data = f"held-out sim, context {context}"
        first = context == 1
        out.append(line(title, V2W_NAME + (" (diffusion)" if first else ""), "held-out sim",
                        [pick("world model", V2W_NAME, data)], bold=True))  # fmt: skip
        out.append(
            line("", AR_NAME if first else "nano-ar", "held-out sim", [pick("world model", AR_NAME, data)])
        )
        if first:
            out.append(
                line(
                    "",
                    "repeat last frame (baseline)",
                    "held-out sim",
                    [pick("world model", REPEAT_LAST, data)],
                )
            )
        else:
            found = [pick("world model", REPEAT_LAST, data), pick("world model", LINEAR, data)]
            out.append(line("", "repeat last frame / linear latent extrapolation", "held-out sim", found))
    data = f"physics ({clips} clips), context 5"
    out.append(line("physics scenes, 5 context frames", "nano-v2w-action / nano-ar",
                    f"{clips} held-out clips, 8 scenes",
                    [pick("physics", V2W_NAME, data), pick("physics", AR_NAME, data)], iou=True))  # fmt: skip
    out.append(line("", "repeat last frame / tracking-rule ceiling", "same",
                    [pick("physics", REPEAT_LAST, data), pick("physics", CEILING, data)], iou=True))  # fmt: skip
    out += PAPER_ROWS
    columns = ("what", "model", "data", "PSNR dB", "SSIM", "object IoU")
    return EvalTable(
        f"README quality table ({episodes} held-out episodes, {clips} physics clips)", out, columns
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "nano")
    ap.add_argument("--episodes", type=int, default=32)
    ap.add_argument("--ar-episodes", type=int, default=None, help="episodes for the AR rows (default: all)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--physics-per-scene", type=int, default=4, help="held-out physics clips per scene")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (at most the machine's)")
    ap.add_argument("--quick", action="store_true", help="4 episodes, 1 real window, 1 physics clip a scene")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.quick:
        args.episodes, args.ar_episodes, args.physics_per_scene = 4, 2, 1
    threads = max(1, min(args.threads, torch.get_num_threads()))
    torch.set_num_threads(threads)
    start = time.perf_counter()
    models = nano_eval.load_models()
    data = held_out(args.data, args.episodes)
    video = frames_to_video(data["video"])  # uint8 [N, 25, 64, 64, 3] -> float [N, 3, 25, 64, 64]
    actions = torch.from_numpy(data["actions"]).float()
    n = len(video)
    n_ar = min(n, args.ar_episodes or n)

    rows = tokenizer_rows(models, video, real_clips(1 if args.quick else 4), start)
    speed = {}
    for context in (1, 5):
        rows += world_model_rows(models, data, context, args.steps, n_ar, start)
        speed[f"context_{context}"] = ar_speed(models, video, actions, context, min(n_ar, 4))
        torch.set_num_threads(threads)
        print(f"[{time.perf_counter() - start:.0f} s] AR speed context {context}: {speed[f'context_{context}']}",
              flush=True)  # fmt: skip
    clips = held_out_physics(args.data, args.physics_per_scene)
    physics, per_scene = physics_rows(models, clips, args.steps, start)
    rows += physics

    metadata = {
        "ar_speed": speed,
        "physics_per_scene": per_scene,
        "episodes": n,
        "held_out_seeds": [int(data["seeds"].min()), int(data["seeds"].max())],
        "physics_seeds": sorted({clip.seed for clip in clips}),
        "diffusion_sampler": f"res2ab, {args.steps} steps, guidance 0",
        "metrics": "cosmos.eval: action_following, physics_alignment, future_scores (8-bit frames)",
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {threads} threads",
    }
    table = EvalTable(f"quality of the nano models ({n} held-out episodes)", rows, COLUMNS, metadata)
    readme = readme_table(rows, n, len(clips))
    print(table)
    print()
    print(readme)
    for key, value in speed.items():
        print(f"AR decoding ({key}): {value}")
    metadata["seconds"] = round(time.perf_counter() - start, 1)
    metadata["readme_table"] = readme.to_markdown()
    table.save_json(args.out)
    print(f"wrote {args.out} ({metadata['seconds']} s)")


if __name__ == "__main__":
    main()
