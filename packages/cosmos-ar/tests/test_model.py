"""Invariants of the transformer: presets, causality, cache == full pass, loading, bad inputs."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from cosmos.ar import PRESETS, Transformer, z_loss
from cosmos.ar.model import ReferenceStateDictAdapter
from cosmos.core import CheckpointError, ShapeError
from cosmos.core.testing import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st

SPEC_PARAMS = {  # spec §3.1, in billions (3 decimals)
    "Cosmos-1.0-Autoregressive-4B": 4.014,
    "Cosmos-1.0-Autoregressive-5B-Video2World": 4.585,
    "Cosmos-1.0-Autoregressive-12B": 11.561,
    "Cosmos-1.0-Autoregressive-13B-Video2World": 13.323,
}


@pytest.mark.parametrize("name", sorted(SPEC_PARAMS))
def test_presets_build_on_meta_with_spec_param_counts(name):
    config = PRESETS[name]
    with torch.device("meta"):
        model = Transformer(config)
    assert round(sum(p.numel() for p in model.parameters()) / 1e9, 3) == SPEC_PARAMS[name]
    video2world = "Video2World" in name
    assert model.token_embedding.weight.shape[0] == (64064 if video2world else 64000)
    assert model.output.weight.shape[0] == 64000
    assert config.resolved_max_seq_len == (12864 if video2world else 12800)
    assert config.attention_head_dim == 128
    names = {key for key in model.state_dict() if key.startswith("layers.0.")}
    assert {"layers.0.attention.query.weight", "layers.0.attention.key.weight", "layers.0.attention.value.weight",
            "layers.0.attention.out.weight"} <= names  # fmt: skip
    assert ("layers.0.cross_attention.query.weight" in names) == video2world


def test_predict1_names_alias_the_same_configs():
    assert PRESETS["Cosmos-Predict1-13B-Video2World"] is PRESETS["Cosmos-1.0-Autoregressive-13B-Video2World"]


@pytest.mark.parametrize("overrides", [{}, {"apply_yarn": True, "original_latent_shape": (1, 2, 4)},
                                       {"training_type": "text_to_video", "apply_abs_pos_emb": True, "insert_cross_attn": True}])  # fmt: skip
@pytest.mark.parametrize("prefix", [1, 5, 12, 23])
@torch.no_grad()
def test_incremental_decoding_equals_full_forward(overrides, prefix, tiny_model):
    model = tiny_model(seed=prefix, **overrides)
    config = model.config
    batch, seq = 2, config.seq_len
    tokens = torch.randint(0, config.vocab_size, (batch, seq))
    kwargs = {}
    if config.has_bov:
        tokens[:, 0] = config.bov_id
        kwargs = dict(
            context=torch.randn(batch, 5, config.context_dim),
            context_mask=torch.ones(batch, 5, dtype=torch.bool),
        )
    full = model(tokens, **kwargs)
    model.setup_cache(batch)
    pieces = [model(tokens[:, :prefix], torch.arange(prefix), **kwargs)]
    for position in range(prefix, seq):
        pieces.append(model(tokens[:, position : position + 1], torch.tensor([position])))
    assert_close(torch.cat(pieces, dim=1), full, atol=1e-4, name="cache vs full")


@settings(max_examples=15, deadline=None)
@given(cut=st.integers(1, 23), seed=st.integers(0, 10_000))
@torch.no_grad()
def test_causality(cut, seed, tiny_model):
    model = tiny_model(seed=0)
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, 32, (1, 24), generator=generator)
    changed = tokens.clone()
    changed[:, cut:] = torch.randint(0, 32, (1, 24 - cut), generator=generator)
    assert_close(model(changed)[:, :cut], model(tokens)[:, :cut], atol=1e-5, name="prefix logits")


def test_save_and_load_roundtrip(tmp_path, tiny_model):
    model = tiny_model(seed=3, training_type="text_to_video", apply_abs_pos_emb=True, insert_cross_attn=True)
    model.save_pretrained(tmp_path / "m")
    loaded = Transformer.from_pretrained(tmp_path / "m")
    assert loaded.config == model.config
    tokens = torch.randint(0, 32, (1, 10))
    tokens[:, 0] = 32
    context = torch.randn(1, 3, 16)
    with torch.no_grad():
        assert torch.equal(loaded(tokens, context=context), model(tokens, context=context))
    assert torch.equal(loaded.ape, model.ape) and torch.equal(loaded.rope_cos, model.rope_cos)


def test_reference_key_names_load_and_bad_keys_are_named(tmp_path, tiny_model):
    model = tiny_model(seed=4)
    inverse = {v: k for k, v in _reference_names(model).items()}
    reference = {inverse[k]: v for k, v in model.state_dict().items()}
    assert all(k.startswith("model.") for k in reference)
    converted = ReferenceStateDictAdapter().convert(
        reference | {"model.layers.0.attention._extra_state": torch.zeros(1)}
    )
    assert set(converted) == set(model.state_dict())
    from safetensors.torch import save_file

    folder = tmp_path / "nvidia"
    folder.mkdir()
    del reference["model.norm.weight"]
    save_file(reference, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match="norm.weight"):
        Transformer.from_pretrained(folder, config=model.config)


def _reference_names(model):
    adapter = ReferenceStateDictAdapter()
    names = {}
    for key in model.state_dict():
        reference = ("model." + key).replace("token_embedding", "tok_embeddings")
        for ours, theirs in [("query_norm", "q_norm"), ("key_norm", "k_norm"), ("query", "wq"), ("key", "wk"),
                             ("value", "wv"), ("out", "wo"), ("mlp.gate", "feed_forward.w1"),
                             ("mlp.up", "feed_forward.w3"), ("mlp.down", "feed_forward.w2"), ("mlp_norm", "ffn_norm")]:  # fmt: skip
            reference = reference.replace(f".{ours}.", f".{theirs}.")
        names[reference] = adapter.convert({reference: torch.zeros(1)}).popitem()[0]
        assert names[reference] == key
    return names


def test_bad_inputs_raise_clear_errors(tiny_model):
    model = tiny_model(seed=5)
    with pytest.raises(ShapeError, match="token ids"):
        model(torch.tensor([[0, 32]]))
    with pytest.raises(ShapeError, match="token ids"):
        model(torch.tensor([[-1, 3]]))
    with pytest.raises(ShapeError, match="tokens must be"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ShapeError, match="exceed max_seq_len"):
        model(torch.zeros(1, 100, dtype=torch.long))
    with pytest.raises(ShapeError, match="setup_cache"):
        model(torch.zeros(1, 2, dtype=torch.long), torch.arange(2))
    with pytest.raises(ShapeError, match="no cross-attention"):
        model(torch.zeros(1, 2, dtype=torch.long), context=torch.zeros(1, 3, 16))
    v2w = tiny_model(seed=5, training_type="text_to_video", apply_abs_pos_emb=True, insert_cross_attn=True)
    tokens = torch.tensor([[32, 1, 2]])
    with pytest.raises(ShapeError, match="context_dim=16"):
        v2w(tokens, context=torch.zeros(1, 3, 17))
    with pytest.raises(ShapeError, match="needs context"):
        v2w(tokens)
    with pytest.raises(ShapeError, match="token ids"):
        v2w(torch.tensor([[33, 1]]), context=torch.zeros(1, 3, 16))  # an unused embedding row is not a token


def test_config_errors_and_reference_dict(tiny_config):
    with pytest.raises(ValueError, match="training_type"):
        tiny_config(training_type="image")
    with pytest.raises(ValueError, match="n_kv_heads"):
        tiny_config(n_kv_heads=3)
    with pytest.raises(ValueError, match="unknown config keys"):
        Transformer.coerce_config({"dim": 64, "n_layers": 2, "rotary": 1})
    with pytest.raises(ValueError, match="unknown preset"):
        Transformer.coerce_config("Cosmos-1.0-Autoregressive-3B")
    reference = dict(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=None, vocab_size=32, yarn_scale=None,
                     max_batch_size=2, precision="float32", video_latent_shape=[2, 3, 4], input_types=["text_and_video"])  # fmt: skip
    config = Transformer.coerce_config(reference)
    assert config.has_bov and config.embedding_rows == 64 and config.video_latent_shape == (2, 3, 4)
    assert config.yarn_scale == 2.0
    assert Transformer.coerce_config(dataclasses.asdict(config)) == config


def test_z_loss():
    logits = torch.zeros(2, 3, 10)
    assert_close(z_loss(logits, coeff=1.0), torch.log(torch.tensor(10.0)) ** 2, atol=1e-6)
    assert z_loss(torch.randn(4, 7), coeff=0.0) == 0


def test_bf16_runs_and_agrees_on_argmax(tiny_model):
    model = tiny_model(seed=6)
    tokens = torch.randint(0, 32, (2, 24))
    with torch.no_grad():
        reference = model(tokens)
        low = model.to(torch.bfloat16)(tokens)
    assert low.dtype == torch.bfloat16
    assert (low.float().argmax(-1) == reference.argmax(-1)).float().mean() > 0.9


def test_architecture_guessed_from_nvidia_folder_names(tmp_path):
    for name in ("Cosmos-1.0-Autoregressive-4B", "Cosmos-Predict1-13B-Video2World", "Cosmos-Predict1-12B"):
        folder = tmp_path / name
        folder.mkdir()
        assert Transformer._guess_config(folder) == PRESETS[name]
    with pytest.raises(CheckpointError, match="pass config="):
        Transformer._guess_config(tmp_path)
