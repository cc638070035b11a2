"""T5 text encoder for the diffusion world model (spec §6), over transformers' ``T5EncoderModel``.

Cosmos-1.0 conditions on the encoder of **google-t5/t5-11b** (d_model 1024; not t5-v1_1-xxl), with 512
tokens: the prompt is tokenised with truncation and EOS, padded to 512, encoded with its attention mask,
and every position at or beyond the prompt length is set to exactly 0 (the DiT does not mask them).
Needs the ``[t5]`` extra (transformers, sentencepiece).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

T5_NAME = "google-t5/t5-11b"
MAX_LENGTH = 512


class T5TextEncoder(nn.Module):
    """Prompts -> zero-padded T5 embeddings ``[B, max_length, d_model]`` (spec §6).

    Args:
        encoder: a ``transformers.T5EncoderModel``.
        tokenizer: its tokenizer (``T5TokenizerFast`` / ``T5Tokenizer``; appends EOS).
        max_length: tokens per prompt (512 for Cosmos).
    """

    def __init__(self, encoder: nn.Module, tokenizer: Any, *, max_length: int = MAX_LENGTH) -> None:
        super().__init__()
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.max_length = max_length

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str = T5_NAME,
        *,
        max_length: int = MAX_LENGTH,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> T5TextEncoder:
        """Load tokenizer and encoder weights with transformers (Hub id or local folder).

        The reference runs the encoder in float32 and casts the output later (spec §6).

        Raises:
            ImportError: transformers is not installed (``pip install cosmos-diffusion[t5]``).
        """
        try:
            from transformers import AutoTokenizer, T5EncoderModel
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(
                "T5TextEncoder needs transformers: pip install 'cosmos-diffusion[t5]'"
            ) from error
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        encoder = T5EncoderModel.from_pretrained(name_or_path, torch_dtype=dtype)
        return cls(encoder, tokenizer, max_length=max_length).to(device or "cpu").eval()

    @property
    def embed_dim(self) -> int:
        return int(self.encoder.config.d_model)

    @torch.no_grad()
    def encode(self, prompts: Sequence[str]) -> Tensor:
        """Encode prompts.

        Args:
            prompts: ``B`` strings.

        Returns:
            float32 ``[B, max_length, d_model]``; rows at or beyond each prompt's token count (EOS included)
            are exactly 0.

        Raises:
            ValueError: empty list or a non-string prompt.
        """
        if isinstance(prompts, str):
            prompts = [prompts]
        if not prompts or not all(isinstance(p, str) for p in prompts):
            raise ValueError("prompts must be a non-empty list of strings")
        device = next(self.encoder.parameters()).device
        batch = self.tokenizer(
            list(prompts),
            max_length=self.max_length,
            padding="max_length",
            truncation=True,
            return_tensors="pt",
            return_length=True,
        )
        input_ids = batch["input_ids"].to(device)
        attention_mask = batch["attention_mask"].to(device)
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.float()
        lengths = attention_mask.sum(dim=1)  # [B]
        keep = torch.arange(hidden.shape[1], device=device)[None, :] < lengths[:, None]  # [B, S]
        return hidden * keep[..., None]
