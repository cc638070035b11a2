"""Ray executor (extra ``[ray]``): one actor pool per stage, tasks streamed between pools.

Spec/curation.md §10 (Xenna's pattern, static pool sizes): every stage gets ``workers_per_stage`` actors
that run its :meth:`~cosmos.curate.stage.Stage.setup` once; a single driver loop hands each finished
task to an idle actor of the next stage, so all stages work at once. Actor CPU reservations are
fractional: each actor asks for ``min(stage cpus, 0.95 * cluster CPUs / number of actors)``, so every
pool starts even on 2 cores (two whole-CPU actors would block every further actor forever). GPU stages
ask for their GPU fraction when the cluster has GPUs.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Iterable

from tqdm.auto import tqdm

from cosmos.curate.executor import StageStats
from cosmos.curate.stage import Stage, process_safely
from cosmos.curate.tasks import VideoTask

__all__ = ["RayExecutor"]


class _StageWorker:
    """Actor body: holds one stage, runs its setup once, processes lists of tasks."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage

    def setup(self) -> bool:
        self.stage.setup()
        return True

    def process(self, tasks: list[VideoTask]) -> tuple[list[VideoTask], int, int, int, float]:
        clips_in = sum(len(t.clips) for t in tasks)
        start = time.perf_counter()
        out = process_safely(self.stage, tasks)
        return out, len(tasks), clips_in, sum(len(t.clips) for t in out), time.perf_counter() - start

    def destroy(self) -> bool:
        self.stage.destroy()
        return True


class RayExecutor:
    """Run stages on Ray actor pools.

    Args:
        address: an existing cluster (``"auto"``) or ``None`` to start a local one with ``num_cpus``.
        num_cpus: CPUs of the local cluster (default: all cores).
        workers_per_stage: actors per stage (static pools).
        progress: show a tqdm bar per stage (default: when stderr is a terminal).

    Raises:
        ImportError: ray is not installed (``pip install cosmos-curate[ray]``).
    """

    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        workers_per_stage: int = 1,
        progress: bool | None = None,
    ) -> None:
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise ImportError("the Ray executor needs `pip install cosmos-curate[ray]`") from exc
        self.address, self.num_cpus, self.workers_per_stage = address, num_cpus, workers_per_stage
        self.progress = sys.stderr.isatty() if progress is None else progress

    def _init(self):
        import ray

        if ray.is_initialized():
            return ray, False
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        if self.address:
            ray.init(address=self.address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=self.num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                object_store_memory=512 * 1024**2,
                log_to_driver=False,
                configure_logging=False,
            )
        return ray, True

    def run(
        self, stages: list[Stage], tasks: Iterable[VideoTask], *, total: int | None = None
    ) -> tuple[list[VideoTask], list[StageStats]]:
        """Stream ``tasks`` through one actor pool per stage; returns the final tasks and per-stage stats."""
        ray, started = self._init()
        try:
            resources = ray.cluster_resources()
            cpus, gpus = resources.get("CPU", 1.0), resources.get("GPU", 0.0)
            num_actors = len(stages) * self.workers_per_stage
            share = 0.95 * cpus / num_actors
            worker_class = ray.remote(_StageWorker)
            pools = []
            for stage in stages:
                options = {"num_cpus": min(stage.resources.cpus, share)}
                if gpus > 0 and stage.resources.gpus > 0:
                    options["num_gpus"] = stage.resources.gpus
                pools.append(
                    [worker_class.options(**options).remote(stage) for _ in range(self.workers_per_stage)]
                )
            ray.get([actor.setup.remote() for pool in pools for actor in pool])
            stats = [StageStats(stage.name) for stage in stages]
            bars = [
                tqdm(total=total, desc=f"{s.name:<14}", unit="video", position=i, disable=not self.progress)
                for i, s in enumerate(stages)
            ]
            queues: list[deque] = [deque(tasks)] + [deque() for _ in stages[1:]]
            idle = [deque(pool) for pool in pools]
            in_flight: dict = {}
            finished: list[VideoTask] = []
            while in_flight or any(queues):
                for i in range(len(stages)):
                    while queues[i] and idle[i]:
                        actor = idle[i].popleft()
                        in_flight[actor.process.remote([queues[i].popleft()])] = (i, actor)
                done, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in done:
                    i, actor = in_flight.pop(ref)
                    out, tasks_in, clips_in, clips_out, seconds = ray.get(ref)
                    idle[i].append(actor)
                    stat = stats[i]
                    stat.tasks_in += tasks_in
                    stat.tasks_out += len(out)
                    stat.clips_in += clips_in
                    stat.clips_out += clips_out
                    stat.seconds += seconds
                    bars[i].update(len(out))
                    (queues[i + 1] if i + 1 < len(stages) else finished).extend(out)
            ray.get([actor.destroy.remote() for pool in pools for actor in pool])
            for pool in pools:
                for actor in pool:
                    ray.kill(actor)
            for bar in bars:
                bar.close()
            return finished, stats
        finally:
            if started:
                ray.shutdown()
