"""Medusa heads and speculative decoding for the Cosmos AR transformer (spec §6; Cai et al. 2024, "Medusa").

Head ``k`` (``k = 1 .. K``) reads the final hidden state of position ``t`` (after the last RMSNorm) and predicts
the token at ``t + k + 1`` (the base output layer predicts ``t + 1``)::

    u_k      = x + SiLU(W_k x + b_k)      # ResBlock, zero-initialized (starts as the identity)
    logits_k = U_k u_k                    # U_k: own [vocab, dim] matrix, or the base output layer (shared)
"""

from __future__ import annotations

import dataclasses
import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from cosmos.core import ShapeError

from .generate import (
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    DecodeStats,
    _check_prompt,
    _synchronize,
    draw_noise,
    generate,
    sample,
)

__all__ = [
    "MedusaResBlock",
    "MedusaHeads",
    "add_medusa_heads",
    "medusa_distillation_loss",
    "medusa_generate",
    "self_distillation_sequences",
]


class MedusaResBlock(nn.Module):
    """``x + SiLU(linear(x))`` with a zero-initialized linear (Medusa paper §2.1.1). ``[..., dim]`` -> same."""

    def __init__(self, dim: int):
        super().__init__()
        self.linear = nn.Linear(dim, dim, bias=True)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + F.silu(self.linear(x))


class MedusaHead(nn.Module):
    """One head: ``num_layers`` independent ResBlocks, then (unless shared) its own projection to the vocab."""

    def __init__(self, dim: int, vocab_size: int, *, num_layers: int, shared_output: bool):
        super().__init__()
        self.blocks = nn.Sequential(*(MedusaResBlock(dim) for _ in range(num_layers)))
        self.output = None if shared_output else nn.Linear(dim, vocab_size, bias=False)


class MedusaHeads(nn.Module):
    """K Medusa heads (spec §6.2). Head ``k`` (0-based index ``k - 1``) predicts ``k + 1`` steps ahead.

    Args:
        dim: model width.
        vocab_size: output rows.
        num_heads: K.
        num_layers: ResBlocks per head (independent weights; the Medusa repo shares them, a known quirk).
        shared_output: reuse the base model's output layer for every head (legacy Medusa layout, much smaller
            for a 64000-row vocabulary) instead of one ``[vocab, dim]`` matrix per head.
    """

    def __init__(
        self, dim: int, vocab_size: int, *, num_heads: int, num_layers: int = 1, shared_output: bool = True
    ):
        super().__init__()
        self.num_heads = num_heads
        self.heads = nn.ModuleList(
            MedusaHead(dim, vocab_size, num_layers=num_layers, shared_output=shared_output)
            for _ in range(num_heads)
        )

    def forward(self, hidden: Tensor, base_output: nn.Linear) -> Tensor:
        """Logits of every head.

        Args:
            hidden: final normalized hidden states ``[B, S, dim]``.
            base_output: the base model's output layer (used when the heads share it).
        Returns:
            ``[K, B, S, vocab]`` in the hidden dtype.
        """
        projected = torch.stack([head.blocks(hidden) for head in self.heads], dim=0)  # [K, B, S, dim]
        if all(head.output is None for head in self.heads):
            return base_output(projected)  # one matmul for all heads
        return torch.stack(
            [(head.output or base_output)(projected[k]) for k, head in enumerate(self.heads)], dim=0
        )


def add_medusa_heads(model, num_medusa_heads: int, *, num_layers: int = 1, shared_output: bool = True):
    """Attach fresh (identity-initialized) Medusa heads to a :class:`cosmos.ar.Transformer`, in place.

    The model's frozen config is replaced by one recording the heads, so ``save_pretrained`` /
    ``from_pretrained`` round-trip them. Returns the model.
    """
    if num_medusa_heads < 1:
        raise ValueError(f"num_medusa_heads must be >= 1, got {num_medusa_heads}")
    config = model.config
    weight = model.output.weight
    heads = MedusaHeads(
        config.dim,
        config.vocab_size,
        num_heads=num_medusa_heads,
        num_layers=num_layers,
        shared_output=shared_output,
    ).to(device=weight.device, dtype=weight.dtype)
    model.medusa_heads = heads
    model.config = dataclasses.replace(
        config,
        num_medusa_heads=num_medusa_heads,
        medusa_num_layers=num_layers,
        medusa_shared_output=shared_output,
    )
    return model


def medusa_distillation_loss(
    model,
    tokens: Tensor,
    *,
    context: Tensor | None = None,
    context_mask: Tensor | None = None,
    decay: float = 0.8,
) -> tuple[Tensor, Tensor]:
    """Self-distillation loss of the Medusa heads on the base model's own predictions (Medusa paper §2.3.2).

    Head ``k`` (1-based) at position ``t`` is trained towards the base model's distribution at position ``t + k``
    (the base's prediction of token ``t + k + 1``): ``sum_k decay^k * KL(p_base[t + k] || p_head_k[t])``, averaged
    over positions. The backbone runs without gradients (frozen); only the heads learn.

    Args:
        model: a :class:`cosmos.ar.Transformer` with ``medusa_heads``.
        tokens: int64 ``[B, S]`` training sequences (``S > K + 1``).
    Returns:
        ``(loss scalar float32, per-head top-1 agreement with the base [K])``.
    """
    if model.medusa_heads is None:
        raise ValueError("the model has no Medusa heads; call add_medusa_heads(model, K) first")
    num_heads = model.medusa_heads.num_heads
    if tokens.shape[1] <= num_heads + 1:
        raise ValueError(f"sequences of {tokens.shape[1]} tokens are too short for {num_heads} heads")
    with torch.no_grad():
        hidden = model.hidden_states(tokens, None, context, context_mask)  # [B, S, dim]
        base_logp = torch.log_softmax(model.output(hidden).float(), dim=-1)  # [B, S, V]
    head_logits = model.medusa_heads(hidden, model.output)  # [K, B, S, V]
    losses, agreement = [], []
    for k in range(1, num_heads + 1):
        target = base_logp[:, k:]  # base at t + k
        pred = torch.log_softmax(head_logits[k - 1, :, :-k].float(), dim=-1)  # head k at t
        kl = (target.exp() * (target - pred)).sum(dim=-1).mean()
        losses.append(decay**k * kl)
        agreement.append((pred.argmax(-1) == target.argmax(-1)).float().mean())
    return torch.stack(losses).sum(), torch.stack(agreement)


@torch.inference_mode()
def self_distillation_sequences(
    model,
    prompts: Tensor,
    num_new_tokens: int,
    *,
    context: Tensor | None = None,
    context_mask: Tensor | None = None,
    temperature: float = 0.0,
    top_p: float | None = DEFAULT_TOP_P,
    batch_size: int = 32,
    seed: int = 0,
    progress: bool = True,
) -> Tensor:
    """Training sequences for the Medusa heads generated by the base model itself (Medusa paper §2.3.2).

    Heads distilled on the base model's own continuations learn exactly what they must draft at inference; with
    ``temperature=0`` (the default) these are greedy roll-outs, the data that maximizes greedy acceptance.

    Args:
        model: a :class:`cosmos.ar.Transformer` (heads, if any, are not used).
        prompts: int64 ``[N, P]`` prompts (Video2World: ``<bov>`` + the conditioning latent frames).
        num_new_tokens: tokens to generate after each prompt.
        context, context_mask: ``[N, L, context_dim]`` / bool ``[N, L]`` cross-attention inputs, if the model has them.
        temperature, top_p: sampling settings of :func:`cosmos.ar.generate.generate` (0 = greedy).
        batch_size: prompts decoded together.
        seed: noise seed of the first batch (batch ``i`` uses ``seed + i``).
    Returns:
        int64 ``[N, P + num_new_tokens]``: each prompt followed by its continuation.
    Raises:
        ShapeError: prompts not int ``[N, P]``, a context / context_mask with other than ``N`` rows, or as
            :func:`cosmos.ar.generate.generate`.
    """
    if prompts.dim() != 2 or prompts.dtype not in (torch.int64, torch.int32):
        raise ShapeError(f"prompts must be int64 [N, P], got {tuple(prompts.shape)} {prompts.dtype}")
    for name, value in (("context", context), ("context_mask", context_mask)):
        if value is not None and value.shape[0] != prompts.shape[0]:
            raise ShapeError(f"{name} has {value.shape[0]} rows for {prompts.shape[0]} prompts")
    rows = []
    starts = range(0, prompts.shape[0], batch_size)
    for i, start in enumerate(tqdm(starts, disable=not progress, desc="self-distillation roll-outs")):
        end = start + batch_size
        new, _ = generate(
            model, prompts[start:end], num_new_tokens,
            context=None if context is None else context[start:end],
            context_mask=None if context_mask is None else context_mask[start:end],
            temperature=temperature, top_p=top_p, seed=seed + i, progress=False,
        )  # fmt: skip
        rows.append(torch.cat([prompts[start:end], new], dim=1))
    return torch.cat(rows)


@torch.inference_mode()
def medusa_generate(
    model,
    prompt: Tensor,
    num_new_tokens: int,
    *,
    context: Tensor | None = None,
    context_mask: Tensor | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float | None = DEFAULT_TOP_P,
    top_k: int | None = None,
    seed: int = 0,
    num_drafts: int | None = None,
    progress: bool = True,
) -> tuple[Tensor, DecodeStats]:
    """Speculative decoding with the Medusa heads over a linear draft chain (spec §6.3, "sample and compare").

    Each round: the pending token ``y0`` (sampled, not yet in the cache) and the heads' argmax drafts
    ``d1 .. dK`` (read from the hidden state that produced ``y0``) go through **one** base forward at positions
    ``P .. P+K``. Then, in order, ``y_i`` is drawn from the base logits at position ``P+i-1`` with the user's
    sampler; while ``y_i == d_i`` the draft is accepted; the first ``y_i`` that differs is emitted (it is a correct
    sample from the base conditional) and becomes the next pending token; if every draft is accepted the sample at
    ``P+K`` is. Every emitted token is thus a draw from the base model's own tempered/top-p conditional given the
    tokens before it, so the output distribution is exactly plain decoding's. Token ``j``'s noise depends only on
    ``(seed, j)`` (:func:`cosmos.ar.generate.draw_noise`), so for a seed the tokens equal :func:`generate`'s
    (greedy: identical by construction; sampled: up to float rounding of the logits).

    Rejected cache slots are simply overwritten later: positions are absolute and the position mask hides them.

    Args:
        model: a :class:`cosmos.ar.Transformer` with ``medusa_heads``.
        prompt: int64 ``[B, P]`` (rows are decoded one after another).
        num_new_tokens: tokens to generate per row.
        num_drafts: drafts per round (default: all heads); clamped so no position passes the end.
        Others: as :func:`cosmos.ar.generate.generate`.
    Returns:
        ``(new tokens int64 [B, num_new_tokens], DecodeStats)``; ``stats.mean_accepted_length`` = tokens per
        forward pass after the prefill (accepted drafts + 1).
    Raises:
        ValueError: the model has no Medusa heads. ShapeError: as :func:`generate`.
    """
    if model.medusa_heads is None:
        raise ValueError(
            "the model has no Medusa heads; load a model with num_medusa_heads > 0 or add_medusa_heads()"
        )
    num_drafts = (
        model.medusa_heads.num_heads if num_drafts is None else min(num_drafts, model.medusa_heads.num_heads)
    )
    total = _check_prompt(model, prompt, num_new_tokens, context, context_mask)
    rows, passes, prefill_seconds, decode_seconds = [], 0, 0.0, 0.0
    for row in range(prompt.shape[0]):
        tokens, row_passes, row_prefill, row_decode = _medusa_row(
            model, prompt, row, num_new_tokens, total,
            context=None if context is None else context[row : row + 1],
            context_mask=None if context_mask is None else context_mask[row : row + 1],
            sampling=dict(temperature=temperature, top_p=top_p, top_k=top_k),
            seed=seed, num_drafts=num_drafts, progress=progress,
        )  # fmt: skip
        rows.append(tokens)
        passes += row_passes
        prefill_seconds += row_prefill
        decode_seconds += row_decode
    return torch.stack(rows), DecodeStats(num_new_tokens, len(rows), passes, prefill_seconds, decode_seconds)


def _medusa_row(
    model, prompt, row, num_new_tokens, total, *, context, context_mask, sampling, seed, num_drafts, progress
):
    batch, prompt_len = prompt.shape
    device, vocab = prompt.device, model.config.vocab_size
    greedy = sampling["temperature"] == 0

    # noise of not-yet-emitted indices, kept across rounds (a rejected position's noise is reused next round)
    drawn: dict[int, Tensor] = {}

    def noise(first: int, count: int) -> Tensor | None:
        # the noise of token j is row `row` of plain decoding's [B, V] draw for index j
        if greedy:
            return None
        for index in [index for index in drawn if index < first]:
            del drawn[index]
        for index in range(first, first + count):
            if index not in drawn:
                drawn[index] = draw_noise(seed, index, (batch, vocab), device)[row]
        return torch.stack([drawn[index] for index in range(first, first + count)])

    model.setup_cache(1, total)
    try:
        start = time.perf_counter()
        hidden = model.hidden_states(
            prompt[row : row + 1], torch.arange(prompt_len, device=device), context, context_mask
        )
        last_hidden = hidden[:, -1:]  # [1, 1, dim]: produced the pending token
        pending = sample(model.output(last_hidden)[0], noise(0, 1), **sampling)  # [1]
        _synchronize(device)
        prefill_seconds = time.perf_counter() - start
        emitted = [pending]
        num_emitted, position, passes = 1, prompt_len, 0
        bar = tqdm(total=num_new_tokens, initial=1, disable=not progress, desc="medusa decoding", unit="tok")
        start = time.perf_counter()
        while num_emitted < num_new_tokens:
            k = min(num_drafts, num_new_tokens - num_emitted)
            drafts = model.medusa_heads(last_hidden, model.output)[:k, 0, -1].argmax(dim=-1)  # [k]
            chain = torch.cat([pending, drafts])[None]  # [1, k + 1]: y0, d1 .. dk
            hidden = model.hidden_states(chain, torch.arange(position, position + k + 1, device=device))
            logits = model.output(hidden)[0]  # [k + 1, V]: row i predicts position + i + 1
            samples = sample(logits, noise(num_emitted, k + 1), **sampling)  # y1 .. y(k+1)
            accepted = int(torch.cumprod((samples[:k] == drafts).long(), dim=0).sum())  # one sync per round
            new = samples[: accepted + 1]  # accepted drafts (== samples), then the correcting / bonus sample
            emitted.append(new)
            num_emitted += accepted + 1
            position += accepted + 1
            pending = samples[accepted : accepted + 1]
            last_hidden = hidden[:, accepted : accepted + 1]
            passes += 1
            bar.update(min(accepted + 1, num_new_tokens - bar.n))
        bar.close()
        _synchronize(device)
        decode_seconds = time.perf_counter() - start
    finally:
        model.clear_cache()
    return torch.cat(emitted)[:num_new_tokens], passes, prefill_seconds, decode_seconds
