"""cosmos.curate: the Cosmos video curation pipeline on a laptop or on Ray, and a physics simulation source.

Stages (split, transcode, motion/quality/overlay-text filters, embedding, captioning, dedup, shard) follow
the stage contract of :mod:`cosmos.curate.stage`; :func:`run_pipeline` runs them with the local
streaming executor (default) or :class:`cosmos.curate.ray_executor.RayExecutor`. Training loops read the
shards with :mod:`cosmos.curate.shards`. The simulator lives in :mod:`cosmos.curate.sim` (extra ``[sim]``).
See docs/curate.md.
"""

from cosmos.curate.config import (
    PRESETS,
    CaptionConfig,
    CurateConfig,
    DedupConfig,
    EmbeddingConfig,
    MotionConfig,
    OverlayTextConfig,
    QualityConfig,
    ShardConfig,
    SplitConfig,
    TranscodeConfig,
    get_preset,
)
from cosmos.curate.executor import LocalExecutor, StageStats, summary_table
from cosmos.curate.pipeline import run_dedup, run_pipeline, run_shard, run_split, write_manifest
from cosmos.curate.shards import ShardDataset, iter_samples
from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import Clip, VideoTask, Window, clip_uuid

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "CaptionConfig",
    "Clip",
    "CurateConfig",
    "DedupConfig",
    "EmbeddingConfig",
    "LocalExecutor",
    "MotionConfig",
    "OverlayTextConfig",
    "QualityConfig",
    "Resources",
    "ShardConfig",
    "ShardDataset",
    "SplitConfig",
    "Stage",
    "StageStats",
    "TranscodeConfig",
    "VideoTask",
    "Window",
    "clip_uuid",
    "get_preset",
    "iter_samples",
    "run_dedup",
    "run_pipeline",
    "run_shard",
    "run_split",
    "summary_table",
    "write_manifest",
]
