"""Robot actions into the AR transformer: an MLP of each step's action, read through cross-attention.

Source: the Cosmos autoregressive action-conditioned post-training (paper §6.2 "Robotic manipulation", the
NeMo recipe; spec autoregressive.md §8.3): the action goes through ``Linear(7 -> 256) - ReLU - Linear(256 ->
context_dim)`` and the result replaces the T5 text states as the cross-attention context. The released recipe
predicts one next frame from one action (the embedding repeated 7 times); our world models predict a whole clip,
so every transition's action is embedded on its own (``[B, N, A] -> [B, N, context_dim]``) and a learned
step embedding tells the cross-attention which transition each row belongs to.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cosmos.core import ShapeError

__all__ = ["ActionEmbedding"]


class ActionEmbedding(nn.Module):
    """Per-step action MLP plus a step embedding: actions ``[B, N, action_dim]`` -> context ``[B, N, context_dim]``.

    Args:
        action_dim: components of one action (7 for ``(dx, dy, dz, droll, dpitch, dyaw, gripper)``).
        hidden: width of the MLP (256 in the released recipe).
        context_dim: the transformer's cross-attention context width.
        max_steps: most actions a clip has (``clip_frames - 1``); rows of the step embedding.
    """

    def __init__(self, action_dim: int, hidden: int, context_dim: int, max_steps: int) -> None:
        super().__init__()
        self.action_dim, self.max_steps = action_dim, max_steps
        self.fc1 = nn.Linear(action_dim, hidden)
        self.fc2 = nn.Linear(hidden, context_dim)
        self.step = nn.Embedding(max_steps, context_dim)

    def forward(self, actions: Tensor) -> Tensor:
        """``actions`` float ``[B, N, action_dim]`` with ``1 <= N <= max_steps`` -> ``[B, N, context_dim]``.

        Raises:
            ShapeError: wrong rank or action size, more steps than ``max_steps``, NaN or inf values.
        """
        if actions.ndim != 3 or actions.shape[-1] != self.action_dim:
            raise ShapeError(f"actions must be [B, N, {self.action_dim}], got {tuple(actions.shape)}")
        steps = actions.shape[1]
        if not 1 <= steps <= self.max_steps:
            raise ShapeError(f"got {steps} actions; this model embeds 1 to {self.max_steps} a clip")
        if not bool(torch.isfinite(actions).all()):
            raise ShapeError("actions contain NaN or inf")
        actions = actions.to(self.fc1.weight.dtype)
        return self.fc2(torch.relu(self.fc1(actions))) + self.step.weight[:steps]  # [B, N, context_dim]

    @torch.no_grad()
    def init_identity(self) -> None:
        """Make the embedding return the actions themselves (``context_dim == action_dim``; needs ``hidden >=
        2 action_dim``), using ``x = relu(x) - relu(-x)``: a model trained with raw actions as its context keeps
        its outputs exactly when it gains this embedding, and fine-tunes from there."""
        dim = self.action_dim
        if self.fc2.out_features != dim or self.fc1.out_features < 2 * dim:
            raise ShapeError("init_identity needs context_dim == action_dim and hidden >= 2 * action_dim")
        eye = torch.eye(dim)
        self.fc1.weight.zero_()
        self.fc1.weight[:dim] = eye
        self.fc1.weight[dim : 2 * dim] = -eye
        nn.init.normal_(self.fc1.weight[2 * dim :], std=0.02)
        self.fc1.bias.zero_()
        self.fc2.weight.zero_()
        self.fc2.weight[:, :dim] = eye
        self.fc2.weight[:, dim : 2 * dim] = -eye
        self.fc2.bias.zero_()
        self.step.weight.zero_()
