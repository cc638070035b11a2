"""RetinaFace (ResNet-50 backbone) face detector, our own torch code (spec §5.1, §5.2).

Architecture (Deng et al. 2019, "RetinaFace: Single-stage Dense Face Localisation in the Wild", as in the
widely used ResNet-50 release whose ``Resnet50_Final.pth`` the reference guardrail ships):

* ResNet-50 (bottleneck v1.5, stride on the 3x3 conv) outputs of ``layer2/3/4``: 512/1024/2048 channels at
  strides 8/16/32;
* FPN: 1x1 conv-BN-ReLU lateral to 256 channels, nearest upsampling top-down, 3x3 conv-BN-ReLU merges;
* one SSH context module per level (3x3 branch of 128 channels, 5x5 and 7x7 branches of 64 channels built
  from stacked 3x3 convs, concatenated, ReLU);
* per level 1x1 conv heads with 2 anchors: box (2x4), class (2x2, softmax at inference), landmarks (2x10).

Anchors ("priors"): min sizes {16, 32} / {64, 128} / {256, 512} on strides 8 / 16 / 32, one cell per
``ceil(H / step) x ceil(W / step)``, centre-size form normalised by the image size, variances (0.1, 0.2).
Post-processing: score > 0.7, top 5000, NMS IoU 0.4, top 750.

No torchvision: its wheels do not match our CPU torch (spec §5.2), and the network is small enough to write.
Key names follow the released checkpoint (``body.layer1.0.conv1.weight``, ``fpn.output1.0.weight``,
``ssh1.conv3X3.0.weight``), except the heads: ``ClassHead.0`` -> ``class_head.0`` etc.; `RetinaFaceAdapter`
also strips DataParallel's ``module.`` prefix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosmos.core import PretrainedMixin, ShapeError, StateDictAdapter, load_state_dict_file

__all__ = [
    "RetinaFace",
    "RetinaFaceAdapter",
    "RetinaFaceConfig",
    "RetinaFaceDetector",
    "decode_boxes",
    "nms",
    "prior_boxes",
]


@dataclass(frozen=True)
class RetinaFaceConfig:
    """Sizes of RetinaFace; the defaults are the released ResNet-50 model.

    Attributes:
        layers: bottleneck blocks per ResNet stage (ResNet-50: 3, 4, 6, 3).
        width: channels of the first stage's bottleneck (64); stage outputs are ``width * 4 * 2**i``.
        fpn_channels: FPN / SSH channels (256).
        min_sizes: anchor sizes per level, px.
        steps: feature strides per level, px.
        variances: box-decoding variances (centre, size).
        mean_bgr: per-channel mean subtracted from BGR input in [0, 255].
    """

    layers: tuple[int, int, int, int] = (3, 4, 6, 3)
    width: int = 64
    fpn_channels: int = 256
    min_sizes: tuple[tuple[int, int], ...] = ((16, 32), (64, 128), (256, 512))
    steps: tuple[int, int, int] = (8, 16, 32)
    variances: tuple[float, float] = (0.1, 0.2)
    mean_bgr: tuple[float, float, float] = (104.0, 117.0, 123.0)

    @property
    def num_anchors(self) -> int:
        """Anchors per feature-map cell (2)."""
        return len(self.min_sizes[0])


# ----------------------------------------------------------------------------- backbone
class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: 1x1 -> 3x3 (stride) -> 1x1 (x4 channels), residual, ReLU."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + identity)


class ResNetBody(nn.Module):
    """ResNet stem + 4 stages; returns the stride-8/16/32 features (``layer2``, ``layer3``, ``layer4``)."""

    def __init__(self, layers: tuple[int, int, int, int], width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        in_channels = width
        for index, blocks in enumerate(layers):
            stage_width = width * 2**index
            stride = 1 if index == 0 else 2
            stage = []
            for block in range(blocks):
                stage.append(Bottleneck(in_channels, stage_width, stride if block == 0 else 1))
                in_channels = stage_width * Bottleneck.expansion
            setattr(self, f"layer{index + 1}", nn.Sequential(*stage))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(x)))  # [B, w, H/2, W/2]
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)  # [B, w, H/4, W/4]
        x = self.layer1(x)
        c3 = self.layer2(x)  # [B, 8w, H/8, W/8]
        c4 = self.layer3(c3)  # [B, 16w, H/16, W/16]
        c5 = self.layer4(c4)  # [B, 32w, H/32, W/32]
        return [c3, c4, c5]


# ----------------------------------------------------------------------------- neck and heads
def _conv_bn(in_channels: int, out_channels: int, kernel: int, leaky: float | None) -> nn.Sequential:
    """Conv (no bias) + BN (+ LeakyReLU with slope `leaky`, none when `leaky` is None)."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if leaky is not None:
        layers.append(nn.LeakyReLU(negative_slope=leaky))
    return nn.Sequential(*layers)


class FPN(nn.Module):
    """Three-level feature pyramid: lateral 1x1 convs, nearest top-down upsampling, 3x3 merges."""

    def __init__(self, in_channels: list[int], out_channels: int) -> None:
        super().__init__()
        leaky = 0.1 if out_channels <= 64 else 0.0
        self.output1 = _conv_bn(in_channels[0], out_channels, 1, leaky)
        self.output2 = _conv_bn(in_channels[1], out_channels, 1, leaky)
        self.output3 = _conv_bn(in_channels[2], out_channels, 1, leaky)
        self.merge1 = _conv_bn(out_channels, out_channels, 3, leaky)
        self.merge2 = _conv_bn(out_channels, out_channels, 3, leaky)

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        out1, out2, out3 = self.output1(features[0]), self.output2(features[1]), self.output3(features[2])
        out2 = self.merge2(out2 + F.interpolate(out3, size=out2.shape[-2:], mode="nearest"))
        out1 = self.merge1(out1 + F.interpolate(out2, size=out1.shape[-2:], mode="nearest"))
        return [out1, out2, out3]


class SSH(nn.Module):
    """Single Stage Headless context module: 3x3, 5x5 (two 3x3) and 7x7 (three 3x3) branches, concatenated."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels % 4:
            raise ShapeError(f"SSH out_channels must be divisible by 4, got {out_channels}")
        leaky = 0.1 if out_channels <= 64 else 0.0
        self.conv3X3 = _conv_bn(in_channels, out_channels // 2, 3, None)
        self.conv5X5_1 = _conv_bn(in_channels, out_channels // 4, 3, leaky)
        self.conv5X5_2 = _conv_bn(out_channels // 4, out_channels // 4, 3, None)
        self.conv7X7_2 = _conv_bn(out_channels // 4, out_channels // 4, 3, leaky)
        self.conv7x7_3 = _conv_bn(out_channels // 4, out_channels // 4, 3, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch3 = self.conv3X3(x)
        mid = self.conv5X5_1(x)
        branch5 = self.conv5X5_2(mid)
        branch7 = self.conv7x7_3(self.conv7X7_2(mid))
        return F.relu(torch.cat([branch3, branch5, branch7], dim=1))


class _Head(nn.Module):
    """1x1 conv predicting `per_anchor` values for each of `num_anchors` anchors per cell."""

    def __init__(self, in_channels: int, num_anchors: int, per_anchor: int) -> None:
        super().__init__()
        self.per_anchor = per_anchor
        self.conv1x1 = nn.Conv2d(in_channels, num_anchors * per_anchor, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1x1(x)  # [B, A*k, h, w]
        return out.permute(0, 2, 3, 1).reshape(out.shape[0], -1, self.per_anchor)  # [B, h*w*A, k]


class RetinaFace(PretrainedMixin, nn.Module):
    """RetinaFace with a ResNet backbone (see module docstring)."""

    config_class = RetinaFaceConfig

    def __init__(self, config: RetinaFaceConfig = RetinaFaceConfig()) -> None:
        super().__init__()
        self.config = config
        channels = config.fpn_channels
        stage_out = [config.width * 4 * 2**i for i in (1, 2, 3)]  # 512, 1024, 2048
        self.body = ResNetBody(config.layers, config.width)
        self.fpn = FPN(stage_out, channels)
        self.ssh1, self.ssh2, self.ssh3 = (
            SSH(channels, channels),
            SSH(channels, channels),
            SSH(channels, channels),
        )
        anchors = config.num_anchors
        self.class_head = nn.ModuleList([_Head(channels, anchors, 2) for _ in range(3)])
        self.bbox_head = nn.ModuleList([_Head(channels, anchors, 4) for _ in range(3)])
        self.landmark_head = nn.ModuleList([_Head(channels, anchors, 10) for _ in range(3)])

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw predictions for every prior.

        Args:
            images: float ``[B, 3, H, W]``, BGR minus `config.mean_bgr` (values about [-123, 151]).

        Returns:
            (box offsets ``[B, P, 4]``, face probabilities ``[B, P, 2]`` (softmax), landmarks ``[B, P, 10]``)
            with ``P`` = number of `prior_boxes` for ``(H, W)``.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ShapeError(f"RetinaFace expects images [B, 3, H, W], got {tuple(images.shape)}")
        pyramid = self.fpn(self.body(images))
        features = [self.ssh1(pyramid[0]), self.ssh2(pyramid[1]), self.ssh3(pyramid[2])]
        boxes = torch.cat([head(f) for head, f in zip(self.bbox_head, features)], dim=1)
        logits = torch.cat([head(f) for head, f in zip(self.class_head, features)], dim=1)
        landmarks = torch.cat([head(f) for head, f in zip(self.landmark_head, features)], dim=1)
        return boxes, F.softmax(logits, dim=-1), landmarks

    @classmethod
    def load_foreign(cls, folder: Path, config: object) -> tuple[RetinaFaceConfig, dict[str, torch.Tensor]]:
        """`from_pretrained` on a folder holding the released ``Resnet50_Final.pth``."""
        path = folder / "Resnet50_Final.pth"
        if not path.is_file():
            return super().load_foreign(folder, config)
        config = cls.coerce_config(config) if config is not None else RetinaFaceConfig()
        return config, RetinaFaceAdapter().convert(load_state_dict_file(path))

    @classmethod
    def from_reference_file(cls, path: str | Path, *, device: str | torch.device | None = None) -> RetinaFace:
        """Load ``Resnet50_Final.pth`` (``torch.load(weights_only=True)``) strictly through `RetinaFaceAdapter`.

        Raises:
            CheckpointError: missing/corrupt file or missing/unexpected/mis-shaped keys (listed).
        """
        state_dict = RetinaFaceAdapter().convert(load_state_dict_file(path))
        return cls.from_state_dict(RetinaFaceConfig(), state_dict, device=device, what=str(path))


class RetinaFaceAdapter(StateDictAdapter):
    """Released key names -> ours: strip ``module.``; ``ClassHead/BboxHead/LandmarkHead`` -> snake case."""

    rename = (
        (r"^module\.", ""),
        (r"^ClassHead\.", "class_head."),
        (r"^BboxHead\.", "bbox_head."),
        (r"^LandmarkHead\.", "landmark_head."),
    )


# ----------------------------------------------------------------------------- anchors and decoding
def prior_boxes(height: int, width: int, config: RetinaFaceConfig = RetinaFaceConfig()) -> torch.Tensor:
    """Anchors in centre-size form normalised by the image size.

    Returns:
        float32 ``[P, 4]`` rows ``(cx, cy, s_x, s_y)``, ordered level by level, row-major over cells, then
        anchor size; ``P = sum_k ceil(H/step_k) * ceil(W/step_k) * len(min_sizes[k])``.
    """
    rows = []
    for sizes, step in zip(config.min_sizes, config.steps):
        cells_y, cells_x = math.ceil(height / step), math.ceil(width / step)
        ys, xs = torch.meshgrid(torch.arange(cells_y), torch.arange(cells_x), indexing="ij")
        cx = ((xs.reshape(-1).float() + 0.5) * step / width)[:, None].expand(-1, len(sizes))
        cy = ((ys.reshape(-1).float() + 0.5) * step / height)[:, None].expand(-1, len(sizes))
        sx = torch.tensor([s / width for s in sizes]).expand(cx.shape[0], -1)
        sy = torch.tensor([s / height for s in sizes]).expand(cx.shape[0], -1)
        rows.append(torch.stack([cx, cy, sx, sy], dim=-1).reshape(-1, 4))  # [cells*A, 4]
    return torch.cat(rows, dim=0)


def decode_boxes(offsets: torch.Tensor, priors: torch.Tensor, variances: tuple[float, float]) -> torch.Tensor:
    """Box offsets ``[P, 4]`` + priors ``[P, 4]`` -> normalised corner boxes ``[P, 4]`` (x1, y1, x2, y2).

    centre = prior_c + offset_c * variance[0] * prior_s; size = prior_s * exp(offset_s * variance[1]).
    """
    centre = priors[:, :2] + offsets[:, :2] * variances[0] * priors[:, 2:]
    size = priors[:, 2:] * torch.exp(offsets[:, 2:] * variances[1])
    return torch.cat([centre - size / 2, centre + size / 2], dim=1)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression; indices kept, by decreasing score.

    Args:
        boxes: ``[N, 4]`` x1, y1, x2, y2 (inclusive-pixel areas ``(x2 - x1 + 1) * (y2 - y1 + 1)``, as in the
            reference's py_cpu_nms).
        scores: ``[N]``.
        iou_threshold: boxes overlapping a kept one by more than this are dropped.
    """
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        inter = np.maximum(0.0, xx2 - xx1 + 1) * np.maximum(0.0, yy2 - yy1 + 1)
        iou = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[1:][iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


class RetinaFaceDetector:
    """`FaceDetector` running `RetinaFace` on full-resolution frames (spec §5.1).

    Args:
        model: a loaded `RetinaFace` (eval mode).
        score_threshold: keep detections with face probability above this (0.7).
        nms_threshold: NMS IoU (0.4).
        top_k: candidates kept before NMS (5000).
        keep_top_k: detections kept after NMS (750).
        device: where the model runs.
    """

    name = "retinaface"

    def __init__(
        self,
        model: RetinaFace,
        *,
        score_threshold: float = 0.7,
        nms_threshold: float = 0.4,
        top_k: int = 5000,
        keep_top_k: int = 750,
        device: str | torch.device = "cpu",
        model_id: str = "retinaface-resnet50",
    ) -> None:
        self.model = model.eval().to(device)
        self.device = torch.device(device)
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.top_k = top_k
        self.keep_top_k = keep_top_k
        self.model_id = model_id
        self.revision: str | None = None
        self._priors: dict[tuple[int, int], torch.Tensor] = {}

    @classmethod
    def from_file(cls, path: str | Path, *, device: str = "cpu") -> RetinaFaceDetector:
        """Detector from the released ``Resnet50_Final.pth`` (or our safetensors folder)."""
        path = Path(path)
        model = RetinaFace.from_pretrained(path) if path.is_dir() else RetinaFace.from_reference_file(path)
        return cls(model, device=device, model_id=f"retinaface-resnet50:{path.name}")

    def to(self, device: str) -> RetinaFaceDetector:
        """Move the network to `device` (priors are recomputed there)."""
        self.device = torch.device(device)
        self.model = self.model.to(self.device)
        self._priors.clear()
        return self

    @torch.inference_mode()
    def detect(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Faces in one ``uint8 [H, W, 3]`` RGB frame: (boxes float32 [N, 4] xyxy px, scores float32 [N])."""
        if frame.ndim != 3 or frame.shape[-1] != 3:
            raise ShapeError(f"frame must be [H, W, 3] RGB, got {frame.shape}")
        height, width = frame.shape[:2]
        config = self.model.config
        bgr = torch.from_numpy(np.ascontiguousarray(frame[..., ::-1])).float()  # [H, W, 3] BGR
        bgr = bgr - torch.tensor(config.mean_bgr)
        images = bgr.permute(2, 0, 1)[None].to(self.device)  # [1, 3, H, W]
        offsets, probs, _ = self.model(images)
        if (height, width) not in self._priors:
            self._priors[(height, width)] = prior_boxes(height, width, config).to(self.device)
        boxes = decode_boxes(offsets[0], self._priors[(height, width)], config.variances)
        boxes = boxes * torch.tensor([width, height, width, height], device=boxes.device)
        scores = probs[0, :, 1]
        keep = scores > self.score_threshold
        boxes_np, scores_np = boxes[keep].cpu().numpy(), scores[keep].cpu().numpy()
        order = scores_np.argsort()[::-1][: self.top_k]
        boxes_np, scores_np = boxes_np[order], scores_np[order]
        kept = nms(boxes_np, scores_np, self.nms_threshold)[: self.keep_top_k]
        return boxes_np[kept].astype(np.float32).reshape(-1, 4), scores_np[kept].astype(np.float32)
