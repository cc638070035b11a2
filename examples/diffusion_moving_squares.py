"""Train a tiny action-conditioned Video2World DiT on moving squares, then roll it forward.

Runs on a laptop CPU in a few minutes:

    python examples/diffusion_moving_squares.py --output out/squares    # ~4 min on 1 CPU thread

No tokenizer is trained here: the example uses a fixed average-pooling tokenizer (any
``cosmos.core.VideoTokenizer`` works with ``DiffusionWFM``). The action is the square's velocity. Writes predicted vs true clips
(mp4) and a PNG contact sheet, and prints PSNR of the generated frames against the truth.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from cosmos.core import Latent, check_video, psnr, save_contact_sheet, video_to_frames, write_video
from cosmos.diffusion import DiffusionWFM, DiT, DiTConfig
from cosmos.diffusion.train import TrainConfig, moving_square_videos, train


class PoolingTokenizer(torch.nn.Module):
    """A fixed causal tokenizer: frame 0 alone then groups of 4 frames averaged, 4x4 average pooling, RGB as latent."""

    temporal_compression = 4
    spatial_compression = 4
    latent_channels = 3

    def valid_num_frames(self, num_frames: int) -> bool:
        return num_frames >= 1 and (num_frames - 1) % 4 == 0

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        return 1 + (num_frames - 1) // 4, height // 4, width // 4

    def encode(self, video: torch.Tensor) -> Latent:
        check_video(video)
        first, rest = video[:, :, :1], video[:, :, 1:]
        groups = rest.reshape(*rest.shape[:2], -1, 4, *rest.shape[3:]).mean(3)
        z = torch.nn.functional.avg_pool3d(torch.cat([first, groups], dim=2), (1, 4, 4))
        return Latent(z, 4, 4)

    def decode(self, x) -> torch.Tensor:
        z = x.z if isinstance(x, Latent) else x
        z = z.repeat_interleave(4, 3).repeat_interleave(4, 4)
        return torch.cat([z[:, :, :1], z[:, :, 1:].repeat_interleave(4, 2)], dim=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--output", default="out/diffusion_squares")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--p-mean", type=float, default=-1.2, help="ln sigma mean (EDM's default; Cosmos used 0)")
    parser.add_argument("--p-std", type=float, default=1.2)
    args = parser.parse_args()
    output = Path(args.output)
    torch.manual_seed(args.seed)

    tokenizer = PoolingTokenizer()
    config = DiTConfig(
        latent_channels=3, out_channels=3, model_channels=96, num_blocks=3, num_heads=4, crossattn_channels=8,
        adaln_lora_dim=16, condition_mask=True, action_dim=2, action_frames=1,
    )
    net = DiT(config)
    videos, velocity = moving_square_videos(256, num_frames=9, size=32, seed=args.seed)
    batches = [
        {"video": videos[i : i + 16], "action": velocity[i : i + 16, None]} for i in range(0, len(videos), 16)
    ]
    train_config = TrainConfig(
        steps=args.steps, lr=args.lr, warmup_steps=50, text_dropout=0.0, max_condition_frames=1, log_every=100,
        ema_decay=0.995, p_mean=args.p_mean, p_std=args.p_std,
    )
    history = train(net, batches, train_config, output_dir=output / "run", tokenizer=tokenizer)
    print("loss:", ", ".join(f"{r['step']}: {r['edm']:.4f}" for r in history))

    ema = DiT.from_pretrained(output / "run" / f"checkpoint-{args.steps}" / "ema")
    wfm = DiffusionWFM(tokenizer, ema)
    test_videos, test_velocity = moving_square_videos(4, num_frames=9, size=32, seed=args.seed + 1)
    predicted = wfm.sample(
        text_embeddings=torch.zeros(4, 1, 8), video=test_videos[:, :, :1], action=test_velocity[:, None],
        num_frames=9, height=32, width=32, guidance=0, num_steps=20, seed=0,
    )
    print(f"PSNR of generated frames vs truth: {psnr(predicted[:, :, 1:], test_videos[:, :, 1:]).item():.2f} dB")
    output.mkdir(parents=True, exist_ok=True)
    frames_true, frames_pred = video_to_frames(test_videos), video_to_frames(predicted)
    for index in range(4):
        write_video(output / f"true_{index}.mp4", frames_true[index], 8)
        write_video(output / f"predicted_{index}.mp4", frames_pred[index], 8)
    sheet = save_contact_sheet(
        output / "squares.png",
        [clip for pair in zip(frames_true, frames_pred) for clip in pair],
        labels=[f"{kind} {i}" for i in range(4) for kind in ("true", "predicted")],
        max_frames=9,
    )
    print(f"wrote {sheet}")


if __name__ == "__main__":
    main()
