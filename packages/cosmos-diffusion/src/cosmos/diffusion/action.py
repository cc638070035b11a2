"""Action conditioning layers of the post-trained DiT (spec §11.2): ours and NVIDIA's released one.

Both map an action ``[B, A, 7]`` (Bridge: Δxyz, Δrpy, gripper) to ``(a_D [B, D], a_3D [B, 3D])``;
:meth:`cosmos.diffusion.DiT.time_conditioning` adds ``a_3D`` to the AdaLN-LoRA term and, for the ``"nano"``
layer only, ``a_D`` to the timestep sinusoid before the AdaLN RMSNorm. ``DiTConfig.action_embedding`` picks one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn.functional as F
from torch import Tensor, nn

if TYPE_CHECKING:
    from .dit import DiTConfig

ACTION_EMBEDDINGS = ("nano", "predict1")
"""The action layers :class:`~cosmos.diffusion.DiTConfig` knows (see its ``action_embedding``)."""


class ActionEmbedding(nn.Module):
    """Our ``"nano"`` action layer (NeMo-style): ``a_D = MLP(7A -> D -> D)``, ``a_3D = MLP(7A -> 4D -> 3D)``.

    ``a_D`` is added to the timestep sinusoid before the AdaLN RMSNorm, ``a_3D`` to the AdaLN-LoRA term
    (:meth:`DiT.time_conditioning`); all ``A`` action vectors are flattened. The shipped
    ``nano-v2w-action`` model uses this layer. The output layers start at zero so a post-trained model
    starts exactly at its base model.
    """

    affects_emb = True

    def __init__(self, in_features: int, dim: int) -> None:
        super().__init__()
        self.to_emb = nn.Sequential(nn.Linear(in_features, dim), nn.GELU(), nn.Linear(dim, dim))
        self.to_adaln_lora = nn.Sequential(
            nn.Linear(in_features, 4 * dim), nn.GELU(), nn.Linear(4 * dim, 3 * dim)
        )
        for last in (self.to_emb[-1], self.to_adaln_lora[-1]):
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def output_layers(self) -> tuple[nn.Linear, nn.Linear]:
        return self.to_emb[-1], self.to_adaln_lora[-1]

    def forward(self, action: Tensor) -> tuple[Tensor, Tensor]:
        """``action [B, A, 7]`` -> ``(a_D [B, D], a_3D [B, 3D])``."""
        flat = action.reshape(action.shape[0], -1)
        return self.to_emb(flat), self.to_adaln_lora(flat)


class ActionMLP(nn.Module):
    """timm ``Mlp``: ``fc2(GELU_tanh(fc1(a)))`` with biases (predict1 ``action_embedder_B_*``)."""

    def __init__(self, in_features: int, hidden: int, out_features: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class ReleasedActionEmbedding(nn.Module):
    """NVIDIA's released action layer (``"predict1"``; spec §11.2, ``ActionConditionalVideoExtendGeneralDIT``).

    Two MLPs on the **first** action vector only: ``a_D = MLP(7 -> 4D -> D)`` (official
    ``action_embedder_B_D``) and ``a_3D = MLP(7 -> 4D -> 3D)`` (``action_embedder_B_3D``). The reference adds
    ``a_3D`` to the AdaLN-LoRA term and ``a_D`` to the timestep embedding *after* the AdaLN input was taken
    from it, so ``a_D`` has no effect on the output (:meth:`DiT.time_conditioning` does not compute it); its
    weights exist and load.
    """

    affects_emb = False

    def __init__(self, action_dim: int, dim: int) -> None:
        super().__init__()
        self.to_emb = ActionMLP(action_dim, 4 * dim, dim)
        self.to_adaln_lora = ActionMLP(action_dim, 4 * dim, 3 * dim)
        for last in self.output_layers():
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def output_layers(self) -> tuple[nn.Linear, nn.Linear]:
        return self.to_emb.fc2, self.to_adaln_lora.fc2

    def forward(self, action: Tensor) -> tuple[Tensor, Tensor]:
        """``action [B, T_a >= 1, 7]`` -> ``(a_D [B, D], a_3D [B, 3D])`` from ``action[:, 0]``."""
        first = action[:, 0]  # [B, 7]: the reference ignores every later action vector
        return self.to_emb(first), self.to_adaln_lora(first)


def action_embedding(config: DiTConfig) -> ActionEmbedding | ReleasedActionEmbedding | None:
    """The action layer ``config.action_embedding`` names, or ``None`` without action conditioning."""
    if not config.action_dim:
        return None
    if config.action_embedding == "predict1":
        return ReleasedActionEmbedding(config.action_dim, config.model_channels)
    return ActionEmbedding(config.action_dim * config.action_frames, config.model_channels)
