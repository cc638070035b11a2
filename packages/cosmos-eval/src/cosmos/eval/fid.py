"""FID: the Fréchet Inception Distance of Heusel et al. (NeurIPS 2017, arXiv 1706.08500).

Both image sets are embedded by InceptionV3's 2048-d pool3 layer, each set's embeddings are summarised by a
Gaussian (mean ``mu``, covariance ``Sigma``), and the distance between the two Gaussians is the Fréchet
(2-Wasserstein) distance:

    FID = ||mu_1 - mu_2||^2 + Tr(Sigma_1 + Sigma_2 - 2 (Sigma_1 Sigma_2)^(1/2))

0 for identical statistics, unitless, lower is better; it needs thousands of images to be stable (the bias
shrinks like 1 / N). The Cosmos paper reports FID for its multi-view (32.16) and camera-control (14.30) models.

The network is the "FID Inception" of ``pytorch-fid`` (Apache-2.0, Maximilian Seitzer): torchvision's
InceptionV3 layout with TensorFlow's 2015-12-05 weights, whose pooling differs slightly from torchvision's
(average pools exclude the padding; the last block max-pools), so that scores match the original TensorFlow
FID. Weights, the published layout: a folder (or Hub id) holding ``pt_inception-2015-12-05-6726825d.pth``
(keys ``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn.running_mean``, ..., ``fc.*`` dropped), read with
``torch.load(weights_only=True)`` and checked strictly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosmos.core import CheckpointError, ShapeError, StateDictAdapter, check_state_dict, load_state_dict_file
from cosmos.core.hub import resolve_pretrained

__all__ = [
    "FIDInception",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_from_features",
    "frechet_inception_distance",
]

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"


# --------------------------------------------------------------------------------------- Fréchet distance


def feature_statistics(features: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` (float64) of ``N >= 2`` feature rows ``[N, D]``.

    Raises:
        ShapeError: not 2-D, fewer than two rows, or NaN/inf values.
    """
    features = np.asarray(
        features.detach().cpu() if isinstance(features, torch.Tensor) else features, np.float64
    )
    if features.ndim != 2 or len(features) < 2 or not np.isfinite(features).all():
        raise ShapeError(f"features must be finite [N >= 2, D], got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` (Dowson & Landau 1982).

    ``Tr((Sigma_1 Sigma_2)^(1/2))`` is computed as ``sum sqrt(eig(S1^(1/2) Sigma_2 S1^(1/2)))`` with
    ``S1^(1/2)`` the symmetric square root: the same eigenvalues as ``Sigma_1 Sigma_2`` but of a symmetric PSD
    matrix, so no complex round-off (``pytorch-fid`` uses ``scipy.linalg.sqrtm`` and drops an imaginary part).

    Raises:
        ShapeError: the means are not ``[D]`` or the covariances not ``[D, D]`` of one ``D``.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    dim = mu1.shape[0]
    if mu1.shape != (dim,) or mu2.shape != (dim,) or sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ShapeError(
            f"means must be [D] and covariances [D, D] of one D, got {mu1.shape}, {sigma1.shape}, {mu2.shape}, "
            f"{sigma2.shape}"
        )
    root = _psd_sqrt(sigma1)
    middle = np.linalg.eigvalsh((root @ sigma2 @ root + (root @ sigma2 @ root).T) / 2)
    trace_sqrt = float(np.sqrt(np.clip(middle, 0, None)).sum())
    difference = mu1 - mu2
    return float(difference @ difference + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


def frechet_distance_from_features(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    """Fréchet distance between the Gaussians fitted to feature rows ``x [N1, D]`` and ``y [N2, D]``.

    With no more rows than dimensions the covariances have rank below ``D`` and the ``D x D`` route wastes time;
    then, with centred rows ``A``, ``B`` (``Sigma_1 = A^T A / (N1 - 1)``, ``Sigma_2 = B^T B / (N2 - 1)``), the
    non-zero eigenvalues of ``Sigma_1 Sigma_2`` are the squared singular values of
    ``A B^T / sqrt((N1 - 1)(N2 - 1))``, so ``Tr((Sigma_1 Sigma_2)^(1/2))`` is that matrix's nuclear norm: an
    ``N1 x N2`` SVD instead of two ``D x D`` eigendecompositions. Same value either way.

    Raises:
        ShapeError: as :func:`feature_statistics`, or the two sets differ in ``D``.
    """
    (mu1, sigma1), (mu2, sigma2) = feature_statistics(x), feature_statistics(y)
    if mu1.shape != mu2.shape:
        raise ShapeError(f"feature sets differ in dimension: {mu1.shape[0]} and {mu2.shape[0]}")
    x, y = (np.asarray(f.detach().cpu() if isinstance(f, torch.Tensor) else f, np.float64) for f in (x, y))
    if min(len(x), len(y)) > x.shape[1]:  # full-rank covariances possible: the D x D route
        return frechet_distance(mu1, sigma1, mu2, sigma2)
    a, b = x - mu1, y - mu2
    cross = a @ b.T / np.sqrt((len(x) - 1) * (len(y) - 1))  # [N1, N2]
    trace_sqrt = float(np.linalg.svd(cross, compute_uv=False).sum())
    difference = mu1 - mu2
    return float(difference @ difference + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt)


# -------------------------------------------------------------------------------------- FID InceptionV3


class FrozenBatchNorm2d(nn.Module):
    """Inference batch norm (``eps`` 1e-3, TensorFlow's) with ``weight``, ``bias``, ``running_mean``,
    ``running_var`` and no ``num_batches_tracked``."""

    def __init__(self, channels: int, eps: float = 1e-3) -> None:
        super().__init__()
        self.eps = eps
        for name, value in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
            self.register_buffer(name, torch.full((channels,), value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * torch.rsqrt(self.running_var + self.eps)
        return x * scale[:, None, None] + (self.bias - self.running_mean * scale)[:, None, None]


class BasicConv2d(nn.Module):
    """conv (no bias) -> batch norm -> ReLU, torchvision's Inception unit (keys ``conv.*``, ``bn.*``)."""

    def __init__(self, channels_in: int, channels_out: int, kernel, stride=1, padding=0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels_in, channels_out, kernel, stride, padding, bias=False)
        self.bn = FrozenBatchNorm2d(channels_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    """The FID Inception's average pool: 3x3, stride 1, padding 1, padding excluded from the mean."""
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(channels, 64, 1)
        self.branch5x5_1 = BasicConv2d(channels, 48, 1)
        self.branch5x5_2 = BasicConv2d(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, padding=1)
        self.branch_pool = BasicConv2d(channels, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branches = [
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            double,
            self.branch_pool(_avg_pool(x)),
        ]
        return torch.cat(branches, 1)


class InceptionB(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(channels, 384, 3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(channels, 64, 1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        double = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), double, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionC(nn.Module):
    def __init__(self, channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(channels, 192, 1)
        self.branch7x7_1 = BasicConv2d(channels, c7, 1)
        self.branch7x7_2 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(channels, c7, 1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        double = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            double = layer(double)
        return torch.cat([self.branch1x1(x), single, double, self.branch_pool(_avg_pool(x))], 1)


class InceptionD(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(channels, 192, 1)
        self.branch3x3_2 = BasicConv2d(192, 320, 3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(channels, 192, 1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tower = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), tower, F.max_pool2d(x, 3, stride=2)], 1)


class InceptionE(nn.Module):
    """``max_pool``: the last block (``Mixed_7c``) max-pools its pool branch (a quirk of TF's graph)."""

    def __init__(self, channels: int, *, max_pool: bool = False) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(channels, 320, 1)
        self.branch3x3_1 = BasicConv2d(channels, 384, 1)
        self.branch3x3_2a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(channels, 448, 1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(channels, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = self.branch3x3_1(x)
        single = torch.cat([self.branch3x3_2a(single), self.branch3x3_2b(single)], 1)
        double = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        double = torch.cat([self.branch3x3dbl_3a(double), self.branch3x3dbl_3b(double)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        return torch.cat([self.branch1x1(x), single, double, self.branch_pool(pooled)], 1)


class _InceptionAdapter(StateDictAdapter):
    """pytorch-fid's file -> ours: the 1008-way classifier and any batch-norm step counters are dropped."""

    drop = (r"^fc\.", r"num_batches_tracked$")


class FIDInception(nn.Module):
    """InceptionV3 up to its 2048-d pool3 features, with the FID pooling quirks (module docstring); frozen.

    Args:
        input_size: the square size images are resized to (bilinear). 299 is FID's; anything else (>= 75, the
            smallest InceptionV3 accepts) gives numbers comparable only among themselves (quick tests).
    """

    def __init__(self, input_size: int = 299) -> None:
        super().__init__()
        if input_size < 75:
            raise ValueError(f"input_size must be >= 75 (InceptionV3's smallest input), got {input_size}")
        self.input_size = input_size
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = (
            InceptionA(192, 32),
            InceptionA(256, 64),
            InceptionA(288, 64),
        )
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b, self.Mixed_6c = InceptionC(768, 128), InceptionC(768, 160)
        self.Mixed_6d, self.Mixed_6e = InceptionC(768, 160), InceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b, self.Mixed_7c = InceptionE(1280), InceptionE(2048, max_pool=True)
        self.requires_grad_(False).eval()

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, 3, H, W]`` float in ``[-1, 1]`` -> pool3 features ``[B, 2048]`` (bilinear resize to
        ``input_size`` (299) first, as pytorch-fid does).

        Raises:
            ShapeError: wrong rank or channels, or values outside ``[-1, 1]``.
        """
        if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
            raise ShapeError(
                f"images must be float [B, 3, H, W] in [-1, 1], got {tuple(images.shape)} {images.dtype}"
            )
        if not bool(torch.isfinite(images).all()) or images.abs().max() > 1.001:
            raise ShapeError("images must hold finite values in [-1, 1]")
        size = (self.input_size, self.input_size)
        x = F.interpolate(images.float(), size=size, mode="bilinear", align_corners=False)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # [B, 64, 147, 147]
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)  # [B, 192, 35, 35]
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):  # fmt: skip
            x = block(x)
        return x.mean(dim=(2, 3))  # [B, 2048, 8, 8] -> [B, 2048]

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        input_size: int = 299,
        device: torch.device | str | None = None,
    ) -> FIDInception:
        """Load ``pt_inception-2015-12-05-6726825d.pth`` from a folder (or Hub id).

        Raises:
            CheckpointError: the file is missing or corrupt, or its keys or shapes do not match.
        """
        path = Path(resolve_pretrained(name_or_path)) / WEIGHTS_FILE
        if not path.is_file():
            raise CheckpointError(f"missing weights file {path} (pytorch-fid's FID Inception weights)")
        state = _InceptionAdapter().convert(load_state_dict_file(path))
        model = cls(input_size)
        check_state_dict(model, state, what=str(path))
        model.load_state_dict({key: value.float() for key, value in state.items()})
        return model.to(device) if device is not None else model


def _frames(images: torch.Tensor) -> torch.Tensor:
    """Images ``[N, 3, H, W]`` or the frames of videos ``[B, 3, T, H, W]`` as ``[N, 3, H, W]``."""
    if isinstance(images, torch.Tensor) and images.ndim == 5:
        return images.transpose(1, 2).flatten(0, 1)  # [B, 3, T, H, W] -> [B*T, 3, H, W]
    return images


@torch.no_grad()
def frechet_inception_distance(
    real: torch.Tensor, fake: torch.Tensor, inception: FIDInception, *, batch_size: int = 32
) -> float:
    """FID between two sets of images ``[N, 3, H, W]`` (or the frames of videos ``[B, 3, T, H, W]``) in
    ``[-1, 1]``, embedded ``batch_size`` at a time on the inception's device.

    Raises:
        ShapeError: bad layout or range, or fewer than two images in a set.
    """
    device = next(inception.buffers()).device
    features = []
    for images in (_frames(real), _frames(fake)):
        rows = [
            inception(images[i : i + batch_size].to(device)).double().cpu()
            for i in range(0, len(images), batch_size)
        ]
        features.append(torch.cat(rows))
    return frechet_distance_from_features(*features)
