"""Roll-outs past one training clip, written once for every world model (design.md section 8).

:class:`ChunkedWorldModel` implements the :class:`cosmos.core.WorldModel` methods (``rollout``,
``encode_context``, ``predict``, ``decode``) on top of three model-specific hooks:

* ``encode_frames(video) -> chunk``: pixel frames (a valid tokenizer length) to a latent or token chunk;
* ``decode_chunk(chunk) -> video``: a chunk back to pixels;
* ``generate_chunk(prompt, prompt_frames, actions, num_frames, seed, **options) -> chunk``: complete a chunk whose
  first ``prompt_frames`` pixel frames are given (as latent/token frames) to at least ``num_frames`` frames, under
  the chunk's actions ``[B, chunk_frames - 1, A]`` (zeros past the known ones).

The bookkeeping (``WorldState.chunks``, ``frames``, ``overlaps``, ``actions``):

1. ``encode_context`` encodes the context (``T0`` frames) as chunk 0 holding ``T0`` frames.
2. ``predict`` extends the newest chunk **in place from the latents/tokens it already has** while it holds no more
   frames than the model may be conditioned on (``max_condition_frames``) and its frames fill whole latent frames;
   otherwise it starts a new chunk from the last ``continuation_frames`` predicted pixel frames, decoded and
   re-encoded. Re-encoding is unavoidable there: a causal tokenizer encodes the first frame of a clip on its own
   (Cosmos paper section 3.1), so the latent of a clip's first frame differs from any latent frame inside a chunk.
3. Actions of transitions that are not known (inside a given context, or past the requested frames when a chunk
   is padded to the training length) are zeros; a model trained on whole clips sees its usual action count.

A chunk's latent may cover more frames than it holds (e.g. a diffusion model always generates a whole clip);
``decode`` keeps only the frames each chunk holds and drops each chunk's overlap with the previous one.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from cosmos.core.errors import ShapeError
from cosmos.core.safety import guard_text, guard_video, resolve_guardrail
from cosmos.core.types import Latent, TokenGrid
from cosmos.core.world_model import Rollout, WorldState, check_actions, check_context

__all__ = ["ChunkedWorldModel", "concat_states"]

Chunk = Latent | TokenGrid


class ChunkedWorldModel:
    """Mixin: the :class:`cosmos.core.WorldModel` methods from three hooks (see the module docstring).

    A subclass provides ``tokenizer``, ``fps``, ``resolution``, ``action_dim``, ``context_frames``,
    ``chunk_frames``, ``max_condition_frames`` (frames a chunk may hold and still be extended in place) and the
    hooks ``encode_frames``, ``decode_chunk`` and ``generate_chunk``. ``continuation_frames`` (frames a new chunk
    re-encodes from the previous one) defaults to the longest context length.
    """

    # ------------------------------------------------------------------ hooks (model-specific)
    def encode_frames(self, video: torch.Tensor) -> Chunk:  # pragma: no cover - interface
        raise NotImplementedError

    def decode_chunk(self, chunk: Chunk) -> torch.Tensor:  # pragma: no cover - interface
        raise NotImplementedError

    def generate_chunk(
        self,
        prompt: Chunk,
        prompt_frames: int,
        actions: torch.Tensor | None,
        num_frames: int,
        seed: int,
        **options: Any,
    ) -> Chunk:  # pragma: no cover - interface
        raise NotImplementedError

    def text_options(self, text: str | Sequence[str]) -> dict[str, Any]:
        """Sampler options that condition on ``text`` (models with a text encoder override this).

        Raises:
            ShapeError: this model takes no text.
        """
        raise ShapeError(f"{type(self).__name__} takes no text here: drop text=")

    @property
    def continuation_frames(self) -> int:
        """Pixel frames a new chunk takes over from the previous one (the longest trained context)."""
        return max(self.context_frames)

    # ------------------------------------------------------------------ the contract
    def encode_context(self, video: torch.Tensor) -> WorldState:
        """Encode ``video`` float ``[B, 3, T0, H, W]`` in [-1, 1] (``T0`` in ``context_frames``, ``H x W`` =
        ``resolution``) as a one-chunk :class:`WorldState` holding ``T0`` frames, with zero context actions.

        Raises:
            ShapeError: see :func:`cosmos.core.check_context`.
        """
        check_context(video, resolution=self.resolution, context_frames=self.context_frames)
        chunk = self.encode_frames(video.float())
        frames = video.shape[2]
        actions = None
        if self.action_dim:
            actions = torch.zeros(video.shape[0], frames - 1, self.action_dim)
        return WorldState((chunk,), (frames,), (0,), actions)

    @torch.no_grad()
    def predict(
        self,
        state: WorldState,
        actions: torch.Tensor | None = None,
        *,
        num_frames: int | None = None,
        seed: int | None = None,
        max_batch: int | None = None,
        **options: Any,
    ) -> WorldState:
        """Extend ``state`` by ``N`` predicted frames (Cosmos paper section 1: future given past and actions).

        Args:
            state: a :class:`WorldState` of ``B0`` roll-outs (from :meth:`encode_context` or :meth:`predict`).
            actions: float ``[B, N, action_dim]`` (or ``[N, action_dim]``), one per predicted frame transition, in
                the model's units; a one-row ``state`` broadcasts to ``B`` candidates (planning). ``None`` for a
                model without actions (then pass ``num_frames``).
            num_frames: ``N`` (default: the number of actions).
            seed: sampling seed (default 0); chunk ``c`` of the roll-out uses ``seed + c``, and every row of one
                call shares that seed, so candidates are compared under the same noise.
            max_batch: at most this many rows go through the model at once (bounded memory); results do not
                depend on it for deterministic models.
            options: the model's sampler options (e.g. ``num_steps``, ``temperature``).

        Returns:
            A :class:`WorldState` with ``B`` rows holding ``state.num_frames + N`` frames.

        Raises:
            ShapeError: bad actions (:func:`cosmos.core.check_actions`), rows that do not broadcast, ``N < 1``.
        """
        count = num_frames if num_frames is not None else None
        actions = check_actions(actions, action_dim=self.action_dim, num_frames=count)
        if actions is None and num_frames is None:
            raise ShapeError("pass num_frames (this world model takes no actions)")
        steps = actions.shape[1] if actions is not None else int(num_frames)
        if steps < 1:
            raise ShapeError(f"num_frames must be >= 1, got {steps}")
        rows = actions.shape[0] if actions is not None else state.batch_size
        state, actions = _broadcast(state, actions, rows)
        if max_batch is not None and max_batch < 1:
            raise ShapeError(f"max_batch must be >= 1, got {max_batch}")
        if max_batch is not None and rows > max_batch:
            parts = [
                self.predict(
                    state.select(slice(start, start + max_batch)),
                    None if actions is None else actions[start : start + max_batch],
                    num_frames=steps,
                    seed=seed,
                    **options,
                )
                for start in range(0, rows, max_batch)
            ]
            return concat_states(parts)
        return self._extend(state, actions, steps, 0 if seed is None else int(seed), options)

    def decode(self, state: WorldState) -> torch.Tensor:
        """Pixels of ``state``: float32 ``[B, 3, state.num_frames, H, W]`` in [-1, 1] (every chunk decoded, the
        frames it holds kept, its overlap with the previous chunk dropped)."""
        parts = []
        for chunk, frames, overlap in zip(state.chunks, state.frames, state.overlaps):
            video = self.decode_chunk(chunk).float().clamp(-1, 1)
            if video.shape[2] < frames:
                raise ShapeError(f"a chunk decodes to {video.shape[2]} frames but holds {frames}")
            parts.append(video[:, :, overlap:frames].cpu())
        return torch.cat(parts, dim=2)

    @torch.no_grad()
    def rollout(
        self,
        video: torch.Tensor,
        actions: torch.Tensor | None = None,
        *,
        num_frames: int | None = None,
        text: str | Sequence[str] | None = None,
        seed: int | None = None,
        max_batch: int | None = None,
        guardrail: Any = "auto",
        **options: Any,
    ) -> Rollout:
        """Predict ``N`` frames after the context ``video [B, 3, T0, H, W]`` (``N`` may exceed one clip).

        Args:
            video: float ``[B, 3, T0, H, W]`` in [-1, 1] at :attr:`resolution`, ``T0`` in :attr:`context_frames`.
            actions: ``[B, N, action_dim]`` (or ``[N, action_dim]``), the action of each predicted transition.
            num_frames: ``N`` (default: the number of actions; required for a model without actions).
            text: a prompt (or one per row); only for models that take text (others raise ShapeError). The
                pre-guard checks it before any model runs.
            seed, max_batch, options: as in :meth:`predict`.
            guardrail: ``"auto"``, ``None`` (explicit, logged opt-out) or a guardrail object
                (:mod:`cosmos.core.safety`): the prompt is checked first, the predicted video last.

        Returns:
            :class:`Rollout`: ``video`` float32 ``[B, 3, T0 + N, H, W]`` (the given context, then the prediction),
            ``states``, ``timings`` (seconds: ``encode``, ``predict``, ``decode``, ``guardrail``).

        Raises:
            ShapeError: a bad context (:func:`cosmos.core.check_context`), bad actions, text for a model without
                text, an action count other than ``num_frames``.
            GuardrailBlocked: the guardrail blocked the prompt or the predicted video.
        """
        check_context(video, resolution=self.resolution, context_frames=self.context_frames)
        check_actions(actions, action_dim=self.action_dim, num_frames=num_frames)
        guard = resolve_guardrail(
            guardrail, nvidia_checkpoint=bool(getattr(self, "nvidia_checkpoint", False))
        )
        timings: dict[str, float] = {}
        if text is not None:
            prompts = [text] if isinstance(text, str) else list(text)
            guard_text(guard, prompts)
            start = time.perf_counter()
            options = {**options, **self.text_options(prompts)}
            timings["text"] = time.perf_counter() - start
        start = time.perf_counter()
        state = self.encode_context(video)
        timings["encode"] = time.perf_counter() - start
        start = time.perf_counter()
        state = self.predict(state, actions, num_frames=num_frames, seed=seed, max_batch=max_batch, **options)
        timings["predict"] = time.perf_counter() - start
        start = time.perf_counter()
        predicted = self.decode(state)
        timings["decode"] = time.perf_counter() - start
        context = video.float().cpu().expand(state.batch_size, -1, -1, -1, -1)
        out = torch.cat([context, predicted[:, :, video.shape[2] :]], dim=2)
        start = time.perf_counter()
        out = guard_video(guard, out)
        timings["guardrail"] = time.perf_counter() - start
        return Rollout(out, state, timings, num_context_frames=video.shape[2])

    # ------------------------------------------------------------------ bookkeeping
    def _extend(
        self, state: WorldState, actions: torch.Tensor | None, steps: int, seed: int, options: dict
    ) -> WorldState:
        """The chunk loop of :meth:`predict` for one batch."""
        chunks, frames, overlaps = list(state.chunks), list(state.frames), list(state.overlaps)
        history = state.actions
        if actions is not None:
            history = actions if history is None else torch.cat([history.to(actions), actions], dim=1)
        target = state.num_frames + steps
        temporal = self.tokenizer.temporal_compression
        while _total(frames, overlaps) < target:
            held = frames[-1]
            whole = (held - 1) % temporal == 0
            if not (held < self.chunk_frames and held <= self.max_condition_frames and whole):
                keep = self.continuation_frames
                tail = self.decode_chunk(chunks[-1]).float().clamp(-1, 1)[:, :, held - keep : held]
                chunks.append(self.encode_frames(tail))
                frames.append(keep)
                overlaps.append(keep)
                held = keep
            first = _total(frames, overlaps) - held  # global index of the newest chunk's first frame
            wanted = min(self.chunk_frames, target - first)
            chunk_actions = None
            if history is not None:
                chunk_actions = history.new_zeros(history.shape[0], self.chunk_frames - 1, self.action_dim)
                known = history[:, first : first + self.chunk_frames - 1]
                chunk_actions[:, : known.shape[1]] = known
                chunk_actions[:, wanted - 1 :] = 0  # transitions past the requested frames are unknown
            prompt = _first_latent_frames(chunks[-1], 1 + (held - 1) // temporal)
            chunks[-1] = self.generate_chunk(
                prompt, held, chunk_actions, wanted, seed + len(chunks) - 1, **options
            )
            frames[-1] = wanted
        return WorldState(tuple(chunks), tuple(frames), tuple(overlaps), history, dict(state.extras))


def _total(frames: list[int], overlaps: list[int]) -> int:
    return sum(frames) - sum(overlaps)


def _first_latent_frames(chunk: Chunk, count: int) -> Chunk:
    """The first ``count`` latent (token) frames of a video chunk."""
    if isinstance(chunk, Latent):
        return chunk.replace(z=chunk.z[:, :, :count])
    codes = None if chunk.codes is None else chunk.codes[:, :, :count]
    return chunk.replace(indices=chunk.indices[:, :count], codes=codes)


def _expand_chunk(chunk: Chunk, rows: int) -> Chunk:
    if isinstance(chunk, Latent):
        return chunk.replace(z=chunk.z.expand(rows, *chunk.z.shape[1:]))
    codes = None if chunk.codes is None else chunk.codes.expand(rows, *chunk.codes.shape[1:])
    return chunk.replace(indices=chunk.indices.expand(rows, *chunk.indices.shape[1:]), codes=codes)


def _broadcast(
    state: WorldState, actions: torch.Tensor | None, rows: int
) -> tuple[WorldState, torch.Tensor | None]:
    """Broadcast a one-row state to ``rows`` candidates (or one-row actions to the state's rows)."""
    if actions is not None and actions.shape[0] == 1 and state.batch_size > 1:
        return state, actions.expand(state.batch_size, -1, -1)
    if state.batch_size == rows:
        return state, actions
    if state.batch_size != 1:
        raise ShapeError(
            f"the state holds {state.batch_size} roll-outs but actions have {rows} rows "
            "(pass one row per roll-out, or a one-row state to score candidates)"
        )
    chunks = tuple(_expand_chunk(chunk, rows) for chunk in state.chunks)
    history = None if state.actions is None else state.actions.expand(rows, -1, -1)
    return WorldState(chunks, state.frames, state.overlaps, history, dict(state.extras)), actions


def concat_states(states: Sequence[WorldState]) -> WorldState:
    """Stack roll-outs with the same chunk structure along the batch (e.g. the parts of a ``max_batch`` split).

    Raises:
        ShapeError: the states have different chunk structures.
    """
    first = states[0]
    for other in states[1:]:
        if other.frames != first.frames or other.overlaps != first.overlaps:
            raise ShapeError("cannot concatenate states with different chunk structures")
    chunks = []
    for index, chunk in enumerate(first.chunks):
        parts = [state.chunks[index] for state in states]
        if isinstance(chunk, Latent):
            chunks.append(chunk.replace(z=torch.cat([part.z for part in parts])))
        else:
            codes = None if chunk.codes is None else torch.cat([part.codes for part in parts])
            chunks.append(chunk.replace(indices=torch.cat([part.indices for part in parts]), codes=codes))
    actions = None if first.actions is None else torch.cat([state.actions for state in states])
    return WorldState(tuple(chunks), first.frames, first.overlaps, actions, dict(first.extras))
