"""Train a tiny causal video tokenizer on one clip, then reconstruct the clip with it.

    python examples/tokenizer_train_tiny.py box.mp4 --out /tmp/tiny-cv --steps 300
    cosmos-tokenizer reconstruct box.mp4 --model /tmp/tiny-cv --size 240x320 --max-frames 33 --out /tmp/box_tiny.mp4

The network has the released CV8x8x8 structure (Haar p=4, factorized causal convs, hybrid samplers, mid-block
attention) at a small width. Training: random 9x64x64 crops of the clip (and single frames as images,
alternating), L1 + optical-flow losses (spec §11), AdamW (lr 1e-3 here for a quick demo), accelerate loop.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from cosmos.core import frames_to_video, psnr, read_video, resize_video
from cosmos.tokenizer import CausalVideoTokenizer, TokenizerConfig
from cosmos.tokenizer.losses import FlowLoss, LossWeights, TokenizerLoss, WeightSchedule
from cosmos.tokenizer.training import TrainingConfig, train


def random_crops(video: torch.Tensor, frames: int, size: int, count: int, seed: int) -> list[torch.Tensor]:
    """``count`` crops ``[1, 3, frames, size, size]`` at random times and places of ``video [1, 3, T, H, W]``."""
    generator = torch.Generator().manual_seed(seed)
    _, _, total, height, width = video.shape
    crops = []
    for _ in range(count):
        t = int(torch.randint(0, total - frames + 1, (1,), generator=generator))
        y = int(torch.randint(0, height - size + 1, (1,), generator=generator))
        x = int(torch.randint(0, width - size + 1, (1,), generator=generator))
        crops.append(video[:, :, t : t + frames, y : y + size, x : x + size].contiguous())
    return crops


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("clip")
    parser.add_argument("--out", required=True, help="folder for the trained tokenizer (our layout)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--size", default="240x320", help="resize the clip to HEIGHTxWIDTH first")
    args = parser.parse_args()

    frames, _ = read_video(args.clip, max_frames=64)
    height, width = (int(v) for v in args.size.split("x"))
    video = resize_video(frames_to_video(frames), (height, width)).clamp(-1, 1)  # [1, 3, T, H, W]
    config = TokenizerConfig(
        kind="CV",
        channels=args.channels,
        channels_mult=(2, 4, 4),
        num_res_blocks=1,
        z_channels=16,
        latent_channels=16,
        patch_size=4,
        spatial_compression=8,
        temporal_compression=8,
        name=f"tiny-cv8x8x8-{Path(args.clip).stem}",
    )
    torch.manual_seed(0)
    model = CausalVideoTokenizer(config)
    videos = [crop for crop in random_crops(video, 9, 64, 256, seed=0)]
    images = [crop[:, :, 0] for crop in random_crops(video, 1, 64, 256, seed=1)]
    loss = TokenizerLoss(LossWeights(flow=WeightSchedule((0.0, 0.05), (args.steps // 2,))), flow=FlowLoss())
    schedule = TrainingConfig(
        steps=args.steps,
        learning_rate=1e-3,
        warmup_steps=20,
        log_every=25,
        checkpoint_every=args.steps,
        keep_checkpoints=1,
    )
    train(
        model,
        loss,
        video_batches=videos,
        image_batches=images,
        config=schedule,
        output_dir=Path(args.out) / "run",
    )
    model.save_pretrained(args.out)
    clip = video[:, :, :17]
    recon = model.decode(model.encode(clip)).clamp(-1, 1)
    print(
        f"saved {args.out}; PSNR on the first 17 frames at {height}x{width}: {float(psnr(recon, clip)):.2f} dB"
    )


if __name__ == "__main__":
    main()
