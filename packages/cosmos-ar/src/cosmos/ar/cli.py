"""``cosmos-ar`` command line: ``generate`` (mp4 in -> mp4 + PNG contact sheet out), ``convert``, ``train``.

Examples::

    cosmos-ar generate --model ./ar-nano --input clip.mp4 --output future.mp4 --num-input-frames 9
    cosmos-ar generate --model ./Cosmos-1.0-Autoregressive-4B --tokenizer nvidia/Cosmos-1.0-Tokenizer-DV8x16x16 \\
        --input clip.mp4 --output future.mp4
    cosmos-ar convert ./Cosmos-1.0-Autoregressive-4B ./ar-4b --config Cosmos-1.0-Autoregressive-4B
    cosmos-ar train --model ./ar-nano --shards tokens/*.safetensors --output runs/ar --steps 1000
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from cosmos.core.rollout_cli import add_rollout_arguments

__all__ = ["main"]

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _config_argument(value: str | None):
    """A preset name, a JSON file, or None."""
    if value is None:
        return None
    path = Path(value)
    if path.suffix == ".json" and path.is_file():
        return json.loads(path.read_text())
    return value


def _generate(args: argparse.Namespace) -> int:
    from safetensors.torch import load_file

    from cosmos.core import save_contact_sheet, video_to_frames, write_video

    from .world_model import ARWFM

    wfm = ARWFM.from_pretrained(
        args.model, tokenizer=args.tokenizer, lm_config=_config_argument(args.config), device=args.device,
        dtype=DTYPES[args.dtype],
    )  # fmt: skip
    text_embeddings = None
    if args.text_embeddings is not None:
        stored = load_file(args.text_embeddings)
        text_embeddings = stored.get("text_embeddings", next(iter(stored.values())))
    if args.decoder is not None:
        wfm.decoder = _diffusion_decoder(args.decoder, args.decoder_tokenizer, args.device)
    source = wfm.load_video(args.input)
    action = None
    if args.actions is not None:
        from cosmos.core.rollout_cli import load_actions

        action = load_actions(args.actions)[None]
    result = wfm.generate(
        source, text_embeddings=text_embeddings, action=action, num_input_frames=args.num_input_frames, num_frames=args.num_frames,
        temperature=args.temperature, top_p=args.top_p, medusa=args.medusa, seed=args.seed, progress=not args.quiet,
        guardrail=None if args.no_guardrail else "auto",
    )  # fmt: skip
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    frames = video_to_frames(result.video)  # [B, T, H, W, 3]
    write_video(output, frames[0], fps=args.fps)
    context = wfm.prepare_video(source, args.num_input_frames, result.video.shape[2])
    sheet = save_contact_sheet(
        output.with_suffix(".png"), [context[0], result.video[0]], labels=["input (padded)", "generated"]
    )
    stats = result.stats
    print(f"wrote {output} and {sheet}")
    print(
        f"{stats.num_new_tokens} tokens, {stats.tokens_per_second:.1f} tokens/s, "
        f"mean accepted length {stats.mean_accepted_length:.2f} tokens per forward pass"
    )
    return 0


def _rollout(args: argparse.Namespace) -> int:
    """``rollout``: the shared world-model roll-out command (:mod:`cosmos.core.rollout_cli`) on an ARWFM."""
    from functools import partial

    from cosmos.core.rollout_cli import run_rollout

    from .world_model import ARWFM

    def load(args: argparse.Namespace):
        wfm = ARWFM.from_pretrained(args.model, tokenizer=args.tokenizer, device=args.device)
        wfm.rollout = partial(wfm.rollout, temperature=args.temperature, top_p=args.top_p)
        return wfm

    return run_rollout(args, load)


def _diffusion_decoder(folder: str, tokenizer: str | None, device: str):
    """``--decoder``: the paper's diffusion decoder (cosmos-diffusion) over a continuous tokenizer."""
    try:
        from cosmos.diffusion.decoder import DiffusionDecoderDiT, DiffusionTokenDecoder
    except ImportError as error:
        raise ValueError("--decoder needs cosmos-diffusion installed") from error
    from cosmos.tokenizer import CausalVideoTokenizer

    if tokenizer is None:
        raise ValueError("--decoder needs --decoder-tokenizer (the continuous tokenizer, e.g. a CV8x8x8 folder)")
    net = DiffusionDecoderDiT.from_pretrained(folder, device=device)
    return DiffusionTokenDecoder(net, CausalVideoTokenizer.from_pretrained(tokenizer, device=device))


def _convert(args: argparse.Namespace) -> int:
    from .model import Transformer

    model = Transformer.from_pretrained(args.source, config=_config_argument(args.config))
    folder = model.save_pretrained(args.destination, dtype=DTYPES[args.dtype] if args.dtype else None)
    print(f"wrote {folder} ({sum(p.numel() for p in model.parameters()):,} parameters)")
    return 0


def _train(args: argparse.Namespace) -> int:
    from .model import Transformer
    from .train import TokenShards, TrainConfig, train

    model = Transformer.from_pretrained(args.model, config=_config_argument(args.config))
    config = TrainConfig(
        mode=args.mode, steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate,
        warmup_steps=min(args.warmup_steps, args.steps // 2), cooldown_steps=min(args.cooldown_steps, args.steps // 2),
        num_medusa_heads=args.num_medusa_heads, checkpoint_every=args.checkpoint_every, seed=args.seed,
    )  # fmt: skip
    train(model, TokenShards(args.shards), config, args.output)
    print(f"checkpoints in {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cosmos-ar", description="Cosmos autoregressive video world models."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="predict the continuation of a video (mp4 -> mp4 + PNG)")
    generate.add_argument("--model", required=True, help="ARWFM folder, Transformer folder or NVIDIA AR repo")
    generate.add_argument("--tokenizer", help="tokenizer name/folder (needed for NVIDIA AR folders)")
    generate.add_argument("--config", help="architecture of an NVIDIA model.pt: preset name or JSON file")
    generate.add_argument("--input", required=True, help="input video (or image) file")
    generate.add_argument(
        "--output", required=True, help="output mp4 (a PNG contact sheet is written beside it)"
    )
    generate.add_argument(
        "--text-embeddings", help="safetensors file with text_embeddings [B, L, 1024] (Video2World)"
    )
    generate.add_argument("--decoder", help="diffusion decoder folder (DiffusionDecoderDiT): tokens -> sharp video")
    generate.add_argument("--decoder-tokenizer", help="continuous tokenizer of --decoder (e.g. CV8x8x8 folder)")
    generate.add_argument(
        "--actions", type=Path, help="action-conditioned models: [num_frames - 1, action_dim] actions (.npy / .json)"
    )
    generate.add_argument(
        "--num-input-frames", type=int, default=9, help="context frames: 1 or 9 (default 9)"
    )
    generate.add_argument(
        "--num-frames", type=int, default=None, help="output frames (default: the full clip)"
    )
    generate.add_argument("--temperature", type=float, default=1.0)
    generate.add_argument("--top-p", type=float, default=0.8)
    generate.add_argument("--seed", type=int, default=0)
    medusa = generate.add_mutually_exclusive_group()
    medusa.add_argument("--medusa", dest="medusa", action="store_true", default=None, help="use Medusa heads")
    medusa.add_argument("--no-medusa", dest="medusa", action="store_false", help="plain decoding")
    generate.add_argument("--fps", type=float, default=24.0)
    generate.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    generate.add_argument(
        "--dtype", choices=sorted(DTYPES), default="bfloat16" if torch.cuda.is_available() else "float32"
    )
    generate.add_argument("--quiet", action="store_true", help="no progress bar")
    generate.add_argument(
        "--no-guardrail",
        action="store_true",
        help="explicitly skip the guardrail (logged); by default cosmos-guard checks prompts and outputs when installed",
    )
    generate.set_defaults(run=_generate)

    rollout = commands.add_parser(
        "rollout", help="world-model roll-out: context + actions -> predicted video, past one clip (mp4 + PNG)"
    )
    rollout.add_argument("--model", required=True, help="ARWFM name or folder (e.g. nano-ar)")
    rollout.add_argument("--tokenizer", help="tokenizer name/folder (default: the one the model names)")
    rollout.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (the roll-out default)")
    rollout.add_argument("--top-p", type=float, default=0.8)
    rollout.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    add_rollout_arguments(rollout)
    rollout.set_defaults(run=_rollout)

    convert = commands.add_parser(
        "convert", help="NVIDIA model.pt folder -> our layout (config.json + safetensors)"
    )
    convert.add_argument("source")
    convert.add_argument("destination")
    convert.add_argument("--config", help="preset name (e.g. Cosmos-1.0-Autoregressive-4B) or JSON file")
    convert.add_argument(
        "--dtype", choices=sorted(DTYPES), default=None, help="cast weights (default: as stored)"
    )
    convert.set_defaults(run=_convert)

    train = commands.add_parser("train", help="next-token or Medusa-head training on token shards")
    train.add_argument("--model", required=True)
    train.add_argument("--config", help="architecture of an NVIDIA model.pt")
    train.add_argument("--shards", nargs="+", required=True, help="safetensors token shards (tokens [N, S])")
    train.add_argument("--output", required=True)
    train.add_argument("--mode", choices=("lm", "medusa"), default="lm")
    train.add_argument("--steps", type=int, default=1000)
    train.add_argument("--batch-size", type=int, default=8)
    train.add_argument("--learning-rate", type=float, default=3e-4)
    train.add_argument("--warmup-steps", type=int, default=100)
    train.add_argument("--cooldown-steps", type=int, default=100)
    train.add_argument("--num-medusa-heads", type=int, default=3)
    train.add_argument("--checkpoint-every", type=int, default=500)
    train.add_argument("--seed", type=int, default=0)
    train.set_defaults(run=_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cosmos-ar`` console script."""
    args = build_parser().parse_args(argv)
    from cosmos.core import CosmosError

    try:
        return args.run(args)
    except (CosmosError, ValueError) as error:
        print(f"cosmos-ar: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
