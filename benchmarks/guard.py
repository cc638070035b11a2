"""Speed of the offline guardrail on this machine: blocklist latency per prompt, Haar face blur per frame.

    PYTHONPATH=packages/cosmos-core/src:packages/cosmos-guard/src python benchmarks/guard.py [--out guard.json]

Prints a table and writes JSON. Uses skimage's astronaut photo (scikit-image) for the face-blur timings.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np

from cosmos.guard import FaceBlur, Guardrail, HaarFaceDetector

PROMPTS = [
    "A Franka Panda robot arm picks up a red cube and places it in a blue bowl.",
    "Dashcam view: a car approaches an intersection and waits for the light to turn green.",
    "A self-driving car drives down a rainy highway at night with headlights on.",
    "A video of a b0mb exploding in a crowded market.",
    "A humanoid robot opens a refrigerator door and takes out a bottle of water.",
] * 20


def time_calls(fn, items, repeat=1):
    times = []
    for _ in range(repeat):
        for item in items:
            t0 = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="guard_benchmark.json")
    parser.add_argument("--frames", type=int, default=4)
    args = parser.parse_args()
    from skimage import data

    rows = []
    t0 = time.perf_counter()
    guard = Guardrail.from_preset("offline")
    rows.append(("build offline preset", time.perf_counter() - t0, 1))
    guard.check_text("warm up the lemmatiser")
    times = time_calls(guard.check_text, PROMPTS)
    rows.append(("check_text per prompt (median)", statistics.median(times), len(times)))
    photo = data.astronaut()
    for scale, label in ((1, "512x512"), (2.5, "1280x1280")):
        size = int(512 * scale)
        import cv2

        frame = cv2.resize(photo, (size, size))
        frames = np.stack([frame] * args.frames)
        blur = FaceBlur(HaarFaceDetector())
        t0 = time.perf_counter()
        blur.process(frames)
        rows.append(
            (f"Haar face blur per frame {label}", (time.perf_counter() - t0) / args.frames, args.frames)
        )
    print(f"{'benchmark':45s} {'seconds':>10s} {'n':>5s}")
    for name, seconds, n in rows:
        print(f"{name:45s} {seconds:10.4f} {n:5d}")
    result = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "results": [{"name": n, "seconds": s, "count": c} for n, s, c in rows],
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
