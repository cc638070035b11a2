"""The world-model contract: WorldState bookkeeping, chunked roll-outs past one clip, batched candidates, errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core import (
    Latent,
    ShapeError,
    WorldModel,
    WorldState,
    check_actions,
    check_context,
    concat_states,
)
from cosmos.core.testing import DriftWorldModel, PackingTokenizer


def truth(model: DriftWorldModel, context: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """The exact future of the drift dynamics: context ``[B, 3, T0, H, W]`` then one frame per action."""
    frames = [context[:, :, k] for k in range(context.shape[2])]
    for k in range(actions.shape[1]):
        frames.append(model.step(frames[-1], actions[:, k]))
    return torch.stack(frames, dim=2)


def context(batch: int = 1, frames: int = 1, size: int = 4, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, frames, size, size, generator=generator) * 1.6 - 0.8


def test_toy_model_satisfies_the_protocol():
    model = DriftWorldModel()
    assert isinstance(model, WorldModel)
    assert not isinstance(object(), WorldModel)


@settings(max_examples=25, deadline=None)
@given(
    steps=st.integers(1, 40),
    context_frames=st.sampled_from([1, 5]),
    chunk_frames=st.sampled_from([9, 13]),
    batch=st.integers(1, 3),
)
def test_rollout_past_one_clip_is_exact(steps, context_frames, chunk_frames, batch):
    model = DriftWorldModel(chunk_frames=chunk_frames)
    video = context(batch, context_frames)
    actions = torch.randn(batch, steps, 2, generator=torch.Generator().manual_seed(steps))
    out = model.rollout(video, actions, guardrail=None)
    assert out.video.shape == (batch, 3, context_frames + steps, 4, 4)
    assert out.num_context_frames == context_frames
    assert out.states.num_frames == context_frames + steps
    torch.testing.assert_close(out.video, truth(model, video, actions), atol=1e-6, rtol=0)
    assert set(out.timings) == {"encode", "predict", "decode", "guardrail"}


def test_chunk_bookkeeping():
    model = DriftWorldModel(chunk_frames=9)
    state = model.encode_context(context(1, 1))
    assert state.frames == (1,) and state.overlaps == (0,) and state.actions.shape == (1, 0, 2)
    state = model.predict(state, torch.zeros(1, 20, 2))
    # chunk 0: 1 + 8 frames in place; then chunks re-encode the last 5 frames and add 4 each
    assert state.frames == (9, 9, 9, 9) and state.overlaps == (0, 5, 5, 5)
    assert state.num_frames == 21 and state.actions.shape == (1, 20, 2)


def test_predict_in_pieces_equals_one_call_when_aligned():
    model = DriftWorldModel(chunk_frames=9, max_condition_frames=9)
    video, actions = context(2, 1), torch.randn(2, 16, 2)
    whole = model.decode(model.predict(model.encode_context(video), actions))
    state = model.encode_context(video)
    for start in range(0, 16, 4):  # whole latent frames each time: continues from the latents it has
        state = model.predict(state, actions[:, start : start + 4])
    torch.testing.assert_close(model.decode(state), whole)


def test_batched_candidates_broadcast_and_equal_single_calls():
    model = DriftWorldModel()
    state = model.encode_context(context(1, 5))
    candidates = torch.randn(7, 12, 2, generator=torch.Generator().manual_seed(1))
    batched = model.predict(state, candidates, max_batch=3)
    assert batched.batch_size == 7 and model.rows == 3
    video = model.decode(batched)
    for row in range(7):
        single = model.decode(model.predict(state, candidates[row : row + 1]))
        torch.testing.assert_close(video[row : row + 1], single)
    elites = batched.select([4, 1])
    torch.testing.assert_close(model.decode(elites), video[[4, 1]])
    assert torch.equal(elites.actions[:, -12:], candidates[[4, 1]])


def test_different_actions_give_different_predictions():
    model = DriftWorldModel()
    state = model.encode_context(context(1, 1))
    a = model.decode(model.predict(state, torch.full((1, 8, 2), 0.5)))
    b = model.decode(model.predict(state, torch.full((1, 8, 2), -0.5)))
    assert (a[:, :, -1] - b[:, :, -1]).abs().max() > 0.05


def test_context_and_action_errors():
    model = DriftWorldModel()
    with pytest.raises(ShapeError, match="context frames"):
        model.rollout(context(1, 3), torch.zeros(1, 4, 2))
    with pytest.raises(ShapeError, match="works at 4x4"):
        model.rollout(context(1, 1, size=8), torch.zeros(1, 4, 2))
    with pytest.raises(ShapeError, match=r"\[B, N, 2\]"):
        model.rollout(context(1, 1), torch.zeros(1, 4, 3))
    with pytest.raises(ShapeError, match="4 actions for 6 predicted frames"):
        model.rollout(context(1, 1), torch.zeros(1, 4, 2), num_frames=6)
    with pytest.raises(ShapeError, match="NaN"):
        model.rollout(context(1, 1), torch.full((1, 4, 2), float("nan")))
    with pytest.raises(ShapeError, match="action-conditioned"):
        model.rollout(context(1, 1))
    with pytest.raises(ShapeError, match="takes no text"):
        model.rollout(context(1, 1), torch.zeros(1, 4, 2), text="a robot", guardrail=None)
    with pytest.raises(ShapeError, match="values must lie"):
        model.rollout(context(1, 1) * 3, torch.zeros(1, 4, 2))
    state = model.encode_context(context(2, 1))
    with pytest.raises(ShapeError, match="holds 2 roll-outs but actions have 3 rows"):
        model.predict(state, torch.zeros(3, 4, 2))
    with pytest.raises(ShapeError, match="max_batch"):
        model.predict(state, torch.zeros(2, 4, 2), max_batch=0)


def test_check_helpers():
    assert check_actions(None, action_dim=0, num_frames=3) is None
    with pytest.raises(ShapeError, match="takes no actions"):
        check_actions(torch.zeros(1, 3, 2), action_dim=0, num_frames=3)
    out = check_actions(torch.zeros(3, 2, dtype=torch.float64), action_dim=2, num_frames=3)
    assert out.shape == (1, 3, 2) and out.dtype == torch.float32
    with pytest.raises(ShapeError, match="rows"):
        check_actions(torch.zeros(2, 3, 2), action_dim=2, num_frames=3, batch=4)
    check_context(context(1, 5), resolution=(4, 4), context_frames=(1, 5))
    with pytest.raises(ShapeError, match="uint8|floating"):
        check_context(torch.zeros(1, 3, 1, 4, 4, dtype=torch.uint8), resolution=(4, 4), context_frames=(1,))


def test_world_state_validation_and_concat():
    tokenizer = PackingTokenizer()
    chunk = tokenizer.encode(context(2, 5))
    with pytest.raises(ShapeError, match="2 frame counts"):
        WorldState((chunk,), (5, 5), (0,))
    with pytest.raises(ShapeError, match="first chunk"):
        WorldState((chunk,), (5,), (1,))
    other = Latent(torch.zeros(3, 12, 2, 4, 4), 4, 1)
    with pytest.raises(ShapeError, match="different batch"):
        WorldState((chunk, other), (5, 5), (0, 5))
    a, b = WorldState((chunk,), (5,), (0,)), WorldState((chunk,), (5,), (0,))
    assert concat_states([a, b]).batch_size == 4
    with pytest.raises(ShapeError, match="chunk structures"):
        concat_states([a, WorldState((chunk,), (1,), (0,))])
