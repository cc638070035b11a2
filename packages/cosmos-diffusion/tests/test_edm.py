import math

import pytest
import torch

from cosmos.diffusion.edm import (
    UncertaintyWeight,
    edm_loss,
    edm_loss_weight,
    edm_scalings,
    sample_training_sigma,
)


@pytest.mark.parametrize("precision", ["f32", "f64"])
def test_edm_scalings_match_reference(tensors, check, precision):
    data = tensors("edm.safetensors")
    sigma = data["sigma"] if precision == "f64" else data["sigma"].float()
    tolerance = 1e-12 if precision == "f64" else 1e-6
    for name, value in edm_scalings(sigma)._asdict().items():
        check(value, data[f"{name}.{precision}"], rtol=tolerance, atol=0.0, name=name)


def test_edm_scalings_identities():
    sigma = torch.logspace(-3, 2, 50, dtype=torch.float64)
    c_skip, c_out, c_in, c_noise = edm_scalings(sigma)
    # c_skip^2 sigma_data^... : EDM's unit-variance conditions (Karras et al. 2022, App. B.6)
    torch.testing.assert_close(c_in**2 * (sigma**2 + 0.25), torch.ones_like(sigma))
    torch.testing.assert_close(c_skip + (c_out / 0.5) ** 2, torch.ones_like(sigma))
    torch.testing.assert_close(c_noise, 0.25 * sigma.log())
    # lambda(sigma) = 1 / c_out^2
    torch.testing.assert_close(edm_loss_weight(sigma), 1 / c_out**2)


def test_training_sigma_distribution():
    generator = torch.Generator().manual_seed(0)
    sigma = sample_training_sigma(20000, generator=generator)
    log_sigma = sigma.log()
    assert abs(log_sigma.mean().item()) < 0.03 and abs(log_sigma.std().item() - 1.0) < 0.03
    scaled = sample_training_sigma(8, generator=torch.Generator().manual_seed(1), num_latent_frames=16)
    plain = sample_training_sigma(8, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(scaled, plain * 4)


def test_loss_uncertainty_weighting():
    torch.manual_seed(0)
    x0 = torch.randn(3, 4, 2, 4, 4)
    pred = x0 + 0.1 * torch.randn_like(x0)
    sigma = torch.tensor([0.1, 1.0, 10.0])
    plain = edm_loss(pred, x0, sigma)
    expected = (edm_loss_weight(sigma).reshape(3, 1, 1, 1, 1) * (pred - x0) ** 2).mean()
    torch.testing.assert_close(plain, expected)
    u = torch.tensor([[0.5], [-0.2], [0.0]])
    weighted = edm_loss(pred, x0, sigma, logvar=u)
    per_sample = (edm_loss_weight(sigma).reshape(3, 1, 1, 1, 1) * (pred - x0) ** 2).mean(dim=(1, 2, 3, 4))
    torch.testing.assert_close(weighted, (per_sample * torch.exp(-u[:, 0]) + u[:, 0]).mean())
    # the optimal u for a sample is log of its weighted error (Kendall et al.)
    head = UncertaintyWeight(128)
    assert head(torch.zeros(2)).shape == (2, 1)
    assert math.isfinite(weighted.item())


def test_uncertainty_weight_matches_reference(fixture_net, tensors, check, fixture_name):
    data = tensors(f"{fixture_name}.denoise.safetensors")
    net = fixture_net(fixture_name)
    logvar = net.logvar(edm_scalings(data["in.sigma"]).c_noise)
    check(logvar, data["out.cond.logvar"], rtol=1e-4, atol=2e-5, rel_l2=1e-5, name="logvar")
