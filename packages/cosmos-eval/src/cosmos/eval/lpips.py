"""LPIPS: the learned perceptual image patch similarity of Zhang et al. (CVPR 2018, arXiv 1801.03924).

A frozen ImageNet classifier (AlexNet or VGG16) embeds both images; at five depths the channel-normalised
activations are subtracted, squared, weighted per channel by a learned linear head, averaged over space and
summed over depths (paper eq. 1):

    d(x, x0) = sum_l 1 / (H_l W_l) sum_{h, w} || w_l * (y_hat_l(x) - y_hat_l(x0)) ||_2^2

0 for identical images, larger for perceptually more different ones (AlexNet, "v0.1": about 0.1 to 0.7 for
real distortions). The Cosmos paper's 3D-consistency table reports LPIPS of novel-view renders (0.070 for
Cosmos-1.0 Diffusion Text2World 7B).

Weights, the published layout (nothing is downloaded at run time; a folder or a Hub id with these files):

* ``alex.pth`` or ``vgg.pth``: the LPIPS v0.1 linear heads, as shipped in the ``lpips`` package
  (``lpips/weights/v0.1/``; BSD-2-Clause, Richard Zhang et al.): keys ``lin{0..4}.model.1.weight``,
  ``[1, C_l, 1, 1]``;
* ``alexnet-owt-7be5be79.pth`` or ``vgg16-397923af.pth``: torchvision's ImageNet weights (BSD-3-Clause):
  keys ``features.N.weight`` / ``features.N.bias`` of the convolutions (the ``classifier.*`` keys are dropped).

Both are read with ``torch.load(weights_only=True)`` and checked strictly (a missing, unexpected or mis-shaped
key raises :class:`cosmos.core.CheckpointError` listing them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cosmos.core import CheckpointError, ShapeError, StateDictAdapter, check_state_dict, load_state_dict_file
from cosmos.core.hub import resolve_pretrained

__all__ = ["LPIPS", "LPIPS_NETS", "LPIPSNet"]


@dataclass(frozen=True)
class LPIPSNet:
    """One backbone: its torchvision ``features`` layers (``("conv", in, out, kernel, stride, padding)``,
    ``("relu",)``, ``("pool", kernel, stride)``), the ``features`` indices after which LPIPS taps
    activations, and the weight file names."""

    layers: tuple[tuple, ...]
    taps: tuple[int, ...]
    heads_file: str
    backbone_file: str


def _vgg16_layers() -> tuple[tuple, ...]:
    layers: list[tuple] = []
    channels = 3
    for block, (width, convs) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))):
        if block:
            layers.append(("pool", 2, 2))
        for _ in range(convs):
            layers += [("conv", channels, width, 3, 1, 1), ("relu",)]
            channels = width
    return tuple(layers)


LPIPS_NETS = {
    # torchvision AlexNet features[0:12]; taps relu1..relu5 (64, 192, 384, 256, 256 channels)
    "alex": LPIPSNet(
        layers=(
            ("conv", 3, 64, 11, 4, 2),
            ("relu",),
            ("pool", 3, 2),
            ("conv", 64, 192, 5, 1, 2),
            ("relu",),
            ("pool", 3, 2),
            ("conv", 192, 384, 3, 1, 1),
            ("relu",),
            ("conv", 384, 256, 3, 1, 1),
            ("relu",),
            ("conv", 256, 256, 3, 1, 1),
            ("relu",),
        ),  # fmt: skip
        taps=(1, 4, 7, 9, 11),
        heads_file="alex.pth",
        backbone_file="alexnet-owt-7be5be79.pth",
    ),
    # torchvision VGG16 features[0:30]; taps relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 (64 .. 512 channels)
    "vgg": LPIPSNet(
        _vgg16_layers(), taps=(3, 8, 15, 22, 29), heads_file="vgg.pth", backbone_file="vgg16-397923af.pth"
    ),  # fmt: skip
}


def _layer(spec: tuple) -> nn.Module:
    if spec[0] == "conv":
        _, channels_in, channels_out, kernel, stride, padding = spec
        return nn.Conv2d(channels_in, channels_out, kernel, stride, padding)
    if spec[0] == "relu":
        return nn.ReLU()
    _, kernel, stride = spec
    return nn.MaxPool2d(kernel_size=kernel, stride=stride)


class _TorchvisionAdapter(StateDictAdapter):
    """torchvision classifier file -> our backbone: keep ``features.*`` (renamed under ``backbone.``)."""

    drop = (r"^classifier\.",)
    rename = ((r"^features\.", "backbone."),)


class LPIPS(nn.Module):
    """LPIPS distance (v0.1, linear heads) with an AlexNet or VGG16 backbone; frozen, deterministic.

    Args:
        net: ``"alex"`` (the paper's recommended "forward" metric) or ``"vgg"``.
    """

    # LPIPS's ScalingLayer: [-1, 1] input -> ImageNet-normalised input
    SHIFT = (-0.030, -0.088, -0.188)
    SCALE = (0.458, 0.448, 0.450)

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        if net not in LPIPS_NETS:
            raise ValueError(f"net must be one of {sorted(LPIPS_NETS)}, got {net!r}")
        self.net = net
        spec = LPIPS_NETS[net]
        self.backbone = nn.Sequential(*(_layer(s) for s in spec.layers))
        widths = [self._width_at(index) for index in spec.taps]
        self.heads = nn.ModuleList(nn.Conv2d(width, 1, 1, bias=False) for width in widths)
        self.register_buffer("shift", torch.tensor(self.SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(self.SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False).eval()

    def _width_at(self, index: int) -> int:
        convs = [m for m in list(self.backbone)[: index + 1] if isinstance(m, nn.Conv2d)]
        return convs[-1].out_channels

    def features(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Channel-normalised activations at the five taps, each ``[B, C_l, H_l, W_l]``."""
        x = (images - self.shift) / self.scale
        taps, out = set(LPIPS_NETS[self.net].taps), []
        for index, layer in enumerate(self.backbone):
            x = layer(x)
            if index in taps:
                out.append(x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10))
        return out

    @torch.no_grad()
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Distance per image: ``[B, 3, H, W]`` -> ``[B]``, or per frame: ``[B, 3, T, H, W]`` -> ``[B, T]``.

        Inputs are float in ``[-1, 1]``, same shape, at least 32x32 pixels (AlexNet's first layers need it).

        Raises:
            ShapeError: shapes differ, wrong rank or channels, too small, or values outside ``[-1, 1]``.
        """
        pred, target, frames = _fold(pred, target)
        total = pred.new_zeros(pred.shape[0])
        for head, a, b in zip(self.heads, self.features(pred), self.features(target)):
            total = total + head((a - b).pow(2)).mean(dim=(1, 2, 3))  # [N, 1, H_l, W_l] -> [N]
        return total if frames is None else total.view(-1, frames)

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | os.PathLike, *, net: str = "alex", device: torch.device | str | None = None
    ) -> LPIPS:
        """Load the published weights from a folder (or Hub id) in the layout of the module docstring.

        Raises:
            CheckpointError: a file is missing or corrupt, or its keys or shapes do not match.
        """
        model = cls(net)
        folder, spec = Path(resolve_pretrained(name_or_path)), LPIPS_NETS[net]
        heads = _load(folder / spec.heads_file)
        names = {f"lin{index}.model.1.weight": f"heads.{index}.weight" for index in range(len(spec.taps))}
        if set(heads) != set(names):
            raise CheckpointError(
                f"{folder / spec.heads_file}: expected keys {sorted(names)}, got {sorted(heads)}"
            )
        backbone = _TorchvisionAdapter().convert(_load(folder / spec.backbone_file))
        state = {**backbone, **{names[key]: value for key, value in heads.items()}}
        check_state_dict(model, state, what=str(folder))
        model.load_state_dict({k: v.float() for k, v in state.items()})
        return model.to(device) if device is not None else model


def _load(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise CheckpointError(f"missing weights file {path} (see cosmos.eval.lpips for the published layout)")
    return load_state_dict_file(path)


def _fold(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int | None]:
    """Check and fold videos ``[B, 3, T, H, W]`` to frames ``[B*T, 3, H, W]`` (images pass through)."""
    if (
        not isinstance(pred, torch.Tensor)
        or not isinstance(target, torch.Tensor)
        or pred.shape != target.shape
    ):
        raise ShapeError(f"pred and target must be tensors of one shape, got {getattr(pred, 'shape', None)} and "
                         f"{getattr(target, 'shape', None)}")  # fmt: skip
    if pred.ndim not in (4, 5) or pred.shape[1] != 3:
        raise ShapeError(f"expected [B, 3, H, W] or [B, 3, T, H, W], got {tuple(pred.shape)}")
    if min(pred.shape[-2:]) < 32:
        raise ShapeError(f"LPIPS needs frames of at least 32x32 pixels, got {tuple(pred.shape[-2:])}")
    for name, x in (("pred", pred), ("target", target)):
        if not x.is_floating_point() or not bool(torch.isfinite(x).all()) or x.abs().max() > 1.001:
            raise ShapeError(f"{name} must be float in [-1, 1]")
    if pred.ndim == 4:
        return pred.float(), target.float(), None
    frames = pred.shape[2]

    def fold(x: torch.Tensor) -> torch.Tensor:
        return x.float().transpose(1, 2).flatten(0, 1)  # [B, 3, T, H, W] -> [B*T, 3, H, W]

    return fold(pred), fold(target), frames
