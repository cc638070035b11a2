"""``PromptUpsampler``: turn a short user prompt into the long caption the world models were trained on.

Cosmos-1.0 ships two upsamplers (diffusion spec §10; paper §5.2):

* **Text2World**: ``Cosmos-1.0-Prompt-Upsampler-12B-Text2World``, Mistral-NeMo-12B-Instruct fine-tuned on
  (short caption, long caption) pairs. One user turn ``"Upsample the short caption to a long caption:
  {prompt}"``, up to 512 new tokens, temperature 0.01; the answer is cleaned (:func:`clean_upsampled_text`).
  Skipped when the prompt has more than 250 words (the official CLI default).
* **Video2World**: Pixtral-12B, a VLM. It sees the **last frame** of the conditioning video (longest side resized
  to at most 1024) and a fixed instruction; the user prompt is not part of it, so the official pipeline ignores
  the user's prompt when this upsampler is on (spec §9). Up to 400 new tokens.

The template strings are the official ones, word for word, from NVIDIA/Cosmos
``cosmos1/models/diffusion/prompt_upsampler/{text2world,video2world}_prompt_upsampler_inference.py``.

Backends (one client, :mod:`cosmos.core.llm`, shared with cosmos-guard's LLM moderation):

* ``PromptUpsampler.from_pretrained(hub id or folder)``: any Hugging Face causal LM (text) or image-text-to-text
  model (video2world) through transformers (extra ``[llm]``), greedy decoding;
* ``PromptUpsampler.from_endpoint(base_url, model_id)``: an OpenAI-compatible server (vLLM, TGI ...);
* ``PromptUpsampler.from_spec("http://host:8000/v1#model" | folder | hub id)``: what the CLIs'
  ``--upsample-prompt`` takes.

Decoding is greedy everywhere (the official 0.01 temperature is near-greedy; greedy keeps runs reproducible).

An upsampler must never crash a generation: when the model raises, returns nothing, or returns text that is not a
caption (:func:`looks_like_caption`: too few words, mostly non-letters, or a loop of a few repeated words), the
original prompt is used and a :class:`PromptUpsamplerWarning` is issued. Bad *configuration* (a folder that does
not exist, transformers missing, an unknown template) still raises early, when the upsampler is built.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from cosmos.core.errors import CheckpointError, ConfigError, ShapeError
from cosmos.core.llm import OpenAICompatibleGenerator, TextGenerator, TransformersGenerator

__all__ = [
    "TEXT2WORLD_UPSAMPLER",
    "UPSAMPLER_TEMPLATES",
    "VIDEO2WORLD_UPSAMPLER",
    "PromptUpsampler",
    "PromptUpsamplerWarning",
    "UpsampledPrompt",
    "UpsamplerTemplate",
    "clean_upsampled_text",
    "looks_like_caption",
    "upsampler_image",
]

logger = logging.getLogger(__name__)

TEXT2WORLD_UPSAMPLER = "nvidia/Cosmos-1.0-Prompt-Upsampler-12B-Text2World"
"""NVIDIA's Text2World upsampler (a ``model.pt`` in NVIDIA's own layout; transformers needs it in Mistral's HF
layout, see docs/diffusion.md)."""

VIDEO2WORLD_UPSAMPLER = "mistral-community/pixtral-12b"
"""The Video2World upsampler: Pixtral-12B in its Hugging Face layout (the tokenizer the official code names)."""

TEXT2WORLD_INSTRUCTION = "Upsample the short caption to a long caption: {prompt}"
VIDEO2WORLD_INSTRUCTION = (
    "Your task is to transform a given prompt into a refined and concise video description, no more than 150 words.\n"
    "Focus only on the content, no filler words or descriptions on the style. Never mention things outside the video."
)


class PromptUpsamplerWarning(UserWarning):
    """The upsampler failed or answered with something that is not a caption: the original prompt is used."""


@dataclass(frozen=True)
class UpsamplerTemplate:
    """How one official upsampler is prompted (diffusion spec §10).

    Attributes:
        name: ``"text2world"`` or ``"video2world"``.
        instruction: the user turn; ``{prompt}`` is replaced by the user's prompt (text2world).
        max_new_tokens: generation budget (512 text, 400 vision).
        uses_image: the instruction is preceded by the conditioning video's last frame (Pixtral).
        word_limit: prompts with more words than this are passed through unchanged (None: never skipped).
    """

    name: str
    instruction: str
    max_new_tokens: int
    uses_image: bool
    word_limit: int | None

    def messages(
        self, prompt: str, image: Any = None, *, include_prompt: bool = False
    ) -> list[dict[str, Any]]:
        """The one-turn chat for ``prompt`` (and the frame ``image``, a PIL image, for video2world).

        Args:
            include_prompt: video2world only: append ``"Prompt: {prompt}"`` after the official instruction (the
                official pipeline ignores the user's prompt; this is our opt-in).

        Raises:
            ShapeError: video2world without an image.
        """
        text = self.instruction.format(prompt=prompt) if "{prompt}" in self.instruction else self.instruction
        if not self.uses_image:
            return [{"role": "user", "content": text}]
        if image is None:
            raise ShapeError("the video2world upsampler needs the conditioning video (its last frame)")
        if include_prompt:
            text = f"{text}\nPrompt: {prompt}"
        # the official content is "[IMG]\n" + instruction: the image first, then the text
        return [
            {"role": "user", "content": [{"type": "image", "image": image}, {"type": "text", "text": text}]}
        ]


UPSAMPLER_TEMPLATES: dict[str, UpsamplerTemplate] = {
    "text2world": UpsamplerTemplate("text2world", TEXT2WORLD_INSTRUCTION, 512, False, 250),
    "video2world": UpsamplerTemplate("video2world", VIDEO2WORLD_INSTRUCTION, 400, True, None),
}


# --------------------------------------------------------------------------- cleaning and the fallback rule
_BULLET = re.compile(r"- \*\*(.*?)\*\*")
_PREFIXES = ("Caption:", "#####", "####", "- ", "* ", ",")
_EDGE_CHARACTERS = " -,*:\"'“”"


def clean_upsampled_text(text: str) -> str:
    """Clean an upsampler's answer as the official Text2World code does (diffusion spec §10).

    In order: newlines become spaces; ``- **...**`` fragments of fewer than 10 words are dropped (longer ones are
    kept); the prefixes ``Caption:``, ``#####``, ``####``, ``- ``, ``* ``, ``,`` are each stripped once when the text
    starts with them; runs of whitespace collapse to one space; quotes, dashes, commas, stars and colons are
    stripped from both ends.
    """
    text = text.replace("\r", " ").replace("\n", " ")
    text = _BULLET.sub(lambda m: m.group(0) if len(re.findall(r"\w+", m.group(1))) >= 10 else "", text)
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :].lstrip()
    return " ".join(text.split()).strip(_EDGE_CHARACTERS)


def looks_like_caption(text: str, *, min_words: int = 3, min_letter_fraction: float = 0.6) -> bool:
    """Whether ``text`` can stand in for a prompt: the fallback rule of :class:`PromptUpsampler`.

    A caption has at least ``min_words`` words of letters, at least ``min_letter_fraction`` of its non-space
    characters are letters, at least two of its words are distinct, and, from 8 words on, at least half of its word
    trigrams are distinct (a model stuck in a loop repeats a short cycle of tokens, ``"a b c a b c ..."``). Random or
    broken models fail one of these; real captions pass all four.
    """
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < min_words:
        return False
    characters = [c for c in text if not c.isspace()]
    if sum(c.isalpha() for c in characters) < min_letter_fraction * len(characters):
        return False
    if len(set(words)) < 2:
        return False
    trigrams = list(zip(words, words[1:], words[2:]))
    return len(words) < 8 or len(set(trigrams)) >= 0.5 * len(trigrams)


def upsampler_image(frame: Tensor, max_size: int = 1024) -> Any:
    """The Video2World upsampler's input image from one frame ``float [3, H, W]`` in [-1, 1].

    Returns a PIL RGB image whose longest side is at most ``max_size`` (bilinear resize, sides rounded up as the
    official code does).

    Raises:
        ShapeError: not a ``[3, H, W]`` frame.
    """
    from PIL import Image

    if frame.ndim != 3 or frame.shape[0] != 3:
        raise ShapeError(f"expected one frame [3, H, W], got {tuple(frame.shape)}")
    pixels = ((frame.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    image = Image.fromarray(pixels.permute(1, 2, 0).numpy())  # [H, W, 3]
    ratio = max(image.width, image.height) / max_size
    if ratio > 1:
        image = image.resize((ceil(image.width / ratio), ceil(image.height / ratio)), Image.BILINEAR)
    return image


def _last_frames(video: Tensor, batch: int) -> list[Tensor]:
    """The last frame ``[3, H, W]`` of each of ``batch`` samples of ``[B|1, 3, N, H, W]`` or ``[3, N, H, W]``."""
    if video.ndim == 4:
        video = video[None]
    if video.ndim != 5 or video.shape[1] != 3 or video.shape[0] not in (1, batch):
        raise ShapeError(f"expected video [{batch}|1, 3, N, H, W], got {tuple(video.shape)}")
    last = video[:, :, -1]  # [B|1, 3, H, W]
    return [last[b if last.shape[0] > 1 else 0] for b in range(batch)]


# --------------------------------------------------------------------------- the upsampler
@dataclass(frozen=True)
class UpsampledPrompt:
    """What the upsampler did to one prompt.

    Attributes:
        original: the user's prompt.
        prompt: the prompt used for generation (upsampled, or the original on skip/fallback).
        status: ``"upsampled"``, ``"skipped"`` (over the word limit) or ``"fallback"`` (error or not a caption).
        detail: why (the error, or the raw answer that was rejected).
        seconds: wall time of the model call.
    """

    original: str
    prompt: str
    status: str
    detail: str = ""
    seconds: float = 0.0


class PromptUpsampler:
    """Upsample prompts with an LLM/VLM and the official templates (diffusion spec §10).

    Args:
        generator: a :class:`cosmos.core.llm.TextGenerator` (transformers, an OpenAI-compatible server, or a test
            stand-in).
        template: ``"text2world"`` (default) or ``"video2world"`` (needs the conditioning video).
        word_limit: override of the template's skip threshold (text2world: 250 words); ``None`` keeps it.
        max_new_tokens: override of the template's budget.
        include_prompt: video2world: also give the model the user's prompt (not official; off by default).

    Attributes:
        last_results: one :class:`UpsampledPrompt` per prompt of the latest :meth:`upsample_batch` call.

    Raises:
        ConfigError: an unknown template.
    """

    def __init__(
        self,
        generator: TextGenerator,
        *,
        template: str = "text2world",
        word_limit: int | None = None,
        max_new_tokens: int | None = None,
        include_prompt: bool = False,
    ) -> None:
        if template not in UPSAMPLER_TEMPLATES:
            raise ConfigError(
                f"unknown upsampler template {template!r}; choose from {sorted(UPSAMPLER_TEMPLATES)}"
            )
        self.generator = generator
        self.template = UPSAMPLER_TEMPLATES[template]
        self.word_limit = self.template.word_limit if word_limit is None else word_limit
        self.max_new_tokens = max_new_tokens or self.template.max_new_tokens
        self.include_prompt = include_prompt
        self.last_results: list[UpsampledPrompt] = []

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path = TEXT2WORLD_UPSAMPLER,
        *,
        template: str = "text2world",
        device: str = "cpu",
        dtype: str = "bfloat16",
        cache_dir: str | Path | None = None,
        revision: str | None = None,
        local_files_only: bool = True,
        **kwargs: Any,
    ) -> PromptUpsampler:
        """A transformers-backed upsampler: any causal LM (text2world) or image-text-to-text model (video2world).

        The model is loaded now, so a wrong name fails here and not in the middle of a generation.

        Raises:
            ImportError: transformers is missing (``pip install cosmos-core[llm]``).
            CheckpointError: the model or its tokenizer cannot be loaded (not found locally, wrong layout).
            ConfigError: an unknown template.
        """
        if template not in UPSAMPLER_TEMPLATES:
            raise ConfigError(
                f"unknown upsampler template {template!r}; choose from {sorted(UPSAMPLER_TEMPLATES)}"
            )
        generator = TransformersGenerator(
            str(name_or_path),
            cache_dir=cache_dir,
            revision=revision,
            device=device,
            dtype=dtype,
            local_files_only=local_files_only,
            vision=UPSAMPLER_TEMPLATES[template].uses_image,
        )
        try:
            generator.load()
        except ImportError as error:
            raise ImportError(
                f"the transformers prompt upsampler needs: pip install cosmos-core[llm] ({error})"
            ) from error
        except (OSError, ValueError) as error:
            raise CheckpointError(
                f"cannot load the prompt upsampler {str(name_or_path)!r}: {error}"
            ) from error
        return cls(generator, template=template, **kwargs)

    @classmethod
    def from_endpoint(
        cls,
        base_url: str,
        model_id: str | None = None,
        *,
        template: str = "text2world",
        api_key: str | None = None,
        timeout: float = 120.0,
        **kwargs: Any,
    ) -> PromptUpsampler:
        """An upsampler served behind an OpenAI-compatible API (``base_url`` like ``http://host:8000/v1``).

        Args:
            model_id: the served model's name; ``None``: the first one the server lists at ``/models``.

        Raises:
            ConfigError: ``model_id`` is None and the server cannot be reached or lists no model. (With a
                ``model_id`` the server is first contacted when upsampling, where failures fall back.)
        """
        generator = OpenAICompatibleGenerator(base_url, model_id or "", api_key=api_key, timeout=timeout)
        if not model_id:
            try:
                served = generator.served_models()
            except (OSError, ValueError) as error:
                raise ConfigError(
                    f"cannot list the models served at {base_url} ({error}); name one: {base_url}#MODEL"
                ) from error
            if not served:
                raise ConfigError(f"the server at {base_url} serves no model")
            generator.model_id = served[0]
        return cls(generator, template=template, **kwargs)

    @classmethod
    def from_spec(
        cls,
        spec: str,
        *,
        template: str = "text2world",
        device: str = "cpu",
        dtype: str = "bfloat16",
        **kwargs: Any,
    ) -> PromptUpsampler:
        """What the CLIs' ``--upsample-prompt`` takes: ``http(s)://host:port/v1[#model]`` (a server) or a model
        folder / Hub id (transformers, on ``device`` in ``dtype``). ``kwargs`` go to :meth:`from_endpoint` /
        :meth:`from_pretrained`."""
        if spec.startswith(("http://", "https://")):
            base_url, _, model_id = spec.partition("#")
            return cls.from_endpoint(base_url, model_id or None, template=template, **kwargs)
        return cls.from_pretrained(spec, template=template, device=device, dtype=dtype, **kwargs)

    def upsample(self, prompt: str, *, image: Any = None) -> UpsampledPrompt:
        """Upsample one prompt; never raises for a model failure (falls back to ``prompt`` with a warning).

        Args:
            prompt: the user's prompt.
            image: video2world: the conditioning frame (a PIL image, see :func:`upsampler_image`).

        Raises:
            ShapeError: video2world without an image (a caller error, not a model failure).
        """
        if self.word_limit is not None and len(prompt.split()) > self.word_limit:
            logger.info("prompt has more than %d words: not upsampled", self.word_limit)
            return UpsampledPrompt(prompt, prompt, "skipped", f"more than {self.word_limit} words")
        messages = self.template.messages(prompt, image, include_prompt=self.include_prompt)
        start = time.perf_counter()
        try:
            raw = self.generator.generate(messages, max_new_tokens=self.max_new_tokens)
        except Exception as error:  # a model failure must not crash the generation
            return self._fall_back(prompt, f"the upsampler failed: {type(error).__name__}: {error}", start)
        text = clean_upsampled_text(raw or "")
        if not looks_like_caption(text):
            return self._fall_back(prompt, f"the upsampler's answer is not a caption: {raw[:200]!r}", start)
        logger.info("upsampled prompt: %s", text)
        return UpsampledPrompt(prompt, text, "upsampled", seconds=time.perf_counter() - start)

    def _fall_back(self, prompt: str, detail: str, start: float) -> UpsampledPrompt:
        warnings.warn(f"{detail}; using the original prompt", PromptUpsamplerWarning, stacklevel=3)
        return UpsampledPrompt(prompt, prompt, "fallback", detail, time.perf_counter() - start)

    def upsample_batch(self, prompts: Sequence[str] | None, *, video: Tensor | None = None) -> list[str]:
        """The prompts a world model generates from: one upsampled (or original) prompt per input prompt.

        Args:
            prompts: the ``B`` user prompts (``None`` is a caller error: text embeddings cannot be upsampled).
            video: video2world: the conditioning video ``float [B|1, 3, N, H, W]`` (or ``[3, N, H, W]``) in
                [-1, 1]; each sample's last frame is shown to the model.

        Raises:
            ValueError: ``prompts`` is None (``text_embeddings`` were given instead of text).
            ShapeError: video2world without a video, or a badly shaped video.
        """
        if prompts is None:
            raise ValueError("upsample_prompt needs prompt= text, not precomputed text_embeddings")
        images: list[Any] = [None] * len(prompts)
        if self.template.uses_image:
            if video is None:
                raise ShapeError("the video2world upsampler needs the conditioning video")
            images = [upsampler_image(frame) for frame in _last_frames(torch.as_tensor(video), len(prompts))]
        self.last_results = [self.upsample(p, image=image) for p, image in zip(prompts, images)]
        return [result.prompt for result in self.last_results]

    __call__ = upsample_batch
