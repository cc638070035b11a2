"""T5TextEncoder over a tiny random T5 and a SentencePiece model trained on the fly (no network)."""

import pytest
import torch

transformers = pytest.importorskip("transformers")
sentencepiece = pytest.importorskip("sentencepiece")

from cosmos.core.testing import TINY_T5_SENTENCES as SENTENCES  # noqa: E402
from cosmos.core.testing import tiny_t5_encoder  # noqa: E402


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return tiny_t5_encoder(tmp_path_factory.mktemp("spm"))


def test_embeddings_are_zero_padded(encoder):
    prompts = ["a red cube", "the camera moves forward along a sunny street at night"]
    out = encoder.encode(prompts)
    assert out.shape == (2, 24, 16) and out.dtype == torch.float32
    lengths = encoder.tokenizer(prompts, max_length=24, truncation=True)["input_ids"]
    for b, ids in enumerate(lengths):
        assert ids[-1] == encoder.tokenizer.eos_token_id  # EOS appended
        assert torch.all(out[b, len(ids) :] == 0)
        assert torch.all(out[b, : len(ids)].abs().sum(-1) > 0)


def test_batch_equals_single_and_truncation(encoder):
    prompts = ["a ball falls", "two cars drive past a parked truck"]
    both = encoder.encode(prompts)
    torch.testing.assert_close(both[1:], encoder.encode(prompts[1:]), rtol=1e-5, atol=1e-6)
    long = encoder.encode([" ".join(SENTENCES[:4])])
    assert long.shape == (1, 24, 16) and torch.all(long.abs().sum(-1) > 0)
    with pytest.raises(ValueError, match="non-empty"):
        encoder.encode([])


def test_lengths_match_the_nonzero_rows(encoder):
    embeddings, lengths = encoder.encode(["a red cube", "a ball falls onto the wooden floor"], return_lengths=True)
    assert lengths.dtype == torch.int64 and lengths.shape == (2,)
    for b, n in enumerate(lengths.tolist()):
        assert torch.all(embeddings[b, n:] == 0) and torch.all(embeddings[b, :n].abs().sum(-1) > 0)
