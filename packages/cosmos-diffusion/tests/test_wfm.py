"""DiffusionWFM end to end on CPU with tiny random models and a stand-in tokenizer."""

import dataclasses
import sys

import pytest
import torch

from cosmos.core import CheckpointError, GuardrailBlocked, ShapeError
from cosmos.diffusion import DiT, DiTConfig
from cosmos.diffusion.camera import plucker_rays
from cosmos.diffusion.wfm import DiffusionWFM, initial_noise

TINY = DiTConfig(
    latent_channels=4,
    out_channels=4,
    model_channels=32,
    num_blocks=1,
    num_heads=2,
    crossattn_channels=16,
    adaln_lora_dim=8,
)
SIZE = {"num_frames": 9, "height": 32, "width": 32, "num_steps": 3, "progress": False}


def _random(net, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in net.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) / max(1, param.shape[-1]) ** 0.5)
    return net.eval()


def _wfm(tokenizer_cls, **changes):
    return DiffusionWFM(tokenizer_cls(), _random(DiT(dataclasses.replace(TINY, **changes))))


def _text(batch=2, seed=0):
    return torch.randn(batch, 6, 16, generator=torch.Generator().manual_seed(seed))


def _video(frames=1, batch=1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, 3, frames, 32, 32, generator=generator) * 2 - 1).clamp(-1, 1)


@pytest.mark.parametrize("sampler", ["res2ab", "euler", "heun"])
def test_text2world_shapes_and_batching(standin_tokenizer, sampler):
    wfm = _wfm(standin_tokenizer)
    out = wfm.sample(text_embeddings=_text(), sampler=sampler, seed=[3, 4], **SIZE)
    assert out.shape == (2, 3, 9, 32, 32) and out.dtype == torch.float32
    assert out.min() >= -1 and out.max() <= 1
    # real batching with per-sample seeds: sample 1 alone equals sample 1 of the batch
    single = wfm.sample(text_embeddings=_text()[1:], sampler=sampler, seed=4, **SIZE)
    torch.testing.assert_close(
        out[1:], single, rtol=0, atol=1e-3
    )  # guidance 8x amplifies float32 batch noise
    assert set(wfm.timings) >= {"text", "denoise", "decode"}


def test_seed_controls_noise(standin_tokenizer):
    wfm = _wfm(standin_tokenizer)
    a = wfm.sample(text_embeddings=_text(1), seed=5, return_latent=True, **SIZE)
    b = wfm.sample(text_embeddings=_text(1), seed=5, return_latent=True, **SIZE)
    c = wfm.sample(text_embeddings=_text(1), seed=6, return_latent=True, **SIZE)
    assert torch.equal(a, b) and not torch.allclose(a, c)
    # the official arch-invariant generator (numpy RandomState)
    import numpy as np

    expected = np.random.RandomState(5).standard_normal((2, 3)).astype(np.float32)
    assert torch.equal(initial_noise(5, (2, 3)), torch.from_numpy(expected))


@pytest.mark.parametrize("num_input_frames", [1, 5])
def test_video2world_keeps_conditioning_frames(standin_tokenizer, num_input_frames):
    wfm = _wfm(standin_tokenizer, condition_mask=True)
    video = _video(frames=num_input_frames)
    out = wfm.sample(text_embeddings=_text(2), video=video, seed=1, **SIZE)
    assert out.shape == (2, 3, 9, 32, 32)
    clip = torch.zeros(1, 3, 9, 32, 32)
    clip[:, :, :num_input_frames] = video
    round_trip = wfm.tokenizer.decode(wfm.tokenizer.encode(clip))
    for b in range(2):
        torch.testing.assert_close(
            out[b : b + 1, :, :num_input_frames], round_trip[:, :, :num_input_frames], rtol=0, atol=1e-5
        )
    # the generated frames differ from the zero padding the clip was encoded with
    assert not torch.allclose(
        out[:, :, num_input_frames:], round_trip[:, :, num_input_frames:].expand(2, -1, -1, -1, -1)
    )


def test_video2world_takes_last_frames_and_resizes(standin_tokenizer):
    wfm = _wfm(standin_tokenizer, condition_mask=True)
    long_video = _video(frames=7, seed=2)
    a = wfm.sample(text_embeddings=_text(1), video=long_video, num_input_frames=1, seed=1, **SIZE)
    b = wfm.sample(text_embeddings=_text(1), video=long_video[:, :, -1:], seed=1, **SIZE)
    torch.testing.assert_close(a, b)
    small = torch.nn.functional.interpolate(long_video[:, :, -1], size=(16, 16), mode="bilinear")[:, :, None]
    assert wfm.sample(text_embeddings=_text(1), video=small, seed=1, **SIZE).shape == (1, 3, 9, 32, 32)


def test_action_conditioning_changes_output(standin_tokenizer):
    wfm = _wfm(standin_tokenizer, condition_mask=True, action_dim=7, action_frames=1)
    video = _video()
    actions = torch.randn(2, 1, 7, generator=torch.Generator().manual_seed(0))
    text = _text(1).expand(2, -1, -1)
    out = wfm.sample(text_embeddings=text, video=video, action=actions, seed=[1, 1], guidance=0, **SIZE)
    assert out.shape == (2, 3, 9, 32, 32)
    # same seed and text, different actions -> different futures; shared action broadcasts
    assert not torch.allclose(out[0], out[1])
    shared = wfm.sample(text_embeddings=text, video=video, action=actions[0], seed=[1, 1], guidance=0, **SIZE)
    torch.testing.assert_close(shared[0], shared[1])
    with pytest.raises(ShapeError, match="action must be"):
        wfm.sample(text_embeddings=_text(2), video=video, action=torch.zeros(2, 6), **SIZE)
    with pytest.raises(ShapeError, match="action-conditioned"):
        wfm.sample(text_embeddings=_text(2), video=video, **SIZE)
    with pytest.raises(ShapeError, match="NaN"):
        wfm.sample(text_embeddings=_text(2), video=video, action=torch.full((2, 1, 7), float("nan")), **SIZE)


def test_released_action_layer_takes_any_number_of_actions(standin_tokenizer):
    """The released ("predict1") layer reads only the first action vector; longer sequences are accepted."""
    wfm = _wfm(
        standin_tokenizer,
        condition_mask=True,
        action_dim=7,
        action_embedding="predict1",
        extra_pos_embed=False,
    )
    actions = torch.randn(1, 4, 7, generator=torch.Generator().manual_seed(0))
    kwargs = {"text_embeddings": _text(1), "video": _video(), "seed": 1, "guidance": 0, **SIZE}
    out = wfm.sample(action=actions, **kwargs)
    torch.testing.assert_close(wfm.sample(action=actions[:, :1], **kwargs), out)
    assert not torch.allclose(wfm.sample(action=-actions, **kwargs), out)


def test_camera_conditioning(standin_tokenizer):
    wfm = _wfm(standin_tokenizer, condition_mask=True, camera_channels=6)
    intrinsics = torch.tensor([[8.0, 0, 4], [0, 8.0, 4], [0, 0, 1]]).expand(1, 3, 3, 3)
    poses = torch.eye(4).repeat(1, 3, 1, 1)
    poses[0, :, 0, 3] = torch.tensor([0.0, 0.1, 0.2])  # dolly along x
    rays = plucker_rays(intrinsics, poses, 8, 8)
    assert rays.shape == (1, 6, 3, 8, 8)
    torch.testing.assert_close(rays[:, 3:].norm(dim=1), torch.ones(1, 3, 8, 8))  # moment first, then unit d
    torch.testing.assert_close(
        (rays[:, :3] * rays[:, 3:]).sum(dim=1), torch.zeros(1, 3, 8, 8), atol=1e-6, rtol=0
    )  # d . m = 0
    out = wfm.sample(text_embeddings=_text(1), video=_video(), camera=rays, seed=1, **SIZE)
    assert out.shape == (1, 3, 9, 32, 32)
    with pytest.raises(ShapeError, match="camera"):
        wfm.sample(text_embeddings=_text(1), video=_video(), camera=rays[:, :, :2], **SIZE)


def test_bad_input_errors(standin_tokenizer):
    wfm = _wfm(standin_tokenizer)
    with pytest.raises(ShapeError, match="num_frames=8"):
        wfm.sample(text_embeddings=_text(1), **{**SIZE, "num_frames": 8})
    with pytest.raises(ShapeError, match="multiples of 4"):
        wfm.sample(text_embeddings=_text(1), **{**SIZE, "height": 30})
    with pytest.raises(ShapeError, match="patch size"):
        wfm.sample(text_embeddings=_text(1), **{**SIZE, "height": 36})
    with pytest.raises(ValueError, match="exactly one of prompt and text_embeddings"):
        wfm.sample("a prompt", text_embeddings=_text(1), **SIZE)
    with pytest.raises(ValueError, match="exactly one of prompt and text_embeddings"):
        wfm.sample(**SIZE)
    with pytest.raises(ValueError, match="no text encoder"):
        wfm.sample("a prompt", **SIZE)
    with pytest.raises(ShapeError, match="NaN"):
        wfm.sample(text_embeddings=torch.full((1, 6, 16), float("nan")), **SIZE)
    with pytest.raises(ShapeError, match=r"\[B, S, 16\]"):
        wfm.sample(text_embeddings=torch.zeros(1, 6, 8), **SIZE)
    with pytest.raises(ValueError, match="unknown sampler"):
        wfm.sample(text_embeddings=_text(1), sampler="ddim", **{k: v for k, v in SIZE.items()})
    with pytest.raises(ShapeError, match="Text2World"):
        wfm.sample(text_embeddings=_text(1), video=_video(), **SIZE)
    v2w = _wfm(standin_tokenizer, condition_mask=True)
    with pytest.raises(ShapeError, match="Video2World model"):
        v2w.sample(text_embeddings=_text(1), **SIZE)
    with pytest.raises(ShapeError, match="cannot be tokenized"):
        v2w.sample(text_embeddings=_text(1), video=_video(frames=3), **SIZE)
    nan_video = _video()
    nan_video[0, 0, 0, 0, 0] = float("nan")
    with pytest.raises(ShapeError):
        v2w.sample(text_embeddings=_text(1), video=nan_video, **SIZE)
    with pytest.raises(ValueError, match="seeds"):
        wfm.sample(text_embeddings=_text(2), seed=[1], **SIZE)
    with pytest.raises(ShapeError, match="latent channels"):
        DiffusionWFM(standin_tokenizer(latent_channels=8), DiT(TINY))
    with pytest.raises(TypeError, match="VideoTokenizer"):
        DiffusionWFM(object(), DiT(TINY))


def test_save_and_load_round_trip(standin_tokenizer, tmp_path):
    wfm = _wfm(standin_tokenizer)
    with pytest.raises(CheckpointError, match="tokenizer_name"):
        wfm.save_pretrained(tmp_path / "wfm")  # a tokenizer that cannot save itself needs a name to refer to
    wfm.save_pretrained(tmp_path / "wfm", tokenizer_name="standin")
    loaded = DiffusionWFM.from_pretrained(tmp_path / "wfm", tokenizer=standin_tokenizer())
    assert loaded.tokenizer_name == "standin" and loaded.chunk_frames == wfm.chunk_frames
    a = wfm.sample(text_embeddings=_text(1), seed=2, **SIZE)
    b = loaded.sample(text_embeddings=_text(1), seed=2, **SIZE)
    torch.testing.assert_close(a, b)


def test_callback_and_guidance(standin_tokenizer):
    wfm = _wfm(standin_tokenizer)
    seen = []
    wfm.sample(text_embeddings=_text(1), callback=seen.append, **SIZE)
    assert len(seen) == SIZE["num_steps"] + 1 and seen[0]["sigma"].item() == pytest.approx(80.0)
    plain = wfm.sample(text_embeddings=_text(1), guidance=0, seed=1, **SIZE)
    guided = wfm.sample(text_embeddings=_text(1), guidance=7, seed=1, **SIZE)
    assert not torch.allclose(plain, guided)


def test_with_cosmos_causal_video_tokenizer():
    """The WFM takes the real CausalVideoTokenizer (tiny random CV) with latent statistics."""
    tokenizer_module = pytest.importorskip("cosmos.tokenizer")
    config = tokenizer_module.TokenizerConfig(
        kind="CV",
        channels=4,
        channels_mult=(2, 4, 4),
        num_res_blocks=1,
        z_channels=8,
        latent_channels=16,
        patch_size=4,
        spatial_compression=8,
        temporal_compression=8,
    )
    torch.manual_seed(0)
    tokenizer = tokenizer_module.CausalVideoTokenizer(config).eval()
    generator = torch.Generator().manual_seed(1)
    tokenizer.latent_statistics = tokenizer_module.LatentStatistics(
        torch.randn(16, 16, generator=generator) * 0.1, torch.rand(16, 16, generator=generator) + 0.5
    )
    net = _random(DiT(dataclasses.replace(TINY, latent_channels=16, out_channels=16, condition_mask=True)))
    wfm = DiffusionWFM(tokenizer, net)
    assert wfm.latent_statistics is tokenizer.latent_statistics
    size = {"num_frames": 9, "height": 32, "width": 32, "num_steps": 2, "progress": False}
    video = _video()
    out = wfm.sample(text_embeddings=_text(1), video=video, seed=1, **size)
    assert out.shape == (1, 3, 9, 32, 32)
    clip = torch.zeros(1, 3, 9, 32, 32)
    clip[:, :, :1] = video
    round_trip = wfm.decode(wfm.encode(clip))
    torch.testing.assert_close(out[:, :, :1], round_trip[:, :, :1], rtol=0, atol=1e-4)
    with pytest.raises(ShapeError, match="num_frames=8"):
        wfm.sample(text_embeddings=_text(1), video=video, **{**size, "num_frames": 8})


def test_from_pretrained_official_and_diffusers_layouts(
    official_folder, net_kwargs, tensors, standin_tokenizer, tmp_path
):
    """NVIDIA's model.pt folder and a diffusers pipeline folder (transformer/) load into the WFM."""
    data = tensors("t2w_tiny.net.safetensors")
    args = [
        data[k]
        for k in (
            "in.x",
            "in.timesteps",
            "in.crossattn_emb",
            "in.crossattn_mask",
            "in.fps",
            "in.padding_mask",
        )
    ]
    tokenizer = standin_tokenizer(latent_channels=16)
    wfm = DiffusionWFM.from_pretrained(
        official_folder("t2w_tiny", "model.pt"), config=net_kwargs("t2w_tiny"), tokenizer=tokenizer
    )
    with torch.no_grad():
        torch.testing.assert_close(wfm.net(*args), data["out.x"], rtol=1e-4, atol=2e-5)
    from safetensors.torch import save_file

    from cosmos.diffusion.checkpoints import to_diffusers

    (tmp_path / "pipe" / "transformer").mkdir(parents=True)
    save_file(
        {k: v.contiguous() for k, v in to_diffusers(wfm.net.state_dict()).items()},
        str(tmp_path / "pipe" / "transformer" / "diffusion_pytorch_model.safetensors"),
    )
    config = wfm.net.config
    import json

    (tmp_path / "pipe" / "transformer" / "config.json").write_text(
        json.dumps(
            {
                "_class_name": "CosmosTransformer3DModel",
                "in_channels": 16,
                "out_channels": 16,
                "num_attention_heads": config.num_heads,
                "attention_head_dim": config.head_dim,
                "num_layers": config.num_blocks,
                "mlp_ratio": 4.0,
                "text_embed_dim": 32,
                "adaln_lora_dim": config.adaln_lora_dim,
                "max_size": [128, 240, 240],
                "patch_size": [1, 2, 2],
                "rope_scale": [2.0, 1.0, 1.0],
                "concat_padding_mask": True,
                "extra_pos_embed_type": "learnable",
            }
        )
    )
    from_diffusers = DiffusionWFM.from_pretrained(tmp_path / "pipe", tokenizer=tokenizer)
    with torch.no_grad():
        torch.testing.assert_close(from_diffusers.net(*args), data["out.x"], rtol=1e-4, atol=2e-5)


def test_finds_nvidia_sibling_tokenizer_folder(tmp_path, net_kwargs, monkeypatch):
    """NVIDIA's checkpoint layout: <dir>/Cosmos-1.0-Diffusion-*/model.pt beside <dir>/Cosmos-1.0-Tokenizer-CV8x8x8/."""
    import shutil

    from cosmos.core.testing import fixture_path

    tokenizer_module = pytest.importorskip("cosmos.tokenizer")
    config = tokenizer_module.TokenizerConfig(
        kind="CV",
        channels=4,
        channels_mult=(2, 4, 4),
        num_res_blocks=1,
        z_channels=8,
        latent_channels=16,
        patch_size=4,
        spatial_compression=8,
        temporal_compression=8,
    )
    tokenizer_module.CausalVideoTokenizer(config).save_pretrained(tmp_path / "Cosmos-1.0-Tokenizer-CV8x8x8")
    (tmp_path / "my-t2w").mkdir()
    shutil.copy(fixture_path("diffusion", "t2w_tiny.model.pt"), tmp_path / "my-t2w" / "model.pt")
    wfm = DiffusionWFM.from_pretrained(tmp_path / "my-t2w", config=net_kwargs("t2w_tiny"))
    assert isinstance(wfm.tokenizer, tokenizer_module.CausalVideoTokenizer)
    assert wfm.nvidia_checkpoint
    inputs = {"text_embeddings": torch.randn(1, 8, 32), "num_frames": 9, "height": 32, "width": 32}
    monkeypatch.setitem(sys.modules, "cosmos.guard", None)  # cosmos-guard not installed
    with pytest.raises(GuardrailBlocked, match="must run with the guardrail"):
        wfm.sample(num_steps=1, progress=False, **inputs)  # NVIDIA weights fail closed without the guard
    out = wfm.sample(num_steps=1, progress=False, guardrail=None, **inputs)  # explicit opt-out
    assert out.shape == (1, 3, 9, 32, 32)


def test_input_frames_guidance_option(standin_tokenizer):
    wfm = _wfm(standin_tokenizer, condition_mask=True)
    common = {"text_embeddings": _text(1), "video": _video(), "seed": 1, "return_latent": True, **SIZE}
    plain = wfm.sample(**common)
    frames_guided = wfm.sample(input_frames_guidance=True, **common)
    assert not torch.allclose(plain, frames_guided)
    torch.testing.assert_close(plain[:, :, :1], frames_guided[:, :, :1])  # conditioning frame kept either way


def test_guardrail_checks_prompts_first_and_pixelates_outputs(standin_tokenizer):
    class Guard:
        def __init__(self):
            self.prompts = []

        def check_text(self, prompt, negative_prompt=None):
            self.prompts.append(prompt)
            return dataclasses.make_dataclass("R", ["allowed", "reason"])(
                "forbidden" not in prompt, "keyword"
            )

        def check_video(self, frames):
            edited = frames.copy()
            edited[:, 0, 0] = 0  # the guard's edit: one black pixel per frame
            return dataclasses.make_dataclass("R", ["allowed", "reason", "frames"])(True, "ok", edited)

    class Encoder:
        def encode(self, prompts):
            return torch.ones(len(prompts), 6, 16)

    wfm = _wfm(standin_tokenizer, condition_mask=True)
    wfm.text_encoder = Encoder()
    guard = Guard()
    common = {"video": _video(), "seed": 1, **SIZE}
    with pytest.raises(GuardrailBlocked, match="prompt 0 blocked"):
        wfm.sample("something forbidden", guardrail=guard, **common)
    guarded = wfm.sample("a robot arm", guardrail=guard, **common)
    plain = wfm.sample("a robot arm", guardrail=None, **common)
    assert guard.prompts == ["something forbidden", "a robot arm"]
    assert torch.equal(guarded[..., 0, 0], torch.full_like(guarded[..., 0, 0], -1.0))
    assert torch.equal(guarded[..., 1:, :], plain[..., 1:, :])
