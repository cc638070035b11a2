"""The stage contract shared by the local and the Ray executor (spec/curation.md §10, Xenna's ``Stage``).

A stage declares the resources one worker needs, has a per-worker :meth:`Stage.setup` hook (load
weights, open clients), and maps a list of tasks to a list of tasks (N in, M out; M may be 0).
Stages must be picklable before ``setup`` (the Ray executor ships them to actors), so heavy state is
created in ``setup``, never in ``__init__``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cosmos.curate.tasks import VideoTask

__all__ = ["Resources", "Stage", "process_safely"]


@dataclass(frozen=True)
class Resources:
    """What one worker of a stage needs: ``cpus`` (may be fractional) and ``gpus`` (fraction of a GPU)."""

    cpus: float = 1.0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        if self.cpus <= 0 or self.gpus < 0:
            raise ValueError(f"resources need cpus > 0 and gpus >= 0, got {self}")


class Stage:
    """Base class of a pipeline stage.

    Subclasses set ``name`` and ``resources``, may override :meth:`setup` / :meth:`destroy`, and must
    implement :meth:`process_data`. ``batch_size`` tasks are handed over at once.
    """

    name: str = "stage"
    resources: Resources = Resources()
    batch_size: int = 1

    def setup(self) -> None:
        """Per-worker setup hook, run once in the worker before the first :meth:`process_data`."""

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        """Process ``tasks`` and return the tasks to hand to the next stage (possibly fewer or more)."""
        raise NotImplementedError

    def destroy(self) -> None:
        """Release what :meth:`setup` acquired."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, resources={self.resources})"


def process_safely(stage: Stage, tasks: list[VideoTask]) -> list[VideoTask]:
    """``stage.process_data(tasks)``, but an exception does not stop the run: it is recorded in every
    task's ``errors[stage.name]``, their clips move to ``filtered_clips`` (``filtered_by =
    "error:<stage>"``) and the tasks flow on, so the writer still records them (spec §2: errors per stage).
    """
    try:
        return stage.process_data(tasks)
    except Exception as exc:  # noqa: BLE001 - any stage failure is data about that task
        for task in tasks:
            task.errors[stage.name] = f"{type(exc).__name__}: {exc}"
            for clip in list(task.clips):
                clip.errors[stage.name] = task.errors[stage.name]
                task.reject(clip, f"error:{stage.name}")
        return tasks
