"""Losses and the training loop on tiny configs."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from cosmos.core import CheckpointError
from cosmos.core.testing import assert_close
from cosmos.tokenizer import CausalVideoTokenizer, ImageTokenizer
from cosmos.tokenizer.losses import (
    AdversarialLoss,
    FlowLoss,
    GramLoss,
    L1Loss,
    LossWeights,
    PatchDiscriminator,
    PerceptualLoss,
    TokenizerLoss,
    WeightSchedule,
    gram_matrix,
)
from cosmos.tokenizer.optical_flow import lucas_kanade_flow
from cosmos.tokenizer.training import TrainingConfig, latest_checkpoint, train
from cosmos.tokenizer.vgg import VGG16Features

from .conftest import tiny_image_config, tiny_video_config


def test_weight_schedule():
    schedule = WeightSchedule((0.1, 0.073), (500_000,))
    assert schedule(0) == 0.1 and schedule(499_999) == 0.1 and schedule(500_000) == 0.073
    with pytest.raises(ValueError):
        WeightSchedule((1.0, 2.0), ())


def test_losses_are_zero_on_identical_inputs_and_positive_otherwise():
    torch.manual_seed(0)
    vgg = VGG16Features()
    video = torch.rand(1, 3, 3, 32, 32) * 2 - 1
    other = (video + 0.3 * torch.randn_like(video)).clamp(-1, 1)
    for loss in (L1Loss(), PerceptualLoss(vgg), GramLoss(vgg), FlowLoss()):
        assert float(loss(video, video)) == pytest.approx(0.0, abs=1e-6), type(loss).__name__
        assert float(loss(video, other)) > 0, type(loss).__name__


def test_gram_matrix_is_per_clip():
    features = torch.randn(2 * 3, 4, 5, 5)  # B=2, T=3
    gram = gram_matrix(features, frames=3)
    flat = features[:3].transpose(0, 1).reshape(4, -1)
    assert_close(gram[0], flat @ flat.T / flat.shape[1], atol=1e-5)


def test_lucas_kanade_recovers_a_shift():
    y, x = torch.meshgrid(torch.linspace(0, 6.28, 48), torch.linspace(0, 6.28, 48), indexing="ij")
    image = (torch.sin(x * 1.5) * torch.cos(y)).expand(1, 3, 48, 48)
    shifted = torch.roll(image, shifts=1, dims=-1)  # content moves +1 pixel along W
    flow = lucas_kanade_flow(image, shifted)
    centre = flow[:, :, 12:36, 12:36]
    assert centre[:, 0].median() == pytest.approx(1.0, abs=0.25)
    assert centre[:, 1].abs().median() < 0.2


def test_vgg_loads_published_layout(tmp_path):
    reference = VGG16Features()
    weights = {k: torch.randn_like(v) for k, v in reference.state_dict().items()}
    weights["classifier.0.weight"] = torch.zeros(2, 2)  # torchvision files carry the classifier too
    save_file(weights, str(tmp_path / "vgg16.safetensors"))
    loaded = VGG16Features.from_pretrained(tmp_path / "vgg16.safetensors")
    assert torch.equal(loaded.features[28].weight, weights["features.28.weight"])
    torch.save({k: v for k, v in weights.items() if k != "features.0.bias"}, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match="features.0.bias"):
        VGG16Features.from_pretrained(tmp_path / "broken.pth")
    shapes = [f.shape[1] for f in loaded(torch.zeros(1, 3, 32, 32))]
    assert shapes == [64, 128, 256, 512, 512]


def test_adversarial_hinge_losses():
    torch.manual_seed(0)
    adversarial = AdversarialLoss(PatchDiscriminator(channels=8))
    real, fake = torch.rand(2, 3, 2, 32, 32), torch.rand(2, 3, 2, 32, 32)
    assert float(adversarial.discriminator_loss(real, fake).detach()) >= 0
    assert adversarial.generator_loss(fake).shape == ()


def _batches(shape, count=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.rand(*shape, generator=generator) * 2 - 1 for _ in range(count)]


def test_training_alternates_checkpoints_and_resumes(tmp_path, capsys):
    torch.manual_seed(0)
    model = CausalVideoTokenizer(tiny_video_config("DV"))
    weights = LossWeights(
        perceptual=WeightSchedule((0.1,)),
        gram=WeightSchedule((0.01,)),
        flow=WeightSchedule((0.01,)),
        adversarial=WeightSchedule((0.0, 0.1), (2,)),
    )
    loss_fn = TokenizerLoss(
        weights,
        vgg=VGG16Features(),
        flow=FlowLoss(),
        adversarial=AdversarialLoss(PatchDiscriminator(channels=8)),
    )
    config = TrainingConfig(steps=4, warmup_steps=1, checkpoint_every=2, log_every=1, learning_rate=1e-3)
    videos, images = _batches((1, 3, 9, 16, 16)), _batches((2, 3, 16, 16))
    state = train(
        model,
        loss_fn,
        video_batches=videos,
        image_batches=images,
        config=config,
        output_dir=tmp_path,
        progress=False,
    )
    assert state.step == 4
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [entry["kind"] for entry in logged] == ["video", "image", "video", "image"]
    assert "discriminator" in logged[-1] and "discriminator" not in logged[0]
    checkpoint = latest_checkpoint(tmp_path)
    assert checkpoint.name == "step-4"
    reloaded = CausalVideoTokenizer.from_pretrained(checkpoint)
    assert_close(reloaded.encoder.conv_in[0].conv3d.weight, model.encoder.conv_in[0].conv3d.weight, atol=0)
    resumed = train(
        reloaded.train(),
        loss_fn,
        video_batches=videos,
        image_batches=images,
        config=TrainingConfig(steps=6, warmup_steps=1, checkpoint_every=2, learning_rate=1e-3),
        output_dir=tmp_path,
        resume=True,
        progress=False,
    )
    assert resumed.step == 6
    assert sorted(p.name for p in tmp_path.glob("step-*")) == ["step-4", "step-6"]


def test_training_reduces_l1_on_one_batch(tmp_path):
    torch.manual_seed(0)
    model = ImageTokenizer(tiny_image_config("CI"))
    batch = _batches((2, 3, 16, 16), count=1)
    before = float(L1Loss()(batch[0], model(batch[0]).detach()))
    config = TrainingConfig(
        steps=30, warmup_steps=1, learning_rate=2e-3, checkpoint_every=1000, log_every=1000
    )
    train(
        model,
        TokenizerLoss(),
        video_batches=None,
        image_batches=batch,
        config=config,
        output_dir=tmp_path,
        progress=False,
    )
    after = float(L1Loss()(batch[0], model(batch[0]).detach()))
    assert after < 0.7 * before
