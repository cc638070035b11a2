"""A drop-in replacement for diffusers' ``CosmosSafetyChecker`` (spec §1.4).

diffusers' Cosmos pipelines hold a ``safety_checker`` module and call, per generation:
``safety_checker.to(device)``, ``check_text_safety(prompt) -> bool`` (False makes the pipeline raise
``ValueError``), and per video ``check_video_safety(frames uint8 [T, H, W, 3]) -> frames | None``. This class
provides the same surface on top of a `Guardrail`, and keeps the last structured report in ``last_report``.

    from cosmos.guard import CosmosGuardSafetyChecker
    pipe = Cosmos2VideoToWorldPipeline.from_pretrained(..., safety_checker=CosmosGuardSafetyChecker("offline"))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .runner import Guardrail
from .verdict import GuardReport

__all__ = ["CosmosGuardSafetyChecker"]


class CosmosGuardSafetyChecker(nn.Module):
    """diffusers-compatible safety checker backed by `Guardrail`.

    Args:
        guardrail: a `Guardrail`, or a preset name for `Guardrail.from_preset` (default ``"offline"``).
        checkpoint_dir: forwarded to `Guardrail.from_preset` for NVIDIA presets.
        allow_unavailable: forwarded to `Guardrail.from_preset` (explicit, logged opt-out of fail-closed).
    """

    def __init__(
        self,
        guardrail: Guardrail | str = "offline",
        *,
        checkpoint_dir: str | Path | None = None,
        allow_unavailable: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(guardrail, str):
            guardrail = Guardrail.from_preset(
                guardrail, checkpoint_dir=checkpoint_dir, allow_unavailable=allow_unavailable
            )
        self.guardrail = guardrail
        self.last_report: GuardReport | None = None
        # diffusers reads .device / .dtype of registered modules; keep a tiny buffer so both exist.
        self.register_buffer("_device_marker", torch.zeros(()), persistent=False)

    def check_text_safety(self, prompt: str, negative_prompt: str | None = None) -> bool:
        """True when `prompt` (and `negative_prompt`, if given) pass the pre-guard."""
        self.last_report = self.guardrail.check_text(prompt, negative_prompt)
        return self.last_report.allowed

    def check_video_safety(self, frames: np.ndarray) -> np.ndarray | None:
        """Face-pixelated ``uint8 [T, H, W, 3]`` copy of `frames`, or None when the video is blocked."""
        self.last_report = self.guardrail.check_video(frames)
        return self.last_report.frames if self.last_report.allowed else None

    def _apply(self, fn, recurse: bool = True):  # called by .to()/.cuda()/.cpu()
        out = super()._apply(fn, recurse)
        self.guardrail.to(self._device_marker.device)
        return out

    @property
    def device(self) -> torch.device:
        return self._device_marker.device

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32
