"""Reading NVIDIA's and diffusers' tokenizer checkpoints into our state-dict layout (spec §1.1, §10).

Our module names are NVIDIA's reference names (predict1 layout) minus the constant buffers, so the
reference adapter only drops keys; the diffusers adapter renames. Formats found in a folder, in the order
they are tried:

1. a ``*.safetensors`` state dict with the reference key names (e.g. the parity fixtures' weights);
2. the diffusers ``AutoencoderKLCosmos`` layout (``config.json`` with ``_class_name`` +
   ``diffusion_pytorch_model.safetensors``), in the folder or its ``vae/`` sub-folder (CV only);
3. ``autoencoder.jit``, else ``encoder.jit`` + ``decoder.jit`` (TorchScript; only the state dict is read);
4. ``model.pt`` (Cosmos-Tokenize1 training checkpoint: ``{"model": {"network.<key>": ...}, ...}``).

Every result then goes through :func:`cosmos.core.check_state_dict` (missing/unexpected keys listed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from cosmos.core import CheckpointError, StateDictAdapter, load_safetensors, load_state_dict_file

from .config import PRESETS, TokenizerConfig

CONSTANT_BUFFERS = r"(^|\.)(wavelets|_arange|patch_size_buffer|_levels|_basis|implicit_codebook)$"
_SAMPLER_CONV = re.compile(r"\.(downsample|upsample)\.conv[123]\.")
_WRAPPER_PREFIXES = ("network.", "_orig_mod.", "module.", "model.")


class ReferenceAdapter(StateDictAdapter):
    """NVIDIA reference names (predict1 and original repo, JIT files) -> ours.

    Drops the derivable constant buffers (wavelet filters, FSQ tables) and the decoder JIT's ``inv_quant``
    copy of the quantizer buffers (spec §10.3). Keys are otherwise identical.
    """

    drop = (CONSTANT_BUFFERS, r"^inv_quant\.")


def strip_wrapper_prefix(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Remove a prefix such as ``network.`` / ``_orig_mod.`` shared by every key (training wrappers)."""
    state_dict = dict(state_dict)
    changed = True
    while changed and state_dict:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if all(key.startswith(prefix) for key in state_dict):
                state_dict = {key[len(prefix) :]: value for key, value in state_dict.items()}
                changed = True
    return state_dict


def drop_unused_sampler_convs(state_dict: Mapping[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
    """Drop sampler convs that the model does not create (spec §10.3: the original repo always creates
    ``conv1/conv2/conv3`` of a hybrid sampler, even inactive ones; they never influence the output)."""
    expected = set(model.state_dict().keys())
    return {
        key: value for key, value in state_dict.items() if key in expected or not _SAMPLER_CONV.search(key)
    }


# ----------------------------------------------------------------------------------------------- diffusers

# Ordered substring replacements ours -> diffusers (spec §10.5); `up.{i}` is handled by _diffusers_name.
_DIFFUSERS_REPLACEMENTS = (
    (".block.", ".resnets."),
    ("downsample.", "downsamplers.0."),
    ("upsample.", "upsamplers.0."),
    ("mid.block_1", "mid_block.resnets.0"),
    ("mid.attn_1.0", "mid_block.attentions.0"),
    ("mid.attn_1.1", "mid_block.temp_attentions.0"),
    ("mid.block_2", "mid_block.resnets.1"),
    (".q.conv3d", ".to_q"),
    (".k.conv3d", ".to_k"),
    (".v.conv3d", ".to_v"),
    (".proj_out.conv3d", ".to_out.0"),
    (".0.conv3d", ".conv_s"),
    (".1.conv3d", ".conv_t"),
    ("nin_shortcut.conv3d", "conv_shortcut"),
    ("quant_conv.conv3d", "quant_conv"),
)


def diffusers_name(key: str, num_levels: int) -> str:
    """The diffusers ``AutoencoderKLCosmos`` name of one of our (= NVIDIA's) video keys (spec §10.5)."""
    key = re.sub(r"^encoder\.down\.(\d+)\.", r"encoder.down_blocks.\1.", key)
    key = re.sub(
        r"^decoder\.up\.(\d+)\.", lambda m: f"decoder.up_blocks.{num_levels - 1 - int(m.group(1))}.", key
    )
    for old, new in _DIFFUSERS_REPLACEMENTS:
        key = key.replace(old, new)
    key = re.sub(r"\.conv([123])\.conv3d\.", r".conv\1.", key)  # sampler convs
    return key


def from_diffusers_state_dict(state_dict: Mapping[str, Tensor], model: nn.Module, num_levels: int) -> dict:
    """Rename a diffusers ``AutoencoderKLCosmos`` state dict to our keys (the inverse of :func:`diffusers_name`,
    built from the model's own key list so no regex has to be inverted). Unknown keys are kept as they are,
    so :func:`cosmos.core.check_state_dict` reports them."""
    inverse = {diffusers_name(key, num_levels): key for key in model.state_dict()}
    return {inverse.get(key, key): value for key, value in state_dict.items()}


def config_from_diffusers(document: Mapping) -> TokenizerConfig:
    """A CV :class:`TokenizerConfig` from an ``AutoencoderKLCosmos`` ``config.json`` (spec §10.5).

    Raises:
        CheckpointError: a patch type other than haar, or widths that are not multiples of the first one.
    """
    if document.get("patch_type", "haar") != "haar":
        raise CheckpointError(
            f"diffusers patch_type {document['patch_type']!r} is not supported (only 'haar')"
        )
    widths = list(document.get("encoder_block_out_channels", (128, 256, 512, 512)))
    base = widths[0]
    if any(width % base for width in widths[1:]):
        raise CheckpointError(f"encoder_block_out_channels {widths} are not multiples of {base}")
    return TokenizerConfig(
        kind="CV",
        channels=base,
        channels_mult=tuple(width // base for width in widths[1:]),
        num_res_blocks=int(document.get("num_layers", 2)),
        z_channels=int(document.get("latent_channels", 16)),
        latent_channels=int(document.get("latent_channels", 16)),
        patch_size=int(document.get("patch_size", 4)),
        spatial_compression=int(document.get("spatial_compression_ratio", 8)),
        temporal_compression=int(document.get("temporal_compression_ratio", 8)),
        attn_resolutions=tuple(document.get("attention_resolutions", (32,))),
        resolution=int(document.get("resolution", 1024)),
    )


def find_diffusers_folder(folder: Path) -> Path | None:
    """``folder`` or ``folder/vae`` when it holds an ``AutoencoderKLCosmos`` checkpoint, else None."""
    for candidate in (folder, folder / "vae"):
        config = candidate / "config.json"
        if config.is_file() and any(candidate.glob("diffusion_pytorch_model*.safetensors")):
            try:
                document = json.loads(config.read_text())
            except json.JSONDecodeError:
                continue
            if document.get("_class_name") == "AutoencoderKLCosmos":
                return candidate
    return None


def load_diffusers_weights(folder: Path) -> dict[str, Tensor]:
    """All tensors of ``diffusion_pytorch_model.safetensors`` (or its shards) in ``folder``."""
    state_dict: dict[str, Tensor] = {}
    for path in sorted(folder.glob("diffusion_pytorch_model*.safetensors")):
        state_dict.update(load_safetensors(path))
    return state_dict


# ----------------------------------------------------------------------------------------------- NVIDIA files


def load_model_pt(path: Path, *, ema: bool = False) -> dict[str, Tensor]:
    """The network weights of a Cosmos-Tokenize1 ``model.pt`` training checkpoint (spec §10.3).

    Reads with ``torch.load(weights_only=True)``; takes the ``model`` entry (or the whole dict when it is
    already flat), keeps the ``network.`` keys (``ema.`` keys instead when ``ema=True``) and strips the prefix.

    Raises:
        CheckpointError: unreadable file, or no network weights inside.
    """
    try:
        checkpoint = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad pickle
        raise CheckpointError(f"{path} cannot be read with torch.load(weights_only=True): {error}") from error
    model = checkpoint.get("model", checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(model, Mapping):
        raise CheckpointError(f"{path} holds no 'model' state dict")
    tensors = {key: value for key, value in model.items() if isinstance(value, Tensor)}
    prefix = "ema." if ema else "network."
    selected = {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}
    if not selected and not ema:
        selected = {key: value for key, value in tensors.items() if not key.startswith("ema.")}
    if not selected:
        raise CheckpointError(f"{path} holds no {'EMA ' if ema else ''}network weights")
    return strip_wrapper_prefix(selected)


def find_reference_state_dict(folder: Path) -> tuple[str, dict[str, Tensor]] | None:
    """Read the first NVIDIA-format state dict found in ``folder``: ``(description, state_dict)`` or None."""
    safetensors = sorted(
        p for p in folder.glob("*.safetensors") if not p.name.startswith("diffusion_pytorch_model")
    )
    if len(safetensors) == 1:
        return safetensors[0].name, load_safetensors(safetensors[0])
    if len(safetensors) > 1:
        names = [p.name for p in safetensors]
        raise CheckpointError(f"{folder} holds several safetensors files {names}; pass a folder with one")
    if (folder / "autoencoder.jit").is_file():
        return "autoencoder.jit", load_state_dict_file(folder / "autoencoder.jit")
    if (folder / "encoder.jit").is_file() and (folder / "decoder.jit").is_file():
        state_dict = load_state_dict_file(folder / "encoder.jit")
        state_dict.update(load_state_dict_file(folder / "decoder.jit"))
        return "encoder.jit + decoder.jit", state_dict
    if (folder / "model.pt").is_file():
        return "model.pt", load_model_pt(folder / "model.pt")
    return None


def describe_presets() -> str:
    """A short listing of the preset names for error messages."""
    return ", ".join(sorted(name for name in PRESETS if not name.startswith("Cosmos-Tokenizer-")))
