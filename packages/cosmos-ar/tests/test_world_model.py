"""ARWFM end to end on CPU: video file -> tokens -> generation -> mp4, plus bad-input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from cosmos.ar import ARWFM
from cosmos.ar.medusa import add_medusa_heads
from cosmos.core import Latent, ShapeError, VideoTokenizer, read_video, write_video


def _clip_file(path, frames=12, height=48, width=64):
    t, y, x = np.meshgrid(np.arange(frames), np.arange(height), np.arange(width), indexing="ij")
    red = (127 + 120 * np.sin(x / 9 + t / 3)).astype(np.uint8)
    green = (127 + 120 * np.cos(y / 7 - t / 4)).astype(np.uint8)
    blue = np.full_like(red, 90)
    write_video(path, np.stack([red, green, blue], axis=-1), fps=8)
    return path


def _wfm(tiny_model, tokenizer, **overrides):
    lm = tiny_model(seed=21, vocab_size=64, video_latent_shape=(3, 4, 6), **overrides)
    return ARWFM(tokenizer, lm)


def test_stand_in_is_a_video_tokenizer(stand_in_tokenizer):
    assert isinstance(stand_in_tokenizer, VideoTokenizer)


@pytest.mark.parametrize("num_input_frames", [1, 5])
def test_generate_end_to_end_from_a_video_file(tmp_path, tiny_model, stand_in_tokenizer, num_input_frames):
    wfm = _wfm(tiny_model, stand_in_tokenizer)
    source = _clip_file(tmp_path / "in.mp4")
    out = wfm.generate(source, num_input_frames=num_input_frames, seed=3, progress=False)
    assert out.video.shape == (1, 3, 9, 32, 48)
    assert out.video.min() >= -1 and out.video.max() <= 1
    assert out.tokens.indices.shape == (1, 3, 4, 6)
    assert out.num_context_latent_frames == (1 if num_input_frames == 1 else 2)
    # the context tokens are the tokenizer's tokens of the prepared input
    clip = wfm.prepare_video(wfm.load_video(source), num_input_frames, 9)
    expected = stand_in_tokenizer.encode(clip).indices[:, : out.num_context_latent_frames]
    assert torch.equal(out.tokens.indices[:, : out.num_context_latent_frames], expected)
    # deterministic for a seed
    again = wfm.generate(source, num_input_frames=num_input_frames, seed=3, progress=False)
    assert torch.equal(again.tokens.indices, out.tokens.indices)
    path = write_video(
        tmp_path / "out.mp4",
        (out.video[0].permute(1, 2, 3, 0).numpy() * 127.5 + 127.5).astype(np.uint8),
        fps=8,
    )
    frames, _ = read_video(path)
    assert frames.shape == (9, 32, 48, 3)


def test_video2world_with_text_embeddings_and_medusa(tiny_model, stand_in_tokenizer):
    wfm = _wfm(
        tiny_model,
        stand_in_tokenizer,
        training_type="text_to_video",
        apply_abs_pos_emb=True,
        insert_cross_attn=True,
    )
    add_medusa_heads(wfm.lm, 2)
    video = torch.rand(2, 3, 7, 40, 40) * 2 - 1
    text = torch.randn(2, 5, 16)
    plain = wfm.generate(
        video, text_embeddings=text, num_input_frames=5, medusa=False, seed=1, progress=False
    )
    fast = wfm.generate(video, text_embeddings=text, num_input_frames=5, seed=1, progress=False)
    assert torch.equal(plain.tokens.indices, fast.tokens.indices)
    assert fast.video.shape == (2, 3, 9, 32, 48)
    shorter = wfm.generate(
        video, text_embeddings=text, num_input_frames=1, num_frames=5, seed=1, progress=False
    )
    assert shorter.video.shape == (2, 3, 5, 32, 48) and shorter.tokens.indices.shape == (2, 2, 4, 6)


def test_bad_inputs(tiny_model, stand_in_tokenizer):
    wfm = _wfm(tiny_model, stand_in_tokenizer)
    video = torch.zeros(1, 3, 9, 32, 48)
    with pytest.raises(ShapeError, match="num_input_frames must be one of"):
        wfm.generate(video, num_input_frames=3, progress=False)
    with pytest.raises(ShapeError, match="num_frames"):
        wfm.generate(video, num_input_frames=1, num_frames=8, progress=False)
    with pytest.raises(ShapeError, match="fewer than num_input_frames"):
        wfm.generate(video[:, :, :2], num_input_frames=5, progress=False)
    with pytest.raises(ShapeError):
        wfm.generate(video + 3, num_input_frames=1, progress=False)  # not in [-1, 1]
    with pytest.raises(ShapeError, match="takes no text"):
        wfm.generate(video, text_embeddings=torch.zeros(1, 4, 16), num_input_frames=1, progress=False)
    v2w = _wfm(
        tiny_model,
        stand_in_tokenizer,
        training_type="text_to_video",
        apply_abs_pos_emb=True,
        insert_cross_attn=True,
    )
    with pytest.raises(ShapeError, match=r"\[B, L, 16\]"):
        v2w.generate(video, text_embeddings=torch.zeros(1, 4, 17), num_input_frames=1, progress=False)
    with pytest.raises(ShapeError, match="needs prompt= or text_embeddings="):
        v2w.generate(video, num_input_frames=1, progress=False)
    with pytest.raises(ShapeError, match="text_encoder"):
        v2w.generate(video, prompt="a robot arm", num_input_frames=1, progress=False)
    small_vocab = ARWFM(stand_in_tokenizer, tiny_model(seed=1, vocab_size=32, video_latent_shape=(3, 4, 6)))
    with pytest.raises(ShapeError, match="tokenizer vocab 64"):
        small_vocab.generate(video, num_input_frames=1, progress=False)

    class Continuous(type(stand_in_tokenizer)):
        def encode(self, video):
            return Latent(torch.zeros(video.shape[0], 3, 3, 4, 6), 4, 8)

    with pytest.raises(ShapeError, match="discrete tokenizer"):
        ARWFM(Continuous(), wfm.lm).generate(video, num_input_frames=1, progress=False)


def test_text_encoder_prompt_path(tiny_model, stand_in_tokenizer):
    wfm = _wfm(
        tiny_model,
        stand_in_tokenizer,
        training_type="text_to_video",
        apply_abs_pos_emb=True,
        insert_cross_attn=True,
    )
    seen = []

    def encoder(prompts):
        seen.extend(prompts)
        return torch.ones(len(prompts), 3, 16)

    wfm.text_encoder = encoder
    out = wfm.generate(
        torch.zeros(1, 3, 1, 32, 48), prompt="a ball falls", num_input_frames=1, progress=False
    )
    assert seen == ["a ball falls"] and out.video.shape[2] == 9
