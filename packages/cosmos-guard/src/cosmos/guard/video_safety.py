"""Post-guard 1: the video content-safety classifier (spec §4).

Every sampled frame is embedded by SigLIP (``google/siglip-so400m-patch14-384``, 1152-d image features,
L2-normalised) and classified by a small MLP head into 7 classes; the video is unsafe as soon as one frame's
argmax class is not ``Safe`` (spec §4.2). The embedder is pluggable (`ImageEmbedder`), so the head and the
decision rule are testable offline with an embedder that returns chosen vectors.

Fail-closed differences from the reference: an exception on a frame propagates (the reference skipped the
frame, i.e. treated it as safe), and file sampling at 2 fps uses ``step = max(1, int(fps / 2))`` (the
reference's ``int(fps / 2)`` is 0 below 2 fps and ``range`` raises).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from cosmos.core import CheckpointError, PretrainedMixin, ShapeError, StateDictAdapter, read_video

from .verdict import StageResult

__all__ = [
    "SIGLIP_MODEL_ID",
    "VIDEO_SAFETY_CLASSES",
    "ImageEmbedder",
    "SafetyHead",
    "SafetyHeadAdapter",
    "SafetyHeadConfig",
    "SiglipEmbedder",
    "VideoContentSafety",
    "file_sample_indices",
]

SIGLIP_MODEL_ID = "google/siglip-so400m-patch14-384"
# index -> class name (spec §4.1); index 0 is the only safe class.
VIDEO_SAFETY_CLASSES: tuple[str, ...] = (
    "Safe",
    "Sexual_Content",
    "Violence",
    "Drugs",
    "Child_Abuse",
    "Hate_and_Harassment",
    "Self-Harm",
)


@dataclass(frozen=True)
class SafetyHeadConfig:
    """Sizes of the MLP head (spec §4.1): ``input_dim -> hidden_dims[0] -> hidden_dims[1] -> num_classes``."""

    input_dim: int = 1152
    hidden_dims: tuple[int, int] = (512, 256)
    num_classes: int = 7


class SafetyHead(PretrainedMixin, nn.Module):
    """``Linear -> BatchNorm1d -> ReLU -> Linear -> BatchNorm1d -> ReLU -> Linear`` (spec §4.1).

    Used in eval mode (BatchNorm uses its running statistics). Released weights: ``safety_filter.pt``
    (load with `SafetyHead.from_reference_file`).
    """

    config_class = SafetyHeadConfig

    def __init__(self, config: SafetyHeadConfig = SafetyHeadConfig()) -> None:
        super().__init__()
        self.config = config
        hidden1, hidden2 = config.hidden_dims
        self.proj1 = nn.Linear(config.input_dim, hidden1)
        self.norm1 = nn.BatchNorm1d(hidden1)
        self.proj2 = nn.Linear(hidden1, hidden2)
        self.norm2 = nn.BatchNorm1d(hidden2)
        self.classifier = nn.Linear(hidden2, config.num_classes)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Class logits.

        Args:
            embeddings: float ``[N, input_dim]`` (L2-normalised SigLIP image features).

        Returns:
            float ``[N, num_classes]`` logits.

        Raises:
            ShapeError: `embeddings` is not ``[N, input_dim]``.
        """
        if embeddings.ndim != 2 or embeddings.shape[1] != self.config.input_dim:
            raise ShapeError(
                f"SafetyHead expects embeddings [N, {self.config.input_dim}], got {tuple(embeddings.shape)}"
            )
        x = torch.relu(self.norm1(self.proj1(embeddings)))  # [N, 512]
        x = torch.relu(self.norm2(self.proj2(x)))  # [N, 256]
        return self.classifier(x)  # [N, 7]

    @classmethod
    def from_reference_file(cls, path: str | Path, *, device: str | torch.device | None = None) -> SafetyHead:
        """Load NVIDIA's ``video_content_safety_filter/safety_filter.pt`` strictly.

        The file is read with ``torch.load(weights_only=True)``; a ``{"model": state_dict, ...}`` wrapper is
        unwrapped; keys ``network.layers.{0,1,3,4,6}.*`` are mapped by `SafetyHeadAdapter`; then every key and
        shape is checked (`check_state_dict`).

        Raises:
            CheckpointError: missing file, not a state dict, or missing/unexpected/mis-shaped keys.
        """
        raw = _read_reference_state_dict(Path(path))
        state_dict = SafetyHeadAdapter().convert(raw)
        return cls.from_state_dict(SafetyHeadConfig(), state_dict, device=device, what=str(path))

    @classmethod
    def load_foreign(cls, folder: Path, config: object) -> tuple[SafetyHeadConfig, dict[str, torch.Tensor]]:
        """`from_pretrained` on a folder holding NVIDIA's ``safety_filter.pt`` (the reference layout)."""
        path = folder / "safety_filter.pt"
        if not path.is_file():
            return super().load_foreign(folder, config)
        return SafetyHeadConfig(), SafetyHeadAdapter().convert(_read_reference_state_dict(path))


def _read_reference_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """``torch.load(weights_only=True)`` of ``safety_filter.pt``, unwrapping its ``{"model": ...}`` entry."""
    if not path.is_file():
        raise CheckpointError(f"no video safety head weights at {path}")
    try:
        raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(f"cannot read {path} with torch.load(weights_only=True): {error}") from error
    if isinstance(raw, dict) and isinstance(raw.get("model"), dict):
        raw = raw["model"]
    if not isinstance(raw, dict) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors (or a {{'model': ...}} wrapper)")
    return dict(raw)


class SafetyHeadAdapter(StateDictAdapter):
    """Reference key names (``network.layers.<i>.*`` of an ``nn.Sequential`` wrapped as ``network``) -> ours."""

    rename = (
        (r"^network\.layers\.0\.", "proj1."),
        (r"^network\.layers\.1\.", "norm1."),
        (r"^network\.layers\.3\.", "proj2."),
        (r"^network\.layers\.4\.", "norm2."),
        (r"^network\.layers\.6\.", "classifier."),
    )


@runtime_checkable
class ImageEmbedder(Protocol):
    """Maps RGB frames to image embeddings.

    ``embed(frames uint8 [N, H, W, 3]) -> float32 [N, D]`` (L2-normalised rows for SigLIP).
    """

    model_id: str
    revision: str | None

    def embed(self, frames: np.ndarray) -> torch.Tensor: ...


class SiglipEmbedder:
    """SigLIP image features through transformers (extra ``cosmos-guard[siglip]``), L2-normalised.

    Preprocessing is the model's own image processor (resize to 384x384, scale to [0, 1], normalise with
    mean 0.5 / std 0.5), fp32, as in the reference (spec §4.1). Loaded on first use, never downloaded unless
    ``local_files_only=False``.

    Args:
        model_id: Hub id or local folder (default ``google/siglip-so400m-patch14-384``).
        cache_dir: Hugging Face cache folder (the reference keeps it under ``video_content_safety_filter/``).
        revision: model revision (recorded in verdicts).
        device: torch device.
        local_files_only: never download.
    """

    def __init__(
        self,
        model_id: str = SIGLIP_MODEL_ID,
        *,
        cache_dir: str | Path | None = None,
        revision: str | None = None,
        device: str = "cpu",
        local_files_only: bool = True,
    ) -> None:
        self.model_id = model_id
        self.cache_dir = str(cache_dir) if cache_dir is not None else None
        self.revision = revision
        self.device = device
        self.local_files_only = local_files_only
        self._model = None
        self._processor = None

    def load(self) -> None:
        """Load processor and model (idempotent). Raises ImportError/OSError when unavailable."""
        if self._model is not None:
            return
        from transformers import AutoImageProcessor, SiglipModel

        kwargs = dict(
            cache_dir=self.cache_dir, revision=self.revision, local_files_only=self.local_files_only
        )
        self._processor = AutoImageProcessor.from_pretrained(self.model_id, **kwargs)
        self._model = (
            SiglipModel.from_pretrained(self.model_id, dtype=torch.float32, **kwargs).to(self.device).eval()
        )

    def to(self, device: str) -> SiglipEmbedder:
        """Move the model (if loaded) to `device`."""
        self.device = str(device)
        if self._model is not None:
            self._model = self._model.to(self.device)
        return self

    @torch.inference_mode()
    def embed(self, frames: np.ndarray) -> torch.Tensor:
        """``uint8 [N, H, W, 3]`` RGB -> float32 ``[N, 1152]`` L2-normalised, on the CPU."""
        self.load()
        inputs = self._processor(images=list(frames), return_tensors="pt")
        pixel_values = inputs["pixel_values"].to(self.device, torch.float32)
        features = self._model.get_image_features(pixel_values=pixel_values)
        if not isinstance(features, torch.Tensor):  # newer transformers may return a model output
            features = features.pooler_output
        return torch.nn.functional.normalize(features.float(), dim=-1).cpu()


def file_sample_indices(num_frames: int, fps: float) -> list[int]:
    """Frames classified when a video *file* is checked: about 2 per second (spec §4.2).

    ``step = max(1, int(fps / 2))`` over ``range(0, num_frames, step)`` (the reference's step is 0 for
    fps < 2, which makes ``range`` raise).

    Raises:
        ShapeError: ``num_frames < 1`` or ``fps <= 0``.
    """
    if num_frames < 1 or not fps or fps <= 0:
        raise ShapeError(f"need num_frames >= 1 and fps > 0, got {num_frames} frames at {fps} fps")
    step = max(1, int(fps / 2))
    return list(range(0, num_frames, step))


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or frames.shape[0] == 0:
        raise ShapeError(
            f"frames must be non-empty uint8 [T, H, W, 3] RGB, got {frames.dtype} {frames.shape}"
        )
    return frames


class VideoContentSafety:
    """The video classifier stage: embed frames, classify with `SafetyHead`, block on any unsafe frame.

    Args:
        head: the classifier head (eval mode).
        embedder: an `ImageEmbedder` producing ``[N, head.config.input_dim]``.
        batch_size: frames embedded per call; classification stops after the batch holding the first unsafe
            frame (the reference classifies one frame at a time and stops at the first unsafe one: the
            verdict and the reported first unsafe frame are the same).
        name: stage name in verdicts.
    """

    def __init__(
        self,
        head: SafetyHead,
        embedder: ImageEmbedder,
        *,
        batch_size: int = 8,
        name: str = "video_content_safety",
    ) -> None:
        self.head = head.eval()
        self.embedder = embedder
        self.batch_size = batch_size
        self.name = name

    @classmethod
    def from_checkpoint_dir(
        cls, folder: str | Path, *, device: str = "cpu", batch_size: int = 8
    ) -> VideoContentSafety:
        """The reference layout: ``<folder>/safety_filter.pt`` (or our converted ``config.json`` +
        ``model.safetensors``) + SigLIP in the HF cache under ``<folder>``.

        Raises:
            CheckpointError: missing/invalid ``safety_filter.pt`` (SigLIP is loaded lazily on first use).
        """
        folder = Path(folder)
        if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
            head = SafetyHead.from_pretrained(folder, device=device)  # converted with `cosmos-guard convert`
        else:
            head = SafetyHead.from_reference_file(folder / "safety_filter.pt", device=device)
        return cls(head, SiglipEmbedder(cache_dir=folder, device=device), batch_size=batch_size)

    @property
    def model_id(self) -> str:
        """``"<embedder id>+safety_head"``, recorded in verdicts."""
        return f"{self.embedder.model_id}+safety_head"

    @torch.inference_mode()
    def classify(self, frames: np.ndarray, *, stop_at_unsafe: bool = True) -> tuple[list[int], list[float]]:
        """Argmax class and its softmax probability for each frame, in order (spec §4.2).

        Args:
            frames: ``uint8 [T, H, W, 3]`` RGB.
            stop_at_unsafe: stop after the batch containing the first frame whose class is not 0.

        Returns:
            (classes, probabilities), one entry per classified frame (fewer than T after an early stop).
        """
        frames = _check_frames(frames)
        classes: list[int] = []
        probs: list[float] = []
        device = next(self.head.parameters()).device
        for start in range(0, len(frames), self.batch_size):
            embeddings = self.embedder.embed(frames[start : start + self.batch_size])
            logits = self.head(embeddings.to(device, torch.float32))  # [n, 7]
            p = torch.softmax(logits, dim=-1)
            best = p.argmax(dim=-1)
            classes.extend(int(c) for c in best)
            probs.extend(float(p[i, c]) for i, c in enumerate(best))
            if stop_at_unsafe and any(c != 0 for c in classes):
                break
        return classes, probs

    def check(
        self, frames: np.ndarray, *, input: str = "video", frame_indices: list[int] | None = None
    ) -> StageResult:
        """Classify `frames` (every frame, as the reference does for arrays) and decide.

        Args:
            frames: ``uint8 [T, H, W, 3]`` RGB.
            input: label recorded in the result.
            frame_indices: original frame numbers of `frames` (for file sampling); default ``0..T-1``.

        Returns:
            `StageResult` with ``extras["frame_classes"] = [{"frame": i, "class": name, "prob": p}, ...]``.
        """
        t0 = time.perf_counter()
        classes, probs = self.classify(frames)
        indices = frame_indices if frame_indices is not None else list(range(len(frames)))
        per_frame = [
            {"frame": int(indices[i]), "class": VIDEO_SAFETY_CLASSES[c], "prob": round(p, 4)}
            for i, (c, p) in enumerate(zip(classes, probs))
        ]
        unsafe = [f for f in per_frame if f["class"] != "Safe"]
        if unsafe:
            first = unsafe[0]
            status = "block"
            detail = f"unsafe frames detected: frame {first['frame']} classified {first['class']} (p={first['prob']})"
            categories = tuple(dict.fromkeys(f["class"] for f in unsafe))
        else:
            status, detail, categories = (
                "pass",
                f"safe frames detected ({len(per_frame)} frames classified)",
                (),
            )
        return StageResult(
            name=self.name,
            status=status,
            detail=detail,
            input=input,
            categories=categories,
            seconds=time.perf_counter() - t0,
            model_id=self.model_id,
            revision=getattr(self.embedder, "revision", None),
            extras={"frame_classes": per_frame},
        )

    def check_file(self, path: str | Path) -> StageResult:
        """Check a video file, sampling about 2 frames per second (`file_sample_indices`)."""
        frames, fps = read_video(path)
        indices = file_sample_indices(len(frames), fps)
        return self.check(frames[indices], input=str(path), frame_indices=indices)

    def to(self, device: str) -> VideoContentSafety:
        """Move head and embedder to `device`."""
        self.head = self.head.to(device)
        if hasattr(self.embedder, "to"):
            self.embedder.to(device)
        return self
