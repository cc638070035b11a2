"""Checkpoint formats of the Cosmos DiT: NVIDIA's ``model.pt`` keys and diffusers' layout, to and from ours.

Spec §12 lists every official key with its diffusers name; both adapters below rename them onto the
module names of :class:`cosmos.diffusion.dit.DiT`. Loading is strict: after conversion the state dict
must match the network exactly (``check_state_dict`` in ``from_pretrained`` lists any difference).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from cosmos.core import CheckpointError, StateDictAdapter, load_state_dict_file

_SUB = {"0": "self_attn", "1": "cross_attn", "2": "mlp"}
_DIFFUSERS_SUB = {"1": "self_attn", "2": "cross_attn", "3": "mlp"}


class OfficialDiTAdapter(StateDictAdapter):
    """NVIDIA ``model.pt`` (``net.*`` / ``logvar.*`` keys, spec §12) -> our :class:`DiT` keys.

    Drops ``net.pos_embedder.seq`` (a constant ``arange(128)``), TransformerEngine ``*_extra_state`` and
    the parameter-free conditioner; keeps ``logvar.*`` (the training-only uncertainty head). Also maps the
    post-trained action layers (predict1 ``net.action_embedder_B_D`` / ``_B_3D``, spec §11.2) and the
    diffusion decoder's token table (``net.token_embedder``, ``diffusion_decoder.md`` §1) and the multi-view
    tables (``net.view_embeddings``, ``net.repeat_frame_embedding``, ``net.traj_embeddings``, ``multiview.md`` §3).
    """

    drop = (r"^net\.pos_embedder\.seq$", r"_extra_state$", r"^conditioner\.")
    rename = (
        (r"^net\.x_embedder\.proj\.1\.", "patch_embed."),
        (r"^net\.extra_pos_embedder\.", "pos_embed."),
        (r"^net\.t_embedder\.1\.", "time_embed."),
        (r"^net\.affline_norm\.", "time_norm."),
        (r"^net\.blocks\.block(\d+)\.blocks\.0\.", r"blocks.\1.self_attn."),
        (r"^net\.blocks\.block(\d+)\.blocks\.1\.", r"blocks.\1.cross_attn."),
        (r"^net\.blocks\.block(\d+)\.blocks\.2\.", r"blocks.\1.mlp."),
        (r"\.adaLN_modulation\.1\.", ".adaln.down."),
        (r"\.adaLN_modulation\.2\.", ".adaln.up."),
        (r"\.block\.attn\.to_q\.0\.", ".op.query."),
        (r"\.block\.attn\.to_q\.1\.", ".op.query_norm."),
        (r"\.block\.attn\.to_k\.0\.", ".op.key."),
        (r"\.block\.attn\.to_k\.1\.", ".op.key_norm."),
        (r"\.block\.attn\.to_v\.0\.", ".op.value."),
        (r"\.block\.attn\.to_out\.0\.", ".op.out."),
        (r"\.block\.layer1\.", ".op.fc1."),
        (r"\.block\.layer2\.", ".op.fc2."),
        (r"^net\.final_layer\.", "final_layer."),
        (r"^net\.action_embedder_B_D\.", "action_embed.to_emb."),
        (r"^net\.action_embedder_B_3D\.", "action_embed.to_adaln_lora."),
        (r"^net\.token_embedder\.", "token_embed."),
        (r"^net\.view_embeddings\.", "view_embed."),
        (r"^net\.repeat_frame_embedding\.", "frame_repeat_embed."),
        (r"^net\.traj_embeddings\.", "trajectory_embed."),
        (r"^logvar\.0\.", "logvar."),
        (r"^logvar\.1\.", "logvar.linear."),
    )

    def convert(self, state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
        out: dict[str, Tensor] = {}
        for key, value in state_dict.items():
            if key.startswith("model.") and key[6:].startswith(("net.", "logvar.")):
                key = key[6:]
            if any(re.search(pattern, key) for pattern in self.drop):
                continue
            for pattern, replacement in self.rename:
                key = re.sub(pattern, replacement, key)
            out[key] = value
        return out


def to_official(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """Our :class:`DiT` keys -> NVIDIA ``model.pt`` keys (adds ``net.pos_embedder.seq``); inverse of the adapter."""
    forward = {ours: theirs for theirs, ours in _official_names(state_dict).items()}
    out = {forward[k]: v for k, v in state_dict.items()}
    out["net.pos_embedder.seq"] = torch.arange(128, dtype=torch.float32)
    return out


def _official_names(state_dict: dict[str, Tensor]) -> dict[str, str]:
    """Map official name -> our name for every key of our ``state_dict`` (by inverting the renames)."""
    names: dict[str, str] = {}
    for ours in state_dict:
        key = ours
        key = re.sub(r"^patch_embed\.", "net.x_embedder.proj.1.", key)
        key = re.sub(r"^pos_embed\.", "net.extra_pos_embedder.", key)
        key = re.sub(r"^time_embed\.", "net.t_embedder.1.", key)
        key = re.sub(r"^time_norm\.", "net.affline_norm.", key)
        for j, sub in _SUB.items():
            key = re.sub(rf"^blocks\.(\d+)\.{sub}\.", rf"net.blocks.block\1.blocks.{j}.", key)
        key = key.replace(".adaln.down.", ".adaLN_modulation.1.").replace(
            ".adaln.up.", ".adaLN_modulation.2."
        )
        for ours_name, theirs in (
            ("query_norm", "to_q.1"),
            ("key_norm", "to_k.1"),
            ("query", "to_q.0"),
            ("key", "to_k.0"),
            ("value", "to_v.0"),
            ("out", "to_out.0"),
        ):
            key = key.replace(f".op.{ours_name}.", f".block.attn.{theirs}.")
        key = key.replace(".op.fc1.", ".block.layer1.").replace(".op.fc2.", ".block.layer2.")
        key = re.sub(r"^final_layer\.", "net.final_layer.", key)
        key = re.sub(r"^action_embed\.to_emb\.(fc[12])\.", r"net.action_embedder_B_D.\1.", key)
        key = re.sub(r"^action_embed\.to_adaln_lora\.(fc[12])\.", r"net.action_embedder_B_3D.\1.", key)
        key = re.sub(r"^token_embed\.", "net.token_embedder.", key)
        key = re.sub(r"^view_embed\.", "net.view_embeddings.", key)
        key = re.sub(r"^frame_repeat_embed\.", "net.repeat_frame_embedding.", key)
        key = re.sub(r"^trajectory_embed\.", "net.traj_embeddings.", key)
        key = re.sub(r"^logvar\.linear\.", "logvar.1.", key)
        key = re.sub(r"^logvar\.(freqs|phases)$", r"logvar.0.\1", key)
        names[key] = ours
    return names


class DiffusersDiTAdapter(StateDictAdapter):
    """diffusers ``CosmosTransformer3DModel`` (Cosmos-1.0 layout, spec §12) -> our :class:`DiT` keys.

    diffusers drops the training-only ``logvar`` head; :func:`load_foreign_dit` fills it with a fresh one.
    """

    rename = (
        (r"^patch_embed\.proj\.", "patch_embed."),
        (r"^learnable_pos_embed\.", "pos_embed."),
        (r"^time_embed\.t_embedder\.", "time_embed."),
        (r"^time_embed\.norm\.", "time_norm."),
        (r"^transformer_blocks\.(\d+)\.norm1\.linear_1\.", r"blocks.\1.self_attn.adaln.down."),
        (r"^transformer_blocks\.(\d+)\.norm1\.linear_2\.", r"blocks.\1.self_attn.adaln.up."),
        (r"^transformer_blocks\.(\d+)\.norm2\.linear_1\.", r"blocks.\1.cross_attn.adaln.down."),
        (r"^transformer_blocks\.(\d+)\.norm2\.linear_2\.", r"blocks.\1.cross_attn.adaln.up."),
        (r"^transformer_blocks\.(\d+)\.norm3\.linear_1\.", r"blocks.\1.mlp.adaln.down."),
        (r"^transformer_blocks\.(\d+)\.norm3\.linear_2\.", r"blocks.\1.mlp.adaln.up."),
        (r"^transformer_blocks\.(\d+)\.attn1\.", r"blocks.\1.self_attn.op."),
        (r"^transformer_blocks\.(\d+)\.attn2\.", r"blocks.\1.cross_attn.op."),
        (r"^transformer_blocks\.(\d+)\.ff\.net\.0\.proj\.", r"blocks.\1.mlp.op.fc1."),
        (r"^transformer_blocks\.(\d+)\.ff\.net\.2\.", r"blocks.\1.mlp.op.fc2."),
        (r"\.op\.to_q\.", ".op.query."),
        (r"\.op\.to_k\.", ".op.key."),
        (r"\.op\.to_v\.", ".op.value."),
        (r"\.op\.norm_q\.", ".op.query_norm."),
        (r"\.op\.norm_k\.", ".op.key_norm."),
        (r"\.op\.to_out\.0\.", ".op.out."),
        (r"^norm_out\.linear_1\.", "final_layer.adaln.down."),
        (r"^norm_out\.linear_2\.", "final_layer.adaln.up."),
        (r"^proj_out\.", "final_layer.linear."),
    )


def fresh_logvar_state(num_features: int = 128, seed: int = 0) -> dict[str, Tensor]:
    """A deterministic new uncertainty head (zero weight: plain EDM weighting until trained)."""
    from .edm import UncertaintyWeight

    generator = torch.Generator().manual_seed(seed)
    head = UncertaintyWeight(num_features, generator=generator)
    return {f"logvar.{k}": v for k, v in head.state_dict().items()}


def _read_any_state_dict(folder: Path) -> tuple[dict[str, Tensor], Path]:
    """The first weight file found in ``folder`` (safetensors preferred, sharded index supported)."""
    candidates = [
        "model.safetensors",
        "diffusion_pytorch_model.safetensors",
        "model.pt",
        "model.pth",
    ]
    for name in candidates:
        path = folder / name
        if path.exists():
            return load_state_dict_file(path), path
    for index_name in ("model.safetensors.index.json", "diffusion_pytorch_model.safetensors.index.json"):
        index = folder / index_name
        if index.exists():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            state: dict[str, Tensor] = {}
            for shard in shards:
                state.update(load_state_dict_file(folder / shard))
            return state, index
    pts = sorted(folder.glob("*.pt"))
    if len(pts) == 1:
        return load_state_dict_file(pts[0]), pts[0]
    found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    raise CheckpointError(f"no DiT weights found in {folder} (files: {found})")


def load_foreign_dit(folder: Any, config: Any, model_class: Any = None) -> tuple[Any, dict[str, Tensor]]:
    """Read an official or diffusers DiT checkpoint folder; return ``(config, state dict in our keys)``.

    ``model_class`` (default :class:`DiT`) turns ``config`` into its config (``coerce_config``), e.g.
    :class:`cosmos.diffusion.DiffusionDecoderDiT`.

    Raises:
        CheckpointError: no weights, unknown key layout, or an official checkpoint without ``config``.
    """
    if model_class is None:
        from .dit import DiT as model_class

    folder = Path(folder)
    if (folder / "transformer").is_dir() and not any(folder.glob("*.safetensors")):
        folder = folder / "transformer"
    state, path = _read_any_state_dict(folder)
    if any(k.startswith(("net.", "model.net.")) for k in state):
        if config is None:
            raise CheckpointError(
                f"{path} is an official NVIDIA checkpoint, which carries no architecture: pass config= "
                "(a preset name such as 'Cosmos-1.0-Diffusion-7B-Text2World', a DiTConfig, or the official net kwargs)"
            )
        converted = OfficialDiTAdapter().convert(state)
        if not any(k.startswith("logvar.") for k in converted):
            converted.update(fresh_logvar_state())
        return model_class.coerce_config(config), converted
    if any(k.startswith("transformer_blocks.") for k in state):
        if config is None:
            config_file = folder / "config.json"
            if not config_file.exists():
                raise CheckpointError(
                    f"diffusers checkpoint {path} has no config.json next to it; pass config="
                )
            config = json.loads(config_file.read_text())
        converted = DiffusersDiTAdapter().convert(state)
        converted.update(fresh_logvar_state())
        return model_class.coerce_config(config), converted
    if any(k.startswith("blocks.0.") for k in state):
        if config is None:
            raise CheckpointError(f"{path} holds our keys but no config.json; pass config=")
        return model_class.coerce_config(config), state
    raise CheckpointError(f"{path}: unrecognised DiT key layout (first keys: {sorted(state)[:5]})")


def to_diffusers(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """Our :class:`DiT` keys -> diffusers keys (drops ``logvar.*``, which diffusers does not have)."""
    out: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        if key.startswith("logvar."):
            continue
        new = key
        new = re.sub(r"^patch_embed\.", "patch_embed.proj.", new)
        new = re.sub(r"^pos_embed\.", "learnable_pos_embed.", new)
        new = re.sub(r"^time_embed\.", "time_embed.t_embedder.", new)
        new = re.sub(r"^time_norm\.", "time_embed.norm.", new)
        for index, sub in _DIFFUSERS_SUB.items():
            new = re.sub(
                rf"^blocks\.(\d+)\.{sub}\.adaln\.down\.", rf"transformer_blocks.\1.norm{index}.linear_1.", new
            )
            new = re.sub(
                rf"^blocks\.(\d+)\.{sub}\.adaln\.up\.", rf"transformer_blocks.\1.norm{index}.linear_2.", new
            )
        new = re.sub(r"^blocks\.(\d+)\.self_attn\.op\.", r"transformer_blocks.\1.attn1.", new)
        new = re.sub(r"^blocks\.(\d+)\.cross_attn\.op\.", r"transformer_blocks.\1.attn2.", new)
        new = re.sub(r"^blocks\.(\d+)\.mlp\.op\.fc1\.", r"transformer_blocks.\1.ff.net.0.proj.", new)
        new = re.sub(r"^blocks\.(\d+)\.mlp\.op\.fc2\.", r"transformer_blocks.\1.ff.net.2.", new)
        for ours, theirs in (
            ("query_norm", "norm_q"),
            ("key_norm", "norm_k"),
            ("query", "to_q"),
            ("key", "to_k"),
            ("value", "to_v"),
            ("out", "to_out.0"),
        ):
            new = re.sub(rf"\.(attn[12])\.{ours}\.", rf".\1.{theirs}.", new)
        new = re.sub(r"^final_layer\.adaln\.down\.", "norm_out.linear_1.", new)
        new = re.sub(r"^final_layer\.adaln\.up\.", "norm_out.linear_2.", new)
        new = re.sub(r"^final_layer\.linear\.", "proj_out.", new)
        out[new] = value
    return out
