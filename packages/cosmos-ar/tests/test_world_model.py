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


def test_image_file_input(tmp_path, tiny_model, stand_in_tokenizer):
    """An image (PNG) is a one-frame video: 1 context frame, repeated to the clip length (spec §2.4)."""
    from cosmos.core import save_contact_sheet

    image = save_contact_sheet(tmp_path / "frame.png", [np.full((1, 40, 60, 3), 200, dtype=np.uint8)])
    wfm = _wfm(tiny_model, stand_in_tokenizer)
    out = wfm.generate(image, num_input_frames=1, seed=0, progress=False)
    assert out.video.shape == (1, 3, 9, 32, 48) and out.num_context_latent_frames == 1
    with pytest.raises(ShapeError, match="fewer than num_input_frames"):
        wfm.generate(image, num_input_frames=5, progress=False)


def test_guardrail_checks_prompts_first_and_edits_outputs(tiny_model, stand_in_tokenizer):
    from cosmos.core import GuardrailBlocked

    wfm = _wfm(
        tiny_model,
        stand_in_tokenizer,
        training_type="text_to_video",
        apply_abs_pos_emb=True,
        insert_cross_attn=True,
    )
    encoded = []
    wfm.text_encoder = lambda prompts: encoded.extend(prompts) or torch.ones(len(prompts), 3, 16)

    class Report:
        def __init__(self, allowed, reason="", frames=None):
            self.allowed, self.reason, self.frames = allowed, reason, frames

    class Guard:
        def check_text(self, prompt, negative_prompt=None):
            return Report("forbidden" not in prompt, "blocklist")

        def check_video(self, frames):
            edited = frames.copy()
            edited[:, 0, 0] = 0  # one black pixel per frame
            return Report(True, frames=edited)

    video = torch.zeros(1, 3, 1, 32, 48)
    common = dict(num_input_frames=1, num_frames=5, progress=False, seed=0)
    with pytest.raises(GuardrailBlocked, match="blocklist"):
        wfm.generate(video, prompt="something forbidden", guardrail=Guard(), **common)
    assert encoded == []  # blocked before the text encoder ran
    guarded = wfm.generate(video, prompt="a robot arm", guardrail=Guard(), **common)
    plain = wfm.generate(video, prompt="a robot arm", guardrail=None, **common)
    assert torch.equal(guarded.video[..., 0, 0], torch.full_like(guarded.video[..., 0, 0], -1.0))
    assert torch.equal(guarded.video[..., 1:, :], plain.video[..., 1:, :])


def test_nvidia_checkpoints_fail_closed_without_cosmos_guard(tmp_path, tiny_model, stand_in_tokenizer):
    from safetensors.torch import save_file

    from cosmos.core import GuardrailBlocked

    lm = tiny_model(seed=21, vocab_size=64, video_latent_shape=(3, 4, 6))
    folder = tmp_path / "nvidia"
    folder.mkdir()
    reference = {
        "model." + k.replace("token_embedding", "tok_embeddings"): v for k, v in lm.state_dict().items()
    }
    for ours, theirs in [(".query.", ".wq."), (".key.", ".wk."), (".value.", ".wv."), (".out.", ".wo."),
                         (".query_norm.", ".q_norm."), (".key_norm.", ".k_norm."), (".mlp.gate.", ".feed_forward.w1."),
                         (".mlp.up.", ".feed_forward.w3."), (".mlp.down.", ".feed_forward.w2."), (".mlp_norm.", ".ffn_norm.")]:  # fmt: skip
        reference = {k.replace(ours, theirs): v for k, v in reference.items()}
    save_file({k: v.contiguous() for k, v in reference.items()}, str(folder / "model.safetensors"))
    wfm = ARWFM.from_pretrained(folder, tokenizer=stand_in_tokenizer, lm_config=lm.config)
    assert wfm.nvidia_checkpoint
    video = torch.zeros(1, 3, 1, 32, 48)
    with pytest.raises(GuardrailBlocked, match="must run with the guardrail"):
        wfm.generate(video, num_input_frames=1, progress=False)
    out = wfm.generate(video, num_input_frames=1, progress=False, guardrail=None)  # explicit opt-out
    assert out.video.shape == (1, 3, 9, 32, 48)
    ours = tmp_path / "ours"
    ARWFM(stand_in_tokenizer, lm).save_pretrained(ours, tokenizer_name="stand-in")
    assert not ARWFM.from_pretrained(ours, tokenizer=stand_in_tokenizer).nvidia_checkpoint


def _action_wfm(tiny_model, tokenizer):
    lm = tiny_model(seed=5, vocab_size=64, video_latent_shape=(3, 4, 6), insert_cross_attn=True, action_dim=2,
                    action_hidden=8, action_steps=8)  # fmt: skip
    return ARWFM(tokenizer, lm, fps=8.0, context_frames=(1, 5))


def test_action_conditioned_tiny_model_is_a_world_model(tiny_model, stand_in_tokenizer):
    from cosmos.core import WorldModel

    wfm = _action_wfm(tiny_model, stand_in_tokenizer)
    assert isinstance(wfm, WorldModel) and wfm.action_dim == 2 and wfm.chunk_frames == 9
    video = torch.rand(2, 3, 5, 32, 48) * 2 - 1
    actions = torch.randn(2, 20, 2)
    out = wfm.rollout(video, actions, seed=0, guardrail=None)  # 5 + 20 frames: three clips of 9
    assert out.video.shape == (2, 3, 25, 32, 48) and out.states.overlaps == (0, 5, 5, 5, 5)
    again = wfm.rollout(video, actions, seed=0, guardrail=None)
    assert torch.equal(out.video, again.video)
    other = wfm.rollout(video, -actions, seed=0, guardrail=None)
    assert not torch.equal(out.states.chunks[0].indices, other.states.chunks[0].indices)
    # generate() on the first clip: the context actions are zeros in a roll-out
    first = wfm.generate(video, action=torch.cat([torch.zeros(2, 4, 2), actions[:, :4]], 1), num_input_frames=5,
                         temperature=0.0, progress=False)  # fmt: skip
    assert torch.equal(out.states.chunks[0].indices, first.tokens.indices)


def test_sampled_roll_outs_follow_the_seed(tiny_model, stand_in_tokenizer):
    wfm = _action_wfm(tiny_model, stand_in_tokenizer)
    video, actions = torch.rand(1, 3, 1, 32, 48) * 2 - 1, torch.randn(1, 8, 2)
    a = wfm.rollout(video, actions, seed=1, temperature=1.0, top_p=None, guardrail=None)
    b = wfm.rollout(video, actions, seed=1, temperature=1.0, top_p=None, guardrail=None)
    c = wfm.rollout(video, actions, seed=2, temperature=1.0, top_p=None, guardrail=None)
    assert torch.equal(a.states.last.indices, b.states.last.indices)
    assert not torch.equal(a.states.last.indices, c.states.last.indices)


def test_action_errors(tiny_model, stand_in_tokenizer):
    wfm = _action_wfm(tiny_model, stand_in_tokenizer)
    plain = _wfm(tiny_model, stand_in_tokenizer)
    video = torch.rand(1, 3, 1, 32, 48) * 2 - 1
    with pytest.raises(ShapeError, match="takes no actions"):
        plain.generate(video, action=torch.zeros(1, 8, 2), num_input_frames=1, progress=False)
    with pytest.raises(ShapeError, match="NaN"):
        wfm.generate(video, action=torch.full((1, 8, 2), float("nan")), num_input_frames=1, progress=False)
    with pytest.raises(ShapeError, match="3 actions for 8"):
        wfm.generate(video, action=torch.zeros(1, 3, 2), num_input_frames=1, progress=False)
    with pytest.raises(ShapeError, match="resize"):
        wfm.rollout(torch.rand(1, 3, 1, 16, 16) * 2 - 1, torch.zeros(1, 4, 2), guardrail=None)


def test_a_token_decoder_replaces_the_tokenizer_decoder(tiny_model, stand_in_tokenizer):
    """``decoder=`` (e.g. the diffusion decoder) gets the generated tokens, in generate and in roll-outs."""

    class Recording:
        def __init__(self):
            self.seen = []

        def decode(self, tokens):
            self.seen.append(tokens.indices.clone())
            return torch.zeros(tokens.indices.shape[0], 3, 1 + 4 * (tokens.indices.shape[1] - 1), 32, 48)

    wfm = _action_wfm(tiny_model, stand_in_tokenizer)
    video, actions = torch.rand(1, 3, 1, 32, 48) * 2 - 1, torch.randn(1, 8, 2)
    decoder = Recording()
    out = wfm.generate(video, action=actions, num_input_frames=1, temperature=0.0, progress=False, decoder=decoder)
    assert torch.equal(decoder.seen[0], out.tokens.indices) and out.video.abs().max() == 0
    wfm.decoder = Recording()
    rolled = wfm.rollout(video, actions, guardrail=None)
    assert torch.equal(wfm.decoder.seen[-1], rolled.states.last.indices) and rolled.video[:, :, 1:].abs().max() == 0
