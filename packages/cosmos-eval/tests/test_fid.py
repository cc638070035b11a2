"""Fréchet distance against closed forms and scipy; the FID Inception loaded from random weights saved in
pytorch-fid's published layout."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core import CheckpointError, ShapeError
from cosmos.eval import FIDInception, feature_statistics, frechet_distance, frechet_inception_distance
from cosmos.eval.fid import WEIGHTS_FILE, frechet_distance_from_features


def test_frechet_distance_closed_forms():
    # one dimension: (m1 - m2)^2 + (s1 - s2)^2 for standard deviations s1, s2
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4 + 1)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((6, 6))
    sigma = a @ a.T
    assert frechet_distance(np.ones(6), sigma, np.ones(6), sigma) == pytest.approx(0, abs=1e-9)
    # commuting (diagonal) covariances: sum (sqrt(l1) - sqrt(l2))^2
    l1, l2 = rng.uniform(0.5, 2, 6), rng.uniform(0.5, 2, 6)
    expected = float(((np.sqrt(l1) - np.sqrt(l2)) ** 2).sum())
    assert frechet_distance(np.zeros(6), np.diag(l1), np.zeros(6), np.diag(l2)) == pytest.approx(expected)


def test_frechet_distance_matches_the_scipy_sqrtm_formula():
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((40, 8)), rng.standard_normal((50, 8)) * 1.5 + 0.3
    (mu1, s1), (mu2, s2) = feature_statistics(x), feature_statistics(y)
    covmean = linalg.sqrtm(s1 @ s2).real  # pytorch-fid's formula
    reference = float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-8)


def test_frechet_distance_from_few_features_takes_the_gram_route():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((5, 30)), rng.standard_normal((7, 30)) + 0.2  # fewer rows than dimensions
    (mu1, s1), (mu2, s2) = feature_statistics(x), feature_statistics(y)
    assert frechet_distance_from_features(x, y) == pytest.approx(frechet_distance(mu1, s1, mu2, s2), rel=1e-6)
    assert frechet_distance_from_features(x, x) == pytest.approx(0, abs=1e-9)
    many = rng.standard_normal((40, 30))
    assert frechet_distance_from_features(many, y) == pytest.approx(
        frechet_distance(*feature_statistics(many), mu2, s2)
    )


def test_frechet_bad_input():
    with pytest.raises(ShapeError, match="N >= 2"):
        feature_statistics(np.zeros((1, 4)))
    with pytest.raises(ShapeError, match="differ in dimension"):
        frechet_distance_from_features(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ShapeError, match="one D"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


@functools.lru_cache(maxsize=1)
def _random_weights() -> dict[str, torch.Tensor]:
    """Random float16 weights in pytorch-fid's file layout (with its classifier and batch-norm counters)."""
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, value in FIDInception().state_dict().items():
        if key.endswith("conv.weight"):  # He initialisation keeps the activations finite through 94 layers
            state[key] = torch.randn(value.shape, generator=generator) * math.sqrt(2.0 / value[0].numel())
        elif key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=generator) + 0.5
            state[key.replace("running_var", "num_batches_tracked")] = torch.tensor(0)
        else:
            state[key] = torch.randn(value.shape, generator=generator) * 0.1
    state.update({"fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)})
    return {key: value.half() if value.is_floating_point() else value for key, value in state.items()}


def _published(folder, *, drop=None, extra=None):
    state = {**_random_weights(), **(extra or {})}
    state.pop(drop, None)
    torch.save(state, folder / WEIGHTS_FILE)
    return folder


def test_fid_inception_from_published_layout(tmp_path):
    inception = FIDInception.from_pretrained(
        _published(tmp_path), input_size=75
    )  # 299 in real use; 75 is fast
    generator = torch.Generator().manual_seed(2)
    real = torch.rand(3, 3, 32, 32, generator=generator) * 2 - 1
    fake = (real.flip(-1) * 0.5).clamp(-1, 1)
    features = inception(torch.cat([real, fake]))
    assert features.shape == (6, 2048) and torch.isfinite(features).all()
    torch.testing.assert_close(inception(real[:1]), features[:1], rtol=1e-4, atol=1e-5)  # batch-independent
    assert frechet_inception_distance(real, real, inception) == pytest.approx(0, abs=1e-6)
    videos = real[None].transpose(1, 2)  # [1, 3, T=3, H, W]: frames are the images
    assert frechet_inception_distance(videos, fake[None].transpose(1, 2), inception, batch_size=2) > 0


def test_fid_inception_loading_is_strict(tmp_path):
    for name, kwargs, match in [
        ("a", {"drop": "Mixed_7c.branch_pool.conv.weight"}, "missing keys.*Mixed_7c.branch_pool.conv.weight"),
        ("b", {"extra": {"AuxLogits.fc.weight": torch.zeros(1000, 768)}}, "unexpected keys.*AuxLogits"),
        ("c", {"extra": {"Conv2d_1a_3x3.conv.weight": torch.zeros(32, 3, 5, 5)}}, "shape mismatches"),
    ]:
        folder = tmp_path / name
        folder.mkdir()
        with pytest.raises(CheckpointError, match=match):
            FIDInception.from_pretrained(_published(folder, **kwargs))
    with pytest.raises(CheckpointError, match="missing weights file"):
        FIDInception.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="input_size"):
        FIDInception(input_size=64)
    with pytest.raises(ShapeError, match=r"\[-1, 1\]"):
        FIDInception(input_size=75)(torch.full((1, 3, 8, 8), 2.0))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 12), st.integers(1, 6))
def test_frechet_distance_is_a_symmetric_non_negative_squared_distance(seed, rows, dim):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((rows, dim)), rng.standard_normal((rows + 1, dim)) * 2 + 1
    forward, backward = frechet_distance_from_features(x, y), frechet_distance_from_features(y, x)
    assert forward == pytest.approx(backward, rel=1e-6, abs=1e-9) and forward > -1e-9
    scale = 1 + float(np.var(x, axis=0, ddof=1).sum())  # Tr(Sigma): round-off grows with it
    assert frechet_distance_from_features(x, x) == pytest.approx(0, abs=1e-7 * scale)
