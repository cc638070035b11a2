import math

import pytest
import torch

from cosmos.core import ShapeError, psnr, ssim


def test_psnr_matches_hand_computed_value():
    target = torch.zeros(1, 3, 2, 8, 8)
    pred = target + 0.1  # MSE = 0.01 everywhere
    expected = 10 * math.log10(2.0**2 / 0.01)  # 26.0206 dB for data range 2 ([-1, 1])
    assert psnr(pred, target).item() == pytest.approx(expected, abs=1e-4)
    per_frame = psnr(pred, target, reduction="none")
    assert per_frame.shape == (1, 2)
    assert torch.allclose(per_frame, torch.full((1, 2), expected))
    assert psnr(pred * 255, target * 255, data_range=510.0).item() == pytest.approx(expected, abs=1e-4)


def test_psnr_per_frame_and_identical_frames():
    target = torch.zeros(2, 3, 3, 4, 4)
    pred = target.clone()
    pred[:, :, 1] = 0.2  # only frame 1 differs: MSE 0.04 -> 20 dB
    values = psnr(pred, target, reduction="none")
    assert torch.isinf(values[:, 0]).all() and torch.isinf(values[:, 2]).all()
    assert values[:, 1] == pytest.approx(10 * math.log10(4 / 0.04), abs=1e-4)


def test_ssim_of_constant_frames_is_the_luminance_term():
    # With zero variance SSIM reduces to (2 a b + C1) / (a^2 + b^2 + C1).
    a, b, data_range = 0.5, -0.25, 2.0
    c1 = (0.01 * data_range) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    value = ssim(torch.full((1, 3, 1, 16, 16), a), torch.full((1, 3, 1, 16, 16), b))
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_ssim_identity_and_contrast_term():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 2, 24, 24, generator=generator) * 2 - 1
    assert ssim(x, x).item() == pytest.approx(1.0, abs=1e-6)
    assert abs(ssim(x, x.flip(-1)).item()) < 0.2  # unrelated structure
    noisy = (x + 0.3 * torch.randn(x.shape, generator=generator)).clamp(-1, 1)
    assert 0 < ssim(noisy, x).item() < ssim((x + 0.05 * torch.randn(x.shape, generator=generator)).clamp(-1, 1), x).item() < 1


def test_ssim_matches_scikit_image_when_available():
    metrics = pytest.importorskip("skimage.metrics")
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(1, 3, 1, 32, 40, generator=generator) * 2 - 1
    y = (x + 0.2 * torch.randn(x.shape, generator=generator)).clamp(-1, 1)
    reference = metrics.structural_similarity(
        x[0, :, 0].permute(1, 2, 0).numpy(), y[0, :, 0].permute(1, 2, 0).numpy(),
        channel_axis=2, data_range=2.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    )
    # scikit-image averages over the cropped valid region too, so the values agree closely.
    assert ssim(x, y).item() == pytest.approx(reference, abs=2e-3)


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(ShapeError, match="pred shape"):
        psnr(torch.zeros(1, 3, 2, 4, 4), torch.zeros(1, 3, 3, 4, 4))
    with pytest.raises(ShapeError, match="expected"):
        ssim(torch.zeros(3, 4, 4), torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="reduction"):
        psnr(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4), reduction="sum")
