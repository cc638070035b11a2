"""Training of the AR transformer (next-token prediction with z-loss) and of Medusa heads (self-distillation).

Plain PyTorch + accelerate (CPU, one GPU, or ``accelerate launch`` for several). Data are token shards:
safetensors files holding ``tokens`` int64 ``[N, S]`` (flattened clips, ``<bov>`` first for Video2World) and
optionally ``context`` ``[N, L, context_dim]``; :func:`tokenize_videos` writes them from video files with any
discrete tokenizer, so the tokenizer runs once per clip.

Loss (spec §3.10): cross-entropy of the next token, skipping the predictions of the context latent frames (the
first ``H * W * num_condition_latents - 1`` label positions), plus ``z_loss_coeff * mean(logsumexp^2)`` over all
positions. Schedule: linear warm-up, cosine decay to ``min_lr_ratio * learning_rate``, then a linear cool-down to
zero over the last ``cooldown_steps``. Checkpoints are our layout (``save_pretrained``) plus ``trainer_state.pt``
(optimizer state and step, loaded with ``weights_only=True``) under ``output_dir/step-XXXXXXX``; ``resume`` picks
the latest.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor
from tqdm.auto import tqdm

from cosmos.core import ShapeError, TokenGrid, frames_to_video, read_video

from .medusa import add_medusa_heads, medusa_distillation_loss
from .model import Transformer, z_loss

__all__ = [
    "TrainConfig",
    "learning_rate_at",
    "medusa_joint_loss",
    "next_token_loss",
    "TokenShards",
    "tokenize_videos",
    "train",
]

TRAINING_MODES = ("lm", "medusa")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`train`.

    Attributes:
        mode: ``"lm"`` (next-token training of the whole network) or ``"medusa"`` (heads only, base frozen,
            self-distillation; ``unfreeze_last_layers`` blocks and the output layer optionally trained too).
        steps, batch_size, learning_rate, weight_decay, grad_clip: the usual.
        warmup_steps, cooldown_steps, min_lr_ratio: the schedule (see :func:`learning_rate_at`).
        z_loss_coeff: z-loss weight (Predict1 default 1e-4).
        num_condition_latents: latent frames treated as context (their tokens are not scored).
        num_medusa_heads, medusa_decay: heads to add when the model has none; per-head loss weight ``decay^k``.
        unfreeze_last_layers: Medusa mode: also train the last k blocks and the output layer (Medusa-2 style).
        checkpoint_every, log_every, seed: bookkeeping.
    """

    mode: str = "lm"
    steps: int = 1000
    batch_size: int = 8
    learning_rate: float = 3e-4
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    warmup_steps: int = 100
    cooldown_steps: int = 100
    min_lr_ratio: float = 0.1
    z_loss_coeff: float = 1e-4
    num_condition_latents: int = 1
    num_medusa_heads: int = 3
    medusa_decay: float = 0.8
    unfreeze_last_layers: int = 0
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in TRAINING_MODES:
            raise ValueError(f"mode must be one of {TRAINING_MODES}, got {self.mode!r}")
        if self.warmup_steps + self.cooldown_steps > self.steps:
            raise ValueError("warmup_steps + cooldown_steps must not exceed steps")


def learning_rate_at(step: int, config: TrainConfig) -> float:
    """Learning rate at ``step`` (0-based): warm-up, cosine to ``min_lr_ratio``, linear cool-down to 0."""
    peak, floor = config.learning_rate, config.learning_rate * config.min_lr_ratio
    if step < config.warmup_steps:
        return peak * (step + 1) / config.warmup_steps
    cooldown_start = config.steps - config.cooldown_steps
    if step >= cooldown_start:
        return floor * (config.steps - step) / max(config.cooldown_steps, 1)
    progress = (step - config.warmup_steps) / max(cooldown_start - config.warmup_steps, 1)
    return floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def next_token_loss(
    model: Transformer,
    tokens: Tensor,
    *,
    context: Tensor | None = None,
    num_condition_latents: int = 1,
    z_loss_coeff: float = 1e-4,
) -> tuple[Tensor, Tensor]:
    """Next-token cross-entropy on the generated latent frames plus z-loss (spec §3.10).

    Args:
        tokens: int64 ``[B, S]`` full sequences (``<bov>`` first for Video2World).
        context: ``[B, L, context_dim]`` (Video2World).
        num_condition_latents: the first ``H * W * num_condition_latents - 1`` labels are not scored.
    Returns:
        ``(total loss, cross-entropy)`` float32 scalars.
    """
    inputs, labels = tokens[:, :-1], tokens[:, 1:].clone()
    labels[:, : max(model.config.tokens_per_frame * num_condition_latents - 1, 0)] = -100
    logits = model(inputs, context=context)
    cross_entropy = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)
    return cross_entropy + z_loss(logits, z_loss_coeff), cross_entropy


def medusa_joint_loss(
    model: Transformer,
    tokens: Tensor,
    *,
    context: Tensor | None = None,
    num_condition_latents: int = 1,
    head_weight: float = 0.2,
    decay: float = 0.8,
    head_positions: int | None = None,
    z_loss_coeff: float = 1e-4,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Joint training of the backbone and its Medusa heads ("Medusa-2", Cai et al. 2024 §2.3.1).

    ``loss = CE_lm + z_loss + head_weight * sum_k decay^k * CE_k`` where head ``k`` (1-based) at position ``t``
    is scored on the data token ``t + k + 1``; the backbone learns hidden states that also carry the lookahead the
    heads need. Labels inside the conditioning frames are not scored (as :func:`next_token_loss`).

    Args:
        model: a :class:`Transformer` with ``medusa_heads``.
        tokens: int64 ``[B, S]`` full sequences (``<bov>`` first for Video2World).
        context: ``[B, L, context_dim]`` cross-attention inputs (Video2World).
        head_positions: score the heads on this many random positions a step (the ``[K, B, P, vocab]`` head
            logits dominate the cost for small models); all positions when None.
        generator: CPU generator for the position draw.
    Returns:
        ``(total loss, LM cross-entropy, per-head cross-entropy [K])``, float32.
    Raises:
        ValueError: the model has no Medusa heads.
        ShapeError: tokens not int ``[B, S]`` with ``S > K + 2``, ids out of range, or a bad context.
    """
    if model.medusa_heads is None:
        raise ValueError("the model has no Medusa heads; call add_medusa_heads(model, K) first")
    num_heads = model.medusa_heads.num_heads
    model.check_inputs(tokens, None, context)
    if tokens.shape[1] <= num_heads + 2:
        raise ShapeError(f"sequences of {tokens.shape[1]} tokens are too short for {num_heads} Medusa heads")
    inputs, labels = tokens[:, :-1], tokens[:, 1:].clone()
    labels[:, : max(model.config.tokens_per_frame * num_condition_latents - 1, 0)] = -100
    hidden = model.hidden_states(inputs, None, context)  # [B, S-1, dim]
    logits = model.output(hidden)
    lm = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)
    seq = labels.shape[1]
    positions = torch.arange(seq)
    if head_positions is not None and head_positions < seq:
        positions = torch.randperm(seq, generator=generator)[:head_positions].sort().values
    head_logits = model.medusa_heads(hidden[:, positions.to(hidden.device)], model.output)  # [K, B, P, V]
    head_ce = []
    for k in range(1, num_heads + 1):
        index = positions + k  # label index of token t + k + 1
        target = torch.full((labels.shape[0], len(positions)), -100, dtype=labels.dtype, device=labels.device)
        inside = index < seq
        target[:, inside] = labels[:, index[inside].to(labels.device)]
        head_ce.append(
            F.cross_entropy(head_logits[k - 1].float().flatten(0, 1), target.flatten(), ignore_index=-100)
        )
    head_ce = torch.stack(head_ce)
    weights = decay ** torch.arange(1, num_heads + 1, dtype=torch.float32, device=head_ce.device)
    total = lm + z_loss(logits, z_loss_coeff) + head_weight * (weights * head_ce).sum()
    return total, lm, head_ce


class TokenShards(torch.utils.data.Dataset):
    """Token shards (safetensors with ``tokens`` ``[N, S]`` and optional ``context``) as one dataset.

    Items are dicts ``{"tokens": int64 [S], "context": float [L, D]}`` (context only when stored).
    """

    def __init__(self, paths: Sequence[str | os.PathLike]):
        if not paths:
            raise ValueError("no token shards given")
        shards = [load_file(str(path)) for path in paths]
        self.tokens = torch.cat([shard["tokens"] for shard in shards])
        has_context = ["context" in shard for shard in shards]
        if any(has_context) and not all(has_context):
            raise ShapeError("either every shard stores context or none does")
        self.context = torch.cat([shard["context"] for shard in shards]) if all(has_context) else None

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        item = {"tokens": self.tokens[index]}
        if self.context is not None:
            item["context"] = self.context[index]
        return item


def tokenize_videos(
    tokenizer,
    video_paths: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    *,
    clip_frames: int,
    frame_size: tuple[int, int],
    bov_id: int | None = None,
    progress: bool = True,
) -> Path:
    """Cut videos into ``clip_frames`` clips, tokenize them once, write a token shard (``tokens`` ``[N, S]``).

    Frames are resized to cover ``frame_size`` and center-cropped (as :meth:`ARWFM.prepare_video` does).
    ``bov_id`` (Video2World) is prepended to every sequence.
    """
    from cosmos.core import center_crop_video, resize_video

    rows = []
    for path in tqdm(video_paths, disable=not progress, desc="tokenizing", unit="video"):
        frames, _ = read_video(path)
        video = frames_to_video(frames)  # [1, 3, T, H, W]
        height, width = video.shape[-2:]
        scale = max(frame_size[1] / width, frame_size[0] / height)
        size = (max(frame_size[0], math.ceil(height * scale)), max(frame_size[1], math.ceil(width * scale)))
        video = center_crop_video(resize_video(video, size), frame_size)
        for start in range(0, video.shape[2] - clip_frames + 1, clip_frames):
            grid = tokenizer.encode(video[:, :, start : start + clip_frames])
            if not isinstance(grid, TokenGrid):
                raise ShapeError("tokenize_videos needs a discrete tokenizer (TokenGrid output)")
            flat = grid.indices.reshape(grid.indices.shape[0], -1).cpu()
            if bov_id is not None:
                flat = torch.cat([torch.full((flat.shape[0], 1), bov_id, dtype=torch.int64), flat], dim=1)
            rows.append(flat)
    if not rows:
        raise ShapeError(f"no video had {clip_frames} frames")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    save_file({"tokens": torch.cat(rows).contiguous()}, str(output))
    return output


def _batches(
    dataset: TokenShards, batch_size: int, seed: int, start_step: int
) -> Iterator[dict[str, Tensor]]:
    """Endless shuffled batches; epoch ``e`` is shuffled with ``seed + e`` so a resume sees the same order."""
    per_epoch = max(len(dataset) // batch_size, 1)
    step = start_step
    while True:
        epoch, offset = divmod(step, per_epoch)
        order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed + epoch))
        index = order[offset * batch_size : (offset + 1) * batch_size]
        if index.numel() < batch_size:
            index = order[:batch_size]
        yield {key: torch.stack([dataset[int(i)][key] for i in index]) for key in dataset[0]}
        step += 1


def _trainable_parameters(model: Transformer, config: TrainConfig) -> list[torch.nn.Parameter]:
    if config.mode == "lm":
        return list(model.parameters())
    if model.medusa_heads is None:
        add_medusa_heads(model, config.num_medusa_heads)
    for param in model.parameters():
        param.requires_grad_(False)
    trainable = list(model.medusa_heads.parameters())
    if config.unfreeze_last_layers:
        for layer in model.layers[-config.unfreeze_last_layers :]:
            trainable += list(layer.parameters())
        trainable += list(model.output.parameters()) + list(model.norm.parameters())
    for param in trainable:
        param.requires_grad_(True)
    return trainable


def _latest_checkpoint(output_dir: Path) -> Path | None:
    steps = [path for path in output_dir.glob("step-*") if (path / "trainer_state.pt").is_file()]
    return max(steps, key=lambda path: int(re.sub(r"\D", "", path.name)), default=None)


def train(
    model: Transformer,
    dataset: TokenShards,
    config: TrainConfig,
    output_dir: str | os.PathLike,
    *,
    resume: bool = True,
    progress: bool = True,
) -> Transformer:
    """Train ``model`` on ``dataset`` per ``config``; checkpoints under ``output_dir``. Returns the model.

    With ``resume`` the latest ``output_dir/step-*`` checkpoint (weights, optimizer, step) is loaded first, so an
    interrupted run continues where it stopped with the same data order.
    """
    from accelerate import Accelerator

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    start_step = 0
    latest = _latest_checkpoint(output_dir) if resume else None
    if latest is not None:
        model = Transformer.from_pretrained(latest, device=model.output.weight.device)
    model.train()
    trainable = _trainable_parameters(model, config)
    optimizer = torch.optim.AdamW(
        trainable, lr=config.learning_rate, weight_decay=config.weight_decay, betas=(0.9, 0.95)
    )
    if latest is not None:
        state = torch.load(latest / "trainer_state.pt", map_location="cpu", weights_only=True)
        optimizer.load_state_dict(state["optimizer"])
        start_step = int(state["step"])
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    model, optimizer = accelerator.prepare(model, optimizer)
    network = accelerator.unwrap_model(model)
    batches = _batches(dataset, config.batch_size, config.seed, start_step)
    log = []
    bar = tqdm(range(start_step, config.steps), disable=not progress, desc=f"training ({config.mode})")
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, config)
        batch = {key: value.to(accelerator.device) for key, value in next(batches).items()}
        if config.mode == "lm":
            loss, metric = next_token_loss(
                network, batch["tokens"], context=batch.get("context"),
                num_condition_latents=config.num_condition_latents, z_loss_coeff=config.z_loss_coeff,
            )  # fmt: skip
        else:
            loss, agreement = medusa_distillation_loss(
                network, batch["tokens"], context=batch.get("context"), decay=config.medusa_decay
            )
            metric = agreement.mean()
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if config.grad_clip:
            accelerator.clip_grad_norm_(trainable, config.grad_clip)
        optimizer.step()
        if step % config.log_every == 0 or step == config.steps - 1:
            entry = {
                "step": step,
                "loss": loss.item(),
                "metric": metric.item(),
                "lr": learning_rate_at(step, config),
            }
            log.append(entry)
            bar.set_postfix(loss=f"{entry['loss']:.4f}")
        if (step + 1) % config.checkpoint_every == 0 or step == config.steps - 1:
            _save_checkpoint(accelerator, network, optimizer, step + 1, config, output_dir)
    with (output_dir / "log.jsonl").open("a") as handle:
        for entry in log:
            handle.write(json.dumps(entry) + "\n")
    return network.eval()


def _save_checkpoint(
    accelerator, network, optimizer, step: int, config: TrainConfig, output_dir: Path
) -> None:
    if not accelerator.is_main_process:
        return
    folder = output_dir / f"step-{step:07d}"
    network.save_pretrained(folder)
    torch.save({"optimizer": optimizer.state_dict(), "step": step}, folder / "trainer_state.pt")
    (folder / "train_config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2) + "\n")
