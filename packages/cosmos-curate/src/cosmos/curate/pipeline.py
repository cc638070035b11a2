"""The curation pipelines: split-annotate (streamed per video), dedup and shard, and the run manifest.

Output folder layout (spec/curation.md §2, adapted)::

    config.json                        the CurateConfig of the run (a resume must use the same one)
    clips/{clip-id}.mp4                kept clips (H.264); filtered_clips/{clip-id}.mp4 rejected ones
    metas/v0/{clip-id}.json            per-clip metadata (spans, scores, windows + captions, verdicts)
    embeddings/{clip-id}.npy           float32 [D] clip embedding (dedup input)
    text_embeddings/{clip-id}.npz      per caption window ``window_{i}``: float16 [L, D] (when an encoder ran)
    processed_videos/{input}.json      one record per finished input video: the resume marker
    dedup/semdedup.json                cluster, max similarity, duplicate-of and keep flag per clip
    shards/                            webdataset tars (see cosmos.curate.shard_writer) + shards.json
    manifest.json                      deterministic record of the run (no timings)
    summary.json                       per-stage counts and seconds of the last invocation

Resumability: a video's files are written before its marker; a restarted run skips videos with a
marker and redoes any other (same clip ids, same bytes: threads=1 encodes), then recomputes dedup and
shards from all markers. A run killed at any point and restarted therefore gives the same
``manifest.json`` and the same shard bytes as an uninterrupted run, with no clip lost or duplicated.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from cosmos.curate.captioning import CaptionStage
from cosmos.curate.config import CurateConfig, curate_config_from_dict
from cosmos.curate.dedup import semantic_dedup
from cosmos.curate.embedding import EmbeddingStage
from cosmos.curate.executor import LocalExecutor, StageStats, summary_table
from cosmos.curate.motion import MotionFilterStage
from cosmos.curate.overlay_text import OverlayTextStage
from cosmos.curate.quality import QualityFilterStage
from cosmos.curate.shard_writer import ShardSample, write_shards
from cosmos.curate.splitting import ReadVideoStage, ShotDetectionStage
from cosmos.curate.stage import Stage
from cosmos.curate.tasks import VideoTask
from cosmos.curate.text_embedding import TextEmbeddingStage
from cosmos.curate.transcode import FrameExtractionStage, TranscodeStage
from cosmos.curate.writer import ClipWriterStage, atomic_write

__all__ = [
    "VIDEO_EXTENSIONS",
    "build_split_stages",
    "discover_videos",
    "run_split",
    "run_dedup",
    "run_shard",
    "run_pipeline",
    "write_manifest",
    "MANIFEST_FORMAT",
]

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
MANIFEST_FORMAT = "cosmos-curate-manifest/v1"


def build_split_stages(config: CurateConfig, output_dir: str | Path) -> list[Stage]:
    """The split-annotate stage list for ``config`` (optional stages only when enabled)."""
    stages: list[Stage] = [
        ReadVideoStage(),
        ShotDetectionStage(config.split),
        TranscodeStage(config.transcode),
    ]
    if config.motion.enabled:
        stages.append(MotionFilterStage(config.motion))
    stages += [
        FrameExtractionStage(config.embedding.frames_fps, config.embedding.max_frames),
        QualityFilterStage(config.quality),
    ]
    if config.overlay_text.enabled:
        stages.append(OverlayTextStage(config.overlay_text))
    stages += [EmbeddingStage(config.embedding), CaptionStage(config.caption)]
    if config.text_embedding.encoder is not None:
        stages.append(TextEmbeddingStage(config.text_embedding))
    stages.append(ClipWriterStage(output_dir))
    return stages


def discover_videos(input_dir: str | Path) -> list[tuple[Path, str]]:
    """``(path, relative path)`` of every video file under ``input_dir``, sorted by relative path."""
    root = Path(input_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"input folder not found: {root}")
    found = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS]
    return sorted(((p, p.relative_to(root).as_posix()) for p in found), key=lambda item: item[1])


def _check_config(output_dir: Path, config: CurateConfig) -> None:
    path = output_dir / "config.json"
    if path.is_file():
        previous = curate_config_from_dict(json.loads(path.read_text()))
        if previous != config:
            raise ValueError(
                f"{output_dir} holds a run with a different config ({path}); resume with the same preset and "
                "options, or choose a new output folder"
            )
    else:
        atomic_write(path, json.dumps(config.to_dict(), indent=1, sort_keys=True))


def run_split(
    input_dir: str | Path,
    output_dir: str | Path,
    config: CurateConfig,
    *,
    executor=None,
    limit: int | None = None,
) -> list[StageStats]:
    """Split-annotate every input video without a resume marker; returns per-stage stats."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    _check_config(output_dir, config)
    videos = discover_videos(input_dir)[:limit] if limit else discover_videos(input_dir)
    pending = [
        (p, rel) for p, rel in videos if not (output_dir / "processed_videos" / f"{rel}.json").is_file()
    ]
    executor = executor or LocalExecutor()
    tasks: Iterator[VideoTask] = (VideoTask(input_path=str(p), relative_path=rel) for p, rel in pending)
    _, stats = executor.run(build_split_stages(config, output_dir), tasks, total=len(pending))
    return stats


def _markers(output_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((output_dir / "processed_videos").rglob("*.json"))]


def _meta(output_dir: Path, uuid: str) -> dict:
    return json.loads((output_dir / "metas" / "v0" / f"{uuid}.json").read_text())


def run_dedup(output_dir: str | Path, config: CurateConfig) -> dict[str, dict]:
    """SemDeDup over the embeddings of all kept clips; writes ``dedup/semdedup.json``.

    Returns:
        clip id -> ``{"cluster", "max_similarity", "duplicate_of", "keep"}``.
    """
    output_dir = Path(output_dir)
    ids = sorted(uuid for marker in _markers(output_dir) for uuid in marker["clips"])
    ids = [u for u in ids if (output_dir / "embeddings" / f"{u}.npy").is_file()]
    result: dict[str, dict] = {}
    if ids and config.dedup.enabled:
        embeddings = np.stack([np.load(output_dir / "embeddings" / f"{u}.npy") for u in ids])
        metas = [_meta(output_dir, u) for u in ids]
        resolutions = np.array([m.get("width", 0) * m.get("height", 0) for m in metas])
        dedup = semantic_dedup(embeddings, config.dedup, resolutions=resolutions, ids=ids)
        for i, uuid in enumerate(ids):
            result[uuid] = {
                "cluster": int(dedup.cluster[i]),
                "max_similarity": round(float(dedup.max_similarity[i]), 6),
                "duplicate_of": ids[dedup.max_index[i]] if not dedup.keep[i] else None,
                "keep": bool(dedup.keep[i]),
            }
    summary = {
        "eps": config.dedup.eps,
        "total": len(ids),
        "kept": sum(r["keep"] for r in result.values()) if result else len(ids),
    }
    summary["removed"] = summary["total"] - summary["kept"]
    atomic_write(
        output_dir / "dedup" / "semdedup.json",
        json.dumps({"summary": summary, "clips": result}, indent=1, sort_keys=True),
    )
    return result


def run_shard(output_dir: str | Path, config: CurateConfig) -> list[dict]:
    """Pack kept, non-duplicate clips into ``shards/`` (rebuilt from scratch); returns the tar records."""
    output_dir = Path(output_dir)
    dedup_path = output_dir / "dedup" / "semdedup.json"
    dedup = json.loads(dedup_path.read_text())["clips"] if dedup_path.is_file() else {}
    ids = [
        u for marker in _markers(output_dir) for u in marker["clips"] if dedup.get(u, {"keep": True})["keep"]
    ]
    metas = sorted(
        (_meta(output_dir, u) for u in ids), key=lambda m: (m["source_video"], m["frame_range"][0])
    )
    shard_dir = output_dir / "shards"
    if shard_dir.exists():
        shutil.rmtree(shard_dir)

    def sample(meta: dict) -> ShardSample:
        arrays = {}
        text_path = output_dir / "text_embeddings" / f"{meta['span_uuid']}.npz"
        if text_path.is_file():
            with np.load(text_path) as archive:
                arrays["t5_xxl"] = {k: archive[k] for k in archive.files}
        video = (output_dir / meta["clip_location"]).read_bytes()
        return ShardSample(meta["span_uuid"].replace("-", ""), video, meta, arrays)

    return write_shards((sample(m) for m in metas), shard_dir, config.shard)


def _rounded(scores: dict) -> dict:
    return {k: round(float(v), 6) for k, v in sorted(scores.items())}


def write_manifest(output_dir: str | Path, config: CurateConfig) -> dict:
    """Write ``manifest.json``: every video, every clip with its fate, every shard; no timings."""
    output_dir = Path(output_dir)
    markers = _markers(output_dir)
    dedup_path = output_dir / "dedup" / "semdedup.json"
    dedup = json.loads(dedup_path.read_text())["clips"] if dedup_path.is_file() else {}
    shard_index = (
        json.loads((output_dir / "shards" / "shards.json").read_text())
        if (output_dir / "shards" / "shards.json").is_file()
        else {"shards": []}
    )
    shard_of = {key: record for record in shard_index["shards"] for key in record["keys"]}
    clips = []
    for marker in markers:
        for uuid in marker["clips"] + marker["filtered_clips"]:
            meta = _meta(output_dir, uuid)
            record = shard_of.get(uuid.replace("-", ""))
            if meta["filtered_by"]:
                status = f"filtered:{meta['filtered_by']}"
            elif uuid in dedup and not dedup[uuid]["keep"]:
                status = "duplicate"
            else:
                status = "sharded" if record else "dropped"
            clips.append(
                {
                    "uuid": uuid,
                    "source_video": meta["source_video"],
                    "frame_range": meta["frame_range"],
                    "status": status,
                    "duplicate_of": dedup.get(uuid, {}).get("duplicate_of"),
                    "scores": _rounded(meta["scores"]),
                    "num_frames": meta.get("num_frames"),
                    "size": [meta.get("width"), meta.get("height")],
                    "captions": [w["caption"] for w in meta["windows"]],
                    "shard": record["path"] if record else None,
                }
            )
    manifest = {
        "format": MANIFEST_FORMAT,
        "config": config.to_dict(),
        "videos": [
            {
                "relative_path": m["relative_path"],
                "clips": m["clips"],
                "filtered_clips": m["filtered_clips"],
                "errors": m["errors"],
            }
            for m in markers
        ],
        "clips": sorted(clips, key=lambda c: c["uuid"]),
        "shards": [
            {k: r[k] for k in ("path", "bucket", "num_samples", "sha256")} for r in shard_index["shards"]
        ],
        "counts": {
            "videos": len(markers),
            "clips": len(clips),
            "sharded": sum(c["status"] == "sharded" for c in clips),
            "duplicates": sum(c["status"] == "duplicate" for c in clips),
            "filtered": sum(c["status"].startswith("filtered") for c in clips),
        },
    }
    atomic_write(output_dir / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def run_pipeline(
    input_dir: str | Path,
    output_dir: str | Path,
    config: CurateConfig,
    *,
    executor=None,
    limit: int | None = None,
    verbose: bool = True,
) -> dict:
    """Split-annotate (resumable), dedup, shard and write the manifest; prints the summary table.

    Returns:
        the manifest dict (also in ``output_dir/manifest.json``).
    """
    output_dir = Path(output_dir)
    stats = run_split(input_dir, output_dir, config, executor=executor, limit=limit)
    for name, step in (
        ("dedup", lambda: run_dedup(output_dir, config)),
        ("shard", lambda: run_shard(output_dir, config)),
    ):
        start = time.perf_counter()
        step()
        stats.append(StageStats(name, seconds=time.perf_counter() - start))
    manifest = write_manifest(output_dir, config)
    stats[-1].clips_out = manifest["counts"]["sharded"]
    table = summary_table(stats)
    summary = {
        "stages": [s.__dict__ for s in stats],
        "counts": manifest["counts"],
        "executor": getattr(executor, "name", "local"),
    }
    atomic_write(output_dir / "summary.json", json.dumps(summary, indent=1))
    if verbose:
        print(table)
        print(
            f"{manifest['counts']['sharded']} clips sharded from {manifest['counts']['videos']} videos -> {output_dir / 'shards'}"
        )
    return manifest
