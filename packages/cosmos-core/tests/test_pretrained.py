import json
import os
from dataclasses import dataclass

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from cosmos.core import (
    CheckpointError,
    PretrainedMixin,
    StateDictAdapter,
    check_state_dict,
    config_from_dict,
    config_to_dict,
    load_state_dict_file,
    resolve_pretrained,
)


@dataclass(frozen=True)
class BlockConfig:
    hidden: int = 8
    kernel: tuple[int, int] = (3, 3)


@dataclass(frozen=True)
class TinyConfig:
    dim: int = 6
    depth: int = 2
    block: BlockConfig = BlockConfig()
    name: str | None = None


class TinyModel(PretrainedMixin, nn.Module):
    config_class = TinyConfig

    def __init__(self, config: TinyConfig):
        super().__init__()
        self.config = config
        self.layers = nn.ModuleList(nn.Linear(config.dim, config.dim) for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.dim)
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.register_buffer("table", torch.linspace(0, 1, config.dim, device="cpu"), persistent=False)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.norm(x) + self.table


def make_model(seed=0, **overrides):
    torch.manual_seed(seed)
    return TinyModel(TinyConfig(**overrides))


def test_config_round_trip_keeps_tuples_and_nesting():
    config = TinyConfig(dim=4, block=BlockConfig(hidden=3, kernel=(1, 5)), name="x")
    data = json.loads(json.dumps(config_to_dict(config)))
    assert data["block"]["kernel"] == [1, 5]
    assert config_from_dict(TinyConfig, data) == config
    with pytest.raises(CheckpointError, match="unknown keys \\['dimm'\\]"):
        config_from_dict(TinyConfig, {"dimm": 3})


def test_save_then_load_local_folder(tmp_path):
    model = make_model(dim=4)
    model.save_pretrained(tmp_path / "m")
    stored = json.loads((tmp_path / "m" / "config.json").read_text())
    assert stored["model_type"] == "TinyModel" and stored["config"]["dim"] == 4
    loaded = TinyModel.from_pretrained(tmp_path / "m")
    assert loaded.config == model.config and not loaded.training
    x = torch.randn(2, 4)
    assert torch.equal(loaded(x), model(x))
    half = TinyModel.from_pretrained(str(tmp_path / "m"), dtype=torch.bfloat16)
    assert half.layers[0].weight.dtype == torch.bfloat16
    assert half.steps.dtype == torch.int64  # integer buffers keep their dtype
    assert half.table.dtype == torch.float32 and not half.table.is_meta  # recomputed constant


def test_sharded_save_and_load(tmp_path):
    model = make_model(dim=16, depth=3)
    model.save_pretrained(tmp_path / "m", max_shard_bytes=1200)
    shards = sorted(p.name for p in (tmp_path / "m").glob("model-*.safetensors"))
    assert len(shards) > 1 and (tmp_path / "m" / "model.safetensors.index.json").is_file()
    assert not (tmp_path / "m" / "model.safetensors").exists()
    loaded = TinyModel.from_pretrained(tmp_path / "m")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    model.save_pretrained(tmp_path / "m")  # re-saving unsharded removes the stale shards
    assert not list((tmp_path / "m").glob("model-*.safetensors"))


def _hf_cache(tmp_path, model, repo="acme/tiny-model", commit="0123456789abcdef0123456789abcdef01234567"):
    cache = tmp_path / "hf-cache"
    snapshot = cache / f"models--{repo.replace('/', '--')}" / "snapshots" / commit
    model.save_pretrained(snapshot)
    refs = cache / f"models--{repo.replace('/', '--')}" / "refs"
    refs.mkdir(parents=True)
    (refs / "main").write_text(commit)
    return cache


def test_load_from_local_hub_cache_offline(tmp_path, monkeypatch):
    model = make_model(dim=5)
    cache = _hf_cache(tmp_path, model)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = TinyModel.from_pretrained("acme/tiny-model", cache_dir=cache)
    x = torch.randn(3, 5)
    assert torch.equal(loaded(x), model(x))
    with pytest.raises(CheckpointError, match="not in the local Hugging Face cache and HF_HUB_OFFLINE is set"):
        TinyModel.from_pretrained("acme/other-model", cache_dir=cache)


def test_resolve_pretrained_errors(tmp_path):
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="is a file"):
        resolve_pretrained(tmp_path / "file.bin")
    with pytest.raises(CheckpointError, match="not a Hugging Face Hub id"):
        resolve_pretrained("./no/such/folder/here")


def test_shipped_short_name(tmp_path, monkeypatch):
    package = tmp_path / "shippedpkg"
    make_model(dim=3).save_pretrained(package / "nano-test")
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    class Shipped(TinyModel):
        shipped_root = "shippedpkg"

    with pytest.raises(CheckpointError, match="holds a TinyModel"):
        Shipped.from_pretrained("nano-test")
    assert TinyModel.from_pretrained(resolve_pretrained("nano-test", shipped_root="shippedpkg")).config.dim == 3


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda sd: sd.pop("norm.weight"), r"missing keys \(1\): norm.weight"),
        (lambda sd: sd.__setitem__("extra.bias", torch.zeros(2)), r"unexpected keys \(1\): extra.bias"),
        (lambda sd: sd.__setitem__("layers.0.weight", torch.zeros(6, 5)), r"layers.0.weight: expected \(6, 6\) got \(6, 5\)"),
    ],
)
def test_bad_keys_are_named(tmp_path, mutate, message):
    model = make_model()
    state_dict = dict(model.state_dict())
    mutate(state_dict)
    folder = tmp_path / "m"
    model.save_pretrained(folder)
    save_file({k: v.contiguous() for k, v in state_dict.items()}, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match=message):
        TinyModel.from_pretrained(folder)


def test_corrupt_and_truncated_safetensors_fail_clearly(tmp_path):
    folder = make_model().save_pretrained(tmp_path / "m")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        TinyModel.from_pretrained(folder)
    weights.write_bytes(b"\x00" * 7)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        TinyModel.from_pretrained(folder)
    weights.write_bytes(b"")
    with pytest.raises(CheckpointError):
        TinyModel.from_pretrained(folder)


def test_folder_without_our_layout_is_named(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"not a TinyModel checkpoint.*model.pt"):
        TinyModel.from_pretrained(tmp_path / "m")


def test_load_state_dict_file_formats(tmp_path):
    model = make_model()
    state_dict = model.state_dict()
    torch.save({"model": state_dict}, tmp_path / "model.pt")
    loaded = load_state_dict_file(tmp_path / "model.pt")
    assert set(loaded) == set(state_dict)
    torch.save({"model": state_dict, "optimizer": {"lr": 1}}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="flat state dict"):
        load_state_dict_file(tmp_path / "bad.pt")

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    import pickle

    (tmp_path / "evil.pt").write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_state_dict_file(tmp_path / "evil.pt")
    scripted = torch.jit.script(nn.Linear(3, 2))
    scripted.save(str(tmp_path / "encoder.jit"))
    jit_state = load_state_dict_file(tmp_path / "encoder.jit")
    assert set(jit_state) == {"weight", "bias"}
    (tmp_path / "weights.npz").write_bytes(b"")
    with pytest.raises(CheckpointError, match="unsupported"):
        load_state_dict_file(tmp_path / "weights.npz")


def test_state_dict_adapter_and_check():
    class Adapter(StateDictAdapter):
        drop = (r"\._arange$",)
        rename = ((r"^net\.blocks\.", "layers."), (r"\.ln\.", ".norm."))

    official = {"net.blocks.0.weight": torch.zeros(6, 6), "net.blocks.0._arange": torch.arange(3), "x.ln.w": torch.zeros(1)}
    converted = Adapter().convert(official)
    assert set(converted) == {"layers.0.weight", "x.norm.w"}

    class Clash(StateDictAdapter):
        rename = ((r"^(a|b)$", "c"),)

    with pytest.raises(CheckpointError, match="both map to 'c'"):
        Clash().convert({"a": torch.zeros(1), "b": torch.zeros(1)})
    check_state_dict({"a": (2, 3)}, {"a": torch.zeros(2, 3)})
    with pytest.raises(CheckpointError, match="missing keys"):
        check_state_dict({"a": (2, 3)}, {}, what="ckpt")


def test_from_pretrained_loads_onto_meta_built_model_without_allocating_twice(tmp_path):
    folder = make_model(dim=4).save_pretrained(tmp_path / "m")
    model = TinyModel.from_pretrained(folder, config={"dim": 4, "depth": 2})
    assert all(not p.is_meta for p in model.parameters())
    with pytest.raises(CheckpointError, match="shape mismatches"):
        TinyModel.from_pretrained(folder, config={"dim": 5, "depth": 2})
