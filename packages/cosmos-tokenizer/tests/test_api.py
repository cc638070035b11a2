"""Public API behaviour: protocol, padding, chunked encode/decode, save/load, NVIDIA and diffusers layouts."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from cosmos.core import Latent, TokenGrid, VideoTokenizer
from cosmos.core.testing import assert_close, load_fixture_tensors
from cosmos.tokenizer import (
    CausalVideoTokenizer,
    ImageTokenizer,
    LatentStatistics,
    PaddedLatent,
    PaddedTokenGrid,
    load_tokenizer,
)
from cosmos.tokenizer.checkpoints import diffusers_name

from .conftest import load_fixture_model, tiny_image_config, tiny_video_config


@pytest.fixture(scope="module")
def cv():
    torch.manual_seed(0)
    return CausalVideoTokenizer(tiny_video_config("CV")).eval()


@pytest.fixture(scope="module")
def dv():
    torch.manual_seed(1)
    return CausalVideoTokenizer(tiny_video_config("DV", spatial=16)).eval()


def test_protocol_and_shapes(cv, dv):
    ci = ImageTokenizer(tiny_image_config("CI"))
    for model in (cv, dv, ci):
        assert isinstance(model, VideoTokenizer)
    assert cv.latent_shape(17, 32, 48) == (3, 4, 6)
    assert dv.latent_shape(17, 32, 48) == (3, 2, 3)
    assert cv.latent_shape(10, 30, 30, pad=True) == (3, 4, 4)
    assert cv.valid_num_frames(1) and cv.valid_num_frames(17) and not cv.valid_num_frames(16)
    assert ci.latent_shape(5, 32, 48) == (5, 4, 6) and ci.valid_num_frames(4)


def test_single_image_through_video_tokenizer(cv, random_video):
    video = random_video(frames=1, height=16, width=24)
    latent = cv.encode(video)
    assert latent.z.shape == (1, 16, 1, 2, 3)
    assert cv.decode(latent).shape == video.shape


def test_discrete_outputs(dv, random_video):
    tokens = dv.encode(random_video(frames=9, height=32, width=32))
    assert isinstance(tokens, TokenGrid)
    assert tokens.indices.shape == (1, 2, 2, 2) and tokens.indices.dtype == torch.int64
    assert tokens.codes.shape == (1, 6, 2, 2, 2) and tokens.vocab_size == 64000
    assert torch.equal(dv.quantizer.indices_to_codes(tokens.indices), tokens.codes)
    assert_close(dv.decode(tokens), dv.decode(tokens.indices), atol=0, name="TokenGrid vs index grid")


def test_pad_and_crop_back(cv, dv, random_video):
    video = random_video(frames=11, height=20, width=27)
    latent = cv.encode(video, pad=True)
    assert isinstance(latent, PaddedLatent) and latent.original_size == (11, 20, 27)
    assert latent.z.shape == (1, 16, 3, 3, 4)
    assert cv.decode(latent).shape == video.shape
    padded = cv.pad_video(video)
    assert padded.shape == (1, 3, 17, 24, 32)
    # frames are padded at the end, so the causal prefix is untouched
    assert_close(padded[:, :, :11, 2:22, 2:29], video, atol=0, name="padded content")
    tokens = dv.encode(video, pad=True)
    assert isinstance(tokens, PaddedTokenGrid) and dv.decode(tokens).shape == video.shape
    # already-valid sizes give plain latents
    assert type(cv.encode(random_video(frames=9, height=16, width=16), pad=True)) is Latent


def test_chunked_equals_one_pass_within_one_window(cv, random_video):
    video = random_video(frames=17, height=16, width=16)
    one_pass = cv.encode(video).z
    for streaming in (True, False):
        assert_close(
            cv.encode(video, chunk_size=17, streaming=streaming).z, one_pass, atol=0, name="one chunk"
        )
        assert_close(
            cv.encode(video, chunk_size=33, streaming=streaming).z, one_pass, atol=0, name="long chunk"
        )


def test_streaming_chunks_equal_one_pass(cv, dv, random_video):
    video = random_video(frames=33, height=16, width=16)
    latent = cv.encode(video)
    for chunk in (9, 17, 25):
        chunked = cv.encode(video, chunk_size=chunk, progress=False)
        assert_close(chunked.z, latent.z, atol=1e-5, name=f"encode chunk {chunk}")
        assert_close(
            cv.decode(latent, chunk_size=chunk), cv.decode(latent), atol=1e-5, name=f"decode chunk {chunk}"
        )
    tokens = dv.encode(random_video(frames=33, height=32, width=32))
    streamed = dv.encode(random_video(frames=33, height=32, width=32), chunk_size=9)
    assert torch.equal(streamed.indices, tokens.indices)
    assert_close(dv.decode(tokens, chunk_size=9), dv.decode(tokens), atol=1e-5, name="DV decode")


def test_independent_windows(cv, random_video):
    """streaming=False: windows share one frame; the first window is exact, later ones restart the context."""
    video = random_video(frames=33, height=16, width=16)
    one_pass = cv.encode(video).z
    chunked = cv.encode(video, chunk_size=9, streaming=False).z
    assert chunked.shape == one_pass.shape
    assert_close(chunked[:, :, :2], one_pass[:, :, :2], atol=1e-6, name="first window")
    # window 2 covers frames 8..16 (sharing frame 8 with window 1) and gives latent frame 2
    window = cv.encode(video[:, :, 8:17]).z
    assert_close(chunked[:, :, 2:3], window[:, :, 1:], atol=1e-6, name="second window")
    decoded = cv.decode(chunked, chunk_size=9, streaming=False)
    assert decoded.shape == video.shape
    assert_close(decoded[:, :, :9], cv.decode(chunked[:, :, :2]), atol=1e-6, name="first decode window")
    assert_close(
        decoded[:, :, 25:], cv.decode(chunked[:, :, 3:5])[:, :, 1:], atol=1e-6, name="last decode window"
    )


def test_chunked_discrete_independent_windows(dv, random_video):
    video = random_video(frames=25, height=16, width=16)
    full = dv.encode(video)
    chunked = dv.encode(video, chunk_size=9, streaming=False)
    assert chunked.indices.shape == full.indices.shape
    assert torch.equal(chunked.indices[:, :2], full.indices[:, :2])
    assert dv.decode(chunked, chunk_size=9, streaming=False).shape == video.shape


def test_image_tokenizer_on_images_and_videos(random_video):
    model = ImageTokenizer(tiny_image_config("DI")).eval()
    video = random_video(batch=2, frames=3, height=16, width=24)
    tokens = model.encode(video, chunk_size=2)
    assert tokens.indices.shape == (2, 3, 2, 3) and tokens.codes.shape == (2, 6, 3, 2, 3)
    frame = model.encode(video[:, :, 1])
    assert torch.equal(frame.indices, tokens.indices[:, 1])
    assert model.decode(tokens).shape == video.shape
    assert model.decode(frame.indices).shape == (2, 3, 16, 24)
    padded = model.encode(video[:, :, 0, :15, :20], pad=True)
    assert model.decode(padded).shape == (2, 3, 15, 20)


def test_save_and_load_our_layout(tmp_path, cv, random_video):
    cv.latent_statistics = LatentStatistics(torch.randn(16, 4), torch.rand(16, 4) + 0.5)
    folder = cv.save_pretrained(tmp_path / "ours")
    cv.latent_statistics = None
    assert json.loads((folder / "config.json").read_text())["model_type"] == "CausalVideoTokenizer"
    loaded = CausalVideoTokenizer.from_pretrained(folder)
    assert loaded.config == cv.config and loaded.latent_statistics is not None
    video = random_video(frames=9, height=16, width=16)
    assert_close(loaded.encode(video).z, cv.encode(video).z, atol=0, name="reloaded")
    assert type(load_tokenizer(folder)) is CausalVideoTokenizer
    bf16 = CausalVideoTokenizer.from_pretrained(folder, dtype=torch.bfloat16)
    assert bf16.dtype == torch.bfloat16 and bf16.encode(video).z.dtype == torch.bfloat16


def test_model_pt_and_mean_std(tmp_path):
    reference, meta = load_fixture_model("cv8x8x8", tmp_path)
    state_dict = {f"network.{k}": v for k, v in reference.state_dict().items()}
    state_dict["network.encoder.patcher3d.wavelets"] = torch.tensor([0.7071, 0.7071])
    folder = tmp_path / "Cosmos-Tokenize1-like"
    folder.mkdir()
    torch.save(
        {"model": state_dict, "optimizer": {"state": {}}, "iteration": torch.tensor(5)}, folder / "model.pt"
    )
    mean, std = torch.randn(256), torch.rand(256) + 0.5
    torch.save((mean, std), folder / "mean_std.pt")
    model = CausalVideoTokenizer.from_pretrained(folder, config=meta["config"])
    x = load_fixture_tensors("tokenizer", "cv8x8x8.tensors.safetensors")["x"]
    assert_close(model.encode(x).z, reference.encode(x).z, atol=0, name="model.pt")
    stats = model.latent_statistics
    assert stats.mean.shape == (16, 16) and stats.mean[3, 5] == mean[3 * 16 + 5]
    z = torch.randn(1, 16, 3, 2, 2)
    assert_close(stats.denormalize(stats.normalize(z)), z, atol=1e-5, name="normalize round trip")


class _JitHolder(torch.nn.Module):
    def __init__(self, parts):
        super().__init__()
        for name, module in parts.items():
            setattr(self, name, module)

    def forward(self, x):
        return x


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_jit_encoder_decoder_files(tmp_path):
    reference, meta = load_fixture_model("dv8x16x16", tmp_path)
    folder = tmp_path / "jit"
    folder.mkdir()
    example = torch.zeros(1)
    encoder = _JitHolder({"encoder": reference.encoder, "quant_conv": reference.quant_conv})
    decoder = _JitHolder({"post_quant_conv": reference.post_quant_conv, "decoder": reference.decoder})
    torch.jit.save(torch.jit.trace(encoder, example), str(folder / "encoder.jit"))
    torch.jit.save(torch.jit.trace(decoder, example), str(folder / "decoder.jit"))
    model = CausalVideoTokenizer.from_pretrained(folder, config=meta["config"])
    x = load_fixture_tensors("tokenizer", "dv8x16x16.tensors.safetensors")["x"]
    assert torch.equal(model.encode(x).indices, reference.encode(x).indices)
    # autoencoder.jit (the full model) is preferred when present
    whole = _JitHolder(
        {name: getattr(reference, name) for name in ("encoder", "quant_conv", "post_quant_conv", "decoder")}
    )
    auto = tmp_path / "auto"
    auto.mkdir()
    torch.jit.save(torch.jit.trace(whole, example), str(auto / "autoencoder.jit"))
    model = CausalVideoTokenizer.from_pretrained(auto, config=meta["config"])
    assert torch.equal(model.encode(x).indices, reference.encode(x).indices)


def test_dead_sampler_convs_are_dropped(tmp_path):
    """0.1-era JITs keep weights of inactive sampler convs (spec §10.3); they must load and be ignored."""
    reference, meta = load_fixture_model("cv8x8x8", tmp_path)
    state_dict = dict(reference.state_dict())
    for i in (1, 2, 3):
        state_dict[f"encoder.down.1.downsample.conv{i}.conv3d.weight"] = torch.zeros(32, 32, 1, 1, 1)
        state_dict[f"decoder.up.2.upsample.conv{i}.conv3d.bias"] = torch.zeros(32)
    folder = tmp_path / "dead"
    folder.mkdir()
    save_file(state_dict, str(folder / "weights.safetensors"))
    CausalVideoTokenizer.from_pretrained(folder, config=meta["config"])


def test_diffusers_layout_without_diffusers(tmp_path):
    reference, meta = load_fixture_model("cv8x8x8", tmp_path)
    renamed = {diffusers_name(k, 3): v for k, v in reference.state_dict().items()}
    assert "decoder.up_blocks.1.upsamplers.0.conv1.weight" in renamed
    assert "encoder.mid_block.temp_attentions.0.to_out.0.weight" in renamed
    assert "decoder.up_blocks.2.resnets.0.conv1.conv_s.weight" in renamed  # up.0 executes last
    vae = tmp_path / "repo" / "vae"
    vae.mkdir(parents=True)
    save_file(renamed, str(vae / "diffusion_pytorch_model.safetensors"))
    document = {
        "_class_name": "AutoencoderKLCosmos",
        "encoder_block_out_channels": [8, 16, 32, 32],
        "decode_block_out_channels": [16, 32, 32, 32],
        "latent_channels": 16,
        "num_layers": 2,
        "patch_size": 4,
        "patch_type": "haar",
        "spatial_compression_ratio": 8,
        "temporal_compression_ratio": 8,
        "latents_mean": [0.0] * 256,
        "latents_std": [1.0] * 256,
    }
    (vae / "config.json").write_text(json.dumps(document))
    model = CausalVideoTokenizer.from_pretrained(tmp_path / "repo")
    x = load_fixture_tensors("tokenizer", "cv8x8x8.tensors.safetensors")["x"]
    assert_close(model.encode(x).z, reference.encode(x).z, atol=0, name="diffusers layout")
    assert model.latent_statistics is not None


def test_diffusers_peer_parity(tmp_path):
    diffusers = pytest.importorskip("diffusers")
    reference, _ = load_fixture_model("cv8x8x8", tmp_path)
    peer = diffusers.AutoencoderKLCosmos(
        encoder_block_out_channels=(8, 16, 32, 32), decode_block_out_channels=(16, 32, 32, 32)
    ).eval()
    renamed = {diffusers_name(k, 3): v for k, v in reference.state_dict().items()}
    peer.load_state_dict(renamed, strict=True)
    peer.save_pretrained(tmp_path / "peer")
    ours = CausalVideoTokenizer.from_pretrained(tmp_path / "peer")
    tensors = load_fixture_tensors("tokenizer", "cv8x8x8.tensors.safetensors")
    with torch.no_grad():
        peer_latent = peer.encode(tensors["x"]).latent_dist.mode()
        peer_recon = peer.decode(peer_latent).sample
    assert_close(peer_latent, tensors["latent"], atol=1e-4, name="diffusers latent vs reference")
    assert_close(ours.encode(tensors["x"]).z, peer_latent, atol=1e-4, name="ours vs diffusers latent")
    assert_close(ours.decode(peer_latent), peer_recon, atol=1e-4, name="ours vs diffusers decode")
