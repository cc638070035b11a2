"""Train the nano model family on simulated robot episodes (one command per model).

    python examples/nano_data.py robot --split train --num 1500 --out data/nano     # data first
    python examples/nano_data.py robot --split heldout --num 50 --out data/nano
    python examples/train_nano.py tokenizer-cv --minutes 40      # -> cosmos/tokenizer/pretrained/nano-cv4x8x8
    python examples/train_nano.py tokenizer-dv --minutes 40      # -> cosmos/tokenizer/pretrained/nano-dv4x8x8
    python examples/train_nano.py diffusion --minutes 30         # -> cosmos/diffusion/pretrained/nano-v2w-action
    python examples/train_nano.py ar --minutes 30                # -> cosmos/ar/pretrained/nano-ar
    python examples/train_nano.py ar-actions --minutes 20        # give an older nano-ar the action embedding

The world models refer to their tokenizers by short name (``nano-cv4x8x8``, ``nano-dv4x8x8``); nothing is copied.

Every run is bounded by wall time (``--minutes``; CPU machines are shared) or by ``--steps``, whichever
comes first; it writes a model card (README.md) and ``training.json`` (data, seeds, steps, wall time,
final loss) beside the weights, and saves the weights in float16 (our layout, ``save_pretrained``).
Training frames: 64x64, episodes of 25 frames (24 actions) from :mod:`nano_data` (train seeds 0..N-1;
the held-out seeds 1,000,000+ are never read here).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nano_data  # noqa: E402
import nano_media  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = {
    "tokenizer-cv": ROOT / "packages/cosmos-tokenizer/src/cosmos/tokenizer/pretrained/nano-cv4x8x8",
    "tokenizer-dv": ROOT / "packages/cosmos-tokenizer/src/cosmos/tokenizer/pretrained/nano-dv4x8x8",
    "diffusion": ROOT / "packages/cosmos-diffusion/src/cosmos/diffusion/pretrained/nano-v2w-action",
    "ar": ROOT / "packages/cosmos-ar/src/cosmos/ar/pretrained/nano-ar",
}


class EpisodeStore:
    """Training episodes from ``data_dir`` (re-scanned every ``refresh`` draws while data generation runs)."""

    def __init__(self, data_dir: str, refresh: int = 200) -> None:
        self.data_dir, self.refresh, self.draws, self.files = data_dir, refresh, 0, []
        self.video = self.actions = self.seeds = None
        self._load()

    def _load(self) -> None:
        files = sorted(Path(self.data_dir).glob("robot_train_*.npz"))
        if files != self.files:
            data = nano_data.load_robot(self.data_dir, "train")
            self.video, self.actions, self.seeds, self.files = (
                data["video"],
                data["actions"],
                data["seeds"],
                files,
            )
            print(f"[data] {len(self.seeds)} train episodes", flush=True)

    def sample(self, rng: np.random.Generator, batch: int) -> np.ndarray:
        self.draws += 1
        if self.draws % self.refresh == 0:
            self._load()
        return rng.integers(0, len(self.seeds), batch)


def to_video(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``[B, T, H, W, 3]`` -> float32 ``[B, 3, T, H, W]`` in [-1, 1]."""
    return torch.from_numpy(frames).permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)


def lr_at(fraction: float, peak: float, warmup: float = 0.03) -> float:
    """Linear warm-up then cosine decay to 10% of ``peak`` over the run's wall-time fraction."""
    if fraction < warmup:
        return peak * fraction / warmup
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (fraction - warmup) / (1 - warmup)))))


def write_card(folder: Path, title: str, body: str, record: dict) -> None:
    (folder / "training.json").write_text(json.dumps(record, indent=1, sort_keys=True))
    lines = [f"# {title}", "", body, "", "## Training record", ""]
    lines += [f"- **{k}**: {v}" for k, v in record.items()]
    (folder / "README.md").write_text("\n".join(lines) + "\n")


class Clock:
    """Wall-time budget: ``fraction`` of ``minutes`` used; ``done`` past the budget or ``steps``."""

    def __init__(self, minutes: float, steps: int) -> None:
        self.start, self.budget, self.steps = time.time(), minutes * 60, steps

    def fraction(self, step: int) -> float:
        return max((time.time() - self.start) / self.budget, step / self.steps)

    def done(self, step: int) -> bool:
        return self.fraction(step) >= 1.0

    def elapsed(self) -> float:
        return time.time() - self.start


# ----------------------------------------------------------------------------- tokenizers
def tokenizer_config(kind: str):
    from cosmos.tokenizer import PRESETS

    base = PRESETS["Cosmos-0.1-Tokenizer-CV4x8x8"]  # Haar p=4, one 2x spatial level, 4x temporal
    if kind == "CV":
        return dataclasses.replace(base, channels=args_channels[0], num_res_blocks=1, name="nano-cv4x8x8")
    return dataclasses.replace(
        base,
        kind="DV",
        channels=args_channels[0],
        num_res_blocks=1,
        latent_channels=5,
        levels=(8, 8, 5, 5, 5),
        name="nano-dv4x8x8",
    )


args_channels = [32]


def train_tokenizer(args, kind: str) -> None:
    from cosmos.core import psnr
    from cosmos.tokenizer import CausalVideoTokenizer

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    args_channels[0] = args.channels
    config = tokenizer_config(kind)
    run_dir = Path(args.run_dir) / config.name
    if args.resume and (run_dir / "model.safetensors").is_file():
        model = CausalVideoTokenizer.from_pretrained(run_dir, dtype=torch.float32).train()
        resumed = (
            json.loads((run_dir / "progress.json").read_text())
            if (run_dir / "progress.json").is_file()
            else {}
        )
        print(f"resumed from {run_dir} ({resumed})", flush=True)
    else:
        model, resumed = CausalVideoTokenizer(config).train(), {}
    params = sum(p.numel() for p in model.parameters())
    print(f"{config.name}: {params / 1e6:.2f} M parameters", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99))
    store = EpisodeStore(args.data)
    real = nano_media.RealMedia(args.media) if args.real_fraction > 0 else None
    if real is not None:
        print(f"[data] real media: {real.describe()}", flush=True)
    clock, step, ema = Clock(args.minutes, args.steps), 0, None
    run_dir.mkdir(parents=True, exist_ok=True)
    last_save = time.time()
    out = Path(args.out or PRETRAINED[args.command])
    frozen_at = None
    prior_steps, prior_time = int(resumed.get("steps", 0)), float(resumed.get("wall_time_s", 0.0))
    while not clock.done(step):
        if frozen_at is None and args.freeze_encoder_at and clock.elapsed() > args.freeze_encoder_at * 60:
            # export now (the world models train on this encoder's latents), then train only the decoder
            frozen_at = prior_steps + step
            model.eval()
            export_tokenizer(model, out, store, kind)
            model.train()
            for module in (model.encoder, model.quant_conv):
                for p in module.parameters():
                    p.requires_grad_(False)
            opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr,
                                    weight_decay=0.0, betas=(0.9, 0.99))  # fmt: skip
            print(f"encoder frozen and exported to {out} at step {frozen_at}", flush=True)
        lr = lr_at(clock.fraction(step), args.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        if real is not None and rng.uniform() < args.real_fraction:  # a batch of real photos / clips
            frames = np.stack([real.sample(rng, args.frames) for _ in range(args.batch)])
        else:
            idx = store.sample(rng, args.batch)
            t0 = rng.integers(0, 25 - args.frames + 1, args.batch)
            frames = np.stack([store.video[i, t : t + args.frames] for i, t in zip(idx, t0)])
        if rng.uniform() < 0.5:  # horizontal flips: more variety for the same simulator
            frames = frames[:, :, :, ::-1]
        video = to_video(np.ascontiguousarray(frames))
        recon = model(video)
        err = recon - video
        loss = err.abs().mean() + err.pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = float(loss) if ema is None else 0.98 * ema + 0.02 * float(loss)
        if step % 25 == 0:
            p = float(psnr(recon.detach().clamp(-1, 1), video))
            print(f"step {step} loss {ema:.4f} psnr {p:.2f} lr {lr:.2e} t {clock.elapsed():.0f}s", flush=True)
        if time.time() - last_save > 300:
            model.save_pretrained(run_dir)
            progress = {"steps": prior_steps + step, "wall_time_s": round(prior_time + clock.elapsed(), 1)}
            (run_dir / "progress.json").write_text(json.dumps(progress))
            last_save = time.time()
    model.eval()
    model.save_pretrained(run_dir)
    if frozen_at is None:
        export_tokenizer(model, out, store, kind)
    else:  # the encoder (and so the latent statistics) did not change since the export: only the decoder
        model.save_pretrained(out, dtype=torch.float16)
    record = {
        "model": config.name,
        "parameters": params,
        "data": f"{len(store.seeds)} simulated Franka pick-and-place episodes (cosmos.curate.sim, "
        f"seeds {int(store.seeds.min())}..{int(store.seeds.max())}), 25 frames 64x64 (rendered 128x128, 2x area-downsampled)",
        "seed": args.seed,
        "steps": prior_steps + step,
        "encoder_frozen_at_step": frozen_at,
        "batch": f"{args.batch} clips x {args.frames} frames x 64x64, random time offsets, random horizontal flips",
        "real_media": f"{args.real_fraction:.0%} of batches: {real.describe()}" if real is not None else "none",
        "loss": "L1 + MSE on pixels (no perceptual/adversarial terms)",
        "optimizer": f"AdamW lr {args.lr} (warm-up, cosine to 10%), grad clip 1.0",
        "final_loss_ema": round(ema, 5),
        "wall_time_s": round(prior_time + clock.elapsed(), 1),
        "command": "python examples/train_nano.py " + " ".join(sys.argv[1:]),
    }
    if kind == "CV":
        record["latent_statistics"] = "per channel and latent frame over 64 train episodes"
    write_card(
        out,
        config.name,
        f"Nano causal {'continuous' if kind == 'CV' else 'discrete (FSQ levels 8,8,5,5,5: 8000 tokens)'} video "
        "tokenizer, 4x temporal and 8x8 spatial compression, with the Cosmos tokenizer architecture "
        "(Haar wavelet patching p=4, factorized causal convolutions, causal temporal attention) at a small width. "
        "Trained by this repository on simulated robot video, with a share of real photos and clips (see the "
        "training record); expect lower quality on real footage than on the simulator's.\n\n"
        f"```python\nfrom cosmos.tokenizer import CausalVideoTokenizer\n"
        f'tok = CausalVideoTokenizer.from_pretrained("{config.name}", dtype=torch.float32)\n```',
        record,
    )
    print(f"saved {out} after {step} steps, {clock.elapsed():.0f} s", flush=True)


def export_tokenizer(model, out: Path, store: EpisodeStore, kind: str) -> None:
    """Save float16 weights to ``out``; for the CV tokenizer also the latent statistics (64 train episodes)."""
    model.save_pretrained(out, dtype=torch.float16)
    if kind != "CV":
        return
    from safetensors.torch import save_file

    from cosmos.tokenizer import CausalVideoTokenizer

    exported = CausalVideoTokenizer.from_pretrained(out, dtype=torch.float32)  # the float16-rounded encoder
    with torch.no_grad():
        ids = np.arange(min(64, len(store.seeds)))
        z = torch.cat(
            [exported.encode(to_video(store.video[ids[i : i + 8]])).z for i in range(0, len(ids), 8)]
        )
    mean = z.mean(dim=(0, 3, 4))  # [C, T']
    std = z.std(dim=(0, 3, 4)).clamp_min(1e-3)
    save_file(
        {"mean": mean.contiguous(), "std": std.contiguous()}, str(out / "latent_statistics.safetensors")
    )


# ----------------------------------------------------------------------------- world models
def load_cv_tokenizer(args):
    from cosmos.tokenizer import CausalVideoTokenizer

    return CausalVideoTokenizer.from_pretrained(
        args.tokenizer or PRETRAINED["tokenizer-cv"], dtype=torch.float32
    )


def load_dv_tokenizer(args):
    from cosmos.tokenizer import CausalVideoTokenizer

    return CausalVideoTokenizer.from_pretrained(
        args.tokenizer or PRETRAINED["tokenizer-dv"], dtype=torch.float32
    )


@torch.no_grad()
def encode_all(tokenizer, video: np.ndarray, batch: int = 16, what: str = "z") -> torch.Tensor:
    """Encode uint8 episodes ``[N, 25, 64, 64, 3]`` -> latents ``[N, 16, 7, 8, 8]`` (``z``) or indices ``[N, 7, 8, 8]``."""
    out = []
    for i in range(0, len(video), batch):
        encoded = tokenizer.encode(to_video(video[i : i + batch]))
        out.append(encoded.z if what == "z" else encoded.indices)
    return torch.cat(out)


def diffusion_config():
    from cosmos.diffusion.dit import DiTConfig

    return DiTConfig(
        latent_channels=16,
        out_channels=16,
        model_channels=args_width[0],
        num_blocks=args_blocks[0],
        num_heads=max(1, args_width[0] // 64),
        crossattn_channels=8,
        adaln_lora_dim=32,
        patch_size=(1, 2, 2),
        max_size=(8, 8, 8),
        rope_scale=(1.0, 1.0, 1.0),
        base_fps=nano_data_fps(),
        condition_mask=True,
        action_dim=7,
        action_frames=nano_data.NUM_STEPS,
    )


def nano_data_fps() -> float:
    return 5.0


def load_physics(args) -> dict | None:
    """The physics-scene training clips (``data/nano/physics_train_*.npz``), or None when absent / disabled."""
    if args.physics_fraction <= 0:
        return None
    try:
        return nano_data.load_physics(args.data, "train")
    except FileNotFoundError:
        print("[data] no physics clips: training on robot episodes only", flush=True)
        return None


def mixed_batch(rng, robot, physics, actions, batch: int, fraction: float):
    """``(data, actions, is_physics)``: with probability ``fraction`` (when ``physics`` is given) a batch of physics
    clips with all-zero actions (no robot), else a batch of robot episodes with their actions."""
    if physics is not None and rng.uniform() < fraction:
        idx = torch.from_numpy(rng.integers(0, len(physics), batch))
        return physics[idx], torch.zeros_like(actions[:batch]), True
    idx = torch.from_numpy(rng.integers(0, len(robot), batch))
    return robot[idx], actions[idx], False


def physics_record(physics: dict | None, args) -> str:
    if physics is None:
        return "none"
    return (
        f"{len(physics['seeds'])} clips of the eight physics-alignment scenes (cosmos.curate.sim, scene i % 8, seeds "
        f"{int(physics['seeds'].min())}..{int(physics['seeds'].max())}), 25 frames 64x64 at 16 fps; "
        f"{args.physics_fraction:.0%} of batches"
    )


args_width, args_blocks = [128], [4]


def train_diffusion(args) -> None:
    from cosmos.diffusion import DiffusionWFM, DiT
    from cosmos.diffusion.train import EMA, TrainConfig, training_loss

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    tokenizer = load_cv_tokenizer(args)
    stats = tokenizer.latent_statistics
    data = nano_data.load_robot(args.data, "train")
    t_enc = time.time()
    z = stats.normalize(encode_all(tokenizer, data["video"]), 0.5)  # [N, 16, 7, 8, 8]
    actions = torch.from_numpy(data["actions"]).float()  # [N, 24, 7]
    print(
        f"encoded {len(z)} episodes in {time.time() - t_enc:.0f} s; latent std {float(z.std()):.3f}",
        flush=True,
    )
    physics = load_physics(args)
    z_physics = stats.normalize(encode_all(tokenizer, physics["video"]), 0.5) if physics else None
    args_width[0], args_blocks[0] = args.width, args.blocks
    net = DiT(diffusion_config()).train()
    params = sum(p.numel() for p in net.parameters())
    print(f"nano-v2w-action DiT: {params / 1e6:.2f} M parameters", flush=True)
    config = TrainConfig(text_dropout=0.0, max_condition_frames=2, ema_decay=None, seed=args.seed)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ema = EMA(net, args.ema)
    clock, step, avg = Clock(args.minutes, args.steps), 0, None
    while not clock.done(step):
        lr = lr_at(clock.fraction(step), args.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        latent, action, is_physics = mixed_batch(rng, z, z_physics, actions, args.batch, args.physics_fraction)
        batch = {"latent": latent, "action": action, "fps": nano_data.PHYSICS_FPS if is_physics else nano_data_fps()}
        generator = torch.Generator().manual_seed(args.seed * 1_000_003 + step)
        loss, info = training_loss(net, batch, config, generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        ema.update(net)
        step += 1
        avg = info["edm"] if avg is None else 0.98 * avg + 0.02 * info["edm"]
        if step % 25 == 0:
            print(f"step {step} edm {avg:.4f} lr {lr:.2e} t {clock.elapsed():.0f}s", flush=True)
    ema.copy_to(net)
    net.eval()
    out = Path(args.out or PRETRAINED["diffusion"])
    wfm = DiffusionWFM(tokenizer, net, latent_statistics=stats)
    save_wfm(wfm, out)
    record = {
        "model": "nano-v2w-action",
        "parameters": params,
        "tokenizer": "nano-cv4x8x8 (copy in tokenizer/, float16)",
        "data": f"{len(z)} simulated Franka pick-and-place episodes (train seeds {int(data['seeds'].min())}.."
        f"{int(data['seeds'].max())}), 25 frames 64x64 at 5 fps -> latents [16, 7, 8, 8], 24 actions each",
        "physics_data": physics_record(physics, args),
        "conditioning": "K ~ U{0,1,2} latent frames (1 or 5 pixel frames) + the 24x7 action sequence "
        "(all zeros for physics clips); no text",
        "objective": "EDM (sigma_data 0.5, ln sigma ~ N(0, 1)), uncertainty-weighted, cosmos.diffusion.train.training_loss",
        "seed": args.seed,
        "steps": step,
        "batch": args.batch,
        "optimizer": f"AdamW lr {args.lr} (warm-up, cosine to 10%), wd 0.01, grad clip 1.0, EMA {args.ema}",
        "final_edm_loss_avg": round(avg, 5),
        "wall_time_s": round(clock.elapsed(), 1),
        "command": "python examples/train_nano.py " + " ".join(sys.argv[1:]),
    }
    write_card(
        out,
        "nano-v2w-action",
        "Nano action-conditioned Video2World diffusion model: a small Cosmos DiT (AdaLN-LoRA, 3D RoPE, "
        f"{args.blocks} blocks, width {args.width}, patch 1x2x2) on the nano-cv4x8x8 latents. Given the first "
        "frame (or first 5 frames) of a 25-frame 64x64 clip at 5 fps and the 24 robot actions "
        "(dx, dy, dz, droll, dpitch, dyaw, gripper; metres, radians, 1 = open), it predicts the rest of the clip. "
        "Trained by this repository on simulated robot episodes (and physics-scene clips when given; see the "
        "training record).\n\n"
        "```python\nfrom cosmos.diffusion import DiffusionWFM\n"
        'wfm = DiffusionWFM.from_pretrained("nano-v2w-action", dtype=torch.float32)\n'
        "video = wfm.sample(text_embeddings=torch.zeros(1, 1, 8), video=first_frame, num_input_frames=1,\n"
        "                   num_frames=25, height=64, width=64, fps=5, guidance=0, num_steps=20, action=actions)\n```",
        record,
    )
    print(f"saved {out} after {step} steps, {clock.elapsed():.0f} s", flush=True)


def save_wfm(wfm, out: Path) -> None:
    """Our DiffusionWFM layout with float16 weights (``dit/``, ``latent_stats.json``, ``wfm.json`` with the world-model
    settings), referring to its tokenizer by name (``nano-cv4x8x8``, or the ``--tokenizer`` folder), never a copy."""
    wfm.fps, wfm.resolution, wfm.chunk_frames, wfm.context_frames = nano_data_fps(), (64, 64), 25, (1, 5)
    wfm.save_pretrained(out, dtype=torch.float16, tokenizer_name=wfm_tokenizer_name[0])


wfm_tokenizer_name: list[str] = ["nano-cv4x8x8"]


def ar_config(vocab_size: int, dim: int, layers: int):
    from cosmos.ar import TransformerConfig

    return TransformerConfig(
        dim=dim,
        n_layers=layers,
        n_heads=max(1, dim // 32),
        n_kv_heads=max(1, dim // 64),
        ffn_hidden_size=dim * 3,
        vocab_size=vocab_size,
        training_type="text_to_video",
        video_latent_shape=(7, 8, 8),
        insert_cross_attn=True,
        context_dim=7,
        rope_theta=10000.0,
        action_dim=7,
        action_hidden=64,
        action_steps=nano_data.NUM_STEPS,
    )


def ar_lm_steps(model, tokens, p_tokens, actions, args, minutes: float, rng) -> tuple[int, float, float, torch.Tensor]:
    """The AR objective (next-token CE + z-loss + Medusa-2 heads) for ``minutes``; the actions reach the model
    through its action embedding (the cross-attention context). Returns ``(steps, seconds, ce, head_ce)``."""
    from cosmos.ar.train import medusa_joint_loss

    generator = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1, betas=(0.9, 0.95))
    clock, step, avg, head_avg = Clock(minutes, args.steps), 0, None, None
    model.train()
    while not clock.done(step):
        lr = lr_at(clock.fraction(step), args.lr)
        for group in opt.param_groups:
            group["lr"] = lr
        batch_tokens, batch_actions, _ = mixed_batch(rng, tokens, p_tokens, actions, args.batch, args.physics_fraction)
        loss, ce, head_ce = medusa_joint_loss(
            model, batch_tokens, context=model.embed_actions(batch_actions), num_condition_latents=1,
            head_weight=args.medusa_joint_weight, head_positions=args.medusa_positions, generator=generator,
        )  # fmt: skip
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        avg = float(ce.detach()) if avg is None else 0.98 * avg + 0.02 * float(ce.detach())
        head_avg = head_ce.detach() if head_avg is None else 0.98 * head_avg + 0.02 * head_ce.detach()
        if step % 25 == 0:
            print(f"step {step} ce {avg:.4f} heads {[round(x, 2) for x in head_avg.tolist()]} lr {lr:.2e} "
                  f"t {clock.elapsed():.0f}s", flush=True)  # fmt: skip
    model.eval()
    return step, clock.elapsed(), avg, head_avg


def load_ar_data(args, tokenizer) -> dict:
    """Tokenized training episodes: ``tokens`` ``[N, 449]`` (``<bov>`` first), ``actions`` ``[N, 24, 7]``, the
    physics clips' tokens (or None) and the raw arrays for the model card."""
    data = nano_data.load_robot(args.data, "train")
    t_enc = time.time()
    vocab = int(np.prod(tokenizer.config.levels))

    def with_bov(video: np.ndarray) -> torch.Tensor:
        indices = encode_all(tokenizer, video, what="indices").reshape(len(video), -1)  # [N, 448]
        return torch.cat([torch.full((len(indices), 1), vocab, dtype=torch.int64), indices], dim=1)

    physics = load_physics(args)
    out = {
        "tokens": with_bov(data["video"]),
        "actions": torch.from_numpy(data["actions"]).float(),
        "p_tokens": None if physics is None else with_bov(physics["video"]),
        "data": data,
        "physics": physics,
        "vocab": vocab,
    }
    print(f"tokenized {len(out['tokens'])} episodes in {time.time() - t_enc:.0f} s", flush=True)
    return out


AR_CARD = (
    "Nano action-conditioned Video2World autoregressive model: a Llama-style Cosmos AR transformer ({blocks} layers, "
    "width {width}, 3D RoPE, QK-norm, cross-attention) over the nano-dv4x8x8 tokens, with {heads} Medusa heads. "
    "Actions are first-class: each transition's action goes through the action embedding (cosmos.ar.action: "
    "Linear(7 -> 64) - ReLU - Linear(64 -> 7) plus a learned step embedding, the Cosmos AR action post-training "
    "design) and the 24 embedded actions are the cross-attention context. A cosmos.core.WorldModel. Trained by "
    "this repository on simulated robot episodes (see the training record).\n\n"
    '```python\nfrom cosmos.ar import ARWFM\nwfm = ARWFM.from_pretrained("nano-ar", dtype=torch.float32)\n'
    "out = wfm.rollout(first_frame, actions, guardrail=None)  # [1, 3, 1, 64, 64] + [1, N, 7], N may exceed 24\n"
    "gen = wfm.generate(first_frame, action=actions[:, :24], num_input_frames=1, temperature=0)\n```"
)


def save_ar(model, out: Path, record: dict, args) -> None:
    """``lm/`` (float16) and ``config.json`` naming the tokenizer ``nano-dv4x8x8`` (no copy), and the card."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out / "lm", dtype=torch.float16)
    document = {
        "model_type": "ARWFM", "tokenizer": "nano-dv4x8x8", "temporal_compression": 4, "spatial_compression": 8,
        "fps": nano_data_fps(), "context_frames": [1, 5],
    }  # fmt: skip
    (out / "config.json").write_text(json.dumps(document, indent=2) + "\n")
    config = model.config
    body = AR_CARD.format(blocks=config.n_layers, width=config.dim, heads=config.num_medusa_heads)
    write_card(out, "nano-ar", body, record)


def ar_record(args, ar_data: dict, params: int) -> dict:
    data = ar_data["data"]
    return {
        "model": "nano-ar",
        "parameters": params,
        "tokenizer": "nano-dv4x8x8 (by name, not copied); vocabulary 8000 + <bov>",
        "data": f"{len(ar_data['tokens'])} simulated Franka pick-and-place episodes (train seeds "
        f"{int(data['seeds'].min())}..{int(data['seeds'].max())}), 25 frames 64x64 -> 1 + 7x8x8 = 449 tokens each",
        "physics_data": physics_record(ar_data["physics"], args),
        "conditioning": "first latent frame (1 pixel frame) or two (5 frames) as the prompt; the 24 actions through "
        "the action embedding as the cross-attention context (all zeros for physics clips)",
        "seed": args.seed,
        "batch": args.batch,
        "optimizer": f"AdamW lr {args.lr} (warm-up, cosine to 10%), wd 0.1, grad clip 1.0; z-loss 1e-4",
        "lm_objective": f"next-token CE + z-loss 1e-4 + {args.medusa_joint_weight} x sum_k 0.8^k CE(head k -> token "
        f"t+k+1) on {args.medusa_positions} random positions a sequence (Medusa-2 joint training)",
    }


def train_ar(args) -> None:
    """``ar``: the nano AR model from scratch (action embedding, Medusa-2 joint training, then head distillation)."""
    from cosmos.ar import Transformer
    from cosmos.ar.medusa import add_medusa_heads

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    ar_data = load_ar_data(args, load_dv_tokenizer(args))
    model = Transformer(ar_config(ar_data["vocab"], args.width, args.blocks)).train()
    params = sum(p.numel() for p in model.parameters())
    print(f"nano-ar: {params / 1e6:.2f} M parameters", flush=True)
    # Medusa-2: the heads train with the backbone from the start (the hidden states learn to carry lookahead)
    add_medusa_heads(model, args.medusa_heads, num_layers=args.medusa_layers)
    tokens, actions = ar_data["tokens"], ar_data["actions"]
    steps, seconds, ce, head_ce = ar_lm_steps(
        model, tokens, ar_data["p_tokens"], actions, args, args.minutes * (1 - args.medusa_fraction), rng
    )
    medusa = train_medusa_heads(model, tokens, actions, args, args.minutes * args.medusa_fraction, rng)
    record = {
        **ar_record(args, ar_data, params), "lm_steps": steps, "lm_wall_time_s": round(seconds, 1),
        "lm_final_cross_entropy_avg": round(ce, 4),
        "lm_final_head_cross_entropy_avg": [round(x, 3) for x in head_ce.tolist()], **medusa,
        "command": "python examples/train_nano.py " + " ".join(sys.argv[1:]),
    }  # fmt: skip
    out = Path(args.out or PRETRAINED["ar"])
    save_ar(model, out, record, args)
    print(f"saved {out}: lm {steps} steps, medusa {medusa['medusa_steps']} steps", flush=True)


def train_ar_actions(args) -> None:
    """``ar-actions``: give the shipped nano-ar (trained with raw actions as its cross-attention context) the action
    embedding, initialised to the identity (``ActionEmbedding.init_identity``: outputs unchanged), then fine-tune
    the whole model through it and re-distil the Medusa heads. Keeps the previous training record."""
    from cosmos.ar import Transformer

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out or PRETRAINED["ar"])
    previous = Transformer.from_pretrained(out / "lm", dtype=torch.float32)
    model = previous
    if previous.action_embedding is None:
        config = dataclasses.replace(previous.config, action_dim=7, action_hidden=64, action_steps=nano_data.NUM_STEPS)
        model = Transformer(config)
        model.load_state_dict(previous.state_dict(), strict=False)  # everything but the new action embedding
        model.action_embedding.init_identity()
    ar_data = load_ar_data(args, load_dv_tokenizer(args))
    tokens, actions = ar_data["tokens"], ar_data["actions"]
    steps, seconds, ce, head_ce = ar_lm_steps(
        model, tokens, ar_data["p_tokens"], actions, args, args.minutes * (1 - args.medusa_fraction), rng
    )
    medusa = train_medusa_heads(model, tokens, actions, args, args.minutes * args.medusa_fraction, rng)
    record = json.loads((out / "training.json").read_text())
    record.update(ar_record(args, ar_data, sum(p.numel() for p in model.parameters())))
    record["action_finetune"] = {
        "what": "action embedding added (identity init), whole model fine-tuned through it, Medusa heads re-distilled",
        "lm_steps": steps, "lm_wall_time_s": round(seconds, 1), "lm_final_cross_entropy_avg": round(ce, 4),
        "lm_final_head_cross_entropy_avg": [round(x, 3) for x in head_ce.tolist()],
        "command": "python examples/train_nano.py " + " ".join(sys.argv[1:]),
    }  # fmt: skip
    record.update(medusa)
    save_ar(model, out, record, args)
    print(f"saved {out}: fine-tuned {steps} steps, medusa {medusa['medusa_steps']} steps", flush=True)


def ar_prompts(tokens: torch.Tensor) -> list[torch.Tensor]:
    """Prompts of the two shipped conditionings: ``<bov>`` + 1 latent frame (1 pixel frame) for even rows,
    + 2 latent frames (5 pixel frames) for odd rows (64 tokens a latent frame)."""
    return [tokens[0::2, : 1 + 64], tokens[1::2, : 1 + 128]]


def train_medusa_heads(model, tokens, actions, args, minutes: float, rng: np.random.Generator) -> dict:
    """Medusa heads (fine-tuned, or fresh when the model has none) by self-distillation on the base model's own
    greedy roll-outs, base frozen.

    The roll-outs (``cosmos.ar.medusa.self_distillation_sequences``) continue every training episode's first 1 or 2
    latent frames greedily under its actions, so every generated token is the base model's argmax given the tokens
    before it: head ``k`` at position ``t`` learns, by cross-entropy, the roll-out's token ``t + k + 1`` (exactly
    the draft that greedy verification accepts). The frozen base runs once over the roll-outs; the heads then
    train on its cached final hidden states. Returns the model-card fields.
    """
    from cosmos.ar.medusa import add_medusa_heads, self_distillation_sequences

    model.eval()
    t_roll = time.time()
    hidden, labels = [], []
    with torch.no_grad():
        contexts = model.embed_actions(actions)  # [N, 24, context_dim]
    for part, prompts in zip((slice(0, None, 2), slice(1, None, 2)), ar_prompts(tokens)):
        seqs = self_distillation_sequences(
            model, prompts, tokens.shape[1] - prompts.shape[1], context=contexts[part], batch_size=64
        )
        with torch.no_grad():
            hidden += [model.hidden_states(seqs[i : i + 32], None, contexts[part][i : i + 32])
                       for i in range(0, len(seqs), 32)]  # fmt: skip
        target = seqs.clone()
        target[:, : prompts.shape[1]] = -100  # prompt tokens are data, not the base model's choices
        labels.append(target)
    hidden, labels = torch.cat(hidden), torch.cat(labels)  # [N, S, dim], [N, S]
    num_heads, seq = args.medusa_heads, labels.shape[1]
    # per position t: head k's label is the roll-out's token t + k + 1 (-100 past the end or inside the prompt)
    targets = torch.full((num_heads, *labels.shape), -100, dtype=torch.int64)
    for k in range(1, num_heads + 1):
        targets[k - 1, :, : seq - k - 1] = labels[:, k + 1 :]
    hidden, targets = hidden.flatten(0, 1), targets.flatten(1, 2)  # [N*S, dim], [K, N*S]
    positions = (targets[0] != -100).nonzero()[:, 0]  # positions where head 1 has a label
    rollout_seconds = time.time() - t_roll
    print(f"greedy roll-outs + hidden states: {len(labels)} sequences, {len(positions)} positions in "
          f"{rollout_seconds:.0f} s", flush=True)  # fmt: skip
    if model.medusa_heads is None or model.medusa_heads.num_heads != num_heads:
        add_medusa_heads(model, num_heads, num_layers=args.medusa_layers)  # fresh heads; else fine-tune these
    for p in model.parameters():
        p.requires_grad_(False)
    heads = list(model.medusa_heads.parameters())
    for p in heads:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(heads, lr=args.medusa_lr, weight_decay=0.0)
    clock, step, agree = Clock(minutes, args.steps), 0, None
    while not clock.done(step):
        for group in opt.param_groups:
            group["lr"] = lr_at(clock.fraction(step), args.medusa_lr)
        idx = positions[torch.from_numpy(rng.integers(0, len(positions), args.medusa_batch))]
        logits = model.medusa_heads(hidden[idx][None], model.output)[:, 0].float()  # [K, P, V]
        target = targets[:, idx]  # [K, P]
        loss = sum(
            torch.nn.functional.cross_entropy(logits[k], target[k], ignore_index=-100) for k in range(num_heads)
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        with torch.no_grad():
            valid = target != -100
            a = ((logits.argmax(-1) == target) & valid).sum(-1).float() / valid.sum(-1).clamp_min(1)
        agree = a if agree is None else 0.95 * agree + 0.05 * a
        if step % 25 == 0:
            print(f"medusa step {step} loss {float(loss.detach()):.4f} agreement {[round(x, 3) for x in agree.tolist()]}"
                  f" t {clock.elapsed():.0f}s", flush=True)  # fmt: skip
    model.eval()
    return {
        "medusa_heads": num_heads,
        "medusa_layers": args.medusa_layers,
        "medusa_data": f"{len(labels)} greedy roll-outs of the base model (self-distillation, Medusa paper "
        f"§2.3.2) from the train episodes' first 1 or 2 latent frames and their actions; head k learns the "
        f"roll-out's token t+k+1 by cross-entropy on the frozen base's hidden states ({rollout_seconds:.0f} s)",
        "medusa_steps": step,
        "medusa_batch": args.medusa_batch,
        "medusa_wall_time_s": round(clock.elapsed(), 1),
        "medusa_top1_agreement": [round(x, 3) for x in agree.tolist()] if agree is not None else None,
    }


def retrain_medusa(args) -> None:
    """Fine-tune the shipped nano-ar's Medusa heads (fresh ones with a different ``--medusa-heads``) on greedy
    roll-outs (``ar-medusa``): the LM and tokenizer are kept as they are."""
    from cosmos.ar import Transformer

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    out = Path(args.out or PRETRAINED["ar"])
    model = Transformer.from_pretrained(out / "lm", dtype=torch.float32)
    tokenizer = load_dv_tokenizer(args)
    data = nano_data.load_robot(args.data, "train")
    indices = encode_all(tokenizer, data["video"], what="indices").reshape(len(data["video"]), -1)
    vocab = int(np.prod(tokenizer.config.levels))
    tokens = torch.cat([torch.full((len(indices), 1), vocab, dtype=torch.int64), indices], dim=1)
    actions = torch.from_numpy(data["actions"]).float()
    medusa = train_medusa_heads(model, tokens, actions, args, args.minutes, rng)
    model.save_pretrained(out / "lm", dtype=torch.float16)
    record = json.loads((out / "training.json").read_text())
    record.update(medusa)
    record["medusa_command"] = "python examples/train_nano.py " + " ".join(sys.argv[1:])
    title, body = "nano-ar", (out / "README.md").read_text().split("## Training record")[0].split("\n", 2)[2]
    write_card(out, title, body.strip(), record)
    print(f"saved {out / 'lm'} with {args.medusa_heads} Medusa heads", flush=True)


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=[*sorted(PRETRAINED), "ar-actions", "ar-medusa"])
    ap.add_argument("--data", default="data/nano")
    ap.add_argument("--run-dir", default="data/runs")
    ap.add_argument("--out", default=None, help="output folder (default: the package's pretrained/ folder)")
    ap.add_argument("--minutes", type=float, default=40.0)
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--frames", type=int, default=9)
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--real-fraction", type=float, default=0.2,
                    help="tokenizers: share of batches drawn from real photos and clips (examples/nano_media.py)")
    ap.add_argument("--media", default="data/media", help="folder of box.mp4 / vtest.avi (examples/fetch_media.py)")
    ap.add_argument("--resume", action="store_true", help="tokenizers: start from the run folder's weights")
    ap.add_argument("--freeze-encoder-at", type=float, default=0.0,
                    help="tokenizers: after this many minutes export the model (the world models train on its "
                    "latents) and train only the decoder from then on")  # fmt: skip
    ap.add_argument(
        "--tokenizer", default=None, help="tokenizer folder (default: the shipped nano tokenizer)"
    )
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--blocks", type=int, default=None)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--medusa-heads", type=int, default=4)
    ap.add_argument(
        "--medusa-fraction", type=float, default=0.2, help="share of --minutes for the Medusa heads"
    )
    ap.add_argument("--medusa-layers", type=int, default=1, help="ResBlocks per Medusa head")
    ap.add_argument("--physics-fraction", type=float, default=0.25,
                    help="world models: share of batches drawn from the physics-scene clips (when generated)")
    ap.add_argument("--medusa-lr", type=float, default=1e-3)
    ap.add_argument("--medusa-batch", type=int, default=1024, help="roll-out positions a Medusa training step")
    ap.add_argument("--medusa-joint-weight", type=float, default=0.2,
                    help="ar: weight of the heads' loss while the backbone trains (Medusa-2)")
    ap.add_argument("--medusa-positions", type=int, default=96,
                    help="ar: random positions a sequence where the heads are scored during joint training")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.command in ("tokenizer-cv", "tokenizer-dv"):
        args.lr = args.lr or 1e-3
        args.batch = args.batch or 4
        train_tokenizer(args, "CV" if args.command == "tokenizer-cv" else "DV")
    elif args.command == "diffusion":
        args.lr, args.batch = args.lr or 3e-4, args.batch or 8
        args.width, args.blocks = args.width or 128, args.blocks or 4
        wfm_tokenizer_name[0] = str(args.tokenizer or "nano-cv4x8x8")
        train_diffusion(args)
    elif args.command == "ar-medusa":
        args.batch = args.batch or 8
        retrain_medusa(args)
    elif args.command == "ar-actions":
        args.lr, args.batch = args.lr or 3e-4, args.batch or 8
        train_ar_actions(args)
    else:
        args.lr, args.batch = args.lr or 1e-3, args.batch or 8
        args.width, args.blocks = args.width or 128, args.blocks or 4
        train_ar(args)


if __name__ == "__main__":
    main()
