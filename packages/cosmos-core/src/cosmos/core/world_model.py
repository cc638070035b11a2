"""The world-model contract (design.md section 8): what planners, evaluators and robotics code call.

A world foundation model predicts future video from past video plus a perturbation (robot actions,
trajectory, camera, text; Cosmos paper section 1). Every world model of the platform implements
:class:`WorldModel`, so downstream code depends on this protocol, never on ``DiffusionWFM`` or ``ARWFM``:

* ``rollout(video, actions)`` predicts ``N`` frames after a context ``[B, 3, T0, H, W]``, ``N`` possibly longer
  than one training clip (the model continues chunk after chunk, each chunk conditioned on the last context
  frames of the previous one);
* the latent path ``encode_context(video) -> WorldState``, ``predict(state, actions) -> WorldState`` and
  ``decode(state) -> video`` lets a planner score many candidate action sequences (``B`` rows of ``actions``
  against a one-row context) without decoding pixels.

Conventions: videos are float ``[B, 3, T, H, W]`` in ``[-1, 1]``; ``actions[:, k]`` is the action applied
between predicted frames ``k - 1`` and ``k`` (the transition into frame ``T0 + k``), in the model's documented
units (``action_dim`` components; the nano robot models use ``(dx, dy, dz, droll, dpitch, dyaw, gripper)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

from cosmos.core.errors import ShapeError
from cosmos.core.types import Latent, TokenGrid, VideoTokenizer, check_video

__all__ = ["Rollout", "WorldModel", "WorldState", "check_actions", "check_context"]


@dataclass(frozen=True, eq=False)
class WorldState:
    """What a world model knows about ``B`` roll-outs, in its own latent or token space.

    A roll-out longer than one training clip is a sequence of tokenizer chunks; chunk ``i > 0`` starts with
    ``overlaps[i]`` pixel frames that repeat the end of chunk ``i - 1`` (its conditioning context).

    Attributes:
        chunks: one :class:`Latent` (continuous models) or :class:`TokenGrid` (discrete models) per chunk,
            each with batch ``B``; chunk ``0`` begins with the encoded context.
        frames: pixel frames each chunk stands for (its decoded length; a chunk's latent may cover more
            frames, e.g. a clip padded to the model's training length, which decoding drops).
        overlaps: pixel frames each chunk shares with the previous one (``overlaps[0] == 0``).
        actions: ``float32 [B, num_frames - 1, A]`` actions of the transitions so far (zeros where unknown,
            e.g. inside a given context), or ``None`` for a model without actions.
        extras: model-specific tensors needed to continue (e.g. the last context frames), never required by
            callers.

    Raises:
        ShapeError: chunk batches differ, or the bookkeeping tuples do not have one entry per chunk.
    """

    chunks: tuple[Latent | TokenGrid, ...]
    frames: tuple[int, ...]
    overlaps: tuple[int, ...]
    actions: torch.Tensor | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.chunks:
            raise ShapeError("a WorldState needs at least one chunk")
        if not (len(self.chunks) == len(self.frames) == len(self.overlaps)):
            raise ShapeError(
                f"WorldState: {len(self.chunks)} chunks but {len(self.frames)} frame counts and "
                f"{len(self.overlaps)} overlaps"
            )
        batches = {chunk.batch_size for chunk in self.chunks}
        if len(batches) != 1:
            raise ShapeError(f"WorldState chunks have different batch sizes {sorted(batches)}")
        if self.overlaps[0] != 0:
            raise ShapeError(f"the first chunk cannot overlap a previous one, got overlap {self.overlaps[0]}")

    @property
    def batch_size(self) -> int:
        """``B``: roll-outs (candidates) held."""
        return self.chunks[0].batch_size

    @property
    def num_frames(self) -> int:
        """Pixel frames of the whole roll-out (context included): ``sum(frames) - sum(overlaps)``."""
        return sum(self.frames) - sum(self.overlaps)

    @property
    def last(self) -> Latent | TokenGrid:
        """The newest chunk (what a latent-space cost usually compares with a goal)."""
        return self.chunks[-1]

    def select(self, index: torch.Tensor | Sequence[int] | slice) -> WorldState:
        """The roll-outs ``index`` (rows of every chunk, action and batched extra), e.g. a planner's elites."""
        rows = index if isinstance(index, slice) else torch.as_tensor(index, dtype=torch.long)
        chunks = tuple(_select_rows(chunk, rows) for chunk in self.chunks)
        actions = None if self.actions is None else self.actions[rows]
        extras = {
            key: value[rows]
            if isinstance(value, torch.Tensor) and value.shape[:1] == (self.batch_size,)
            else value
            for key, value in self.extras.items()
        }
        return WorldState(chunks, self.frames, self.overlaps, actions, extras)


def _select_rows(chunk: Latent | TokenGrid, rows: torch.Tensor | slice) -> Latent | TokenGrid:
    if isinstance(chunk, Latent):
        return chunk.replace(z=chunk.z[rows])
    codes = None if chunk.codes is None else chunk.codes[rows]
    return chunk.replace(indices=chunk.indices[rows], codes=codes)


@dataclass(frozen=True, eq=False)
class Rollout:
    """Result of :meth:`WorldModel.rollout`.

    Attributes:
        video: float32 ``[B, 3, T0 + N, H, W]`` in ``[-1, 1]``: the context frames (as given) then the ``N``
            predicted frames.
        states: the model's :class:`WorldState` of the roll-out (latents or tokens of every chunk).
        timings: wall seconds per stage (e.g. ``encode``, ``predict``, ``decode``, ``guardrail``).
        num_context_frames: ``T0``.
    """

    video: torch.Tensor
    states: WorldState
    timings: dict[str, float]
    num_context_frames: int = 0
    """``T0``: frames of the given context at the start of :attr:`video`."""


@runtime_checkable
class WorldModel(Protocol):
    """The contract every cosmos world model satisfies (``isinstance(model, WorldModel)`` checks it).

    Attributes:
        tokenizer: the model's :class:`VideoTokenizer`.
        fps: frames per second of the videos it predicts (its training frame rate).
        resolution: ``(H, W)`` in pixels of its input and output frames.
        action_dim: components of one action (0 when the model takes none).
        context_frames: the context lengths (pixel frames) it was trained with, e.g. ``(1, 5)``.
        chunk_frames: pixel frames of one training clip (context included); longer roll-outs are chunked.
    """

    tokenizer: VideoTokenizer

    @property
    def fps(self) -> float: ...

    @property
    def resolution(self) -> tuple[int, int]: ...

    @property
    def action_dim(self) -> int: ...

    @property
    def context_frames(self) -> tuple[int, ...]: ...

    @property
    def chunk_frames(self) -> int: ...

    def rollout(
        self,
        video: torch.Tensor,
        actions: torch.Tensor | None = None,
        *,
        num_frames: int | None = None,
        text: str | Sequence[str] | None = None,
        seed: int | None = None,
        **sampler_options: Any,
    ) -> Rollout:
        """Predict ``N`` frames after ``video [B, 3, T0, H, W]`` given ``actions [B, N, action_dim]``."""
        ...

    def encode_context(self, video: torch.Tensor) -> WorldState:
        """Encode a context ``[B, 3, T0, H, W]`` (``T0`` in :attr:`context_frames`) into a state."""
        ...

    def predict(
        self, state: WorldState, actions: torch.Tensor, *, seed: int | None = None, **sampler_options: Any
    ) -> WorldState:
        """Extend ``state`` by ``N`` frames (``actions [B, N, A]``; a one-row state broadcasts to ``B``)."""
        ...

    def decode(self, state: WorldState) -> torch.Tensor:
        """The pixels ``[B, 3, state.num_frames, H, W]`` of a state."""
        ...


def check_context(
    video: torch.Tensor, *, resolution: tuple[int, int], context_frames: Sequence[int], name: str = "video"
) -> None:
    """Validate a world-model context ``[B, 3, T0, H, W]`` in [-1, 1] before any compute.

    Raises:
        ShapeError: not a [-1, 1] RGB video (see :func:`check_video`), a resolution other than ``resolution``
            (resize with :func:`cosmos.core.resize_video` first), or ``T0`` not in ``context_frames``.
    """
    check_video(video, name=name)
    height, width = video.shape[-2:]
    if (height, width) != tuple(resolution):
        raise ShapeError(
            f"{name} is {height}x{width}, the world model works at {resolution[0]}x{resolution[1]} "
            "(resize with cosmos.core.resize_video / center_crop_video first)"
        )
    if video.shape[2] not in tuple(context_frames):
        raise ShapeError(
            f"{name} has {video.shape[2]} context frames; this world model takes {tuple(context_frames)} "
            "(pass the last frames of a longer clip)"
        )


def check_actions(
    actions: torch.Tensor | None, *, action_dim: int, num_frames: int | None, batch: int | None = None
) -> torch.Tensor | None:
    """Validate ``actions [B, N, action_dim]`` (or ``[N, action_dim]``) and return them as float32 ``[B, N, A]``.

    Args:
        actions: the actions, one per predicted frame transition; ``None`` for a model without actions.
        action_dim: the model's action size (0: the model takes no actions).
        num_frames: ``N`` predicted frames the caller asked for (``None``: any ``N >= 1``).
        batch: expected rows (``None`` or 1 rows broadcast are both accepted when ``batch`` is ``None``).

    Raises:
        ShapeError: actions given to a model without actions (or missing for one with them), a wrong rank or
            action dimension, an action count other than ``num_frames``, a batch mismatch, NaN or inf values.
    """
    if action_dim == 0:
        if actions is not None:
            raise ShapeError("actions given, but this world model takes no actions (action_dim 0)")
        return None
    if actions is None:
        raise ShapeError(f"this world model is action-conditioned: pass actions [B, N, {action_dim}]")
    actions = torch.as_tensor(actions)
    if actions.ndim == 2:
        actions = actions[None]
    if actions.ndim != 3 or actions.shape[-1] != action_dim:
        raise ShapeError(f"actions must be [B, N, {action_dim}], got shape {tuple(actions.shape)}")
    if not actions.is_floating_point():
        actions = actions.float()
    if actions.shape[1] < 1:
        raise ShapeError("actions must hold at least one step (N >= 1)")
    if num_frames is not None and actions.shape[1] != num_frames:
        raise ShapeError(
            f"got {actions.shape[1]} actions for {num_frames} predicted frames: pass one action per predicted "
            "frame transition"
        )
    if batch is not None and actions.shape[0] not in (1, batch):
        raise ShapeError(f"actions have {actions.shape[0]} rows, expected {batch} (or 1 to broadcast)")
    if not bool(torch.isfinite(actions).all()):
        raise ShapeError("actions contain NaN or inf")
    return actions.float()
