"""Denoiser invariants beyond the fixtures: the sigma_aug >= sigma rule, guidance algebra, shape rules."""

import dataclasses

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core import ShapeError
from cosmos.diffusion import DiT, DiTConfig
from cosmos.diffusion.denoiser import Conditioning, denoise, guided_denoiser, video2world_input
from cosmos.diffusion.wfm import DiffusionWFM

TINY = DiTConfig(
    latent_channels=4,
    out_channels=4,
    model_channels=32,
    num_blocks=1,
    num_heads=2,
    crossattn_channels=8,
    adaln_lora_dim=8,
    condition_mask=True,
)


def _net(config=TINY):
    net = DiT(config)
    with torch.no_grad():
        for param in net.parameters():
            param.normal_(0, 0.2)
    return net.eval()


def _cond(batch=2, frames=3, augment_sigma=0.001):
    generator = torch.Generator().manual_seed(0)
    latent = torch.randn(batch, 4, frames, 4, 4, generator=generator)
    return Conditioning(
        torch.randn(batch, 5, 8, generator=generator),
        condition_latent=latent,
        num_condition_frames=torch.tensor([1, 2])[:batch],
        augment_noise=torch.randn(latent.shape, generator=generator),
        augment_sigma=augment_sigma,
    )


def test_augment_sigma_above_sigma_drops_insertion_but_keeps_mask_channel():
    """Spec §9 / README pitfall 3: sigma_aug >= sigma -> frames neither inserted nor replaced; mask stays 1."""
    cond = _cond(augment_sigma=0.1)
    x = torch.randn(2, 4, 3, 4, 4)
    low = torch.full((2,), 0.05)
    x_net, indicator, mask = video2world_input(x, low, cond)
    assert torch.equal(x_net, x) and torch.all(indicator == 0)
    assert (
        torch.all(mask[0, :, :1] == 1) and torch.all(mask[1, :, :2] == 1) and torch.all(mask[0, :, 1:] == 0)
    )
    x0 = denoise(_net(), x, low, cond)
    assert not torch.allclose(x0[0, :, :1], cond.condition_latent[0, :, :1])
    high = torch.full((2,), 3.0)
    x0 = denoise(_net(), x, high, cond)
    assert torch.equal(x0[0, :, :1], cond.condition_latent[0, :, :1])
    assert torch.equal(x0[1, :, :2], cond.condition_latent[1, :, :2])


def test_guidance_algebra():
    net = _net()
    cond = _cond()
    uncond = cond.replace(crossattn_emb=torch.zeros_like(cond.crossattn_emb))
    x, sigma = torch.randn(2, 4, 3, 4, 4), torch.tensor([2.0, 0.5])
    with torch.no_grad():
        x0_c, x0_u = denoise(net, x, sigma, cond), denoise(net, x, sigma, uncond)
        torch.testing.assert_close(guided_denoiser(net, cond, uncond, 0.0)(x, sigma), x0_c)
        torch.testing.assert_close(
            guided_denoiser(net, cond, uncond, 3.0)(x, sigma), x0_c + 3 * (x0_c - x0_u), rtol=1e-5, atol=1e-5
        )
        torch.testing.assert_close(guided_denoiser(net, cond, None, 3.0)(x, sigma), x0_c)
    with pytest.raises(ShapeError, match="sigma must be"):
        denoise(net, x, torch.ones(3), cond)
    with pytest.raises(ShapeError, match="disagree"):
        guided_denoiser(net, cond, uncond.replace(augment_noise=None), 7.0)


def test_edm_denoiser_limits():
    """D(x; sigma) -> x as sigma -> 0 (c_skip -> 1, c_out -> 0): the denoiser leaves clean data alone."""
    config = dataclasses.replace(TINY, condition_mask=False)
    net = _net(config)
    x = torch.randn(2, 4, 3, 4, 4)
    cond = Conditioning(torch.randn(2, 5, 8))
    with torch.no_grad():
        x0 = denoise(net, x, torch.full((2,), 1e-4), cond)
    torch.testing.assert_close(x0, x, rtol=0, atol=1e-3)


@settings(max_examples=30, deadline=None)
@given(
    frames=st.integers(1, 20),
    height=st.integers(1, 12).map(lambda v: v * 4),
    width=st.integers(1, 12).map(lambda v: v * 4),
)
def test_latent_shape_rule(frames, height, width):
    """A clip is accepted iff the tokenizer takes its frame count and the latent divides by the patch size."""
    from cosmos.core import Latent

    class Tokenizer:
        temporal_compression, spatial_compression, latent_channels = 4, 4, 4

        def valid_num_frames(self, num_frames):
            return (num_frames - 1) % 4 == 0

        def latent_shape(self, num_frames, height, width):
            return 1 + (num_frames - 1) // 4, height // 4, width // 4

        def encode(self, video):
            return Latent(video, 4, 4)

        def decode(self, x):
            return x

    with torch.device("meta"):
        net = DiT(TINY)
    wfm = DiffusionWFM(Tokenizer(), net)
    ok = (frames - 1) % 4 == 0 and height % 8 == 0 and width % 8 == 0
    if ok:
        assert wfm.latent_shape(frames, height, width) == (4, 1 + (frames - 1) // 4, height // 4, width // 4)
    else:
        with pytest.raises(ShapeError):
            wfm.latent_shape(frames, height, width)
