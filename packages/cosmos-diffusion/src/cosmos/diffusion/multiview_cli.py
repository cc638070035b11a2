"""``cosmos-diffusion multiview``: surround-camera Text2World / Video2World to a grid mp4.

Example::

    cosmos-diffusion multiview --model ckpts/Cosmos-1.1-Diffusion-7B-Text2World-Sample-Driving-Multiview \\
        --tokenizer ckpts/Cosmos-1.0-Tokenizer-CV8x8x8 \\
        --prompts front.txt left.txt right.txt back.txt back_left.txt back_right.txt --out grid.mp4
    cosmos-diffusion multiview --model my-traj-model --text-embeddings views.safetensors \\
        --trajectory traj.npy --input views.mp4 --out grid.mp4

``--prompts`` takes one text file per view, in the model's view order; ``--text-embeddings`` a safetensors file
with ``text_embeddings`` ``[B, V, S, C]`` or ``[B, V*S, C]``. ``--input`` is a clip holding the views one after
the other (view-major, as the reference's input mp4). Writes the grid mp4 (2x3 for six views, 1x3 for three;
``_<b>`` per sample when batched) and prints per-stage timings.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def add_multiview_parser(commands) -> argparse.ArgumentParser:
    """Register the ``multiview`` sub-command on ``commands`` (an argparse sub-parsers object)."""
    parser = commands.add_parser("multiview", help="multi-view driving Text2World / Video2World -> grid mp4")
    parser.add_argument(
        "--model", required=True, help="NVIDIA multi-view release folder or our MultiViewDiT folder"
    )
    parser.add_argument(
        "--tokenizer", help="tokenizer name or folder (default: tokenizer/ or NVIDIA's CV8x8x8 beside)"
    )
    parser.add_argument("--config", help="MultiViewDiT preset name or JSON file of the reference net kwargs")
    text = parser.add_mutually_exclusive_group(required=True)
    text.add_argument("--prompts", nargs="+", help="one text file per view, in view order")
    text.add_argument(
        "--text-embeddings", help="safetensors with 'text_embeddings' [B, V, S, C] or [B, V*S, C]"
    )
    parser.add_argument(
        "--t5", default="google-t5/t5-11b", help="T5 encoder for --prompts (needs the [t5] extra)"
    )
    parser.add_argument(
        "--trajectory", help="trajectory models: .npy / .json / .safetensors ('trajectory') [64, 3]"
    )
    parser.add_argument("--input", help="Video2World: clip with the V views one after the other (view-major)")
    parser.add_argument(
        "--num-input-frames", type=int, default=1, help="conditioning frames per view (1 or 9)"
    )
    parser.add_argument("--chunks", type=int, default=1, help="Video2World: extend the drive this many times")
    parser.add_argument(
        "--frame-repeat", type=float, default=10.0, help="raw frame_repeat of the last two views"
    )
    parser.add_argument("--num-frames", type=int, default=57, help="pixel frames per view")
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=848)
    parser.add_argument("--fps", type=float, default=24.0)
    parser.add_argument("--guidance", type=float, default=7.0)
    parser.add_argument("--num-steps", type=int, default=35)
    parser.add_argument("--sampler", default="res2ab", choices=["res2ab", "euler", "heun"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--dtype",
        default="bfloat16" if torch.cuda.is_available() else "float32",
        choices=["float32", "bfloat16", "float16"],
    )
    parser.add_argument("--out", required=True, help="output grid .mp4")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--no-guardrail", action="store_true", help="explicitly skip the guardrail (logged)")
    return parser


def _read_array(path: str, key: str) -> torch.Tensor:
    """``.npy``, ``.json`` (nested lists) or ``.safetensors`` (``key``) -> float tensor."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        import numpy as np

        return torch.from_numpy(np.load(path, allow_pickle=False)).float()
    if suffix == ".json":
        return torch.tensor(json.loads(Path(path).read_text()), dtype=torch.float32)
    from cosmos.core import load_state_dict_file

    tensors = load_state_dict_file(path)
    if key not in tensors:
        raise ValueError(f"{path} has no '{key}' tensor (found {sorted(tensors)})")
    return tensors[key].float()


def _load(args: argparse.Namespace):
    from .cli import _dtype
    from .multiview_wfm import MultiViewWFM

    config = args.config
    if config is not None and Path(config).is_file():
        config = json.loads(Path(config).read_text())
    tokenizer = None
    if args.tokenizer:
        from cosmos.tokenizer import CausalVideoTokenizer

        tokenizer = CausalVideoTokenizer.from_pretrained(args.tokenizer, device=args.device)
    text_encoder = None
    if args.prompts:
        from .text import T5TextEncoder

        text_encoder = T5TextEncoder.from_pretrained(args.t5, device=args.device)
    return MultiViewWFM.from_pretrained(
        args.model,
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        config=config,
        device=args.device,
        dtype=_dtype(args.dtype),
    )


def run_multiview(args: argparse.Namespace) -> int:
    """Run ``cosmos-diffusion multiview``; returns the exit status (errors propagate to :func:`cli.main`)."""
    from cosmos.core import load_state_dict_file

    from .cli import _read_input
    from .multiview_wfm import split_views, write_multiview_grid

    started = time.perf_counter()
    wfm = _load(args)
    load_seconds = time.perf_counter() - started
    if args.prompts:
        kwargs = {"prompts": [Path(p).read_text().strip() for p in args.prompts]}
    else:
        kwargs = {"text_embeddings": load_state_dict_file(args.text_embeddings)["text_embeddings"]}
    if args.trajectory:
        kwargs["trajectory"] = _read_array(args.trajectory, "trajectory")
    common = {
        "frame_repeat": None if args.frame_repeat < 0 else args.frame_repeat,
        "num_frames": args.num_frames,
        "height": args.height,
        "width": args.width,
        "fps": args.fps,
        "guidance": args.guidance,
        "num_steps": args.num_steps,
        "sampler": args.sampler,
        "progress": not args.no_progress,
        "guardrail": None if args.no_guardrail else "auto",
    }
    if args.chunks > 1 and not args.input:
        raise ValueError("--chunks extends a drive: pass --input (the views to continue)")
    if args.input:
        views = split_views(_read_input(args.input), wfm.num_views)
        if args.chunks > 1:
            trajectory = kwargs.pop("trajectory", None)
            video = wfm.drive(
                views,
                args.chunks,
                trajectories=trajectory,
                num_input_frames=args.num_input_frames,
                seed=args.seed,
                **kwargs,
                **common,
            )
        else:
            video = wfm.sample(
                **kwargs, video=views, num_input_frames=args.num_input_frames, seed=args.seed, **common
            )
    else:
        video = wfm.sample(**kwargs, seed=args.seed, **common)
    started = time.perf_counter()
    out = Path(args.out)
    written = [
        write_multiview_grid(
            out if len(video) == 1 else out.with_name(f"{out.stem}_{b}{out.suffix}"), clip, args.fps
        )
        for b, clip in enumerate(video)
    ]
    timings = {"load": load_seconds, **wfm.timings, "write": time.perf_counter() - started}
    print("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    for path in written:
        print(f"wrote {path}")
    return 0
