"""Plain PyTorch + accelerate training loop for the Cosmos tokenizers (Cosmos paper §3.3; spec §11).

Joint image/video training alternates batches: every ``image_every``-th step takes an image batch
``[B, 3, H, W]`` (fed to a video tokenizer as 1-frame clips, which its causal design encodes on their own),
the other steps take video batches ``[B, 3, T, H, W]``. Optimizer per spec §11: AdamW, lr 1e-4,
betas (0.5, 0.999), eps 1e-8, weight decay 0.01, linear warm-up. An optional discriminator (adversarial
term) is trained with hinge loss on the same batches.

Checkpoints are written as ``<output_dir>/step-<N>/``: the tokenizer in our layout (``config.json`` +
``model.safetensors``, loadable with ``from_pretrained``), ``optimizer.pt`` / ``discriminator.safetensors``
(plain tensors, read back with ``torch.load(weights_only=True)``) and ``trainer_state.json``. ``resume=True``
continues from the latest one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from safetensors.torch import load_file, save_file
from torch import Tensor
from tqdm.auto import tqdm

from cosmos.core import ShapeError, load_safetensors_sharded

from .losses import TokenizerLoss
from .tokenizer import CausalVideoTokenizer, _CosmosTokenizer


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters of :func:`train` (defaults: spec §11)."""

    steps: int = 1000
    learning_rate: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.01
    warmup_steps: int = 5000
    discriminator_learning_rate: float = 4e-4
    image_every: int = 2
    grad_clip: float | None = 1.0
    log_every: int = 10
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    seed: int = 0
    mixed_precision: str = "no"


@dataclass
class TrainState:
    """Progress of a run: the next step to take and the last logged losses."""

    step: int = 0
    last_logs: dict | None = None


def _cycle(batches: Iterable[Tensor]) -> Iterator[Tensor]:
    while True:
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            raise ShapeError("a training batch iterable yielded nothing")


def _as_model_input(model: _CosmosTokenizer, batch: Tensor) -> Tensor:
    """Images become 1-frame clips for video tokenizers; checks the value range once per batch."""
    if isinstance(model, CausalVideoTokenizer) and batch.ndim == 4:
        batch = batch.unsqueeze(2)  # [B, 3, H, W] -> [B, 3, 1, H, W]
    if not batch.is_floating_point() or batch.abs().max() > 1.001:
        raise ShapeError("training batches must be float tensors in [-1, 1]")
    return batch


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The ``step-<N>`` folder with the largest N under ``output_dir``, or None."""
    folders = [p for p in Path(output_dir).glob("step-*") if re.fullmatch(r"step-\d+", p.name)]
    return max(folders, key=lambda p: int(p.name.split("-")[1]), default=None)


def train(
    model: _CosmosTokenizer,
    loss_fn: TokenizerLoss,
    *,
    video_batches: Iterable[Tensor] | None,
    image_batches: Iterable[Tensor] | None = None,
    config: TrainingConfig = TrainingConfig(),
    output_dir: str | Path,
    resume: bool = False,
    accelerator: Accelerator | None = None,
    progress: bool = True,
) -> TrainState:
    """Train ``model`` in place; write checkpoints under ``output_dir``.

    Args:
        model: a :class:`CausalVideoTokenizer` or :class:`ImageTokenizer` (its ``forward`` is the differentiable
            round trip, FSQ straight-through).
        loss_fn: :class:`TokenizerLoss`; if it holds an adversarial term, its discriminator is trained too.
        video_batches / image_batches: re-iterable sources of float batches in [-1, 1] (``[B, 3, T, H, W]`` /
            ``[B, 3, H, W]``), e.g. DataLoaders; at least one must be given.
        config: :class:`TrainingConfig`.
        output_dir: checkpoint folder.
        resume: continue from the latest ``step-<N>`` checkpoint in ``output_dir`` (model, optimizers, step).
        accelerator: an ``accelerate.Accelerator`` (default: a new one with ``config.mixed_precision``).
        progress: show a tqdm bar.

    Returns:
        :class:`TrainState` after ``config.steps`` steps.

    Raises:
        ShapeError: no data source, or batches outside [-1, 1].
    """
    if video_batches is None and image_batches is None:
        raise ShapeError("train needs video_batches and/or image_batches")
    output_dir = Path(output_dir)
    accelerator = accelerator or Accelerator(mixed_precision=config.mixed_precision)
    torch.manual_seed(config.seed)
    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=config.learning_rate,
        betas=config.betas,
        eps=config.eps,
        weight_decay=config.weight_decay,
    )

    def warmup(step: int) -> float:
        return min(1.0, (step + 1) / max(config.warmup_steps, 1))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup)
    adversarial = loss_fn.terms["adversarial"] if "adversarial" in loss_fn.terms else None
    disc_optimizer = None
    if adversarial is not None:
        disc_optimizer = torch.optim.AdamW(
            adversarial.discriminator.parameters(), lr=config.discriminator_learning_rate, betas=config.betas
        )
    state = TrainState()
    if resume and (checkpoint := latest_checkpoint(output_dir)) is not None:
        model.load_state_dict(load_safetensors_sharded(checkpoint))
        optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt", weights_only=True))
        scheduler.load_state_dict(torch.load(checkpoint / "scheduler.pt", weights_only=True))
        if adversarial is not None and (checkpoint / "discriminator.safetensors").is_file():
            adversarial.discriminator.load_state_dict(
                load_file(str(checkpoint / "discriminator.safetensors"))
            )
            disc_optimizer.load_state_dict(
                torch.load(checkpoint / "discriminator_optimizer.pt", weights_only=True)
            )
        state.step = json.loads((checkpoint / "trainer_state.json").read_text())["step"]
    model, optimizer = accelerator.prepare(model, optimizer)
    if adversarial is not None:
        adversarial.discriminator, disc_optimizer = accelerator.prepare(
            adversarial.discriminator, disc_optimizer
        )
    loss_fn.to(accelerator.device)
    videos = _cycle(video_batches) if video_batches is not None else None
    images = _cycle(image_batches) if image_batches is not None else None
    bar = tqdm(
        total=config.steps,
        initial=state.step,
        desc="train",
        disable=not progress or not accelerator.is_main_process,
    )
    while state.step < config.steps:
        use_images = images is not None and (
            videos is None or state.step % config.image_every == config.image_every - 1
        )
        batch = next(images if use_images else videos)
        batch = _as_model_input(accelerator.unwrap_model(model), batch).to(accelerator.device)
        with accelerator.autocast():
            reconstruction = model(batch)
            loss, logs = loss_fn(batch, reconstruction.float(), step=state.step)
        if not math.isfinite(logs["total"]):
            raise FloatingPointError(f"non-finite loss at step {state.step}: {logs}")
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if config.grad_clip is not None:
            accelerator.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        scheduler.step()
        if adversarial is not None and loss_fn.weights.adversarial(state.step) > 0:
            disc_loss = adversarial.discriminator_loss(batch, reconstruction.detach().float())
            disc_optimizer.zero_grad(set_to_none=True)
            accelerator.backward(disc_loss)
            disc_optimizer.step()
            logs["discriminator"] = float(disc_loss.detach())
        logs["kind"] = "image" if use_images else "video"
        state.step += 1
        state.last_logs = logs
        bar.update(1)
        if state.step % config.log_every == 0 or state.step == config.steps:
            bar.set_postfix({k: (round(v, 4) if isinstance(v, float) else v) for k, v in logs.items()})
            accelerator.print(json.dumps({"step": state.step, "lr": scheduler.get_last_lr()[0], **logs}))
        if state.step % config.checkpoint_every == 0 or state.step == config.steps:
            _save_checkpoint(
                accelerator,
                model,
                optimizer,
                scheduler,
                adversarial,
                disc_optimizer,
                state,
                config,
                output_dir,
            )
    bar.close()
    accelerator.unwrap_model(model).eval()
    return state


def _save_checkpoint(
    accelerator, model, optimizer, scheduler, adversarial, disc_optimizer, state, config, output_dir
):
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return
    folder = output_dir / f"step-{state.step}"
    accelerator.unwrap_model(model).save_pretrained(folder)
    torch.save(optimizer.state_dict(), folder / "optimizer.pt")
    torch.save(scheduler.state_dict(), folder / "scheduler.pt")
    if adversarial is not None:
        discriminator = accelerator.unwrap_model(adversarial.discriminator)
        save_file(
            {k: v.contiguous() for k, v in discriminator.state_dict().items()},
            str(folder / "discriminator.safetensors"),
        )
        torch.save(disc_optimizer.state_dict(), folder / "discriminator_optimizer.pt")
    document = {"step": state.step, "config": asdict(config), "last_logs": state.last_logs}
    (folder / "trainer_state.json").write_text(json.dumps(document, indent=2))
    old = sorted(
        (p for p in output_dir.glob("step-*") if re.fullmatch(r"step-\d+", p.name)),
        key=lambda p: int(p.name.split("-")[1]),
    )
    for stale in old[: max(len(old) - config.keep_checkpoints, 0)]:
        for file in stale.iterdir():
            file.unlink()
        stale.rmdir()
