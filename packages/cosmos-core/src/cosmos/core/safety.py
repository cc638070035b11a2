"""The guardrail hook of the world models (design.md section 6; guardrail spec section 1).

The world models do not depend on cosmos-guard. ``DiffusionWFM.sample`` and ``ARWFM.generate`` take a
``guardrail`` argument resolved here:

* ``"auto"`` (default): ``cosmos.guard.default_guardrail(for_nvidia_checkpoint)`` when cosmos-guard is
  installed: the ``"offline"`` preset for our own models, the full preset for NVIDIA's checkpoints (whose
  licence requires it; it fails closed when its weights are absent). Without cosmos-guard, generating
  with an NVIDIA checkpoint is an error (fail closed) and our own models run unguarded with a warning.
* ``None``: an explicit opt-out, logged as a warning.
* any object with ``check_text(prompt, negative_prompt=None)`` and ``check_video(frames)`` returning a
  report with ``allowed``, ``reason`` (and ``frames`` for videos), such as ``cosmos.guard.Guardrail``.

Inputs pass :func:`guard_text` before any model runs; outputs pass :func:`guard_video`, which raises when
the video is blocked and otherwise applies the guard's edits (face pixelation) to the float video.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, Protocol, runtime_checkable

import torch

from cosmos.core.errors import CosmosError

__all__ = ["GuardrailLike", "GuardrailBlocked", "resolve_guardrail", "guard_text", "guard_video"]

logger = logging.getLogger(__name__)


@runtime_checkable
class GuardrailLike(Protocol):
    """What the world models need of a guardrail (``cosmos.guard.Guardrail`` satisfies it)."""

    def check_text(self, prompt: str, negative_prompt: str | None = None) -> Any: ...

    def check_video(self, frames: Any) -> Any: ...


class GuardrailBlocked(CosmosError):
    """The guardrail blocked a prompt or a generated video; ``.report`` holds its verdict."""

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


def resolve_guardrail(guardrail: Any = "auto", *, nvidia_checkpoint: bool = False) -> GuardrailLike | None:
    """Turn a world model's ``guardrail`` argument into a guardrail object (or ``None`` = opted out).

    Raises:
        GuardrailBlocked: ``"auto"`` for an NVIDIA checkpoint without cosmos-guard installed (fail closed).
        TypeError: an object without ``check_text``/``check_video``.
    """
    if guardrail is None or guardrail is False:
        logger.warning("guardrail disabled by the caller (guardrail=None): prompts and videos are not checked")
        return None
    if isinstance(guardrail, str) and guardrail == "auto":
        try:
            guard = importlib.import_module("cosmos.guard")
        except ImportError:
            if nvidia_checkpoint:
                raise GuardrailBlocked(
                    "NVIDIA's Cosmos checkpoints must run with the guardrail: pip install cosmos-guard "
                    "(or pass guardrail=None to opt out explicitly)"
                ) from None
            logger.warning("cosmos-guard is not installed: generating without the guardrail")
            return None
        return guard.default_guardrail(nvidia_checkpoint)
    if not isinstance(guardrail, GuardrailLike):
        raise TypeError(
            f"guardrail must be 'auto', None or an object with check_text/check_video, got {type(guardrail).__name__}"
        )
    return guardrail


def guard_text(guardrail: GuardrailLike | None, prompts: list[str], negative_prompt: str | None = None) -> None:
    """Pre-guard: check every prompt (with the negative prompt).

    Raises:
        GuardrailBlocked: naming the prompt's index and the guard's reason.
    """
    if guardrail is None:
        return
    for index, prompt in enumerate(prompts):
        report = guardrail.check_text(prompt, negative_prompt)
        if not report.allowed:
            raise GuardrailBlocked(f"prompt {index} blocked by the guardrail: {report.reason}", report)


def guard_video(guardrail: GuardrailLike | None, video: torch.Tensor) -> torch.Tensor:
    """Post-guard every sample of ``video`` (``float [B, 3, T, H, W]`` in ``[-1, 1]``).

    Pixels the guard edits (e.g. pixelated faces) are replaced in the float video; every other value is
    returned unchanged (no uint8 rounding of untouched pixels).

    Raises:
        GuardrailBlocked: a sample was blocked (its index and the guard's reason).
    """
    if guardrail is None:
        return video
    from cosmos.core.video import frames_to_video, video_to_frames

    out = video
    for index in range(video.shape[0]):
        frames = video_to_frames(video[index])  # [T, H, W, 3] uint8
        report = guardrail.check_video(frames)
        if not report.allowed:
            raise GuardrailBlocked(f"generated video {index} blocked by the guardrail: {report.reason}", report)
        edited = getattr(report, "frames", None)
        if edited is None:
            continue
        edited = torch.as_tensor(edited)
        changed = (edited != torch.as_tensor(frames)).any(dim=-1)  # [T, H, W]
        if bool(changed.any()):
            if out is video:
                out = video.clone()
            replacement = frames_to_video(edited)[0].to(device=video.device, dtype=video.dtype)  # [3, T, H, W]
            mask = changed.to(video.device)[None].expand_as(replacement)
            out[index] = torch.where(mask, replacement, out[index])
    return out
