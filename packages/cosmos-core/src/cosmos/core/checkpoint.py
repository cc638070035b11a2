"""Reading, checking and writing state dicts.

Our format is safetensors (sharded with an index above a size threshold). NVIDIA's released formats
(TorchScript ``*.jit`` files, ``model.pt`` pickles) are read here too, the latter only with
``torch.load(weights_only=True)``. Every official layout goes through a :class:`StateDictAdapter` and
then :func:`check_state_dict`, which names every missing, unexpected and mis-shaped key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from cosmos.core.errors import CheckpointError

__all__ = [
    "StateDictAdapter",
    "check_state_dict",
    "load_state_dict_file",
    "load_safetensors",
    "save_safetensors_sharded",
    "load_safetensors_sharded",
    "SAFETENSORS_NAME",
    "SAFETENSORS_INDEX_NAME",
]

SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
_MAX_LISTED = 20
_WRAPPER_KEYS = ("model", "state_dict", "ema", "module")


def _listing(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_LISTED])
    return shown + (f", ... ({len(keys) - _MAX_LISTED} more)" if len(keys) > _MAX_LISTED else "")


def check_state_dict(
    expected: nn.Module | Mapping[str, torch.Tensor | torch.Size | tuple[int, ...]],
    state_dict: Mapping[str, torch.Tensor],
    *,
    what: str = "checkpoint",
) -> None:
    """Strictly compare a state dict's keys and shapes against a model (or a key -> shape mapping).

    Args:
        expected: the module the weights are for (its ``state_dict()``, meta tensors are fine), or a
            mapping from key to tensor or shape.
        state_dict: the weights to check.
        what: how the error names the checkpoint (e.g. its path).

    Raises:
        CheckpointError: listing the missing keys, unexpected keys and ``key: expected vs got`` shape
            mismatches, all at once.
    """
    if isinstance(expected, nn.Module):
        expected = expected.state_dict()
    shapes = {key: tuple(value.shape if isinstance(value, torch.Tensor) else value) for key, value in expected.items()}
    missing = sorted(set(shapes) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(shapes))
    mismatched = [
        f"{key}: expected {shapes[key]} got {tuple(state_dict[key].shape)}"
        for key in sorted(set(shapes) & set(state_dict))
        if tuple(state_dict[key].shape) != shapes[key]
    ]
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {_listing(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches ({len(mismatched)}): {_listing(mismatched)}")
    if problems:
        raise CheckpointError(f"{what} does not match the model: " + "; ".join(problems))


class StateDictAdapter:
    """Maps an official checkpoint's key names onto ours (torchtitan's ``StateDictAdapter`` idea).

    Subclasses set ``drop`` (regexes of keys to discard, e.g. constant buffers our modules recompute)
    and ``rename`` (``(regex, replacement)`` pairs applied in order with :func:`re.sub`), and override
    :meth:`convert` for anything more (reshapes, splits). The result still goes through
    :func:`check_state_dict`, so a wrong mapping is reported key by key.
    """

    rename: tuple[tuple[str, str], ...] = ()
    drop: tuple[str, ...] = ()

    def convert(self, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Official -> ours: drop, then rename.

        Raises:
            CheckpointError: two official keys map onto the same key of ours.
        """
        drop = [re.compile(pattern) for pattern in self.drop]
        rename = [(re.compile(pattern), replacement) for pattern, replacement in self.rename]
        out: dict[str, torch.Tensor] = {}
        source: dict[str, str] = {}
        for key, value in state_dict.items():
            if any(pattern.search(key) for pattern in drop):
                continue
            new_key = key
            for pattern, replacement in rename:
                new_key = pattern.sub(replacement, new_key)
            if new_key in out:
                raise CheckpointError(f"keys {source[new_key]!r} and {key!r} both map to {new_key!r}")
            out[new_key] = value
            source[new_key] = key
        return out


def load_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """Load one ``.safetensors`` file onto the CPU.

    Raises:
        CheckpointError: the file is missing, empty, truncated or otherwise corrupt (with its path).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such weights file: {path}")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise CheckpointError(
            f"{path} is not a readable safetensors file (truncated or corrupt? {path.stat().st_size} bytes): {error}"
        ) from error


def _unwrap(obj: object, path: Path) -> dict[str, torch.Tensor]:
    while isinstance(obj, Mapping) and len(obj) == 1 and next(iter(obj)) in _WRAPPER_KEYS:
        obj = next(iter(obj.values()))
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a flat state dict of tensors")
    return dict(obj)


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a state dict from any supported weights file, on the CPU.

    By suffix: ``.safetensors``; ``.jit``/``.ts`` (TorchScript archive: only its ``state_dict()`` is
    kept, nothing of it runs afterwards); ``.pt``/``.pth``/``.bin`` (``torch.load(weights_only=True)``,
    never a full unpickle; a single top-level ``model``/``state_dict``/``ema``/``module`` wrapper is
    unwrapped).

    Raises:
        CheckpointError: unknown suffix, missing or corrupt file, or content that is not a state dict.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return load_safetensors(path)
    if not path.is_file():
        raise CheckpointError(f"no such weights file: {path}")
    if suffix in (".jit", ".ts"):
        try:
            module = torch.jit.load(str(path), map_location="cpu")
        except Exception as error:  # torch raises many types for a bad archive
            raise CheckpointError(f"{path} is not a readable TorchScript archive: {error}") from error
        return {key: value.detach().clone() for key, value in module.state_dict().items()}
    if suffix in (".pt", ".pth", ".bin", ".ckpt"):
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as error:
            raise CheckpointError(
                f"{path} cannot be loaded with torch.load(weights_only=True) (corrupt, or not plain tensors): {error}"
            ) from error
        return _unwrap(obj, path)
    raise CheckpointError(f"unsupported weights file {path}: expected .safetensors, .jit, .pt, .pth or .bin")


def _dedupe_storage(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU tensors with no two sharing storage (safetensors refuses shared tensors)."""
    seen: set[tuple[int, int]] = set()
    out = {}
    for key, value in state_dict.items():
        value = value.detach().to("cpu").contiguous()
        marker = (value.untyped_storage().data_ptr(), value.storage_offset())
        if value.numel() and marker in seen:
            value = value.clone()
        seen.add(marker)
        out[key] = value
    return out


def save_safetensors_sharded(
    state_dict: Mapping[str, torch.Tensor], folder: str | Path, *, max_shard_bytes: int = 2**31
) -> list[Path]:
    """Write ``model.safetensors``, or shards plus ``model.safetensors.index.json`` when larger.

    Returns the written weight files. Shards are named ``model-00001-of-0000N.safetensors`` as in
    Hugging Face's layout, and the index maps each key to its shard.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = _dedupe_storage(state_dict)
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, value in tensors.items():
        nbytes = value.numel() * value.element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][key] = value
        size += nbytes
    if len(shards) == 1:
        path = folder / SAFETENSORS_NAME
        save_file(shards[0], str(path), metadata={"format": "pt"})
        return [path]
    paths, weight_map = [], {}
    for number, shard in enumerate(shards, start=1):
        path = folder / f"model-{number:05d}-of-{len(shards):05d}.safetensors"
        save_file(shard, str(path), metadata={"format": "pt"})
        paths.append(path)
        weight_map.update({key: path.name for key in shard})
    total = sum(v.numel() * v.element_size() for v in tensors.values())
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (folder / SAFETENSORS_INDEX_NAME).write_text(json.dumps(index, indent=2))
    return paths


def load_safetensors_sharded(folder: str | Path) -> dict[str, torch.Tensor]:
    """Load ``model.safetensors`` or the shards listed in ``model.safetensors.index.json``.

    Raises:
        CheckpointError: neither file exists, the index is malformed, a shard is missing or corrupt,
            or a shard holds keys the index does not assign to it.
    """
    folder = Path(folder)
    index_path = folder / SAFETENSORS_INDEX_NAME
    if index_path.is_file():
        try:
            weight_map = json.loads(index_path.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise CheckpointError(f"{index_path} is not a valid safetensors index: {error}") from error
        state_dict: dict[str, torch.Tensor] = {}
        for shard in sorted(set(weight_map.values())):
            part = load_safetensors(folder / shard)
            stray = sorted(key for key in part if weight_map.get(key) != shard)
            if stray:
                raise CheckpointError(f"{folder / shard} holds keys its index does not assign to it: {_listing(stray)}")
            state_dict.update(part)
        absent = sorted(set(weight_map) - set(state_dict))
        if absent:
            raise CheckpointError(f"keys listed in {index_path} are absent from the shards: {_listing(absent)}")
        return state_dict
    if (folder / SAFETENSORS_NAME).is_file():
        return load_safetensors(folder / SAFETENSORS_NAME)
    raise CheckpointError(f"{folder} has neither {SAFETENSORS_NAME} nor {SAFETENSORS_INDEX_NAME}")
