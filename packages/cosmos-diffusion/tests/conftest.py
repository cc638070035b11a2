"""Shared helpers for the cosmos-diffusion tests: fixture networks and the README's tolerance check."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from cosmos.core.testing import fixture_path, load_fixture_tensors


def _check(actual: torch.Tensor, expected: torch.Tensor, *, rtol: float, atol: float, rel_l2: float | None = None, name: str = "tensor") -> None:
    """Fixture README tolerance: elementwise ``assert_close(rtol, atol)`` and a relative-L2 bound."""
    torch.testing.assert_close(actual.to(expected.dtype), expected, rtol=rtol, atol=atol, msg=lambda m: f"{name}: {m}")
    if rel_l2 is not None:
        error = ((actual.double() - expected.double()).norm() / expected.double().norm().clamp_min(1e-30)).item()
        assert error <= rel_l2, f"{name}: rel-L2 {error:.3e} > {rel_l2:.1e}"


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
            shutil.copy(fixture_path("diffusion", f"{name}.weights.safetensors"), folder / "model.safetensors")
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
