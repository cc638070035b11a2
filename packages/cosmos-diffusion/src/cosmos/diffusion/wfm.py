"""``DiffusionWFM``: the Cosmos-1.0 diffusion world model (tokenizer + DiT + optional text encoder).

Text2World: prompt -> T5 embeddings -> EDM sampling of a latent video -> tokenizer decode (spec §1).
Video2World: the input frames are placed at the start of the clip, encoded, and the first ``K``
latent frames condition the generation (spec §9). Post-trained samples add per-sample actions or
camera rays (spec §11). Every step here follows ``shared/spec/diffusion.md``; the numerics of the
denoiser and sampler are pinned by the NVIDIA fixtures (see :mod:`cosmos.diffusion.denoiser`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from cosmos.core import (
    CheckpointError,
    ChunkedWorldModel,
    Latent,
    PromptUpsampler,
    ShapeError,
    VideoTokenizer,
    WorldState,
    check_video,
    guard_text,
    guard_video,
    resolve_guardrail,
)

from .denoiser import Conditioning, guided_denoiser
from .dit import PRESETS, DiT
from .edm import SIGMA_DATA, SIGMA_MAX, SIGMA_MIN
from .samplers import SAMPLERS, sigmas_for

DEFAULT_NEGATIVE_PROMPT = (
    "The video captures a series of frames showing ugly scenes, static with no motion, motion blur, "
    "over-saturation, shaky footage, low resolution, grainy texture, pixelated images, poorly lit areas, "
    "underexposed and overexposed scenes, poor color balance, washed out colors, choppy sequences, jerky "
    "movements, low frame rate, artifacting, color banding, unnatural transitions, outdated special effects, "
    "fake elements, unconvincing visuals, poorly edited content, jump cuts, visual noise, and flickering. "
    "Overall, the video is of poor quality."
)
"""The official default negative prompt (spec §7), used for the unconditional branch with a text encoder."""

WFM_CONFIG_NAME = "wfm.json"

ROLLOUT_DEFAULTS: dict[str, Any] = {
    "fps": 24.0,
    "resolution": (704, 1280),
    "chunk_frames": 121,
    "context_frames": (1, 9),
}
"""World-model settings of a folder without them (NVIDIA's Video2World release: 121 frames of 704x1280 at 24 fps,
conditioned on 1 or 9 frames; spec §9); ours record them in ``wfm.json``."""

ROLLOUT_STEPS = 10
"""Default sampler steps of :meth:`DiffusionWFM.rollout` / :meth:`DiffusionWFM.predict` (RES-2ab; the
quality-vs-steps table in docs/diffusion.md: the fast setting for roll-outs and planning)."""


def initial_noise(seed: int, shape: Sequence[int]) -> Tensor:
    """Standard normal noise ``[*shape]`` float32 from ``numpy.random.RandomState(seed)`` (spec §8.1).

    This is the official "arch-invariant" generator: the same seed gives the same noise as NVIDIA's
    pipeline on any device; with Video2World the same array is the condition-augmentation noise.
    """
    return torch.from_numpy(np.random.RandomState(seed).standard_normal(tuple(shape)).astype(np.float32))


class DiffusionWFM(ChunkedWorldModel, nn.Module):
    """Cosmos diffusion world foundation model; a :class:`cosmos.core.WorldModel`.

    Roll-outs (``rollout``, ``encode_context`` / ``predict`` / ``decode``, from
    :class:`cosmos.core.ChunkedWorldModel`) condition each chunk on the latent frames of its context (Video2World,
    spec §9) and the chunk's actions, and continue past one clip from the last ``max(context_frames)`` frames.

    Args:
        tokenizer: any :class:`cosmos.core.VideoTokenizer` with a continuous latent of
            ``net.config.latent_channels`` channels (e.g. ``cosmos.tokenizer.CausalVideoTokenizer`` CV8x8x8).
        net: the :class:`DiT`.
        text_encoder: optional object with ``encode(list[str]) -> Tensor [B, S, crossattn_channels]`` (e.g.
            :class:`cosmos.diffusion.text.T5TextEncoder`); without one, pass ``text_embeddings``.
        latent_statistics: optional object with ``normalize(z, sigma_data)`` / ``denormalize(z, sigma_data)``
            (``cosmos.tokenizer.LatentStatistics``, from ``mean_std.pt``); defaults to the tokenizer's
            ``latent_statistics`` attribute when it has one, else latents are used as the tokenizer returns them.
        sigma_data: EDM data standard deviation (0.5).
        fps, resolution, chunk_frames, context_frames: the world-model settings (:class:`cosmos.core.WorldModel`):
            training frame rate, ``(H, W)``, pixel frames of one clip, allowed context lengths.
        tokenizer_name: how the saved folder names its tokenizer (a shipped name, Hub id or relative path).

    Raises:
        TypeError: ``tokenizer`` does not satisfy the protocol.
        ShapeError: the tokenizer's latent channels differ from the DiT's, or the settings do not fit the
            tokenizer (a clip or context length it cannot encode, a resolution not divisible by its compression).
    """

    def __init__(
        self,
        tokenizer: VideoTokenizer,
        net: DiT,
        *,
        text_encoder: Any = None,
        latent_statistics: Any = None,
        sigma_data: float = SIGMA_DATA,
        fps: float = ROLLOUT_DEFAULTS["fps"],
        resolution: Sequence[int] = ROLLOUT_DEFAULTS["resolution"],
        chunk_frames: int = ROLLOUT_DEFAULTS["chunk_frames"],
        context_frames: Sequence[int] = ROLLOUT_DEFAULTS["context_frames"],
        tokenizer_name: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(tokenizer, VideoTokenizer):
            raise TypeError(
                f"tokenizer must satisfy cosmos.core.VideoTokenizer, got {type(tokenizer).__name__}"
            )
        latent_channels = getattr(tokenizer, "latent_channels", None)
        if latent_channels is not None and latent_channels != net.config.latent_channels:
            raise ShapeError(
                f"tokenizer has {latent_channels} latent channels, the DiT expects {net.config.latent_channels}"
            )
        self.tokenizer = tokenizer
        self.net = net
        self.text_encoder = text_encoder
        if latent_statistics is None:
            latent_statistics = getattr(tokenizer, "latent_statistics", None)
        self.latent_statistics = latent_statistics
        self.sigma_data = sigma_data
        self.fps = float(fps)
        self.resolution = (int(resolution[0]), int(resolution[1]))
        self.chunk_frames = int(chunk_frames)
        self.context_frames = tuple(int(k) for k in context_frames)
        self.tokenizer_name = tokenizer_name
        _check_rollout_settings(self)
        self.timings: dict[str, float] = {}
        # True when loaded from NVIDIA's or the diffusers release: its licence requires the full guardrail
        self.nvidia_checkpoint = False

    # ------------------------------------------------------------------------------------------
    # latents
    # ------------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def encode(self, video: Tensor) -> Tensor:
        """Video ``[B, 3, T, H, W]`` in [-1, 1] -> model latent ``[B, C, T', H', W']`` float32 (normalised, spec §2)."""
        return self.encode_latent(self.encode_frames(video).z)

    def decode(self, latent: Tensor | WorldState) -> Tensor:
        """Model latent ``[B, C, T', H', W']`` -> video ``[B, 3, T, H, W]`` float32 in [-1, 1].

        A :class:`cosmos.core.WorldState` (the world-model contract) decodes every chunk of the roll-out.
        """
        if isinstance(latent, WorldState):
            return ChunkedWorldModel.decode(self, latent)
        return self.decode_chunk(self.decode_latent(latent))

    def latent_shape(self, num_frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """``(C, T', H', W')`` of the latent for a clip; checks the tokenizer and the DiT patch size.

        Raises:
            ShapeError: a frame count the tokenizer cannot take, a size not divisible by its spatial
                compression, or a latent not divisible by the DiT patch size.
        """
        if not self.tokenizer.valid_num_frames(num_frames):
            raise ShapeError(
                f"num_frames={num_frames} is not valid for this tokenizer (temporal compression "
                f"{self.tokenizer.temporal_compression}: use 1 + k * {self.tokenizer.temporal_compression})"
            )
        compression = self.tokenizer.spatial_compression
        if height % compression or width % compression:
            raise ShapeError(f"height and width must be multiples of {compression}, got {height}x{width}")
        frames, lat_h, lat_w = self.tokenizer.latent_shape(num_frames, height, width)
        p_t, p_h, p_w = self.net.config.patch_size
        if frames % p_t or lat_h % p_h or lat_w % p_w:
            raise ShapeError(
                f"latent {(frames, lat_h, lat_w)} of a {num_frames}x{height}x{width} clip is not divisible by the "
                f"DiT patch size {self.net.config.patch_size}: use height/width multiples of {compression * p_h}"
            )
        return self.net.config.latent_channels, frames, lat_h, lat_w

    # ------------------------------------------------------------------------------------------
    # the world-model contract (cosmos.core.WorldModel through ChunkedWorldModel)
    # ------------------------------------------------------------------------------------------
    @property
    def action_dim(self) -> int:
        """Components of one action (0 without action conditioning)."""
        return self.net.config.action_dim

    @property
    def max_condition_frames(self) -> int:
        """A chunk holding at most this many frames is completed in place (the trained context lengths)."""
        return max(self.context_frames)

    def encode_frames(self, video: Tensor) -> Latent:
        """Pixel frames ``[B, 3, T, H, W]`` (``T`` valid for the tokenizer) -> the tokenizer's :class:`Latent`."""
        encoded = self.tokenizer.encode(video.to(self.device))
        if not isinstance(encoded, Latent):
            raise TypeError("the diffusion WFM needs a continuous tokenizer (encode must return a Latent)")
        return encoded.replace(z=encoded.z.float())

    def decode_chunk(self, chunk: Latent) -> Tensor:
        """A tokenizer :class:`Latent` -> float32 video ``[B, 3, T, H, W]`` in [-1, 1]."""
        return self.tokenizer.decode(chunk).float().clamp(-1, 1)

    def text_options(self, text: Sequence[str]) -> dict[str, Any]:
        """``text_embeddings`` of the prompts from the text encoder (roll-outs with ``text=``).

        Raises:
            ShapeError: the model has no text encoder.
        """
        if self.text_encoder is None:
            raise ShapeError("this DiffusionWFM has no text encoder: pass text_embeddings= instead of text=")
        return {"text_embeddings": self.text_encoder.encode(list(text)).float()}

    def generate_chunk(
        self,
        prompt: Latent,
        prompt_frames: int,
        actions: Tensor | None,
        num_frames: int,
        seed: int,
        *,
        num_steps: int = ROLLOUT_STEPS,
        sampler: str = "res2ab",
        guidance: float = 0.0,
        text_embeddings: Tensor | None = None,
        fps: float | None = None,
        progress: bool = False,
    ) -> Latent:
        """One Video2World clip of ``chunk_frames`` frames whose first latent frames are ``prompt`` (spec §9).

        Args:
            prompt: tokenizer latent ``[B, C, K, H', W']`` of the chunk's first ``prompt_frames`` pixel frames.
            actions: ``[B, chunk_frames - 1, action_dim]`` or ``None``.
            num_frames: frames the caller keeps (the whole clip is always sampled).
            seed: every row uses the noise of this seed (:func:`initial_noise`), so candidates share it.
            num_steps, sampler, guidance: as in :meth:`sample` (roll-out defaults: 10 RES-2ab steps, no guidance).
            text_embeddings: ``[B|1, S, C_text]``; default all zeros (action-conditioned models).
            fps: frame rate the clip is conditioned on (RoPE time scale, spec §5.2); default :attr:`fps`.

        Returns:
            the tokenizer :class:`Latent` ``[B, C, T', H', W']`` of the whole clip.
        """
        batch = prompt.z.shape[0]
        channels, lat_t, lat_h, lat_w = self.latent_shape(self.chunk_frames, *self.resolution)
        device = self.device
        condition = self.encode_latent(prompt.z.to(device))
        count = condition.shape[2]
        condition = torch.cat(
            [condition, condition.new_zeros(batch, channels, lat_t - count, lat_h, lat_w)], 2
        )
        if text_embeddings is None:
            text_embeddings = torch.zeros(batch, 1, self.net.config.crossattn_channels)
        text_embeddings = text_embeddings.float().to(device).expand(batch, -1, -1)
        noise = initial_noise(seed, (channels, lat_t, lat_h, lat_w)).to(device).expand(batch, -1, -1, -1, -1)
        cond = Conditioning(
            text_embeddings,
            fps=self.fps if fps is None else float(fps),
            action=None if actions is None else actions.float().to(device),
            condition_latent=condition,
            num_condition_frames=torch.full((batch,), count, dtype=torch.int64, device=device),
            augment_noise=noise,
        )
        uncond = cond.replace(crossattn_emb=torch.zeros_like(text_embeddings))
        latent = self._run_sampler(cond, uncond, guidance, noise, sampler, num_steps, progress, None)
        return self.decode_latent(latent)

    def encode_latent(self, z: Tensor) -> Tensor:
        """Tokenizer latent -> model latent (normalised with the latent statistics when set; spec §2)."""
        z = z.float()
        if self.latent_statistics is not None:
            z = self.latent_statistics.normalize(z, self.sigma_data)
        return z

    def decode_latent(self, latent: Tensor) -> Latent:
        """Model latent ``[B, C, T', H', W']`` -> the tokenizer's :class:`Latent` (statistics undone)."""
        z = latent.float()
        if self.latent_statistics is not None:
            z = self.latent_statistics.denormalize(z, self.sigma_data)
        return Latent(
            z,
            temporal_compression=self.tokenizer.temporal_compression,
            spatial_compression=self.tokenizer.spatial_compression,
            tokenizer_name=self.tokenizer_name,
        )

    # ------------------------------------------------------------------------------------------
    # sampling
    # ------------------------------------------------------------------------------------------
    def _text_inputs(
        self, prompt: str | Sequence[str] | None, text_embeddings: Tensor | None
    ) -> tuple[list[str] | None, Tensor | None]:
        """Validate ``prompt`` xor ``text_embeddings``; return ``(prompts, embeddings [B, S, C])`` (one is None)."""
        if (prompt is None) == (text_embeddings is None):
            raise ValueError("pass exactly one of prompt and text_embeddings")
        if prompt is not None:
            prompts = [prompt] if isinstance(prompt, str) else list(prompt)
            if not prompts or not all(isinstance(p, str) for p in prompts):
                raise ValueError("prompt must be a string or a non-empty list of strings")
            if self.text_encoder is None:
                raise ValueError(
                    "this DiffusionWFM has no text encoder: pass text_embeddings [B, S, C] instead"
                )
            return prompts, None
        embeddings = text_embeddings
        if embeddings.ndim == 2:
            embeddings = embeddings[None]
        channels = self.net.config.crossattn_channels
        if embeddings.ndim != 3 or embeddings.shape[-1] != channels:
            raise ShapeError(
                f"text_embeddings must be [B, S, {channels}], got {tuple(text_embeddings.shape)}"
            )
        if not torch.isfinite(embeddings).all():
            raise ShapeError("text_embeddings contain NaN or inf")
        return None, embeddings.float()

    def _per_sample(
        self, name: str, value: Tensor | None, batch: int, trailing: tuple[int, ...]
    ) -> Tensor | None:
        """Check ``value`` is ``[B, *trailing]`` or ``[*trailing]`` (broadcast), finite; return ``[B, *trailing]``."""
        if value is None:
            return None
        value = torch.as_tensor(value, dtype=torch.float32)
        if tuple(value.shape) == trailing:
            value = value[None].expand(batch, *trailing)
        if tuple(value.shape) != (batch, *trailing):
            raise ShapeError(
                f"{name} must be [{batch}, {', '.join(map(str, trailing))}] (or without the batch dim), got {tuple(value.shape)}"
            )
        if not torch.isfinite(value).all():
            raise ShapeError(f"{name} contains NaN or inf")
        return value

    def _condition_video(
        self,
        video: Tensor,
        batch: int,
        num_input_frames: int | None,
        num_frames: int,
        height: int,
        width: int,
    ) -> tuple[Tensor, int, int]:
        """Input frames -> ``(condition latent [B, C, T', H', W'], K latent frames, N pixel frames)`` (spec §9)."""
        from cosmos.core import resize_video

        if video.ndim == 4:
            video = video[None]
        check_video(video, name="video")
        if video.shape[0] not in (1, batch):
            raise ShapeError(f"video batch {video.shape[0]} does not match the {batch} prompts")
        available = video.shape[2]
        count = available if num_input_frames is None else num_input_frames
        if count < 1 or count > available:
            raise ShapeError(f"num_input_frames={count} but the video has {available} frames")
        if not self.tokenizer.valid_num_frames(count):
            raise ShapeError(
                f"{count} conditioning frames cannot be tokenized on their own: use 1 + k * "
                f"{self.tokenizer.temporal_compression} frames (e.g. 1 or 9)"
            )
        if count >= num_frames:
            raise ShapeError(f"num_frames={num_frames} must exceed the {count} conditioning frames")
        frames = video[:, :, available - count :].float()  # the last N frames
        if frames.shape[-2:] != (height, width):
            frames = resize_video(frames, (height, width))
        frames = frames.expand(batch, -1, -1, -1, -1)
        clip = frames.new_zeros(batch, 3, num_frames, height, width)
        clip[:, :, :count] = frames  # conditioning frames first, zeros after (spec §9)
        latent = self.encode(clip.to(self.device))
        num_condition_latent = self.tokenizer.latent_shape(count, height, width)[0]
        return latent, num_condition_latent, count

    @torch.no_grad()
    def sample(
        self,
        prompt: str | Sequence[str] | None = None,
        *,
        text_embeddings: Tensor | None = None,
        negative_prompt: str | None = DEFAULT_NEGATIVE_PROMPT,
        negative_text_embeddings: Tensor | None = None,
        video: Tensor | None = None,
        num_input_frames: int | None = None,
        num_frames: int = 121,
        height: int = 704,
        width: int = 1280,
        fps: float = 24.0,
        guidance: float = 7.0,
        num_steps: int = 35,
        sampler: str = "res2ab",
        seed: int | Sequence[int] = 1,
        action: Tensor | None = None,
        camera: Tensor | None = None,
        augment_sigma: float = 0.001,
        input_frames_guidance: bool = False,
        callback: Callable[[dict], None] | None = None,
        progress: bool = True,
        return_latent: bool = False,
        guardrail: Any = "auto",
        upsample_prompt: PromptUpsampler | None = None,
    ) -> Tensor:
        """Generate videos (Text2World, or Video2World with ``video``), spec §1 and §7-§9.

        Args:
            prompt: a prompt or a list of ``B`` prompts (needs a text encoder).
            text_embeddings: instead of ``prompt``: ``[B, S, C_text]`` (or ``[S, C_text]``) precomputed embeddings.
            negative_prompt: text of the unconditional branch when prompting (official default); ``None`` or
                precomputed embeddings without ``negative_text_embeddings`` use an all-zero embedding.
            negative_text_embeddings: ``[B|1, S, C_text]`` unconditional embeddings.
            video: Video2World conditioning frames ``[B|1, 3, N, H, W]`` (or ``[3, N, H, W]``) in [-1, 1]; resized
                to ``height x width`` if needed. The last ``num_input_frames`` (default all) are used.
            num_frames, height, width: output clip size (pixels); the tokenizer must accept them.
            fps: frame rate of the output (rescales RoPE time, spec §5.2).
            guidance: classifier-free guidance ``w`` in ``x0_c + w (x0_c - x0_u)`` (7 = official default; 0 = off).
            num_steps: sampler intervals (35 = official default).
            sampler: ``"res2ab"`` (official), ``"euler"`` or ``"heun"``.
            seed: an int (sample ``b`` uses ``seed + b``) or one seed per sample; noise is drawn on CPU.
            action: action-conditioned models: ``[B, A, 7]`` (or ``[A, 7]``).
            camera: camera-conditioned models: Plücker rays ``[B, 6, T', H', W']`` at the latent grid
                (see :func:`cosmos.diffusion.camera.plucker_rays`).
            augment_sigma: Video2World condition-frame noise level (0.001 at inference).
            input_frames_guidance: Video2World: give the unconditional branch an all-zero condition-mask channel
                (the official ``add_input_frames_guidance`` option, off by default); frames are still inserted.
            callback: called after every model evaluation with ``{"i", "x", "sigma", "x0"}``.
            progress: show a tqdm bar over model evaluations.
            return_latent: return the model latent ``[B, C, T', H', W']`` instead of decoding (the post-guard
                then does not run: guard the decoded video with :func:`cosmos.core.guard_video`).
            guardrail: ``"auto"`` (cosmos-guard's default when installed: the offline preset for our models, the
                full preset for NVIDIA checkpoints, which fail closed without it), ``None`` (explicit, logged
                opt-out) or a guardrail object; see :mod:`cosmos.core.safety`. Prompts are checked before any
                model runs and every output video after decoding (faces pixelated).
            upsample_prompt: a :class:`cosmos.core.PromptUpsampler`: the prompts are checked, upsampled (video2world:
                from each sample's last conditioning frame) and the upsampled prompts checked again before encoding;
                a failing upsampler falls back to the prompt with a warning (spec §10, guardrail spec §1.3).

        Returns:
            float32 video ``[B, 3, num_frames, height, width]`` in [-1, 1] on the model's device.
            Per-stage wall times (seconds) are left in :attr:`timings`.

        Raises:
            GuardrailBlocked: the guardrail blocked a prompt or an output video.
            ValueError: both or neither of prompt/text_embeddings, unknown sampler, missing text encoder.
            ShapeError: a frame count or size the tokenizer/DiT cannot take, wrongly shaped or non-finite
                embeddings, video, action or camera, conditioning the model does not have.
        """
        timings: dict[str, float] = {}
        start = time.perf_counter()
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
        config = self.net.config
        prompts, embeddings = self._text_inputs(prompt, text_embeddings)
        batch = len(prompts) if prompts is not None else embeddings.shape[0]
        seeds = [seed + b for b in range(batch)] if isinstance(seed, int) else [int(s) for s in seed]
        if len(seeds) != batch:
            raise ValueError(f"got {len(seeds)} seeds for {batch} samples")
        channels, lat_t, lat_h, lat_w = self.latent_shape(num_frames, height, width)
        if config.condition_mask and video is None:
            raise ShapeError("this is a Video2World model: pass video (the conditioning frames)")
        if video is not None and not config.condition_mask:
            raise ShapeError("video given, but this is a Text2World model (no condition-mask channel)")
        if action is not None and not config.action_dim:
            raise ShapeError("action given, but this model has no action conditioning")
        if config.action_dim:
            if action is None:
                raise ShapeError(
                    f"this model is action-conditioned: pass action [B, {config.action_frames}, {config.action_dim}]"
                )
            if config.action_embedding == "predict1" and torch.as_tensor(action).ndim >= 2:
                action = torch.as_tensor(action)[..., :1, :]  # the released layer reads action[:, 0] only
            action = self._per_sample("action", action, batch, (config.action_frames, config.action_dim))
        if camera is not None and not config.camera_channels:
            raise ShapeError("camera given, but this model has no camera channels")
        if config.camera_channels:
            if camera is None:
                raise ShapeError(
                    f"this model is camera-conditioned: pass camera rays [B, 6, {lat_t}, {lat_h}, {lat_w}]"
                )
            camera = self._per_sample("camera", camera, batch, (config.camera_channels, lat_t, lat_h, lat_w))

        guard = resolve_guardrail(guardrail, nvidia_checkpoint=self.nvidia_checkpoint)
        if prompts is not None:
            guard_text(guard, prompts, negative_prompt)
        if upsample_prompt is not None:
            prompts = upsample_prompt.upsample_batch(prompts, video=video)
            guard_text(guard, prompts, negative_prompt)  # the upsampled prompts pass the pre-guard too
        if prompts is not None:  # all inputs are valid: now run the (expensive) text encoder
            embeddings = self.text_encoder.encode(prompts).float()
        if (
            prompts is not None
            and negative_text_embeddings is None
            and negative_prompt is not None
            and guidance != 0
        ):
            negative = self.text_encoder.encode([negative_prompt] * batch).float()
        elif negative_text_embeddings is not None:
            negative = negative_text_embeddings.float()
            if negative.ndim == 2:
                negative = negative[None]
            if negative.shape[0] == 1:
                negative = negative.expand(batch, -1, -1)
            if negative.shape != embeddings.shape:
                raise ShapeError(
                    f"negative_text_embeddings {tuple(negative.shape)} must match {tuple(embeddings.shape)}"
                )
        else:
            negative = torch.zeros_like(embeddings)
        timings["text"] = time.perf_counter() - start

        device = self.device
        noise = torch.stack([initial_noise(s, (channels, lat_t, lat_h, lat_w)) for s in seeds]).to(device)
        cond = Conditioning(
            embeddings.to(device),
            fps=float(fps),
            camera=None if camera is None else camera.to(device),
            action=None if action is None else action.to(device),
        )
        if video is not None:
            start = time.perf_counter()
            condition_latent, num_condition, _ = self._condition_video(
                video, batch, num_input_frames, num_frames, height, width
            )
            cond = cond.replace(
                condition_latent=condition_latent.to(device),
                num_condition_frames=torch.full((batch,), num_condition, dtype=torch.int64, device=device),
                augment_noise=noise,
                augment_sigma=augment_sigma,
            )
            timings["encode_video"] = time.perf_counter() - start
        frames_guidance = input_frames_guidance and video is not None
        released_posttrained = config.action_embedding == "predict1" or config.camera_channels > 0
        uncond = cond.replace(  # spec §11.2: the post-trained models' uncondition zeroes the condition region
            crossattn_emb=negative.to(device),
            zero_condition_mask=frames_guidance and not released_posttrained,
            zero_condition_region=frames_guidance and released_posttrained,
        )

        start = time.perf_counter()
        latent = self._run_sampler(cond, uncond, guidance, noise, sampler, num_steps, progress, callback)
        timings["denoise"] = time.perf_counter() - start
        if return_latent:
            self.timings = timings
            return latent
        start = time.perf_counter()
        out = self.decode(latent)
        timings["decode"] = time.perf_counter() - start
        start = time.perf_counter()
        out = guard_video(guard, out)
        timings["guardrail"] = time.perf_counter() - start
        self.timings = timings
        return out

    def _run_sampler(
        self,
        cond: Conditioning,
        uncond: Conditioning,
        guidance: float,
        noise: Tensor,
        sampler: str,
        num_steps: int,
        progress: bool,
        callback: Callable[[dict], None] | None,
    ) -> Tensor:
        return run_sampler(
            self.net, cond, uncond, guidance, noise, sampler, num_steps,
            sigma_data=self.sigma_data, progress=progress, callback=callback,
        )  # fmt: skip

    # ------------------------------------------------------------------------------------------
    # weights
    # ------------------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str,
        *,
        tokenizer: VideoTokenizer | None = None,
        text_encoder: Any = None,
        latent_statistics: Any = None,
        config: Any = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> DiffusionWFM:
        """Load a world model from our layout, NVIDIA's release folder or a diffusers pipeline folder.

        * Ours (written by :meth:`save_pretrained`): ``dit/`` (DiT), ``wfm.json`` (``sigma_data``, the world-model
          settings ``fps`` / ``resolution`` / ``chunk_frames`` / ``context_frames``, and ``tokenizer``: a shipped
          short name, Hub id or path relative to the folder), optional ``latent_stats.json``.
        * NVIDIA: a folder with ``model.pt`` (e.g. ``Cosmos-1.0-Diffusion-7B-Text2World/``); the config is the
          preset named like the folder unless ``config`` is given.
        * diffusers: a folder with ``transformer/`` (and ``vae/config.json`` holding ``latents_mean/std``).

        A tokenizer is taken from ``tokenizer=``, else the one ``wfm.json`` names, else loaded with
        ``cosmos.tokenizer`` from ``tokenizer/`` or ``vae/`` inside the folder, or NVIDIA's
        ``Cosmos-1.0-Tokenizer-CV8x8x8`` folder beside it.

        Raises:
            CheckpointError: no weights, unknown layout, no tokenizer found.
            ShapeError: a ``tokenizer=`` whose compression differs from the one the model was trained with.
        """
        from cosmos.core import resolve_pretrained

        folder = Path(resolve_pretrained(name_or_path, shipped_root="cosmos.diffusion.pretrained"))
        settings: dict[str, Any] = {}
        if (folder / WFM_CONFIG_NAME).is_file():
            settings = json.loads((folder / WFM_CONFIG_NAME).read_text())
            net = DiT.from_pretrained(folder / "dit", config=config, device=device, dtype=dtype)
        elif (folder / "transformer").is_dir():
            net = DiT.from_pretrained(folder / "transformer", config=config, device=device, dtype=dtype)
        else:
            if config is None:
                # NVIDIA's folders and Hub repos are named after the checkpoint: use the preset of that name
                for candidate in (folder.name, Path(str(name_or_path)).name):
                    if candidate in PRESETS:
                        config = candidate
                        break
            net = DiT.from_pretrained(folder, config=config, device=device, dtype=dtype)
        if latent_statistics is None:
            latent_statistics = _load_latent_statistics(folder)
        reference = settings.get("tokenizer")
        if tokenizer is None:
            tokenizer = _load_tokenizer(folder, device, reference)
        _check_tokenizer_compression(tokenizer, settings, folder)
        model = cls(
            tokenizer,
            net,
            text_encoder=text_encoder,
            latent_statistics=latent_statistics,
            sigma_data=float(settings.get("sigma_data", SIGMA_DATA)),
            tokenizer_name=reference,
            **{key: settings.get(key, value) for key, value in ROLLOUT_DEFAULTS.items()},
        )
        model.nvidia_checkpoint = not (folder / WFM_CONFIG_NAME).is_file()
        return model.eval()

    def save_pretrained(
        self, path: str | Path, *, dtype: torch.dtype | None = None, tokenizer_name: str | None = None
    ) -> Path:
        """Write our layout: ``dit/`` (config.json + safetensors), ``wfm.json``, ``latent_stats.json`` when
        statistics are set.

        Args:
            tokenizer_name: how ``wfm.json`` refers to the tokenizer (a shipped short name or Hub id); default the
                model's :attr:`tokenizer_name`. Without either, the tokenizer is saved into ``tokenizer/`` (when it
                has ``save_pretrained``) and referred to by that relative path.

        Raises:
            CheckpointError: no name to refer to a tokenizer that cannot save itself.
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.net.save_pretrained(folder / "dit", dtype=dtype)
        reference = tokenizer_name or self.tokenizer_name
        if reference is None:
            if not hasattr(self.tokenizer, "save_pretrained"):
                raise CheckpointError(
                    "the tokenizer cannot save itself: pass tokenizer_name= (a name or Hub id)"
                )
            self.tokenizer.save_pretrained(folder / "tokenizer")
            reference = "tokenizer"
        if self.latent_statistics is not None:
            stats = {
                "mean": self.latent_statistics.mean.tolist(),
                "std": self.latent_statistics.std.tolist(),
            }
            (folder / "latent_stats.json").write_text(json.dumps(stats))
        document = {
            "sigma_data": self.sigma_data,
            "tokenizer": reference,
            "temporal_compression": self.tokenizer.temporal_compression,
            "spatial_compression": self.tokenizer.spatial_compression,
            "fps": self.fps,
            "resolution": list(self.resolution),
            "chunk_frames": self.chunk_frames,
            "context_frames": list(self.context_frames),
        }
        (folder / WFM_CONFIG_NAME).write_text(json.dumps(document, indent=2) + "\n")
        return folder



def run_sampler(
    net: nn.Module,
    cond: Conditioning,
    uncond: Conditioning,
    guidance: float,
    noise: Tensor,
    sampler: str,
    num_steps: int,
    *,
    sigma_data: float = SIGMA_DATA,
    progress: bool = False,
    callback: Callable[[dict], None] | None = None,
) -> Tensor:
    """EDM sampling from ``noise * sigma_max`` (``noise`` ``[B, C, T', H', W']`` standard normal) with the guided
    denoiser; returns the model latent of the same shape (spec §7-8; one tqdm bar over model evaluations).

    Raises:
        ValueError: an unknown sampler.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
    denoiser = guided_denoiser(net, cond, uncond, guidance, sigma_data=sigma_data)
    sigmas = sigmas_for(sampler, num_steps, SIGMA_MIN, SIGMA_MAX)
    evaluations = {"res2ab": num_steps + 1, "euler": num_steps + 1, "heun": 2 * num_steps + 1}[sampler]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=evaluations, desc=f"{sampler} sampling", unit="eval")

    def on_step(info: dict) -> None:
        if bar is not None:
            bar.update(1)
        if callback is not None:
            callback(info)

    try:
        return SAMPLERS[sampler](denoiser, noise * SIGMA_MAX, sigmas, callback=on_step)
    finally:
        if bar is not None:
            bar.close()

def _check_rollout_settings(model: DiffusionWFM) -> None:
    """The world-model settings must fit the tokenizer (valid clip and context lengths, divisible resolution)."""
    tokenizer = model.tokenizer
    for frames in (model.chunk_frames, *model.context_frames):
        if not tokenizer.valid_num_frames(frames):
            raise ShapeError(
                f"{frames} frames (chunk_frames / context_frames) cannot be tokenized: use 1 + k * "
                f"{tokenizer.temporal_compression}"
            )
    if max(model.context_frames) >= model.chunk_frames:
        raise ShapeError(
            f"context_frames {model.context_frames} must be shorter than chunk_frames {model.chunk_frames}"
        )
    height, width = model.resolution
    if height % tokenizer.spatial_compression or width % tokenizer.spatial_compression:
        raise ShapeError(
            f"resolution {height}x{width} is not divisible by the tokenizer's {tokenizer.spatial_compression}"
        )


def _check_tokenizer_compression(tokenizer: VideoTokenizer, settings: dict[str, Any], folder: Path) -> None:
    """A tokenizer of another compression than the one ``wfm.json`` records is a named error, not a wrong video."""
    for name in ("temporal_compression", "spatial_compression"):
        expected = settings.get(name)
        if expected is not None and getattr(tokenizer, name) != expected:
            raise ShapeError(
                f"the tokenizer has {name} {getattr(tokenizer, name)}, but {folder.name} was trained with "
                f"{expected} ({settings.get('tokenizer')}): it does not match this world model"
            )


def _load_latent_statistics(folder: Path) -> Any:
    """``latent_stats.json`` (ours), ``mean_std.pt`` or diffusers ``vae/config.json`` latents_mean/std, if any."""
    candidates = [folder / "latent_stats.json", folder / "mean_std.pt", folder / "vae" / "config.json"]
    if not any(c.is_file() for c in candidates):
        return None
    try:
        from cosmos.tokenizer import LatentStatistics
    except ImportError:
        return None
    if (folder / "latent_stats.json").is_file():
        stats = json.loads((folder / "latent_stats.json").read_text())
        return LatentStatistics(torch.tensor(stats["mean"]), torch.tensor(stats["std"]))
    try:
        return LatentStatistics.load(folder)
    except CheckpointError:
        return None


TOKENIZER_FOLDERS = (
    "tokenizer",
    "vae",
    "../Cosmos-1.0-Tokenizer-CV8x8x8",
    "../Cosmos-Tokenize1-CV8x8x8-720p",
)
"""Where :meth:`DiffusionWFM.from_pretrained` looks for a tokenizer: ours, diffusers', NVIDIA's sibling folders."""


def _load_tokenizer(folder: Path, device: Any, reference: str | None = None) -> VideoTokenizer:
    """The tokenizer ``reference`` names (relative path, shipped short name or Hub id), else the first of
    :data:`TOKENIZER_FOLDERS` that exists."""
    if reference is not None:
        from cosmos.core import resolve_relative
        from cosmos.tokenizer import CausalVideoTokenizer

        return CausalVideoTokenizer.from_pretrained(resolve_relative(reference, folder), device=device)
    for sub in TOKENIZER_FOLDERS:
        if (folder / sub).is_dir():
            try:
                from cosmos.tokenizer import CausalVideoTokenizer
            except ImportError as error:
                raise CheckpointError(
                    f"{folder / sub} needs cosmos-tokenizer to load; or pass tokenizer="
                ) from error
            return CausalVideoTokenizer.from_pretrained(folder / sub, device=device)
    raise CheckpointError(
        f"no tokenizer found for {folder} (looked for {', '.join(TOKENIZER_FOLDERS)}): pass tokenizer="
    )
