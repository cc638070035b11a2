"""Helpers for the test suites of every cosmos package (needs pytest only when a fixture is missing).

Parity fixtures made from NVIDIA's reference code live in ``shared/fixtures`` beside the repository.
``COSMOS_FIXTURES`` points at them explicitly (CI sets it; then a missing fixture fails the test);
without it the first ``shared/fixtures`` found walking up from the working directory is used, and a
missing fixture skips the test with a message naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import torch

from cosmos.core.checkpoint import load_safetensors
from cosmos.core.rollout import ChunkedWorldModel
from cosmos.core.types import Latent

__all__ = [
    "assert_close",
    "fixtures_root",
    "fixture_path",
    "load_fixture_tensors",
    "load_fixture_json",
    "tiny_t5_encoder",
    "tiny_causal_lm",
    "tiny_vision_lm",
    "openai_standin_server",
    "PackingTokenizer",
    "DriftWorldModel",
]


def assert_close(
    actual: torch.Tensor, expected: torch.Tensor, *, atol: float, rtol: float = 0.0, name: str = "tensor"
) -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise, reporting the worst element.

    Integer tensors are compared exactly (``atol`` ignored). Shapes must match exactly.

    Raises:
        AssertionError: with the shapes, the max abs difference and where it occurs.
    """
    if tuple(actual.shape) != tuple(expected.shape):
        raise AssertionError(f"{name}: shape {tuple(actual.shape)} != expected {tuple(expected.shape)}")
    actual, expected = actual.detach().cpu(), expected.detach().cpu()
    if not actual.is_floating_point() and not expected.is_floating_point():
        mismatched = int((actual != expected).sum())
        if mismatched:
            raise AssertionError(f"{name}: {mismatched} of {actual.numel()} integer elements differ")
        return
    diff = (actual.double() - expected.double()).abs()
    if not torch.isfinite(actual.double()).all():
        raise AssertionError(f"{name}: actual holds NaN or inf")
    bound = atol + rtol * expected.double().abs()
    if diff.numel() and bool((diff > bound).any()):
        worst = int(diff.argmax())
        where = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), diff.shape))
        raise AssertionError(
            f"{name}: max |diff| = {diff.max().item():.3e} at {where} "
            f"(actual {actual.reshape(-1)[worst].item():.6g}, expected {expected.reshape(-1)[worst].item():.6g}); "
            f"atol={atol}, rtol={rtol}, {int((diff > bound).sum())} of {diff.numel()} elements out of tolerance"
        )


def fixtures_root() -> Path | None:
    """``$COSMOS_FIXTURES``, else the first ``shared/fixtures`` folder above the working directory."""
    if os.environ.get("COSMOS_FIXTURES"):
        return Path(os.environ["COSMOS_FIXTURES"])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "shared" / "fixtures").is_dir():
            return folder / "shared" / "fixtures"
    return None


def fixture_path(*parts: str) -> Path:
    """Path of a fixture file; fails (CI: ``COSMOS_FIXTURES`` set) or skips (elsewhere) when it is missing."""
    import pytest

    root = fixtures_root()
    path = None if root is None else root.joinpath(*parts)
    if path is not None and path.exists():
        return path
    message = f"parity fixture {'/'.join(parts)} not found under {root or 'any shared/fixtures folder'}"
    if os.environ.get("COSMOS_FIXTURES"):
        pytest.fail(message + " (COSMOS_FIXTURES is set, so a missing fixture is an error)")
    pytest.skip(message + " (set COSMOS_FIXTURES to the fixtures folder)")
    raise AssertionError("unreachable")


def load_fixture_tensors(*parts: str) -> dict[str, torch.Tensor]:
    """All tensors of a ``.safetensors`` fixture, on the CPU."""
    return load_safetensors(fixture_path(*parts))


def load_fixture_json(*parts: str) -> dict:
    """A JSON fixture as a dict."""
    return json.loads(fixture_path(*parts).read_text())


TINY_T5_SENTENCES = [
    "a robot arm picks up a red cube from the table",
    "the camera moves forward along a sunny street",
    "a ball falls onto the wooden floor and bounces",
    "two cars drive past a parked truck at night",
] * 10


def tiny_t5_encoder(folder: str | os.PathLike, *, max_length: int = 24, d_model: int = 16, seed: int = 0):
    """A :class:`cosmos.core.text.T5TextEncoder` over a random 1-layer T5 (``d_model`` wide) and a 64-piece
    SentencePiece model trained on the fly in ``folder`` (no network). Needs transformers and sentencepiece."""
    import sentencepiece
    import transformers

    from cosmos.core.text import T5TextEncoder

    folder = Path(folder)
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(TINY_T5_SENTENCES),
        model_prefix=str(folder / "spm"),
        vocab_size=64,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        minloglevel=2,
        hard_vocab_limit=False,
    )
    tokenizer = transformers.T5TokenizerFast(vocab_file=str(folder / "spm.model"), extra_ids=0)
    config = transformers.T5Config(
        vocab_size=len(tokenizer), d_model=d_model, d_kv=8, d_ff=32, num_layers=1, num_heads=2
    )
    torch.manual_seed(seed)
    model = transformers.T5EncoderModel(config).eval()
    return T5TextEncoder(model, tokenizer, max_length=max_length)


TINY_LM_WORDS = [
    "the",
    "<unk>",
    "<pad>",
    "</s>",
    "robot",
    "arm",
    "red",
    "cube",
    "table",
    "light",
    "Upsample",
    "a",
]


def tiny_causal_lm(folder: str | os.PathLike, *, loop: bool = False, seed: int = 0) -> None:
    """Save a random 1-layer Llama (hidden 16, vocab :data:`TINY_LM_WORDS`) with a word-level tokenizer and a
    one-line chat template into ``folder`` (no network). ``loop=True`` zeroes the final norm: every logit is equal,
    so greedy decoding repeats token 0 (``"the"``). Needs transformers."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(TINY_LM_WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="</s>"
    )
    tokenizer.chat_template = "{% for m in messages %}{{ m['content'] }} {% endfor %}"
    tokenizer.save_pretrained(folder)
    config = LlamaConfig(
        vocab_size=len(TINY_LM_WORDS),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=2,
        eos_token_id=3,
        bos_token_id=3,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    if loop:
        with torch.no_grad():
            model.model.norm.weight.zero_()  # hidden state 0 -> all logits 0 -> argmax is token 0
    model.save_pretrained(folder)


def tiny_vision_lm(folder: str | os.PathLike, *, seed: int = 0) -> None:
    """Save a random tiny LLaVA (CLIP vision tower on 16x16 images, 8x8 patches, and a 1-layer Llama) with its
    processor (word-level tokenizer, ``<image>`` token, a chat template with image parts) into ``folder``: the
    image-text-to-text route of :class:`cosmos.core.llm.TransformersGenerator` offline. (Pixtral's own processor
    needs torchvision.) Needs transformers."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    words = [*TINY_LM_WORDS, "<image>"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.add_special_tokens(["<image>"])  # expanded to one token per patch, written without spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="</s>"
    )
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}),
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        image_token="<image>",
        num_additional_image_tokens=1,  # CLIP's class token, dropped by the "default" strategy
    )
    processor.chat_template = (
        "{% for m in messages %}{% for c in m['content'] %}"
        "{% if c['type'] == 'image' %}<image> {% else %}{{ c['text'] }} {% endif %}{% endfor %}{% endfor %}"
    )
    processor.save_pretrained(folder)
    vision = CLIPVisionConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=16,
        patch_size=8,
    )
    text = LlamaConfig(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        pad_token_id=2,
        eos_token_id=3,
        bos_token_id=3,
    )
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=words.index("<image>"),
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    torch.manual_seed(seed)
    LlavaForConditionalGeneration(config).save_pretrained(folder)


@contextlib.contextmanager
def openai_standin_server(answers: list[Any], *, model_id: str = "standin") -> Iterator[tuple[str, list]]:
    """A stand-in OpenAI-compatible server on 127.0.0.1 (standard library), for offline tests of
    :mod:`cosmos.core.llm` clients.

    ``POST .../chat/completions`` and ``.../completions`` answer with the next item of ``answers``: a string (the
    completion), ``None`` (HTTP 500), or a dict (sent as the whole JSON body); an empty string once they run out.
    ``GET .../models`` lists ``model_id``. Yields ``(base_url, requests)`` where ``requests`` collects
    ``(path, json body or None)``; the server stops when the block ends (its thread is a daemon).
    """
    requests: list[tuple[str, Any]] = []
    pending = list(answers)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            requests.append((self.path, None))
            self._send(200, {"object": "list", "data": [{"id": model_id, "object": "model"}]})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append((self.path, body))
            answer = pending.pop(0) if pending else ""
            if answer is None:
                self._send(500, {"error": "stand-in failure"})
            elif isinstance(answer, dict):
                self._send(200, answer)
            elif self.path.endswith("/chat/completions"):
                self._send(200, {"choices": [{"message": {"role": "assistant", "content": answer}}]})
            else:
                self._send(200, {"choices": [{"text": answer}]})

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class PackingTokenizer:
    """An exactly invertible toy causal video tokenizer for tests (temporal compression ``t``, spatial 1).

    Latent frame 0 holds pixel frame 0 (repeated ``t`` times along channels), latent frame ``j >= 1`` holds
    frames ``t(j-1)+1 .. tj`` stacked along channels: ``[B, 3, 1 + k t, H, W] -> Latent [B, 3 t, 1 + k, H, W]``.
    """

    spatial_compression = 1

    def __init__(self, temporal_compression: int = 4) -> None:
        self.temporal_compression = temporal_compression
        self.latent_channels = 3 * temporal_compression

    def valid_num_frames(self, num_frames: int) -> bool:
        return num_frames >= 1 and (num_frames - 1) % self.temporal_compression == 0

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        return 1 + (num_frames - 1) // self.temporal_compression, height, width

    def encode(self, video: torch.Tensor) -> Latent:
        t = self.temporal_compression
        batch, channels, frames, height, width = video.shape
        if not self.valid_num_frames(frames):
            raise ValueError(f"{frames} frames is not 1 + k * {t}")
        first = video[:, :, :1].repeat(1, t, 1, 1, 1)  # [B, 3t, 1, H, W]
        rest = video[:, :, 1:].reshape(batch, channels, -1, t, height, width)  # [B, 3, k, t, H, W]
        rest = rest.permute(0, 3, 1, 2, 4, 5).reshape(batch, channels * t, -1, height, width)
        return Latent(torch.cat([first, rest], dim=2), t, 1, tokenizer_name="packing")

    def decode(self, latent) -> torch.Tensor:
        z = latent.z if hasattr(latent, "z") else latent
        t = self.temporal_compression
        batch, packed, frames, height, width = z.shape
        first = z[:, :3, :1]
        rest = z[:, :, 1:].reshape(batch, t, 3, frames - 1, height, width).permute(0, 2, 3, 1, 4, 5)
        return torch.cat([first, rest.reshape(batch, 3, -1, height, width)], dim=2)


class DriftWorldModel(ChunkedWorldModel):
    """A toy action-conditioned :class:`cosmos.core.WorldModel` with exact dynamics, for tests of roll-outs,
    planners and evaluators: every predicted frame is the previous frame plus ``0.01 * sum(action)`` (clamped to
    [-1, 1]), so the truth of any roll-out is known. Built on :class:`cosmos.core.ChunkedWorldModel` over a
    :class:`PackingTokenizer`; ``calls`` counts ``generate_chunk`` calls and ``rows`` their largest batch.
    """

    def __init__(
        self,
        *,
        resolution: tuple[int, int] = (4, 4),
        action_dim: int = 2,
        context_frames: tuple[int, ...] = (1, 5),
        chunk_frames: int = 9,
        temporal_compression: int = 4,
        max_condition_frames: int | None = None,
    ) -> None:
        self.tokenizer = PackingTokenizer(temporal_compression)
        self.fps = 5.0
        self.resolution = resolution
        self.action_dim = action_dim
        self.context_frames = context_frames
        self.chunk_frames = chunk_frames
        self.max_condition_frames = (
            max(context_frames) if max_condition_frames is None else max_condition_frames
        )
        self.calls = 0
        self.rows = 0

    @staticmethod
    def step(frame: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """The exact dynamics: ``frame [B, 3, H, W]``, ``action [B, A]`` -> the next frame."""
        return (frame + 0.01 * action.sum(-1)[:, None, None, None]).clamp(-1, 1)

    def encode_frames(self, video: torch.Tensor):
        return self.tokenizer.encode(video)

    def decode_chunk(self, chunk) -> torch.Tensor:
        return self.tokenizer.decode(chunk)

    def generate_chunk(self, prompt, prompt_frames, actions, num_frames, seed, **options):
        self.calls += 1
        self.rows = max(self.rows, prompt.z.shape[0])
        video = self.tokenizer.decode(prompt)[:, :, :prompt_frames]
        frames = [video[:, :, k] for k in range(prompt_frames)]
        total = self.chunk_frames
        for k in range(prompt_frames, total):
            action = actions[:, k - 1] if actions is not None else torch.zeros(video.shape[0], 1)
            frames.append(self.step(frames[-1], action))
        return self.tokenizer.encode(torch.stack(frames, dim=2))
