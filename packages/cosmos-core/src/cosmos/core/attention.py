"""The one place where attention is computed (style.md: "attention goes through one dispatch function").

Backends:

* ``"sdpa"`` (default): :func:`torch.nn.functional.scaled_dot_product_attention`, which picks flash,
  memory-efficient or math kernels by device;
* ``"math"``: the explicit ``softmax(q k^T * scale + mask) v`` in float32, for parity debugging.

New backends (e.g. a varlen flash kernel) are added here, once, for every model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cosmos.core.errors import ShapeError

__all__ = ["attention", "ATTENTION_BACKENDS"]

ATTENTION_BACKENDS = ("sdpa", "math")


def attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    *,
    attn_mask: torch.Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
    backend: str = "sdpa",
) -> torch.Tensor:
    """Multi-head attention ``softmax(query key^T * scale + mask) value`` (Vaswani et al. 2017, eq. 1).

    Args:
        query: ``[B, heads, Lq, D]``.
        key, value: ``[B, heads_kv, Lk, D]``; ``heads`` must be a multiple of ``heads_kv`` (grouped-query
            attention: each key/value head serves ``heads // heads_kv`` query heads).
        attn_mask: boolean (True = attend) or additive float mask broadcastable to ``[B, heads, Lq, Lk]``.
        is_causal: causal mask aligned to the top-left (query i sees keys ``<= i``); not with ``attn_mask``.
        scale: default ``1 / sqrt(D)``.
        backend: one of :data:`ATTENTION_BACKENDS`.

    Returns:
        ``[B, heads, Lq, D]`` in the dtype of ``query``.

    Raises:
        ShapeError: ranks, batch sizes, head dims or head counts do not fit.
        ValueError: unknown backend, or ``attn_mask`` together with ``is_causal``.
    """
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise ShapeError(
            f"attention expects [B, heads, L, D] tensors, got query {tuple(query.shape)}, key {tuple(key.shape)}, "
            f"value {tuple(value.shape)}"
        )
    batch, heads, _, head_dim = query.shape
    if key.shape != value.shape or key.shape[0] != batch or key.shape[-1] != head_dim:
        raise ShapeError(f"key {tuple(key.shape)} / value {tuple(value.shape)} do not fit query {tuple(query.shape)}")
    heads_kv = key.shape[1]
    if heads % heads_kv:
        raise ShapeError(f"query heads ({heads}) must be a multiple of key/value heads ({heads_kv})")
    if attn_mask is not None and is_causal:
        raise ValueError("pass either attn_mask or is_causal, not both")
    if backend == "sdpa":
        # enable_gqa lets each key/value head serve its query group without copying keys and values
        return F.scaled_dot_product_attention(
            query, key, value, attn_mask=attn_mask, is_causal=is_causal, scale=scale, enable_gqa=heads_kv != heads
        )
    if heads_kv != heads:
        key = key.repeat_interleave(heads // heads_kv, dim=1)
        value = value.repeat_interleave(heads // heads_kv, dim=1)
    if backend == "math":
        scale = 1.0 / math.sqrt(head_dim) if scale is None else scale
        scores = torch.matmul(query.float(), key.float().transpose(-2, -1)) * scale  # [B, heads, Lq, Lk]
        if is_causal:
            lq, lk = scores.shape[-2:]
            attn_mask = torch.ones(lq, lk, dtype=torch.bool, device=query.device).tril()
        if attn_mask is not None:
            if attn_mask.dtype == torch.bool:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            else:
                scores = scores + attn_mask.float()
        return torch.matmul(scores.softmax(dim=-1), value.float()).to(query.dtype)
    raise ValueError(f"unknown attention backend {backend!r}; choose one of {ATTENTION_BACKENDS}")
