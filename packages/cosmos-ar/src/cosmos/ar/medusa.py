"""Medusa heads and speculative decoding for the Cosmos AR transformer (spec §6; Cai et al. 2024, "Medusa").

Head ``k`` (``k = 1 .. K``) reads the final hidden state of position ``t`` (after the last RMSNorm) and predicts
the token at ``t + k + 1`` (the base output layer predicts ``t + 1``)::

    u_k      = x + SiLU(W_k x + b_k)      # ResBlock, zero-initialized (starts as the identity)
    logits_k = U_k u_k                    # U_k: own [vocab, dim] matrix, or the base output layer (shared)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["MedusaResBlock", "MedusaHeads"]


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

    def __init__(self, dim: int, vocab_size: int, *, num_heads: int, num_layers: int = 1, shared_output: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.heads = nn.ModuleList(
            MedusaHead(dim, vocab_size, num_layers=num_layers, shared_output=shared_output) for _ in range(num_heads)
        )

    def forward(self, hidden: Tensor, base_output: nn.Linear) -> Tensor:
        """Logits of every head.

        Args:
            hidden: final normalized hidden states ``[B, S, dim]``.
            base_output: the base model's output layer (used when the heads share it).
        Returns:
            ``[K, B, S, vocab]`` in the hidden dtype.
        """
        logits = []
        for head in self.heads:
            projected = head.blocks(hidden)
            logits.append((head.output or base_output)(projected))
        return torch.stack(logits, dim=0)
