"""The Cosmos autoregressive video transformer (spec §3): a Llama-3-style decoder over discrete video tokens.

RMSNorm pre-norm blocks, SwiGLU MLPs, grouped-query attention with QK RMSNorm, 3D RoPE over the latent
``(t, h, w)`` grid (YaRN-extended for 12B/13B), and for the Video2World models a 3D sinusoidal absolute position
embedding re-added before every block plus cross-attention to T5 text embeddings.

Public entry points: :class:`TransformerConfig` (with :data:`PRESETS`), :class:`Transformer`, :func:`z_loss`,
:class:`ReferenceStateDictAdapter` (NVIDIA ``model.pt`` key names -> ours).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cosmos.core import (
    CheckpointError,
    PretrainedMixin,
    ShapeError,
    StateDictAdapter,
    attention,
    config_from_dict,
    is_cosmos_layout,
    load_state_dict_file,
    resolve_pretrained,
)

from .action import ActionEmbedding
from .medusa import MedusaHeads
from .position import YarnConfig, ape_table, apply_rope, rope_table

__all__ = [
    "TransformerConfig",
    "PRESETS",
    "Transformer",
    "RMSNorm",
    "KVCache",
    "z_loss",
    "ReferenceStateDictAdapter",
]

QK_NORM_EPS = 1e-5  # the reference attention module's own default, never wired to `norm_eps` (spec §3.4)
TRAINING_TYPES = ("video_to_video", "text_to_video")


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


@dataclass(frozen=True)
class TransformerConfig:
    """Architecture of a Cosmos AR transformer (spec §3.1). Field names follow NVIDIA's ``ModelConfig``.

    Attributes:
        dim: model width ``d``.
        n_layers: number of blocks.
        n_heads, n_kv_heads: query heads and key/value heads (GQA; KV head ``j`` serves query heads
            ``j*g .. j*g+g-1``, ``g = n_heads / n_kv_heads``).
        head_dim: per-head width; ``None`` means ``dim // n_heads`` (12B/13B set 128 explicitly).
        ffn_hidden_size: SwiGLU hidden width.
        norm_eps: RMSNorm epsilon of the block and final norms (QK-norms always use 1e-5).
        rope_theta: RoPE base.
        vocab_size: video vocabulary = output (logit) rows (64000 for DV8x16x16).
        training_type: ``"video_to_video"`` (base: no special tokens) or ``"text_to_video"`` (Video2World: one
            ``<bov>`` token with id ``vocab_size`` in front; embedding rows ``round_up(vocab_size + 1, 64)``).
        video_latent_shape: token grid ``(T, H, W)`` of one clip (5, 40, 64 for 33 frames at 640x1024).
        pad_to_multiple_of: ``max_seq_len`` is the sequence length rounded up to this.
        max_seq_len: length of the RoPE/APE tables and KV caches; ``None`` derives it from the above.
        apply_abs_pos_emb: add the 3D sinusoidal APE before every block (5B/13B).
        apply_yarn, yarn_scale, yarn_beta_fast, yarn_beta_slow, original_latent_shape: YaRN (12B/13B, §3.6).
        insert_cross_attn, insert_cross_attn_every_k_layers, context_dim: T5 cross-attention (5B/13B, §3.8).
        num_medusa_heads, medusa_num_layers, medusa_shared_output: optional Medusa heads (spec §6.2); 0 = none.
        action_dim, action_hidden, action_steps: action conditioning (:class:`cosmos.ar.action.ActionEmbedding`):
            components of one action (0 = none), MLP width, most actions a clip (``clip_frames - 1``). The embedded
            actions are the cross-attention context, so ``insert_cross_attn`` must be on.
    """

    dim: int = 4096
    n_layers: int = 16
    n_heads: int = 32
    n_kv_heads: int = 8
    head_dim: int | None = None
    ffn_hidden_size: int = 14336
    norm_eps: float = 1e-5
    rope_theta: float = 500000.0
    vocab_size: int = 64000
    training_type: str = "video_to_video"
    video_latent_shape: tuple[int, int, int] = (5, 40, 64)
    pad_to_multiple_of: int = 64
    max_seq_len: int | None = None
    apply_abs_pos_emb: bool = False
    apply_yarn: bool = False
    yarn_scale: float = 2.0
    yarn_beta_fast: float = 4.0
    yarn_beta_slow: float = 1.0
    original_latent_shape: tuple[int, int, int] = (3, 40, 64)
    insert_cross_attn: bool = False
    insert_cross_attn_every_k_layers: int = 1
    context_dim: int = 1024
    num_medusa_heads: int = 0
    medusa_num_layers: int = 1
    medusa_shared_output: bool = True
    action_dim: int = 0
    action_hidden: int = 256
    action_steps: int = 0

    def __post_init__(self) -> None:
        if self.action_dim and (not self.insert_cross_attn or self.action_steps < 1):
            raise ValueError("action_dim > 0 needs insert_cross_attn=True and action_steps >= 1")
        if self.training_type not in TRAINING_TYPES:
            raise ValueError(f"training_type must be one of {TRAINING_TYPES}, got {self.training_type!r}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads={self.n_heads} is not a multiple of n_kv_heads={self.n_kv_heads}")
        if self.head_dim is None and self.dim % self.n_heads:
            raise ValueError(f"dim={self.dim} is not a multiple of n_heads={self.n_heads}; set head_dim")
        if len(self.video_latent_shape) != 3:
            raise ValueError(f"video_latent_shape must be (T, H, W), got {self.video_latent_shape}")
        if self.max_seq_len is not None and self.max_seq_len < self.seq_len:
            raise ValueError(f"max_seq_len={self.max_seq_len} < sequence length {self.seq_len}")

    @property
    def attention_head_dim(self) -> int:
        """Resolved head dim: ``head_dim`` or ``dim // n_heads``."""
        return self.head_dim if self.head_dim is not None else self.dim // self.n_heads

    @property
    def has_bov(self) -> bool:
        """True for Video2World models (a ``<bov>`` token is prepended)."""
        return self.training_type == "text_to_video"

    @property
    def bov_id(self) -> int | None:
        """Id of ``<bov>`` (= ``vocab_size``) for Video2World models, else ``None``."""
        return self.vocab_size if self.has_bov else None

    @property
    def embedding_rows(self) -> int:
        """Input embedding rows: ``vocab_size`` (base) or ``round_up(vocab_size + 1, 64)`` (Video2World)."""
        return _round_up(self.vocab_size + 1, 64) if self.has_bov else self.vocab_size

    @property
    def tokens_per_frame(self) -> int:
        """Tokens per latent frame, ``H * W`` (2560 for the released models)."""
        return self.video_latent_shape[1] * self.video_latent_shape[2]

    @property
    def seq_len(self) -> int:
        """Full sequence length: ``T * H * W`` video tokens (+1 for ``<bov>``)."""
        frames, height, width = self.video_latent_shape
        return frames * height * width + int(self.has_bov)

    @property
    def resolved_max_seq_len(self) -> int:
        """Table / cache length: ``max_seq_len`` or ``seq_len`` rounded up to ``pad_to_multiple_of``."""
        if self.max_seq_len is not None:
            return self.max_seq_len
        return _round_up(self.seq_len, self.pad_to_multiple_of)

    @property
    def yarn(self) -> YarnConfig | None:
        """The YaRN settings, or ``None`` when ``apply_yarn`` is off."""
        if not self.apply_yarn:
            return None
        return YarnConfig(
            scale=self.yarn_scale,
            beta_fast=self.yarn_beta_fast,
            beta_slow=self.yarn_beta_slow,
            original_latent_shape=tuple(self.original_latent_shape),
        )


_BASE_4B = TransformerConfig(dim=4096, n_layers=16, n_heads=32, n_kv_heads=8, ffn_hidden_size=14336)
_BASE_12B = TransformerConfig(
    dim=5120, n_layers=40, n_heads=32, n_kv_heads=8, head_dim=128, ffn_hidden_size=14336, apply_yarn=True
)
_VIDEO2WORLD = dict(
    training_type="text_to_video", apply_abs_pos_emb=True, insert_cross_attn=True, context_dim=1024
)

#: Released architectures (spec §3.1), keyed by the published checkpoint names (Cosmos 1.0 and Predict1).
PRESETS: dict[str, TransformerConfig] = {
    "Cosmos-1.0-Autoregressive-4B": _BASE_4B,
    "Cosmos-1.0-Autoregressive-5B-Video2World": dataclasses.replace(_BASE_4B, **_VIDEO2WORLD),
    "Cosmos-1.0-Autoregressive-12B": _BASE_12B,
    "Cosmos-1.0-Autoregressive-13B-Video2World": dataclasses.replace(_BASE_12B, **_VIDEO2WORLD),
}
PRESETS.update(
    {
        "Cosmos-Predict1-4B": PRESETS["Cosmos-1.0-Autoregressive-4B"],
        "Cosmos-Predict1-5B-Video2World": PRESETS["Cosmos-1.0-Autoregressive-5B-Video2World"],
        "Cosmos-Predict1-12B": PRESETS["Cosmos-1.0-Autoregressive-12B"],
        "Cosmos-Predict1-13B-Video2World": PRESETS["Cosmos-1.0-Autoregressive-13B-Video2World"],
    }
)

_CHECKPOINT_FILES = (
    "config.json",
    "model.pt",
    "model.safetensors",
    "model-*.safetensors",
    "model.safetensors.index.json",
)


def _preset_for_name(name: str) -> TransformerConfig | None:
    """The preset whose name ends ``name`` (a folder or Hub id), matching e.g. ``Autoregressive-4B`` or ``Predict1-4B``."""
    name = name.rstrip("/").split("/")[-1]
    for key, preset in PRESETS.items():
        if name == key or name.endswith("-" + key.split("-", 2)[-1]):
            return preset
    return None


# Keys of NVIDIA's ModelConfig / config.json that do not change the network (or are checked below).
_REFERENCE_ONLY_KEYS = frozenset(
    {
        "max_batch_size", "fuse_qkv", "causal_mask", "precision", "tokenizer", "ckpt_dir", "ckpt_path",
        "original_seq_len", "vision_encoder", "vision_encoder_in_channels", "mm_projector", "pytorch_rope_version",
        "num_video_frames", "video_height", "video_width", "norm_type", "use_qk_normalization", "rope_dim",
        "input_types", "model_type",
    }
)  # fmt: skip


def config_from_reference(values: dict[str, Any]) -> TransformerConfig:
    """Build a :class:`TransformerConfig` from NVIDIA's ``ModelConfig`` fields (plus ``training_type``).

    ``None`` values fall back to our defaults; reference-only keys (batch size, precision, checkpoint paths, ...)
    are ignored; ``norm_type`` must be ``rmsnorm``, ``rope_dim`` ``3D`` and QK-norm on.

    Raises:
        ValueError: on unknown keys or unsupported variants.
    """
    values = dict(values)
    if values.get("norm_type", "rmsnorm") != "rmsnorm":
        raise ValueError(f"only RMSNorm models are supported, got norm_type={values['norm_type']!r}")
    if values.get("rope_dim", "3D") != "3D":
        raise ValueError(f"only 3D RoPE is supported, got rope_dim={values['rope_dim']!r}")
    if not values.get("use_qk_normalization", True):
        raise ValueError("only models with QK-norm (use_qk_normalization=True) are supported")
    if "input_types" in values and "training_type" not in values:
        values["training_type"] = (
            "text_to_video" if "text_and_video" in values["input_types"] else "video_to_video"
        )
    field_names = {field.name for field in dataclasses.fields(TransformerConfig)}
    unknown = set(values) - field_names - _REFERENCE_ONLY_KEYS
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    kept = {key: value for key, value in values.items() if key in field_names and value is not None}
    for key in ("video_latent_shape", "original_latent_shape"):
        if key in kept:
            kept[key] = tuple(kept[key])
    return TransformerConfig(**kept)


class RMSNorm(nn.Module):
    """RMSNorm computed in float32 and cast back **before** the weight (spec §3.3).

    ``y = weight * cast(x32 * rsqrt(mean(x32^2) + eps))``. Input ``[..., dim]`` any float dtype; output same dtype.
    """

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        normed = F.rms_norm(x.float(), (x.shape[-1],), eps=self.eps)  # x32 * rsqrt(mean(x32^2) + eps)
        return self.weight * normed.type_as(x)


class KVCache(nn.Module):
    """Static key/value cache of one self-attention layer (gpt-fast style), spec §5.2.

    Buffers ``key``/``value``: ``[B, n_kv_heads, max_seq_len, head_dim]``; entries are written at absolute
    positions; unwritten or stale slots are masked by the caller's position mask.
    """

    def __init__(self, batch_size: int, n_kv_heads: int, max_seq_len: int, head_dim: int, *, device, dtype):
        super().__init__()
        shape = (batch_size, n_kv_heads, max_seq_len, head_dim)
        self.register_buffer("key", torch.zeros(shape, device=device, dtype=dtype), persistent=False)
        self.register_buffer("value", torch.zeros(shape, device=device, dtype=dtype), persistent=False)

    def update(self, input_pos: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """Write ``key``/``value`` ``[B, n_kv_heads, S, D]`` at ``input_pos`` ``[S]``; return the whole cache."""
        self.key.index_copy_(2, input_pos, key.to(self.key.dtype))
        self.value.index_copy_(2, input_pos, value.to(self.value.dtype))
        return self.key, self.value


class SelfAttention(nn.Module):
    """Causal GQA self-attention with QK RMSNorm before 3D RoPE (spec §3.4). No biases."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        head_dim = config.attention_head_dim
        self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, head_dim
        self.query = nn.Linear(config.dim, config.n_heads * head_dim, bias=False)
        self.key = nn.Linear(config.dim, config.n_kv_heads * head_dim, bias=False)
        self.value = nn.Linear(config.dim, config.n_kv_heads * head_dim, bias=False)
        self.out = nn.Linear(config.n_heads * head_dim, config.dim, bias=False)
        self.query_norm = RMSNorm(head_dim, QK_NORM_EPS)
        self.key_norm = RMSNorm(head_dim, QK_NORM_EPS)
        self.kv_cache: KVCache | None = None

    def forward(
        self, x: Tensor, cos: Tensor, sin: Tensor, input_pos: Tensor | None, mask: Tensor | None
    ) -> Tensor:
        """``x`` ``[B, S, dim]``; ``cos``/``sin`` ``[1, S, 1, head_dim]``; ``input_pos`` ``[S]`` (cache path) or
        ``None`` (plain causal pass); ``mask`` bool ``[1, 1, S, max_seq_len]`` for the cache path. -> ``[B, S, dim]``.
        """
        batch, seq, _ = x.shape
        query = self.query(x).view(batch, seq, self.n_heads, self.head_dim)
        key = self.key(x).view(batch, seq, self.n_kv_heads, self.head_dim)
        value = self.value(x).view(batch, seq, self.n_kv_heads, self.head_dim)
        query = apply_rope(self.query_norm(query), cos, sin)
        key = apply_rope(self.key_norm(key), cos, sin)
        # [B, S, heads, D] -> [B, heads, S, D]
        query, key, value = (t.transpose(1, 2) for t in (query, key, value))
        if self.kv_cache is not None and input_pos is not None:
            key, value = self.kv_cache.update(input_pos, key, value)
            out = grouped_attention(query, key.to(query.dtype), value.to(query.dtype), mask)
        else:
            out = attention(query, key, value, is_causal=True)
        return self.out(out.transpose(1, 2).reshape(batch, seq, self.n_heads * self.head_dim))


def grouped_attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None) -> Tensor:
    """GQA without copying keys/values: fold each KV head's query group into the query length.

    Query head ``h`` uses KV head ``h // g`` (repeat-interleave grouping, spec §3.4), so ``query``
    ``[B, heads, Lq, D]`` is viewed as ``[B, heads_kv, g * Lq, D]`` and attends to ``key``/``value``
    ``[B, heads_kv, Lk, D]`` directly; the mask ``[B|1, 1, Lq, Lk]`` is repeated over the group. Same numbers as
    :func:`cosmos.core.attention` with repeated keys, without materializing ``g`` copies of the cache per step.

    Returns:
        ``[B, heads, Lq, D]``.
    """
    batch, heads, length, head_dim = query.shape
    heads_kv = key.shape[1]
    group = heads // heads_kv
    folded = query.reshape(batch, heads_kv, group * length, head_dim)  # [B, KV, g * Lq, D]
    if mask is not None and mask.shape[-2] != 1:
        mask = mask.repeat(1, 1, group, 1)  # [.., Lq, Lk] -> [.., g * Lq, Lk], matching the fold order
    out = attention(folded, key, value, attn_mask=mask)
    return out.reshape(batch, heads, length, head_dim)


class CrossAttention(nn.Module):
    """GQA cross-attention to the text context with QK RMSNorm, no RoPE, no causal mask (spec §3.8)."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        head_dim = config.attention_head_dim
        self.n_heads, self.n_kv_heads, self.head_dim = config.n_heads, config.n_kv_heads, head_dim
        self.query = nn.Linear(config.dim, config.n_heads * head_dim, bias=False)
        self.key = nn.Linear(config.context_dim, config.n_kv_heads * head_dim, bias=False)
        self.value = nn.Linear(config.context_dim, config.n_kv_heads * head_dim, bias=False)
        self.out = nn.Linear(config.n_heads * head_dim, config.dim, bias=False)
        self.query_norm = RMSNorm(head_dim, QK_NORM_EPS)
        self.key_norm = RMSNorm(head_dim, QK_NORM_EPS)

    def project_context(self, context: Tensor) -> tuple[Tensor, Tensor]:
        """Context ``[B, L, context_dim]`` -> (key, value) ``[B, n_kv_heads, L, head_dim]`` (cacheable)."""
        batch, length, _ = context.shape
        key = self.key_norm(self.key(context).view(batch, length, self.n_kv_heads, self.head_dim))
        value = self.value(context).view(batch, length, self.n_kv_heads, self.head_dim)
        return key.transpose(1, 2), value.transpose(1, 2)

    def forward(self, x: Tensor, context_kv: tuple[Tensor, Tensor], mask: Tensor | None) -> Tensor:
        """``x`` ``[B, S, dim]``; ``context_kv`` from :meth:`project_context`; ``mask`` bool ``[B, 1, 1, L]``."""
        batch, seq, _ = x.shape
        query = self.query_norm(self.query(x).view(batch, seq, self.n_heads, self.head_dim)).transpose(1, 2)
        key, value = context_kv
        out = grouped_attention(query, key, value, mask)
        return self.out(out.transpose(1, 2).reshape(batch, seq, self.n_heads * self.head_dim))


class FeedForward(nn.Module):
    """SwiGLU MLP ``down(silu(gate(x)) * up(x))`` (spec §3.9; reference names w1 = gate, w3 = up, w2 = down)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.gate = nn.Linear(dim, hidden, bias=False)
        self.up = nn.Linear(dim, hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    """Pre-norm block: self-attention, optional cross-attention, SwiGLU MLP, each with a residual add (§3.2)."""

    def __init__(self, config: TransformerConfig, layer_index: int):
        super().__init__()
        self.attention_norm = RMSNorm(config.dim, config.norm_eps)
        self.attention = SelfAttention(config)
        self.has_cross_attention = (
            config.insert_cross_attn and layer_index % config.insert_cross_attn_every_k_layers == 0
        )
        if self.has_cross_attention:
            self.cross_attention_norm = RMSNorm(config.dim, config.norm_eps)
            self.cross_attention = CrossAttention(config)
        self.mlp_norm = RMSNorm(config.dim, config.norm_eps)
        self.mlp = FeedForward(config.dim, config.ffn_hidden_size)

    def forward(self, x, cos, sin, input_pos, mask, context_kv, context_mask) -> Tensor:
        x = x + self.attention(self.attention_norm(x), cos, sin, input_pos, mask)
        if self.has_cross_attention:
            x = x + self.cross_attention(self.cross_attention_norm(x), context_kv, context_mask)
        return x + self.mlp(self.mlp_norm(x))


class Transformer(PretrainedMixin, nn.Module):
    """Cosmos AR transformer (spec §3): tokens ``[B, S]`` -> logits ``[B, S, vocab_size]``.

    Loads our layout (``config.json`` + ``model.safetensors``) or NVIDIA's (``model.pt`` or a safetensors file with
    the released key names, ``model.`` prefix) through :meth:`from_pretrained`; for the latter pass ``config=`` (a
    :class:`TransformerConfig`, a preset name, or the reference ``ModelConfig`` dict plus ``training_type``).

    Decoding uses a static KV cache: call :meth:`setup_cache` once, then :meth:`forward` with ``input_pos``.
    """

    config_class = TransformerConfig

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.embedding_rows, config.dim)
        self.layers = nn.ModuleList(Block(config, index) for index in range(config.n_layers))
        self.norm = RMSNorm(config.dim, config.norm_eps)
        self.output = nn.Linear(config.dim, config.vocab_size, bias=False)
        self.medusa_heads = (
            MedusaHeads(
                config.dim,
                config.vocab_size,
                num_heads=config.num_medusa_heads,
                num_layers=config.medusa_num_layers,
                shared_output=config.medusa_shared_output,
            )
            if config.num_medusa_heads > 0
            else None
        )
        self.action_embedding = (
            ActionEmbedding(config.action_dim, config.action_hidden, config.context_dim, config.action_steps)
            if config.action_dim
            else None
        )
        max_seq_len, head_dim = config.resolved_max_seq_len, config.attention_head_dim
        # constant tables (not in checkpoints); computed now unless built on `meta`, else by the loader's hook
        self.register_buffer("rope_cos", torch.empty(max_seq_len, head_dim), persistent=False)
        self.register_buffer("rope_sin", torch.empty(max_seq_len, head_dim), persistent=False)
        if config.apply_abs_pos_emb:
            self.register_buffer(
                "ape", torch.empty(max_seq_len, config.dim, dtype=torch.bfloat16), persistent=False
            )
        if self.rope_cos.device.type != "meta":
            self._init_non_persistent_buffers()
        self._context_kv: list[tuple[Tensor, Tensor] | None] | None = None
        self._context_mask: Tensor | None = None

    # ------------------------------------------------------------------ construction and loading

    def _init_non_persistent_buffers(self) -> None:
        """(Re)compute the RoPE (float32) and APE (bfloat16) tables on the weights' device.

        Called by ``from_pretrained`` after a ``meta`` build (under ``torch.device(target)``).
        """
        config = self.config
        device = self.output.weight.device
        if device.type == "meta":
            device = torch.empty(0).device  # the loader's default-device context
        cos, sin = rope_table(
            config.attention_head_dim,
            config.video_latent_shape,
            config.resolved_max_seq_len,
            theta=config.rope_theta,
            yarn=config.yarn,
            has_bov=config.has_bov,
        )
        self.rope_cos, self.rope_sin = cos.to(device), sin.to(device)
        if config.apply_abs_pos_emb:
            self.ape = ape_table(
                config.dim, config.video_latent_shape, config.resolved_max_seq_len, has_bov=config.has_bov
            ).to(device)

    @classmethod
    def coerce_config(cls, config: Any) -> TransformerConfig:
        """Accept a :class:`TransformerConfig`, a :data:`PRESETS` name, our JSON dict, or NVIDIA's config dict."""
        if isinstance(config, TransformerConfig):
            return config
        if isinstance(config, str):
            if config not in PRESETS:
                raise ValueError(f"unknown preset {config!r}; choose from {sorted(PRESETS)}")
            return PRESETS[config]
        if isinstance(config, dict):
            field_names = {field.name for field in dataclasses.fields(TransformerConfig)}
            if set(config) <= field_names:
                return config_from_dict(TransformerConfig, config)
            return config_from_reference(config)
        raise TypeError(
            f"config must be a TransformerConfig, preset name or dict, got {type(config).__name__}"
        )

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
    ) -> Transformer:
        """Load our layout or NVIDIA's (a local folder or a Hub id such as ``nvidia/Cosmos-1.0-Autoregressive-4B``).

        Hub repos are fetched with only the files needed (``config.json``, ``model.pt`` / safetensors), not the
        ``nemo/`` copy of the weights. For an NVIDIA checkpoint without ``config=``, the architecture comes from
        the repo or folder name when it ends with a :data:`PRESETS` name, else from NVIDIA's ``config.json``.

        Raises:
            CheckpointError: missing / unexpected / mis-shaped keys (listed), unreadable files, unknown architecture.
        """
        folder = resolve_pretrained(
            name_or_path, revision=revision, cache_dir=cache_dir, allow_patterns=list(_CHECKPOINT_FILES)
        )
        if config is None and not is_cosmos_layout(folder):
            config = _preset_for_name(os.fspath(name_or_path))
        return super().from_pretrained(folder, config=config, device=device, dtype=dtype)

    @classmethod
    def load_foreign(cls, folder: Path, config: TransformerConfig | None) -> tuple[TransformerConfig, dict]:
        """Load NVIDIA's layout: ``model.pt`` (or ``model.safetensors`` with the released key names).

        Without ``config``, reads NVIDIA's ``config.json`` if present, else picks the preset whose name ends the
        folder name (e.g. ``.../Cosmos-1.0-Autoregressive-4B``).

        Raises:
            CheckpointError: no weights file, or no way to tell the architecture.
        """
        folder = Path(folder)
        candidates = [folder / name for name in ("model.safetensors", "model.pt", "model.pth")]
        weights = next((path for path in candidates if path.is_file()), None)
        if weights is None:
            found = sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []
            raise CheckpointError(f"no model.safetensors or model.pt in {folder} (found: {found})")
        if config is None:
            config = cls._guess_config(folder)
        state_dict = ReferenceStateDictAdapter().convert(load_state_dict_file(weights))
        return config, state_dict

    @classmethod
    def _guess_config(cls, folder: Path) -> TransformerConfig:
        config_file = folder / "config.json"
        if config_file.is_file():
            try:
                return config_from_reference(json.loads(config_file.read_text()))
            except (ValueError, TypeError) as error:
                reason = f"its config.json could not be read ({error})"
        else:
            reason = "it has no config.json"
        preset = _preset_for_name(folder.resolve().name)
        if preset is not None:
            return preset
        raise CheckpointError(f"cannot tell the architecture of {folder}: {reason}; pass config=")

    # ------------------------------------------------------------------ caches

    def setup_cache(
        self,
        batch_size: int,
        max_seq_len: int | None = None,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        """Allocate static KV caches ``[batch_size, n_kv_heads, max_seq_len, head_dim]`` for every layer.

        ``max_seq_len`` defaults to the table length and must not exceed it. Clears any cached text context.
        """
        table_len = self.config.resolved_max_seq_len
        max_seq_len = table_len if max_seq_len is None else max_seq_len
        if max_seq_len > table_len:
            raise ShapeError(f"max_seq_len={max_seq_len} exceeds the model's position tables ({table_len})")
        device = device if device is not None else self.output.weight.device
        dtype = dtype if dtype is not None else self.output.weight.dtype
        config = self.config
        for layer in self.layers:
            layer.attention.kv_cache = KVCache(
                batch_size,
                config.n_kv_heads,
                max_seq_len,
                config.attention_head_dim,
                device=device,
                dtype=dtype,
            )
        self._context_kv, self._context_mask = None, None

    def move_cache(self, source: Tensor, target: Tensor) -> None:
        """Copy the cached keys/values of slots ``source`` to slots ``target`` (int64 ``[N]`` each), every layer.

        After a Medusa tree round the accepted nodes sit at their tree slots; this moves them to the slots of their
        sequence positions (the RoPE already applied to the keys is that of the positions, so a copy suffices).

        Raises:
            ShapeError: no KV cache is set up, or ``source`` / ``target`` are not 1-D integer tensors of one length.
        """
        if self.cache_len is None:
            raise ShapeError("move_cache needs a KV cache: call setup_cache(batch_size) first")
        if source.dim() != 1 or source.shape != target.shape or source.is_floating_point() or target.is_floating_point():
            raise ShapeError(
                f"source and target must be integer [N] slot indices of one length, got {tuple(source.shape)} "
                f"{source.dtype} and {tuple(target.shape)} {target.dtype}"
            )
        for layer in self.layers:
            cache = layer.attention.kv_cache
            for buffer in (cache.key, cache.value):
                buffer.index_copy_(2, target, buffer.index_select(2, source))

    def clear_cache(self) -> None:
        """Drop the KV caches and the cached text context (back to plain causal forward passes)."""
        for layer in self.layers:
            layer.attention.kv_cache = None
        self._context_kv, self._context_mask = None, None

    @property
    def cache_len(self) -> int | None:
        """Length of the allocated KV caches, or ``None`` when no cache is set up."""
        cache = self.layers[0].attention.kv_cache if len(self.layers) else None
        return None if cache is None else cache.key.shape[2]

    # ------------------------------------------------------------------ forward

    def embed_actions(self, actions: Tensor) -> Tensor:
        """Actions ``[B, N, action_dim]`` -> the cross-attention context ``[B, N, context_dim]`` (weights' dtype).

        Raises:
            ShapeError: the model takes no actions, or bad actions (see :class:`ActionEmbedding`).
        """
        if self.action_embedding is None:
            raise ShapeError("this transformer takes no actions (action_dim 0)")
        return self.action_embedding(actions.to(self.output.weight.device))

    def check_inputs(
        self,
        tokens: Tensor,
        input_pos: Tensor | None = None,
        context: Tensor | None = None,
        context_mask: Tensor | None = None,
    ) -> None:
        """Validate :meth:`forward` inputs (shapes, dtypes, token id range, context width).

        Raises:
            ShapeError: with a message naming the problem.
        """
        config = self.config
        if tokens.dim() != 2 or tokens.dtype not in (torch.int64, torch.int32):
            raise ShapeError(f"tokens must be int64 [B, S], got {tuple(tokens.shape)} {tokens.dtype}")
        num_ids = config.vocab_size + int(config.has_bov)
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= num_ids):
            raise ShapeError(
                f"token ids must lie in [0, {num_ids}) (video vocab {config.vocab_size}"
                f"{', plus <bov>=' + str(config.bov_id) if config.has_bov else ''}), "
                f"got min {int(tokens.min())} max {int(tokens.max())}"
            )
        limit = self.cache_len or config.resolved_max_seq_len
        if input_pos is None:
            if tokens.shape[1] > config.resolved_max_seq_len:
                raise ShapeError(f"{tokens.shape[1]} tokens exceed max_seq_len={config.resolved_max_seq_len}")
        else:
            if input_pos.shape != (tokens.shape[1],):
                raise ShapeError(f"input_pos must be [S]={tokens.shape[1]}, got {tuple(input_pos.shape)}")
            if self.cache_len is None:
                raise ShapeError("input_pos given but no KV cache: call setup_cache(batch_size) first")
            if int(input_pos.min()) < 0 or int(input_pos.max()) >= limit:
                raise ShapeError(f"input_pos must lie in [0, {limit}), got max {int(input_pos.max())}")
            cache_batch = self.layers[0].attention.kv_cache.key.shape[0]
            if tokens.shape[0] != cache_batch:
                raise ShapeError(f"batch {tokens.shape[0]} != KV cache batch {cache_batch}")
        if context is not None:
            if not config.insert_cross_attn:
                raise ShapeError("this model has no cross-attention; context must be None")
            if (
                context.dim() != 3
                or context.shape[0] != tokens.shape[0]
                or context.shape[2] != config.context_dim
            ):
                raise ShapeError(
                    f"context must be [B={tokens.shape[0]}, L, context_dim={config.context_dim}], "
                    f"got {tuple(context.shape)}"
                )
            if context_mask is not None and tuple(context_mask.shape) != tuple(context.shape[:2]):
                raise ShapeError(
                    f"context_mask must be [B, L]={tuple(context.shape[:2])}, got {tuple(context_mask.shape)}"
                )
        elif config.insert_cross_attn and self._context_kv is None:
            raise ShapeError("this Video2World model needs context (text embeddings [B, L, context_dim])")

    def forward(
        self,
        tokens: Tensor,
        input_pos: Tensor | None = None,
        context: Tensor | None = None,
        context_mask: Tensor | None = None,
    ) -> Tensor:
        """Logits of the next token at every position (spec §3.2), with input validation.

        Args:
            tokens: int64 ``[B, S]``; video ids in ``[0, vocab_size)``, ``<bov>`` = ``vocab_size`` (Video2World).
            input_pos: int64 ``[S]`` absolute positions, using and filling the KV cache (:meth:`setup_cache`);
                ``None`` = a plain causal pass over positions ``0 .. S-1`` without cache.
            context: float ``[B, L, context_dim]`` T5 embeddings (Video2World). With a cache, the projected
                context is kept and later calls may pass ``None``.
            context_mask: bool ``[B, L]``, True = attend. The released pipeline passes all True (default).
        Returns:
            ``[B, S, vocab_size]`` in the model dtype.
        Raises:
            ShapeError: bad shapes, token ids out of range, wrong context width, missing context or cache.
        """
        self.check_inputs(tokens, input_pos, context, context_mask)
        return self.output(self.hidden_states(tokens, input_pos, context, context_mask))

    def hidden_states(
        self,
        tokens: Tensor,
        input_pos: Tensor | None = None,
        context: Tensor | None = None,
        context_mask: Tensor | None = None,
        tree_mask: Tensor | None = None,
    ) -> Tensor:
        """Final hidden state after the last RMSNorm, ``[B, S, dim]`` (what the output layer and Medusa heads read).

        No input validation (compile-friendly hot path); see :meth:`forward` for the arguments.

        ``tree_mask`` (cache path only) runs a token *tree* instead of a chain (Medusa tree attention, Cai et al.
        2024 §2.1.2): bool ``[S, S]``, True where token ``i`` may attend to token ``j`` (its ancestors and itself).
        ``input_pos`` then holds the RoPE positions (the cache length plus each node's depth) and the ``S`` tokens
        are written to the consecutive cache slots ``input_pos[0] .. input_pos[0] + S - 1``; every token also sees
        the cache before ``input_pos[0]``. Use :meth:`move_cache` to put an accepted path's keys in place.
        """
        seq = tokens.shape[1]
        if input_pos is None:
            cos, sin = self.rope_cos[:seq], self.rope_sin[:seq]
            ape = self.ape[:seq] if self.config.apply_abs_pos_emb else None
        else:
            cos, sin = self.rope_cos[input_pos], self.rope_sin[input_pos]
            ape = self.ape[input_pos] if self.config.apply_abs_pos_emb else None
        cache_len = self.cache_len
        if input_pos is not None and cache_len is not None:
            slots = torch.arange(cache_len, device=tokens.device)
            if tree_mask is None:
                mask = (slots[None, :] <= input_pos[:, None])[None, None]  # [1, 1, S, cache_len]
            else:
                input_pos = input_pos[0] + torch.arange(seq, device=tokens.device)  # cache slots of the tree nodes
                mask = (slots < input_pos[0]).expand(seq, cache_len).clone()
                mask[:, input_pos] = tree_mask
                mask = mask[None, None]  # [1, 1, S, cache_len]
        else:  # no cache: a plain causal pass (at `input_pos` rows of the tables when given)
            input_pos, mask = None, None
        context_kv, context_mask = self._context(context, context_mask, cache=input_pos is not None)
        x = self.token_embedding(tokens)
        # [S, D] -> [1, S, 1, D] in the activation dtype, once for all layers (the reference casts to it too)
        cos, sin = cos[None, :, None, :].to(x.dtype), sin[None, :, None, :].to(x.dtype)
        for index, layer in enumerate(self.layers):
            if ape is not None:
                x = x + ape.to(x.dtype)  # re-added before every block (spec §3.2)
            x = layer(x, cos, sin, input_pos, mask, context_kv[index], context_mask)
        return self.norm(x)

    def _context(self, context, context_mask, *, cache: bool):
        """Project the context once per layer; keep it alongside the KV cache for later decode calls."""
        if context is None:
            if self._context_kv is None:
                return [None] * len(self.layers), None
            return self._context_kv, self._context_mask
        context = context.to(self.output.weight.dtype)
        context_kv = [
            layer.cross_attention.project_context(context) if layer.has_cross_attention else None
            for layer in self.layers
        ]
        if context_mask is not None:
            context_mask = context_mask.to(torch.bool)[:, None, None, :]  # [B, L] -> [B, 1, 1, L]
        if cache and self.cache_len is not None:
            self._context_kv, self._context_mask = context_kv, context_mask
        return context_kv, context_mask


def z_loss(logits: Tensor, coeff: float = 1e-4) -> Tensor:
    """Auxiliary z-loss ``coeff * mean(logsumexp(logits)^2)`` over all positions (spec §3.10), float32 scalar.

    Args:
        logits: ``[..., vocab]`` any float dtype.
    """
    return coeff * torch.logsumexp(logits.float(), dim=-1).pow(2).mean()


class ReferenceStateDictAdapter(StateDictAdapter):
    """NVIDIA ``model.pt`` key names -> ours (spec §4).

    Strips the ``model.`` prefix, drops TransformerEngine ``_extra_state`` entries, and renames
    ``tok_embeddings -> token_embedding``, ``{wq, wk, wv, wo} -> {query, key, value, out}``,
    ``{q_norm, k_norm} -> {query_norm, key_norm}``, ``feed_forward.{w1, w3, w2} -> mlp.{gate, up, down}``,
    ``ffn_norm -> mlp_norm`` (cross-attention keys alike). Medusa heads in the Medusa repository's layout
    (``medusa_head.{k}.{j}.linear.{weight,bias}`` ResBlocks, then ``medusa_head.{k}.{num_layers}.weight``, spec §6.2)
    map to ``medusa_heads.heads.{k}.blocks.{j}.linear.*`` and ``medusa_heads.heads.{k}.output.weight``.
    """

    drop = (r"_extra_state",)
    rename = (
        (r"^model\.", ""),
        (r"^tok_embeddings\.", "token_embedding."),
        (r"attention\.wq\.", "attention.query."),
        (r"attention\.wk\.", "attention.key."),
        (r"attention\.wv\.", "attention.value."),
        (r"attention\.wo\.", "attention.out."),
        (r"attention\.q_norm\.", "attention.query_norm."),
        (r"attention\.k_norm\.", "attention.key_norm."),
        (r"\.feed_forward\.w1\.", ".mlp.gate."),
        (r"\.feed_forward\.w3\.", ".mlp.up."),
        (r"\.feed_forward\.w2\.", ".mlp.down."),
        (r"\.ffn_norm\.", ".mlp_norm."),
        (r"^medusa_head\.(\d+)\.(\d+)\.linear\.", r"medusa_heads.heads.\1.blocks.\2.linear."),
        (r"^medusa_head\.(\d+)\.\d+\.weight$", r"medusa_heads.heads.\1.output.weight"),
    )

    def convert(self, state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
        """Official keys -> ours; tensors are passed through unchanged."""
        out: dict[str, Tensor] = {}
        for key, value in state_dict.items():
            if any(re.search(pattern, key) for pattern in self.drop):
                continue
            for pattern, replacement in self.rename:
                key = re.sub(pattern, replacement, key)
            out[key] = value
        return out
