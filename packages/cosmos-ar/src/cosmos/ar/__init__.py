"""cosmos.ar: the Cosmos autoregressive video world models (spec: shared/spec/autoregressive.md).

A Llama-style transformer over discrete video tokens with 3D RoPE/APE, a static KV cache, Medusa speculative
decoding, and :class:`ARWFM`, which pairs the transformer with a discrete video tokenizer.
"""

from .generate import DecodeStats, generate
from .medusa import (
    MedusaHeads,
    add_medusa_heads,
    medusa_distillation_loss,
    medusa_generate,
    self_distillation_sequences,
)
from .model import (
    PRESETS,
    KVCache,
    ReferenceStateDictAdapter,
    RMSNorm,
    Transformer,
    TransformerConfig,
    z_loss,
)
from .world_model import ARWFM, ARGeneration

__version__ = "0.1.0"

__all__ = [
    "ARWFM",
    "ARGeneration",
    "DecodeStats",
    "MedusaHeads",
    "PRESETS",
    "KVCache",
    "RMSNorm",
    "ReferenceStateDictAdapter",
    "Transformer",
    "TransformerConfig",
    "add_medusa_heads",
    "generate",
    "medusa_distillation_loss",
    "medusa_generate",
    "self_distillation_sequences",
    "z_loss",
]
