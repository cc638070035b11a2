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


def test_nano_v2w_action_is_a_world_model(wfm):
    from pathlib import Path

    from cosmos.core import WorldModel

    assert isinstance(wfm, WorldModel)
    assert (wfm.fps, wfm.resolution, wfm.action_dim) == (5.0, (64, 64), 7)
    assert (wfm.context_frames, wfm.chunk_frames) == ((1, 5), 25)
    # one copy of each tokenizer: the folder refers to nano-cv4x8x8 by name
    assert wfm.tokenizer_name == "nano-cv4x8x8"
    folder = Path(__import__("cosmos.diffusion.pretrained", fromlist=["x"]).__path__[0]) / "nano-v2w-action"
    assert not (folder / "tokenizer").exists()


def test_nano_v2w_action_rolls_out_four_clips(wfm):
    torch.manual_seed(0)
    context = torch.rand(1, 3, 5, 64, 64) * 2 - 1
    actions = torch.randn(1, 96, 7) * 0.03
    out = wfm.rollout(context, actions, num_steps=2, seed=1, guardrail=None)
    assert out.video.shape == (1, 3, 101, 64, 64) and torch.isfinite(out.video).all()
    assert torch.equal(out.video[:, :, :5], context)  # the given context comes back as given
    assert len(out.states.chunks) == 5 and out.states.overlaps == (0, 5, 5, 5, 5)
    assert out.states.actions.shape == (1, 100, 7)


def test_nano_v2w_action_scores_64_candidates_in_one_call(wfm):
    torch.manual_seed(0)
    state = wfm.encode_context(torch.rand(1, 3, 1, 64, 64) * 2 - 1)
    candidates = torch.randn(64, 8, 7) * 0.05
    a = wfm.predict(state, candidates, seed=3, num_steps=2, max_batch=32)
    b = wfm.predict(state, candidates, seed=3, num_steps=2)
    assert a.batch_size == 64 and a.last.z.shape[0] == 64
    torch.testing.assert_close(a.last.z, b.last.z, atol=1e-4, rtol=0)  # same seed, any max_batch: same predictions
    single = wfm.predict(state, candidates[5:6], seed=3, num_steps=2)
    torch.testing.assert_close(single.last.z[0], a.last.z[5], atol=1e-4, rtol=0)
    assert (a.last.z[0] - a.last.z[1]).abs().max() > 1e-3  # different actions, different predictions
    video = wfm.decode(a.select([0, 1]))
    assert video.shape == (2, 3, 9, 64, 64)


def test_nano_v2w_action_rejects_bad_roll_outs(wfm):
    from cosmos.core import ShapeError

    context = torch.zeros(1, 3, 1, 64, 64)
    with pytest.raises(ShapeError, match=r"\[B, N, 7\]"):
        wfm.rollout(context, torch.zeros(1, 24, 6), guardrail=None)
    with pytest.raises(ShapeError, match="24 actions for 20 predicted frames"):
        wfm.rollout(context, torch.zeros(1, 24, 7), num_frames=20, guardrail=None)
    with pytest.raises(ShapeError, match="works at 64x64"):
        wfm.rollout(torch.zeros(1, 3, 1, 32, 32), torch.zeros(1, 24, 7), guardrail=None)
    with pytest.raises(ShapeError, match="context frames"):
        wfm.rollout(torch.zeros(1, 3, 3, 64, 64), torch.zeros(1, 24, 7), guardrail=None)


def test_a_tokenizer_of_another_compression_is_rejected():
    from cosmos.core import ShapeError
    from cosmos.tokenizer import CausalVideoTokenizer

    class Coarser:  # nano-cv4x8x8's channels, twice its temporal compression
        temporal_compression, spatial_compression, latent_channels = 8, 8, 16
        encode = decode = latent_shape = None

        def valid_num_frames(self, frames):
            return (frames - 1) % 8 == 0

    with pytest.raises(ShapeError, match="temporal_compression 8.*trained with 4"):
        DiffusionWFM.from_pretrained("nano-v2w-action", tokenizer=Coarser())
    assert CausalVideoTokenizer.from_pretrained("nano-cv4x8x8").temporal_compression == 4
