"""Shared helpers for the cosmos-diffusion tests: fixture networks and the README's tolerance check."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from cosmos.core.testing import fixture_path, load_fixture_tensors


def _check(
    actual: torch.Tensor,
    expected: torch.Tensor,
    *,
    rtol: float,
    atol: float,
    rel_l2: float | None = None,
    name: str = "tensor",
) -> None:
    """Fixture README tolerance: elementwise ``assert_close(rtol, atol)`` and a relative-L2 bound."""
    torch.testing.assert_close(
        actual.to(expected.dtype), expected, rtol=rtol, atol=atol, msg=lambda m: f"{name}: {m}"
    )
    if rel_l2 is not None:
        error = (
            (actual.double() - expected.double()).norm() / expected.double().norm().clamp_min(1e-30)
        ).item()
        assert error <= rel_l2, f"{name}: rel-L2 {error:.3e} > {rel_l2:.1e}"


@pytest.fixture(scope="session", autouse=True)
def single_thread():
    """The tests run tiny models whose ops are far too small to split across threads; on a busy machine
    intra-op threads only add synchronisation stalls (the training test went from 10 s to 120 s with 2)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def check():
    return _check


def _net_kwargs(name: str) -> dict:
    return json.loads(fixture_path("diffusion", f"{name}.config.json").read_text())["net_kwargs"]


@pytest.fixture(scope="session")
def net_kwargs():
    """The reference constructor kwargs of a fixture network (``<name>.config.json -> net_kwargs``)."""
    return _net_kwargs


@pytest.fixture(scope="session", params=["t2w_tiny", "v2w_tiny"])
def fixture_name(request):
    return request.param


@pytest.fixture(scope="session")
def official_folder(tmp_path_factory):
    """Make a folder per (fixture, format) holding the fixture weights under the released file name."""

    def make(name: str, fmt: str):
        folder = tmp_path_factory.mktemp(f"{name}_{fmt}")
        if fmt == "safetensors":
            shutil.copy(
                fixture_path("diffusion", f"{name}.weights.safetensors"), folder / "model.safetensors"
            )
        else:
            shutil.copy(fixture_path("diffusion", f"{name}.model.pt"), folder / "model.pt")
        return folder

    return make


@pytest.fixture(scope="session")
def fixture_net(official_folder):
    """The fixture network loaded through the public path (cached per fixture name)."""
    from cosmos.diffusion import DiT

    cache: dict[str, DiT] = {}

    def get(name: str) -> DiT:
        if name not in cache:
            folder = official_folder(name, "safetensors")
            cache[name] = DiT.from_pretrained(folder, config=_net_kwargs(name))
        return cache[name]

    return get


@pytest.fixture
def tensors():
    return lambda *parts: load_fixture_tensors("diffusion", *parts)


class PoolingTokenizer(torch.nn.Module):
    """A tiny causal stand-in satisfying ``cosmos.core.VideoTokenizer`` (tests only).

    Encode: frame 0 alone, then groups of ``temporal_compression`` frames, averaged; ``s x s`` average
    pooling; a fixed 3 -> C linear map. Decode: the pseudo-inverse map, nearest upsampling. Causal: the
    first ``1 + k t`` decoded frames depend only on the first ``1 + k`` latent frames.
    """

    def __init__(self, temporal_compression: int = 4, spatial_compression: int = 4, latent_channels: int = 4):
        super().__init__()
        self.temporal_compression = temporal_compression
        self.spatial_compression = spatial_compression
        self.latent_channels = latent_channels
        generator = torch.Generator().manual_seed(0)
        projection = torch.randn(latent_channels, 3, generator=generator)
        self.register_buffer("projection", projection)
        self.register_buffer("inverse", torch.linalg.pinv(projection))

    def valid_num_frames(self, num_frames: int) -> bool:
        return num_frames >= 1 and (num_frames - 1) % self.temporal_compression == 0

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        return (
            1 + (num_frames - 1) // self.temporal_compression,
            height // self.spatial_compression,
            width // self.spatial_compression,
        )

    def encode(self, video):
        from cosmos.core import Latent, ShapeError, check_video

        check_video(video)
        if not self.valid_num_frames(video.shape[2]):
            raise ShapeError("bad frame count")
        t = self.temporal_compression
        first = video[:, :, :1]
        rest = video[:, :, 1:]
        groups = rest.reshape(*rest.shape[:2], -1, t, *rest.shape[3:]).mean(3) if rest.shape[2] else rest
        frames = torch.cat([first, groups], dim=2)  # [B, 3, T', H, W]
        pooled = torch.nn.functional.avg_pool3d(
            frames, (1, self.spatial_compression, self.spatial_compression)
        )
        z = torch.einsum("cd,bdthw->bcthw", self.projection, pooled)
        return Latent(z, self.temporal_compression, self.spatial_compression)

    def decode(self, x):
        z = x.z if hasattr(x, "z") else x
        rgb = torch.einsum("dc,bcthw->bdthw", self.inverse, z)
        rgb = rgb.repeat_interleave(self.spatial_compression, 3).repeat_interleave(
            self.spatial_compression, 4
        )
        first, rest = rgb[:, :, :1], rgb[:, :, 1:].repeat_interleave(self.temporal_compression, 2)
        return torch.cat([first, rest], dim=2).clamp(-1, 1)


@pytest.fixture
def standin_tokenizer():
    return PoolingTokenizer
