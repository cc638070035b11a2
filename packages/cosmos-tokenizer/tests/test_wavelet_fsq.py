"""Stand-alone Haar wavelet and FSQ fixtures (spec §3, §8), plus exact inverse properties."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core.testing import assert_close, load_fixture_tensors
from cosmos.tokenizer import FSQ, ImagePatcher, ImageUnpatcher, VideoPatcher, VideoUnpatcher


@pytest.mark.parametrize("p", [2, 4])
def test_video_wavelet_fixture(p):
    t = load_fixture_tensors("tokenizer", "wavelet.tensors.safetensors")
    assert_close(VideoPatcher(p)(t[f"video_p{p}_x"]), t[f"video_p{p}_y"], atol=2e-5, name="patcher")
    assert_close(VideoUnpatcher(p)(t[f"video_p{p}_y"]), t[f"video_p{p}_inv"], atol=2e-5, name="unpatcher")
    assert_close(
        VideoUnpatcher(p)(t[f"video_p{p}_rand_bands"]),
        t[f"video_p{p}_rand_bands_inv"],
        atol=2e-5,
        name="unpatcher of random bands",
    )


@pytest.mark.parametrize("p", [2, 4])
def test_image_wavelet_fixture(p):
    t = load_fixture_tensors("tokenizer", "wavelet.tensors.safetensors")
    assert_close(ImagePatcher(p)(t[f"image_p{p}_x"]), t[f"image_p{p}_y"], atol=2e-5, name="patcher")
    assert_close(ImageUnpatcher(p)(t[f"image_p{p}_y"]), t[f"image_p{p}_inv"], atol=2e-5, name="unpatcher")
    assert_close(
        ImageUnpatcher(p)(t[f"image_p{p}_rand_bands"]),
        t[f"image_p{p}_rand_bands_inv"],
        atol=2e-5,
        name="unpatcher of random bands",
    )


def test_wavelet_probes():
    t = load_fixture_tensors("tokenizer", "wavelet.tensors.safetensors")
    assert_close(VideoPatcher(2)(t["video_p2_probe_x"]), t["video_p2_probe_y"], atol=1e-5, name="video probe")
    assert_close(ImagePatcher(2)(t["image_p2_probe_x"]), t["image_p2_probe_y"], atol=1e-5, name="image probe")


@settings(max_examples=20, deadline=None)
@given(p=st.sampled_from([2, 4]), k=st.integers(0, 3), h=st.integers(1, 3), w=st.integers(1, 3))
def test_video_wavelet_round_trip(p, k, h, w):
    x = torch.randn(1, 3, 1 + k * p, h * p, w * p, dtype=torch.float64)
    y = VideoPatcher(p)(x)
    assert y.shape == (1, 3 * p**3, 1 + k, h, w)
    assert_close(VideoUnpatcher(p)(y), x, atol=1e-12, name="round trip")


def test_fsq_fixture():
    t = load_fixture_tensors("tokenizer", "fsq.tensors.safetensors")
    fsq = FSQ((8, 8, 8, 5, 5, 5))
    assert fsq.vocab_size == 64000
    assert_close(fsq.bound(t["z"]), t["bounded"], atol=1e-5, name="bounded")
    indices, codes = fsq(t["z"])
    assert indices.dtype == torch.int64
    assert torch.equal(codes, t["codes"]) and torch.equal(indices, t["indices"].long())
    indices, codes = fsq(t["z_image"])
    assert torch.equal(codes, t["codes_image"]) and torch.equal(indices, t["indices_image"].long())
    assert torch.equal(fsq.indices_to_codes(t["rand_indices"]), t["rand_indices_codes"])
    assert torch.equal(fsq.codebook(), t["implicit_codebook"].float())


def test_fsq_index_code_tables_are_inverse():
    fsq = FSQ()
    indices = torch.arange(64000).reshape(10, 6400)
    assert torch.equal(fsq.codes_to_indices(fsq.indices_to_codes(indices)), indices)
    codebook = fsq.codebook()
    assert codebook.shape == (64000, 6)
    assert len(torch.unique(codebook, dim=0)) == 64000, "every index has its own code"
    z = torch.randn(3, 6, 5, 7) * 3
    indices, codes = fsq(z)
    assert int(indices.min()) >= 0 and int(indices.max()) < 64000
    assert torch.equal(codebook[indices].movedim(-1, 1), codes)


def test_fsq_straight_through_gradient():
    z = torch.randn(2, 6, 3, 4, requires_grad=True)
    FSQ().quantize(z).sum().backward()
    assert z.grad is not None and bool((z.grad > 0).all())


def test_fsq_constants_survive_bfloat16_cast():
    """model.to(bfloat16) must not round the bound's constants (half_l = 3.5035 is 3.5 in bf16)."""
    t = load_fixture_tensors("tokenizer", "fsq.tensors.safetensors")
    fsq = FSQ().to(torch.bfloat16)
    indices, codes = fsq(t["z"])
    assert torch.equal(codes, t["codes"]) and torch.equal(indices, t["indices"].long())
