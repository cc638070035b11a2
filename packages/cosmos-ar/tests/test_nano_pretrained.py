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
    assert config.insert_cross_attn and config.action_dim == 7  # embedded actions are the cross-attention context
    assert wfm.clip_frames == 25 and wfm.frame_size == (64, 64)


def test_nano_ar_medusa_greedy_equals_plain_greedy(wfm):
    torch.manual_seed(0)
    video = torch.rand(1, 3, 1, 64, 64) * 2 - 1
    actions = torch.randn(1, 24, 7) * 0.03
    kwargs = dict(action=actions[:, :8], num_input_frames=1, num_frames=9, temperature=0.0, progress=False)
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
    out = wfm.generate(video[:, :, :1], action=actions, num_input_frames=1, num_frames=25,
                       temperature=0.0, medusa=True, progress=False)  # fmt: skip
    # measured 1.95 tokens per forward with the shipped heads; the first release's heads (9 min of training) gave 1.23
    assert out.stats.mean_accepted_length > 1.5


def test_nano_ar_is_a_world_model_and_rolls_out_four_clips(wfm):
    from cosmos.core import WorldModel

    assert isinstance(wfm, WorldModel)
    assert (wfm.fps, wfm.resolution, wfm.action_dim, wfm.context_frames, wfm.chunk_frames) == (
        5.0, (64, 64), 7, (1, 5), 25,
    )  # fmt: skip
    assert wfm.tokenizer_name == "nano-dv4x8x8"  # one copy of each tokenizer: referred to by name
    assert not (Path(__import__("cosmos.ar.pretrained", fromlist=["x"]).__path__[0]) / "nano-ar" / "tokenizer").exists()
    torch.manual_seed(0)
    context = torch.rand(1, 3, 1, 64, 64) * 2 - 1
    actions = torch.randn(1, 96, 7) * 0.03
    out = wfm.rollout(context, actions, guardrail=None)
    assert out.video.shape == (1, 3, 97, 64, 64) and torch.equal(out.video[:, :, :1], context)
    assert out.states.frames == (25, 25, 25, 25, 17) and out.states.overlaps == (0, 5, 5, 5, 5)
    # the first chunk is exactly generate() with the same actions (greedy)
    first = wfm.generate(context, action=actions[:, :24], num_input_frames=1, temperature=0.0, progress=False)
    assert torch.equal(out.states.chunks[0].indices, first.tokens.indices)


def test_nano_ar_scores_64_candidates_in_one_call_like_64_single_calls(wfm):
    torch.manual_seed(1)
    state = wfm.encode_context(torch.rand(1, 3, 1, 64, 64) * 2 - 1)
    candidates = torch.randn(64, 4, 7) * 0.3  # one latent frame (4 frames) per candidate
    batched = wfm.predict(state, candidates, max_batch=32)
    assert batched.last.indices.shape == (64, 2, 8, 8)
    singles = torch.cat([wfm.predict(state, candidates[i : i + 1]).last.indices for i in range(64)])
    assert torch.equal(batched.last.indices, singles)  # greedy: batched == one by one
    distinct = {tuple(row.flatten().tolist()) for row in batched.last.indices[:, 1]}
    assert len(distinct) > 1  # different actions, different futures


def test_nano_ar_rejects_bad_actions(wfm):
    from cosmos.core import ShapeError

    video = torch.zeros(1, 3, 1, 64, 64)
    with pytest.raises(ShapeError, match="8 actions for 4 frame transitions"):
        wfm.generate(video, action=torch.zeros(1, 8, 7), num_input_frames=1, num_frames=5, progress=False)
    with pytest.raises(ShapeError, match="reads actions, not text"):
        wfm.generate(video, text_embeddings=torch.zeros(1, 24, 7), num_input_frames=1, progress=False)
    with pytest.raises(ShapeError, match="action-conditioned"):
        wfm.generate(video, num_input_frames=1, progress=False)
    with pytest.raises(ShapeError, match=r"\[B, N, 7\]"):
        wfm.rollout(video, torch.zeros(1, 4, 6), guardrail=None)
