"""Train a tiny autoregressive world model on one clip's tokens, add Medusa heads, and roll it forward.

    python examples/ar_train_tiny.py clip.mp4 --tokenizer nvidia/Cosmos-1.0-Tokenizer-DV8x16x16 --out /tmp/ar-tiny
    python examples/ar_train_tiny.py --out /tmp/ar-tiny          # synthetic clip + tiny random DV tokenizer

Steps: tokenize 9-frame clips of the video once (``tokenize_videos`` -> a token shard), train a small
``Transformer`` by next-token prediction with z-loss, train 3 Medusa heads by self-distillation (base frozen),
save an ``ARWFM`` folder, then predict the clip's continuation from its first frame with and without Medusa
(identical tokens for the same seed) and write ``prediction.mp4`` + ``prediction.png``.

Without ``--tokenizer`` a tiny randomly initialised DV tokenizer is used: the pipeline runs end to end, but its
decoded frames are not meant to look like anything.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from cosmos.ar import ARWFM, Transformer, TransformerConfig
from cosmos.ar.train import TokenShards, TrainConfig, tokenize_videos, train
from cosmos.core import save_contact_sheet, video_to_frames, write_video


def synthetic_clip(path: Path, frames: int = 40, size: int = 64) -> Path:
    """A bright square sliding over a gradient: uint8 mp4."""
    y, x = np.mgrid[0:size, 0:size]
    video = []
    for t in range(frames):
        frame = np.stack([x * 3, y * 3, np.full_like(x, 60)], axis=-1).astype(np.uint8)
        left = (4 + 2 * t) % (size - 16)
        frame[24:40, left : left + 16] = 255
        video.append(frame)
    return write_video(path, np.stack(video), fps=8)


def load_tokenizer(name: str | None):
    from cosmos.tokenizer import CausalVideoTokenizer, TokenizerConfig

    if name is not None:
        return CausalVideoTokenizer.from_pretrained(name)
    config = TokenizerConfig(kind="DV", channels=4, channels_mult=(2, 4, 4), num_res_blocks=1, z_channels=8,
                             latent_channels=6, levels=(8, 8, 8, 5, 5, 5), patch_size=4, spatial_compression=16,
                             temporal_compression=8)  # fmt: skip
    return CausalVideoTokenizer.from_config(config, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("video", nargs="?", help="input clip (default: a synthetic one)")
    parser.add_argument("--tokenizer", help="discrete video tokenizer (name or folder)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/ar-tiny"))
    parser.add_argument("--size", type=int, nargs=2, default=(64, 64), metavar=("H", "W"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--medusa-steps", type=int, default=100)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    video = Path(args.video) if args.video else synthetic_clip(args.out / "input.mp4")

    tokenizer = load_tokenizer(args.tokenizer)
    clip_frames = 1 + 2 * tokenizer.temporal_compression  # 3 latent frames per clip
    latent = tokenizer.latent_shape(clip_frames, *args.size)
    shard = tokenize_videos(tokenizer, [video], args.out / "tokens.safetensors", clip_frames=clip_frames,
                            frame_size=tuple(args.size))  # fmt: skip
    dataset = TokenShards([shard])
    print(f"{len(dataset)} clips of {dataset.tokens.shape[1]} tokens (latent grid {latent})")

    config = TransformerConfig(dim=128, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden_size=256,
                               vocab_size=64000, video_latent_shape=latent, pad_to_multiple_of=8)  # fmt: skip
    torch.manual_seed(0)
    lm = Transformer(config)
    lm = train(lm, dataset, TrainConfig(steps=args.steps, batch_size=4, learning_rate=3e-3, warmup_steps=10,
                                        cooldown_steps=20, num_condition_latents=1, checkpoint_every=args.steps),
               args.out / "run")  # fmt: skip
    lm = train(lm, dataset, TrainConfig(mode="medusa", steps=args.medusa_steps, batch_size=4, learning_rate=3e-3,
                                        warmup_steps=5, cooldown_steps=10, num_medusa_heads=3,
                                        checkpoint_every=args.medusa_steps), args.out / "run-medusa")  # fmt: skip

    wfm = ARWFM(tokenizer, lm)
    if hasattr(tokenizer, "save_pretrained"):
        wfm.save_pretrained(args.out / "wfm")
    plain = wfm.generate(video, num_input_frames=1, medusa=False, seed=0)
    fast = wfm.generate(video, num_input_frames=1, medusa=True, seed=0)
    assert torch.equal(plain.tokens.indices, fast.tokens.indices), "Medusa must reproduce plain decoding"
    print(f"plain: {plain.stats.tokens_per_second:.0f} tokens/s; Medusa: {fast.stats.tokens_per_second:.0f} tokens/s, "
          f"{fast.stats.mean_accepted_length:.2f} tokens per forward pass")  # fmt: skip
    write_video(args.out / "prediction.mp4", video_to_frames(fast.video)[0], fps=8)
    context = wfm.prepare_video(wfm.load_video(video), 1, fast.video.shape[2])
    save_contact_sheet(
        args.out / "prediction.png", [context[0], fast.video[0]], labels=["input", "predicted"]
    )
    print(f"wrote {args.out / 'prediction.mp4'} and {args.out / 'prediction.png'}")


if __name__ == "__main__":
    main()
