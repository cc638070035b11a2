"""Roll-outs and metrics shared by ``examples/demo.py`` and ``benchmarks/quality.py`` (nano models, 64x64).

Conventions: videos are float32 ``[B, 3, T, H, W]`` in [-1, 1]; episodes have 25 frames at 5 fps and 24
actions ``(dx, dy, dz, droll, dpitch, dyaw, gripper)``; with ``context`` pixel frames given (1 or 5, i.e. 1 or 2
latent frames), the predicted frames are ``context .. 24`` and every metric is taken on those frames only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from cosmos.core import Latent, psnr, ssim

NUM_FRAMES = 25
SIZE = 64
FPS = 5.0


@dataclass
class NanoModels:
    cv: object
    dv: object
    v2w: object
    ar: object


def load_models() -> NanoModels:
    """The four shipped nano models by short name, float32 on CPU (weights are stored in float16)."""
    from cosmos.ar import ARWFM
    from cosmos.diffusion import DiffusionWFM
    from cosmos.tokenizer import CausalVideoTokenizer

    cv = CausalVideoTokenizer.from_pretrained("nano-cv4x8x8", dtype=torch.float32)
    dv = CausalVideoTokenizer.from_pretrained("nano-dv4x8x8", dtype=torch.float32)
    v2w = DiffusionWFM.from_pretrained("nano-v2w-action", tokenizer=cv, dtype=torch.float32)
    ar = ARWFM.from_pretrained("nano-ar", tokenizer=dv, dtype=torch.float32)
    return NanoModels(cv, dv, v2w, ar)


def to_video(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``[B, T, H, W, 3]`` -> float32 ``[B, 3, T, H, W]`` in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)


def quantize(video: torch.Tensor) -> torch.Tensor:
    """Round to the 8-bit grid (what gets written to disk) so metrics match the saved frames."""
    return ((video.clamp(-1, 1) + 1) * 127.5).round() / 127.5 - 1


def scores(pred: torch.Tensor, true: torch.Tensor, start: int = 0) -> dict[str, float]:
    """Mean per-frame PSNR (dB) and SSIM of ``pred`` vs ``true`` on frames ``start..``."""
    p, t = quantize(pred[:, :, start:]), quantize(true[:, :, start:])
    return {"psnr": float(psnr(p, t)), "ssim": float(ssim(p, t))}


def pooled_scores(pred: torch.Tensor, true: torch.Tensor, start: int = 0) -> dict[str, float]:
    """PSNR (dB) of the mean squared error pooled over all frames ``start..`` and clips, and mean SSIM: stays
    finite when some frames are predicted exactly (a static scene under the repeat-last baseline)."""
    p, t = quantize(pred[:, :, start:]), quantize(true[:, :, start:])
    mse = float((p - t).pow(2).mean())
    return {"psnr": 10 * float(np.log10(4.0 / max(mse, 1e-12))), "ssim": float(ssim(p, t))}


@torch.no_grad()
def reconstruct(tokenizer, video: torch.Tensor) -> torch.Tensor:
    """Tokenizer round trip ``[B, 3, 25, 64, 64]`` -> same shape, clamped."""
    return tokenizer.decode(tokenizer.encode(video)).float().clamp(-1, 1)


def latent_frames(context: int) -> int:
    if context not in (1, 5):
        raise ValueError(f"context must be 1 or 5 frames (1 or 2 latent frames), got {context}")
    return 1 + (context - 1) // 4


@torch.no_grad()
def diffusion_rollout(
    v2w,
    video: torch.Tensor,
    actions: torch.Tensor,
    context: int = 1,
    num_steps: int = 20,
    seed: int = 0,
    fps: float = FPS,
) -> torch.Tensor:
    """``nano-v2w-action``: the first ``context`` frames of ``video [B, 3, 25, 64, 64]`` + ``actions [B, 24, 7]``
    (all zeros for physics clips, ``fps`` 16) -> the whole predicted clip ``[B, 3, 25, 64, 64]`` (the context
    frames come back through the tokenizer)."""
    batch = video.shape[0]
    return v2w.sample(
        text_embeddings=torch.zeros(batch, 1, v2w.net.config.crossattn_channels),
        video=video[:, :, :context],
        num_input_frames=context,
        num_frames=NUM_FRAMES,
        height=SIZE,
        width=SIZE,
        fps=fps,
        guidance=0.0,
        num_steps=num_steps,
        sampler="res2ab",
        seed=[seed + b for b in range(batch)],
        action=actions,
        progress=False,
    )


@torch.no_grad()
def ar_rollout(ar, video: torch.Tensor, actions: torch.Tensor, context: int = 1, medusa: bool = True):
    """``nano-ar`` greedy roll-out from the first ``context`` frames under the episode's 24 ``actions`` (the
    model's action embedding). Returns the :class:`cosmos.ar.ARGeneration` (video ``[B, 3, 25, 64, 64]``, tokens,
    stats)."""
    return ar.generate(
        video[:, :, :context],
        action=actions,
        num_input_frames=context,
        num_frames=NUM_FRAMES,
        temperature=0.0,
        medusa=medusa,
        progress=False,
    )


def repeat_last(video: torch.Tensor, context: int) -> torch.Tensor:
    """Baseline: the last context frame repeated over the whole future."""
    out = video.clone()
    out[:, :, context:] = video[:, :, context - 1 : context]
    return out


@torch.no_grad()
def latent_linear(cv, video: torch.Tensor, context: int = 5) -> torch.Tensor:
    """Baseline: encode the 5 context frames (2 latent frames), extrapolate ``z_k = z_1 + (k - 1)(z_1 - z_0)``
    linearly to 7 latent frames, decode."""
    if context != 5:
        raise ValueError("the latent linear extrapolation needs 2 latent frames (context = 5)")
    z = cv.encode(video[:, :, :context]).z  # [B, C, 2, h, w]
    step = z[:, :, 1:2] - z[:, :, 0:1]
    future = torch.stack([z[:, :, 1] + k * step[:, :, 0] for k in range(1, 6)], dim=2)
    full = torch.cat([z, future], dim=2)
    latent = Latent(
        full, temporal_compression=cv.temporal_compression, spatial_compression=cv.spatial_compression
    )
    return cv.decode(latent).float().clamp(-1, 1)


def colour_labels(frames: torch.Tensor, reference: torch.Tensor, reference_mask: np.ndarray) -> np.ndarray:
    """The physics benchmark's mask-tracking rule: a 1-nearest-neighbour colour classifier.

    Prototypes are up to 256 pixels of each label (0 = background, k = k-th dynamic object) of ``reference``
    (the last context frame, ``[3, H, W]`` in [-1, 1]) under its simulator mask ``reference_mask`` (int ``[H, W]``),
    taken at even strides; every pixel of ``frames`` (``[3, T, H, W]``) gets the label of its nearest prototype in
    RGB. Returns int ``[T, H, W]``.
    """
    pixels = reference.permute(1, 2, 0).reshape(-1, 3)
    flat = torch.from_numpy(reference_mask.reshape(-1).astype(np.int64))
    protos, labels = [], []
    for label in flat.unique().tolist():
        where = (flat == label).nonzero()[:, 0]
        where = where[torch.linspace(0, len(where) - 1, min(256, len(where))).long()]
        protos.append(pixels[where])
        labels.append(torch.full((len(where),), label))
    protos, labels = torch.cat(protos), torch.cat(labels)
    c, t, h, w = frames.shape
    query = frames.permute(1, 2, 3, 0).reshape(-1, 3)
    nearest = torch.cdist(query, protos).argmin(dim=1)
    return labels[nearest].reshape(t, h, w).numpy()


def object_iou(pred_labels: np.ndarray, true_masks: np.ndarray) -> float:
    """Mean IoU over dynamic objects (labels >= 1) and frames of tracked labels ``[T, H, W]`` against the
    simulator's masks ``[T, H, W]``; an object absent from both in a frame is skipped."""
    ious = []
    for k in range(1, int(true_masks.max()) + 1):
        p, t = pred_labels == k, true_masks == k
        union = (p | t).sum(axis=(1, 2))
        inter = (p & t).sum(axis=(1, 2))
        ious += (inter[union > 0] / union[union > 0]).tolist()
    return float(np.mean(ious)) if ious else float("nan")


def physics_iou(pred: torch.Tensor, true: torch.Tensor, masks: np.ndarray, context: int) -> list[float]:
    """Per-clip object IoU of ``pred`` (``[B, 3, T, H, W]``) on the future frames ``context..``: objects tracked
    with :func:`colour_labels` fit on the true last context frame, scored against the simulator masks ``[B, T, H, W]``."""
    out = []
    for b in range(pred.shape[0]):
        labels = colour_labels(quantize(pred[b, :, context:]), true[b, :, context - 1], masks[b, context - 1])
        out.append(object_iou(labels, masks[b, context:]))
    return out


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return round(time.perf_counter() - self.start, 2)
