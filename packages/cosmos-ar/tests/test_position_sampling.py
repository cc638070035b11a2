"""Spec test vectors for the token layout, RoPE/YaRN/APE tables, and the sampler's rules."""

from __future__ import annotations

import math

import pytest
import torch
from cosmos.ar.generate import draw_noise, logits_to_probs, sample, top_p_mask
from cosmos.ar.position import (
    YarnConfig,
    ape_split,
    grid_positions,
    rope_inverse_frequencies,
    rope_split,
    rope_table,
    sincos_1d,
)
from hypothesis import given, settings
from hypothesis import strategies as st


def test_flattening_is_time_slowest():
    grid = grid_positions((5, 40, 64))
    assert grid.shape == (12800, 3)
    assert (
        grid[2691].tolist() == [1, 2, 3]
        and grid[5120].tolist() == [2, 0, 0]
        and grid[12799].tolist() == [4, 39, 63]
    )


@settings(max_examples=25, deadline=None)
@given(frames=st.integers(1, 4), height=st.integers(1, 5), width=st.integers(1, 6))
def test_flattening_inverts_raster_order(frames, height, width):
    grid = grid_positions((frames, height, width))
    index = grid[:, 0] * height * width + grid[:, 1] * width + grid[:, 2]
    assert torch.equal(index, torch.arange(frames * height * width))


def test_rope_splits_and_frequencies():
    assert rope_split(128) == (44, 42, 42) and rope_split(32) == (12, 10, 10)
    assert ape_split(4096) == (1368, 1364, 1364) and ape_split(5120) == (1708, 1706, 1706)
    temporal, spatial = rope_inverse_frequencies(128)
    assert temporal.shape == (22,) and spatial.shape == (21,)
    assert spatial[1] == pytest.approx(0.5353, abs=1e-4) and temporal[1] == pytest.approx(0.5508, abs=1e-4)
    yarn_t, yarn_s = rope_inverse_frequencies(128, yarn=YarnConfig())
    assert torch.allclose(yarn_t, temporal / 2)  # every temporal frequency is below the ramp: halved
    assert yarn_s[0] == pytest.approx(1.0) and yarn_s[1] == pytest.approx(0.48251, abs=1e-5)
    assert yarn_s[2] == pytest.approx(0.18266, abs=1e-5) and torch.allclose(yarn_s[3:], spatial[3:] / 2)


def test_rope_worked_example_and_bov_row():
    cos, sin = rope_table(128, (5, 40, 64), 12800)
    angle = torch.atan2(sin[2691], cos[2691])
    assert angle[0] == pytest.approx(1.0, abs=1e-6) and angle[22] == pytest.approx(
        2.0 - 2 * math.pi * 0, abs=1e-6
    )
    assert angle[43] == pytest.approx(3.0, abs=1e-5)
    assert torch.equal(cos[2691, 64:], cos[2691, :64])
    cos_v2w, sin_v2w = rope_table(128, (5, 40, 64), 12864, has_bov=True)
    assert torch.equal(cos_v2w[0], torch.ones(128)) and torch.equal(sin_v2w[12801:], torch.zeros(63, 128))
    assert torch.equal(cos_v2w[2692], cos[2691])


def test_sincos_test_vector():
    row = sincos_1d(1368, torch.tensor([1]))[0]
    assert row[:3].tolist() == pytest.approx([0.84147, 0.83417, 0.82682], abs=1e-5)
    assert row[684] == pytest.approx(math.cos(1.0))
    assert row.to(torch.bfloat16)[:3].float().tolist() == [0.83984375, 0.8359375, 0.828125]


def test_sampler_rules():
    logits = torch.tensor([[3.0, 2.0, 1.0, -5.0]])
    assert sample(logits, None, temperature=0.0).tolist() == [0]
    probs = logits_to_probs(logits, temperature=1.0, top_p=None, top_k=2)
    assert probs[0, 2:].sum() == 0 and probs.sum() == pytest.approx(1.0)
    assert top_p_mask(torch.tensor([[0.5, 0.3, 0.2]]), 0.5).tolist() == [
        [True, True, False]
    ]  # preceding mass <= p
    assert top_p_mask(torch.tensor([[0.9, 0.1]]), 0.0).tolist() == [
        [True, False]
    ]  # the top token is always kept
    with pytest.raises(ValueError, match="only one"):
        logits_to_probs(logits, top_p=0.8, top_k=2)
    with pytest.raises(ValueError, match="temperature"):
        logits_to_probs(logits, temperature=0.0)
    # the exponential race is a categorical draw
    noise = torch.stack([draw_noise(7, index, (4,)) for index in range(20000)])
    target = logits_to_probs(logits, temperature=1.0, top_p=None)[0]
    counts = torch.bincount(sample(logits.expand(20000, -1), noise, top_p=None), minlength=4).float() / 20000
    assert torch.allclose(counts, target, atol=0.015)
    assert torch.equal(draw_noise(3, 5, (2, 3)), draw_noise(3, 5, (2, 3)))
    assert not torch.equal(draw_noise(3, 5, (2, 3)), draw_noise(3, 6, (2, 3)))
