"""EDM preconditioning, training noise distribution and the uncertainty-weighted loss.

Source: Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models"
(EDM, Table 1 and Eq. 7-8) as used by the Cosmos paper (arXiv:2501.03575, Sec. 5.1, Eq. 1-3), with
the Cosmos "uncertainty" weighting of the per-sigma loss (Kendall et al. 2018). Numbers and operation
order follow `shared/spec/diffusion.md` §3, which the parity fixtures pin bit-exactly.

Conventions: ``sigma`` is the EDM noise level (the noisy latent is ``x_t = x0 + sigma * eps``),
``sigma_data`` is the data standard deviation (0.5 for Cosmos latents, which the tokenizer wrapper
scales to std 0.5).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

SIGMA_DATA = 0.5
"""Standard deviation of the (normalised) Cosmos latents, spec §2-§3."""

SIGMA_MIN = 0.002
SIGMA_MAX = 80.0


class EDMScalings(NamedTuple):
    """The four EDM preconditioning coefficients, each shaped like the ``sigma`` they came from."""

    c_skip: Tensor
    c_out: Tensor
    c_in: Tensor
    c_noise: Tensor


def edm_scalings(sigma: Tensor, sigma_data: float = SIGMA_DATA) -> EDMScalings:
    """EDM preconditioning coefficients (Karras et al. 2022, Table 1; spec §3).

    Args:
        sigma: noise levels, any shape, any float dtype (computed in that dtype), values > 0.
        sigma_data: data standard deviation (0.5 for Cosmos).

    Returns:
        ``EDMScalings(c_skip, c_out, c_in, c_noise)`` with ``sigma``'s shape and dtype:
        ``c_skip = sd^2/(s^2+sd^2)``, ``c_out = s*sd/sqrt(s^2+sd^2)``, ``c_in = 1/sqrt(s^2+sd^2)``,
        ``c_noise = 0.25*ln(s)`` (what the network receives as its "timestep").
    """
    c_skip = sigma_data**2 / (sigma**2 + sigma_data**2)
    c_out = sigma * sigma_data / (sigma**2 + sigma_data**2) ** 0.5
    c_in = 1 / (sigma**2 + sigma_data**2) ** 0.5
    c_noise = 0.25 * sigma.log()
    return EDMScalings(c_skip, c_out, c_in, c_noise)


def expand_like(values: Tensor, x: Tensor) -> Tensor:
    """Reshape per-sample ``values [B]`` to ``[B, 1, ..., 1]`` so they broadcast against ``x [B, ...]``."""
    return values.reshape(values.shape[0], *([1] * (x.ndim - 1)))


def edm_loss_weight(sigma: Tensor, sigma_data: float = SIGMA_DATA) -> Tensor:
    """EDM loss weight ``lambda(sigma) = (sigma^2 + sd^2) / (sigma * sd)^2`` (Karras et al. 2022, Eq. 8; spec §3.1).

    It makes the effective training target of the raw network unit-variance at every sigma.
    """
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2


def sample_training_sigma(
    batch_size: int,
    *,
    p_mean: float = 0.0,
    p_std: float = 1.0,
    num_latent_frames: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """Draw training noise levels ``ln sigma ~ N(p_mean, p_std^2)`` (EDM Sec. 5; spec §3.1).

    The released Cosmos configs use ``p_mean = 0``, ``p_std = 1``, no clipping. With
    ``num_latent_frames`` given (the Video2World ``adjust_video_noise`` option) sigma is multiplied by
    ``sqrt(num_latent_frames)`` to make up for temporal redundancy.

    Returns:
        float32 ``[batch_size]`` on ``device`` (drawn on CPU with ``generator``, so seeds are device-independent).
    """
    log_sigma = torch.randn(batch_size, generator=generator) * p_std + p_mean
    sigma = log_sigma.exp()
    if num_latent_frames is not None:
        sigma = sigma * math.sqrt(num_latent_frames)
    return sigma.to(device)


class UncertaintyWeight(nn.Module):
    """The learned log-variance ``u(sigma)`` of the uncertainty-weighted EDM loss (spec §3.1; the official "logvar").

    ``u = w . phi(c_noise)`` with random Fourier features ``phi(c) = sqrt(2) cos(c f + p)`` in R^128
    (``f = 2 pi N(0,1)``, ``p = 2 pi U(0,1)``, fixed at init and stored in the checkpoint) and a bias-free
    linear map ``w: R^128 -> R``. Used only for training; inference ignores it.
    """

    def __init__(self, num_features: int = 128, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.register_buffer("freqs", 2 * math.pi * torch.randn(num_features, generator=generator))
        self.register_buffer("phases", 2 * math.pi * torch.rand(num_features, generator=generator))
        self.linear = nn.Linear(num_features, 1, bias=False)
        nn.init.zeros_(self.linear.weight)

    def forward(self, c_noise: Tensor) -> Tensor:
        """``c_noise [B]`` (float) -> ``u [B, 1]`` float32."""
        features = torch.outer(c_noise.float(), self.freqs.float()) + self.phases.float()  # [B, F]
        features = features.cos() * math.sqrt(2)
        return self.linear(features.to(self.linear.weight.dtype)).float()


def edm_loss(
    x0_pred: Tensor,
    x0: Tensor,
    sigma: Tensor,
    *,
    logvar: Tensor | None = None,
    mask: Tensor | None = None,
    sigma_data: float = SIGMA_DATA,
) -> Tensor:
    """Uncertainty-weighted EDM loss, mean over elements and batch (spec §3.1; Cosmos paper Eq. 2-3).

    ``loss = mean( lambda(sigma) * (x0_pred - x0)^2 * exp(-u) + u )``.

    Args:
        x0_pred, x0: ``[B, C, T, H, W]`` prediction and clean latent.
        sigma: ``[B]`` noise levels used to make ``x_t``.
        logvar: optional ``u(sigma)`` ``[B, 1]`` from :class:`UncertaintyWeight`; without it plain EDM weighting.
        mask: optional ``[B, 1|C, T, H, W]`` weights (e.g. 0 on Video2World conditioning frames).

    Returns:
        scalar float32 loss.
    """
    if x0_pred.shape != x0.shape:
        from cosmos.core import ShapeError

        raise ShapeError(f"x0_pred {tuple(x0_pred.shape)} and x0 {tuple(x0.shape)} must have the same shape")
    weight = expand_like(edm_loss_weight(sigma.float(), sigma_data), x0)
    per_element = weight * (x0_pred.float() - x0.float()) ** 2
    if mask is not None:
        per_element = per_element * mask.float()
    if logvar is not None:
        u = expand_like(logvar.reshape(-1).float(), x0)
        per_element = per_element * torch.exp(-u) + u
    return per_element.mean()
