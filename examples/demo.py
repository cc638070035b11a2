"""The README's first command (``nox -s demo``): the main job on shipped defaults, offline.

Current stage (foundation): a real clip (``box.mp4`` from Debian's opencv-doc, or ``--input``) goes through
the shared video path of ``cosmos.core``: decode, convert to the model tensor convention
``float [1, 3, T, H, W]`` in ``[-1, 1]``, resize, re-encode as H.264, decode again, and measure PSNR/SSIM
of the round trip. Writes ``outputs/demo/`` with the side-by-side mp4, a PNG contact sheet and
``metrics.json``. The world-model stages join as the nano models land (issue: the main job end to end).

    python examples/demo.py [--input VIDEO] [--frames 33] [--size 256] [--out outputs/demo]
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
    psnr,
    read_video,
    resize_video,
    save_contact_sheet,
    ssim,
    video_to_frames,
    write_video,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch_media import fetch_media  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", type=Path, help="video file (default: box.mp4 from opencv-doc)")
    parser.add_argument("--frames", type=int, default=33, help="frames to process")
    parser.add_argument("--size", type=int, default=256, help="square side after resize + center crop")
    parser.add_argument("--out", type=Path, default=Path("outputs/demo"))
    args = parser.parse_args(argv)

    start = time.perf_counter()
    source = args.input or fetch_media()["box.mp4"]
    frames, fps = read_video(source, max_frames=args.frames)
    print(f"read {source}: {frames.shape[0]} frames {frames.shape[2]}x{frames.shape[1]} at {fps:.2f} fps")

    video = frames_to_video(frames)  # [1, 3, T, H, W] in [-1, 1]
    height, width = video.shape[-2:]
    scale = args.size / min(height, width)
    video = resize_video(video, (round(height * scale), round(width * scale)))
    video = center_crop_video(video, (args.size, args.size)).clamp(-1, 1)

    args.out.mkdir(parents=True, exist_ok=True)
    clip = write_video(args.out / "input.mp4", video_to_frames(video)[0], fps)
    decoded, _ = read_video(clip)
    roundtrip = frames_to_video(decoded)
    metrics = {
        "input": str(source),
        "frames": int(video.shape[2]),
        "size": [int(video.shape[-2]), int(video.shape[-1])],
        "fps": fps,
        "h264_psnr_db": round(psnr(roundtrip, video).item(), 3),
        "h264_ssim": round(ssim(roundtrip, video).item(), 4),
    }
    side_by_side = torch.cat([video, roundtrip], dim=-1)  # [1, 3, T, H, 2W]
    write_video(args.out / "side_by_side.mp4", video_to_frames(side_by_side)[0], fps)
    save_contact_sheet(args.out / "contact_sheet.png", [video, roundtrip], labels=["input", "H.264 round trip"])
    metrics["seconds"] = round(time.perf_counter() - start, 2)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    print(f"wrote {args.out}/side_by_side.mp4, contact_sheet.png, metrics.json")
    assert np.isfinite(metrics["h264_psnr_db"])
    return metrics


if __name__ == "__main__":
    main()
