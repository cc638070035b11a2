"""The paper's world-model protocols on any :class:`cosmos.core.WorldModel`: physics alignment and action following.

Both roll the model out from the first ``context_frames`` true frames and score only the predicted frames
``context_frames .. T - 1`` against the truth, after rounding both to 8 bits (what a video file holds):

* PSNR in dB on ``[-1, 1]`` (data range 2), SSIM (cosmos.core.metrics: 11-tap Gaussian window, sigma 1.5);
* object IoU after the model-free tracking rule of :mod:`cosmos.eval.tracking` (physics only).

Each returns an :class:`~cosmos.eval.table.EvalTable` with the model's rows and, unless ``baselines=False``,
the trivial "repeat last frame" baseline (and for physics the tracking rule's ceiling on the true frames), so a
reader can tell a model that predicts motion from one that freezes the scene.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch

from cosmos.core import ShapeError, WorldModel, WorldState, frames_to_video, psnr, ssim, video_to_frames
from cosmos.core.metrics import psnr_from_mse
from cosmos.eval.episodes import (
    HELDOUT_SEED0,
    PHYSICS_FPS,
    ActionEpisode,
    PhysicsEpisode,
    _as_frames,
    action_episodes,
    physics_episodes,
    simulated_robot_episodes,
)
from cosmos.eval.geometry import camera_pose_recovery, sampson_error
from cosmos.eval.table import EvalTable
from cosmos.eval.tracking import track_objects

__all__ = [
    "consistency_3d",
    "future_scores",
    "quantize",
    "action_following",
    "check_world_model",
    "physics_alignment",
    "repeat_last_frame",
    "rollout_future",
]

REPEAT_LAST = "baseline: repeat last frame"
CEILING = "tracking rule on the true frames (ceiling)"


# ------------------------------------------------------------------------------------------------- shared


def check_world_model(world_model: Any, context_frames: int | None = None) -> None:
    """Raise early unless ``world_model`` satisfies :class:`cosmos.core.WorldModel` (and takes ``context_frames``).

    Raises:
        TypeError: not a WorldModel (names the missing members). ShapeError: ``context_frames`` not among the
            model's ``context_frames``.
    """
    if not isinstance(world_model, WorldModel):
        members = ("tokenizer", "fps", "resolution", "action_dim", "context_frames", "chunk_frames", "rollout",
                   "encode_context", "predict", "decode")  # fmt: skip
        missing = [m for m in members if not hasattr(world_model, m)]
        raise TypeError(
            f"{type(world_model).__name__} does not satisfy cosmos.core.WorldModel (missing: {', '.join(missing)})"
        )
    if context_frames is not None and context_frames not in tuple(world_model.context_frames):
        raise ShapeError(
            f"context_frames={context_frames}, but this world model takes {tuple(world_model.context_frames)}"
        )


def quantize(video: torch.Tensor) -> torch.Tensor:
    """Round ``[-1, 1]`` values to the 8-bit grid (what gets written to disk) so metrics match saved frames."""
    return ((video.float().clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1


def repeat_last_frame(video: torch.Tensor, context_frames: int) -> torch.Tensor:
    """Baseline ``[B, 3, T, H, W]``: the last context frame repeated over frames ``context_frames ..``."""
    out = video.clone()
    out[:, :, context_frames:] = video[:, :, context_frames - 1 : context_frames]
    return out


@torch.no_grad()
def rollout_future(
    world_model: WorldModel,
    video: torch.Tensor,
    actions: torch.Tensor | None,
    context_frames: int,
    *,
    batch_size: int = 8,
    seed: int = 0,
    rollout_options: dict[str, Any] | None = None,
    context_actions: torch.Tensor | None = None,
) -> torch.Tensor:
    """The truth's first ``context_frames`` frames followed by the model's predictions, ``[B, 3, T, H, W]``.

    Rows are rolled out ``batch_size`` at a time with ``world_model.rollout(context, actions, num_frames=N,
    seed=seed + first_row, **rollout_options)``; ``actions`` is ``[B, N, A]`` (``None`` for a model without
    actions).

    ``context_actions`` ``[B, T0 - 1, A]``: the actions of the transitions **inside** the context, when known
    (held-out episodes). ``rollout`` treats them as unknown (zeros, the contract's convention); given here, the
    roll-out takes the contract's latent path instead, ``encode_context`` -> the state with these actions ->
    ``predict(state, actions, num_frames=N, seed=..., **rollout_options)`` -> ``decode`` (same seeds, no
    guardrail), so a model trained on whole clips sees the actions it was trained with.

    Raises:
        ShapeError: the model returns a video of another shape than ``[b, 3, T0 + N, H, W]``, or
            ``context_actions`` is not ``[B, T0 - 1, A]``.
    """
    batch, _, frames, height, width = video.shape
    future = frames - context_frames
    if context_actions is not None and (
        actions is None or tuple(context_actions.shape) != (batch, context_frames - 1, actions.shape[-1])
    ):
        raise ShapeError(
            f"context_actions must be [{batch}, {context_frames - 1}, A] beside actions, got "
            f"{tuple(context_actions.shape)}"
        )
    outputs = []
    for start in range(0, batch, batch_size):
        context = video[start : start + batch_size, :, :context_frames]
        rows = None if actions is None else actions[start : start + batch_size]
        if context_actions is None:
            predicted = world_model.rollout(
                context, rows, num_frames=future, seed=seed + start, **(rollout_options or {})
            ).video
        else:
            known = context_actions[start : start + batch_size].float()
            predicted = _rollout_with_context_actions(
                world_model, context, known, rows, future, seed + start, rollout_options or {}
            )
        expected = (len(context), 3, frames, height, width)
        if tuple(predicted.shape) != expected:
            raise ShapeError(
                f"{type(world_model).__name__}.rollout returned {tuple(predicted.shape)}, expected {expected}"
            )
        outputs.append(predicted[:, :, context_frames:].float().cpu())
    return torch.cat([video[:, :, :context_frames], torch.cat(outputs)], dim=2)


def _rollout_with_context_actions(
    world_model: WorldModel,
    context: torch.Tensor,
    known: torch.Tensor,
    actions: torch.Tensor,
    future: int,
    seed: int,
    options: dict[str, Any],
) -> torch.Tensor:
    """``encode_context`` -> state with the context's actions ``known`` -> ``predict`` -> ``decode``."""
    state = world_model.encode_context(context)
    if known.shape[1]:
        state = WorldState(state.chunks, state.frames, state.overlaps, known, state.extras)
    state = world_model.predict(state, actions, num_frames=future, seed=seed, **options)
    return world_model.decode(state)


def future_scores(
    pred: torch.Tensor, true: torch.Tensor, start: int = 0, *, pooled: bool = False
) -> dict[str, float]:
    """PSNR (dB) and SSIM of predicted frames ``start ..`` of ``pred`` against ``true`` (``[B, 3, T, H, W]`` in
    ``[-1, 1]``), both rounded to 8 bits first.

    ``pooled=False``: the mean over frames and clips of per-frame PSNR (the paper's convention; an exactly
    predicted frame makes it infinite). ``pooled=True``: PSNR of the squared error pooled over all those frames
    and clips (finite unless everything is exact). SSIM is always the mean over frames and clips.

    Raises:
        ShapeError: shapes differ or have the wrong rank.
    """
    p, t = quantize(pred[:, :, start:]), quantize(true[:, :, start:])
    value = psnr_from_mse(float((p.double() - t.double()).pow(2).mean())) if pooled else float(psnr(p, t))
    return {"psnr": value, "ssim": float(ssim(p, t))}


def _name(world_model: Any, name: str | None) -> str:
    return name or type(world_model).__name__


# ------------------------------------------------------------------------------------------------ physics


def _physics_clips(
    world_model: WorldModel, episodes: int | Sequence, num_frames: int | None, fps: float, seed0: int
) -> list[PhysicsEpisode]:
    if isinstance(episodes, int):
        return physics_episodes(episodes, tuple(world_model.resolution), num_frames or world_model.chunk_frames,
                                fps=fps, seed0=seed0)  # fmt: skip
    clips = []
    for index, clip in enumerate(episodes):
        if not all(hasattr(clip, key) for key in ("video", "masks")):
            raise ShapeError(
                f"physics episode {index} needs video and masks (a PhysicsEpisode or PhysicsClip)"
            )
        metadata = getattr(clip, "metadata", {}) or {}
        scene = getattr(clip, "scene", None) or metadata.get("scene", "unknown")
        seed = getattr(clip, "seed", metadata.get("seed", -1))
        clips.append(PhysicsEpisode(np.asarray(clip.video), np.asarray(clip.masks), scene, int(seed)))
    return clips


def _check_clips(
    world_model: WorldModel, video: torch.Tensor, masks: np.ndarray, context_frames: int
) -> None:
    if tuple(video.shape[-2:]) != tuple(world_model.resolution):
        raise ShapeError(
            f"episodes are {tuple(video.shape[-2:])}, the world model works at {tuple(world_model.resolution)}"
        )
    if video.shape[2] <= context_frames:
        raise ShapeError(
            f"episodes have {video.shape[2]} frames: nothing left to predict after {context_frames}"
        )
    if tuple(masks.shape) != (video.shape[0], *video.shape[2:]):
        raise ShapeError(f"masks {masks.shape} do not match the videos {tuple(video.shape)}")


def _physics_rows(
    model: str,
    pred: torch.Tensor | None,
    true: torch.Tensor,
    masks: np.ndarray,
    scenes: list[str],
    context: int,
) -> list[dict]:
    """One row per scene and one over all clips; ``pred=None``: the tracking rule's ceiling (IoU on the truth)."""
    ious = track_objects(quantize(true if pred is None else pred), quantize(true), masks, context)
    rows = []
    for scene in [*dict.fromkeys(scenes), "all"]:
        index = [i for i, s in enumerate(scenes) if scene in ("all", s)]
        scores = (
            {"psnr": None, "ssim": None}
            if pred is None
            else future_scores(pred[index], true[index], context, pooled=True)
        )
        scene_ious = [ious[i] for i in index if not math.isnan(ious[i])]
        iou = float(np.mean(scene_ious)) if scene_ious else math.nan
        rows.append(
            {
                "model": model,
                "scene": scene,
                "context_frames": context,
                "clips": len(index),
                **scores,
                "iou": iou,
            }
        )
    return rows


def physics_alignment(
    world_model: WorldModel,
    context_frames: int = 1,
    episodes: int | Sequence[PhysicsEpisode] = 4,
    *,
    num_frames: int | None = None,
    fps: float = PHYSICS_FPS,
    seed0: int = HELDOUT_SEED0,
    batch_size: int = 8,
    seed: int = 0,
    baselines: bool = True,
    name: str | None = None,
    rollout_options: dict[str, Any] | None = None,
) -> EvalTable:
    """Physics alignment (Cosmos paper section 5.3, Table 20): predict rigid-body physics from the first frames.

    The eight scenes of ``cosmos.curate.sim.physics`` (free fall, tilted slope, U-slope, stable and unstable
    stack, dominoes, seesaw, gyroscope) are rolled out from ``context_frames`` true frames (the paper: 1 or 9;
    the nano models: 1 or 5) with all-zero actions (physics clips have none). Scores on the predicted frames:
    PSNR of the squared error **pooled** over the frames and clips of a row (a static scene is predicted
    exactly by the repeat-last baseline, which would make a per-frame mean infinite), mean SSIM, and the mean
    object IoU (over objects, frames, clips) after :func:`cosmos.eval.tracking.track_objects`.

    Args:
        world_model: any :class:`cosmos.core.WorldModel`.
        context_frames: true frames given to the model (one of ``world_model.context_frames``).
        episodes: clips per scene to simulate (held-out seeds ``seed0 ..``, at the model's resolution,
            ``num_frames`` (default: the model's ``chunk_frames``) frames at ``fps``; needs the ``[sim]`` extra),
            or the clips themselves (:class:`PhysicsEpisode` or ``cosmos.curate.sim.PhysicsClip``).
        batch_size, seed: roll-outs per call, and the seed of the first one (see :func:`rollout_future`).
        baselines: add the repeat-last-frame rows and the tracking rule's ceiling.
        name: the model's name in the rows (default: its class name).
        rollout_options: extra keyword arguments of ``rollout`` (e.g. ``{"num_steps": 20}``).

    Returns:
        an :class:`EvalTable` with one row per (model, scene) and an ``"all"`` row per model; columns
        ``model, scene, context_frames, clips, psnr, ssim, iou``.

    Raises:
        TypeError: not a WorldModel. ShapeError: unsupported ``context_frames``, clips at another resolution,
            too short, or with mismatched masks.
    """
    started = time.perf_counter()
    check_world_model(world_model, context_frames)
    clips = _physics_clips(world_model, episodes, num_frames, fps, seed0)
    true = frames_to_video(np.stack([clip.video for clip in clips]))  # [N, T, H, W, 3] -> [N, 3, T, H, W]
    masks = np.stack([clip.masks for clip in clips]).astype(np.int64)
    scenes = [clip.scene for clip in clips]
    _check_clips(world_model, true, masks, context_frames)
    future = true.shape[2] - context_frames
    actions = torch.zeros(len(true), future, world_model.action_dim) if world_model.action_dim else None
    pred = rollout_future(world_model, true, actions, context_frames, batch_size=batch_size, seed=seed,
                          rollout_options=rollout_options)  # fmt: skip
    rows = _physics_rows(_name(world_model, name), pred, true, masks, scenes, context_frames)
    if baselines:
        rows += _physics_rows(
            REPEAT_LAST, repeat_last_frame(true, context_frames), true, masks, scenes, context_frames
        )
        rows += [
            row
            for row in _physics_rows(CEILING, None, true, masks, scenes, context_frames)
            if row["scene"] == "all"
        ]
    metadata = {
        "protocol": "physics_alignment", "context_frames": context_frames, "clips": len(clips),
        "frames": int(true.shape[2]), "resolution": list(true.shape[-2:]), "fps": fps,
        "seeds": sorted({int(getattr(clip, "seed", -1)) for clip in clips}),
        "psnr": "dB, squared error pooled over the predicted frames and clips of a row, 8-bit frames",
        "iou": "cosmos.eval.tracking: 1-NN colour rule fitted on the true last context frame",
        "rollout_options": {k: repr(v) for k, v in (rollout_options or {}).items()},
        "seconds": round(time.perf_counter() - started, 2),
    }  # fmt: skip
    title = f"physics alignment, {context_frames} context frame(s), {len(clips)} clips"
    return EvalTable(
        title, rows, ("model", "scene", "context_frames", "clips", "psnr", "ssim", "iou"), metadata
    )


# ------------------------------------------------------------------------------------------ action following


def _batches(episodes: Iterable[ActionEpisode], batch_size: int) -> Iterable[list[ActionEpisode]]:
    """Consecutive episodes of equal shape, ``batch_size`` at most per batch."""
    batch: list[ActionEpisode] = []
    for episode in episodes:
        if batch and (len(batch) == batch_size or episode.video.shape != batch[0].video.shape):
            yield batch
            batch = []
        batch.append(episode)
    if batch:
        yield batch


def _frame_scores(pred: torch.Tensor, true: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
    p, t = quantize(pred[:, :, start:]), quantize(true[:, :, start:])
    return psnr(p, t, reduction="none").flatten(), ssim(p, t, reduction="none").flatten()


def action_following(
    world_model: WorldModel,
    episodes: int | Iterable,
    *,
    context_frames: int = 1,
    batch_size: int = 8,
    seed: int = 0,
    baselines: bool = True,
    name: str | None = None,
    rollout_options: dict[str, Any] | None = None,
    context_actions: bool = False,
) -> EvalTable:
    """Action following (Cosmos paper section 5.3 / robotics: Bridge, PSNR 21.14 and SSIM 0.82 for the 7B
    action-conditioned Video2World): predict an episode's future from its first frames and its actions.

    Each episode of ``T`` frames is rolled out from its first ``context_frames`` frames with its actions
    ``actions[context_frames - 1 : T - 1]`` (the transitions into the predicted frames, in the model's action
    units); PSNR (dB) and SSIM are averaged over every predicted frame of every episode (the paper's per-frame
    mean: an exactly predicted frame makes PSNR infinite).

    Args:
        world_model: an action-conditioned :class:`cosmos.core.WorldModel`.
        episodes: held-out episodes (``(video, actions)`` pairs, mappings with those keys, episode objects, or
            any dataset yielding them; see :func:`cosmos.eval.episodes.action_episodes`), or a count of
            simulated Franka episodes (held-out seeds 1,000,000.., the model's ``chunk_frames``; ``[sim]`` extra).
        context_frames, batch_size, seed, baselines, name, rollout_options: as :func:`physics_alignment`.
        context_actions: also give the model the episode's actions ``actions[: context_frames - 1]`` of the
            transitions inside the context (see :func:`rollout_future`); by default they are unknown (zeros,
            the ``WorldModel.rollout`` convention). Only matters for ``context_frames > 1``.

    Returns:
        an :class:`EvalTable` with columns ``model, context_frames, episodes, frames, psnr, ssim``.

    Raises:
        TypeError: not a WorldModel. ShapeError: a model without actions, unsupported ``context_frames``, an
            episode at another resolution, too short, or with actions of another size than ``action_dim``.
    """
    started = time.perf_counter()
    check_world_model(world_model, context_frames)
    if not world_model.action_dim:
        raise ShapeError("action following needs an action-conditioned world model (action_dim 0)")
    if isinstance(episodes, int):
        resolution, frames = tuple(world_model.resolution), world_model.chunk_frames
        episodes = simulated_robot_episodes(episodes, resolution, frames)
    scores: dict[str, list[torch.Tensor]] = {"model": [], "baseline": []}
    count = 0
    for batch in _batches(action_episodes(episodes), batch_size):
        true, actions = _action_batch(world_model, batch, context_frames)
        known = None
        if context_actions:
            known = torch.from_numpy(np.stack([episode.actions[: context_frames - 1] for episode in batch]))
        pred = rollout_future(world_model, true, actions, context_frames, batch_size=batch_size, seed=seed + count,
                              rollout_options=rollout_options, context_actions=known)  # fmt: skip
        scores["model"].append(_frame_scores(pred, true, context_frames))
        scores["baseline"].append(
            _frame_scores(repeat_last_frame(true, context_frames), true, context_frames)
        )
        count += len(batch)
    if not count:
        raise ShapeError("action following got no episodes")
    names = {"model": _name(world_model, name), "baseline": REPEAT_LAST}
    rows = []
    for key in ("model", "baseline") if baselines else ("model",):
        values, similarity = (torch.cat(parts) for parts in zip(*scores[key]))
        rows.append({"model": names[key], "context_frames": context_frames, "episodes": count,
                     "frames": len(values), "psnr": float(values.mean()), "ssim": float(similarity.mean())})  # fmt: skip
    metadata = {"protocol": "action_following", "context_frames": context_frames, "episodes": count,
                "context_actions": "given" if context_actions else "unknown (zeros)",
                "psnr": "dB, mean over predicted frames of per-frame PSNR, 8-bit frames",
                "rollout_options": {k: repr(v) for k, v in (rollout_options or {}).items()},
                "seconds": round(time.perf_counter() - started, 2)}  # fmt: skip
    title = f"action following, {context_frames} context frame(s), {count} episodes"
    return EvalTable(title, rows, ("model", "context_frames", "episodes", "frames", "psnr", "ssim"), metadata)


def _action_batch(
    world_model: WorldModel, batch: list[ActionEpisode], context_frames: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack a batch: video ``[b, 3, T, H, W]`` and the actions of the predicted frames ``[b, T - T0, A]``."""
    true = frames_to_video(np.stack([episode.video for episode in batch]))
    if tuple(true.shape[-2:]) != tuple(world_model.resolution):
        raise ShapeError(
            f"episodes are {tuple(true.shape[-2:])}, the world model works at {tuple(world_model.resolution)}"
        )
    if true.shape[2] <= context_frames:
        raise ShapeError(
            f"episodes have {true.shape[2]} frames: nothing left to predict after {context_frames}"
        )
    actions = torch.from_numpy(np.stack([episode.actions for episode in batch]))
    if actions.shape[-1] != world_model.action_dim:
        raise ShapeError(
            f"episodes have {actions.shape[-1]}-dimensional actions, the model takes {world_model.action_dim}"
        )
    return true, actions[:, context_frames - 1 :]


# ------------------------------------------------------------------------------------------ 3D consistency


def _static_clips(dataset: Iterable, action_dim: int) -> Iterable[ActionEpisode]:
    """Videos (uint8 ``[T, H, W, 3]`` / float ``[3, T, H, W]``) for a model without actions, or anything
    :func:`action_episodes` takes."""
    for index, item in enumerate(dataset):
        if isinstance(item, np.ndarray | torch.Tensor):
            if action_dim:
                raise ShapeError(f"clip {index}: this world model needs actions; pass (video, actions) pairs")
            frames = _as_frames(item, f"clip {index}")
            yield ActionEpisode(frames, np.zeros((len(frames) - 1, 0), np.float32))
        else:
            yield from action_episodes([item])


def _geometry_row(model: str, videos: list[np.ndarray], intrinsics) -> dict[str, Any]:
    """Mean Sampson error (px) over the videos where it is defined, and the share of fully registered videos."""
    errors = [sampson_error(frames) for frames in videos]
    poses = [camera_pose_recovery(frames, intrinsics) for frames in videos]
    defined = [e.value for e in errors if e.defined]
    return {"model": model, "videos": len(videos), "frames": len(videos[0]),
            "sampson_px": float(np.mean(defined)) if defined else math.nan,
            "sampson_defined": f"{len(defined)}/{len(videos)}",
            "pose_success": float(np.mean([p.success for p in poses]))}  # fmt: skip


def consistency_3d(
    world_model: WorldModel,
    episodes: Iterable,
    *,
    context_frames: int = 1,
    intrinsics: np.ndarray | None = None,
    batch_size: int = 8,
    seed: int = 0,
    baselines: bool = True,
    name: str | None = None,
    rollout_options: dict[str, Any] | None = None,
) -> EvalTable:
    """3D consistency of generated static scenes (Cosmos paper section 5.3, Table 19 of v3).

    Each clip of a static scene filmed by a moving camera is rolled out from its first ``context_frames``
    frames (with its actions, e.g. camera motion, for a model that takes them); the **whole** generated video
    (context then prediction) is scored with :func:`cosmos.eval.geometry.sampson_error` (consecutive frame
    pairs, px) and :func:`cosmos.eval.geometry.camera_pose_recovery` (``intrinsics``, default: the pinhole
    guess). Row values: the mean Sampson error over the videos where it is defined (``sampson_defined`` counts
    them) and the share of videos whose every frame pair registers (``pose_success``). With ``baselines`` the
    true clips get their own row, the paper's "real videos" reference (0.431 px, 56.4%).

    Args:
        episodes: clips (uint8 ``[T, H, W, 3]`` or float ``[3, T, H, W]`` for a model without actions), or
            ``(video, actions)`` pairs and the other forms of :func:`cosmos.eval.episodes.action_episodes`.
        context_frames, batch_size, seed, name, rollout_options: as :func:`physics_alignment`.

    Returns:
        an :class:`EvalTable` with columns ``model, videos, frames, sampson_px, sampson_defined, pose_success``.

    Raises:
        TypeError: not a WorldModel. ShapeError: bad clips (resolution, length, actions), no clips.
    """
    started = time.perf_counter()
    check_world_model(world_model, context_frames)
    generated, real = [], []
    for batch in _batches(_static_clips(episodes, world_model.action_dim), batch_size):
        true, actions = _action_batch(world_model, batch, context_frames)
        pred = rollout_future(world_model, true, actions if world_model.action_dim else None, context_frames,
                              batch_size=batch_size, seed=seed + len(real), rollout_options=rollout_options)  # fmt: skip
        generated += list(video_to_frames(quantize(pred)))
        real += [episode.video for episode in batch]
    if not real:
        raise ShapeError("consistency_3d got no clips")
    rows = [_geometry_row(_name(world_model, name), generated, intrinsics)]
    if baselines:
        rows.append(_geometry_row("real videos (the clips themselves)", real, intrinsics))
    metadata = {"protocol": "consistency_3d", "context_frames": context_frames, "videos": len(real),
                "sampson": "px, median over consecutive frame pairs of the whole generated video, mean over videos",
                "pose": "share of videos with every consecutive pair registered",
                "intrinsics": None if intrinsics is None else np.asarray(intrinsics).tolist(),
                "rollout_options": {k: repr(v) for k, v in (rollout_options or {}).items()},
                "seconds": round(time.perf_counter() - started, 2)}  # fmt: skip
    title = f"3D consistency, {context_frames} context frame(s), {len(real)} clips"
    columns = ("model", "videos", "frames", "sampson_px", "sampson_defined", "pose_success")
    return EvalTable(title, rows, columns, metadata)
