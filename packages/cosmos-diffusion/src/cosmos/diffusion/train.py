"""Pre-training and post-training loop for the Cosmos DiT: plain PyTorch + accelerate.

The objective is the uncertainty-weighted EDM loss of spec §3.1 (Cosmos paper Sec. 5.1): ``ln sigma ~
N(P_mean, P_std^2)``, ``x_t = x0 + sigma eps``, ``x0_hat = D(x_t; sigma)``, loss
``mean(lambda(sigma) (x0_hat - x0)^2 exp(-u) + u)``. Classifier-free-guidance dropout zeroes the text
embedding per sample (p = 0.2); Video2World training draws a random number of conditioning latent
frames, augments them with noise ``ln sigma_aug ~ N(-3, 2^2)`` and replaces the prediction on them, so
they carry no loss. Actions and camera rays in the batch are passed to the network.

Batches are dicts (from any iterable, e.g. a ``torch.utils.data.DataLoader`` over video shards):

* ``"latent"``: ``[B, C, T', H', W']`` normalised model latents, or ``"video"``: ``[B, 3, T, H, W]`` in
  [-1, 1], encoded on the fly with ``tokenizer`` (then ``latent_statistics`` normalise it);
* optional ``"text_embeddings"`` ``[B, S, C_text]`` (zeros when absent), ``"action"`` ``[B, A, 7]``,
  ``"camera"`` ``[B, 6, T', H', W']``, ``"fps"`` (float).

Multi-GPU: the loop uses ``accelerate``; run the same script with ``accelerate launch --num_processes N``
(with an FSDP ``accelerate config`` for the 7B/14B models). Checkpoints are written in our layout
(``checkpoint-<step>/dit`` and ``ema``: ``config.json`` + ``model.safetensors``) with
``training_state.pt`` (optimizer, scheduler, step; loaded with ``weights_only=True``) for resume.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from cosmos.core import ShapeError

from .denoiser import Conditioning, denoise
from .dit import DiT
from .edm import SIGMA_DATA, edm_loss, edm_scalings, expand_like, sample_training_sigma


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (defaults: the released post-training examples, spec §3.1).

    Attributes:
        steps: optimizer steps to run (in total, counting resumed ones).
        lr, weight_decay, betas, eps: AdamW (lr 2^-14.3 ~ 5e-5; the action model used 4e-4).
        warmup_steps: linear learning-rate warm-up.
        grad_accumulation: micro-batches per optimizer step.
        grad_clip: max gradient norm (0 = off).
        ema_decay: EMA of the weights (None = off).
        mixed_precision: ``"no"`` or ``"bf16"`` (autocast through accelerate).
        p_mean, p_std: training sigma distribution ``ln sigma ~ N(p_mean, p_std^2)``.
        adjust_video_noise: multiply sigma by ``sqrt(T')`` (the Video2World post-training option).
        text_dropout: probability of zeroing a sample's text embedding (CFG training).
        max_condition_frames: Video2World: K ~ U{0..max} conditioning latent frames (model needs a condition mask).
        condition_dropout: Video2World: probability of dropping the conditioning for a sample. Dropping sets
            K = 0 (zero mask channel, no frames inserted or replaced); the reference's "video_cond_bool" drop
            also zeroes the conditioning region of the input, which K = 0 leaves as the noisy latent.
        augment_log_sigma_mean, augment_log_sigma_std: ``ln sigma_aug ~ N(mean, std^2)`` for conditioning frames.
        uncertainty_weighting: learn ``u(sigma)`` (the logvar head); off = plain EDM weighting.
        checkpoint_every: save a checkpoint every N steps (0 = only at the end).
        keep_checkpoints: how many recent checkpoints to keep.
        log_every: history/log interval in steps.
        seed: seeds the loop's sigma/noise/dropout draws (per step, so a resumed run continues identically).
    """

    steps: int = 1000
    lr: float = 2**-14.3
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.99)
    eps: float = 1e-10
    warmup_steps: int = 0
    grad_accumulation: int = 1
    grad_clip: float = 1.0
    ema_decay: float | None = 0.999
    mixed_precision: str = "no"
    p_mean: float = 0.0
    p_std: float = 1.0
    adjust_video_noise: bool = False
    text_dropout: float = 0.2
    max_condition_frames: int = 2
    condition_dropout: float = 0.0
    augment_log_sigma_mean: float = -3.0
    augment_log_sigma_std: float = 2.0
    uncertainty_weighting: bool = True
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    log_every: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mixed_precision not in ("no", "bf16"):
            raise ValueError(f"mixed_precision must be 'no' or 'bf16', got {self.mixed_precision!r}")
        if self.grad_accumulation < 1 or self.steps < 0:
            raise ValueError("grad_accumulation must be >= 1 and steps >= 0")


def training_loss(
    net: DiT,
    batch: dict[str, Any],
    config: TrainConfig,
    generator: torch.Generator,
    *,
    sigma_data: float = SIGMA_DATA,
) -> tuple[Tensor, dict[str, float]]:
    """One uncertainty-weighted EDM loss evaluation on a batch of model latents (spec §3.1).

    Args:
        net: the DiT in train mode (or its accelerate/DDP wrapper; the forward goes through it).
        batch: ``{"latent": [B, C, T', H', W'], optional "text_embeddings", "action", "camera", "fps"}``.
        config: the :class:`TrainConfig`.
        generator: CPU generator for sigma, noise and dropout draws.

    Returns:
        ``(scalar loss, {"loss", "edm"})``; ``edm`` is the plain EDM-weighted error for logging.

    Raises:
        ShapeError: a latent that is not 5-D, non-finite inputs, or mismatched batch sizes.
    """
    x0 = batch["latent"]
    if x0.ndim != 5:
        raise ShapeError(f"latent must be [B, C, T, H, W], got {tuple(x0.shape)}")
    if not torch.isfinite(x0).all():
        raise ShapeError("latent contains NaN or inf")
    device = x0.device
    x0 = x0.float()
    batch_size, _, frames, _, _ = x0.shape
    core = getattr(net, "module", net)  # unwrapped DiT (accelerate/DDP wrap the forward only)
    cfg = core.config
    sigma = sample_training_sigma(
        batch_size,
        p_mean=config.p_mean,
        p_std=config.p_std,
        generator=generator,
        num_latent_frames=frames if config.adjust_video_noise else None,
    ).to(device)
    noise = torch.randn(x0.shape, generator=generator).to(device)
    x_t = x0 + expand_like(sigma, x0) * noise

    text = batch.get("text_embeddings")
    if text is None:
        text = x0.new_zeros(batch_size, 1, cfg.crossattn_channels)
    text = text.float().to(device)
    keep_text = (torch.rand(batch_size, generator=generator) >= config.text_dropout).to(device)
    text = text * keep_text[:, None, None].to(text.dtype)
    cond = Conditioning(
        text,
        fps=batch.get("fps", 24.0),
        action=batch.get("action"),
        camera=batch.get("camera"),
    )
    if cfg.condition_mask:
        max_k = min(config.max_condition_frames, frames)
        num_condition = torch.randint(0, max_k + 1, (batch_size,), generator=generator)
        dropped = torch.rand(batch_size, generator=generator) < config.condition_dropout
        num_condition = torch.where(dropped, torch.zeros_like(num_condition), num_condition)
        log_aug = (
            torch.randn(batch_size, generator=generator) * config.augment_log_sigma_std
            + config.augment_log_sigma_mean
        )
        cond = cond.replace(
            condition_latent=x0,
            num_condition_frames=num_condition.to(device),
            augment_noise=torch.randn(x0.shape, generator=generator).to(device),
            augment_sigma=log_aug.exp().to(device),
        )
    x0_pred = denoise(net, x_t, sigma, cond, sigma_data=sigma_data)
    logvar = core.logvar(edm_scalings(sigma, sigma_data).c_noise) if config.uncertainty_weighting else None
    loss = edm_loss(x0_pred, x0, sigma, logvar=logvar, sigma_data=sigma_data)
    with torch.no_grad():
        plain = edm_loss(x0_pred.detach(), x0, sigma, sigma_data=sigma_data)
    return loss, {"loss": float(loss.detach()), "edm": float(plain)}


def _prepare_batch(
    batch: dict[str, Any], tokenizer: Any, latent_statistics: Any, sigma_data: float, device
) -> dict[str, Any]:
    """Move tensors to ``device``; encode ``"video"`` into a normalised ``"latent"`` when needed."""
    out = {k: (v.to(device) if isinstance(v, Tensor) else v) for k, v in batch.items()}
    if "latent" not in out:
        if "video" not in out or tokenizer is None:
            raise ShapeError("a batch needs 'latent', or 'video' together with a tokenizer")
        with torch.no_grad():
            encoded = tokenizer.encode(out["video"])
            z = getattr(encoded, "z", encoded).float()
            if latent_statistics is not None:
                z = latent_statistics.normalize(z, sigma_data)
        out["latent"] = z
    return out


class EMA:
    """Exponential moving average of the trainable parameters, in float32 (spec §3.1: EMA enabled)."""

    def __init__(self, net: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {
            k: v.detach().float().clone() for k, v in net.state_dict().items() if v.is_floating_point()
        }

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        for key, value in net.state_dict().items():
            if key in self.shadow:
                self.shadow[key].lerp_(value.float(), 1 - self.decay)

    def copy_to(self, net: torch.nn.Module) -> None:
        state = net.state_dict()
        net.load_state_dict(
            {k: self.shadow[k].to(v.dtype) if k in self.shadow else v for k, v in state.items()}
        )


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The ``checkpoint-<step>`` folder with the highest step in ``output_dir``, or None."""
    folders = [p for p in Path(output_dir).glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(folders, key=lambda p: int(p.name.split("-")[-1])) if folders else None


def train(
    net: DiT,
    data: Iterable[dict[str, Any]],
    config: TrainConfig,
    *,
    output_dir: str | Path,
    tokenizer: Any = None,
    latent_statistics: Any = None,
    resume: bool = True,
    sigma_data: float = SIGMA_DATA,
    callback: Callable[[dict[str, Any]], None] | None = None,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``net`` in place for ``config.steps`` optimizer steps; checkpoint and optionally resume.

    Args:
        net: the :class:`DiT` to train (its config decides Video2World / action / camera conditioning).
        data: an iterable of batch dicts (see the module docstring); cycled when exhausted.
        config: :class:`TrainConfig`.
        output_dir: where ``checkpoint-<step>/`` folders go.
        tokenizer, latent_statistics: encode ``"video"`` batches into normalised latents.
        resume: continue from the latest checkpoint in ``output_dir`` if there is one.
        callback: called with each history record (``{"step", "loss", "edm", "lr", "seconds"}``).
        progress: tqdm bar.

    Returns:
        the history records logged every ``config.log_every`` steps (and the last step).
    """
    from accelerate import Accelerator

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision, gradient_accumulation_steps=config.grad_accumulation
    )
    trainable = [
        p
        for name, p in net.named_parameters()
        if config.uncertainty_weighting or not name.startswith("logvar.")
    ]
    optimizer = torch.optim.AdamW(
        trainable, lr=config.lr, weight_decay=config.weight_decay, betas=config.betas, eps=config.eps
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / config.warmup_steps) if config.warmup_steps else 1.0
    )
    start_step = 0
    ema = EMA(net, config.ema_decay) if config.ema_decay is not None else None
    checkpoint = latest_checkpoint(output_dir) if resume else None
    if checkpoint is not None:
        start_step = _load_checkpoint(checkpoint, net, optimizer, scheduler, ema)
    net.train()
    model, optimizer, scheduler = accelerator.prepare(net, optimizer, scheduler)
    history: list[dict[str, float]] = []
    iterator = _cycle(data)
    bar = None
    if progress and accelerator.is_main_process:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.steps, initial=start_step, desc="training", unit="step")
    started = time.perf_counter()
    for step in range(start_step, config.steps):
        generator = torch.Generator().manual_seed(
            config.seed * 1_000_003 + step * (accelerator.num_processes) + accelerator.process_index
        )
        stats_sum = {"loss": 0.0, "edm": 0.0}
        for _ in range(config.grad_accumulation):
            batch = _prepare_batch(
                next(iterator), tokenizer, latent_statistics, sigma_data, accelerator.device
            )
            with accelerator.accumulate(model), accelerator.autocast():
                loss, stats = training_loss(model, batch, config, generator, sigma_data=sigma_data)
                accelerator.backward(loss)
                if accelerator.sync_gradients and config.grad_clip > 0:
                    accelerator.clip_grad_norm_(trainable, config.grad_clip)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            for key in stats_sum:
                stats_sum[key] += stats[key] / config.grad_accumulation
        if ema is not None:
            ema.update(accelerator.unwrap_model(model))
        done = step + 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{stats_sum['loss']:.4f}")
        if done % config.log_every == 0 or done == config.steps:
            record = {
                "step": done,
                **stats_sum,
                "lr": scheduler.get_last_lr()[0],
                "seconds": time.perf_counter() - started,
            }
            history.append(record)
            if callback is not None:
                callback(record)
        if (config.checkpoint_every and done % config.checkpoint_every == 0) or done == config.steps:
            if accelerator.is_main_process:
                save_checkpoint(
                    output_dir, done, accelerator.unwrap_model(model), optimizer, scheduler, ema, config
                )
                _prune_checkpoints(output_dir, config.keep_checkpoints)
            accelerator.wait_for_everyone()
    if bar is not None:
        bar.close()
    net.eval()
    return history


def _cycle(data: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Repeat a re-iterable (list, DataLoader) forever; a one-shot iterator may run out, with a clear error."""
    one_shot = iter(data) is data
    passes = 0
    while True:
        count = 0
        for batch in data:
            count += 1
            yield batch
        passes += 1
        if count == 0:
            raise ValueError(
                "the training data ran out" if passes > 1 else "the training data iterable is empty"
            )
        if one_shot:
            raise ValueError(
                f"the training data iterator ran out after {count} batches: pass a re-iterable "
                "(a list, a DataLoader or an object with __iter__) or more data"
            )


def save_checkpoint(
    output_dir: Path,
    step: int,
    net: DiT,
    optimizer: Any,
    scheduler: Any,
    ema: EMA | None,
    config: TrainConfig,
) -> Path:
    """Write ``checkpoint-<step>/``: ``dit/`` and ``ema/`` in our layout, ``training_state.pt``, ``train_config.json``."""
    folder = output_dir / f"checkpoint-{step}"
    net.save_pretrained(folder / "dit")
    if ema is not None:
        snapshot = {k: v.detach().clone() for k, v in net.state_dict().items()}
        ema.copy_to(net)
        net.save_pretrained(folder / "ema")
        net.load_state_dict(snapshot)
        torch.save({k: v for k, v in ema.shadow.items()}, folder / "ema_shadow.pt")
    torch.save(
        {"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
        folder / "training_state.pt",
    )
    config_dict = dataclasses.asdict(config)
    (folder / "train_config.json").write_text(json.dumps(config_dict, indent=2) + "\n")
    return folder


def _load_checkpoint(folder: Path, net: DiT, optimizer: Any, scheduler: Any, ema: EMA | None) -> int:
    """Restore weights, EMA, optimizer and scheduler from ``folder``; return its step."""
    from cosmos.core import load_state_dict_file

    state = (
        load_state_dict_file(folder / "dit" / "model.safetensors")
        if (folder / "dit" / "model.safetensors").exists()
        else DiT.from_pretrained(folder / "dit").state_dict()
    )
    net.load_state_dict(state)
    training_state = torch.load(folder / "training_state.pt", map_location="cpu", weights_only=True)
    optimizer.load_state_dict(training_state["optimizer"])
    scheduler.load_state_dict(training_state["scheduler"])
    if ema is not None and (folder / "ema_shadow.pt").exists():
        ema.shadow = torch.load(folder / "ema_shadow.pt", map_location="cpu", weights_only=True)
    return int(training_state["step"])


def _prune_checkpoints(output_dir: Path, keep: int) -> None:
    import shutil

    folders = sorted(
        (p for p in output_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
    )
    for old in folders[: max(0, len(folders) - keep)]:
        shutil.rmtree(old)


def clip_batches(
    samples: Iterable[dict[str, Any]],
    *,
    batch_size: int,
    num_frames: int,
    height: int | None = None,
    width: int | None = None,
    action_frames: int = 0,
    text_tokens: int = 512,
) -> Iterator[dict[str, Any]]:
    """Group per-clip samples (e.g. ``cosmos.curate.shards.iter_samples``) into training batches.

    Each sample is a dict with ``"video"`` float ``[3, T, H, W]`` in [-1, 1] and optionally ``"fps"``,
    ``"actions"`` ``[T - 1, 7]`` (one per frame transition) and ``"t5_xxl"`` (a list of ``[L, D]`` text
    embeddings, one per caption window). Clips shorter than ``num_frames`` are skipped; longer ones give
    their first ``num_frames`` frames (use ``1 + k * temporal_compression``), resized to ``height x width``
    when given. ``action_frames > 0`` keeps the first that many actions; the first caption's embedding is
    zero-padded or cut to ``text_tokens`` rows (T5 padding rows are zeros, spec §6).

    Yields:
        ``{"video": [B, 3, num_frames, H, W], "fps": float, optional "action": [B, A, 7],
        optional "text_embeddings": [B, text_tokens, D]}`` (text only when every clip of the batch has it).
    """
    from cosmos.core import resize_video

    pending: list[dict[str, Any]] = []
    for sample in samples:
        video = torch.as_tensor(sample["video"]).float()
        if video.ndim != 4 or video.shape[0] != 3:
            raise ShapeError(f"sample video must be [3, T, H, W], got {tuple(video.shape)}")
        if video.shape[1] < num_frames:
            continue
        video = video[:, :num_frames]
        if height is not None and width is not None and video.shape[-2:] != (height, width):
            video = resize_video(video[None], (height, width))[0]
        item: dict[str, Any] = {"video": video, "fps": float(sample.get("fps", 24.0))}
        if action_frames:
            actions = sample.get("actions")
            if actions is None or len(actions) < action_frames:
                continue
            item["action"] = torch.as_tensor(actions[:action_frames]).float()
        embeddings = sample.get("t5_xxl")
        if embeddings is not None and len(embeddings):
            text = torch.as_tensor(embeddings[0]).float()[:text_tokens]
            item["text_embeddings"] = torch.cat(
                [text, text.new_zeros(text_tokens - text.shape[0], text.shape[1])]
            )
        pending.append(item)
        if len(pending) == batch_size:
            batch: dict[str, Any] = {
                "video": torch.stack([p["video"] for p in pending]),
                "fps": pending[0]["fps"],
            }
            if action_frames:
                batch["action"] = torch.stack([p["action"] for p in pending])
            if all("text_embeddings" in p for p in pending):
                batch["text_embeddings"] = torch.stack([p["text_embeddings"] for p in pending])
            yield batch
            pending = []


def moving_square_videos(
    num_videos: int, *, num_frames: int = 9, size: int = 32, square: int = 8, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """A synthetic dataset: a bright square moving at constant velocity on a dark background.

    Returns:
        ``(videos [N, 3, T, size, size] in [-1, 1], velocities [N, 2] in pixels/frame)``; the velocity is
        a natural 2-D "action" for conditioning experiments.
    """
    generator = torch.Generator().manual_seed(seed)
    videos = -torch.ones(num_videos, 3, num_frames, size, size)
    velocity = torch.randint(-2, 3, (num_videos, 2), generator=generator)
    start = torch.randint(0, size - square, (num_videos, 2), generator=generator)
    color = torch.rand(num_videos, 3, generator=generator) * 1.5 - 0.5
    for n in range(num_videos):
        for t in range(num_frames):
            y, x = (start[n] + velocity[n] * t).clamp(0, size - square).tolist()
            videos[n, :, t, y : y + square, x : x + square] = color[n][:, None, None]
    return videos, velocity.float()


def evaluate_loss(
    net: DiT,
    latents: Tensor,
    *,
    num_sigmas: int = 8,
    seed: int = 0,
    sigma_data: float = SIGMA_DATA,
    text_dim: int | None = None,
) -> float:
    """Plain EDM-weighted denoising error at fixed log-spaced sigmas and fixed noise (for loss curves)."""
    generator = torch.Generator().manual_seed(seed)
    sigmas = torch.logspace(math.log10(0.05), math.log10(5.0), num_sigmas)
    total = 0.0
    was_training = net.training
    net.eval()
    channels = text_dim or net.config.crossattn_channels
    with torch.no_grad():
        for sigma_value in sigmas:
            sigma = torch.full((latents.shape[0],), float(sigma_value))
            noise = torch.randn(latents.shape, generator=generator)
            cond = Conditioning(latents.new_zeros(latents.shape[0], 1, channels))
            if net.config.condition_mask:
                cond = cond.replace(
                    condition_latent=latents,
                    num_condition_frames=torch.zeros(latents.shape[0], dtype=torch.int64),
                    augment_noise=torch.zeros_like(latents),
                )
            x0 = denoise(net, latents + sigma_value * noise, sigma, cond, sigma_data=sigma_data)
            total += float(edm_loss(x0, latents, sigma, sigma_data=sigma_data))
    net.train(was_training)
    return total / num_sigmas
