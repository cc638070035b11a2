"""Structured guard verdicts: one `StageResult` per stage, gathered in a `GuardReport`.

The reference guardrail (spec §1.5) only returns ``(bool, str)`` pairs and log lines; exceptions inside its
LLM guards and its video classifier are swallowed and treated as safe. Our verdicts say which stage and which
rule decided, how long each stage took, which model (id and revision) ran, and whether a stage that could not
run was let through by an explicit opt-out (spec §7).

Everything here is JSON-serialisable through `GuardReport.to_dict` / `to_json`, and round-trips through
`GuardReport.from_dict`. The post-processed video frames (`GuardReport.frames`) are the one field kept out of
JSON: they are a ``uint8 [T, H, W, 3]`` numpy array.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

StageStatus = Literal["pass", "block", "error", "not_evaluated"]
STAGE_STATUSES: tuple[str, ...] = ("pass", "block", "error", "not_evaluated")


@dataclass(frozen=True)
class StageResult:
    """What one guard stage decided about one input.

    Attributes:
        name: stage name, e.g. ``"blocklist"``, ``"aegis"``, ``"video_content_safety"``, ``"face_blur"``.
        status: ``"pass"`` (ran, input allowed), ``"block"`` (ran, input refused), ``"error"`` (configured but
            raised or its weights are missing), ``"not_evaluated"`` (skipped because an earlier stage already
            blocked).
        detail: human-readable reason naming the rule that fired (e.g. ``"custom list term 'b0mb' (violence)"``).
        input: which input was checked: ``"prompt"``, ``"negative_prompt"`` or ``"video"``.
        categories: policy categories violated (empty unless ``status == "block"``).
        seconds: wall-clock time the stage took, in seconds.
        model_id: model or list identifier (e.g. ``"meta-llama/LlamaGuard-7b"``, ``"cosmos-default-blocklist"``).
        revision: model revision / list version, when known.
        extras: stage-specific JSON-able facts (matched terms, lemmatiser used, per-frame classes, face boxes).
    """

    name: str
    status: StageStatus
    detail: str = ""
    input: str = ""
    categories: tuple[str, ...] = ()
    seconds: float = 0.0
    model_id: str | None = None
    revision: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STAGE_STATUSES:
            raise ValueError(f"StageResult.status must be one of {STAGE_STATUSES}, got {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of all fields (categories as a list)."""
        out = asdict(self)
        out["categories"] = list(self.categories)
        out["extras"] = _jsonable(self.extras)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageResult:
        """Inverse of `to_dict`."""
        data = dict(data)
        data["categories"] = tuple(data.get("categories", ()))
        return cls(**data)


@dataclass
class GuardReport:
    """The guardrail's verdict on one text or video input.

    Attributes:
        allowed: True when generation may go on (every stage passed, or a stage that could not run was
            explicitly opted out of).
        kind: ``"text"`` or ``"video"``.
        blocked_by: name of the first stage that blocked (or failed, when not opted out); None when allowed.
        reason: one line: the blocking stage's detail, or ``"all stages passed"``.
        categories: categories named by the blocking stage.
        stages: one `StageResult` per stage and input, in the order they ran.
        opted_out: names of stages that errored but were let through because the caller opted out
            (``allow_unavailable=True``); each is also logged as a warning.
        seconds: total wall-clock time, in seconds.
        preset: the `Guardrail` preset name, when built from one.
        frames: for video checks that passed, the post-processed (face-pixelated) copy of the frames,
            ``uint8 [T, H, W, 3]``; None otherwise. Not part of the JSON form.
    """

    allowed: bool
    kind: Literal["text", "video"]
    blocked_by: str | None = None
    reason: str = ""
    categories: tuple[str, ...] = ()
    stages: list[StageResult] = field(default_factory=list)
    opted_out: tuple[str, ...] = ()
    seconds: float = 0.0
    preset: str | None = None
    frames: np.ndarray | None = field(default=None, repr=False, compare=False)

    def stage(self, name: str, input: str | None = None) -> StageResult:
        """The first `StageResult` named `name` (and checking `input`, when given). Raises KeyError."""
        for result in self.stages:
            if result.name == name and (input is None or result.input == input):
                return result
        raise KeyError(
            f"no stage {name!r} (input={input!r}) in report; stages: {[s.name for s in self.stages]}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (without `frames`)."""
        return {
            "allowed": self.allowed,
            "kind": self.kind,
            "blocked_by": self.blocked_by,
            "reason": self.reason,
            "categories": list(self.categories),
            "stages": [s.to_dict() for s in self.stages],
            "opted_out": list(self.opted_out),
            "seconds": self.seconds,
            "preset": self.preset,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GuardReport:
        """Inverse of `to_dict` (`frames` is None)."""
        return cls(
            allowed=bool(data["allowed"]),
            kind=data["kind"],
            blocked_by=data.get("blocked_by"),
            reason=data.get("reason", ""),
            categories=tuple(data.get("categories", ())),
            stages=[StageResult.from_dict(s) for s in data.get("stages", ())],
            opted_out=tuple(data.get("opted_out", ())),
            seconds=float(data.get("seconds", 0.0)),
            preset=data.get("preset"),
        )

    def summary(self) -> str:
        """Human-readable multi-line summary (what the CLI prints above the JSON)."""
        head = "ALLOWED" if self.allowed else f"BLOCKED by {self.blocked_by}"
        lines = [f"{head}: {self.reason}"]
        for s in self.stages:
            where = f"[{s.input}]" if s.input else ""
            cats = f" categories={list(s.categories)}" if s.categories else ""
            lines.append(
                f"  {s.name}{where}: {s.status} ({s.seconds * 1000:.0f} ms){cats} {s.detail}".rstrip()
            )
        if self.opted_out:
            lines.append(f"  WARNING: stages opted out of (could not run): {list(self.opted_out)}")
        return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples inside `value` to plain JSON types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
