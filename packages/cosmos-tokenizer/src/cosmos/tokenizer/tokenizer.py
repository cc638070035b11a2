"""Public tokenizers: :class:`CausalVideoTokenizer` (CV, DV) and :class:`ImageTokenizer` (CI, DI).

Both implement :class:`cosmos.core.VideoTokenizer` and :class:`cosmos.core.PretrainedMixin`:

>>> tok = CausalVideoTokenizer.from_pretrained("nvidia/Cosmos-1.0-Tokenizer-CV8x8x8")  # doctest: +SKIP
>>> latent = tok.encode(video)          # video: float [B, 3, 1 + 8k, H, W] in [-1, 1] -> Latent [B, 16, 1 + k, H/8, W/8]
>>> recon = tok.decode(latent)          # float [B, 3, 1 + 8k, H, W]

Discrete tokenizers return a :class:`cosmos.core.TokenGrid` (int64 indices in [0, 64000) plus FSQ codes).
``from_pretrained`` reads our layout, NVIDIA's layouts (``*.safetensors`` with reference key names,
``autoencoder.jit`` / ``encoder.jit`` + ``decoder.jit``, ``model.pt``) and diffusers' ``AutoencoderKLCosmos``
(spec §10). Long videos: ``encode(video, chunk_size=...)`` / ``decode(latent, chunk_size=...)`` process
temporal chunks one at a time, carrying the causal state so that the result equals one pass
(see :meth:`CausalVideoTokenizer.encode`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from cosmos.core import (
    CheckpointError,
    Latent,
    PretrainedMixin,
    ShapeError,
    TokenGrid,
    check_video,
    config_from_dict,
    resolve_pretrained,
)

from .checkpoints import (
    ReferenceAdapter,
    config_from_diffusers,
    describe_presets,
    drop_unused_sampler_convs,
    find_diffusers_folder,
    find_reference_state_dict,
    from_diffusers_state_dict,
    load_diffusers_weights,
    strip_wrapper_prefix,
)
from .config import PRESETS, TokenizerConfig, config_from_reference, preset_for
from .fsq import FSQ
from .image_net import ImageDecoder, ImageEncoder
from .latent_stats import LatentStatistics
from .video_net import CausalConv3d, VideoDecoder, VideoEncoder
from .video_net import streaming as video_streaming

LATENT_STATISTICS_NAME = "latent_statistics.safetensors"


@dataclass(frozen=True, eq=False)
class PaddedLatent(Latent):
    """A :class:`cosmos.core.Latent` of a padded input; ``decode`` crops back to ``original_size``.

    Attributes:
        original_size: ``(T, H, W)`` of the input before padding (T = 1 for images).
    """

    original_size: tuple[int, int, int] | None = None


@dataclass(frozen=True, eq=False)
class PaddedTokenGrid(TokenGrid):
    """A :class:`cosmos.core.TokenGrid` of a padded input; ``decode`` crops back to ``original_size`` (T, H, W)."""

    original_size: tuple[int, int, int] | None = None


def _next_multiple(value: int, factor: int) -> int:
    return -(-value // factor) * factor


def _valid_frames_around(num_frames: int, tau: int) -> str:
    below = 1 + max(num_frames - 1, 0) // tau * tau
    above = below + tau
    return f"{below} or {above}" if below != num_frames else str(below)


class _CosmosTokenizer(PretrainedMixin, nn.Module):
    """Shared loading, checking and latent wrapping of the video and image tokenizers."""

    config_class = TokenizerConfig
    shipped_root: ClassVar[str | None] = "cosmos.tokenizer.pretrained"
    kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: TokenizerConfig | str | dict) -> None:
        super().__init__()
        config = type(self).coerce_config(config)
        if config.kind not in self.kinds:
            other = "ImageTokenizer" if config.kind in ("CI", "DI") else "CausalVideoTokenizer"
            raise ValueError(
                f"{type(self).__name__} builds {'/'.join(self.kinds)} tokenizers, got a {config.kind} "
                f"config: use {other}"
            )
        self.config = config
        self.temporal_compression = config.temporal_compression
        self.spatial_compression = config.spatial_compression
        self.latent_channels = config.latent_channels
        self.vocab_size = config.vocab_size
        self.is_discrete = config.is_discrete
        self.name = config.name
        self.latent_statistics: LatentStatistics | None = None
        self.quantizer = FSQ(config.levels) if config.is_discrete else None

    # ---------------------------------------------------------------------------------------- loading
    @classmethod
    def coerce_config(cls, config: Any) -> TokenizerConfig:
        """Accept a :class:`TokenizerConfig`, a preset name, our ``config.json`` dict, or a dict of the reference
        network's constructor arguments (the fixtures' ``config`` block).

        Raises:
            CheckpointError: unknown preset name or invalid dict.
        """
        if isinstance(config, TokenizerConfig):
            return config
        if isinstance(config, str):
            preset = PRESETS.get(config) or preset_for(config)
            if preset is None:
                raise CheckpointError(f"unknown tokenizer preset {config!r}; known: {describe_presets()}")
            return preset
        if isinstance(config, dict):
            if "kind" in config:
                return config_from_dict(TokenizerConfig, config)
            try:
                return config_from_reference(config)
            except (ValueError, TypeError) as error:
                raise CheckpointError(f"invalid reference tokenizer config: {error}") from error
        raise CheckpointError(
            f"{cls.__name__} config must be a TokenizerConfig, a preset name or a dict, got {type(config).__name__}"
        )

    @classmethod
    def load_foreign(cls, folder: Path, config: Any) -> tuple[TokenizerConfig, dict[str, Tensor]]:
        """Read NVIDIA's or diffusers' files in ``folder`` (spec §10); see :mod:`cosmos.tokenizer.checkpoints`.

        The architecture is ``config`` when given, else the preset whose repository name appears in the folder
        path, else (diffusers) the diffusers ``config.json``.

        Raises:
            CheckpointError: no known checkpoint file, or no way to know the architecture.
        """
        found = find_reference_state_dict(folder)
        diffusers_folder = None if found is not None else find_diffusers_folder(folder)
        if found is None and diffusers_folder is None:
            names = sorted(path.name for path in folder.iterdir())[:20]
            raise CheckpointError(
                f"{folder} holds no tokenizer checkpoint: expected our layout (config.json + model.safetensors), "
                f"a reference *.safetensors, autoencoder.jit, encoder.jit + decoder.jit, model.pt or a diffusers "
                f"AutoencoderKLCosmos folder; found {names}"
            )
        if config is not None:
            config = cls.coerce_config(config)
        elif (preset := preset_for(str(folder))) is not None:
            config = preset
        elif diffusers_folder is not None:
            config = config_from_diffusers(json.loads((diffusers_folder / "config.json").read_text()))
        else:
            raise CheckpointError(
                f"cannot tell the architecture of {folder}: its name matches no preset; pass config= (a preset "
                f"name, a TokenizerConfig or the reference constructor arguments). Presets: {describe_presets()}"
            )
        with torch.device("meta"):
            model = cls(config)
        if found is not None:
            state_dict = ReferenceAdapter().convert(strip_wrapper_prefix(found[1]))
        else:
            raw = load_diffusers_weights(diffusers_folder)
            state_dict = from_diffusers_state_dict(raw, model, len(config.channels_mult))
        return config, drop_unused_sampler_convs(state_dict, model)

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
        """Load a tokenizer from our layout, NVIDIA's layouts or diffusers' (spec §10), in eval mode.

        Args:
            name_or_path: local folder, shipped short name, or Hub id (``"nvidia/Cosmos-1.0-Tokenizer-CV8x8x8"``).
            config: architecture: a :class:`TokenizerConfig`, a preset name, or a dict of the reference
                constructor arguments. Needed for NVIDIA files whose folder name matches no preset.
            revision: Hub revision. device: target device (default CPU). dtype: floating weights' dtype.
            cache_dir: Hugging Face cache folder.

        Latent statistics (``mean_std.pt``, diffusers ``latents_mean``/``latents_std`` or our
        ``latent_statistics.safetensors``) found beside the weights are attached as ``latent_statistics``.

        Raises:
            CheckpointError: missing/unexpected/mis-shaped keys (listed), unreadable files, unknown architecture.
            GatedRepoError: gated Hub repository (accept the licence, set ``HF_TOKEN``).
        """
        model = super().from_pretrained(
            name_or_path, config=config, revision=revision, device=device, dtype=dtype, cache_dir=cache_dir
        )
        folder = resolve_pretrained(
            name_or_path, revision=revision, shipped_root=cls.shipped_root, cache_dir=cache_dir
        )
        model.latent_statistics = _find_latent_statistics(folder)
        if model.name is None and (preset := preset_for(str(name_or_path))) is not None:
            model.name = preset.name
        return model

    @classmethod
    def from_config(cls, config: TokenizerConfig | str | dict, *, seed: int | None = None):
        """A randomly initialised tokenizer (PyTorch default init; seeded when ``seed`` is given), eval mode."""
        if seed is not None:
            torch.manual_seed(seed)
        return cls(config).eval()

    def save_pretrained(self, path: str | os.PathLike, **kwargs) -> Path:
        """Write our layout (``config.json`` + ``model.safetensors``), plus the latent statistics if any."""
        folder = super().save_pretrained(path, **kwargs)
        if self.latent_statistics is not None:
            from safetensors.torch import save_file

            stats = self.latent_statistics
            save_file(
                {"mean": stats.mean.contiguous(), "std": stats.std.contiguous()},
                str(folder / LATENT_STATISTICS_NAME),
            )
        return folder

    # ---------------------------------------------------------------------------------------- helpers
    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of the weights (inputs are cast to it)."""
        return next(self.parameters()).dtype

    def _wrap(self, z: Tensor, original_size: tuple[int, int, int] | None) -> Latent | TokenGrid:
        """Pre-quantization latent -> Latent (continuous) or TokenGrid with indices and codes (discrete)."""
        common = dict(
            temporal_compression=self.temporal_compression,
            spatial_compression=self.spatial_compression,
            tokenizer_name=self.name,
        )
        if self.quantizer is not None:
            indices, codes = self.quantizer(z.float())  # FSQ rounding in float32 whatever the model dtype
            if original_size is not None:
                return PaddedTokenGrid(
                    indices, self.vocab_size, codes=codes, original_size=original_size, **common
                )
            return TokenGrid(indices, self.vocab_size, codes=codes, **common)
        if original_size is not None:
            return PaddedLatent(z, original_size=original_size, **common)
        return Latent(z, **common)

    def _latent_tensor(self, x: Latent | TokenGrid | Tensor, ndim: int) -> Tensor:
        """The ``post_quant_conv`` input (latent or FSQ codes) from any accepted decode input."""
        if isinstance(x, TokenGrid):
            if self.quantizer is None:
                raise ShapeError(
                    f"{type(self).__name__} {self.config.kind} is continuous: decode a Latent, not a TokenGrid"
                )
            z = self.quantizer.indices_to_codes(x.indices.to(self.device))
        elif isinstance(x, Latent):
            z = x.z
        elif isinstance(x, Tensor):
            if not x.is_floating_point():
                if self.quantizer is None:
                    raise ShapeError(
                        f"the {self.config.kind} tokenizer is continuous: it decodes float latents, got a {x.dtype} tensor"
                    )
                if x.ndim != ndim - 1:
                    raise ShapeError(f"index grid must have {ndim - 1} dims, got shape {tuple(x.shape)}")
                z = self.quantizer.indices_to_codes(x.to(self.device))
            else:
                z = x
        else:
            raise ShapeError(f"decode takes a Latent, TokenGrid or tensor, got {type(x).__name__}")
        if z.ndim != ndim or z.shape[1] != self.latent_channels:
            layout = "[B, C, T', H', W']" if ndim == 5 else "[B, C, H', W']"
            raise ShapeError(
                f"latent must be {layout} with C = {self.latent_channels}, got shape {tuple(z.shape)}"
            )
        if not bool(torch.isfinite(z).all()):
            raise ShapeError("latent contains NaN or inf values")
        return z.to(device=self.device, dtype=self.dtype)

    def _check_spatial(self, height: int, width: int) -> None:
        s = self.spatial_compression
        for label, size in (("height", height), ("width", width)):
            if size % s or size == 0:
                below, above = size // s * s, _next_multiple(max(size, 1), s)
                options = f"{below} or {above}" if below else str(above)
                raise ShapeError(
                    f"{label} {size} is not a multiple of spatial_compression {s}: use {options}, or pass pad=True"
                )

    def _pad_spatial(self, video: Tensor) -> Tensor:
        """Zero-pad H and W to multiples of s, centred (``pad // 2`` before), as NVIDIA's inference does."""
        height, width = video.shape[-2:]
        s = self.spatial_compression
        pad_h, pad_w = _next_multiple(height, s) - height, _next_multiple(width, s) - width
        if pad_h == 0 and pad_w == 0:
            return video
        return F.pad(video, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))

    @staticmethod
    def _crop(video: Tensor, original_size: tuple[int, int, int] | None) -> Tensor:
        """Undo :meth:`_pad_spatial` and end-of-clip frame padding."""
        if original_size is None:
            return video
        frames, height, width = original_size
        top = (video.shape[-2] - height) // 2
        left = (video.shape[-1] - width) // 2
        video = video[..., top : top + height, left : left + width]
        if video.ndim == 5:
            video = video[:, :, :frames]
        return video

    def forward(self, video: Tensor) -> Tensor:
        """Differentiable round trip for training (FSQ straight-through): ``video`` -> reconstruction, same shape."""
        z = self.quant_conv(self.encoder(video))
        if self.quantizer is not None:
            z = self.quantizer.quantize(z)
        return self.decoder(self.post_quant_conv(z))


class CausalVideoTokenizer(_CosmosTokenizer):
    """Cosmos causal video tokenizer, continuous (CV) or discrete (DV) (Cosmos paper §3; spec §4, §5, §8).

    ``encode``: float ``[B, 3, T, H, W]`` in [-1, 1], T = 1 + k*tau, H and W multiples of s ->
    :class:`cosmos.core.Latent` ``z [B, 16, 1 + k, H/s, W/s]`` (CV) or :class:`cosmos.core.TokenGrid`
    ``indices int64 [B, 1 + k, H/s, W/s]`` in [0, 64000) + ``codes [B, 6, 1 + k, H/s, W/s]`` (DV).
    ``decode`` inverts it (outputs are not clamped). A single image is a 1-frame video.

    Args:
        config: a :class:`TokenizerConfig` of kind CV or DV, or a preset name (random weights; use
            :meth:`from_pretrained` for trained weights).
    """

    kinds = ("CV", "DV")

    def __init__(self, config: TokenizerConfig | str | dict) -> None:
        super().__init__(config)
        config = self.config
        self.encoder = VideoEncoder(config)
        self.decoder = VideoDecoder(config)
        self.quant_conv = CausalConv3d(config.z_channels, config.latent_channels)
        self.post_quant_conv = CausalConv3d(config.latent_channels, config.z_channels)

    # ------------------------------------------------------------------------------------ shape rules
    def valid_num_frames(self, num_frames: int) -> bool:
        """True when ``num_frames = 1 + k * temporal_compression`` (k >= 0)."""
        return num_frames >= 1 and (num_frames - 1) % self.temporal_compression == 0

    def latent_shape(
        self, num_frames: int, height: int, width: int, *, pad: bool = False
    ) -> tuple[int, int, int]:
        """``(T', H', W') = (1 + (T-1)/tau, H/s, W/s)``; with ``pad=True`` for the padded sizes.

        Raises:
            ShapeError: sizes that need padding when ``pad`` is False.
        """
        if pad:
            num_frames = self.padded_num_frames(num_frames)
            height = _next_multiple(height, self.spatial_compression)
            width = _next_multiple(width, self.spatial_compression)
        self._check_frames(num_frames)
        self._check_spatial(height, width)
        return (
            1 + (num_frames - 1) // self.temporal_compression,
            height // self.spatial_compression,
            width // self.spatial_compression,
        )

    def padded_num_frames(self, num_frames: int) -> int:
        """Smallest valid frame count ``1 + k*tau >= num_frames``."""
        tau = self.temporal_compression
        return 1 + _next_multiple(max(num_frames - 1, 0), tau)

    def _check_frames(self, num_frames: int) -> None:
        if not self.valid_num_frames(num_frames):
            raise ShapeError(
                f"num_frames {num_frames} is not 1 + k*{self.temporal_compression} (temporal_compression "
                f"{self.temporal_compression}): use {_valid_frames_around(num_frames, self.temporal_compression)} "
                "frames, or pass pad=True"
            )

    def _check_chunk(self, chunk_size: int | None) -> None:
        if chunk_size is not None and (
            chunk_size < 1 + self.temporal_compression or not self.valid_num_frames(chunk_size)
        ):
            raise ShapeError(
                f"chunk_size {chunk_size} must be 1 + k*{self.temporal_compression} frames with k >= 1 "
                f"(e.g. {1 + self.temporal_compression * 2})"
            )

    def pad_video(self, video: Tensor) -> Tensor:
        """Pad to valid sizes: frames at the end by repeating the last frame (keeps the causal prefix exact),
        H and W with centred zeros (as NVIDIA's inference). ``[B, 3, T, H, W] -> [B, 3, T_pad, H_pad, W_pad]``."""
        frames = video.shape[2]
        extra = self.padded_num_frames(frames) - frames
        if extra:
            video = torch.cat([video, video[:, :, -1:].expand(-1, -1, extra, -1, -1)], dim=2)
        return self._pad_spatial(video)

    # ------------------------------------------------------------------------------------ encode / decode
    @staticmethod
    def _chunks(length: int, first: int, step: int, streaming: bool) -> list[tuple[int, int, int]]:
        """``(start, stop, keep_from)`` per chunk along time: ``length`` items, the first chunk ``first`` long.

        Streaming chunks are consecutive (``first``, then ``step`` items each); independent windows are
        ``first = step + 1`` long and overlap by one item, whose output is dropped (``keep_from = 1``).
        """
        if length <= first:
            return [(0, length, 0)]
        if streaming:
            bounds = [0, *range(first, length, step), length]
            return [(a, b, 0) for a, b in zip(bounds[:-1], bounds[1:])]
        return [(a, min(a + step + 1, length), 0 if a == 0 else 1) for a in range(0, length - 1, step)]

    @torch.no_grad()
    def encode(
        self,
        video: Tensor,
        *,
        pad: bool = False,
        chunk_size: int | None = None,
        streaming: bool = True,
        progress: bool = False,
    ) -> Latent | TokenGrid:
        """Encode a video (spec §5.1, §8).

        Args:
            video: float ``[B, 3, T, H, W]`` in [-1, 1]; T = 1 + k*tau and H, W multiples of s unless ``pad``.
            pad: pad invalid sizes (last frame repeated at the end; centred zero borders); the result is a
                :class:`PaddedLatent` / :class:`PaddedTokenGrid` that :meth:`decode` crops back.
            chunk_size: process the clip in temporal chunks of ``1 + K*tau`` frames (then ``K*tau``) to bound the
                activation memory; only the current chunk is moved to the model's device.
            streaming: with ``chunk_size``: True (default) carries the causal state from chunk to chunk (the last
                input frames of every causal conv, the keys/values of the causal temporal attention), so the
                result **equals the one-pass encode** (to float rounding); the attention cache grows by
                ``2 * (H/s) * (W/s) * 512`` values per latent frame. False encodes independent windows of
                ``chunk_size`` frames sharing one frame with the previous window (memory independent of T; equal
                to one pass only within the first window, since each window restarts the causal context).
            progress: show a tqdm bar over chunks.

        Returns:
            Latent ``[B, latent_channels, T', H/s, W/s]`` (CV) or TokenGrid (DV), T' = 1 + (T-1)/tau, in either mode.

        Raises:
            ShapeError: wrong rank/channels/dtype, NaN/inf, values outside [-1, 1], invalid T/H/W (naming the
                valid values) or an invalid ``chunk_size``.
        """
        check_video(video, name="video", ndim=5)
        original = tuple(video.shape[2:])
        if pad:
            video = self.pad_video(video)
        self._check_frames(video.shape[2])
        self._check_spatial(*video.shape[3:])
        self._check_chunk(chunk_size)
        tau, frames = self.temporal_compression, video.shape[2]
        size = frames if chunk_size is None else chunk_size
        chunks = self._chunks(frames, size, size - 1, streaming)
        z = None
        with video_streaming(self.encoder) if streaming and len(chunks) > 1 else nullcontext():
            for start, stop, keep in tqdm(chunks, desc="encode", unit="chunk", disable=not progress):
                window = video[:, :, start:stop].to(device=self.device, dtype=self.dtype)
                part = self.quant_conv(self.encoder(window))[:, :, keep:]
                if len(chunks) == 1:
                    z = part
                    break
                if z is None:  # allocate the whole latent once
                    z = part.new_empty(*part.shape[:2], 1 + (frames - 1) // tau, *part.shape[3:])
                first = (
                    0 if start == 0 else (start + keep - 1) // tau + 1
                )  # latent index of this chunk's output
                z[:, :, first : first + part.shape[2]] = part
        return self._wrap(z, original if pad and original != tuple(video.shape[2:]) else None)

    @torch.no_grad()
    def decode(
        self,
        x: Latent | TokenGrid | Tensor,
        *,
        chunk_size: int | None = None,
        streaming: bool = True,
        progress: bool = False,
        crop: tuple[int, int, int] | None = None,
    ) -> Tensor:
        """Decode a latent, token grid, float latent/code tensor ``[B, C, T', h, w]`` or index grid ``[B, T', h, w]``.

        Args:
            x: what :meth:`encode` returned, or plain tensors (int64 indices for DV).
            chunk_size: decode in temporal chunks producing ``1 + K*tau`` frames (then ``K*tau``); mirrors
                :meth:`encode`.
            streaming: as in :meth:`encode`: True carries the causal state (equals one-pass decoding), False
                decodes independent windows of ``1 + K`` latent frames overlapping by one.
            progress: show a tqdm bar over chunks.
            crop: ``(T, H, W)`` to crop to; defaults to ``x.original_size`` for padded encodes.

        Returns:
            float ``[B, 3, 1 + (T'-1)*tau, h*s, w*s]`` (or ``crop``), values roughly in [-1, 1], not clamped.

        Raises:
            ShapeError: wrong rank/channel count, NaN latents, indices out of range, continuous/discrete mix-up.
        """
        z = self._latent_tensor(x, ndim=5)
        self._check_chunk(chunk_size)
        tau, latent_frames = self.temporal_compression, z.shape[2]
        size = latent_frames if chunk_size is None else 1 + (chunk_size - 1) // tau
        chunks = self._chunks(latent_frames, size, size - 1, streaming)
        video = None
        with video_streaming(self.decoder) if streaming and len(chunks) > 1 else nullcontext():
            for start, stop, keep in tqdm(chunks, desc="decode", unit="chunk", disable=not progress):
                frames = self.decoder(self.post_quant_conv(z[:, :, start:stop]))[:, :, keep:]
                if len(chunks) == 1:
                    video = frames
                    break
                if video is None:  # allocate the output once: memory beyond it is bounded by one chunk
                    video = frames.new_empty(
                        *frames.shape[:2], 1 + (latent_frames - 1) * tau, *frames.shape[3:]
                    )
                first = (
                    0 if start == 0 else (start + keep - 1) * tau + 1
                )  # frame index of this chunk's output
                video[:, :, first : first + frames.shape[2]] = frames
                del frames
        return self._crop(video, crop if crop is not None else getattr(x, "original_size", None))


class ImageTokenizer(_CosmosTokenizer):
    """Cosmos image tokenizer, continuous (CI) or discrete (DI) (spec §6, §8).

    ``encode``: float ``[B, 3, H, W]`` in [-1, 1] (H, W multiples of s) -> Latent ``z [B, 16, H/s, W/s]`` (CI) or
    TokenGrid ``indices [B, H/s, W/s]`` + ``codes [B, 6, H/s, W/s]`` (DI). Videos ``[B, 3, T, H, W]`` are
    tokenized frame by frame (``temporal_compression = 1``), giving ``[B, C, T, H/s, W/s]`` latents.

    Args:
        config: a :class:`TokenizerConfig` of kind CI or DI, or a preset name (random weights).
    """

    kinds = ("CI", "DI")

    def __init__(self, config: TokenizerConfig | str | dict) -> None:
        super().__init__(config)
        config = self.config
        self.encoder = ImageEncoder(config)
        self.decoder = ImageDecoder(config)
        self.quant_conv = nn.Conv2d(config.z_channels, config.latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(config.latent_channels, config.z_channels, 1)

    def valid_num_frames(self, num_frames: int) -> bool:
        """Any positive frame count (frames are independent)."""
        return num_frames >= 1

    def latent_shape(
        self, num_frames: int, height: int, width: int, *, pad: bool = False
    ) -> tuple[int, int, int]:
        """``(T, H/s, W/s)``. Raises ShapeError for sizes that need padding when ``pad`` is False."""
        if pad:
            height = _next_multiple(height, self.spatial_compression)
            width = _next_multiple(width, self.spatial_compression)
        self._check_spatial(height, width)
        return (num_frames, height // self.spatial_compression, width // self.spatial_compression)

    def _frames_batches(self, images: Tensor, chunk_size: int | None) -> Iterator[Tensor]:
        step = images.shape[0] if chunk_size is None else chunk_size
        for start in range(0, images.shape[0], step):
            yield images[start : start + step]

    def _map_frames(
        self, fn: Callable[[Tensor], Tensor], x: Tensor, chunk_size: int | None, progress: bool, desc: str
    ) -> Tensor:
        batches = list(self._frames_batches(x, chunk_size))
        return torch.cat([fn(b) for b in tqdm(batches, desc=desc, unit="chunk", disable=not progress)], dim=0)

    @torch.no_grad()
    def encode(
        self, images: Tensor, *, pad: bool = False, chunk_size: int | None = None, progress: bool = False
    ) -> Latent | TokenGrid:
        """Encode images ``[B, 3, H, W]`` or videos ``[B, 3, T, H, W]`` (frame by frame) in [-1, 1].

        Args:
            pad: zero-pad H, W (centred) to multiples of s; :meth:`decode` crops back.
            chunk_size: images (frames) per forward pass, to bound memory.
            progress: tqdm bar over chunks.

        Returns:
            Latent ``[B, C, (T,) H/s, W/s]`` or TokenGrid ``indices [B, (T,) H/s, W/s]`` + codes.

        Raises:
            ShapeError: wrong rank/channels/dtype, NaN/inf, values outside [-1, 1], H/W not multiples of s.
        """
        is_video = isinstance(images, Tensor) and images.ndim == 5
        check_video(images, name="video" if is_video else "images", ndim=5 if is_video else 4)
        batch = images.shape[0]
        original = (images.shape[2] if is_video else 1, *images.shape[-2:])
        if is_video:
            images = images.transpose(1, 2).flatten(0, 1)  # [B, 3, T, H, W] -> [B*T, 3, H, W]
        if pad:
            images = self._pad_spatial(images)
        self._check_spatial(*images.shape[-2:])
        images = images.to(device=self.device, dtype=self.dtype)
        z = self._map_frames(
            lambda b: self.quant_conv(self.encoder(b)), images, chunk_size, progress, "encode"
        )
        if is_video:
            z = z.unflatten(0, (batch, -1)).transpose(1, 2)  # [B*T, C, h, w] -> [B, C, T, h, w]
        padded = pad and tuple(images.shape[-2:]) != original[1:]
        return self._wrap(z, original if padded else None)

    @torch.no_grad()
    def decode(
        self,
        x: Latent | TokenGrid | Tensor,
        *,
        chunk_size: int | None = None,
        progress: bool = False,
        crop: tuple[int, int, int] | None = None,
    ) -> Tensor:
        """Decode ``[B, C, h, w]`` (images) or ``[B, C, T, h, w]`` (frames) latents/codes, or index grids
        ``[B, h, w]`` / ``[B, T, h, w]``, to ``[B, 3, h*s, w*s]`` / ``[B, 3, T, h*s, w*s]`` (not clamped).

        Raises:
            ShapeError: wrong rank/channel count, NaN latents, indices out of range, continuous/discrete mix-up.
        """
        if isinstance(x, TokenGrid):
            ndim = x.indices.ndim + 1
        elif isinstance(x, Latent):
            ndim = x.z.ndim
        elif isinstance(x, Tensor):
            ndim = x.ndim if x.is_floating_point() else x.ndim + 1
        else:
            raise ShapeError(f"decode takes a Latent, TokenGrid or tensor, got {type(x).__name__}")
        if ndim not in (4, 5):
            raise ShapeError(f"image latents are [B, C, H', W'] or [B, C, T, H', W'], got {ndim} dims")
        z = self._latent_tensor(x, ndim=ndim)
        batch = z.shape[0]
        if ndim == 5:
            z = z.transpose(1, 2).flatten(0, 1)  # [B, C, T, h, w] -> [B*T, C, h, w]
        images = self._map_frames(
            lambda b: self.decoder(self.post_quant_conv(b)), z, chunk_size, progress, "decode"
        )
        if ndim == 5:
            images = images.unflatten(0, (batch, -1)).transpose(1, 2)
        return self._crop(images, crop if crop is not None else getattr(x, "original_size", None))


def _find_latent_statistics(folder: Path) -> LatentStatistics | None:
    ours = folder / LATENT_STATISTICS_NAME
    if ours.is_file():
        from cosmos.core import load_safetensors

        tensors = load_safetensors(ours)
        return LatentStatistics(tensors["mean"], tensors["std"])
    try:
        return LatentStatistics.load(folder)
    except CheckpointError:
        return None


def load_tokenizer(name_or_path: str | os.PathLike, **kwargs) -> CausalVideoTokenizer | ImageTokenizer:
    """Load any Cosmos tokenizer, picking :class:`CausalVideoTokenizer` or :class:`ImageTokenizer` from the
    architecture (``config=`` or the preset matched by name; our layout's ``config.json``). Same arguments
    as :meth:`CausalVideoTokenizer.from_pretrained`."""
    config = kwargs.get("config")
    kind = None
    if config is not None:
        kind = _CosmosTokenizer.coerce_config(config).kind
    elif (preset := preset_for(str(name_or_path))) is not None:
        kind = preset.kind
    else:
        folder = Path(name_or_path)
        if (folder / "config.json").is_file():
            document = json.loads((folder / "config.json").read_text())
            if document.get("model_type") in ("CausalVideoTokenizer", "ImageTokenizer"):
                kind = "CV" if document["model_type"] == "CausalVideoTokenizer" else "CI"
    cls = ImageTokenizer if kind in ("CI", "DI") else CausalVideoTokenizer
    return cls.from_pretrained(name_or_path, **kwargs)


__all__ = [
    "CausalVideoTokenizer",
    "ImageTokenizer",
    "PaddedLatent",
    "PaddedTokenGrid",
    "load_tokenizer",
]
