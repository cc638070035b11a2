"""`Guardrail`: ordered pre-guard and post-guard stages, presets, fail-closed policy (spec §1, §7).

* ``check_text(prompt, negative_prompt=None)`` runs every text stage on the prompt, then on the negative
  prompt (the reference never checks the negative prompt, spec §1.3), stopping at the first block.
* ``check_video(frames)`` runs the video classifiers, then the post-processors (face pixelation) and returns
  the processed copy in ``report.frames``.
* A stage that is configured but cannot run (missing weights, an exception, an unparseable model answer) is
  recorded as ``"error"`` and **blocks**, unless the guardrail was built with ``allow_unavailable=True``: then
  the failure is logged as a warning and recorded in ``report.opted_out``. The reference does the opposite
  (it swallows exceptions as "safe", spec §1.5).

Presets (`GUARDRAIL_PRESETS`):

* ``"offline"``: our keyword `Blocklist` + Haar `FaceBlur`; runs anywhere on CPU with no downloads.
* ``"cosmos-1.0"`` / ``"cosmos-predict1"``: the reference's stage sets: Blocklist (NVIDIA's lists, the
  release's fuzzy parameters) -> Aegis; video content-safety classifier -> RetinaFace pixelation. They need
  NVIDIA's guardrail checkpoint (``nvidia/Cosmos-1.0-Guardrail``, or the ``guardrail/`` folder of a model
  repo); stages whose weights are missing fail closed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from cosmos.core import ShapeError, resolve_pretrained, video_to_frames

from .blocklist import BLOCKLIST_PRESETS, Blocklist, KeywordLists
from .errors import GuardConfigError
from .face_blur import FaceBlur, HaarFaceDetector
from .llm_guard import LLMGuard
from .verdict import GuardReport, StageResult

__all__ = [
    "GUARDRAIL_HUB_ID",
    "GUARDRAIL_PRESETS",
    "Deferred",
    "Guardrail",
    "default_guardrail",
    "find_guardrail_dir",
    "run_text_guardrail",
    "run_video_guardrail",
]

logger = logging.getLogger(__name__)

GUARDRAIL_HUB_ID = "nvidia/Cosmos-1.0-Guardrail"
GUARDRAIL_PRESETS: tuple[str, ...] = ("offline", "cosmos-1.0", "cosmos-predict1")


class TextStage(Protocol):
    """A pre-guard stage: ``check(text, input=...) -> StageResult`` (`Blocklist`, `LLMGuard`)."""

    name: str

    def check(self, text: str, *, input: str = "prompt") -> StageResult: ...


class VideoStage(Protocol):
    """A video classifier: ``check(frames uint8 [T, H, W, 3], input=...) -> StageResult`` (`VideoContentSafety`)."""

    name: str

    def check(self, frames: np.ndarray, *, input: str = "video") -> StageResult: ...


class PostProcessor(Protocol):
    """A frame post-processor: ``process(frames) -> (new frames, StageResult)``, never in place (`FaceBlur`)."""

    name: str

    def process(self, frames: np.ndarray, *, input: str = "video") -> tuple[np.ndarray, StageResult]: ...


class Deferred:
    """A stage built on first use, so that a preset can be created without its weights.

    If `factory` raises (missing checkpoint, missing optional dependency), the error is re-raised at every
    use and the `Guardrail` records the stage as ``"error"`` (fail closed).

    Args:
        name: the stage name reported before (or instead of) building it.
        factory: zero-argument callable returning the stage.
        model_id: model id reported when the stage cannot be built.
    """

    def __init__(self, name: str, factory: Callable[[], Any], *, model_id: str | None = None) -> None:
        self.name = name
        self.model_id = model_id
        self._factory = factory
        self._stage: Any = None
        self._device: str | None = None

    def get(self) -> Any:
        """The built stage (built now if needed). Raises whatever the factory raises."""
        if self._stage is None:
            stage = self._factory()
            if self._device is not None and hasattr(stage, "to"):
                stage.to(self._device)
            self._stage = stage
        return self._stage

    def check(self, data: Any, *, input: str) -> StageResult:
        """Build the stage if needed, then delegate to its ``check``."""
        return self.get().check(data, input=input)

    def process(self, frames: np.ndarray, *, input: str = "video") -> tuple[np.ndarray, StageResult]:
        """Build the stage if needed, then delegate to its ``process``."""
        return self.get().process(frames, input=input)

    def to(self, device: str) -> Deferred:
        """Remember `device` (applied when the stage is built) and move an already built stage."""
        self._device = str(device)
        if self._stage is not None and hasattr(self._stage, "to"):
            self._stage.to(device)
        return self


def find_guardrail_dir(root: str | Path) -> Path:
    """The folder holding NVIDIA's guardrail sub-folders (``blocklist/``, ``aegis/``, ``face_blur_filter/``...).

    `root` itself when it has one of them; else the first folder named ``guardrail`` under `root`
    (breadth-first, sorted), as the reference searches a model checkpoint directory (spec §1.2).

    Raises:
        GuardConfigError: no such folder.
    """
    root = Path(root)
    markers = ("blocklist", "aegis", "video_content_safety_filter", "face_blur_filter")
    if any((root / m).is_dir() for m in markers):
        return root
    level = [root] if root.is_dir() else []
    while level:
        next_level = []
        for folder in level:
            for child in sorted(p for p in folder.iterdir() if p.is_dir()):
                if child.name == "guardrail":
                    return child
                next_level.append(child)
        level = next_level
    raise GuardConfigError(
        f"no guardrail checkpoint folder under {root} (expected blocklist/, aegis/, ... or guardrail/)"
    )


def _as_frames(frames: Any) -> np.ndarray:
    """uint8 [T, H, W, 3] from uint8 frames or a float model video [3, T, H, W] / [1, 3, T, H, W] in [-1, 1]."""
    if isinstance(frames, torch.Tensor) and frames.is_floating_point():
        if frames.ndim == 5:
            if frames.shape[0] != 1:
                raise ShapeError(
                    f"check_video takes one video; got a batch of {frames.shape[0]}: check each one"
                )
            frames = frames[0]
        return video_to_frames(frames)
    if isinstance(frames, torch.Tensor):
        frames = frames.cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or frames.shape[0] == 0:
        raise ShapeError(
            f"frames must be non-empty uint8 [T, H, W, 3] RGB, got {frames.dtype} {frames.shape}"
        )
    return frames


class Guardrail:
    """Ordered guard stages with structured, fail-closed verdicts.

    Args:
        text_stages: pre-guard stages (`Blocklist`, `LLMGuard`, or `Deferred` wrappers), run in order.
        video_stages: video classifiers (`VideoContentSafety`), run in order before the post-processors.
        postprocessors: frame post-processors (`FaceBlur`), applied in order to a copy of the frames.
        allow_unavailable: explicit opt-out of fail-closed: a stage that errors is logged and skipped
            (recorded in ``report.opted_out``) instead of blocking.
        check_negative_prompt: also run the text stages on the negative prompt.
        preset: name recorded in reports.
    """

    def __init__(
        self,
        text_stages: Sequence[TextStage] = (),
        video_stages: Sequence[VideoStage] = (),
        postprocessors: Sequence[PostProcessor] = (),
        *,
        allow_unavailable: bool = False,
        check_negative_prompt: bool = True,
        preset: str | None = None,
    ) -> None:
        self.text_stages = list(text_stages)
        self.video_stages = list(video_stages)
        self.postprocessors = list(postprocessors)
        self.allow_unavailable = allow_unavailable
        self.check_negative_prompt = check_negative_prompt
        self.preset = preset
        if allow_unavailable:
            logger.warning(
                "Guardrail(%s) built with allow_unavailable=True: stages that cannot run will be skipped, not block",
                preset or "custom",
            )

    # ------------------------------------------------------------------ presets
    @classmethod
    def from_preset(
        cls,
        name: str,
        *,
        checkpoint_dir: str | Path | None = None,
        allow_unavailable: bool = False,
        device: str = "cpu",
        blocklist_dirs: Sequence[str | Path] = (),
        progress: bool = False,
        detect_every: int = 1,
    ) -> Guardrail:
        """Build one of `GUARDRAIL_PRESETS`.

        Args:
            name: ``"offline"``, ``"cosmos-1.0"`` or ``"cosmos-predict1"``.
            checkpoint_dir: NVIDIA guardrail checkpoint folder (or a model checkpoint folder containing a
                ``guardrail/`` sub-folder) for the NVIDIA presets; default: ``$COSMOS_GUARDRAIL_DIR``, else
                the Hub repo ``nvidia/Cosmos-1.0-Guardrail`` (resolved on first use, honouring
                ``HF_HUB_OFFLINE``/``HF_TOKEN``). Ignored by ``"offline"``.
            allow_unavailable: see `Guardrail`.
            device: torch device for model stages.
            blocklist_dirs: extra keyword-list folders (NVIDIA layout) merged into the blocklist.
            progress: tqdm bars on per-frame work.
            detect_every: run the face detector on every k-th frame only (see `FaceBlur`; 1 = every frame).

        Raises:
            GuardConfigError: unknown preset, or an empty extra keyword list.
        """
        extra_lists = [KeywordLists.from_dir(d) for d in blocklist_dirs]
        if name == "offline":
            lists = KeywordLists.default()
            for extra in extra_lists:
                lists = lists.merged(extra)
            return cls(
                [Blocklist(lists, BLOCKLIST_PRESETS["offline"])],
                [],
                [FaceBlur(HaarFaceDetector(), progress=progress, detect_every=detect_every)],
                allow_unavailable=allow_unavailable,
                preset=name,
            )
        if name not in GUARDRAIL_PRESETS:
            raise GuardConfigError(
                f"unknown guardrail preset {name!r}; choose from {list(GUARDRAIL_PRESETS)}"
            )
        source = checkpoint_dir if checkpoint_dir is not None else os.environ.get("COSMOS_GUARDRAIL_DIR")
        root_cache: dict[str, Path] = {}

        def root() -> Path:
            if "root" not in root_cache:
                if source is not None:
                    root_cache["root"] = find_guardrail_dir(source)
                else:
                    root_cache["root"] = resolve_pretrained(GUARDRAIL_HUB_ID)
            return root_cache["root"]

        def blocklist() -> Blocklist:
            lists = KeywordLists.from_dir(root() / "blocklist")
            for extra in extra_lists:
                lists = lists.merged(extra)
            return Blocklist(lists, BLOCKLIST_PRESETS[name])

        def aegis() -> LLMGuard:
            return LLMGuard("aegis", cache_dir=root() / "aegis", device=device)

        def video_classifier():
            from .video_safety import VideoContentSafety

            return VideoContentSafety.from_checkpoint_dir(
                root() / "video_content_safety_filter", device=device
            )

        def retinaface() -> FaceBlur:
            from .retinaface import RetinaFaceDetector

            path = root() / "face_blur_filter" / "Resnet50_Final.pth"
            detector = RetinaFaceDetector.from_file(path, device=device)
            return FaceBlur(detector, progress=progress, detect_every=detect_every)

        return cls(
            [
                Deferred("blocklist", blocklist, model_id=f"blocklist:{GUARDRAIL_HUB_ID}"),
                Deferred(
                    "aegis",
                    aegis,
                    model_id="meta-llama/LlamaGuard-7b+nvidia/Aegis-AI-Content-Safety-LlamaGuard-Defensive-1.0",
                ),
            ],
            [
                Deferred(
                    "video_content_safety",
                    video_classifier,
                    model_id="google/siglip-so400m-patch14-384+safety_head",
                )
            ],
            [Deferred("face_blur", retinaface, model_id="retinaface-resnet50")],
            allow_unavailable=allow_unavailable,
            preset=name,
        )

    # ------------------------------------------------------------------ running
    def _run(self, stage: Any, call: Callable[[], Any], input: str) -> tuple[Any, StageResult]:
        """Run one stage; exceptions become an ``"error"`` result (never swallowed as a pass)."""
        t0 = time.perf_counter()
        try:
            out = call()
        except Exception as error:  # fail closed: the decision is made by `_decide`
            logger.error(
                "guard stage %s failed on %s: %s: %s", stage.name, input, type(error).__name__, error
            )
            return None, StageResult(
                name=stage.name,
                status="error",
                detail=f"stage could not run: {type(error).__name__}: {error}",
                input=input,
                seconds=time.perf_counter() - t0,
                model_id=getattr(stage, "model_id", None),
            )
        result = out[1] if isinstance(out, tuple) else out
        return out, result

    def _decide(self, result: StageResult, opted_out: list[str]) -> bool:
        """True when `result` stops the check (block, or error without opt-out)."""
        if result.status == "block":
            return True
        if result.status == "error":
            if self.allow_unavailable:
                logger.warning(
                    "guard stage %s could not run and was opted out of: %s", result.name, result.detail
                )
                opted_out.append(result.name)
                return False
            return True
        return False

    @staticmethod
    def _finish(report: GuardReport, stopper: StageResult | None, t0: float) -> GuardReport:
        if stopper is not None:
            report.allowed = False
            report.blocked_by = stopper.name
            kind = "" if stopper.status == "block" else "fail-closed: "
            report.reason = f"{kind}{stopper.name} on {stopper.input}: {stopper.detail}"
            report.categories = stopper.categories
            logger.critical("GUARDRAIL BLOCKED: %s", report.reason)
        report.seconds = time.perf_counter() - t0
        return report

    def check_text(self, prompt: str, negative_prompt: str | None = None) -> GuardReport:
        """Run the pre-guard on the prompt (and the negative prompt).

        Args:
            prompt: the user's prompt (also pass the upsampled prompt through here when an upsampler is used).
            negative_prompt: checked too when given and non-empty (and `check_negative_prompt`).

        Returns:
            `GuardReport` (kind ``"text"``). Stages after the first block are ``"not_evaluated"``.
        """
        t0 = time.perf_counter()
        inputs = [("prompt", prompt)]
        if negative_prompt and self.check_negative_prompt:
            inputs.append(("negative_prompt", negative_prompt))
        report = GuardReport(allowed=True, kind="text", reason="all stages passed", preset=self.preset)
        if not self.text_stages:
            logger.warning("Guardrail has no text stages: prompt not checked")
            report.reason = "no text stages configured"
        opted_out: list[str] = []
        stopper: StageResult | None = None
        for label, text in inputs:
            for stage in self.text_stages:
                if stopper is not None:
                    report.stages.append(
                        StageResult(
                            stage.name, "not_evaluated", "skipped: an earlier stage blocked", input=label
                        )
                    )
                    continue
                _, result = self._run(stage, lambda s=stage, t=text, i=label: s.check(t, input=i), label)
                report.stages.append(result)
                if self._decide(result, opted_out):
                    stopper = result
        report.opted_out = tuple(dict.fromkeys(opted_out))
        return self._finish(report, stopper, t0)

    def check_video(self, frames: Any) -> GuardReport:
        """Run the post-guard on one video.

        Args:
            frames: ``uint8 [T, H, W, 3]`` RGB (numpy or torch), or a float model video ``[3, T, H, W]`` /
                ``[1, 3, T, H, W]`` in [-1, 1]. Never modified.

        Returns:
            `GuardReport` (kind ``"video"``); when allowed, ``report.frames`` is the post-processed
            (face-pixelated) ``uint8 [T, H, W, 3]`` copy.

        Raises:
            ShapeError: `frames` has the wrong layout or dtype.
        """
        t0 = time.perf_counter()
        frames = _as_frames(frames)
        report = GuardReport(allowed=True, kind="video", reason="all stages passed", preset=self.preset)
        opted_out: list[str] = []
        stopper: StageResult | None = None
        for stage in self.video_stages:
            if stopper is not None:
                report.stages.append(
                    StageResult(
                        stage.name, "not_evaluated", "skipped: an earlier stage blocked", input="video"
                    )
                )
                continue
            _, result = self._run(stage, lambda s=stage: s.check(frames, input="video"), "video")
            report.stages.append(result)
            if self._decide(result, opted_out):
                stopper = result
        processed = frames
        for stage in self.postprocessors:
            if stopper is not None:
                report.stages.append(
                    StageResult(
                        stage.name, "not_evaluated", "skipped: an earlier stage blocked", input="video"
                    )
                )
                continue
            out, result = self._run(stage, lambda s=stage, f=processed: s.process(f, input="video"), "video")
            report.stages.append(result)
            if out is not None:
                processed = out[0]
            if self._decide(result, opted_out):
                stopper = result
        report.opted_out = tuple(dict.fromkeys(opted_out))
        report = self._finish(report, stopper, t0)
        if report.allowed:
            report.frames = processed if processed is not frames else frames.copy()
        return report

    def to(self, device: str | torch.device) -> Guardrail:
        """Move model stages to `device` (diffusers moves its safety checker before each check)."""
        for stage in [*self.text_stages, *self.video_stages, *self.postprocessors]:
            if hasattr(stage, "to"):
                stage.to(str(device))
        return self

    def __repr__(self) -> str:
        names = lambda stages: [s.name for s in stages]  # noqa: E731
        return (
            f"Guardrail(preset={self.preset!r}, text={names(self.text_stages)}, video={names(self.video_stages)}, "
            f"post={names(self.postprocessors)}, allow_unavailable={self.allow_unavailable})"
        )


def default_guardrail(
    for_nvidia_checkpoint: bool,
    *,
    checkpoint_dir: str | Path | None = None,
    allow_unavailable: bool = False,
    device: str = "cpu",
) -> Guardrail:
    """The guardrail the world models run (integration hook for cosmos-diffusion / cosmos-ar).

    Args:
        for_nvidia_checkpoint: True when generating with NVIDIA's released weights: the full
            ``"cosmos-predict1"`` preset (Blocklist, Aegis, video classifier, RetinaFace), which fails closed
            when its weights are absent; False for our nano models: the ``"offline"`` preset.
        checkpoint_dir: NVIDIA guardrail folder, or a model checkpoint folder with a ``guardrail/`` inside.
        allow_unavailable: explicit, logged opt-out of fail-closed.
        device: torch device for model stages.
    """
    preset = "cosmos-predict1" if for_nvidia_checkpoint else "offline"
    return Guardrail.from_preset(
        preset, checkpoint_dir=checkpoint_dir, allow_unavailable=allow_unavailable, device=device
    )


def run_text_guardrail(prompt: str, guardrail: Guardrail) -> bool:
    """Reference-style wrapper (spec §1.2): True when the prompt may be used (logs CRITICAL when blocked)."""
    return guardrail.check_text(prompt).allowed


def run_video_guardrail(frames: np.ndarray, guardrail: Guardrail) -> np.ndarray | None:
    """Reference-style wrapper (spec §1.2): the face-pixelated frames, or None when blocked."""
    report = guardrail.check_video(frames)
    return report.frames if report.allowed else None
