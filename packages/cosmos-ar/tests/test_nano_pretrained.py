"""The shipped nano-ar model (package data, trained by examples/train_nano.py) loads by short name and runs."""

from pathlib import Path

import numpy as np
import pytest
import torch

from cosmos.ar import ARWFM

EPISODE = Path(__file__).resolve().parents[3] / "examples" / "data" / "nano_heldout_episode.npz"


@pytest.fixture(scope="module")
def wfm():
    pytest.importorskip("cosmos.tokenizer")
    return ARWFM.from_pretrained("nano-ar", dtype=torch.float32)


def test_nano_ar_loads_with_medusa_heads(wfm):
    config = wfm.lm.config
    assert config.video_latent_shape == (7, 8, 8) and config.num_medusa_heads >= 1
    assert config.insert_cross_attn and config.context_dim == 7  # actions are the cross-attention context
    assert wfm.clip_frames == 25 and wfm.frame_size == (64, 64)


def test_nano_ar_medusa_greedy_equals_plain_greedy(wfm):
    torch.manual_seed(0)
    video = torch.rand(1, 3, 1, 64, 64) * 2 - 1
    actions = torch.randn(1, 24, 7) * 0.03
    kwargs = dict(text_embeddings=actions, num_input_frames=1, num_frames=9, temperature=0.0, progress=False)
    medusa = wfm.generate(video, medusa=True, **kwargs)
    plain = wfm.generate(video, medusa=False, **kwargs)
    assert medusa.video.shape == (1, 3, 9, 64, 64)
    assert torch.equal(medusa.tokens.indices, plain.tokens.indices)
    assert medusa.stats.mean_accepted_length >= 1.0


def test_nano_ar_medusa_heads_accept_drafts_on_a_held_out_episode(wfm):
    if not EPISODE.is_file():
        pytest.skip("examples/data/nano_heldout_episode.npz is not in this checkout")
    episode = np.load(EPISODE)
    video = torch.from_numpy(episode["video"]).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    actions = torch.from_numpy(episode["actions"])[None]
    out = wfm.generate(video[:, :, :1], text_embeddings=actions, num_input_frames=1, num_frames=25,
                       temperature=0.0, medusa=True, progress=False)  # fmt: skip
    # measured 1.95 tokens per forward with the shipped heads; the first release's heads (9 min of training) gave 1.23
    assert out.stats.mean_accepted_length > 1.5
