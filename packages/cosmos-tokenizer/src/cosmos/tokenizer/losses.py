"""Training losses of the Cosmos tokenizers (Cosmos paper §3.3; spec §11).

Each term is a module taking ``(target, reconstruction)`` videos ``[B, 3, T, H, W]`` (or images
``[B, 3, H, W]``) in [-1, 1] and returning a scalar:

* :class:`L1Loss` ("color"): mean ``|x - x_hat|``;
* :class:`PerceptualLoss`: L1 between raw VGG-16 features (relu1_2 ... relu5_3) of LPIPS-scaled frames,
  per-layer weights ``(1/2.6, 1/4.8, 1/3.7, 1/5.6, 10/1.5)``;
* :class:`GramLoss`: squared difference of per-clip Gram matrices of the same features;
* :class:`FlowLoss`: L1 between forward and backward optical flows of target and reconstruction, computed at
  half resolution, upsampled back and scaled by 2;
* :class:`AdversarialLoss` with :class:`PatchDiscriminator`: hinge GAN loss (paper: fine-tuning stage).

:class:`TokenizerLoss` sums the enabled terms with piecewise-constant weight schedules
(:class:`WeightSchedule`: ``values[k]`` while ``step < boundaries[k]``, then the last value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .optical_flow import lucas_kanade_flow
from .vgg import VGG16Features, lpips_normalize

LAYER_WEIGHTS = (1 / 2.6, 1 / 4.8, 1 / 3.7, 1 / 5.6, 10 / 1.5)


def frames_of(x: Tensor) -> tuple[Tensor, int]:
    """``[B, C, T, H, W] -> ([B*T, C, H, W], T)``; images ``[B, C, H, W]`` pass through with T = 1."""
    if x.ndim == 4:
        return x, 1
    batch, channels, frames, height, width = x.shape
    return x.transpose(1, 2).reshape(batch * frames, channels, height, width), frames


@dataclass(frozen=True)
class WeightSchedule:
    """Piecewise-constant loss weight: ``values[k]`` while ``step < boundaries[k]``, else ``values[-1]``.

    ``WeightSchedule((0.1, 0.073), (500_000,))`` is the perceptual weight of spec §11.
    """

    values: tuple[float, ...] = (1.0,)
    boundaries: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                f"need len(values) == len(boundaries) + 1, got {self.values} / {self.boundaries}"
            )

    def __call__(self, step: int) -> float:
        for value, boundary in zip(self.values, self.boundaries):
            if step < boundary:
                return value
        return self.values[-1]


class L1Loss(nn.Module):
    """Pixel L1 ("color" loss): ``mean |target - reconstruction|``, optionally masked (mask broadcastable)."""

    def forward(self, target: Tensor, reconstruction: Tensor, mask: Tensor | None = None) -> Tensor:
        error = (target - reconstruction).abs()
        if mask is not None:
            error = error * mask
        return error.mean()


class PerceptualLoss(nn.Module):
    """VGG-16 perceptual loss without LPIPS heads (spec §11).

    Args:
        vgg: a :class:`VGG16Features` with ImageNet weights (``VGG16Features.from_pretrained(path)``); random
            weights work for tests but are not a perceptual metric.
        layer_weights: weights of relu1_2 ... relu5_3.
    """

    def __init__(self, vgg: VGG16Features, layer_weights: Sequence[float] = LAYER_WEIGHTS) -> None:
        super().__init__()
        self.vgg = vgg
        self.layer_weights = tuple(layer_weights)

    def forward(self, target: Tensor, reconstruction: Tensor) -> Tensor:
        target_frames, _ = frames_of(target)
        recon_frames, _ = frames_of(reconstruction)
        with torch.no_grad():
            target_features = self.vgg(lpips_normalize(target_frames))
        recon_features = self.vgg(lpips_normalize(recon_frames))
        loss = reconstruction.new_zeros(())
        for weight, a, b in zip(self.layer_weights, target_features, recon_features):
            loss = loss + weight * (a - b).abs().mean()
        return loss


def gram_matrix(features: Tensor, frames: int) -> Tensor:
    """Per-clip Gram matrix: ``[B*T, C, h, w] -> [B, C, C]``, ``F F^T / (T*h*w)`` over all clip positions."""
    batch_frames, channels, height, width = features.shape
    batch = batch_frames // frames
    # [B*T, C, h, w] -> [B, C, T*h*w]
    flat = (
        features.reshape(batch, frames, channels, height * width).transpose(1, 2).reshape(batch, channels, -1)
    )
    return flat @ flat.transpose(1, 2) / flat.shape[-1]


class GramLoss(nn.Module):
    """Squared difference of VGG-16 Gram matrices, per layer with :data:`LAYER_WEIGHTS` (spec §11)."""

    def __init__(self, vgg: VGG16Features, layer_weights: Sequence[float] = LAYER_WEIGHTS) -> None:
        super().__init__()
        self.vgg = vgg
        self.layer_weights = tuple(layer_weights)

    def forward(self, target: Tensor, reconstruction: Tensor) -> Tensor:
        target_frames, frames = frames_of(target)
        recon_frames, _ = frames_of(reconstruction)
        with torch.no_grad():
            target_features = self.vgg(lpips_normalize(target_frames))
        recon_features = self.vgg(lpips_normalize(recon_frames))
        loss = reconstruction.new_zeros(())
        for weight, a, b in zip(self.layer_weights, target_features, recon_features):
            loss = loss + weight * (gram_matrix(a, frames) - gram_matrix(b, frames)).pow(2).mean()
        return loss


FlowFn = Callable[[Tensor, Tensor], Tensor]


class FlowLoss(nn.Module):
    """Optical-flow consistency (spec §11): flows of consecutive frames, forward and backward, of target and
    reconstruction at half resolution; ``L1(2 * up(flow_target), 2 * up(flow_recon))``. Zero for 1-frame clips.

    Args:
        flow_fn: ``(source [N,3,H,W], target [N,3,H,W]) -> flow [N,2,H,W]`` in pixels; default
            :func:`cosmos.tokenizer.optical_flow.lucas_kanade_flow` (RAFT in NVIDIA's training).
    """

    def __init__(self, flow_fn: FlowFn = lucas_kanade_flow) -> None:
        super().__init__()
        self.flow_fn = flow_fn

    def _flows(self, video: Tensor) -> Tensor:
        batch, channels, frames, height, width = video.shape
        half = F.interpolate(frames_of(video)[0], scale_factor=0.5, mode="bilinear", align_corners=False)
        half = half.reshape(batch, frames, channels, *half.shape[-2:])
        first, second = half[:, :-1].flatten(0, 1), half[:, 1:].flatten(0, 1)
        flows = torch.cat(
            [self.flow_fn(first, second), self.flow_fn(second, first)], dim=0
        )  # forward, backward
        return 2.0 * F.interpolate(flows, size=(height, width), mode="bilinear", align_corners=False)

    def forward(self, target: Tensor, reconstruction: Tensor) -> Tensor:
        if target.ndim != 5 or target.shape[2] < 2:
            return reconstruction.new_zeros(())
        with torch.no_grad():
            target_flow = self._flows(target)
        return (target_flow - self._flows(reconstruction)).abs().mean()


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator (Isola et al. 2017) applied per frame: ``[B, 3, (T,) H, W] -> [B*T, 1, H/8, W/8]``.

    Args:
        channels: width of the first layer (doubled per stride-2 layer, three of them).
    """

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        width = channels
        for _ in range(2):
            layers += [
                nn.Conv2d(width, width * 2, 4, stride=2, padding=1),
                nn.GroupNorm(1, width * 2),
                nn.LeakyReLU(0.2),
            ]
            width *= 2
        layers.append(nn.Conv2d(width, 1, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(frames_of(x)[0])


class AdversarialLoss(nn.Module):
    """Hinge GAN losses around a :class:`PatchDiscriminator`.

    ``generator_loss(reconstruction) = -mean D(x_hat)``;
    ``discriminator_loss(target, reconstruction) = mean relu(1 - D(x)) + mean relu(1 + D(x_hat.detach()))``.
    """

    def __init__(self, discriminator: PatchDiscriminator) -> None:
        super().__init__()
        self.discriminator = discriminator

    def generator_loss(self, reconstruction: Tensor) -> Tensor:
        return -self.discriminator(reconstruction).mean()

    def discriminator_loss(self, target: Tensor, reconstruction: Tensor) -> Tensor:
        real = self.discriminator(target)
        fake = self.discriminator(reconstruction.detach())
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    def forward(self, target: Tensor, reconstruction: Tensor) -> Tensor:
        return self.generator_loss(reconstruction)


@dataclass(frozen=True)
class LossWeights:
    """Weight schedules of :class:`TokenizerLoss` (spec §11 defaults; adversarial per the paper's fine-tuning)."""

    color: WeightSchedule = WeightSchedule((1.0,))
    perceptual: WeightSchedule = WeightSchedule((0.1, 0.073), (500_000,))
    gram: WeightSchedule = WeightSchedule((0.0, 0.062), (500_000,))
    flow: WeightSchedule = WeightSchedule((0.0, 0.01), (250_000,))
    adversarial: WeightSchedule = WeightSchedule((0.0,))


class TokenizerLoss(nn.Module):
    """Weighted sum of the enabled loss terms at a training step.

    Args:
        weights: :class:`LossWeights`.
        vgg: VGG-16 features for the perceptual and Gram terms (None disables both).
        flow: a :class:`FlowLoss` (None disables it).
        adversarial: an :class:`AdversarialLoss` (None disables it; its discriminator is trained separately).

    ``forward(target, reconstruction, step) -> (total, {term: unweighted value})``; terms whose weight is 0 at
    ``step`` are skipped (not computed).
    """

    def __init__(
        self,
        weights: LossWeights = LossWeights(),
        *,
        vgg: VGG16Features | None = None,
        flow: FlowLoss | None = None,
        adversarial: AdversarialLoss | None = None,
    ) -> None:
        super().__init__()
        self.weights = weights
        self.terms = nn.ModuleDict({"color": L1Loss()})
        if vgg is not None:
            self.terms["perceptual"] = PerceptualLoss(vgg)
            self.terms["gram"] = GramLoss(vgg)
        if flow is not None:
            self.terms["flow"] = flow
        if adversarial is not None:
            self.terms["adversarial"] = adversarial

    def forward(
        self, target: Tensor, reconstruction: Tensor, step: int = 0
    ) -> tuple[Tensor, dict[str, float]]:
        total = reconstruction.new_zeros(())
        logs: dict[str, float] = {}
        for name, term in self.terms.items():
            weight = getattr(self.weights, name)(step)
            if weight == 0:
                continue
            value = term(target, reconstruction)
            total = total + weight * value
            logs[name] = float(value.detach())
        logs["total"] = float(total.detach())
        return total, logs
