"""The shipped nano-v2w-action model (package data, trained by examples/train_nano.py) loads by short name and runs."""

import pytest
import torch

from cosmos.diffusion import DiffusionWFM


@pytest.fixture(scope="module")
def wfm():
    pytest.importorskip("cosmos.tokenizer")
    return DiffusionWFM.from_pretrained("nano-v2w-action", dtype=torch.float32)


def test_nano_v2w_action_loads_and_predicts(wfm):
    config = wfm.net.config
    assert config.condition_mask and config.action_dim == 7 and config.action_frames == 24
    assert wfm.latent_statistics is not None
    torch.manual_seed(0)
    first = torch.rand(1, 3, 1, 64, 64) * 2 - 1
    out = wfm.sample(
        text_embeddings=torch.zeros(1, 1, config.crossattn_channels), video=first, num_input_frames=1,
        num_frames=25, height=64, width=64, fps=5, guidance=0, num_steps=3, action=torch.zeros(1, 24, 7),
        progress=False,
    )  # fmt: skip
    assert out.shape == (1, 3, 25, 64, 64) and torch.isfinite(out).all()
    # the conditioning latent frame is replaced by the input's: frame 0 is the tokenizer round trip of the input
    round_trip = wfm.decode(wfm.encode(torch.cat([first, torch.zeros(1, 3, 24, 64, 64)], dim=2)))
    assert torch.allclose(out[:, :, 0], round_trip[:, :, 0], atol=0.05)


def test_nano_v2w_action_requires_actions(wfm):
    from cosmos.core import ShapeError

    with pytest.raises(ShapeError, match="action"):
        wfm.sample(text_embeddings=torch.zeros(1, 1, wfm.net.config.crossattn_channels),
                   video=torch.zeros(1, 3, 1, 64, 64), num_input_frames=1, num_frames=25, height=64, width=64,
                   guidance=0, num_steps=2, progress=False)  # fmt: skip
