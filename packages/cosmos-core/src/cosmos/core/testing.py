"""Helpers for the test suites of every cosmos package (needs pytest only when a fixture is missing).

Parity fixtures made from NVIDIA's reference code live in ``shared/fixtures`` beside the repository.
``COSMOS_FIXTURES`` points at them explicitly (CI sets it; then a missing fixture fails the test);
without it the first ``shared/fixtures`` found walking up from the working directory is used, and a
missing fixture skips the test with a message naming the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from cosmos.core.checkpoint import load_safetensors

__all__ = [
    "assert_close",
    "fixtures_root",
    "fixture_path",
    "load_fixture_tensors",
    "load_fixture_json",
    "tiny_t5_encoder",
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
    config = transformers.T5Config(vocab_size=len(tokenizer), d_model=d_model, d_kv=8, d_ff=32, num_layers=1, num_heads=2)
    torch.manual_seed(seed)
    model = transformers.T5EncoderModel(config).eval()
    return T5TextEncoder(model, tokenizer, max_length=max_length)
