"""Causality (Cosmos paper §3.1): the first 1 + k*tau frames determine the first 1 + k latent frames."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core.testing import assert_close
from cosmos.tokenizer import CausalVideoTokenizer

from .conftest import tiny_video_config

_MODELS = {}


def _model(kind: str, temporal: int, patch: int):
    key = (kind, temporal, patch)
    if key not in _MODELS:
        torch.manual_seed(0)
        _MODELS[key] = CausalVideoTokenizer(tiny_video_config(kind, temporal=temporal, patch=patch)).eval()
    return _MODELS[key]


@settings(max_examples=12, deadline=None)
@given(
    kind=st.sampled_from(["CV", "DV"]),
    shape=st.sampled_from([(8, 4), (4, 4), (4, 2)]),  # (temporal_compression, patch_size)
    total=st.integers(1, 3),
    data=st.data(),
)
def test_prefix_frames_give_prefix_latents(kind, shape, total, data):
    tau, patch = shape
    model = _model(kind, tau, patch)
    k = data.draw(st.integers(0, total), label="k")
    seed = data.draw(st.integers(0, 2**16), label="seed")
    video = torch.rand(1, 3, 1 + total * tau, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    full = model.encode(video)
    prefix = model.encode(video[:, :, : 1 + k * tau])
    if kind == "CV":
        assert full.z.shape[2] == 1 + total
        assert_close(prefix.z, full.z[:, :, : 1 + k], atol=1e-5, name="prefix latent")
    else:
        assert torch.equal(prefix.indices, full.indices[:, : 1 + k])
    # the decoder is causal too: the first 1 + k latent frames give the first 1 + k*tau frames
    decoded_full = model.decode(full)
    decoded_prefix = model.decode(full.z[:, :, : 1 + k] if kind == "CV" else full.indices[:, : 1 + k])
    assert_close(decoded_prefix, decoded_full[:, :, : 1 + k * tau], atol=1e-5, name="prefix decode")


def test_future_frames_do_not_change_past_latents():
    model = _model("CV", 8, 4)
    video = torch.rand(1, 3, 17, 16, 16) * 2 - 1
    changed = video.clone()
    changed[:, :, 9:] = -changed[:, :, 9:]
    a, b = model.encode(video).z, model.encode(changed).z
    assert_close(a[:, :, :2], b[:, :, :2], atol=1e-6, name="past latents")
    assert (a[:, :, 2] - b[:, :, 2]).abs().max() > 1e-5, (
        "the changed frames must change the last latent frame"
    )


@settings(max_examples=10, deadline=None)
@given(
    shape=st.sampled_from([(8, 4), (4, 4), (4, 2)]),  # (temporal_compression, patch_size)
    total=st.integers(2, 4),
    chunk_latents=st.integers(1, 3),
)
def test_streaming_chunks_equal_one_pass(shape, total, chunk_latents):
    """Chunked encode/decode with carried causal state equals the one-pass result (spec: causal convs,
    causal temporal attention); chunks of 1 + K*tau frames, then K*tau."""
    tau, patch = shape
    model = _model("CV", tau, patch)
    video = torch.rand(1, 3, 1 + total * tau, 16, 16, generator=torch.Generator().manual_seed(total)) * 2 - 1
    chunk = 1 + chunk_latents * tau
    latent = model.encode(video)
    assert_close(model.encode(video, chunk_size=chunk).z, latent.z, atol=1e-5, name="streamed encode")
    assert_close(
        model.decode(latent, chunk_size=chunk), model.decode(latent), atol=1e-5, name="streamed decode"
    )
