"""cosmos.curate: the Cosmos video curation pipeline on a laptop or on Ray, and a physics simulation source.

Stages (split, transcode, motion/quality/overlay-text filters, embedding, captioning, dedup, shard) follow
the stage contract of :mod:`cosmos.curate.stage`; :func:`run_pipeline` runs them with the local
streaming executor (default) or :class:`cosmos.curate.ray_executor.RayExecutor`. Training loops read the
shards with :mod:`cosmos.curate.shards`; LeRobot datasets (v2.1, v3.0) are read and written by
:mod:`cosmos.curate.lerobot` and :mod:`cosmos.curate.lerobot_writer` (extra ``[lerobot]``). The simulator
lives in :mod:`cosmos.curate.sim` (extra ``[sim]``).
See docs/curate.md.

Names are imported lazily (PEP 562) so that a Ray actor or the CLI only imports what it uses.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "PRESETS": "config",
    "CaptionConfig": "config",
    "CurateConfig": "config",
    "DedupConfig": "config",
    "EmbeddingConfig": "config",
    "MotionConfig": "config",
    "OverlayTextConfig": "config",
    "QualityConfig": "config",
    "ShardConfig": "config",
    "SplitConfig": "config",
    "TextEmbeddingConfig": "config",
    "TranscodeConfig": "config",
    "get_preset": "config",
    "LocalExecutor": "executor",
    "StageStats": "executor",
    "summary_table": "executor",
    "run_dedup": "pipeline",
    "run_pipeline": "pipeline",
    "run_shard": "pipeline",
    "run_split": "pipeline",
    "write_manifest": "pipeline",
    "LeRobotDataset": "lerobot",
    "LeRobotEpisode": "lerobot",
    "lerobot_arrays": "lerobot",
    "lerobot_clips": "lerobot",
    "write_lerobot_v30": "lerobot_writer",
    "export_sim_episodes": "lerobot_writer",
    "ShardDataset": "shards",
    "iter_samples": "shards",
    "Resources": "stage",
    "Stage": "stage",
    "Clip": "tasks",
    "VideoTask": "tasks",
    "Window": "tasks",
    "clip_uuid": "tasks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"cosmos.curate.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cosmos.curate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
