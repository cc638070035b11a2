"""The ``rollout`` sub-command shared by every world model's CLI (``cosmos-diffusion rollout``, ``cosmos-ar rollout``).

    cosmos-ar rollout --model nano-ar --input clip.mp4 --actions a.npy --frames 48 --out pred.mp4
    cosmos-diffusion rollout --model nano-v2w-action --input lerobot_dir --episode 3 --out pred.mp4

Input is a video file or a LeRobot dataset folder (``meta/info.json``; read with ``cosmos.curate.lerobot``). Frames
are resized to cover the model's resolution and centre-cropped; the context is ``--context`` frames starting at
``--start``. Actions come from ``--actions`` (``.npy`` or ``.json``, ``[N, action_dim]``) or, for a LeRobot episode,
from the episode itself (the action at frame ``t`` drives the transition to ``t + 1``). Writes the prediction as
an mp4 at the model's fps, a PNG contact sheet beside it, and, when the input holds the true future, a
side-by-side mp4 (truth | prediction) and PSNR/SSIM.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cosmos.core.errors import ShapeError
from cosmos.core.metrics import psnr, ssim
from cosmos.core.video import (
    center_crop_video,
    frames_to_video,
    read_video,
    resize_video,
    save_contact_sheet,
    video_to_frames,
    write_video,
)

__all__ = ["add_rollout_arguments", "run_rollout", "load_rollout_input", "load_actions"]


def add_rollout_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of every ``rollout`` sub-command (the model-specific loader adds ``--model`` and its own)."""
    parser.add_argument("--input", required=True, help="video file, or a LeRobot dataset folder (with --episode)")
    parser.add_argument("--episode", type=int, default=0, help="LeRobot episode index (default 0)")
    parser.add_argument("--camera", default=None, help="LeRobot camera key (default: the first video feature)")
    parser.add_argument("--start", type=int, default=0, help="first context frame in the input (default 0)")
    parser.add_argument("--context", type=int, default=None, help="context frames (default: the model's shortest)")
    parser.add_argument("--actions", type=Path, help="[N, action_dim] actions (.npy or .json)")
    parser.add_argument("--frames", type=int, default=None, help="frames to predict N (default: one per action)")
    parser.add_argument("--out", type=Path, required=True, help="output mp4 (PNG contact sheet beside it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-batch", type=int, default=None)
    parser.add_argument("--no-guardrail", action="store_true", help="explicitly skip the guardrail (logged)")


def load_actions(path: Path) -> torch.Tensor:
    """``.npy`` or ``.json`` actions -> float32 ``[N, A]``.

    Raises:
        ShapeError: an unreadable file or an array that is not 2-D.
    """
    try:
        values = np.load(path, allow_pickle=False) if path.suffix == ".npy" else np.array(json.loads(path.read_text()))
    except (OSError, ValueError) as error:
        raise ShapeError(f"cannot read actions from {path}: {error}") from error
    actions = np.asarray(values, dtype=np.float32)
    if actions.ndim != 2:
        raise ShapeError(f"actions in {path} must be [N, action_dim], got shape {actions.shape}")
    return torch.from_numpy(actions)


def _fit(video: torch.Tensor, resolution: tuple[int, int]) -> torch.Tensor:
    """Resize ``[1, 3, T, h, w]`` to cover ``resolution`` (aspect kept) and centre-crop it."""
    height, width = video.shape[-2:]
    if (height, width) == tuple(resolution):
        return video
    scale = max(resolution[0] / height, resolution[1] / width)
    size = (max(resolution[0], math.ceil(height * scale)), max(resolution[1], math.ceil(width * scale)))
    return center_crop_video(resize_video(video, size), resolution).clamp(-1, 1)


def load_rollout_input(
    path: Path, *, episode: int = 0, camera: str | None = None
) -> tuple[torch.Tensor, torch.Tensor | None, float]:
    """A video file or a LeRobot episode -> ``(video [1, 3, T, H, W] in [-1, 1], actions [T, A] or None, fps)``.

    Raises:
        ShapeError / ConfigError: an unreadable file or dataset (from the readers).
        ImportError: a LeRobot folder without cosmos-curate installed.
    """
    path = Path(path)
    if path.is_dir() and (path / "meta" / "info.json").is_file():
        try:
            from cosmos.curate.lerobot import LeRobotDataset
        except ImportError as error:  # cosmos-core does not depend on cosmos-curate
            raise ImportError("reading a LeRobot dataset needs cosmos-curate[lerobot]") from error
        item = LeRobotDataset(path, camera=camera)[episode]
        return frames_to_video(item.frames), torch.from_numpy(np.asarray(item.actions, np.float32)), item.fps
    frames, fps = read_video(path)
    return frames_to_video(frames), None, fps


def run_rollout(args: argparse.Namespace, load_model: Callable[[argparse.Namespace], Any]) -> int:
    """Run ``rollout`` with the model ``load_model(args)`` returns (any :class:`cosmos.core.WorldModel`).

    Raises:
        ShapeError: a context or action count that does not fit (named before any model runs).
    """
    video, episode_actions, _ = load_rollout_input(args.input, episode=args.episode, camera=args.camera)
    model = load_model(args)
    context_frames = args.context or min(model.context_frames)
    video = _fit(video, model.resolution)
    start, total = args.start, video.shape[2]
    if not 0 <= start <= total - context_frames:
        raise ShapeError(f"--start {start} with --context {context_frames} needs more than the input's {total} frames")
    context = video[:, :, start : start + context_frames]
    actions = load_actions(args.actions) if args.actions is not None else None
    if actions is None and episode_actions is not None and model.action_dim:
        first = start + context_frames - 1  # the action at frame t drives t -> t + 1
        count = args.frames or (len(episode_actions) - first - 1)
        actions = episode_actions[first : first + count]
    if model.action_dim and actions is None:
        raise ShapeError(f"this world model needs actions: pass --actions FILE ([N, {model.action_dim}])")
    frames = args.frames or (len(actions) if actions is not None else model.chunk_frames - context_frames)
    guardrail = None if args.no_guardrail else "auto"
    result = model.rollout(
        context, None if actions is None else actions[None], num_frames=frames, seed=args.seed,
        max_batch=args.max_batch, guardrail=guardrail,
    )  # fmt: skip
    return _write_outputs(args.out, result, video[:, :, start:], model.fps)


def _write_outputs(out: Path, result: Any, truth: torch.Tensor, fps: float) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    pred = result.video
    write_video(out, video_to_frames(pred)[0], fps=fps)
    sheet = save_contact_sheet(out.with_suffix(".png"), [pred[0]], labels=["prediction"], max_frames=12)
    lines = [f"wrote {out} ({pred.shape[2]} frames at {fps:g} fps) and {sheet}"]
    known = min(truth.shape[2], pred.shape[2])
    context = result.num_context_frames
    if known > context:
        true_future, pred_future = truth[:, :, context:known], pred[:, :, context:known]
        both = torch.cat([truth[:, :, :known], pred[:, :, :known]], dim=-1)
        side = out.with_name(out.stem + "_vs_truth.mp4")
        write_video(side, video_to_frames(both)[0], fps=fps)
        score = {"psnr_db": float(psnr(pred_future, true_future)), "ssim": float(ssim(pred_future, true_future))}
        lines.append(f"wrote {side} (truth | prediction); {known - context} frames with truth: {json.dumps(score)}")
    lines.append("timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in result.timings.items()))
    print("\n".join(lines))
    return 0
