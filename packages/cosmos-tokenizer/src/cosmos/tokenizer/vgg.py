"""VGG-16 feature extractor for the perceptual and Gram losses (Simonyan & Zisserman 2015; spec §11).

Our own small module (no torchvision needed): the 13 conv layers of VGG-16 with the module indices of
torchvision's ``vgg16().features`` (``features.0`` ... ``features.28``), so the published ImageNet weights load
directly: torchvision's ``vgg16-397923af.pth``, or ``timm/vgg16.tv_in1k`` (``model.safetensors``) from the Hub.
Classifier keys are ignored. It returns the relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3 activations.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from cosmos.core import CheckpointError, check_state_dict, load_state_dict_file

# (out_channels per conv of a stage), max-pool between stages
_STAGES = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
FEATURE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")


class VGG16Features(nn.Module):
    """VGG-16 conv trunk returning the five ``reluK_last`` feature maps.

    ``forward``: float ``[N, 3, H, W]`` (already normalised the way the weights expect) -> list of 5 tensors
    ``[N, 64, H, W]``, ``[N, 128, H/2, W/2]``, ``[N, 256, H/4, W/4]``, ``[N, 512, H/8, W/8]``, ``[N, 512, H/16, W/16]``.
    Parameters are frozen (``requires_grad=False``): it is a fixed loss network.
    """

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        self.tap_indices: list[int] = []
        in_channels = 3
        for stage_index, stage in enumerate(_STAGES):
            if stage_index > 0:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            for out_channels in stage:
                layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
                layers.append(nn.ReLU(inplace=False))
                in_channels = out_channels
            self.tap_indices.append(len(layers) - 1)  # the ReLU after the stage's last conv
        self.features = nn.Sequential(*layers)
        self.requires_grad_(False)

    def forward(self, x: Tensor) -> list[Tensor]:
        taps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self.tap_indices:
                taps.append(x)
            if len(taps) == len(self.tap_indices):
                break
        return taps

    @classmethod
    def from_pretrained(
        cls, name_or_path: str | os.PathLike, *, revision: str | None = None
    ) -> VGG16Features:
        """Load ImageNet VGG-16 weights from a file (``.pth``/``.safetensors``), a folder holding one, or a Hub
        id whose ``model.safetensors`` has ``features.N.*`` keys (e.g. ``"timm/vgg16.tv_in1k"``).

        Raises:
            CheckpointError: file not found / unreadable, or the ``features.*`` keys do not match VGG-16.
        """
        path = Path(name_or_path)
        if path.is_dir():
            candidates = sorted([*path.glob("*.safetensors"), *path.glob("*.pth"), *path.glob("*.pt")])
            if not candidates:
                raise CheckpointError(f"no VGG-16 weights (*.safetensors, *.pth) in {path}")
            path = candidates[0]
        elif not path.exists():
            from huggingface_hub import hf_hub_download

            try:
                path = Path(hf_hub_download(str(name_or_path), "model.safetensors", revision=revision))
            except Exception as error:  # network, missing repo or file
                raise CheckpointError(f"cannot fetch VGG-16 weights {name_or_path!r}: {error}") from error
        state_dict = load_state_dict_file(path)
        features = {key: value for key, value in state_dict.items() if key.startswith("features.")}
        model = cls()
        check_state_dict(model, features, what=f"VGG-16 weights {path}")
        model.load_state_dict(features)
        return model.eval()


def lpips_normalize(x: Tensor) -> Tensor:
    """LPIPS input scaling of ``[-1, 1]`` images: ``(x - shift) / scale`` per RGB channel (spec §11)."""
    shift = torch.tensor([-0.030, -0.088, -0.188], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - shift) / scale
