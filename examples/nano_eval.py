"""Model loading and roll-outs shared by ``examples/demo.py`` and ``benchmarks/quality.py`` (nano models, 64x64).

Every metric and evaluation protocol lives in the library: ``cosmos.eval`` (``future_scores``,
``repeat_last_frame``, ``action_following``, ``physics_alignment``, the object-IoU tracking rule of
``cosmos.eval.tracking``) and ``cosmos.core`` (``psnr``, ``ssim``, ``frames_to_video``). This module keeps what is
specific to the nano models: loading them, the tokenizer round trip, their native samplers with decoding
statistics (for the demo) and the latent linear-extrapolation baseline.

Conventions: videos are float32 ``[B, 3, T, H, W]`` in [-1, 1]; episodes have 25 frames at 5 fps and 24
actions ``(dx, dy, dz, droll, dpitch, dyaw, gripper)``; with ``context`` pixel frames given (1 or 5, i.e. 1 or 2
latent frames), the predicted frames are ``context .. 24``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from cosmos.core import Latent

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


@torch.no_grad()
def reconstruct(tokenizer, video: torch.Tensor) -> torch.Tensor:
    """Tokenizer round trip ``[B, 3, 25, 64, 64]`` -> same shape, clamped."""
    return tokenizer.decode(tokenizer.encode(video)).float().clamp(-1, 1)


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


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return round(time.perf_counter() - self.start, 2)
