"""``MultiViewWFM``: multi-view (surround-camera) Text2World / Video2World sampling, and the grid video writer.

The driving pipeline of ``shared/spec/multiview.md`` §1, §4, §5 around a :class:`~cosmos.diffusion.MultiViewDiT`:

* one caption (or T5 embedding ``[S, C]``) per view, concatenated in view order; the CFG branch is **zero
  text for every view** (the pipeline's ``is_negative_prompt=False``), guidance 7, RES-2ab 35 steps;
* ``frame_repeat``: raw ``(0, .., 0, 10, 10)`` (the last two views; CLI ``--frame-repeat``), i.e. network
  value ``(0, .., 0, 1, 1)``, the same in both branches;
* the trajectory variant takes ``trajectory [B, 64, 3]`` (64 future ego positions 0.1 s apart, metres, ego
  frame), flattened point-major;
* each view is tokenized on its own (``(B*V)`` clips) and the latents are laid out view-major on time;
* the initial noise is ``80 * RandomState(seed).standard_normal((16, V*T, H, W))`` per sample, and for
  Video2World the same array is the condition-frame augmentation noise;
* Video2World: each view's last ``N`` input frames start its own zero-padded clip; ``K`` follows the
  reference's ``compute_num_latent_frames`` (every valid ``N`` below one chunk gives ``K = 1``, spec §5) unless
  ``reference_condition_frames=False`` (``K`` = the latent frames of ``N`` pixel frames).

Output videos are ``[B, V, 3, T, H, W]`` in [-1, 1]; :func:`multiview_grid` / :func:`write_multiview_grid` tile
them (2x3 for six views: top ``left, front, right``, bottom ``back-left, back, back-right``; 1x3 for three).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from einops import rearrange
from torch import Tensor, nn

from cosmos.core import (
    Latent,
    ShapeError,
    VideoTokenizer,
    check_video,
    guard_text,
    guard_video,
    resolve_guardrail,
)

from .denoiser import Conditioning
from .edm import SIGMA_DATA
from .multiview import FRAME_REPEAT_SCALE, MULTIVIEW_PRESETS, MultiViewDiT, check_trajectory
from .samplers import SAMPLERS
from .wfm import initial_noise, run_sampler

GRID_LAYOUTS: dict[int, tuple[tuple[int, ...], ...]] = {
    6: ((1, 0, 2), (4, 3, 5)),  # left front right / back-left back back-right (spec §1)
    3: ((1, 0, 2),),  # front-left front front-right
}
"""View index per grid cell, by view count; other counts use one row in view order."""


class MultiViewWFM(nn.Module):
    """Multi-view driving world model: tokenizer + :class:`MultiViewDiT` (+ optional text encoder).

    Args:
        tokenizer: a :class:`cosmos.core.VideoTokenizer` with ``net.config.latent_channels`` latent channels
            (CV8x8x8 for NVIDIA's models: 57 frames per view -> 8 latent frames).
        net: the :class:`MultiViewDiT`.
        text_encoder: optional ``encode(list[str]) -> [N, S, C]`` (e.g. :class:`cosmos.diffusion.text.T5TextEncoder`).
        latent_statistics: optional ``normalize`` / ``denormalize`` pair (default: the tokenizer's attribute).
        sigma_data: EDM data standard deviation (0.5).

    Raises:
        TypeError: ``net`` is not a :class:`MultiViewDiT` or ``tokenizer`` not a tokenizer.
        ShapeError: the tokenizer's latent channels differ from the network's.
    """

    def __init__(
        self,
        tokenizer: VideoTokenizer,
        net: MultiViewDiT,
        *,
        text_encoder: Any = None,
        latent_statistics: Any = None,
        sigma_data: float = SIGMA_DATA,
    ) -> None:
        super().__init__()
        if not isinstance(net, MultiViewDiT):
            raise TypeError(f"MultiViewWFM needs a MultiViewDiT, got {type(net).__name__}")
        if not isinstance(tokenizer, VideoTokenizer):
            raise TypeError(
                f"tokenizer must satisfy cosmos.core.VideoTokenizer, got {type(tokenizer).__name__}"
            )
        channels = getattr(tokenizer, "latent_channels", None)
        if channels is not None and channels != net.config.latent_channels:
            raise ShapeError(
                f"tokenizer has {channels} latent channels, the DiT expects {net.config.latent_channels}"
            )
        self.tokenizer = tokenizer
        self.net = net
        self.text_encoder = text_encoder
        self.latent_statistics = (
            latent_statistics
            if latent_statistics is not None
            else getattr(tokenizer, "latent_statistics", None)
        )
        self.sigma_data = sigma_data
        self.nvidia_checkpoint = False
        self.timings: dict[str, float] = {}

    @property
    def num_views(self) -> int:
        return self.net.num_views

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    # ------------------------------------------------------------------------------------------
    # latents: each view on its own, then view-major on time
    # ------------------------------------------------------------------------------------------
    def encode_views(self, views: Tensor) -> Tensor:
        """``[B, V, 3, T, H, W]`` pixels in [-1, 1] -> model latent ``[B, C, V*T', H', W']`` (normalised)."""
        batch = views.shape[0]
        latent = self.tokenizer.encode(rearrange(views, "b v c t h w -> (b v) c t h w").to(self.device))
        z = (latent.z if hasattr(latent, "z") else latent).float()
        if self.latent_statistics is not None:
            z = self.latent_statistics.normalize(z, self.sigma_data)
        return rearrange(z, "(b v) c t h w -> b c (v t) h w", b=batch)

    def decode_views(self, latent: Tensor) -> Tensor:
        """Model latent ``[B, C, V*T', H', W']`` -> pixels ``[B, V, 3, T, H, W]`` float32, clamped to [-1, 1]."""
        batch = latent.shape[0]
        z = rearrange(latent.float(), "b c (v t) h w -> (b v) c t h w", v=self.num_views)
        if self.latent_statistics is not None:
            z = self.latent_statistics.denormalize(z, self.sigma_data)
        tokenizer = self.tokenizer
        video = tokenizer.decode(Latent(z, tokenizer.temporal_compression, tokenizer.spatial_compression))
        return rearrange(video.float().clamp(-1, 1), "(b v) c t h w -> b v c t h w", b=batch)

    # ------------------------------------------------------------------------------------------
    # inputs
    # ------------------------------------------------------------------------------------------
    def view_text(
        self, prompts: Sequence[str] | Sequence[Sequence[str]] | None, text_embeddings: Tensor | None
    ) -> tuple[list[list[str]] | None, Tensor | None]:
        """Per-view prompts (``V`` strings, or ``B`` lists of ``V``) xor embeddings ``[B, V, S, C]`` /
        ``[B, V*S, C]`` (views concatenated in view order). Returns ``(prompts, embeddings [B, V*S, C])``, one of them None.

        Raises:
            ValueError: both or neither given, or prompts without a text encoder.
            ShapeError: a view without a prompt, or embeddings of another shape or non-finite.
        """
        views = self.num_views
        if (prompts is None) == (text_embeddings is None):
            raise ValueError("pass exactly one of prompts and text_embeddings")
        if prompts is not None:
            nested = (
                [list(prompts)] if all(isinstance(p, str) for p in prompts) else [list(p) for p in prompts]
            )
            for index, sample in enumerate(nested):
                if len(sample) != views or not all(isinstance(p, str) and p.strip() for p in sample):
                    raise ShapeError(
                        f"sample {index}: need one non-empty prompt per view ({views} views), got {len(sample)}"
                    )
            if self.text_encoder is None:
                raise ValueError("this MultiViewWFM has no text encoder: pass text_embeddings [B, V, S, C]")
            return nested, None
        embeddings = torch.as_tensor(text_embeddings).float()
        channels = self.net.config.crossattn_channels
        if embeddings.ndim == 4:
            if embeddings.shape[1] != views:
                raise ShapeError(
                    f"text_embeddings [B, V, S, C] must hold {views} views, got {tuple(embeddings.shape)}"
                )
            embeddings = embeddings.flatten(1, 2)
        if embeddings.ndim != 3 or embeddings.shape[2] != channels or embeddings.shape[1] % views:
            raise ShapeError(
                f"text_embeddings must be [B, V, S, {channels}] or [B, V*S, {channels}] with V = {views}, "
                f"got {tuple(text_embeddings.shape)}"
            )
        if not bool(torch.isfinite(embeddings).all()):
            raise ShapeError("text_embeddings contain NaN or inf")
        return None, embeddings

    def frame_repeat(self, batch: int, negative_condition: float | None) -> Tensor | None:
        """Network ``frame_repeat [B, V]``: raw ``negative_condition`` on the last two views, divided by 10
        (spec §2.3); ``None`` (or negative, the reference's ``-1``) omits it (the network then uses zeros)."""
        if negative_condition is None or negative_condition < 0 or self.net.frame_repeat_embed is None:
            return None
        raw = torch.zeros(batch, self.num_views)
        raw[:, -2:] = float(negative_condition)
        return raw / FRAME_REPEAT_SCALE

    def num_condition_latents(
        self, num_input_frames: int, num_frames: int, size: tuple[int, int], reference: bool = True
    ) -> int:
        """``K`` latent conditioning frames per view for ``N`` input frames (spec §5).

        The reference's rule (``reference=True``): every ``N`` the tokenizer can encode on its own and that is
        shorter than the clip gives ``K = 1`` (``N = 9`` too). ``reference=False``: the latent frames of ``N``.

        Raises:
            ShapeError: ``N`` not a valid count (below 1, not ``1 + k * temporal_compression``, or not shorter
                than the clip).
        """
        tokenizer = self.tokenizer
        if (
            num_input_frames < 1
            or num_input_frames >= num_frames
            or not tokenizer.valid_num_frames(num_input_frames)
        ):
            raise ShapeError(
                f"num_input_frames={num_input_frames} is not a valid count of conditioning frames per view: use "
                f"1 + k * {tokenizer.temporal_compression} frames, fewer than num_frames={num_frames}"
            )
        if reference:
            return 1
        return tokenizer.latent_shape(num_input_frames, *size)[0]

    def condition_views(
        self, video: Tensor, batch: int, num_input_frames: int, num_frames: int, height: int, width: int
    ) -> Tensor:
        """Per-view conditioning frames ``[B|1, V, 3, N_in, H, W]`` -> condition latent ``[B, C, V*T', H', W']``.

        Each view's last ``num_input_frames`` frames start its own ``num_frames`` clip, zero-padded (spec §5).

        Raises:
            ShapeError: another view count, batch or layout, or fewer frames than ``num_input_frames``.
        """
        from cosmos.core import resize_video

        views = self.num_views
        if video.ndim == 5:
            video = video[None]
        if video.ndim != 6 or video.shape[1] != views or video.shape[0] not in (1, batch):
            raise ShapeError(
                f"video must be [B, V, 3, N, H, W] per-view frames with V = {views} (B = 1 or {batch}), "
                f"got {tuple(video.shape)}"
            )
        if video.shape[3] < num_input_frames:
            raise ShapeError(f"num_input_frames={num_input_frames} but each view has {video.shape[3]} frames")
        flat = rearrange(
            video[:, :, :, video.shape[3] - num_input_frames :].float(), "b v c t h w -> (b v) c t h w"
        )
        check_video(flat, name="video")
        if flat.shape[-2:] != (height, width):
            flat = resize_video(flat, (height, width))
        clip = flat.new_zeros(flat.shape[0], 3, num_frames, height, width)
        clip[:, :, :num_input_frames] = flat
        clip = rearrange(clip, "(b v) c t h w -> b v c t h w", v=views).expand(batch, -1, -1, -1, -1, -1)
        return self.encode_views(clip)

    def check_conditioning(
        self,
        video: Tensor | None,
        trajectory: Tensor | None,
        batch: int,
        num_input_frames: int,
        num_frames: int,
        size: tuple[int, int],
        reference_condition_frames: bool = True,
    ) -> tuple[int | None, Tensor | None]:
        """Validate the Video2World and trajectory inputs; return ``(K or None, trajectory [B, 192] or None)``.

        Raises:
            ShapeError: video missing for a Video2World model or given to a Text2World one, an invalid
                conditioning-frame count, a trajectory missing / of the wrong shape / non-finite / unexpected.
        """
        if self.net.config.condition_mask and video is None:
            raise ShapeError("this is a Video2World model: pass video (per-view conditioning frames)")
        if video is not None and not self.net.config.condition_mask:
            raise ShapeError("video given, but this is a Text2World model (no condition-mask channel)")
        num_condition = None
        if video is not None:
            num_condition = self.num_condition_latents(
                num_input_frames, num_frames, size, reference_condition_frames
            )
        if self.net.trajectory_embed is None:
            if trajectory is not None:
                raise ShapeError("trajectory given, but this model has no trajectory conditioning")
            return num_condition, None
        trajectory = torch.as_tensor(trajectory).float() if trajectory is not None else None
        if trajectory is not None and trajectory.ndim == 2 and trajectory.shape[0] == 64:
            trajectory = trajectory[None].expand(batch, -1, -1)  # [64, 3] -> [B, 64, 3]
        return num_condition, check_trajectory(trajectory, batch)

    def encode_text(
        self,
        prompt_lists: list[list[str]] | None,
        embeddings: Tensor | None,
        negative: Tensor | None,
        guard: Any,
    ) -> tuple[Tensor, Tensor]:
        """Guard and encode per-view prompts (or keep the embeddings); return ``(text, negative) [B, V*S, C]``.

        The negative branch defaults to zero text for every view (the pipeline's CFG).

        Raises:
            GuardrailBlocked: a prompt was blocked.
            ShapeError: negative embeddings whose shape differs from the text's.
        """
        if prompt_lists is not None:
            flat_prompts = [p for sample in prompt_lists for p in sample]
            guard_text(guard, flat_prompts)
            flat = self.text_encoder.encode(flat_prompts).float()  # [B*V, S, C]
            embeddings = rearrange(flat, "(b v) s c -> b (v s) c", v=self.num_views)
        if negative is None:
            negative = torch.zeros_like(embeddings)
        if negative.shape[0] == 1:
            negative = negative.expand(embeddings.shape[0], -1, -1)
        if negative.shape != embeddings.shape:
            raise ShapeError(
                f"negative_text_embeddings {tuple(negative.shape)} must match {tuple(embeddings.shape)}"
            )
        return embeddings, negative

    # ------------------------------------------------------------------------------------------
    # sampling
    # ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        prompts: Sequence[str] | Sequence[Sequence[str]] | None = None,
        *,
        text_embeddings: Tensor | None = None,
        negative_text_embeddings: Tensor | None = None,
        video: Tensor | None = None,
        num_input_frames: int = 1,
        trajectory: Tensor | None = None,
        frame_repeat: float | None = 10.0,
        num_frames: int = 57,
        height: int = 480,
        width: int = 848,
        fps: float = 24.0,
        guidance: float = 7.0,
        num_steps: int = 35,
        sampler: str = "res2ab",
        seed: int | Sequence[int] = 1,
        augment_sigma: float = 0.001,
        input_frames_guidance: bool = False,
        reference_condition_frames: bool = True,
        callback: Callable[[dict], None] | None = None,
        progress: bool = False,
        return_latent: bool = False,
        guardrail: Any = "auto",
    ) -> Tensor:
        """Generate ``V`` consistent views (Text2World, or Video2World with ``video``), spec §4-§5.

        Args:
            prompts: ``V`` captions in view order (front, left, right, back, back-left, back-right for six
                views), or ``B`` lists of ``V`` (needs a text encoder).
            text_embeddings: instead: ``[B, V, S, C]`` or ``[B, V*S, C]`` T5 embeddings (view order).
            negative_text_embeddings: the unconditional branch (same shapes); default zero text for all views.
            video: Video2World per-view frames ``[B|1, V, 3, N_in, H, W]`` in [-1, 1] (see :func:`split_views`
                for a view-major concatenated clip); the last ``num_input_frames`` of each view condition it.
            trajectory: trajectory models: ``[B, 64, 3]``, ``[64, 3]`` or ``[B, 192]``, metres, ego frame.
            frame_repeat: raw frame-repeat value of the last two views (10, the pipeline's default); None omits it.
            num_frames, height, width: pixel frames and size of each view (57 x 480 x 848 released).
            fps, guidance, num_steps, sampler, seed, augment_sigma: as :meth:`DiffusionWFM.sample`.
            input_frames_guidance: Video2World: all-zero condition-mask channel in the unconditional branch.
            reference_condition_frames: the reference's ``K = 1`` rule (:meth:`num_condition_latents`).
            callback, progress: per-evaluation callback ``{"i", "x", "sigma", "x0"}``; a tqdm bar.
            return_latent: return the model latent ``[B, 16, V*T', H', W']`` (the post-guard does not run).
            guardrail: as :meth:`DiffusionWFM.sample`.

        Returns:
            float32 ``[B, V, 3, num_frames, height, width]`` in [-1, 1].

        Raises:
            ValueError: both or neither of prompts/text_embeddings, an unknown sampler, wrong seed count.
            ShapeError: before any model runs: a view count that does not match the network, a missing
                prompt, a trajectory missing, of the wrong shape or non-finite, an invalid conditioning-frame
                count, a clip size the tokenizer cannot take, video given to a Text2World model or missing.
        """
        timings: dict[str, float] = {}
        start = time.perf_counter()
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose one of {sorted(SAMPLERS)}")
        config = self.net.config
        prompt_lists, embeddings = self.view_text(prompts, text_embeddings)
        batch = len(prompt_lists) if prompt_lists is not None else embeddings.shape[0]
        seeds = [seed + b for b in range(batch)] if isinstance(seed, int) else [int(s) for s in seed]
        if len(seeds) != batch:
            raise ValueError(f"got {len(seeds)} seeds for {batch} samples")
        if not self.tokenizer.valid_num_frames(num_frames):
            raise ShapeError(f"the tokenizer cannot encode {num_frames} frames per view")
        lat_t, lat_h, lat_w = self.tokenizer.latent_shape(num_frames, height, width)
        num_condition, trajectory = self.check_conditioning(
            video,
            trajectory,
            batch,
            num_input_frames,
            num_frames,
            (height, width),
            reference_condition_frames,
        )
        negative = None
        if negative_text_embeddings is not None:
            _, negative = self.view_text(None, negative_text_embeddings)
        guard = resolve_guardrail(guardrail, nvidia_checkpoint=self.nvidia_checkpoint)
        embeddings, negative = self.encode_text(prompt_lists, embeddings, negative, guard)
        timings["text"] = time.perf_counter() - start

        device = self.device
        shape = (config.latent_channels, self.num_views * lat_t, lat_h, lat_w)
        noise = torch.stack([initial_noise(s, shape) for s in seeds]).to(device)
        repeat = self.frame_repeat(batch, frame_repeat)
        cond = Conditioning(
            embeddings.to(device),
            fps=float(fps),
            frame_repeat=None if repeat is None else repeat.to(device),
            trajectory=None if trajectory is None else trajectory.to(device),
        )
        if video is not None:
            start = time.perf_counter()
            latent = self.condition_views(
                torch.as_tensor(video), batch, num_input_frames, num_frames, height, width
            )
            cond = cond.replace(
                condition_latent=latent.to(device),
                num_condition_frames=torch.full((batch,), num_condition, dtype=torch.int64, device=device),
                augment_noise=noise,
                augment_sigma=augment_sigma,
            )
            timings["encode_video"] = time.perf_counter() - start
        uncond = cond.replace(
            crossattn_emb=negative.to(device), zero_condition_mask=input_frames_guidance and video is not None
        )

        start = time.perf_counter()
        latent = run_sampler(
            self.net, cond, uncond, guidance, noise, sampler, num_steps,
            sigma_data=self.sigma_data, progress=progress, callback=callback,
        )  # fmt: skip
        timings["denoise"] = time.perf_counter() - start
        if return_latent:
            self.timings = timings
            return latent
        start = time.perf_counter()
        out = self.decode_views(latent)
        timings["decode"] = time.perf_counter() - start
        out = rearrange(guard_video(guard, out.flatten(0, 1)), "(b v) c t h w -> b v c t h w", b=batch)
        self.timings = timings
        return out

    def drive(
        self,
        video: Tensor,
        num_chunks: int,
        *,
        trajectories: Sequence[Tensor] | Tensor | None = None,
        num_input_frames: int = 1,
        seed: int = 1,
        **sample_kwargs: Any,
    ) -> Tensor:
        """Video2World extension chunk after chunk: ``[B|1, V, 3, N, H, W]`` -> ``[B, V, 3, N + new, H, W]``.

        Each chunk is conditioned on the last ``num_input_frames`` frames of every view so far and adds
        ``num_frames - num_input_frames`` frames per view. ``trajectories``: one ``[B, 64, 3]`` for every
        chunk, or one per chunk (trajectory models). ``sample_kwargs`` go to :meth:`sample` (text etc.).

        Raises:
            ShapeError: ``num_chunks < 1``, a trajectory list of another length, or any :meth:`sample` error.
        """
        if num_chunks < 1:
            raise ShapeError(f"num_chunks must be >= 1, got {num_chunks}")
        if isinstance(trajectories, (list, tuple)):
            if len(trajectories) != num_chunks:
                raise ShapeError(f"got {len(trajectories)} trajectories for {num_chunks} chunks")
            per_chunk = list(trajectories)
        else:
            per_chunk = [trajectories] * num_chunks
        drive = torch.as_tensor(video).float()
        drive = drive[None] if drive.ndim == 5 else drive
        for index in range(num_chunks):
            chunk = self.sample(
                video=drive,
                num_input_frames=num_input_frames,
                trajectory=per_chunk[index],
                seed=seed + index,
                **sample_kwargs,
            )
            previous = drive.expand(chunk.shape[0], *drive.shape[1:]).to(chunk.device)
            drive = torch.cat([previous, chunk[:, :, :, num_input_frames:]], dim=3)
        return drive

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
    ) -> MultiViewWFM:
        """Load NVIDIA's release folder (``model.pt``; the preset named like the folder unless ``config``) or a
        :class:`MultiViewDiT` saved in our layout; the tokenizer from ``tokenizer=``, else ``tokenizer/`` or
        NVIDIA's ``Cosmos-1.0-Tokenizer-CV8x8x8`` beside the folder (as :meth:`DiffusionWFM.from_pretrained`).

        Raises:
            CheckpointError: no weights, a view count that does not match ``config``, no tokenizer.
        """
        from cosmos.core import resolve_pretrained

        from .wfm import _load_latent_statistics, _load_tokenizer

        folder = Path(resolve_pretrained(name_or_path, shipped_root="cosmos.diffusion.pretrained"))
        if config is None:
            for candidate in (folder.name, Path(str(name_or_path)).name):
                if candidate in MULTIVIEW_PRESETS:
                    config = candidate
                    break
        net = MultiViewDiT.from_pretrained(folder, config=config, device=device, dtype=dtype)
        if latent_statistics is None:
            latent_statistics = _load_latent_statistics(folder)
        if tokenizer is None:
            tokenizer = _load_tokenizer(folder, device)
        model = cls(tokenizer, net, text_encoder=text_encoder, latent_statistics=latent_statistics)
        model.nvidia_checkpoint = not (folder / "config.json").is_file()
        return model.eval()


def split_views(video: Tensor, num_views: int) -> Tensor:
    """A clip holding the views concatenated in time, view-major (the reference's input mp4),
    ``[B, 3, V*N, H, W]`` (or ``[3, V*N, H, W]``) -> ``[B, V, 3, N, H, W]``.

    Raises:
        ShapeError: the frame count does not split into ``num_views`` views.
    """
    if video.ndim == 4:
        video = video[None]
    if video.ndim != 5 or video.shape[2] % num_views:
        raise ShapeError(
            f"a view-major clip [B, 3, V*N, H, W] with V = {num_views} is needed, got {tuple(video.shape)}"
        )
    return rearrange(video, "b c (v t) h w -> b v c t h w", v=num_views)


def multiview_grid(video: Tensor, layout: Sequence[Sequence[int]] | None = None) -> Tensor:
    """Tile views ``[V, 3, T, H, W]`` (or ``[B, V, ...]``) into ``[3, T, rows*H, cols*W]`` (or ``[B, 3, ...]``).

    ``layout`` lists the view index per cell, row by row; default :data:`GRID_LAYOUTS` (2x3 for six views,
    1x3 for three), else one row in view order.

    Raises:
        ShapeError: not a view stack, or a layout naming a view that does not exist or of uneven rows.
    """
    batched = video.ndim == 6
    stack = video if batched else video[None]
    if stack.ndim != 6 or stack.shape[2] != 3:
        raise ShapeError(f"video must be [V, 3, T, H, W] or [B, V, 3, T, H, W], got {tuple(video.shape)}")
    views = stack.shape[1]
    rows = [list(r) for r in (layout or GRID_LAYOUTS.get(views, (tuple(range(views)),)))]
    if len({len(r) for r in rows}) != 1 or any(not 0 <= v < views for r in rows for v in r):
        raise ShapeError(f"grid layout {rows} does not fit {views} views")
    grid = torch.cat([torch.cat([stack[:, v] for v in row], dim=-1) for row in rows], dim=-2)
    return grid if batched else grid[0]


def write_multiview_grid(path: str | Path, video: Tensor, fps: float, *, crf: int = 18) -> Path:
    """Write views ``[V, 3, T, H, W]`` in [-1, 1] as one grid mp4 (:func:`multiview_grid`); returns the path."""
    from cosmos.core import video_to_frames, write_video

    return write_video(path, video_to_frames(multiview_grid(video.float().cpu())), fps, crf=crf)
