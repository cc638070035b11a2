"""``cosmos-eval``: the paper's metrics on video files and its protocols on a world model, from the command line.

    cosmos-eval metrics --real real.mp4 --fake generated.mp4 [--lpips WEIGHTS_DIR] [--json out.json]
    cosmos-eval protocol physics --model nano-v2w-action [--context-frames 1] [--episodes 4] [--json out.json]
    cosmos-eval protocol action --model nano-ar [--episodes 32] [--option num_steps=20]

``metrics`` prints PSNR and SSIM of the fake video against the real one (same length and resolution; frames
rounded to 8 bits) and the Sampson error and camera-pose recovery rate of each (default pinhole intrinsics).
``protocol`` loads the world model by name (``cosmos.diffusion.DiffusionWFM.from_pretrained``, then
``cosmos.ar.ARWFM.from_pretrained``; whichever is installed and accepts the name) and runs
:func:`cosmos.eval.physics_alignment` or :func:`cosmos.eval.action_following` on simulated held-out episodes
(``[sim]`` extra). Exit status: 0 done, 2 bad input (one ``error:`` line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

import torch

from cosmos.core import CosmosError, ShapeError, frames_to_video, psnr, read_video, ssim
from cosmos.eval.geometry import camera_pose_recovery, sampson_error
from cosmos.eval.lpips import LPIPS
from cosmos.eval.protocols import action_following, check_world_model, physics_alignment
from cosmos.eval.table import EvalTable

__all__ = ["load_world_model", "main", "video_metrics"]

# where ``--model NAME`` is looked up, in order: (module, class)
LOADERS = (("cosmos.diffusion", "DiffusionWFM"), ("cosmos.ar", "ARWFM"))
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosmos-eval", description="The Cosmos paper's evaluation metrics.")
    sub = parser.add_subparsers(dest="command", required=True)
    metrics = sub.add_parser("metrics", help="PSNR/SSIM of --fake against --real, Sampson error of each")
    metrics.add_argument("--real", type=Path, required=True, help="the reference video file")
    metrics.add_argument(
        "--fake", type=Path, required=True, help="the generated video file (same size and length)"
    )
    metrics.add_argument("--max-frames", type=int, default=None, help="read at most this many frames of each")
    metrics.add_argument(
        "--lpips",
        type=Path,
        default=None,
        metavar="DIR",
        help="also LPIPS (AlexNet), weights folder (docs/eval.md)",
    )
    metrics.add_argument("--json", type=Path, default=None, help="also write the table as JSON here")
    protocol = sub.add_parser("protocol", help="run a protocol on a world model loaded by name")
    protocol.add_argument("name", choices=("physics", "action"), help="physics alignment or action following")
    protocol.add_argument("--model", required=True, help="model name, Hub id or local folder")
    protocol.add_argument("--context-frames", type=int, default=1, help="true frames given to the model")
    protocol.add_argument(
        "--episodes", type=int, default=4, help="clips per scene (physics) or episodes (action)"
    )
    protocol.add_argument("--batch-size", type=int, default=8)
    protocol.add_argument("--seed", type=int, default=0)
    protocol.add_argument("--device", default="cpu")
    protocol.add_argument("--dtype", choices=tuple(DTYPES), default="float32")
    protocol.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="rollout keyword (VALUE read as JSON)",
    )
    protocol.add_argument("--json", type=Path, default=None, help="also write the table as JSON here")
    return parser


def video_metrics(
    real: Path, fake: Path, *, max_frames: int | None = None, lpips_weights: Path | None = None
) -> EvalTable:
    """PSNR (dB) and SSIM of ``fake`` against ``real`` (per-frame means; LPIPS too with ``lpips_weights``, a
    folder in the layout of :mod:`cosmos.eval.lpips`), and each video's Sampson error (px) and pose-recovery
    success rate.

    Raises:
        FileNotFoundError: a file is missing. ShapeError: unreadable, or the videos differ in length or size.
    """
    (real_frames, _), (fake_frames, _) = (read_video(p, max_frames=max_frames) for p in (real, fake))
    if real_frames.shape != fake_frames.shape:
        raise ShapeError(
            f"the videos differ: real is {_describe(real_frames)}, fake is {_describe(fake_frames)} "
            "(PSNR/SSIM need the same length and resolution; try --max-frames)"
        )
    real_video, fake_video = frames_to_video(real_frames), frames_to_video(fake_frames)
    lpips = (
        None
        if lpips_weights is None
        else float(LPIPS.from_pretrained(lpips_weights)(fake_video, real_video).mean())
    )
    rows = []
    for label, path, frames, video in (
        ("real", real, real_frames, real_video),
        ("fake", fake, fake_frames, fake_video),
    ):
        sampson, poses = sampson_error(frames), camera_pose_recovery(frames)
        pair = label == "fake"
        rows.append({
            "video": label, "path": str(path), "frames": len(frames),
            "psnr": float(psnr(video, real_video)) if pair else None,
            "ssim": float(ssim(video, real_video)) if pair else None,
            **({} if lpips is None else {"lpips": lpips if pair else None}),
            "sampson_px": sampson.value, "sampson_pairs": f"{sampson.num_pairs}/{sampson.num_pairs_total}",
            "pose_success_rate": poses.success_rate,
        })  # fmt: skip
    metadata = {
        "psnr": "dB, per-frame mean, data range 2 on [-1, 1]",
        "sampson": "median px, consecutive frames",
    }
    return EvalTable(f"{fake.name} against {real.name}", rows, metadata=metadata)


def _describe(frames) -> str:
    count, height, width, _ = frames.shape
    return f"{count} frames of {height}x{width}"


def load_world_model(name: str, *, device: str = "cpu", dtype: torch.dtype = torch.float32) -> Any:
    """Load ``name`` with the first of :data:`LOADERS` that is installed and accepts it, and check that it
    satisfies :class:`cosmos.core.WorldModel`.

    Raises:
        ValueError: no loader accepted the name (each one's reason is listed). TypeError: the loaded model does
            not satisfy the contract.
    """
    reasons = []
    for module_name, class_name in LOADERS:
        try:
            module = import_module(module_name)
        except ImportError:
            reasons.append(f"{module_name} is not installed")
            continue
        try:
            model = getattr(module, class_name).from_pretrained(name, device=device, dtype=dtype)
        except (CosmosError, OSError, ValueError, KeyError) as error:
            reasons.append(f"{class_name}: {error}")
            continue
        try:
            check_world_model(model)
        except TypeError as error:
            raise TypeError(f"{name!r} loaded as {class_name}, but {error}") from None
        return model
    raise ValueError(f"cannot load world model {name!r}: " + "; ".join(reasons))


def _options(pairs: Sequence[str]) -> dict[str, Any]:
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option takes KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _run(args: argparse.Namespace) -> EvalTable:
    if args.command == "metrics":
        return video_metrics(args.real, args.fake, max_frames=args.max_frames, lpips_weights=args.lpips)
    options = _options(args.option)
    model = load_world_model(args.model, device=args.device, dtype=DTYPES[args.dtype])
    protocol = physics_alignment if args.name == "physics" else action_following
    common = {
        "batch_size": args.batch_size,
        "seed": args.seed,
        "name": args.model,
        "rollout_options": options,
    }
    if args.name == "physics":
        return protocol(model, args.context_frames, args.episodes, **common)
    return protocol(model, args.episodes, context_frames=args.context_frames, **common)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        table = _run(args)
        if args.json is not None:
            table.save_json(args.json)
    except (CosmosError, ValueError, TypeError, ImportError, OSError) as error:
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(table)
    if args.json is not None:
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
