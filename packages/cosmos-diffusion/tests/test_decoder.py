"""The AR diffusion decoder against NVIDIA's reference (fixture README §5, ``diffusion_decoder.md``).

Public path only: ``DiffusionDecoderDiT.from_pretrained(folder, config=net_kwargs)``,
``net(..., latent_condition=ids)``, ``Conditioning(latent_condition=...)`` through ``denoise`` /
``guided_denoiser``, ``decoder_token_chunks``, ``blend_decoded_chunks`` and ``decode_tokens``.
"""

import shutil

import pytest
import torch

from cosmos.core import CheckpointError, ShapeError
from cosmos.core.testing import fixture_path
from cosmos.diffusion import (
    DiffusionDecoderConfig,
    DiffusionDecoderDiT,
    DiT,
    blend_decoded_chunks,
    decoder_token_chunks,
)
from cosmos.diffusion.checkpoints import to_official
from cosmos.diffusion.decoder import decode_tokens, decoder_conditionings, decoder_initial_noise
from cosmos.diffusion.denoiser import denoise, guided_denoiser

NET = {"rtol": 1e-4, "atol": 2e-5, "rel_l2": 1e-5}
GUIDED = {"rtol": 1e-4, "atol": 1e-4, "rel_l2": 2e-5}
SAMPLE = {"rtol": 1e-3, "atol": 5e-4, "rel_l2": 5e-5}


@pytest.fixture(scope="module")
def decoder_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decoder_official")
    shutil.copy(fixture_path("diffusion", "decoder_tiny.weights.safetensors"), folder / "model.safetensors")
    return folder


@pytest.fixture(scope="module")
def decoder(decoder_folder, net_kwargs):
    return DiffusionDecoderDiT.from_pretrained(decoder_folder, config=net_kwargs("decoder_tiny"))


def _net_args(data):
    keys = ("in.x", "in.timesteps", "in.crossattn_emb", "in.crossattn_mask", "in.fps", "in.padding_mask")
    return [data[k] for k in keys]


def test_config_from_official_kwargs(net_kwargs):
    config = DiffusionDecoderDiT.coerce_config(net_kwargs("decoder_tiny"))
    assert isinstance(config, DiffusionDecoderConfig)
    assert (config.token_vocab_size, config.token_dim, config.in_channels) == (1024, 32, 49)
    assert config.rope_scale == (1.0, 1.5, 1.5) and not config.extra_pos_embed
    released = DiffusionDecoderDiT.coerce_config("Cosmos-1.0-Diffusion-7B-Decoder-DV8x16x16ToCV8x8x8")
    assert (released.token_vocab_size, released.model_channels, released.in_channels) == (64000, 4096, 49)
    with pytest.raises(ValueError, match="DiffusionDecoderDiT"):
        DiT.coerce_config(net_kwargs("decoder_tiny"))
    with pytest.raises(ValueError, match="use DiT"):
        DiffusionDecoderDiT.coerce_config(net_kwargs("t2w_tiny"))


def test_net_forward_and_intermediates(decoder, tensors, check):
    data = tensors("decoder_tiny.net.safetensors")
    ids = data["in.latent_condition"]
    x, timesteps, context, _, fps, padding_mask = _net_args(data)
    with torch.no_grad():
        check(decoder(*_net_args(data), latent_condition=ids), data["out.x"], **NET, name="out.x")
        check(decoder.token_embed(ids.long()), data["mid.token_embedding"], **NET, name="token_embedding")
        condition = decoder.token_condition(ids, x.shape[-2:])
        check(condition, data["mid.token_condition"], **NET, name="token_condition")
        x_in = decoder.concat_input_channels(x, padding_mask, ids)
        assert x_in.shape[1] == 49
        tokens = decoder.patch_embed(decoder.patchify(x_in))
        check(tokens, data["mid.patch_embed_out"], **NET, name="patch_embed_out")
        sinusoid, emb, adaln_lora = decoder.time_conditioning(timesteps)
        check(adaln_lora, data["mid.adaln_lora"], **NET, name="adaln_lora")
        check(emb, data["mid.affline_emb"], **NET, name="affline_emb")
        grid = tuple(tokens.shape[1:4])
        cos, sin = decoder.rope(grid, fps, x.device)
        angles = data["mid.rope_angles"]
        check(torch.atan2(sin, cos), torch.atan2(angles.sin(), angles.cos()), rtol=0, atol=1e-5, name="rope")
        h = tokens.reshape(x.shape[0], -1, decoder.config.model_channels)
        for index, block in enumerate(decoder.blocks):
            h = block(h, emb, adaln_lora, context, (cos, sin), None)
            check(
                h.reshape(x.shape[0], *grid, -1), data[f"mid.block{index}_out"], **NET, name=f"block{index}"
            )


def test_token_chunks_and_blend(tensors):
    data = tensors("decoder_tiny.prep.safetensors")
    for name in ("T5", "T12"):
        chunks = decoder_token_chunks(data[f"in.{name}.indices"])
        assert torch.equal(chunks, data[f"out.{name}.chunks"]), name
        expected = data[f"out.{name}.video01"]
        video = blend_decoded_chunks(data[f"in.{name}.decoded_chunks"], num_frames=expected.shape[1])
        torch.testing.assert_close((1 + video) / 2, expected, rtol=0, atol=0)


def test_token_chunks_reject_bad_grids():
    with pytest.raises(ShapeError, match="reflect"):
        decoder_token_chunks(torch.zeros(10, 3, 4, dtype=torch.int64))  # the reference fails here too
    with pytest.raises(ShapeError, match="more than 2"):
        decoder_token_chunks(torch.zeros(2, 3, 4, dtype=torch.int64))
    with pytest.raises(ShapeError, match="integer"):
        decoder_token_chunks(torch.zeros(5, 3, 4))
    with pytest.raises(ShapeError, match="T_tok"):
        decoder_token_chunks(torch.zeros(1, 5, 3, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\[0, 64000\)"):
        decoder_token_chunks(torch.full((5, 3, 4), 64000))
    with pytest.raises(ValueError, match=r"\[0, 1024\)"):
        decoder_token_chunks(torch.full((5, 3, 4), -1), vocab_size=1024)
    assert decoder_token_chunks(torch.zeros(13, 2, 2, dtype=torch.int64)).shape == (2, 1, 8, 2, 2)


def test_net_rejects_mismatched_token_grid(decoder, tensors):
    data = tensors("decoder_tiny.net.safetensors")
    ids = data["in.latent_condition"]
    with pytest.raises(ShapeError, match="latent_condition"):
        decoder(*_net_args(data), latent_condition=ids[:, :, :4])
    with pytest.raises(TypeError):
        decoder(*_net_args(data))  # the ids are required


def test_denoise_and_guidance(decoder, tensors, check):
    data = tensors("decoder_tiny.denoise.safetensors")
    ids = data["in.video"]
    assert torch.equal(ids.int(), data["mid.latent_condition"])
    cond, uncond = decoder_conditionings(
        ids, data["in.t5_text_embeddings"], padding_mask=data["in.padding_mask"]
    )
    assert torch.equal(uncond.latent_condition.int(), data["mid.uncond.net_in_latent_condition"])
    x_t, sigma = data["in.x_t"], data["in.sigma"]
    with torch.no_grad():
        x0, logvar = denoise(decoder, x_t, sigma, cond, return_logvar=True)
        check(x0, data["out.cond.x0"], **NET, name="cond.x0")
        check(logvar, data["out.cond.logvar"], **NET, name="cond.logvar")
        check((x_t - x0) / sigma.reshape(-1, 1, 1, 1, 1), data["out.cond.eps"], **NET, name="cond.eps")
        check(denoise(decoder, x_t, sigma, uncond), data["out.uncond.x0"], **NET, name="uncond.x0")
        guided = guided_denoiser(decoder, cond, uncond, float(data["in.guidance"]))(x_t, sigma)
        check(guided, data["out.guided.x0"], **GUIDED, name="guided.x0")


def test_decode_tokens_reproduces_official_sampling(decoder, tensors, check):
    """decode_tokens end to end: chunking, seeded torch noise, 1.8 guidance, RES-2ab with sigma_min 0.02."""
    data = tensors("decoder_tiny.sample.safetensors")
    assert torch.equal(decoder_initial_noise(1, tuple(data["in.x_sigma_max"].shape)), data["in.x_sigma_max"])
    latents, trace = [], []

    def decode_latent(latent):  # stand-in CV decoder: 8 latent frames -> 57 pixel frames
        latents.append(latent)
        return latent[:, :3].repeat_interleave(8, dim=2)[:, :, :57].tanh()

    indices = data["in.video"][0, 0]  # one full 8-frame window
    with torch.no_grad():
        video = decode_tokens(
            decoder, indices, data["in.t5_text_embeddings"], decode_latent, num_steps=5, callback=trace.append
        )
    check(latents[0], data["out.sample"], **SAMPLE, name="out.sample")
    check(torch.stack([t["x"] for t in trace]), data["trace.x"], **SAMPLE, name="trace.x")
    check(torch.stack([t["x0"] for t in trace]), data["trace.x0"], **SAMPLE, name="trace.x0")
    assert video.shape == (3, 1 + 8 * 7, 6, 8)  # the stand-in decoder keeps the latent size


def test_decode_tokens_blends_several_chunks(decoder):
    frames_seen = []

    def decode_latent(latent):
        frames_seen.append(latent.shape)
        return torch.zeros(1, 3, 57, 2 * latent.shape[-2], 2 * latent.shape[-1])

    indices = torch.randint(0, 1024, (12, 3, 4))
    with torch.no_grad():
        video = decode_tokens(decoder, indices, torch.zeros(1, 4, 32), decode_latent, num_steps=1)
    assert frames_seen == [(1, 16, 8, 6, 8)] * 2
    assert video.shape == (3, 89, 12, 16)
    with pytest.raises(ValueError, match="token ids"):
        decode_tokens(decoder, torch.full((5, 3, 4), 1024), torch.zeros(1, 4, 32), decode_latent)


def test_official_roundtrip_and_our_layout(decoder, tmp_path):
    folder = tmp_path / "official"
    folder.mkdir()
    from safetensors.torch import save_file

    save_file(
        {k: v.contiguous() for k, v in to_official(decoder.state_dict()).items()},
        folder / "model.safetensors",
    )
    again = DiffusionDecoderDiT.from_pretrained(folder, config=decoder.config)
    ours = again.save_pretrained(tmp_path / "ours")
    loaded = DiffusionDecoderDiT.from_pretrained(ours)
    assert loaded.config == decoder.config
    for key, value in decoder.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    with pytest.raises(CheckpointError, match="DiffusionDecoderDiT"):
        DiT.from_pretrained(ours)


def test_strict_loading_lists_missing_token_table(decoder_folder, net_kwargs, tmp_path):
    from safetensors.torch import load_file, save_file

    state = load_file(decoder_folder / "model.safetensors")
    del state["net.token_embedder.weight"]
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="token_embed"):
        DiffusionDecoderDiT.from_pretrained(tmp_path, config=net_kwargs("decoder_tiny"))


def test_token_decoder_for_ar_models(decoder, standin_tokenizer):
    """DiffusionTokenDecoder.decode(TokenGrid) -> pixels, the call an AR world model makes instead of the DV
    decoder (token grid h x w -> latent 2h x 2w -> pixels 16h x 16w)."""
    from cosmos.core import TokenGrid
    from cosmos.diffusion.decoder import DiffusionTokenDecoder

    tokenizer = standin_tokenizer(temporal_compression=8, spatial_compression=8, latent_channels=16)
    token_decoder = DiffusionTokenDecoder(decoder, tokenizer, num_steps=1)
    grid = TokenGrid(torch.randint(0, 1024, (2, 5, 3, 4)), 1024, 8, 16)
    with torch.no_grad():
        video = token_decoder.decode(grid)
    assert video.shape == (2, 3, 33, 48, 64)
    assert video.abs().max() <= 1
    with pytest.raises(ValueError, match="token ids"):
        token_decoder.decode(torch.full((1, 5, 3, 4), 5000))
    with pytest.raises(ShapeError, match="T_tok"):
        token_decoder.decode(torch.zeros(1, 10, 3, 4, dtype=torch.int64))
