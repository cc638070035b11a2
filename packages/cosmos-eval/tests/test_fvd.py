"""The Kinetics I3D of FVD loaded from random weights saved in pytorch-i3d's published layout."""

from __future__ import annotations

import functools
import math

import pytest
import torch

from cosmos.core import CheckpointError, ShapeError
from cosmos.eval import I3D, frechet_video_distance
from cosmos.eval.fvd import WEIGHTS_FILE, _same_padding


def test_same_padding_is_tensorflows():
    # size 224, kernel 7, stride 2: total max(7 - 2, 0) = 5 -> 2 before, 3 after; odd size 7: max(7 - 1, 0) = 6
    assert _same_padding((224,), (7,), (2,)) == [2, 3]
    assert _same_padding((7,), (7,), (2,)) == [3, 3]
    assert _same_padding((8, 5), (3, 3), (1, 2)) == [1, 1, 1, 1]  # last dimension first, as F.pad wants


@functools.lru_cache(maxsize=1)
def _random_weights() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, value in I3D().state_dict().items():
        if key.endswith("conv3d.weight"):
            state[key] = torch.randn(value.shape, generator=generator) * math.sqrt(2.0 / value[0].numel())
        elif key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(value.shape, generator=generator) * 0.1
    assert "logits.conv3d.bias" in state and "Mixed_5c.b3b.bn.running_mean" in state
    return {key: value.half() for key, value in state.items()}


def _published(folder, *, drop=None, extra=None):
    state = {**_random_weights(), **(extra or {})}
    state.pop(drop, None)
    torch.save(state, folder / WEIGHTS_FILE)
    return folder


def test_i3d_features_and_fvd(tmp_path):
    i3d = I3D.from_pretrained(_published(tmp_path), input_size=32)  # 224 in real use; 32 keeps the test fast
    generator = torch.Generator().manual_seed(1)
    real = torch.rand(3, 3, 8, 24, 24, generator=generator) * 2 - 1
    features = i3d(real)
    assert features.shape == (3, 400) and torch.isfinite(features).all()
    torch.testing.assert_close(i3d(real[1:2]), features[1:2], rtol=1e-4, atol=1e-5)  # batch-independent
    assert frechet_video_distance(real, real, i3d, batch_size=2) == pytest.approx(0, abs=1e-6)
    fake = real.flip(2).roll(5, dims=-1)  # time reversed, shifted
    assert frechet_video_distance(real, fake, i3d) > 0


def test_i3d_loading_is_strict_and_inputs_checked(tmp_path):
    for name, kwargs, match in [
        ("a", {"drop": "logits.conv3d.bias"}, "missing keys.*logits.conv3d.bias"),
        ("b", {"extra": {"Mixed_6a.b0.conv3d.weight": torch.zeros(1)}}, "unexpected keys.*Mixed_6a"),
        ("c", {"extra": {"Conv3d_1a_7x7.conv3d.weight": torch.zeros(64, 3, 3, 7, 7)}}, "shape mismatches"),
    ]:
        folder = tmp_path / name
        folder.mkdir()
        with pytest.raises(CheckpointError, match=match):
            I3D.from_pretrained(_published(folder, **kwargs))
    with pytest.raises(CheckpointError, match="missing weights file"):
        I3D.from_pretrained(tmp_path)
    with pytest.raises(ShapeError, match="T >= 2"):
        I3D(input_size=32)(torch.zeros(1, 3, 1, 32, 32))
    with pytest.raises(ShapeError, match=r"\[-1, 1\]"):
        I3D(input_size=32)(torch.full((1, 3, 4, 32, 32), 2.0))
