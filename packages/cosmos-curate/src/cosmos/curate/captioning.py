"""Caption windows and captioning backends as plugins (spec/curation.md §7).

Windows: 256 frames; a remainder of ≥ 128 frames becomes its own window, a smaller one joins the last
window; a clip of ≤ 256 frames is one window. Backends (any object with ``name`` and
``caption(frames, clip, window) -> str``):

* :class:`TemplateCaptioner` (``"template"``, offline): a sentence built from clip metadata. It says
  nothing about content; it keeps the shard format complete when no VLM is reachable.
* :class:`OpenAICompatibleCaptioner` (``"openai"``): any OpenAI-compatible chat endpoint (vLLM, an
  inference server) with ``n`` uniformly sampled JPEG frames and the paper's prompt.
* :class:`TransformersVLMCaptioner` (``"transformers"``): a local vision-language model through
  ``transformers`` (``AutoModelForImageTextToText`` + its processor's chat template), same frames and prompt.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.request
from typing import Protocol

import numpy as np
from PIL import Image

from cosmos.curate.config import CaptionConfig
from cosmos.curate.stage import Resources, Stage
from cosmos.curate.tasks import Clip, VideoTask, Window

__all__ = [
    "make_windows",
    "Captioner",
    "TemplateCaptioner",
    "OpenAICompatibleCaptioner",
    "TransformersVLMCaptioner",
    "CaptionStage",
]


def make_windows(
    num_frames: int, window_size: int = 256, remainder_threshold: int = 128
) -> list[tuple[int, int]]:
    """``(start_frame, end_frame)`` windows, end inclusive, covering ``num_frames`` frames (spec §7)."""
    if num_frames <= 0:
        return []
    if num_frames <= window_size:
        return [(0, num_frames - 1)]
    full, remainder = divmod(num_frames, window_size)
    windows = [(k * window_size, (k + 1) * window_size - 1) for k in range(full)]
    if remainder >= remainder_threshold:
        windows.append((full * window_size, num_frames - 1))
    elif remainder:
        windows[-1] = (windows[-1][0], num_frames - 1)
    return windows


def _pick_frames(frames: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` uniformly spaced frames (all when there are fewer)."""
    return np.linspace(0, len(frames) - 1, num=min(count, len(frames))).round().astype(int)


class Captioner(Protocol):
    """A caption backend: ``name`` (key in ``window.caption``) and ``caption(frames, clip, window)``."""

    name: str

    def caption(self, frames: np.ndarray, clip: Clip, window: Window) -> str:  # pragma: no cover - protocol
        """Caption uint8 ``[N, H, W, 3]`` frames sampled from ``window`` of ``clip``."""


class TemplateCaptioner:
    """Offline caption from metadata: ``"A 4.0-second 320x256 video clip at 16 fps from cuts.mp4 ..."``.

    Clips carrying a ``caption`` in their metadata (simulator episodes) keep that caption instead.
    """

    name = "template"

    def caption(self, frames: np.ndarray, clip: Clip, window: Window) -> str:
        if clip.metadata.get("caption"):
            return str(clip.metadata["caption"])
        meta = clip.metadata
        seconds = (window.end_frame - window.start_frame + 1) / meta["framerate"]
        start_s, end_s = clip.span
        return (
            f"A {seconds:.1f}-second {meta['width']}x{meta['height']} video clip at {meta['framerate']:g} fps "
            f"from {clip.source_video} ({start_s:.2f}-{end_s:.2f} s)."
        )


class OpenAICompatibleCaptioner:
    """Caption through an OpenAI-compatible ``/chat/completions`` endpoint (images as base64 JPEG).

    Raises ``RuntimeError`` with the endpoint named when the request fails.
    """

    name = "openai"

    def __init__(self, config: CaptionConfig) -> None:
        self.config = config
        self.name = config.model or "openai"

    def caption(self, frames: np.ndarray, clip: Clip, window: Window) -> str:
        cfg = self.config
        picks = _pick_frames(frames, cfg.num_frames)
        content: list[dict] = [{"type": "text", "text": cfg.prompt}]
        for index in picks:
            buffer = io.BytesIO()
            Image.fromarray(frames[index]).save(buffer, format="JPEG", quality=90)
            url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
            content.append({"type": "image_url", "image_url": {"url": url}})
        body = {
            "model": cfg.model,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": cfg.max_tokens,
            "temperature": cfg.temperature,
        }
        request = urllib.request.Request(
            cfg.endpoint.rstrip("/") + "/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=cfg.timeout_s) as response:
                reply = json.loads(response.read())
        except OSError as exc:
            raise RuntimeError(f"caption endpoint {cfg.endpoint} failed: {exc}") from exc
        return str(reply["choices"][0]["message"]["content"]).strip()


class TransformersVLMCaptioner:
    """Caption with a local vision-language model through ``transformers`` (loaded in :meth:`setup`).

    Raises ``ImportError`` when transformers is missing; weights come from the Hub or a local folder.
    """

    def __init__(self, config: CaptionConfig) -> None:
        self.config = config
        self.name = config.model or "transformers"
        self._model = self._processor = None

    def setup(self) -> None:
        """Load the processor and the model (bfloat16 on GPU, float32 on CPU)."""
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError as exc:  # pragma: no cover - optional dependency
            raise ImportError("caption backend 'transformers' needs `pip install transformers`") from exc
        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        self._processor = AutoProcessor.from_pretrained(self.config.model)
        model = AutoModelForImageTextToText.from_pretrained(self.config.model, torch_dtype=dtype)
        self._model = model.to(device).eval()

    def caption(
        self, frames: np.ndarray, clip: Clip, window: Window
    ) -> str:  # pragma: no cover - needs weights
        import torch

        if self._model is None:
            self.setup()
        images = [Image.fromarray(frames[i]) for i in _pick_frames(frames, self.config.num_frames)]
        content = [{"type": "image"} for _ in images] + [{"type": "text", "text": self.config.prompt}]
        messages = [{"role": "user", "content": content}]
        prompt = self._processor.apply_chat_template(messages, add_generation_prompt=True)
        inputs = self._processor(text=[prompt], images=images, return_tensors="pt").to(self._model.device)
        sample = self.config.temperature > 0
        with torch.no_grad():
            output = self._model.generate(
                **inputs,
                max_new_tokens=self.config.max_tokens,
                do_sample=sample,
                temperature=self.config.temperature if sample else None,
            )
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        return self._processor.decode(new_tokens, skip_special_tokens=True).strip()


class CaptionStage(Stage):
    """Split clips into windows and caption each with the configured backend.

    Frames come from ``clip.frames`` (the shared extraction), restricted to the window's time span.
    Failures mark the window ``caption_status = "error"`` and record the message in ``clip.errors``.
    """

    name = "caption"
    resources = Resources(cpus=0.5)

    def __init__(self, config: CaptionConfig) -> None:
        self.config = config
        if config.backend == "none":
            self.captioner = None
        elif config.backend == "template":
            self.captioner = TemplateCaptioner()
        elif config.backend == "openai":
            self.captioner = OpenAICompatibleCaptioner(config)
        else:
            self.captioner = TransformersVLMCaptioner(config)

    def setup(self) -> None:
        if hasattr(self.captioner, "setup"):
            self.captioner.setup()

    def process_data(self, tasks: list[VideoTask]) -> list[VideoTask]:
        cfg = self.config
        for task in tasks:
            for clip in task.clips:
                num_frames = clip.metadata.get("num_frames", clip.num_frames)
                clip.windows = [
                    Window(s, e)
                    for s, e in make_windows(num_frames, cfg.window_size, cfg.remainder_threshold)
                ]
                if self.captioner is None:
                    continue
                frames = clip.frames if clip.frames is not None else np.zeros((0, 1, 1, 3), np.uint8)
                for window in clip.windows:
                    lo, hi = window.start_frame / num_frames, (window.end_frame + 1) / num_frames
                    n = len(frames)
                    picked = frames[int(lo * n) : max(int(lo * n) + 1, int(hi * n))] if n else frames
                    try:
                        window.caption[self.captioner.name] = self.captioner.caption(picked, clip, window)
                        window.caption_status = "success"
                    except (RuntimeError, KeyError, ValueError) as exc:
                        window.caption_status = "error"
                        clip.errors[self.name] = str(exc)
                task.clip_stats["windows_captioned"] += sum(
                    w.caption_status == "success" for w in clip.windows
                )
        return tasks
