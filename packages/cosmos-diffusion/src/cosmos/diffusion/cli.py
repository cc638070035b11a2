"""``cosmos-diffusion`` command line: ``text2world``, ``video2world``, ``multiview``, ``rollout`` and ``convert``.

Examples::

    cosmos-diffusion text2world --model ckpts/Cosmos-1.0-Diffusion-7B-Text2World \\
        --tokenizer ckpts/Cosmos-1.0-Tokenizer-CV8x8x8 --prompt "A robot arm stacks cubes" --output out.mp4
    cosmos-diffusion video2world --model ckpts/Cosmos-1.0-Diffusion-7B-Video2World \\
        --tokenizer ckpts/Cosmos-1.0-Tokenizer-CV8x8x8 --input first_frame.png --prompt "..." --output out.mp4
    cosmos-diffusion convert ckpts/Cosmos-1.0-Diffusion-7B-Text2World my-dit --config Cosmos-1.0-Diffusion-7B-Text2World

Each generation writes ``<output>.mp4`` (one file per sample: ``_0``, ``_1``... when batched) and a PNG contact
sheet beside it, and prints per-stage timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from cosmos.core.rollout_cli import add_rollout_arguments, run_rollout

from .multiview_cli import add_multiview_parser, run_multiview


def _dtype(name: str) -> torch.dtype:
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _add_generation_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, help="DiffusionWFM folder (ours), NVIDIA release folder or diffusers folder"
    )
    parser.add_argument(
        "--tokenizer", help="tokenizer folder or Hub id (cosmos.tokenizer); default: inside --model"
    )
    parser.add_argument(
        "--config", help="DiT preset name (for NVIDIA model.pt folders not named after a preset)"
    )
    text = parser.add_mutually_exclusive_group()
    text.add_argument("--prompt", action="append", help="prompt (repeat for a batch)")
    text.add_argument(
        "--text-embeddings",
        help="safetensors file with 'text_embeddings' [B, S, C] (and optional 'negative_text_embeddings')",
    )
    parser.add_argument("--negative-prompt", default=None, help="default: the official negative prompt")
    parser.add_argument(
        "--t5", default="google-t5/t5-11b", help="T5 encoder (needs the [t5] extra) for --prompt"
    )
    parser.add_argument(
        "--upsample-prompt",
        metavar="MODEL_OR_URL",
        help="upsample --prompt first (docs/diffusion.md): a model folder / Hub id (transformers, the [llm] extra) or "
        "an OpenAI-compatible server 'http://host:8000/v1[#model]'; a failing upsampler falls back to the prompt",
    )
    parser.add_argument(
        "--upsample-template",
        choices=["text2world", "video2world"],
        help="official upsampler template (default: the command's; video2world shows the model the last input frame)",
    )
    parser.add_argument("--num-frames", type=int, default=121)
    parser.add_argument("--height", type=int, default=704)
    parser.add_argument("--width", type=int, default=1280)
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
    parser.add_argument("--output", required=True, help="output .mp4 path")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--no-guardrail",
        action="store_true",
        help="explicitly skip the guardrail (logged); by default cosmos-guard checks prompts and outputs when installed",
    )


def _load_wfm(args: argparse.Namespace):
    from .wfm import DiffusionWFM

    tokenizer = None
    if args.tokenizer:
        from cosmos.tokenizer import CausalVideoTokenizer

        tokenizer = CausalVideoTokenizer.from_pretrained(args.tokenizer, device=args.device)
    text_encoder = None
    if args.prompt:
        from .text import T5TextEncoder

        text_encoder = T5TextEncoder.from_pretrained(args.t5, device=args.device)
    return DiffusionWFM.from_pretrained(
        args.model,
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        config=args.config,
        device=args.device,
        dtype=_dtype(args.dtype),
    )


def _text_kwargs(args: argparse.Namespace) -> dict:
    from .wfm import DEFAULT_NEGATIVE_PROMPT

    if args.prompt:
        return {"prompt": args.prompt, "negative_prompt": args.negative_prompt or DEFAULT_NEGATIVE_PROMPT}
    from cosmos.core import load_state_dict_file

    tensors = load_state_dict_file(args.text_embeddings)
    if "text_embeddings" not in tensors:
        raise SystemExit(f"{args.text_embeddings} has no 'text_embeddings' tensor (found {sorted(tensors)})")
    return {
        "text_embeddings": tensors["text_embeddings"],
        "negative_text_embeddings": tensors.get("negative_text_embeddings"),
    }


def _read_input(path: str, max_frames: int | None = None) -> torch.Tensor:
    """An mp4 (any PyAV format) or an image -> float ``[1, 3, T, H, W]`` in [-1, 1]."""
    from cosmos.core import frames_to_video, read_video

    suffix = Path(path).suffix.lower()
    if suffix in (".png", ".jpg", ".jpeg", ".webp", ".bmp"):
        import numpy as np
        from PIL import Image

        frames = np.array(Image.open(path).convert("RGB"))[None]
    else:
        frames, _ = read_video(path)
    if max_frames is not None:
        frames = frames[-max_frames:]
    return frames_to_video(frames)


def _read_actions(path: str) -> torch.Tensor:
    """``.npy``, ``.json`` (nested lists) or ``.safetensors`` (key 'action') -> float ``[A, D]`` or ``[B, A, D]``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        import numpy as np

        return torch.from_numpy(np.load(path, allow_pickle=False)).float()
    if suffix == ".json":
        return torch.tensor(json.loads(Path(path).read_text()), dtype=torch.float32)
    from cosmos.core import load_state_dict_file

    return load_state_dict_file(path)["action"].float()


def _write_outputs(video: torch.Tensor, output: str, fps: float) -> list[Path]:
    from cosmos.core import save_contact_sheet, video_to_frames, write_video

    output_path = Path(output)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    frames = video_to_frames(video.float().cpu())  # [B, T, H, W, 3] uint8
    written = []
    for index, clip in enumerate(frames):
        path = (
            output_path
            if len(frames) == 1
            else output_path.with_name(f"{output_path.stem}_{index}{output_path.suffix}")
        )
        written.append(write_video(path, clip, fps))
    sheet = save_contact_sheet(
        output_path.with_suffix(".png"), list(frames), labels=[p.name for p in written]
    )
    return [*written, sheet]


def _generate(args: argparse.Namespace, video2world: bool) -> int:
    started = time.perf_counter()
    wfm = _load_wfm(args)
    load_seconds = time.perf_counter() - started
    if args.prompt or args.text_embeddings:
        kwargs = _text_kwargs(args)
    elif wfm.action_dim:  # action-conditioned models read no text: an all-zero embedding, no file needed
        kwargs = {"text_embeddings": torch.zeros(1, 1, wfm.net.config.crossattn_channels)}
    else:
        raise ValueError(
            "pass --prompt or --text-embeddings (only action-conditioned models run without text)"
        )
    if video2world:
        kwargs["video"] = _read_input(args.input).to(args.device)
        kwargs["num_input_frames"] = args.num_input_frames
        if args.actions:
            kwargs["action"] = _read_actions(args.actions)
        if args.camera:
            kwargs["camera"] = _camera_rays(args, wfm)
    upsampler = _prompt_upsampler(args, video2world)
    video = wfm.sample(
        **kwargs,
        num_frames=args.num_frames,
        height=args.height,
        width=args.width,
        fps=args.fps,
        guidance=args.guidance,
        num_steps=args.num_steps,
        sampler=args.sampler,
        seed=args.seed,
        progress=not args.no_progress,
        guardrail=None if args.no_guardrail else "auto",
        upsample_prompt=upsampler,
    )
    for result in upsampler.last_results if upsampler is not None else ():
        print(f"prompt ({result.status}): {result.prompt}")
    started = time.perf_counter()
    written = _write_outputs(video, args.output, args.fps)
    timings = {"load": load_seconds, **wfm.timings, "write": time.perf_counter() - started}
    print("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    for path in written:
        print(f"wrote {path}")
    return 0


def _prompt_upsampler(args: argparse.Namespace, video2world: bool):
    """``--upsample-prompt`` -> a :class:`cosmos.core.PromptUpsampler` (None without the flag)."""
    if not args.upsample_prompt:
        return None
    if not args.prompt:
        raise ValueError("--upsample-prompt needs --prompt (text embeddings cannot be upsampled)")
    from cosmos.core import PromptUpsampler

    template = args.upsample_template or ("video2world" if video2world else "text2world")
    return PromptUpsampler.from_spec(
        args.upsample_prompt, template=template, device=args.device, dtype=args.dtype
    )


def _camera_rays(args: argparse.Namespace, wfm) -> torch.Tensor:
    """``--camera`` -> rays ``[6, T', H', W']`` (shared by the batch): joystick moves or a DL3DV-style ``camera.json`` (spec §11.1)."""
    from .camera import camera_json_poses, camera_trajectory, reference_plucker_rays, trajectory_plucker_rays

    _, frames, _, _ = wfm.latent_shape(args.num_frames, args.height, args.width)
    image_size = (args.height, args.width, args.height, args.width)
    compression = wfm.tokenizer.spatial_compression
    if Path(args.camera).is_file():
        poses, intrinsics = camera_json_poses(args.camera, args.num_frames)
        rays = reference_plucker_rays(poses, intrinsics, image_size, spatial_compression=compression)
        rays = rays.permute(1, 0, 2, 3)[None]
    else:
        moves = [
            (part.split(":")[0], int(part.split(":")[1]) if ":" in part else None)
            for part in args.camera.split(",")
        ]
        if len(moves) == 1 and moves[0][1] is None:
            poses = camera_trajectory(moves[0][0], args.num_frames)
        else:
            poses = camera_trajectory([(move, count or 0) for move, count in moves])
        rays = trajectory_plucker_rays(poses, image_size=image_size, spatial_compression=compression)
    if rays.shape[2] < frames:
        raise ValueError(f"--camera gives {rays.shape[2]} poses, the model needs at least {frames}")
    return rays[0, :, :frames]


def _convert(args: argparse.Namespace) -> int:
    from .decoder import DECODER_PRESETS, DiffusionDecoderDiT
    from .dit import DiT
    from .multiview import MULTIVIEW_PRESETS, MultiViewDiT

    config = args.config
    if config is not None and Path(config).is_file():
        config = json.loads(Path(config).read_text())
    decoder = (
        config in DECODER_PRESETS
        if isinstance(config, str)
        else bool((config or {}).get("is_diffusion_decoder"))
    )
    model_class = DiffusionDecoderDiT if decoder else DiT
    if (isinstance(config, str) and config in MULTIVIEW_PRESETS) or (
        isinstance(config, dict) and ({"n_cameras", "n_views"} & set(config))
    ):
        model_class = MultiViewDiT
    net = model_class.from_pretrained(
        args.source, config=config, dtype=_dtype(args.dtype) if args.dtype else None
    )
    folder = net.save_pretrained(args.destination)
    print(
        f"converted {args.source} -> {folder} ({sum(p.numel() for p in net.parameters()) / 1e9:.3f} B parameters)"
    )
    return 0


def _rollout(args: argparse.Namespace) -> int:
    """``rollout``: the shared world-model roll-out command (:mod:`cosmos.core.rollout_cli`) on a DiffusionWFM."""
    from functools import partial

    def load(args: argparse.Namespace):
        from .wfm import DiffusionWFM

        tokenizer = None
        if args.tokenizer:
            from cosmos.tokenizer import CausalVideoTokenizer

            tokenizer = CausalVideoTokenizer.from_pretrained(args.tokenizer, device=args.device)
        wfm = DiffusionWFM.from_pretrained(args.model, tokenizer=tokenizer, device=args.device)
        options = {"sampler": args.sampler}
        if args.num_steps is not None:
            options["num_steps"] = args.num_steps
        wfm.rollout = partial(wfm.rollout, **options)
        return wfm

    return run_rollout(args, load)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cosmos-diffusion", description="Cosmos-1.0 diffusion world models")
    commands = parser.add_subparsers(dest="command", required=True)
    t2w = commands.add_parser("text2world", help="generate a video from text")
    _add_generation_args(t2w)
    v2w = commands.add_parser("video2world", help="continue an image or video")
    _add_generation_args(v2w)
    v2w.add_argument("--input", required=True, help="conditioning image or video")
    v2w.add_argument(
        "--num-input-frames", type=int, default=None, help="use the last N frames (1 or 9 for CV8x8x8)"
    )
    v2w.add_argument(
        "--actions", help="action-conditioned models: .npy / .json / .safetensors with [A, 7] actions"
    )
    v2w.add_argument(
        "--camera",
        help="camera-conditioned models: joystick moves 'forward:16,pan_left:8' (one move name alone spans all "
        "frames; moves: forward backward left right up down pan_left pan_right tilt_up tilt_down orbit_left "
        "orbit_right static) or a DL3DV-style camera.json",
    )
    rollout = commands.add_parser(
        "rollout",
        help="world-model roll-out: context + actions -> predicted video, past one clip (mp4 + PNG)",
    )
    rollout.add_argument("--model", required=True, help="DiffusionWFM name or folder (e.g. nano-v2w-action)")
    rollout.add_argument("--tokenizer", help="tokenizer name/folder (default: the one the model names)")
    rollout.add_argument(
        "--num-steps", type=int, default=None, help="sampler steps (default: the roll-out's 10)"
    )
    rollout.add_argument("--sampler", default="res2ab", choices=["res2ab", "euler", "heun"])
    rollout.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    add_rollout_arguments(rollout)
    add_multiview_parser(commands)
    convert = commands.add_parser("convert", help="NVIDIA model.pt / diffusers transformer -> our layout")
    convert.add_argument("source", help="folder with model.pt (official keys) or a diffusers transformer/")
    convert.add_argument("destination", help="output folder (config.json + model.safetensors)")
    convert.add_argument(
        "--config", help="preset name or JSON file of official net kwargs (official checkpoints)"
    )
    convert.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``cosmos-diffusion``; returns the exit status."""
    args = build_parser().parse_args(argv)
    from cosmos.core import CosmosError

    try:
        if args.command == "convert":
            return _convert(args)
        if args.command == "rollout":
            return _rollout(args)
        if args.command == "multiview":
            return run_multiview(args)
        return _generate(args, video2world=args.command == "video2world")
    except (CosmosError, ValueError) as error:
        print(f"cosmos-diffusion: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
