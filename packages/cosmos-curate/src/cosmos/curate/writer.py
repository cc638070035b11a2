"""The writer stage: clips, per-clip metadata, embeddings and the per-video resume marker.

Files of a video are written (each atomically: temp file + rename) before its marker
``processed_videos/{input}.json``, so a marker means "everything of this video is on disk"
(spec/curation.md §2 layout; resume logic in :mod:`cosmos.curate.pipeline`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import Clip, VideoTask

__all__ = ["atomic_write", "clip_record", "ClipWriterStage"]


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    tmp.replace(path)


def clip_record(clip: Clip) -> dict:
    """The per-clip metadata JSON (``metas/v0/{id}.json``) of a processed clip."""
    start_s, end_s = clip.span
    windows = [
        {
            "start_frame": w.start_frame,
            "end_frame": w.end_frame,
            "caption": dict(w.caption),
            "caption_status": w.caption_status,
        }
        for w in clip.windows
    ]
    return {
        "span_uuid": clip.uuid,
        "source_video": clip.source_video,
        "frame_range": list(clip.frame_range),
        "duration_span": [start_s, end_s],
        "width_source": clip.width_source,
        "height_source": clip.height_source,
        "framerate_source": clip.fps_source,
        "clip_location": f"{'clips' if clip.filtered_by is None else 'filtered_clips'}/{clip.uuid}.mp4",
        **clip.metadata,
        "scores": dict(sorted(clip.scores.items())),
        "has_overlay_text": clip.has_overlay_text,
        "windows": windows,
        "has_caption": any(w["caption"] for w in windows),
        "embedding_model": clip.embedding_model,
        "filtered_by": clip.filtered_by,
        "errors": dict(clip.errors),
        "valid": clip.encoded_data is not None and bool(windows),
    }


class ClipWriterStage(Stage):
    """Write clips, metadata, embeddings, then the video's resume marker; drop heavy payloads."""

    name = "write"
    resources = Resources(cpus=0.25)

    def __init__(self, output_dir: str | Path) -> None:
        self.output_dir = Path(output_dir)

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        out = self.output_dir
        for task in tasks:
            for clip in task.clips + task.filtered_clips:
                if clip.encoded_data is not None:
                    folder = "clips" if clip.filtered_by is None else "filtered_clips"
                    atomic_write(out / folder / f"{clip.uuid}.mp4", clip.encoded_data)
                if clip.embedding is not None:
                    buffer = io.BytesIO()
                    np.save(buffer, clip.embedding.astype(np.float32), allow_pickle=False)
                    atomic_write(out / "embeddings" / f"{clip.uuid}.npy", buffer.getvalue())
                text = [w.text_embedding for w in clip.windows if w.text_embedding]
                if text:
                    name = next(iter(text[0]))
                    buffer = io.BytesIO()
                    np.savez(buffer, **{f"window_{i}": t[name] for i, t in enumerate(text)})
                    atomic_write(out / "text_embeddings" / f"{clip.uuid}.npz", buffer.getvalue())
                atomic_write(
                    out / "metas" / "v0" / f"{clip.uuid}.json",
                    json.dumps(clip_record(clip), indent=1, sort_keys=True),
                )
                clip.encoded_data, clip.frames = None, None
            meta = task.metadata
            marker = {
                "relative_path": task.relative_path,
                "metadata": None
                if meta is None
                else {k: getattr(meta, k) for k in meta.__dataclass_fields__},
                "clips": sorted(c.uuid for c in task.clips),
                "filtered_clips": sorted(c.uuid for c in task.filtered_clips),
                "clip_stats": dict(sorted(task.clip_stats.items())),
                "errors": dict(task.errors),
            }
            atomic_write(
                out / "processed_videos" / f"{task.relative_path}.json",
                json.dumps(marker, indent=1, sort_keys=True),
            )
            task.encoded_data, task.frames_27x48 = None, None
        return tasks
