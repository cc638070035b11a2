"""Benchmark cosmos-curate: pipeline throughput (local vs Ray) and shot-detection F1 (TransNetV2 vs PySceneDetect).

    python benchmarks/curate.py                         # synthetic + simulator videos
    python benchmarks/curate.py --real-dir /tmp/real    # also splice real clips (e.g. opencv-doc box.mp4, vtest.avi)
    python benchmarks/curate.py --skip-ray --json out.json

Throughput: clips per minute of `run_pipeline` (split-annotate + dedup + shard, motion filter on) over
the same folder of generated videos, with the local executor and with the Ray executor.
Shot detection: videos made of shots with known cuts; F1 with a ±2-frame tolerance (one-to-one matches):
(a) synthetic drifting-wave shots, (b) concatenated simulator clips (the eight physics scenes),
(c) with --real-dir, real clips cut into 2-4 s segments and spliced from alternating sources.
Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cosmos.core import read_video, write_video
from cosmos.curate.config import SplitConfig, get_preset
from cosmos.curate.executor import LocalExecutor
from cosmos.curate.media import decode_frames
from cosmos.curate.pipeline import run_pipeline
from cosmos.curate.splitting import cut_f1, predictions_to_scenes, pyscenedetect_scenes, scene_cuts
from cosmos.curate.synthetic import cut_video
from cosmos.curate.transnetv2 import TransNetV2, predict_transitions


def _resize(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    video = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    video = torch.nn.functional.interpolate(video, size=(height, width), mode="bilinear", antialias=True)
    return video.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def synthetic_cut_videos(num: int, rng: np.random.Generator) -> list[tuple[np.ndarray, list[int], float]]:
    out = []
    for i in range(num):
        lengths = [int(x) for x in rng.integers(30, 90, size=int(rng.integers(3, 6)))]
        frames, cuts = cut_video(lengths, 144, 256, seed=100 + i)
        out.append((frames, cuts, 24.0))
    return out


def simulator_cut_videos(num: int) -> list[tuple[np.ndarray, list[int], float]]:
    from cosmos.curate.sim import PHYSICS_SCENES, PhysicsConfig, generate_physics_clip

    config = PhysicsConfig(height=144, width=144, num_frames=40)
    out = []
    for i in range(num):
        scenes = [PHYSICS_SCENES[(i + k) % len(PHYSICS_SCENES)] for k in range(4)]
        clips = [generate_physics_clip(scene, 1000 + i, config).video for scene in scenes]
        cuts = list(np.cumsum([len(c) for c in clips])[:-1].astype(int))
        out.append((np.concatenate(clips), [int(c) for c in cuts], 16.0))
    return out


def real_cut_videos(
    folder: Path, num: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, list[int], float]]:
    sources = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".mp4", ".avi", ".mov", ".mkv"):
            frames, fps = read_video(path, max_frames=900)
            if len(frames) >= 120:
                sources.append(_resize(frames, 240, 320))
    if len(sources) < 2:
        return []
    out = []
    for _ in range(num):
        segments, cuts, total = [], [], 0
        for k in range(5):  # alternate sources so every boundary is a real cut
            source = sources[k % len(sources)]
            length = int(rng.integers(50, 110))
            start = int(rng.integers(0, len(source) - length))
            segments.append(source[start : start + length])
            total += length
            cuts.append(total)
        out.append((np.concatenate(segments), cuts[:-1], 25.0))
    return out


def shot_detection(
    videos: list[tuple[np.ndarray, list[int], float]], model: TransNetV2, workdir: Path
) -> dict:
    results = {"transnetv2": [], "pyscenedetect": []}
    timing = {"transnetv2": 0.0, "pyscenedetect": 0.0}
    for index, (frames, cuts, fps) in enumerate(videos):
        data = write_video(workdir / f"cuts{index}.mp4", frames, fps).read_bytes()
        start = time.perf_counter()
        probabilities = predict_transitions(model, decode_frames(data, size=(27, 48)))
        detected = scene_cuts(predictions_to_scenes(probabilities, 0.4))
        timing["transnetv2"] += time.perf_counter() - start
        results["transnetv2"].append(cut_f1(detected, cuts))
        start = time.perf_counter()
        detected = scene_cuts(pyscenedetect_scenes(data, SplitConfig(algorithm="pyscenedetect")))
        timing["pyscenedetect"] += time.perf_counter() - start
        results["pyscenedetect"].append(cut_f1(detected, cuts))
    frames_total = sum(len(v[0]) for v in videos)
    summary = {}
    for name, scores in results.items():
        p, r, f = (float(np.mean([s[k] for s in scores])) for k in range(3))
        summary[name] = {"precision": p, "recall": r, "f1": f, "fps": frames_total / max(timing[name], 1e-9)}
    return summary


def throughput(workdir: Path, num_videos: int, skip_ray: bool) -> dict:
    inputs = workdir / "inputs"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    for i in range(num_videos):
        lengths = [int(x) for x in rng.integers(80, 130, size=3)]  # >= 72 frames: 2 s + 2 x 0.5 s crop at 24 fps
        frames, _ = cut_video(lengths, 256, 320, seed=i, static_shots=(1,))
        write_video(inputs / f"video{i}.mp4", frames, 24.0)
    config = get_preset("cosmos-curate").replace(**{"motion.enabled": True})
    executors = {"local": lambda: LocalExecutor(progress=False)}
    if not skip_ray:
        try:
            from cosmos.curate.ray_executor import RayExecutor

            executors["ray"] = lambda: RayExecutor(progress=False)
        except ImportError as exc:
            print(f"skipping the Ray executor: {exc}")
    out = {}
    for name, make in executors.items():
        start = time.perf_counter()
        manifest = run_pipeline(inputs, workdir / f"out_{name}", config, executor=make(), verbose=False)
        seconds = time.perf_counter() - start
        clips = manifest["counts"]["clips"]
        out[name] = {
            "seconds": seconds,
            "clips": clips,
            "sharded": manifest["counts"]["sharded"],
            "clips_per_min": 60 * clips / seconds,
        }
    if "ray" in out:
        local = json.loads((workdir / "out_local" / "manifest.json").read_text())
        ray = json.loads((workdir / "out_ray" / "manifest.json").read_text())
        out["ray"]["manifest_equals_local"] = local == ray
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--videos", type=int, default=4, help="videos per shot-detection set and for throughput"
    )
    parser.add_argument(
        "--real-dir", type=Path, help="folder of real clips to splice (e.g. opencv-doc box.mp4, vtest.avi)"
    )
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--skip-sim", action="store_true")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/curate.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    model = TransNetV2.from_official()
    report: dict = {"machine": {"platform": platform.platform(), "torch_threads": torch.get_num_threads()}}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sets = {"synthetic": synthetic_cut_videos(args.videos, rng)}
        if not args.skip_sim:
            sets["simulator"] = simulator_cut_videos(args.videos)
        if args.real_dir:
            sets["real"] = real_cut_videos(args.real_dir, args.videos, rng)
        report["shot_detection"] = {
            name: shot_detection(videos, model, workdir) for name, videos in sets.items() if videos
        }
        report["throughput"] = throughput(workdir, args.videos, args.skip_ray)
    print(f"\n{'videos':<14}{'detector':<15}{'precision':>10}{'recall':>8}{'F1':>7}{'fps':>8}")
    for name, detectors in report["shot_detection"].items():
        for detector, s in detectors.items():
            print(
                f"{name:<14}{detector:<15}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>7.3f}{s['fps']:>8.1f}"
            )
    print(f"\n{'executor':<10}{'videos':>7}{'clips':>7}{'seconds':>9}{'clips/min':>11}")
    for name, s in report["throughput"].items():
        print(f"{name:<10}{args.videos:>7}{s['clips']:>7}{s['seconds']:>9.1f}{s['clips_per_min']:>11.1f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
