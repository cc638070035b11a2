"""``cosmos-tokenizer`` command line: reconstruct, encode, decode, convert, presets.

Examples::

    cosmos-tokenizer reconstruct box.mp4 --model nvidia/Cosmos-1.0-Tokenizer-CV8x8x8 --out box_recon.mp4
    cosmos-tokenizer reconstruct box.mp4 --model Cosmos-1.0-Tokenizer-CV8x8x8 --random-init --channels 8 \\
        --size 240x320 --max-frames 33 --out /tmp/box_recon.mp4
    cosmos-tokenizer encode clip.mp4 --model ./my-dv-tokenizer --out tokens.safetensors
    cosmos-tokenizer decode tokens.safetensors --out clip_decoded.mp4
    cosmos-tokenizer convert ./Cosmos-Tokenize1-CV8x8x8-720p ./cv8x8x8-ours
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from cosmos.core import (
    Latent,
    TokenGrid,
    frames_to_video,
    psnr,
    read_video,
    resize_video,
    save_contact_sheet,
    ssim,
    video_to_frames,
    write_video,
)

from .config import PRESETS
from .tokenizer import CausalVideoTokenizer, ImageTokenizer, _CosmosTokenizer, load_tokenizer

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError as error:
        raise SystemExit(f"--size must look like HEIGHTxWIDTH (e.g. 240x320), got {text!r}") from error
    return height, width


def _config_arg(text: str | None):
    """``--config``: a preset name, a JSON file, or inline JSON (reference constructor arguments or ours)."""
    if text is None:
        return None
    if text in PRESETS:
        return text
    if text.lstrip().startswith("{"):
        return json.loads(text)
    path = Path(text)
    if path.is_file():
        document = json.loads(path.read_text())
        return document["config"] if "model_type" in document else document
    return json.loads(text)


def load_model(args: argparse.Namespace) -> _CosmosTokenizer:
    """The tokenizer named by ``--model`` (``--random-init`` builds a preset with random weights)."""
    device = torch.device(args.device)
    dtype = _DTYPES[args.dtype]
    config = _config_arg(getattr(args, "config", None))
    if getattr(args, "random_init", False):
        config = _CosmosTokenizer.coerce_config(config if config is not None else args.model)
        if getattr(args, "channels", None):
            config = dataclasses.replace(config, channels=args.channels)
        if not (config.name or "").endswith("(random init)"):
            config = dataclasses.replace(config, name=f"{config.name or config.kind} (random init)")
        cls = ImageTokenizer if config.kind in ("CI", "DI") else CausalVideoTokenizer
        return cls.from_config(config, seed=args.seed).to(device=device, dtype=dtype)
    return load_tokenizer(args.model, config=config, device=device, dtype=dtype)


def _read_clip(args: argparse.Namespace) -> tuple[torch.Tensor, float]:
    frames, fps = read_video(args.input, max_frames=args.max_frames)
    video = frames_to_video(frames)  # [1, 3, T, H, W] in [-1, 1]
    size = _parse_size(args.size)
    if size is not None:
        video = resize_video(video, size).clamp(-1, 1)
    return video, fps


def _round_trip(model: _CosmosTokenizer, video: torch.Tensor, chunk_size: int | None) -> torch.Tensor:
    """Encode + decode with padding and a progress bar over chunks; float32 ``[1, 3, T, H, W]`` clamped."""
    if isinstance(model, CausalVideoTokenizer):
        if chunk_size is None:
            chunk_size = 1 + 2 * model.temporal_compression
        encoded = model.encode(video, pad=True, chunk_size=chunk_size, progress=True)
        decoded = model.decode(encoded, chunk_size=chunk_size, progress=True)
    else:
        encoded = model.encode(video, pad=True, chunk_size=chunk_size or 8, progress=True)
        decoded = model.decode(encoded, chunk_size=chunk_size or 8, progress=True)
    return decoded.float().clamp(-1, 1)


def cmd_reconstruct(args: argparse.Namespace) -> int:
    """Encode + decode a clip; print PSNR/SSIM; write a side-by-side mp4 and a PNG contact sheet."""
    model = load_model(args)
    video, fps = _read_clip(args)
    print(
        f"input {args.input}: {video.shape[2]} frames {video.shape[3]}x{video.shape[4]} at {fps:.2f} fps; "
        f"model {model.name} ({model.config.kind}, tau={model.temporal_compression}, s={model.spatial_compression})"
    )
    start = time.perf_counter()
    recon = _round_trip(model, video, args.chunk_size)
    elapsed = time.perf_counter() - start
    quality_psnr = float(psnr(recon, video))
    quality_ssim = float(ssim(recon, video))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    side_by_side = torch.cat([video, recon], dim=-1)  # [1, 3, T, H, 2W]: input | reconstruction
    write_video(out, video_to_frames(side_by_side[0]), fps)
    sheet = Path(args.sheet) if args.sheet else out.with_suffix(".png")
    save_contact_sheet(sheet, [video, recon], labels=["input", f"{model.name} reconstruction"])
    result = {
        "psnr_db": round(quality_psnr, 3),
        "ssim": round(quality_ssim, 4),
        "seconds": round(elapsed, 2),
        "frames": video.shape[2],
        "video": str(out),
        "contact_sheet": str(sheet),
    }
    print(f"PSNR {quality_psnr:.2f} dB  SSIM {quality_ssim:.4f}  ({elapsed:.1f} s)")
    print(json.dumps(result))
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    """Encode a clip to a .safetensors file (latent, or indices + codes) with its metadata."""
    model = load_model(args)
    video, fps = _read_clip(args)
    encoded = model.encode(video, pad=True, chunk_size=args.chunk_size, progress=True)
    metadata = {
        "model": str(args.model),
        "kind": model.config.kind,
        "fps": str(fps),
        "temporal_compression": str(model.temporal_compression),
        "spatial_compression": str(model.spatial_compression),
        "original_size": json.dumps(list(video.shape[2:])),
        "config": json.dumps(dataclasses.asdict(model.config)),
    }
    if args.random_init:  # lets `decode` rebuild the same random weights
        metadata.update(random_init="1", seed=str(args.seed))
    if isinstance(encoded, TokenGrid):
        tensors = {"indices": encoded.indices.contiguous(), "codes": encoded.codes.float().contiguous()}
    else:
        tensors = {"latent": encoded.z.float().contiguous()}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata=metadata)
    shapes = {key: list(value.shape) for key, value in tensors.items()}
    print(json.dumps({"out": str(out), "shapes": shapes, "original_size": list(video.shape[2:])}))
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    """Decode a .safetensors file written by ``encode`` to an mp4 (cropped to the original size)."""
    from safetensors import safe_open

    with safe_open(args.input, framework="pt") as handle:
        metadata = handle.metadata() or {}
    tensors = load_file(args.input)
    if args.model is None:
        if "model" not in metadata:
            raise SystemExit(f"{args.input} names no model; pass --model")
        args.model = metadata["model"]
        if metadata.get("random_init") == "1":
            args.random_init, args.seed, args.config = True, int(metadata["seed"]), metadata["config"]
    model = load_model(args)
    original = tuple(json.loads(metadata["original_size"])) if "original_size" in metadata else None
    if "indices" in tensors:
        source: Latent | TokenGrid | torch.Tensor = tensors["indices"].long()
    else:
        source = tensors["latent"]
    video = (
        model.decode(source, chunk_size=args.chunk_size, progress=True, crop=original).float().clamp(-1, 1)
    )
    fps = float(metadata.get("fps", args.fps))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if video.ndim == 4:  # images -> one-frame video
        video = video.unsqueeze(2)
    write_video(out, video_to_frames(video[0]), fps)
    print(json.dumps({"out": str(out), "frames": video.shape[2], "size": list(video.shape[3:])}))
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    """Convert an NVIDIA / diffusers checkpoint folder to our layout."""
    args.model = args.src
    model = load_model(args)
    dtype = _DTYPES[args.save_dtype] if args.save_dtype else None
    folder = model.save_pretrained(args.dst, dtype=dtype)
    count = sum(p.numel() for p in model.parameters())
    print(
        json.dumps(
            {
                "out": str(folder),
                "model_type": type(model).__name__,
                "name": model.name,
                "parameters": count,
                "latent_statistics": model.latent_statistics is not None,
            }
        )
    )
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    """List the released configurations."""
    for name, config in PRESETS.items():
        print(
            f"{name:36s} {config.kind}  p={config.patch_size} s={config.spatial_compression} "
            f"tau={config.temporal_compression} z={config.z_channels}"
        )
    return 0


def _add_model_args(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--model",
        required=required,
        help="folder, Hub id or preset name (with --random-init) of the tokenizer",
    )
    parser.add_argument("--config", help="architecture: preset name, JSON file or inline JSON")
    parser.add_argument(
        "--random-init", action="store_true", help="random weights for the preset (smoke tests)"
    )
    parser.add_argument("--channels", type=int, help="with --random-init: base width (128 in releases)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=sorted(_DTYPES))
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="frames per causal window (1 + k*tau) for video tokenizers, frames per batch for image ones",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``cosmos-tokenizer`` argument parser (sub-commands reconstruct, encode, decode, convert, presets)."""
    parser = argparse.ArgumentParser(
        prog="cosmos-tokenizer", description="NVIDIA Cosmos tokenizers (CV/DV/CI/DI)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    reconstruct = commands.add_parser(
        "reconstruct", help="encode+decode a clip; PSNR/SSIM, side-by-side mp4, PNG"
    )
    reconstruct.add_argument("input")
    reconstruct.add_argument("--out", required=True, help="side-by-side mp4 (input | reconstruction)")
    reconstruct.add_argument("--sheet", help="PNG contact sheet (default: OUT with .png)")
    reconstruct.add_argument("--max-frames", type=int, default=None)
    reconstruct.add_argument("--size", help="resize frames to HEIGHTxWIDTH first")
    _add_model_args(reconstruct)
    reconstruct.set_defaults(func=cmd_reconstruct)

    encode = commands.add_parser("encode", help="video -> latent / tokens .safetensors")
    encode.add_argument("input")
    encode.add_argument("--out", required=True)
    encode.add_argument("--max-frames", type=int, default=None)
    encode.add_argument("--size", help="resize frames to HEIGHTxWIDTH first")
    _add_model_args(encode)
    encode.set_defaults(func=cmd_encode)

    decode = commands.add_parser("decode", help="latent / tokens .safetensors -> mp4")
    decode.add_argument("input")
    decode.add_argument("--out", required=True)
    decode.add_argument("--fps", type=float, default=24.0)
    _add_model_args(decode, required=False)
    decode.set_defaults(func=cmd_decode)

    convert = commands.add_parser("convert", help="NVIDIA / diffusers checkpoint -> our layout")
    convert.add_argument("src")
    convert.add_argument("dst")
    convert.add_argument("--config", help="architecture: preset name, JSON file or inline JSON")
    convert.add_argument("--save-dtype", choices=sorted(_DTYPES), help="cast weights when saving")
    convert.add_argument("--device", default="cpu")
    convert.add_argument("--dtype", default="float32", choices=sorted(_DTYPES))
    convert.set_defaults(func=cmd_convert)

    presets = commands.add_parser("presets", help="list the released configurations")
    presets.set_defaults(func=cmd_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cosmos-tokenizer`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
