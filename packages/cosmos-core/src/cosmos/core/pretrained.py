"""``from_pretrained`` / ``save_pretrained`` shared by every cosmos model (design.md section 3).

Our layout is a Hugging Face style folder: ``config.json`` (``{"model_type", "config", ...}``) plus
``model.safetensors`` (or shards with ``model.safetensors.index.json``). Models are built on the
``meta`` device, so no memory is spent on a random initialisation, the state dict is checked strictly,
and the weights are assigned straight onto the requested device in the requested dtype.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import torch

from cosmos.core.checkpoint import (
    SAFETENSORS_INDEX_NAME,
    SAFETENSORS_NAME,
    check_state_dict,
    load_safetensors_sharded,
    save_safetensors_sharded,
)
from cosmos.core.config import config_from_dict, config_to_dict
from cosmos.core.errors import CheckpointError
from cosmos.core.hub import resolve_pretrained

__all__ = ["PretrainedMixin", "CONFIG_NAME", "is_cosmos_layout"]

CONFIG_NAME = "config.json"


def is_cosmos_layout(folder: str | Path) -> bool:
    """Whether ``folder`` holds our layout (``config.json`` and safetensors weights or their index)."""
    folder = Path(folder)
    weights = (folder / SAFETENSORS_NAME).is_file() or (folder / SAFETENSORS_INDEX_NAME).is_file()
    return (folder / CONFIG_NAME).is_file() and weights


class PretrainedMixin:
    """Adds ``from_pretrained``/``save_pretrained`` to an ``nn.Module`` built from a dataclass config.

    A subclass sets ``config_class`` (a frozen dataclass), takes ``__init__(self, config)`` and stores it
    as ``self.config``. Optional: ``shipped_root`` (package of shipped models, found by short name),
    :meth:`coerce_config` (accept other config forms) and :meth:`load_foreign` (official layouts).

    Constant tables (RoPE, wavelet filters, code books) should be non-persistent buffers created with
    an explicit ``device="cpu"`` so they are real even when built under ``torch.device("meta")``; a
    module may instead define ``_init_non_persistent_buffers()``, called after loading.
    """

    config_class: ClassVar[type]
    shipped_root: ClassVar[str | None] = None

    # ----------------------------------------------------------------------------- hooks
    @classmethod
    def coerce_config(cls, config: Any) -> Any:
        """Turn ``config`` (an instance of ``config_class`` or a dict from ``config.json``) into a config.

        Raises:
            CheckpointError: unknown keys or an unsupported type.
        """
        if isinstance(config, cls.config_class):
            return config
        if isinstance(config, dict):
            return config_from_dict(cls.config_class, config)
        raise CheckpointError(
            f"{cls.__name__} config must be a {cls.config_class.__name__} or a dict, got {type(config).__name__}"
        )

    @classmethod
    def load_foreign(cls, folder: Path, config: Any) -> tuple[Any, dict[str, torch.Tensor]]:
        """Load a folder that is not in our layout (NVIDIA's formats); return ``(config, our_state_dict)``.

        The default knows no foreign format. Raises:
            CheckpointError: naming the files found in ``folder``.
        """
        found = sorted(path.name for path in folder.iterdir())[:20]
        raise CheckpointError(
            f"{folder} is not a {cls.__name__} checkpoint: expected {CONFIG_NAME} and {SAFETENSORS_NAME}, found {found}"
        )

    # ----------------------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        config: Any = None,
        revision: str | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        cache_dir: str | os.PathLike | None = None,
    ):
        """Load a model from a local folder, a shipped short name or a Hugging Face Hub id.

        Args:
            name_or_path: see :func:`cosmos.core.resolve_pretrained`.
            config: overrides ``config.json`` (our layout) or gives the architecture of an official
                checkpoint (a config object or a dict; see the subclass).
            revision: Hub revision.
            device: where the weights go (default CPU).
            dtype: floating weights are cast to it (integer buffers keep their dtype); default as stored.
            cache_dir: Hugging Face cache folder.

        Returns:
            the model in eval mode.

        Raises:
            CheckpointError: unreadable files, a config for another model type, or a state dict whose
                keys or shapes do not match (all listed); GatedRepoError for gated Hub repos.
        """
        folder = resolve_pretrained(name_or_path, revision=revision, shipped_root=cls.shipped_root, cache_dir=cache_dir)
        if is_cosmos_layout(folder):
            stored = json.loads((folder / CONFIG_NAME).read_text())
            model_type = stored.get("model_type")
            if model_type is not None and model_type != cls.__name__:
                raise CheckpointError(f"{folder} holds a {model_type}, not a {cls.__name__}")
            if config is None:
                if "config" not in stored:
                    raise CheckpointError(f"{folder / CONFIG_NAME} has no 'config' entry")
                config = stored["config"]
            config = cls.coerce_config(config)
            state_dict = load_safetensors_sharded(folder)
        else:
            config, state_dict = cls.load_foreign(folder, config)
        return cls.from_state_dict(config, state_dict, device=device, dtype=dtype, what=str(folder))

    @classmethod
    def from_state_dict(
        cls,
        config: Any,
        state_dict: dict[str, torch.Tensor],
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        what: str = "state dict",
    ):
        """Build on ``meta``, check ``state_dict`` strictly, and assign it on ``device`` in ``dtype``.

        Raises:
            CheckpointError: missing/unexpected/mis-shaped keys (listed), or a tensor the model
                left on the meta device.
        """
        config = cls.coerce_config(config)
        device = torch.device(device) if device is not None else torch.device("cpu")
        with torch.device("meta"):
            model = cls(config)
        check_state_dict(model, state_dict, what=what)
        expected = model.state_dict()
        weights = {}
        for key, value in state_dict.items():
            target_dtype = expected[key].dtype
            if dtype is not None and value.is_floating_point():
                target_dtype = dtype
            weights[key] = value.to(device=device, dtype=target_dtype)
        model.load_state_dict(weights, strict=True, assign=True)
        for module in model.modules():
            hook = getattr(module, "_init_non_persistent_buffers", None)
            if hook is not None:
                with torch.device(device):
                    hook()
        left = [name for name, tensor in [*model.named_parameters(), *model.named_buffers()] if tensor.is_meta]
        if left:
            raise CheckpointError(
                f"{cls.__name__} left tensors on the meta device after loading {what}: {left[:10]} "
                "(create constant buffers with device='cpu' or define _init_non_persistent_buffers)"
            )
        return model.to(device).eval()

    # ----------------------------------------------------------------------------- saving
    def save_pretrained(
        self, path: str | os.PathLike, *, max_shard_bytes: int = 2**31, dtype: torch.dtype | None = None
    ) -> Path:
        """Write our layout: ``config.json`` plus ``model.safetensors`` (sharded above ``max_shard_bytes``).

        Args:
            path: folder to create or overwrite.
            max_shard_bytes: largest shard size in bytes.
            dtype: cast floating tensors before saving (e.g. ``torch.bfloat16`` for shipped models).

        Returns:
            the folder.
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        state_dict = self.state_dict()
        if dtype is not None:
            state_dict = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state_dict.items()}
        for stale in [*folder.glob("model-*-of-*.safetensors"), folder / SAFETENSORS_INDEX_NAME, folder / SAFETENSORS_NAME]:
            stale.unlink(missing_ok=True)
        save_safetensors_sharded(state_dict, folder, max_shard_bytes=max_shard_bytes)
        document = {
            "model_type": type(self).__name__,
            "module": type(self).__module__,
            "config": config_to_dict(self.config),
        }
        (folder / CONFIG_NAME).write_text(json.dumps(document, indent=2) + "\n")
        return folder
