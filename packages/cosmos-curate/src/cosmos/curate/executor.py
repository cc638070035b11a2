"""The local streaming executor (default, no Ray) and the per-stage statistics both executors report.

Streaming: each input task flows through all stages before the next one starts, so memory holds one
video at a time and a killed run loses at most the video in flight (the writer stage marks finished
videos; see :mod:`cosmos.curate.pipeline`). Each stage gets a tqdm bar (tasks and clips out) and a row
in the summary table: tasks and clips in/out, seconds spent.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass

from tqdm.auto import tqdm

from cosmos.curate.stage import Stage, process_safely
from cosmos.curate.tasks import VideoTask

__all__ = ["StageStats", "summary_table", "LocalExecutor"]


@dataclass
class StageStats:
    """Counters of one stage: tasks and clips in and out, processing seconds (summed over workers)."""

    name: str
    tasks_in: int = 0
    tasks_out: int = 0
    clips_in: int = 0
    clips_out: int = 0
    seconds: float = 0.0

    def record(self, tasks_in: int, clips_in: int, tasks_out: list[VideoTask], seconds: float) -> None:
        """Add one ``process_data`` call (counts of its inputs taken before the call: stages mutate tasks)."""
        self.tasks_in += tasks_in
        self.tasks_out += len(tasks_out)
        self.clips_in += clips_in
        self.clips_out += sum(len(t.clips) for t in tasks_out)
        self.seconds += seconds


def summary_table(stats: list[StageStats]) -> str:
    """Plain-text table: stage, tasks in/out, clips in/out, seconds."""
    header = f"{'stage':<16}{'tasks in':>9}{'tasks out':>10}{'clips in':>9}{'clips out':>10}{'seconds':>9}"
    lines = [header, "-" * len(header)]
    for s in stats:
        lines.append(
            f"{s.name:<16}{s.tasks_in:>9}{s.tasks_out:>10}{s.clips_in:>9}{s.clips_out:>10}{s.seconds:>9.2f}"
        )
    return "\n".join(lines)


class LocalExecutor:
    """Run stages in this process, streaming one task at a time (tqdm bars per stage when stderr is a terminal, or as ``progress`` says)."""

    name = "local"

    def __init__(self, *, progress: bool | None = None) -> None:
        self.progress = sys.stderr.isatty() if progress is None else progress

    def run(
        self, stages: list[Stage], tasks: Iterable[VideoTask], *, total: int | None = None
    ) -> tuple[list[VideoTask], list[StageStats]]:
        """Push every task through ``stages`` in order; returns the final tasks and per-stage stats."""
        stats = [StageStats(stage.name) for stage in stages]
        bars = [
            tqdm(
                total=total,
                desc=f"{stage.name:<14}",
                unit="video",
                position=i,
                leave=True,
                disable=not self.progress,
            )
            for i, stage in enumerate(stages)
        ]
        for stage in stages:
            stage.setup()
        finished: list[VideoTask] = []
        try:
            for task in tasks:
                batch = [task]
                for stage, stat, bar in zip(stages, stats, bars):
                    clips_in, start = sum(len(t.clips) for t in batch), time.perf_counter()
                    out = process_safely(stage, batch)
                    stat.record(len(batch), clips_in, out, time.perf_counter() - start)
                    bar.update(len(out))
                    bar.set_postfix(clips=stat.clips_out, refresh=False)
                    batch = out
                    if not batch:
                        break
                finished.extend(batch)
        finally:
            for stage in stages:
                stage.destroy()
            for bar in bars:
                bar.close()
        return finished, stats
