"""LPIPS loaded from random weights saved in the published layout (lpips heads + torchvision backbone files)."""

from __future__ import annotations

import pickle

import pytest
import torch

from cosmos.core import CheckpointError, ShapeError
from cosmos.eval import LPIPS
from cosmos.eval.lpips import LPIPS_NETS


def _published(folder, net: str, *, extra: dict | None = None, drop: str | None = None):
    """Random weights written the way the lpips package and torchvision publish them."""
    generator = torch.Generator().manual_seed(0)
    model = LPIPS(net)
    spec = LPIPS_NETS[net]
    backbone = {
        key.replace("backbone.", "features."): torch.randn(value.shape, generator=generator) * 0.05
        for key, value in model.state_dict().items()
        if key.startswith("backbone.")
    }
    backbone["classifier.6.bias"] = torch.zeros(1000)  # classifier keys exist in torchvision's file; dropped
    heads = {
        f"lin{index}.model.1.weight": torch.rand(model.heads[index].weight.shape, generator=generator)
        for index in range(5)
    }
    backbone.update(extra or {})
    for weights in (backbone, heads):
        weights.pop(drop, None)
    torch.save(backbone, folder / spec.backbone_file)
    torch.save(heads, folder / spec.heads_file)
    return folder


@pytest.fixture(scope="module")
def alex(tmp_path_factory) -> LPIPS:
    return LPIPS.from_pretrained(_published(tmp_path_factory.mktemp("alex"), "alex"))


def test_lpips_is_zero_on_identical_images_and_grows_with_distortion(alex):
    generator = torch.Generator().manual_seed(1)
    image = torch.rand(2, 3, 48, 48, generator=generator) * 2 - 1
    small = (image + 0.05 * torch.randn(image.shape, generator=generator)).clamp(-1, 1)
    large = (image + 0.5 * torch.randn(image.shape, generator=generator)).clamp(-1, 1)
    assert torch.equal(alex(image, image), torch.zeros(2))
    near, far = alex(image, small), alex(image, large)
    assert near.shape == (2,) and (near > 0).all() and (far > 2 * near).all()
    torch.testing.assert_close(alex(small, image), near)  # symmetric
    torch.testing.assert_close(alex(image[:1], large[:1]), far[:1])  # batched = one at a time


def test_lpips_on_videos_is_per_frame(alex):
    video = torch.rand(1, 3, 3, 48, 48) * 2 - 1
    other = video.flip(2)
    per_frame = alex(video, other)
    assert per_frame.shape == (1, 3) and per_frame[0, 1] == 0  # the middle frame is its own flip
    torch.testing.assert_close(per_frame[0, 0], alex(video[:, :, 0], other[:, :, 0])[0])


def test_lpips_vgg_loads_the_same_way(tmp_path):
    model = LPIPS.from_pretrained(_published(tmp_path, "vgg"), net="vgg")
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    assert model(image, -image).item() > 0 and [h.weight.shape[1] for h in model.heads] == [
        64,
        128,
        256,
        512,
        512,
    ]


def test_lpips_loading_is_strict(tmp_path):
    with pytest.raises(CheckpointError, match="missing keys.*backbone.3.weight"):
        LPIPS.from_pretrained(_published(_mk(tmp_path / "a"), "alex", drop="features.3.weight"))
    with pytest.raises(CheckpointError, match="unexpected keys.*backbone.13.weight"):
        LPIPS.from_pretrained(
            _published(_mk(tmp_path / "b"), "alex", extra={"features.13.weight": torch.zeros(1)})
        )
    with pytest.raises(CheckpointError, match="expected keys"):
        LPIPS.from_pretrained(_published(_mk(tmp_path / "c"), "alex", drop="lin4.model.1.weight"))
    with pytest.raises(CheckpointError, match="shape mismatches.*backbone.0.weight"):
        LPIPS.from_pretrained(
            _published(_mk(tmp_path / "d"), "alex", extra={"features.0.weight": torch.zeros(64, 3, 3, 3)})
        )
    with pytest.raises(CheckpointError, match="missing weights file"):
        LPIPS.from_pretrained(_mk(tmp_path / "e"))


class _Payload:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_lpips_never_unpickles_code(tmp_path):
    folder = _published(_mk(tmp_path / "p"), "alex")
    with open(folder / "alex.pth", "wb") as handle:
        pickle.dump({"lin0.model.1.weight": _Payload()}, handle, protocol=2)
    with pytest.raises(CheckpointError):
        LPIPS.from_pretrained(folder)


def test_lpips_bad_input(alex):
    image = torch.zeros(1, 3, 32, 32)
    with pytest.raises(ShapeError, match="one shape"):
        alex(image, torch.zeros(1, 3, 32, 48))
    with pytest.raises(ShapeError, match="32x32"):
        alex(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16))
    with pytest.raises(ShapeError, match=r"\[-1, 1\]"):
        alex(image + 3, image)
    with pytest.raises(ValueError, match="net must be"):
        LPIPS("resnet")


def _mk(path):
    path.mkdir()
    return path
