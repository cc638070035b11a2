"""Training: schedule shape, loss masking, loss goes down, checkpoint + resume, Medusa-head mode, token shards."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from cosmos.ar import Transformer
from cosmos.ar.train import (
    TokenShards,
    TrainConfig,
    learning_rate_at,
    medusa_joint_loss,
    next_token_loss,
    tokenize_videos,
    train,
)
from cosmos.core import ShapeError, write_video


def test_schedule_warmup_cosine_cooldown():
    config = TrainConfig(steps=100, warmup_steps=10, cooldown_steps=20, learning_rate=1.0, min_lr_ratio=0.1)
    rates = [learning_rate_at(step, config) for step in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[9:80], rates[10:80]))  # cosine decay
    assert rates[79] == pytest.approx(0.1, abs=2e-3)
    assert rates[80] == pytest.approx(0.1) and rates[99] == pytest.approx(0.005)  # linear cool-down to 0
    with pytest.raises(ValueError, match="mode"):
        TrainConfig(mode="dpo")


def test_loss_skips_context_labels(tiny_model):
    model = tiny_model(seed=31)
    tokens = torch.randint(0, 32, (2, 24))
    _, full = next_token_loss(model, tokens, num_condition_latents=0, z_loss_coeff=0.0)
    _, scored = next_token_loss(model, tokens, num_condition_latents=1, z_loss_coeff=0.0)
    logits = model(tokens[:, :-1]).float()
    per_token = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], reduction="none")
    assert torch.allclose(full, per_token.mean(), atol=1e-5)
    assert torch.allclose(scored, per_token[:, 11:].mean(), atol=1e-5)  # 12 tokens per latent frame, minus 1


def _shard(path, count=32):
    """Sequences with an easy rule (each token = previous + 1 mod 32) so a tiny model learns quickly."""
    starts = torch.randint(0, 32, (count, 1), generator=torch.Generator().manual_seed(0))
    tokens = (starts + torch.arange(24)) % 32
    save_file({"tokens": tokens}, str(path))
    return path


def test_train_checkpoint_resume_and_medusa_mode(tmp_path, tiny_model):
    dataset = TokenShards([_shard(tmp_path / "shard.safetensors")])
    model = tiny_model(seed=32)
    config = TrainConfig(steps=40, batch_size=8, learning_rate=3e-3, warmup_steps=4, cooldown_steps=4,
                         checkpoint_every=20, log_every=1, num_condition_latents=0)  # fmt: skip
    tokens = dataset.tokens[:8]
    before = next_token_loss(model, tokens, num_condition_latents=0)[1].item()
    # stop after 20 steps, then resume to 40
    train(
        model,
        dataset,
        TrainConfig(**{**config.__dict__, "steps": 20, "cooldown_steps": 0}),
        tmp_path / "run",
        progress=False,
    )
    assert (tmp_path / "run" / "step-0000020" / "trainer_state.pt").is_file()
    trained = train(tiny_model(seed=99), dataset, config, tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "step-0000040" / "model.safetensors").is_file()
    after = next_token_loss(trained, tokens, num_condition_latents=0)[1].item()
    assert after < 0.5 * before
    # Medusa mode: base frozen, heads learn
    medusa_config = TrainConfig(mode="medusa", steps=30, batch_size=8, learning_rate=3e-3, warmup_steps=2,
                                cooldown_steps=2, num_medusa_heads=2, checkpoint_every=30)  # fmt: skip
    base = {k: v.clone() for k, v in trained.state_dict().items()}
    with_heads = train(trained, dataset, medusa_config, tmp_path / "medusa", progress=False)
    assert with_heads.config.num_medusa_heads == 2
    assert all(torch.equal(with_heads.state_dict()[k], v) for k, v in base.items())
    loaded = Transformer.from_pretrained(tmp_path / "medusa" / "step-0000030")
    assert loaded.medusa_heads is not None


def test_tokenize_videos_writes_a_shard(tmp_path, stand_in_tokenizer):
    frames = (np.random.default_rng(0).random((20, 40, 56, 3)) * 255).astype(np.uint8)
    write_video(tmp_path / "a.mp4", frames, fps=8)
    shard = tokenize_videos(stand_in_tokenizer, [tmp_path / "a.mp4"], tmp_path / "t.safetensors",
                            clip_frames=9, frame_size=(32, 48), bov_id=64, progress=False)  # fmt: skip
    dataset = TokenShards([shard])
    assert dataset.tokens.shape == (2, 1 + 3 * 4 * 6)
    assert bool((dataset.tokens[:, 0] == 64).all()) and int(dataset.tokens[:, 1:].max()) < 64


def test_medusa_joint_loss_scores_heads_on_future_tokens_and_trains_both(tiny_model):
    from cosmos.ar.medusa import add_medusa_heads

    model = add_medusa_heads(tiny_model(seed=37), 2).train()
    tokens = torch.randint(0, 32, (2, 24))
    total, lm, heads = medusa_joint_loss(model, tokens, num_condition_latents=0, head_weight=0.5, z_loss_coeff=0.0)
    _, reference_lm = next_token_loss(model, tokens, num_condition_latents=0, z_loss_coeff=0.0)
    assert torch.allclose(lm, reference_lm, atol=1e-5)
    # head k at position t is scored on token t + k + 1
    hidden = model.hidden_states(tokens[:, :-1])
    head_logits = model.medusa_heads(hidden, model.output).float()
    for k in (1, 2):
        expected = torch.nn.functional.cross_entropy(head_logits[k - 1, :, :-k].flatten(0, 1), tokens[:, k + 1 :].flatten())
        assert torch.allclose(heads[k - 1], expected, atol=1e-5)
    assert torch.allclose(total, lm + 0.5 * (0.8 * heads[0] + 0.64 * heads[1]), atol=1e-5)
    total.backward()
    assert model.layers[0].attention.query.weight.grad is not None  # the backbone learns from the heads too
    assert all(p.grad is not None for p in model.medusa_heads.parameters())
    # a random subset of positions: same loss in expectation, finite, and the draw follows the generator
    a = medusa_joint_loss(model, tokens, head_positions=5, generator=torch.Generator().manual_seed(0))[2]
    b = medusa_joint_loss(model, tokens, head_positions=5, generator=torch.Generator().manual_seed(0))[2]
    assert torch.equal(a, b) and torch.isfinite(a).all()
    with pytest.raises(ValueError, match="no Medusa heads"):
        medusa_joint_loss(tiny_model(seed=1), tokens)
    with pytest.raises(ShapeError, match="too short"):
        medusa_joint_loss(model, tokens[:, :4])
    with pytest.raises(ShapeError, match="tokens must be"):
        medusa_joint_loss(model, tokens.float())
