"""Quality and aesthetic scorers as plugins, and the stage that applies their thresholds.

* :class:`TechnicalQualityScorer` (``technical_quality``, offline, no weights): sharpness, exposure and
  colourfulness heuristics in [0, 1]. It is **not** the paper's DOVER score nor an aesthetic score and
  is stored under its own name.
* :class:`AestheticScorer` (``aesthetic_score``, ~1-10): CLIP ViT-L/14 image embeddings (L2-normalised)
  scored by the LAION "improved aesthetic predictor" MLP 768→1024→128→64→16→1 (spec §5.3). Needs the
  MLP weights file and a CLIP model (``transformers``); clip score = min (or mean) over frames.

A scorer is any object with a ``name`` and ``score(frames) -> float`` (frames uint8 ``[N, H, W, 3]``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from cosmos.core import CheckpointError, StateDictAdapter, check_state_dict, load_state_dict_file
from cosmos.curate.config import QualityConfig
from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import VideoTask

__all__ = [
    "QualityScorer",
    "TechnicalQualityScorer",
    "AestheticMLP",
    "AestheticMLPAdapter",
    "AestheticScorer",
    "QualityFilterStage",
]


@runtime_checkable
class QualityScorer(Protocol):
    """A clip scorer: ``name`` (the score's key in clip metadata) and ``score(frames) -> float``."""

    name: str

    def score(self, frames: np.ndarray) -> float:  # pragma: no cover - protocol
        """Score uint8 ``[N, H, W, 3]`` frames sampled from one clip."""


class TechnicalQualityScorer:
    """Offline technical-quality score in [0, 1]: geometric mean of three per-frame terms, min over frames.

    * sharpness ``1 - exp(-var(laplacian(grey)) / 100)`` (grey in 0-255),
    * exposure ``1 - |mean(grey) / 255 - 0.5| * 2`` times the fraction of pixels not clipped at 0/255,
    * colourfulness ``min(1, M / 60)`` with Hasler and Süsstrunk's metric M (2003).

    Blurred, black, washed-out or grey frames score low. Heuristic: not DOVER, not an aesthetic model.
    """

    name = "technical_quality"

    def frame_scores(self, frames: np.ndarray) -> np.ndarray:
        """float64 ``[N]`` per-frame scores of uint8 ``[N, H, W, 3]`` frames."""
        rgb = frames.astype(np.float64)
        grey = rgb @ np.array([0.299, 0.587, 0.114])  # [N, H, W]
        laplacian = (
            -4 * grey[:, 1:-1, 1:-1]
            + grey[:, :-2, 1:-1]
            + grey[:, 2:, 1:-1]
            + grey[:, 1:-1, :-2]
            + grey[:, 1:-1, 2:]
        )
        sharpness = 1.0 - np.exp(-laplacian.reshape(len(frames), -1).var(axis=1) / 100.0)
        mean_grey = grey.reshape(len(frames), -1).mean(axis=1) / 255.0
        unclipped = ((grey > 2) & (grey < 253)).reshape(len(frames), -1).mean(axis=1)
        exposure = (1.0 - np.abs(mean_grey - 0.5) * 2.0) * unclipped
        rg = rgb[..., 0] - rgb[..., 1]
        yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
        flat_rg, flat_yb = rg.reshape(len(frames), -1), yb.reshape(len(frames), -1)
        colourfulness = np.hypot(flat_rg.std(1), flat_yb.std(1)) + 0.3 * np.hypot(
            flat_rg.mean(1), flat_yb.mean(1)
        )
        colour = np.minimum(1.0, colourfulness / 60.0)
        terms = np.stack([sharpness, exposure, colour]).clip(1e-6, 1.0)
        return np.exp(np.log(terms).mean(axis=0))

    def score(self, frames: np.ndarray) -> float:
        """Clip score: min of :meth:`frame_scores`; -1.0 for a clip without frames."""
        if frames.shape[0] == 0:
            return -1.0
        return float(self.frame_scores(frames).min())


class AestheticMLPAdapter(StateDictAdapter):
    """LAION ``sac+logos+ava1-l14-linearMSE`` keys (``layers.{0,2,4,6,7}``) -> :class:`AestheticMLP`."""

    rename = (
        (r"^layers\.0\.", "fc1."),
        (r"^layers\.2\.", "fc2."),
        (r"^layers\.4\.", "fc3."),
        (r"^layers\.6\.", "fc4."),
        (r"^layers\.7\.", "fc5."),
    )


class AestheticMLP(nn.Module):
    """768→1024→128→64→16→1 linear stack (no activations; the dropouts are inference no-ops)."""

    def __init__(self, dim: int = 768) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(dim, 1024), nn.Linear(1024, 128), nn.Linear(128, 64)
        self.fc4, self.fc5 = nn.Linear(64, 16), nn.Linear(16, 1)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """L2-normalised CLIP image embeddings ``[N, 768]`` -> scores ``[N]`` (~1-10)."""
        return self.fc5(self.fc4(self.fc3(self.fc2(self.fc1(embeddings)))))[:, 0]

    @classmethod
    def from_file(cls, path: str | Path) -> AestheticMLP:
        """Load the LAION MLP weights (``.pth``/``.safetensors``) with strict key/shape checks."""
        state_dict = AestheticMLPAdapter().convert(load_state_dict_file(Path(path)))
        model = cls()
        check_state_dict(model, state_dict, what=f"aesthetic MLP {Path(path).name}")
        model.load_state_dict(state_dict)
        return model.eval()


class AestheticScorer:
    """CLIP ViT-L/14 + LAION MLP aesthetic score (spec §5.3). Load with :meth:`setup` (needs transformers)."""

    name = "aesthetic_score"

    def __init__(
        self, weights: str, clip_model: str = "openai/clip-vit-large-patch14", reduction: str = "min"
    ) -> None:
        if reduction not in ("min", "mean"):
            raise ValueError(f"reduction must be 'min' or 'mean', got {reduction!r}")
        self.weights, self.clip_model, self.reduction = weights, clip_model, reduction
        self._clip = self._processor = self._mlp = None

    def setup(self) -> None:
        """Load CLIP (``transformers``) and the MLP weights.

        Raises:
            ImportError: transformers is missing. CheckpointError: weights missing or mismatched.
        """
        try:
            from transformers import CLIPModel, CLIPProcessor
        except ImportError as exc:  # pragma: no cover - optional dependency
            raise ImportError(
                "the aesthetic scorer needs `pip install transformers` and CLIP ViT-L/14 weights"
            ) from exc
        if not Path(self.weights).is_file():
            raise CheckpointError(f"aesthetic MLP weights not found: {self.weights}")
        self._mlp = AestheticMLP.from_file(self.weights)
        self._clip = CLIPModel.from_pretrained(self.clip_model).eval()
        self._processor = CLIPProcessor.from_pretrained(self.clip_model)

    @torch.no_grad()
    def score(self, frames: np.ndarray) -> float:
        """Aesthetic score of uint8 ``[N, H, W, 3]`` frames; -1.0 without frames."""
        if frames.shape[0] == 0:
            return -1.0
        if self._mlp is None:
            self.setup()
        inputs = self._processor(images=list(frames), return_tensors="pt")
        embeddings = torch.nn.functional.normalize(self._clip.get_image_features(**inputs), dim=-1)
        scores = self._mlp(embeddings.float())
        return float(scores.min() if self.reduction == "min" else scores.mean())


class QualityFilterStage(Stage):
    """Run the configured scorers on ``clip.frames``; reject clips below a configured threshold.

    The offline ``technical_quality`` scorer always runs; the aesthetic scorer runs when
    ``aesthetic_weights`` is set. An aesthetic threshold without weights raises ``ValueError`` at
    construction (the ``cosmos-paper`` preset needs the weights).
    """

    name = "quality"
    resources = Resources(cpus=0.5)

    def __init__(self, config: QualityConfig) -> None:
        if config.aesthetic_threshold is not None and not config.aesthetic_weights:
            raise ValueError(
                f"aesthetic_threshold={config.aesthetic_threshold} needs the CLIP-MLP aesthetic weights "
                "(QualityConfig.aesthetic_weights / --aesthetic-weights); no offline substitute exists"
            )
        self.config = config
        self.scorers: list = [TechnicalQualityScorer()]
        if config.aesthetic_weights:
            self.scorers.append(
                AestheticScorer(config.aesthetic_weights, config.clip_model, config.aesthetic_reduction)
            )

    def setup(self) -> None:
        for scorer in self.scorers:
            if hasattr(scorer, "setup"):
                scorer.setup()

    def _threshold(self, name: str) -> float | None:
        if name == "technical_quality":
            return self.config.technical_quality_threshold
        if name == "aesthetic_score":
            return self.config.aesthetic_threshold
        return None

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        for task in tasks:
            for clip in list(task.clips):
                if clip.frames is None:
                    continue
                for scorer in self.scorers:
                    value = scorer.score(clip.frames)
                    clip.scores[scorer.name] = value
                    threshold = self._threshold(scorer.name)
                    if threshold is not None and value < threshold and clip in task.clips:
                        task.reject(clip, f"{self.name}:{scorer.name}")
        return tasks
