"""Our RetinaFace module: shapes, priors, decoding, NMS, and the strict adapter for Resnet50_Final.pth keys."""

import math

import numpy as np
import pytest
import torch

from cosmos.core import CheckpointError
from cosmos.guard import FaceBlur
from cosmos.guard.retinaface import (
    RetinaFace,
    RetinaFaceConfig,
    RetinaFaceDetector,
    decode_boxes,
    nms,
    prior_boxes,
)

TINY = RetinaFaceConfig(layers=(1, 1, 1, 1), width=8, fpn_channels=16)


def test_full_size_parameter_count_and_key_names():
    with torch.device("meta"):
        model = RetinaFace()
    assert abs(sum(p.numel() for p in model.parameters()) / 1e6 - 27.29) < 0.01  # spec: ~27 M params
    keys = set(model.state_dict())
    for key in (
        "body.conv1.weight",
        "body.layer1.0.downsample.0.weight",
        "body.layer4.2.bn3.running_var",
        "fpn.output1.0.weight",
        "fpn.merge2.1.bias",
        "ssh3.conv7x7_3.1.weight",
        "class_head.2.conv1x1.weight",
        "bbox_head.0.conv1x1.bias",
        "landmark_head.1.conv1x1.weight",
    ):
        assert key in keys, key
    assert model.state_dict()["bbox_head.0.conv1x1.weight"].shape == (8, 256, 1, 1)


@pytest.mark.parametrize(("height", "width"), [(64, 64), (70, 90), (33, 47)])
def test_output_length_matches_priors(height, width):
    model = RetinaFace(TINY).eval()
    with torch.no_grad():
        boxes, probs, landmarks = model(torch.randn(2, 3, height, width))
    num_priors = sum(math.ceil(height / s) * math.ceil(width / s) * 2 for s in (8, 16, 32))
    assert (
        boxes.shape == (2, num_priors, 4)
        and probs.shape == (2, num_priors, 2)
        and landmarks.shape == (2, num_priors, 10)
    )
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, num_priors))
    assert prior_boxes(height, width, TINY).shape == (num_priors, 4)


def test_priors_layout():
    priors = prior_boxes(32, 64)  # level 1: 4 x 8 cells, 2 anchors
    assert priors[0].tolist() == pytest.approx([4 / 64, 4 / 32, 16 / 64, 16 / 32])
    assert priors[1].tolist() == pytest.approx([4 / 64, 4 / 32, 32 / 64, 32 / 32])
    assert priors[2].tolist() == pytest.approx([12 / 64, 4 / 32, 16 / 64, 16 / 32])  # next cell along x


def test_decode_zero_offsets_gives_prior_box():
    priors = torch.tensor([[0.5, 0.5, 0.2, 0.4]])
    boxes = decode_boxes(torch.zeros(1, 4), priors, (0.1, 0.2))
    torch.testing.assert_close(boxes, torch.tensor([[0.4, 0.3, 0.6, 0.7]]))
    shifted = decode_boxes(torch.tensor([[1.0, 0.0, 0.0, 0.0]]), priors, (0.1, 0.2))
    assert shifted[0, 0].item() == pytest.approx(0.4 + 0.1 * 0.2)


def test_nms():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10.5]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.95], np.float32)
    assert nms(boxes, scores, 0.4).tolist() == [3, 2]


def reference_keys_state_dict(model):
    """Our state dict renamed to the released checkpoint's names (DataParallel prefix, CamelCase heads)."""
    out = {}
    for key, value in model.state_dict().items():
        for ours, theirs in (
            ("class_head", "ClassHead"),
            ("bbox_head", "BboxHead"),
            ("landmark_head", "LandmarkHead"),
        ):
            if key.startswith(ours + "."):
                key = theirs + key[len(ours) :]
        out["module." + key] = value.clone()
    return out


def test_adapter_round_trip_and_strictness(tmp_path):
    model = RetinaFace(TINY).eval()
    path = tmp_path / "Resnet50_Final.pth"
    torch.save(reference_keys_state_dict(model), path)
    loaded = RetinaFace.from_pretrained(tmp_path, config=TINY)
    x = torch.randn(1, 3, 40, 48)
    with torch.no_grad():
        for a, b in zip(model(x), loaded(x)):
            torch.testing.assert_close(a, b)
    broken = reference_keys_state_dict(model)
    broken.pop("module.ssh2.conv5X5_2.1.running_mean")
    torch.save(broken, path)
    with pytest.raises(CheckpointError, match="running_mean"):
        RetinaFace.from_pretrained(tmp_path, config=TINY)
    with pytest.raises(CheckpointError):
        RetinaFace.from_reference_file(tmp_path / "missing.pth")


def test_detector_on_random_weights_returns_valid_boxes():
    torch.manual_seed(0)
    model = RetinaFace(TINY).eval()
    with torch.no_grad():  # make every prior a confident "face" so the post-processing path runs
        for head in model.class_head:
            head.conv1x1.bias.copy_(torch.tensor([-5.0, 5.0] * 2))
    detector = RetinaFaceDetector(model, keep_top_k=10)
    frame = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    boxes, scores = detector.detect(frame)
    assert boxes.shape[1] == 4 and len(boxes) == len(scores) <= 10 and len(boxes) > 0
    assert (scores > 0.7).all() and (np.diff(scores) <= 0).all()
    blurred, result = FaceBlur(detector).process(frame[None])
    assert result.extras["detector"] == "retinaface" and blurred.shape == (1, 48, 64, 3)
