"""The one LLM client of cosmos: deterministic text generation from a local model or a served one.

Two packages ask a language model for text: cosmos-guard's LLM moderation (``cosmos.guard.LLMGuard``) and the
prompt upsampler of the world models (:mod:`cosmos.core.prompt_upsampler`). Both go through the generators
here, so there is one HTTP client and one transformers loop:

* :class:`TransformersGenerator`: a local Hugging Face model (causal LM, or an image-text-to-text VLM such as
  Pixtral when the chat carries images), loaded lazily, greedy decoding. Needs the ``[llm]`` extra
  (transformers); nothing is downloaded unless ``local_files_only=False``.
* :class:`OpenAICompatibleGenerator`: a model served behind an OpenAI-compatible HTTP API (vLLM, TGI,
  llama.cpp server), ``temperature=0``, standard library only. Images in a chat are sent as PNG data URLs.

Prompt forms a generator accepts (``built_prompt``):

* a string: a raw prompt, tokenised without special tokens (``/completions`` on a server);
* a list of chat messages ``{"role", "content"}``: the model's chat template is applied (``/chat/completions``).
  ``content`` is a string, or a list of parts ``{"type": "text", "text": ...}`` / ``{"type": "image",
  "image": PIL.Image}`` (the Hugging Face multimodal chat form);
* a ``(messages, categories)`` pair: Llama Guard 3, whose chat template takes ``categories``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.request
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["OpenAICompatibleGenerator", "TextGenerator", "TransformersGenerator", "chat_has_images"]


@runtime_checkable
class TextGenerator(Protocol):
    """Anything that turns a built prompt into the model's generated text (greedy, deterministic)."""

    model_id: str
    revision: str | None

    def generate(self, built_prompt: Any, *, max_new_tokens: int) -> str: ...


def _split_prompt(built_prompt: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``(messages, template extras)`` of a chat prompt: a message list or a ``(messages, categories)`` pair."""
    if isinstance(built_prompt, list):
        return built_prompt, {}
    messages, categories = built_prompt
    return messages, ({"categories": categories} if categories else {})


def chat_has_images(messages: list[dict[str, Any]]) -> bool:
    """True when a message's content holds an ``{"type": "image"}`` part."""
    return any(
        isinstance(part, dict) and part.get("type") == "image"
        for message in messages
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )


class TransformersGenerator:
    """Greedy generation with a local Hugging Face model (extra ``[llm]``: transformers).

    Text chats run ``AutoModelForCausalLM`` with the tokenizer's chat template. Chats with image parts (the
    Video2World prompt upsampler's Pixtral) run ``AutoModelForImageTextToText`` with ``AutoProcessor``.
    The model is loaded on first use (or by :meth:`load`). With ``local_files_only=True`` (default) nothing is
    downloaded: the model must be a local folder or already in `cache_dir`.

    Args:
        model_id: Hub id or local folder of the (base) model.
        adapter_id: PEFT adapter (id or folder) applied on top (the guard's Aegis); needs ``peft``.
        cache_dir: Hugging Face cache folder holding the model.
        revision: model revision (recorded in verdicts).
        device: torch device string.
        dtype: torch dtype name, e.g. ``"bfloat16"`` or ``"float32"``.
        local_files_only: never download.
        vision: load the image-text-to-text classes (processor + VLM) instead of tokenizer + causal LM;
            ``None``: decided by the first prompt (images or not).

    Raises (on `load` or the first `generate`):
        ImportError: transformers (or peft) missing: ``pip install cosmos-core[llm]``.
        OSError: the model files are not found locally.
    """

    def __init__(
        self,
        model_id: str,
        *,
        adapter_id: str | None = None,
        cache_dir: str | Path | None = None,
        revision: str | None = None,
        device: str = "cpu",
        dtype: str = "bfloat16",
        local_files_only: bool = True,
        vision: bool | None = None,
    ) -> None:
        self.model_id = model_id
        self.adapter_id = adapter_id
        self.cache_dir = str(cache_dir) if cache_dir is not None else None
        self.revision = revision
        self.device = device
        self.dtype = dtype
        self.local_files_only = local_files_only
        self.vision = vision
        self._model = None
        self._tokenizer = None  # a tokenizer, or a processor for vision models

    def load(self, *, vision: bool | None = None) -> None:
        """Load tokenizer (or processor) and model (idempotent)."""
        if self._model is not None:
            return
        import torch
        import transformers

        self.vision = bool(vision if self.vision is None else self.vision)
        kwargs = dict(
            cache_dir=self.cache_dir, revision=self.revision, local_files_only=self.local_files_only
        )
        if self.vision:
            tokenizer_class, model_class = (
                transformers.AutoProcessor,
                transformers.AutoModelForImageTextToText,
            )
        else:
            tokenizer_class, model_class = transformers.AutoTokenizer, transformers.AutoModelForCausalLM
        self._tokenizer = tokenizer_class.from_pretrained(self.model_id, **kwargs)
        model = model_class.from_pretrained(self.model_id, dtype=getattr(torch, self.dtype), **kwargs)
        if self.adapter_id is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(
                model, self.adapter_id, cache_dir=self.cache_dir, local_files_only=self.local_files_only
            )
        self._model = model.to(self.device).eval()

    def to(self, device: str) -> TransformersGenerator:
        """Move the model (if loaded) and future inputs to `device`."""
        self.device = str(device)
        if self._model is not None:
            self._model = self._model.to(self.device)
        return self

    def _inputs(self, built_prompt: Any) -> dict[str, Any]:
        """Model inputs (``input_ids`` ``[1, L]``, and pixel tensors for a VLM) of one built prompt."""
        import torch

        tokenizer = self._tokenizer
        if isinstance(built_prompt, str):
            return {
                "input_ids": tokenizer(built_prompt, return_tensors="pt", add_special_tokens=False)[
                    "input_ids"
                ]
            }
        messages, extra = _split_prompt(built_prompt)
        encoded = tokenizer.apply_chat_template(
            messages,
            tokenize=True,
            return_tensors="pt",
            add_generation_prompt=True,
            return_dict=self.vision,
            **extra,
        )
        if self.vision:
            return dict(encoded)
        if not isinstance(encoded, torch.Tensor):  # some versions return a BatchEncoding
            encoded = encoded["input_ids"]
        return {"input_ids": encoded}

    def generate(self, built_prompt: Any, *, max_new_tokens: int) -> str:
        """Greedy-decode up to `max_new_tokens` after `built_prompt`; return only the new text.

        Args:
            built_prompt: a string (tokenised without special tokens), a list of chat messages (text, or text
                and image parts for a VLM), or a ``(messages, categories)`` pair (Llama Guard 3).
        """
        import torch

        has_images = not isinstance(built_prompt, str) and chat_has_images(_split_prompt(built_prompt)[0])
        self.load(vision=has_images)
        inputs = {
            k: v.to(self.device) if hasattr(v, "to") else v for k, v in self._inputs(built_prompt).items()
        }
        input_ids = inputs["input_ids"]  # [1, L]
        inputs.setdefault("attention_mask", torch.ones_like(input_ids))
        tokenizer = getattr(self._tokenizer, "tokenizer", self._tokenizer)  # a processor wraps its tokenizer
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        with torch.inference_mode():
            output = self._model.generate(
                **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad_id
            )  # [1, L + new]
        return tokenizer.decode(output[0, input_ids.shape[-1] :], skip_special_tokens=True)


def _image_data_url(image: Any) -> str:
    """A PNG ``data:`` URL of a PIL image or an ``uint8 [H, W, 3]`` array."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages in the OpenAI wire format: image parts become ``image_url`` parts with data URLs."""
    out = []
    for message in messages:
        content = message["content"]
        if isinstance(content, list):
            content = [
                {"type": "image_url", "image_url": {"url": _image_data_url(part["image"])}}
                if part.get("type") == "image"
                else part
                for part in content
            ]
        out.append({"role": message["role"], "content": content})
    return out


class OpenAICompatibleGenerator:
    """Greedy generation through an OpenAI-compatible HTTP server (vLLM, TGI, llama.cpp server ...).

    Chat prompts go to ``POST {base_url}/chat/completions`` (the server applies the model's chat template; image
    parts are sent as ``image_url`` parts with PNG data URLs); plain-string prompts go to
    ``POST {base_url}/completions``. ``temperature=0`` (greedy). Uses only the standard library.

    Args:
        base_url: e.g. ``"http://localhost:8000/v1"``.
        model_id: the model name the server serves (see :meth:`served_models`).
        api_key: bearer token (default: ``$OPENAI_API_KEY`` when set).
        timeout: seconds per request.
        revision: recorded in verdicts.

    Raises (on `generate`):
        OSError: connection or HTTP errors (``urllib.error.URLError``).
        ValueError: a response without a completion.
    """

    def __init__(
        self,
        base_url: str,
        model_id: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        revision: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_id = model_id
        self.revision = revision
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout = timeout

    def _request(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET (no body) or POST JSON to ``{base_url}{path}``; the decoded JSON answer."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}", data=data, headers=headers, method="GET" if body is None else "POST"
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read().decode())

    def served_models(self) -> list[str]:
        """Model ids the server lists at ``GET {base_url}/models``.

        Raises:
            OSError: connection or HTTP errors. ValueError: an answer without a model list.
        """
        payload = self._request("/models")
        try:
            return [str(entry["id"]) for entry in payload["data"]]
        except (KeyError, TypeError) as error:
            raise ValueError(f"no model list in the server's answer: {str(payload)[:200]}") from error

    def generate(self, built_prompt: Any, *, max_new_tokens: int) -> str:
        """Send the prompt, return the completion text."""
        body: dict[str, Any] = {"model": self.model_id, "max_tokens": max_new_tokens, "temperature": 0}
        if isinstance(built_prompt, str):
            path, body["prompt"] = "/completions", built_prompt
        else:
            path, body["messages"] = "/chat/completions", _openai_messages(_split_prompt(built_prompt)[0])
        payload = self._request(path, body)
        try:
            choice = payload["choices"][0]
            text = choice["message"]["content"] if "message" in choice else choice["text"]
        except (KeyError, IndexError, TypeError) as error:
            raise ValueError(f"no completion in the server's answer: {str(payload)[:200]}") from error
        return "" if text is None else str(text)
