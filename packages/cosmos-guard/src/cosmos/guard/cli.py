"""``cosmos-guard``: check a prompt or a video from the command line and print the structured report.

    cosmos-guard text "a robot arm stacks red cubes" [--negative-prompt "..."]
    cosmos-guard video IN.mp4 --out OUT.mp4          # face-pixelated copy written when allowed
    cosmos-guard convert safety-head safety_filter.pt OUT_DIR      # NVIDIA .pt -> config.json + safetensors
    cosmos-guard convert retinaface Resnet50_Final.pth OUT_DIR

Common options: ``--preset offline|cosmos-1.0|cosmos-predict1``, ``--checkpoint-dir DIR``,
``--allow-unavailable`` (explicit opt-out of fail-closed), ``--json`` (JSON only), ``--report FILE``.
Exit status: 0 allowed (or converted), 1 blocked, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from .runner import GUARDRAIL_PRESETS, Guardrail
from .verdict import GuardReport

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosmos-guard", description="Cosmos guardrail: pre-guard and post-guard checks."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--preset", default="offline", choices=GUARDRAIL_PRESETS, help="stage set (default: offline)"
    )
    common.add_argument(
        "--checkpoint-dir", default=None, help="NVIDIA guardrail checkpoint folder (NVIDIA presets)"
    )
    common.add_argument(
        "--blocklist-dir", action="append", default=[], help="extra keyword lists (NVIDIA layout)"
    )
    common.add_argument(
        "--allow-unavailable", action="store_true", help="let stages that cannot run pass (logged)"
    )
    common.add_argument("--device", default="cpu", help="torch device for model stages")
    common.add_argument("--json", action="store_true", help="print only the JSON report")
    common.add_argument("--report", default=None, help="also write the JSON report to this file")
    sub = parser.add_subparsers(dest="command", required=True)
    text = sub.add_parser("text", parents=[common], help="check a prompt")
    text.add_argument("prompt")
    text.add_argument("--negative-prompt", default=None)
    video = sub.add_parser("video", parents=[common], help="check a video and write the face-pixelated copy")
    video.add_argument("input", type=Path)
    video.add_argument("--out", type=Path, default=None, help="where to write the processed video (mp4)")
    video.add_argument("--crf", type=int, default=18, help="x264 quality of the output (default 18)")
    video.add_argument(
        "--detect-every", type=int, default=1, help="run the face detector on every k-th frame"
    )
    convert = sub.add_parser("convert", help="convert NVIDIA guard weights to safetensors (strict key check)")
    convert.add_argument("kind", choices=("safety-head", "retinaface"))
    convert.add_argument("input", type=Path, help="safety_filter.pt or Resnet50_Final.pth")
    convert.add_argument("output", type=Path, help="folder to write config.json + model.safetensors into")
    return parser


def _convert(args: argparse.Namespace) -> int:
    from cosmos.core import CheckpointError

    try:
        if args.kind == "safety-head":
            from .video_safety import SafetyHead

            model = SafetyHead.from_reference_file(args.input)
        else:
            from .retinaface import RetinaFace

            model = RetinaFace.from_reference_file(args.input)
    except CheckpointError as error:
        print(f"cosmos-guard convert: {error}", file=sys.stderr)
        return 2
    folder = model.save_pretrained(args.output)
    print(f"wrote {folder}")
    return 0


def _print(report: GuardReport, args: argparse.Namespace) -> None:
    if not args.json:
        print(report.summary())
    print(report.to_json())
    if args.report:
        Path(args.report).write_text(report.to_json() + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cosmos-guard``; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "convert":
        return _convert(args)
    guardrail = Guardrail.from_preset(
        args.preset,
        checkpoint_dir=args.checkpoint_dir,
        allow_unavailable=args.allow_unavailable,
        device=args.device,
        blocklist_dirs=args.blocklist_dir,
        progress=not args.json,
        detect_every=getattr(args, "detect_every", 1),
    )
    if args.command == "text":
        report = guardrail.check_text(args.prompt, args.negative_prompt)
        _print(report, args)
        return 0 if report.allowed else 1
    from cosmos.core import read_video, write_video

    try:
        frames, fps = read_video(args.input)
    except (FileNotFoundError, ValueError) as error:
        print(f"cosmos-guard: cannot read {args.input}: {error}", file=sys.stderr)
        return 2
    report = guardrail.check_video(frames)
    if report.allowed and args.out is not None:
        write_video(args.out, report.frames, fps if fps > 0 else 24.0, crf=args.crf)
        if not args.json:
            print(f"wrote {args.out}")
    _print(report, args)
    return 0 if report.allowed else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
