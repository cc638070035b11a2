"""DiT construction, presets, shape rules, checkpoint round trips and diffusers parity."""

import dataclasses
import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core import CheckpointError, ShapeError
from cosmos.diffusion import PRESETS, DiT, DiTConfig
from cosmos.diffusion.checkpoints import DiffusersDiTAdapter, OfficialDiTAdapter, to_diffusers, to_official

TINY = DiTConfig(model_channels=64, num_blocks=2, num_heads=2, crossattn_channels=16, adaln_lora_dim=8)


@pytest.mark.parametrize(
    ("name", "billions", "tensors"),
    [
        ("Cosmos-1.0-Diffusion-7B-Text2World", 7.236, 570),
        ("Cosmos-1.0-Diffusion-7B-Video2World", 7.236, 570),
        ("Cosmos-1.0-Diffusion-14B-Text2World", 14.267, 730),
        ("Cosmos-1.0-Diffusion-14B-Video2World", 14.267, 730),
    ],
)
def test_full_size_presets_on_meta(name, billions, tensors):
    """Spec §4.1/§12: parameter counts (diffusers build) and network tensor counts of the released models."""
    with torch.device("meta"):
        net = DiT(PRESETS[name])
    network = {k: v for k, v in net.state_dict().items() if not k.startswith("logvar.")}
    assert len(network) == tensors
    count = sum(v.numel() for v in network.values())
    assert abs(count / 1e9 - billions) < 0.0005, count
    patch_in = 72 if "Video2World" in name else 68
    assert net.patch_embed.weight.shape == (PRESETS[name].model_channels, patch_in)
    assert net.config.head_dim == 128


def test_sample_presets_channels():
    camera = PRESETS["Cosmos-1.0-Diffusion-7B-Video2World-Sample-CameraCond"]
    assert camera.in_channels == 24  # 16 latent + 1 mask + 6 Plücker + 1 padding (spec §11.1)
    action = PRESETS["Cosmos-1.0-Diffusion-7B-Video2World-Sample-ActionCond"]
    assert action.action_dim == 7 and action.condition_mask
    assert action.action_embedding == "predict1" and not action.extra_pos_embed  # spec §11.2
    assert PRESETS["Cosmos-Predict1-7B-Video2World-Sample-ActionCond"] == action
    with torch.device("meta"):
        net = DiT(action)
    shapes = {k: tuple(v.shape) for k, v in to_official(net.state_dict()).items() if "action" in k}
    assert shapes == {  # the released 7B action layers (spec §11.2)
        "net.action_embedder_B_D.fc1.weight": (16384, 7),
        "net.action_embedder_B_D.fc1.bias": (16384,),
        "net.action_embedder_B_D.fc2.weight": (4096, 16384),
        "net.action_embedder_B_D.fc2.bias": (4096,),
        "net.action_embedder_B_3D.fc1.weight": (16384, 7),
        "net.action_embedder_B_3D.fc1.bias": (16384,),
        "net.action_embedder_B_3D.fc2.weight": (12288, 16384),
        "net.action_embedder_B_3D.fc2.bias": (12288,),
    }
    assert not any("extra_pos_embedder" in k for k in to_official(net.state_dict()))


def test_action_layer_variants():
    """``"nano"`` flattens all action vectors into a_D (before the norm) and a_3D; ``"predict1"`` uses only
    ``action[:, 0]`` and only a_3D changes the output."""
    with pytest.raises(ValueError, match="action_embedding"):
        DiTConfig(action_dim=7, action_embedding="nemo")
    x, timesteps, context = _inputs(TINY)
    nano = _random_weights(DiT(dataclasses.replace(TINY, action_dim=7, action_frames=2))).eval()
    released = _random_weights(
        DiT(dataclasses.replace(TINY, action_dim=7, action_frames=1, action_embedding="predict1"))
    ).eval()
    action = torch.randn(2, 2, 7)
    with torch.no_grad():
        later_changed = torch.cat([action[:, :1], torch.randn(2, 1, 7)], dim=1)
        assert not torch.allclose(
            nano(x, timesteps, context, None, 24.0, action=action),
            nano(x, timesteps, context, None, 24.0, action=later_changed),
        )
        out = released(x, timesteps, context, None, 24.0, action=action)
        torch.testing.assert_close(released(x, timesteps, context, None, 24.0, action=later_changed), out)
        torch.testing.assert_close(released(x, timesteps, context, None, 24.0, action=action[:, :1]), out)
        _, emb, _ = released.time_conditioning(timesteps, action)
        sinusoid, _, _ = released.time_conditioning(timesteps, action)
        torch.testing.assert_close(emb, released.time_norm(sinusoid))  # a_D has no effect
        _, nano_emb, _ = nano.time_conditioning(timesteps, action)
        assert not torch.allclose(nano_emb, nano.time_norm(sinusoid))  # nano: a_D enters before the norm
    with pytest.raises(ShapeError, match="action"):
        nano(
            x, timesteps, context, None, 24.0, action=action[:, :1]
        )  # nano takes exactly action_frames vectors
    with pytest.raises(ShapeError, match="action"):
        released(x, timesteps, context, None, 24.0, action=torch.randn(2, 0, 7))
    with pytest.raises(ShapeError, match="action"):
        released(x, timesteps, context, None, 24.0, action=torch.randn(2, 1, 6))
    with pytest.raises(ShapeError, match="action"):
        released(x, timesteps, context, None, 24.0)
    assert PRESETS["Cosmos-Predict1-14B-Text2World"] == PRESETS["Cosmos-1.0-Diffusion-14B-Text2World"]


def _inputs(config, batch=2, frames=3, height=4, width=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, config.latent_channels, frames, height, width, generator=generator)
    timesteps = torch.randn(batch, generator=generator)
    context = torch.randn(batch, 5, config.crossattn_channels, generator=generator)
    return x, timesteps, context


def _random_weights(net, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in net.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) / max(1, param.shape[-1]) ** 0.5)
    return net


def test_forward_shapes_and_errors():
    net = _random_weights(DiT(TINY)).eval()
    x, timesteps, context = _inputs(TINY)
    out = net(x, timesteps, context, None, 24.0)
    assert out.shape == x.shape and torch.isfinite(out).all()
    with pytest.raises(ShapeError, match="divisible"):
        net(x[..., :3, :], timesteps, context, None, 24.0)
    with pytest.raises(ShapeError, match="channels"):
        net(x[:, :8], timesteps, context, None, 24.0)
    with pytest.raises(ShapeError, match="crossattn_emb"):
        net(x, timesteps, context[..., :8], None, 24.0)
    with pytest.raises(ShapeError, match="one fps"):
        net(x, timesteps, context, None, torch.tensor([24.0, 30.0]))
    with pytest.raises(ShapeError, match="image mode"):
        net(x, timesteps, context, None, None)
    with pytest.raises(ShapeError, match="not a Video2World"):
        net(x, timesteps, context, None, 24.0, None, torch.ones(2, 1, 3, 4, 6))
    with pytest.raises(ShapeError, match="position tables"):
        big = TINY.__class__(**{**dataclasses.asdict(TINY), "max_size": (2, 240, 240)})
        DiT(big)(x, timesteps, context, None, 24.0)


def test_forward_is_batch_independent():
    net = _random_weights(DiT(TINY)).eval()
    x, timesteps, context = _inputs(TINY)
    with torch.no_grad():
        both = net(x, timesteps, context, None, 24.0)
        first = net(x[:1], timesteps[:1], context[:1], None, 24.0)
    torch.testing.assert_close(both[:1], first, rtol=1e-5, atol=1e-5)


@settings(max_examples=10, deadline=None)
@given(
    patch=st.sampled_from([(1, 2, 2), (2, 2, 2), (1, 1, 1), (1, 4, 2)]),
    grid=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    channels=st.integers(1, 4),
)
def test_patchify_unpatchify_round_trip(patch, grid, channels):
    """Unpatchify inverts patchify up to the feature permutation (c, p_t, p_h, p_w) -> (p_h, p_w, p_t, c)."""
    config = dataclasses.replace(
        TINY, patch_size=patch, latent_channels=channels, out_channels=channels, concat_padding_mask=False
    )
    with torch.device("meta"):
        net = DiT(config)
    shape = (1, channels, grid[0] * patch[0], grid[1] * patch[1], grid[2] * patch[2])
    x = torch.arange(torch.Size(shape).numel(), dtype=torch.float32).reshape(shape)
    tokens = net.patchify(x)  # [B, T', H', W', (c r m n)]
    tokens = tokens.reshape(*tokens.shape[:4], channels, *patch).permute(0, 1, 2, 3, 6, 7, 5, 4)
    tokens = tokens.reshape(1, -1, channels * patch[0] * patch[1] * patch[2])
    assert torch.equal(net.unpatchify(tokens, grid), x)


def test_official_key_round_trip_and_errors(tmp_path):
    net = DiT(TINY)
    official = to_official(net.state_dict())
    assert "net.pos_embedder.seq" in official and "logvar.1.weight" in official
    assert "net.blocks.block1.blocks.1.block.attn.to_k.1.weight" in official
    back = OfficialDiTAdapter().convert(official)
    assert set(back) == set(net.state_dict())
    torch.save(official, tmp_path / "model.pt")
    loaded = DiT.from_pretrained(tmp_path, config=TINY)
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with pytest.raises(CheckpointError, match="pass config="):
        DiT.from_pretrained(tmp_path)
    del official["net.final_layer.linear.weight"]
    torch.save(official, tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match="final_layer.linear.weight"):
        DiT.from_pretrained(tmp_path, config=TINY)


def test_save_pretrained_round_trip(tmp_path):
    net = _random_weights(DiT(TINY))
    net.save_pretrained(tmp_path / "ours")
    loaded = DiT.from_pretrained(tmp_path / "ours")
    assert loaded.config == TINY
    x, timesteps, context = _inputs(TINY)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(x, timesteps, context, None, 24.0), net.eval()(x, timesteps, context, None, 24.0)
        )


def test_preset_name_and_official_kwargs_configs(net_kwargs):
    assert (
        DiT.coerce_config("Cosmos-1.0-Diffusion-7B-Text2World")
        == PRESETS["Cosmos-1.0-Diffusion-7B-Text2World"]
    )
    with pytest.raises(ValueError, match="unknown DiT preset"):
        DiT.coerce_config("Cosmos-9B")
    t2w = DiT.coerce_config(net_kwargs("t2w_tiny"))
    v2w = DiT.coerce_config(net_kwargs("v2w_tiny"))
    assert (t2w.in_channels, v2w.in_channels) == (17, 18)
    assert t2w.rope_scale == (2.0, 1.0, 1.0) and v2w.rope_scale == (2.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="unsupported"):
        DiT.coerce_config({**net_kwargs("t2w_tiny"), "block_config": "FA-MLP"})


def _torchvision_nearest_shim(monkeypatch):
    """diffusers resizes the padding mask with torchvision; without torchvision use the same op it calls.

    torchvision's tensor ``resize(..., NEAREST)`` is ``F.interpolate(mode="nearest")`` (fixture README).
    """
    import types

    from diffusers.models.transformers import transformer_cosmos

    if getattr(transformer_cosmos, "transforms", None) is not None:
        return

    def resize(tensor, size, interpolation=None):
        return torch.nn.functional.interpolate(tensor, size=tuple(size), mode="nearest")

    shim = types.SimpleNamespace(
        functional=types.SimpleNamespace(resize=resize),
        InterpolationMode=types.SimpleNamespace(NEAREST="nearest"),
    )
    monkeypatch.setattr(transformer_cosmos, "transforms", shim, raising=False)


def _diffusers_model(config: DiTConfig):
    diffusers = pytest.importorskip("diffusers")
    return diffusers.CosmosTransformer3DModel(
        in_channels=config.latent_channels + int(config.condition_mask),
        out_channels=config.out_channels,
        num_attention_heads=config.num_heads,
        attention_head_dim=config.head_dim,
        num_layers=config.num_blocks,
        mlp_ratio=config.mlp_ratio,
        text_embed_dim=config.crossattn_channels,
        adaln_lora_dim=config.adaln_lora_dim,
        max_size=config.max_size,
        patch_size=config.patch_size,
        rope_scale=config.rope_scale,
        concat_padding_mask=True,
        extra_pos_embed_type="learnable",
    )


@pytest.mark.parametrize("video2world", [False, True])
def test_diffusers_parity_through_diffusers_layout(tmp_path, monkeypatch, video2world):
    """Spec §12: diffusers' CosmosTransformer3DModel with the same random weights matches in float32."""
    config = dataclasses.replace(
        TINY, condition_mask=video2world, rope_scale=(2.0, 2.0, 2.0) if video2world else (2.0, 1.0, 1.0)
    )
    peer = _random_weights(_diffusers_model(config)).eval()
    _torchvision_nearest_shim(monkeypatch)
    peer.save_pretrained(tmp_path / "transformer")
    ours = DiT.from_pretrained(tmp_path)  # finds transformer/, reads its config.json
    assert ours.config.condition_mask == video2world
    assert set(to_diffusers(ours.state_dict())) == set(peer.state_dict())
    x, _, context = _inputs(config, batch=1)
    sigma = torch.tensor([1.7])
    timesteps = 0.25 * sigma.log()
    padding = torch.zeros(1, 1, 32, 48)
    mask = torch.zeros(1, 1, 3, 4, 6)
    mask[:, :, :1] = 1
    with torch.no_grad():
        expected = peer(
            x,
            timesteps,
            context,
            fps=24,
            condition_mask=mask if video2world else None,
            padding_mask=padding,
            return_dict=False,
        )[0]
        actual = ours(
            x, timesteps, context, None, torch.tensor([24.0]), padding, mask if video2world else None
        )
    rel = ((actual - expected).norm() / expected.norm()).item()
    assert rel < 1e-5, rel
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=2e-5)
    assert DiffusersDiTAdapter().convert(to_diffusers(ours.state_dict())).keys() == {
        k for k in ours.state_dict() if not k.startswith("logvar.")
    }
    assert (
        json.loads((tmp_path / "transformer" / "config.json").read_text())["_class_name"]
        == "CosmosTransformer3DModel"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"condition_mask": True},
        {"condition_mask": True, "camera_channels": 6},
        {"condition_mask": True, "action_dim": 7},
        {"condition_mask": True, "action_dim": 7, "action_embedding": "predict1"},
    ],
)
def test_from_base_starts_exactly_at_the_base_model(changes):
    """Post-training init (spec §11): new channels/MLPs start at zero, so outputs equal the base model's."""
    base = _random_weights(DiT(dataclasses.replace(TINY, condition_mask=False))).eval()
    grown = DiT.from_base(base, dataclasses.replace(TINY, **changes)).eval()
    x, timesteps, context = _inputs(TINY)
    mask = torch.zeros(2, 1, 3, 4, 6)
    mask[:, :, :1] = 1
    extra = {}
    if changes.get("camera_channels"):
        extra["camera"] = torch.randn(2, 6, 3, 4, 6)
    if changes.get("action_dim"):
        extra["action"] = torch.randn(2, 1, 7)
    with torch.no_grad():
        expected = base(x, timesteps, context, None, 24.0)
        actual = grown(x, timesteps, context, None, 24.0, None, mask, **extra)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="differ"):
        DiT.from_base(base, dataclasses.replace(TINY, num_blocks=3))
    with pytest.raises(ValueError, match="remove"):
        DiT.from_base(grown, dataclasses.replace(TINY, condition_mask=False))
