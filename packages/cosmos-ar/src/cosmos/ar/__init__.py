"""cosmos.ar: the Cosmos autoregressive video world models (spec: shared/spec/autoregressive.md).

A Llama-style transformer over discrete video tokens with 3D RoPE/APE, a static KV cache, Medusa speculative
decoding, and :class:`ARWFM`, which pairs the transformer with a discrete video tokenizer.
"""

from .model import PRESETS, KVCache, ReferenceStateDictAdapter, RMSNorm, Transformer, TransformerConfig, z_loss

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "KVCache",
    "RMSNorm",
    "ReferenceStateDictAdapter",
    "Transformer",
    "TransformerConfig",
    "z_loss",
]
