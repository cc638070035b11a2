"""Token generation with a static KV cache (gpt-fast style) and the reference's samplers (spec §5.2, §5.3).

The hot functions, :func:`prefill` and :func:`decode_one_token`, take all randomness as an input tensor
(``noise``, i.i.d. Exp(1) drawn on a CPU generator by :func:`draw_noise`) and never branch on tensor values, so
they can be wrapped in ``torch.compile(fullgraph=True)`` and give the same tokens on every device for a seed.

Sampling rule (NVIDIA's ``sample_top_p``): ``p = softmax(logits / T)``, sort descending, drop a token when the mass
before it already exceeds ``top_p`` (the top token is always kept), renormalize, draw by the exponential race
``argmax(p / E)``, ``E ~ Exp(1)``. ``temperature == 0`` is greedy (argmax).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from cosmos.core import ShapeError, make_generator
from torch import Tensor
from tqdm.auto import tqdm

__all__ = [
    "DecodeStats",
    "top_p_mask",
    "logits_to_probs",
    "sample",
    "draw_noise",
    "prefill",
    "decode_one_token",
    "generate",
]

DEFAULT_TEMPERATURE = 1.0  # shipped CLI default (spec §5.3)
DEFAULT_TOP_P = 0.8


@dataclass(frozen=True)
class DecodeStats:
    """Timing and acceptance numbers of one generation call.

    Attributes:
        num_new_tokens: tokens generated per sequence.
        num_sequences: sequences generated (batch size).
        num_forward_passes: forward passes after the prefill, counted per sequence and summed over sequences
            (plain decoding: ``num_sequences * (num_new_tokens - 1)``).
        prefill_seconds, decode_seconds: wall time of the prefill(s) and of everything after.
    """

    num_new_tokens: int
    num_sequences: int
    num_forward_passes: int
    prefill_seconds: float
    decode_seconds: float

    @property
    def num_decoded_tokens(self) -> int:
        """Tokens produced after the prefills (the prefill's own token is not counted), all sequences."""
        return self.num_sequences * max(self.num_new_tokens - 1, 0)

    @property
    def tokens_per_second(self) -> float:
        """Decode throughput: :attr:`num_decoded_tokens` per second of decoding."""
        return self.num_decoded_tokens / self.decode_seconds if self.decode_seconds > 0 else float("inf")

    @property
    def mean_accepted_length(self) -> float:
        """Tokens emitted per forward pass (1.0 for plain decoding; Medusa: mean accepted drafts + 1)."""
        return self.num_decoded_tokens / max(self.num_forward_passes, 1)


def top_p_mask(probs: Tensor, top_p: float) -> Tensor:
    """Tokens kept by the reference nucleus filter (spec §5.3).

    Args:
        probs: ``[..., V]`` probabilities (already tempered).
        top_p: in ``(0, 1]``.
    Returns:
        bool ``[..., V]``: True where ``(mass of strictly more probable tokens) <= top_p`` in sorted order.
    """
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    preceding = sorted_probs.cumsum(dim=-1) - sorted_probs
    keep_sorted = preceding <= top_p
    return torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)


def logits_to_probs(
    logits: Tensor,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float | None = DEFAULT_TOP_P,
    top_k: int | None = None,
) -> Tensor:
    """Filtered, renormalized sampling distribution, float32 ``[..., V]`` (spec §5.3).

    Top-p: ``softmax(logits / T)`` then :func:`top_p_mask`. Top-k (``top_p=None``): ``logits / max(T, 1e-5)``, keep
    the ``k`` largest, softmax. Neither: plain ``softmax(logits / T)``.

    Raises:
        ValueError: both ``top_p`` and ``top_k`` set, or ``temperature <= 0`` (use greedy instead).
    """
    if top_p is not None and top_k is not None:
        raise ValueError("set only one of top_p and top_k")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 to sample, got {temperature}")
    logits = logits.float()
    if top_k is not None:
        scaled = logits / max(temperature, 1e-5)
        threshold = scaled.topk(top_k, dim=-1).values[..., -1:]
        return torch.softmax(scaled.masked_fill(scaled < threshold, float("-inf")), dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p is None:
        return probs
    probs = probs * top_p_mask(probs, top_p)
    return probs / probs.sum(dim=-1, keepdim=True)


def sample(
    logits: Tensor,
    noise: Tensor | None,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float | None = DEFAULT_TOP_P,
    top_k: int | None = None,
) -> Tensor:
    """Draw one token per row: ``[..., V]`` logits -> int64 ``[...]``.

    Args:
        noise: ``[..., V]`` i.i.d. Exp(1) (from :func:`draw_noise`); unused (may be ``None``) when greedy.
        temperature: 0 = greedy argmax.
    """
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = logits_to_probs(logits, temperature=temperature, top_p=top_p, top_k=top_k)
    return (probs / noise).argmax(dim=-1)  # exponential race == a categorical draw from probs


def draw_noise(seed: int, index: int, shape: tuple[int, ...], device: torch.device | str = "cpu") -> Tensor:
    """I.i.d. Exp(1) noise for :func:`sample` of the ``index``-th generated token, float32 ``shape`` on ``device``.

    Drawn on a CPU generator seeded with ``seed * 2**20 + index`` (then moved), so the noise of a token depends
    only on the seed and its index: plain and Medusa decoding give the same tokens for the same seed, on any device.
    """
    generator = make_generator(seed * 2**20 + index)
    uniform = torch.rand(shape, generator=generator, dtype=torch.float32)
    return (-torch.log1p(-uniform)).clamp_min(1e-20).to(device)


def prefill(
    model,
    tokens: Tensor,
    input_pos: Tensor,
    noise: Tensor | None,
    *,
    context: Tensor | None = None,
    context_mask: Tensor | None = None,
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float | None = DEFAULT_TOP_P,
    top_k: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Run the prompt ``[B, P]`` at positions ``input_pos`` ``[P]`` through the cache; sample the next token.

    Returns:
        ``(next_token int64 [B, 1], logits [B, V] of the last position)``.
    """
    hidden = model.hidden_states(tokens, input_pos, context, context_mask)[
        :, -1
    ]  # only the last position's logits
    logits = model.output(hidden)
    return sample(logits, noise, temperature=temperature, top_p=top_p, top_k=top_k)[:, None], logits


def decode_one_token(
    model,
    token: Tensor,
    input_pos: Tensor,
    noise: Tensor | None,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    top_p: float | None = DEFAULT_TOP_P,
    top_k: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Feed ``token`` ``[B, 1]`` at ``input_pos`` ``[1]`` (cache set up, context cached); sample the next one.

    Returns:
        ``(next_token int64 [B, 1], logits [B, V])``.
    """
    logits = model.output(model.hidden_states(token, input_pos))[:, -1]
    return sample(logits, noise, temperature=temperature, top_p=top_p, top_k=top_k)[:, None], logits


def _check_prompt(model, prompt: Tensor, num_new_tokens: int, context, context_mask) -> int:
    if prompt.dim() != 2 or prompt.shape[1] == 0:
        raise ShapeError(f"prompt must be int64 [B, P] with P >= 1, got {tuple(prompt.shape)}")
    total = prompt.shape[1] + num_new_tokens
    if total > model.config.resolved_max_seq_len:
        raise ShapeError(
            f"prompt ({prompt.shape[1]}) + new tokens ({num_new_tokens}) = {total} exceeds "
            f"max_seq_len={model.config.resolved_max_seq_len}"
        )
    model.clear_cache()
    model.check_inputs(prompt, None, context, context_mask)
    return total


@torch.inference_mode()
def generate(
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
    progress: bool = True,
    compile: bool = False,
) -> tuple[Tensor, DecodeStats]:
    """Plain autoregressive decoding: prefill the prompt, then one token per forward pass (spec §5.1).

    Args:
        model: a :class:`cosmos.ar.Transformer`.
        prompt: int64 ``[B, P]`` (Video2World: ``<bov>`` first).
        num_new_tokens: tokens to generate (``P + num_new_tokens <= max_seq_len``).
        context, context_mask: T5 embeddings ``[B, L, context_dim]`` and bool ``[B, L]`` (Video2World).
        temperature: 0 = greedy; default 1.0 (shipped CLI).
        top_p: nucleus mass, default 0.8 (shipped CLI); ``top_k`` instead when ``top_p`` is None.
        seed: seeds the CPU noise of every token (:func:`draw_noise`); same seed -> same tokens on every device.
        progress: show a tqdm bar.
        compile: wrap :func:`decode_one_token` in ``torch.compile`` (worth it on GPU only).
    Returns:
        ``(new tokens int64 [B, num_new_tokens], DecodeStats)``. The KV cache is released afterwards.
    Raises:
        ShapeError: bad prompt/context, ids out of range, or the sequence does not fit in ``max_seq_len``.
    """
    total = _check_prompt(model, prompt, num_new_tokens, context, context_mask)
    batch, prompt_len = prompt.shape
    device = prompt.device
    vocab = model.config.vocab_size
    greedy = temperature == 0

    def noise(index: int) -> Tensor | None:
        return None if greedy else draw_noise(seed, index, (batch, vocab), device)

    step = decode_one_token
    if compile:
        step = torch.compile(decode_one_token, mode="reduce-overhead", fullgraph=True)
    sampling = dict(temperature=temperature, top_p=top_p, top_k=top_k)
    model.setup_cache(batch, total)
    try:
        start = time.perf_counter()
        input_pos = torch.arange(prompt_len, device=device)
        token, _ = prefill(
            model, prompt, input_pos, noise(0), context=context, context_mask=context_mask, **sampling
        )
        _synchronize(device)
        prefill_seconds = time.perf_counter() - start
        out = torch.empty(batch, num_new_tokens, dtype=torch.int64, device=device)
        if num_new_tokens:
            out[:, :1] = token
        start = time.perf_counter()
        for index in tqdm(range(1, num_new_tokens), disable=not progress, desc="decoding", unit="tok"):
            input_pos = torch.tensor([prompt_len + index - 1], device=device)
            token, _ = step(model, token, input_pos, noise(index), **sampling)
            out[:, index : index + 1] = token
        _synchronize(device)
        decode_seconds = time.perf_counter() - start
    finally:
        model.clear_cache()
    return out, DecodeStats(
        num_new_tokens, batch, batch * max(num_new_tokens - 1, 0), prefill_seconds, decode_seconds
    )


def _synchronize(device: torch.device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
