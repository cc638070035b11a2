"""``ARWFM``: the autoregressive world foundation model = a discrete video tokenizer + the AR transformer.

``ARWFM.generate`` follows NVIDIA's input preparation (spec §2.4, §5.1): keep the last ``num_input_frames``
frames, pad to the clip length by repeating the last one, resize to cover the model's frame size and center-crop,
tokenize the whole clip (the tokenizer is causal, so padding does not change the context tokens), keep the context
latent frames' tokens as the prompt (after ``<bov>`` for Video2World), generate the rest, and decode all tokens.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from cosmos.core import (
    CheckpointError,
    ChunkedWorldModel,
    ShapeError,
    TokenGrid,
    VideoTokenizer,
    center_crop_video,
    check_video,
    frames_to_video,
    guard_text,
    guard_video,
    is_cosmos_layout,
    read_video,
    resize_video,
    resolve_guardrail,
    resolve_relative,
)

from .generate import DEFAULT_TEMPERATURE, DEFAULT_TOP_P, DecodeStats, generate
from .medusa import medusa_generate
from .model import Transformer

__all__ = ["ARWFM", "ARGeneration"]

#: ``text_encoder(prompts) -> embeddings [B, L, context_dim]`` (T5 states, zero past each prompt, spec §3.8), or an
#: object with that ``encode`` method (e.g. a T5TextEncoder).
TextEncoder = Callable[[list[str]], Tensor]


@dataclass(frozen=True)
class ARGeneration:
    """Result of :meth:`ARWFM.generate`.

    Attributes:
        video: float32 ``[B, 3, num_frames, H, W]`` in ``[-1, 1]``: the context frames re-decoded from their tokens,
            then the predicted frames.
        tokens: the full token grid ``[B, T', H', W']`` (context + generated).
        num_context_latent_frames: latent frames given by the input (1 for 1 frame, 2 for 9 frames with DV8x16x16).
        stats: decoding throughput and Medusa acceptance.
    """

    video: Tensor
    tokens: TokenGrid
    num_context_latent_frames: int
    stats: DecodeStats


class ARWFM(ChunkedWorldModel, nn.Module):
    """Autoregressive world model: ``tokenizer`` (any discrete :class:`cosmos.core.VideoTokenizer`) + ``lm``; a
    :class:`cosmos.core.WorldModel`.

    Roll-outs (``rollout``, ``encode_context`` / ``predict`` / ``decode``, from :class:`cosmos.core.ChunkedWorldModel`)
    continue a chunk from the tokens it already has (the KV-cached prompt is every whole latent frame so far) and
    start a new chunk from the last ``max(context_frames)`` frames once a clip is full. They decode greedily
    (``temperature=0``) unless told otherwise, so a batch of candidates equals the same candidates one by one.

    Args:
        tokenizer: encodes ``[B, 3, T, H, W]`` in [-1, 1] to a :class:`TokenGrid` and decodes it back.
        lm: the :class:`Transformer`; its ``video_latent_shape`` fixes the clip geometry (frames, size).
        text_encoder: optional callable for ``prompt=`` strings (Video2World); else pass ``text_embeddings``.
        fps: frame rate of the videos it predicts (24 for NVIDIA's release; ``config.json`` records ours).
        context_frames: context lengths it was trained with (default :attr:`allowed_input_frames`).
        tokenizer_name: how the saved folder names its tokenizer (a shipped name, Hub id or relative path).
        decoder: optional token decoder used instead of the tokenizer's own decoder (anything with
            ``decode(TokenGrid) -> video [B, 3, T, H, W]``, e.g. ``cosmos.diffusion.DiffusionTokenDecoder``: the
            paper's diffusion decoder, "AR gives control, diffusion gives quality"); tokens go in, never re-encoded
            pixels.
    """

    def __init__(
        self,
        tokenizer: VideoTokenizer,
        lm: Transformer,
        *,
        text_encoder: TextEncoder | None = None,
        fps: float = 24.0,
        context_frames: tuple[int, ...] | None = None,
        tokenizer_name: str | None = None,
        decoder: Any = None,
    ):
        super().__init__()
        if not isinstance(tokenizer, VideoTokenizer):
            raise TypeError(
                f"tokenizer must satisfy cosmos.core.VideoTokenizer, got {type(tokenizer).__name__}"
            )
        self.tokenizer = tokenizer
        self.lm = lm
        self.text_encoder = text_encoder
        self.fps = float(fps)
        self.tokenizer_name = tokenizer_name
        self.decoder = decoder
        self.context_frames = tuple(context_frames) if context_frames is not None else self.allowed_input_frames
        # True when loaded from NVIDIA's release: its licence requires the full guardrail (cosmos.core.safety)
        self.nvidia_checkpoint = False

    # ------------------------------------------------------------------ geometry

    @property
    def temporal_compression(self) -> int:
        return self.tokenizer.temporal_compression

    @property
    def spatial_compression(self) -> int:
        return self.tokenizer.spatial_compression

    @property
    def clip_frames(self) -> int:
        """Pixel frames of one full clip: ``1 + (T' - 1) * temporal_compression`` (33 for the released models)."""
        return 1 + (self.lm.config.video_latent_shape[0] - 1) * self.temporal_compression

    @property
    def frame_size(self) -> tuple[int, int]:
        """``(height, width)`` the model sees: ``(H' * s, W' * s)`` (640 x 1024 for the released models)."""
        _, height, width = self.lm.config.video_latent_shape
        return height * self.spatial_compression, width * self.spatial_compression

    @property
    def allowed_input_frames(self) -> tuple[int, int]:
        """Context lengths the models are trained for: 1 frame or ``1 + temporal_compression`` (1 or 9, §2.4)."""
        return 1, 1 + self.temporal_compression

    @property
    def resolution(self) -> tuple[int, int]:
        """``(H, W)`` of its frames: :attr:`frame_size` (the world-model contract's name)."""
        return self.frame_size

    @property
    def chunk_frames(self) -> int:
        """Pixel frames of one clip: :attr:`clip_frames`."""
        return self.clip_frames

    @property
    def action_dim(self) -> int:
        """Components of one action (0 for a model without action conditioning)."""
        return self.lm.config.action_dim

    @property
    def max_condition_frames(self) -> int:
        """The AR model continues a chunk from any whole number of latent frames it holds."""
        return self.clip_frames - 1

    # ------------------------------------------------------------------ loading

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike,
        *,
        tokenizer: VideoTokenizer | str | os.PathLike | None = None,
        lm_config: Any = None,
        text_encoder: TextEncoder | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> ARWFM:
        """Load our layout (``config.json`` + ``lm/`` + ``tokenizer/``) or an NVIDIA AR folder (``model.pt``).

        Args:
            name_or_path: a folder. Ours: ``config.json`` ``{"model_type": "ARWFM", "tokenizer": <name or
                sub-folder>}``, ``lm/`` (a :class:`Transformer`). NVIDIA's: the AR repo (``model.pt``).
            tokenizer: a tokenizer object, or a name/folder for ``cosmos.tokenizer.CausalVideoTokenizer``;
                required for NVIDIA folders (e.g. ``nvidia/Cosmos-1.0-Tokenizer-DV8x16x16``).
            lm_config: architecture of an NVIDIA ``model.pt`` (see :meth:`Transformer.from_pretrained`).
            device, dtype: where and in which dtype to put the transformer.
        Raises:
            CheckpointError: unknown layout or no tokenizer.
        """
        folder = Path(name_or_path)
        if not folder.exists() and "/" not in str(name_or_path):  # a shipped short name, e.g. "nano-ar"
            from cosmos.core import resolve_pretrained

            folder = resolve_pretrained(name_or_path, shipped_root="cosmos.ar.pretrained")
        document = (
            json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
        )
        reference = document.get("tokenizer")
        if document.get("model_type") == cls.__name__:
            lm = Transformer.from_pretrained(folder / "lm", config=lm_config, device=device, dtype=dtype)
            if tokenizer is None and reference is not None:
                tokenizer = resolve_relative(reference, folder)
        else:  # a bare Transformer folder (ours) or NVIDIA's AR repo (model.pt)
            lm = Transformer.from_pretrained(folder, config=lm_config, device=device, dtype=dtype)
        nvidia_checkpoint = document.get("model_type") != cls.__name__ and not is_cosmos_layout(folder)
        if tokenizer is None:
            raise CheckpointError(f"{folder} names no tokenizer: pass tokenizer= (an object, name or folder)")
        if not isinstance(tokenizer, VideoTokenizer):
            from cosmos.tokenizer import CausalVideoTokenizer  # cosmos-tokenizer is a dependency of cosmos-ar

            tokenizer = CausalVideoTokenizer.from_pretrained(tokenizer, device=device)
        settings = {key: document[key] for key in ("fps", "context_frames") if key in document}
        model = cls(tokenizer, lm, text_encoder=text_encoder, tokenizer_name=reference, **settings).eval()
        model._check_tokenizer(document, folder)
        model.nvidia_checkpoint = nvidia_checkpoint
        return model

    def _check_tokenizer(self, document: dict, folder: Path) -> None:
        """A tokenizer whose compression or vocabulary differs from what the transformer was trained on is a named
        error (the token grid would silently mean something else)."""
        for name in ("temporal_compression", "spatial_compression"):
            expected = document.get(name)
            if expected is not None and getattr(self.tokenizer, name) != expected:
                raise ShapeError(
                    f"the tokenizer has {name} {getattr(self.tokenizer, name)}, but {folder.name} was trained with "
                    f"{expected} ({document.get('tokenizer')}): it does not match this world model"
                )
        vocab = getattr(getattr(self.tokenizer, "config", None), "vocab_size", None)
        if isinstance(vocab, int) and vocab > self.lm.config.vocab_size:
            raise ShapeError(f"tokenizer vocab {vocab} exceeds the transformer's {self.lm.config.vocab_size}")

    def save_pretrained(self, path: str | os.PathLike, *, tokenizer_name: str | None = None) -> Path:
        """Write ``config.json`` + ``lm/`` and, if the tokenizer can save itself, ``tokenizer/``.

        Args:
            tokenizer_name: recorded instead of saving the tokenizer (a shipped name or Hub id); default the model's
                :attr:`tokenizer_name`.
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.lm.save_pretrained(folder / "lm")
        tokenizer_name = tokenizer_name or self.tokenizer_name
        if tokenizer_name is None:
            if not hasattr(self.tokenizer, "save_pretrained"):
                raise CheckpointError(
                    "the tokenizer cannot save itself: pass tokenizer_name= (a name or Hub id)"
                )
            self.tokenizer.save_pretrained(folder / "tokenizer")
            tokenizer_name = "tokenizer"
        document = {
            "model_type": type(self).__name__,
            "tokenizer": tokenizer_name,
            "temporal_compression": self.tokenizer.temporal_compression,
            "spatial_compression": self.tokenizer.spatial_compression,
            "fps": self.fps,
            "context_frames": list(self.context_frames),
        }
        (folder / "config.json").write_text(json.dumps(document, indent=2) + "\n")
        return folder

    # ------------------------------------------------------------------ inputs

    def load_video(self, video: Tensor | str | os.PathLike) -> Tensor:
        """A path (mp4, ...) or a tensor -> float32 ``[B, 3, T, H, W]`` in [-1, 1] (``[B, 3, H, W]`` images = 1 frame).

        Raises:
            ShapeError: not a video (``cosmos.core.check_video`` rules).
        """
        if isinstance(video, (str, os.PathLike)):
            frames, _ = read_video(video)
            video = frames_to_video(frames)
        if video.dim() == 4:
            video = video[:, :, None]  # image [B, 3, H, W] -> one frame
        check_video(video)
        return video.float()

    def prepare_video(self, video: Tensor, num_input_frames: int, num_frames: int) -> Tensor:
        """Context frames -> the padded, resized clip ``[B, 3, num_frames, H, W]`` the tokenizer sees (spec §2.4).

        Keeps the **last** ``num_input_frames`` frames, repeats the last one up to ``num_frames``, resizes so the
        frames cover :attr:`frame_size` (scale ``max(W/w, H/h)``, rounded up, bilinear antialiased) and
        center-crops.

        Raises:
            ShapeError: fewer than ``num_input_frames`` frames.
        """
        frames = video.shape[2]
        if frames < num_input_frames:
            raise ShapeError(f"the input has {frames} frames, fewer than num_input_frames={num_input_frames}")
        context = video[:, :, frames - num_input_frames :]
        padding = context[:, :, -1:].expand(-1, -1, num_frames - num_input_frames, -1, -1)
        clip = torch.cat([context, padding], dim=2)
        target_h, target_w = self.frame_size
        height, width = clip.shape[-2:]
        if (height, width) != (target_h, target_w):
            scale = max(target_w / width, target_h / height)
            size = (max(target_h, math.ceil(height * scale)), max(target_w, math.ceil(width * scale)))
            clip = center_crop_video(resize_video(clip, size), (target_h, target_w))
        return clip.clamp(-1, 1)

    def _action_context(self, batch: int, action: Tensor | None, num_transitions: int | None) -> Tensor:
        """Actions ``[B|1, N, action_dim]`` -> the cross-attention context ``[B, action_steps, context_dim]``.

        Actions past the ``N`` given (up to the clip's ``action_steps``) are zeros ("hold still"), as a model trained
        on whole clips expects; ``num_transitions`` (if given) is the ``N`` the caller must pass.

        Raises:
            ShapeError: missing actions, wrong shape or count, NaN/inf.
        """
        config = self.lm.config
        if action is None:
            raise ShapeError(f"this world model is action-conditioned: pass action [B, N, {config.action_dim}]")
        action = torch.as_tensor(action, dtype=torch.float32)
        if action.dim() == 2:
            action = action[None]
        if action.dim() != 3 or action.shape[-1] != config.action_dim or action.shape[0] not in (1, batch):
            raise ShapeError(f"action must be [{batch}, N, {config.action_dim}], got {tuple(action.shape)}")
        if num_transitions is not None and action.shape[1] != num_transitions:
            raise ShapeError(
                f"got {action.shape[1]} actions for {num_transitions} frame transitions: pass one action per "
                "transition of the output clip (num_frames - 1)"
            )
        if not 1 <= action.shape[1] <= config.action_steps:
            raise ShapeError(f"got {action.shape[1]} actions; a clip of this model has 1 to {config.action_steps}")
        padded = action.new_zeros(batch, config.action_steps, config.action_dim)
        padded[:, : action.shape[1]] = action
        return self.lm.embed_actions(padded)

    def _text_context(self, batch: int, prompt, text_embeddings, guard, upsampler=None, video=None) -> Tensor | None:
        config = self.lm.config
        if upsampler is not None and prompt is None:
            raise ValueError("upsample_prompt needs prompt= text, not text_embeddings or actions")
        if config.action_dim:
            if prompt is not None or text_embeddings is not None:
                raise ShapeError("this model reads actions, not text: pass action= instead of prompt / text_embeddings")
            return None
        if not config.insert_cross_attn:
            if prompt is not None or text_embeddings is not None:
                raise ShapeError(
                    "this model takes no text (it has no cross-attention): drop prompt / text_embeddings"
                )
            return None
        if prompt is not None and text_embeddings is not None:
            raise ShapeError("pass either prompt or text_embeddings, not both")
        if prompt is not None:
            if self.text_encoder is None:
                raise ShapeError("prompt= needs a text_encoder (T5-11B encoder); or pass text_embeddings=")
            prompts = [prompt] * batch if isinstance(prompt, str) else list(prompt)
            guard_text(guard, prompts)  # the pre-guard, before any model runs
            if upsampler is not None:  # upsample (video2world: the last frame), then check the result too
                prompts = upsampler.upsample_batch(prompts, video=video)
                guard_text(guard, prompts)
            encode = getattr(
                self.text_encoder, "encode", self.text_encoder
            )  # T5TextEncoder-like or a callable
            text_embeddings = encode(prompts)
        if text_embeddings is None:
            raise ShapeError(
                f"this Video2World model needs prompt= or text_embeddings= [B, L, {config.context_dim}]"
            )
        if text_embeddings.dim() == 2:
            text_embeddings = text_embeddings[None]
        if text_embeddings.dim() != 3 or text_embeddings.shape[-1] != config.context_dim:
            raise ShapeError(
                f"text_embeddings must be [B, L, {config.context_dim}] (T5 states), got {tuple(text_embeddings.shape)}"
            )
        if text_embeddings.shape[0] == 1 and batch > 1:
            text_embeddings = text_embeddings.expand(batch, -1, -1)
        if text_embeddings.shape[0] != batch:
            raise ShapeError(f"text_embeddings batch {text_embeddings.shape[0]} != video batch {batch}")
        return text_embeddings

    # ------------------------------------------------------------------ generation

    @torch.inference_mode()
    def generate(
        self,
        video: Tensor | str | os.PathLike,
        *,
        prompt: str | list[str] | None = None,
        text_embeddings: Tensor | None = None,
        action: Tensor | None = None,
        num_input_frames: int = 9,
        num_frames: int | None = None,
        temperature: float = DEFAULT_TEMPERATURE,
        top_p: float | None = DEFAULT_TOP_P,
        medusa: bool | None = None,
        seed: int = 0,
        progress: bool = True,
        guardrail: Any = "auto",
        decoder: Any = None,
        upsample_prompt: Any = None,
    ) -> ARGeneration:
        """Predict the continuation of a video (spec §5.1).

        Args:
            video: float ``[B, 3, T, H, W]`` in [-1, 1], an image ``[B, 3, H, W]``, or a video file path.
            prompt / text_embeddings: Video2World conditioning (T5 states ``[B, L, context_dim]``, zero past the
                prompt; the model attends to all ``L`` rows as NVIDIA's pipeline does).
            action: action-conditioned models: ``[B|1, num_frames - 1, action_dim]``, the action of every transition of
                the output clip (those inside the context included), in the model's units (:mod:`cosmos.ar.action`).
            num_input_frames: context frames: 1 or ``1 + temporal_compression`` (1 or 9 for DV8x16x16).
            num_frames: length of the output clip (context included), default the full clip (33); must satisfy
                ``(num_frames - 1) % temporal_compression == 0``.
            temperature, top_p: sampling (shipped defaults 1.0 / 0.8; temperature 0 = greedy).
            medusa: use the Medusa heads (default: when the transformer has them).
            seed: CPU-seeded sampling noise; plain and Medusa decoding give the same video for a seed.
            progress: tqdm progress bar.
            guardrail: ``"auto"`` (cosmos-guard's default when installed; NVIDIA checkpoints fail closed without
                it), ``None`` (explicit, logged opt-out) or a guardrail object (:mod:`cosmos.core.safety`). Prompts
                are checked before any model runs, the decoded video after (blocked -> ``GuardrailBlocked``).
            decoder: a token decoder for this call (default :attr:`decoder`, else the tokenizer's decoder).
            upsample_prompt: a :class:`cosmos.core.PromptUpsampler` for ``prompt``: checked, upsampled, checked again;
                a failing upsampler falls back to the prompt with a warning.
        Returns:
            :class:`ARGeneration` with the video ``[B, 3, num_frames, H, W]`` in [-1, 1] and the token grid.
        Raises:
            ShapeError: bad frame counts, a video that is not [-1, 1] RGB, wrong text-embedding width, actions
                missing, of the wrong shape or count, or given to a model without actions, a token grid that does
                not match the transformer (wrong tokenizer).
            GuardrailBlocked: the guardrail blocked the prompt or the generated video.
        """
        config = self.lm.config
        if num_input_frames not in self.allowed_input_frames:
            raise ShapeError(
                f"num_input_frames must be one of {self.allowed_input_frames} (one frame or one temporal chunk + 1, "
                f"as the model was trained), got {num_input_frames}"
            )
        num_frames = self.clip_frames if num_frames is None else num_frames
        if (
            num_frames - 1
        ) % self.temporal_compression or not num_input_frames < num_frames <= self.clip_frames:
            raise ShapeError(
                f"num_frames must be 1 + k*{self.temporal_compression}, greater than num_input_frames="
                f"{num_input_frames} and at most {self.clip_frames}, got {num_frames}"
            )
        video = self.load_video(video)
        batch = video.shape[0]
        guard = resolve_guardrail(guardrail, nvidia_checkpoint=self.nvidia_checkpoint)
        if action is not None and not config.action_dim:
            raise ShapeError("action given, but this model takes no actions (action_dim 0)")
        context = self._text_context(batch, prompt, text_embeddings, guard, upsample_prompt, video)
        if config.action_dim:
            context = self._action_context(batch, action, num_frames - 1)
        clip = self.prepare_video(video, num_input_frames, self.clip_frames)
        grid = self._encode(clip)
        context_latents = 1 + (num_input_frames - 1) // self.temporal_compression
        output_latents = 1 + (num_frames - 1) // self.temporal_compression
        prompt_grid = grid.replace(indices=grid.indices[:, :context_latents], codes=None)
        tokens, stats = self._continue(
            prompt_grid, output_latents, context, temperature=temperature, top_p=top_p, medusa=medusa, seed=seed,
            progress=progress,
        )  # fmt: skip
        decoded = self._decode_tokens(tokens, decoder or self.decoder)
        return ARGeneration(guard_video(guard, decoded), tokens, context_latents, stats)

    def _decode_tokens(self, tokens: TokenGrid, decoder: Any) -> Tensor:
        """Tokens -> float32 video in [-1, 1] on CPU, through ``decoder`` when given, else the tokenizer."""
        if decoder is not None:
            return decoder.decode(tokens).float().clamp(-1, 1).cpu()
        return self.tokenizer.decode(tokens.to(_device_of(self.tokenizer))).float().clamp(-1, 1).cpu()

    def _continue(
        self,
        prompt: TokenGrid,
        output_latents: int,
        context: Tensor | None,
        *,
        temperature: float,
        top_p: float | None,
        medusa: bool | None,
        seed: int,
        progress: bool,
    ) -> tuple[TokenGrid, DecodeStats]:
        """Decode the token frames after ``prompt`` (``[B, K, H', W']``) up to ``output_latents`` frames (spec §5.1).

        ``medusa=None`` uses the heads when the transformer has them; Medusa decodes row by row, so a batch of
        candidates decodes plainly unless ``medusa=True``.
        """
        config = self.lm.config
        device = self.lm.output.weight.device
        batch, count, height, width = prompt.indices.shape
        prompt_tokens = prompt.indices.reshape(batch, -1).to(device)  # [B, K*H'*W'], time slowest (spec §2.2)
        if config.has_bov:
            bov = torch.full((batch, 1), config.bov_id, dtype=torch.int64, device=device)
            prompt_tokens = torch.cat([bov, prompt_tokens], dim=1)
        if context is not None:
            context = context.to(device=device, dtype=self.lm.output.weight.dtype)
        use_medusa = self.lm.medusa_heads is not None and batch == 1 if medusa is None else medusa
        decode = medusa_generate if use_medusa else generate
        new_tokens, stats = decode(
            self.lm, prompt_tokens, (output_latents - count) * height * width, context=context,
            temperature=temperature, top_p=top_p, seed=seed, progress=progress,
        )  # fmt: skip
        all_tokens = torch.cat([prompt_tokens[:, int(config.has_bov) :], new_tokens], dim=1)
        indices = all_tokens.reshape(batch, output_latents, height, width).cpu()
        return prompt.replace(indices=indices, codes=None), stats

    # ------------------------------------------------------------------ the world-model contract

    def encode_frames(self, video: Tensor) -> TokenGrid:
        """Pixel frames ``[B, 3, T, H, W]`` at :attr:`resolution` (``T`` valid for the tokenizer) -> tokens.

        Raises:
            ShapeError: the tokenizer is not discrete or its grid does not fit the transformer.
        """
        grid = self.tokenizer.encode(video.to(_device_of(self.tokenizer)))
        if not isinstance(grid, TokenGrid):
            raise ShapeError(f"ARWFM needs a discrete tokenizer returning TokenGrid, got {type(grid).__name__}")
        _, height, width = self.lm.config.video_latent_shape
        if tuple(grid.indices.shape[2:]) != (height, width):
            raise ShapeError(f"the tokenizer gave a {tuple(grid.indices.shape)} grid; the transformer expects "
                             f"{height}x{width} token frames")  # fmt: skip
        return grid.replace(indices=grid.indices.cpu(), codes=None)

    def decode_chunk(self, chunk: TokenGrid) -> Tensor:
        """Tokens ``[B, T', H', W']`` -> float32 video ``[B, 3, T, H, W]`` in [-1, 1] (on CPU; :attr:`decoder` if set)."""
        return self._decode_tokens(chunk, self.decoder)

    def text_options(self, text: list[str]) -> dict[str, Any]:
        """``text_embeddings`` of the prompts (text-conditioned Video2World models only).

        Raises:
            ShapeError: the model reads actions or has no cross-attention or text encoder.
        """
        if self.lm.config.action_dim or not self.lm.config.insert_cross_attn or self.text_encoder is None:
            raise ShapeError("this ARWFM takes no text prompt here (no text encoder, or it reads actions)")
        encode = getattr(self.text_encoder, "encode", self.text_encoder)
        return {"text_embeddings": encode(list(text))}

    @torch.inference_mode()
    def generate_chunk(
        self,
        prompt: TokenGrid,
        prompt_frames: int,
        actions: Tensor | None,
        num_frames: int,
        seed: int,
        *,
        temperature: float = 0.0,
        top_p: float | None = DEFAULT_TOP_P,
        medusa: bool | None = None,
        text_embeddings: Tensor | None = None,
        progress: bool = False,
    ) -> TokenGrid:
        """Continue ``prompt`` (the token frames of the chunk's first ``prompt_frames`` frames) to cover ``num_frames``.

        Args:
            actions: ``[B, clip_frames - 1, action_dim]`` for action-conditioned models, else ``None``.
            temperature, top_p, medusa: decoding (roll-out default: greedy, Medusa for a single row).
            text_embeddings: T5 states for text-conditioned Video2World models.
        """
        batch = prompt.indices.shape[0]
        output_latents = 1 + -(-(num_frames - 1) // self.temporal_compression)
        if self.lm.config.action_dim:
            context = self._action_context(batch, actions, None)
        else:
            context = self._text_context(batch, None, text_embeddings, None)
        tokens, _ = self._continue(
            prompt, output_latents, context, temperature=temperature, top_p=top_p, medusa=medusa, seed=seed,
            progress=progress,
        )  # fmt: skip
        return tokens

    def _encode(self, clip: Tensor) -> TokenGrid:
        grid = self.tokenizer.encode(clip.to(_device_of(self.tokenizer)))
        if not isinstance(grid, TokenGrid):
            raise ShapeError(
                f"ARWFM needs a discrete tokenizer returning TokenGrid, got {type(grid).__name__}"
            )
        expected = (clip.shape[0], *self.lm.config.video_latent_shape)
        if tuple(grid.indices.shape) != expected:
            raise ShapeError(
                f"the tokenizer gave a {tuple(grid.indices.shape)} grid; the transformer expects {expected}"
            )
        if grid.vocab_size > self.lm.config.vocab_size:
            raise ShapeError(
                f"tokenizer vocab {grid.vocab_size} exceeds the transformer's {self.lm.config.vocab_size}"
            )
        return grid


def _device_of(module: Any) -> torch.device:
    if isinstance(module, nn.Module):
        for tensor in (*module.parameters(), *module.buffers()):
            return tensor.device
    return torch.device("cpu")
