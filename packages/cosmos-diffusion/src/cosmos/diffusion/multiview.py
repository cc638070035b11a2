"""The multi-view (surround-camera) driving DiT: Text2World, Text2World with trajectory, Video2World.

Spec: ``shared/spec/multiview.md``; NVIDIA's ``MultiCameraGeneralDIT`` / ``MultiCameraVideoExtendGeneralDIT``
(Cosmos @ 71f19b0) and predict1's ``MultiviewGeneralDIT`` (same network, other argument names). It is the
DiT of :mod:`cosmos.diffusion.dit` with five differences, all implemented here on top of the DiT's own
blocks (:class:`MultiViewDiT` subclasses :class:`~cosmos.diffusion.DiT`):

* **layout** (§1): the ``V`` views are concatenated along the latent time axis, view-major:
  ``x [B, 16, V*T, H, W]``, view ``v`` holds frames ``v*T ... v*T + T - 1``; the text context is one caption
  per view, ``[B, V*M, C]``;
* **input channels** (§2.2-2.4): after ``[latent, (V2W) condition mask, padding mask]`` come the view
  channels ``E[v] + w * frame_repeat[b, v] + bias`` (``view_condition_dim``, 6 released) and, for the
  trajectory variant, ``Linear(192 -> traj_dim)(trajectory)`` shared by all views;
* **positions** (§2.5-2.6): RoPE and the fixed, un-normalised sin-cos per-block table are built for one
  view and repeated ``V`` times (frame ``t`` of every view gets position ``t``);
* **cross-attention** (§2.7): view ``v``'s tokens attend only to caption ``v`` (self-attention stays joint);
* **Video2World** (§5): each view is conditioned on its own first ``K`` latent frames
  (:func:`cosmos.diffusion.denoiser.denoise` uses :attr:`MultiViewDiT.num_views`).

Fixtures: ``shared/fixtures/diffusion/multiview_{t2w,traj,v2w}_tiny.*`` (README §4).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from einops import rearrange
from torch import Tensor, nn

from cosmos.core import CheckpointError, ShapeError

from .dit import DiT, DiTConfig, official_common_fields

TRAJECTORY_POINTS = 64
"""Future ego positions per trajectory (0.1 s apart, spec §2.4)."""
TRAJECTORY_INPUT_DIM = 3 * TRAJECTORY_POINTS
"""Length of the flat trajectory vector the network takes: 64 points x (x, y, z), point-major."""
FRAME_REPEAT_SCALE = 10.0
"""The conditioner divides the raw ``frame_repeat`` batch value by this before the network (spec §2.3)."""
VIEW_NAMES = ("front", "left", "right", "back", "back_left", "back_right")
"""Default view order of the 6-camera pipeline (spec §1); prompt keys are ``prompt``, ``prompt_left``, ..."""


@dataclass(frozen=True)
class MultiViewDiTConfig(DiTConfig):
    """A :class:`DiTConfig` plus the multi-view settings (spec §2.1). Defaults are the released 7B T2W net.

    Attributes:
        num_views: ``V``, the number of cameras the network is built for (6 released; every reshape uses it).
        view_condition_dim: width of the view embedding (6 released; post-trained 5-view checkpoints use 3).
            :meth:`MultiViewDiT.from_pretrained` reads it from the checkpoint.
        frame_repeat_embedding: add ``Linear(1 -> view_condition_dim)(frame_repeat)`` (with its bias, also
            when ``frame_repeat`` is not given) to the view channels (``add_repeat_frame_embedding``).
        trajectory_dim: width of the trajectory channels (``traj_condition_dim``; 0 = no trajectory input,
            12 in NeMo's text2world recipe).
        sincos_scale: extrapolation ratios ``(t, h, w)`` of the sin-cos table (positions are divided by them).
    """

    rope_scale: tuple[float, float, float] = (2.0, 1.0, 1.0)
    num_views: int = 6
    view_condition_dim: int = 6
    frame_repeat_embedding: bool = True
    trajectory_dim: int = 0
    sincos_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_views < 1 or self.view_condition_dim < 1 or self.trajectory_dim < 0:
            raise ValueError(
                f"num_views and view_condition_dim must be >= 1 and trajectory_dim >= 0, got "
                f"{(self.num_views, self.view_condition_dim, self.trajectory_dim)}"
            )
        if self.camera_channels or self.action_dim:
            raise ValueError("the multi-view DiT takes no camera-ray or action conditioning")
        if self.patch_size[0] != 1:
            raise ValueError(
                f"the multi-view DiT needs temporal patch 1 (views on time), got {self.patch_size}"
            )

    @property
    def in_channels(self) -> int:
        """``[latent, (V2W) condition mask, padding mask, view, (trajectory)]``: 23 T2W, 24 V2W, 35 trajectory."""
        return (
            self.latent_channels
            + int(self.condition_mask)
            + int(self.concat_padding_mask)
            + self.view_condition_dim
            + self.trajectory_dim
        )

    @classmethod
    def from_official(cls, net_kwargs: dict[str, Any]) -> MultiViewDiTConfig:
        """Build from the reference kwargs: ``MultiCamera*GeneralDIT`` (``n_cameras``, ``camera_condition_dim``)
        or predict1's ``Multiview*GeneralDIT`` (``n_views``, ``view_condition_dim``) (spec §2.1).

        ``extra_per_block_abs_pos_emb_type`` is ignored (the class always uses the sin-cos table, pitfall 3).

        Raises:
            ValueError: not multi-view kwargs, or a setting the network does not implement.
        """
        kw = dict(net_kwargs)
        target = str(kw.get("_target_", ""))
        views = kw.pop("n_cameras", kw.pop("n_views", None))
        if views is None:
            raise ValueError("not multi-view kwargs (no n_cameras / n_views): use DiT")
        view_dim = kw.pop("camera_condition_dim", kw.pop("view_condition_dim", 6))
        if not kw.pop("concat_camera_embedding", kw.pop("concat_view_embedding", True)):
            raise ValueError("concat_camera_embedding=False is not supported (released: True)")
        traj_dim = int(kw.pop("traj_condition_dim", 0)) if kw.pop("concat_traj_embedding", False) else 0
        kw.pop("extra_per_block_abs_pos_emb_type", None)
        out_channels = int(kw.get("out_channels", 16))
        if int(kw.get("in_channels", out_channels)) != out_channels:
            raise ValueError(
                f"official in_channels {kw['in_channels']} must equal out_channels {out_channels}"
            )
        return cls(
            **official_common_fields(kw),
            condition_mask="VideoExtend" in target,
            num_views=int(views),
            view_condition_dim=int(view_dim),
            frame_repeat_embedding=bool(kw.get("add_repeat_frame_embedding", True)),
            trajectory_dim=traj_dim,
            sincos_scale=(
                float(kw.get("extra_t_extrapolation_ratio", 1.0)),
                float(kw.get("extra_h_extrapolation_ratio", 1.0)),
                float(kw.get("extra_w_extrapolation_ratio", 1.0)),
            ),
        )


_MV_7B = MultiViewDiTConfig()
_MV_7B_V2W = dataclasses.replace(_MV_7B, condition_mask=True)

MULTIVIEW_PRESETS: dict[str, MultiViewDiTConfig] = {
    # Cosmos @ 71f19b0 (config/inference/cosmos-1_1-diffusion-multi-camera.py, net faditv2_multicam_7b)
    "Cosmos-1.1-Diffusion-7B-Text2World-Sample-Driving-Multiview": _MV_7B,
    "Cosmos-1.1-Diffusion-7B-Video2World-Sample-Driving-Multiview": _MV_7B_V2W,
    # cosmos-predict1 @ 4ed35fa (net faditv2_multiview_7b): the same network
    "Cosmos-Predict1-7B-Text2World-Sample-AV-Multiview": _MV_7B,
    "Cosmos-Predict1-7B-Video2World-Sample-AV-Multiview": _MV_7B_V2W,
    # Cosmos-1.0 NeMo recipes (multicamera.py): the architecture; their Megatron weights need a converter
    # (docs/diffusion.md, "Multi-view"). traj_condition_dim 12 is the text2world recipe value.
    "Cosmos-1.0-Diffusion-7B-Text2World-Sample-MultiView": _MV_7B,
    "Cosmos-1.0-Diffusion-7B-Text2World-Sample-MultiView-TrajectoryCond": dataclasses.replace(
        _MV_7B, trajectory_dim=12
    ),
    "Cosmos-1.0-Diffusion-7B-Video2World-Sample-MultiView": _MV_7B_V2W,
}
"""Multi-view DiT configs keyed by the published checkpoint names (spec §0, §2.1)."""


def sincos_axis_table(length: int, dim: int, scale: float = 1.0) -> Tensor:
    """``[length, dim]`` float32 rows ``[sin(p w_0..), cos(p w_0..)]``, ``w_i = 10000^(-i/(dim/2))`` (spec §2.5).

    Positions ``p = 0 .. length-1`` divided by ``scale``; computed in float64, then cast (as the reference).
    Sine half first (the opposite of the timestep embedding).
    """
    half = dim // 2
    omega = 1.0 / 10000 ** (torch.arange(half, dtype=torch.float64, device="cpu") / half)
    positions = torch.arange(length, dtype=torch.float64, device="cpu") / scale
    angles = torch.outer(positions, omega)
    return torch.cat([angles.sin(), angles.cos()], dim=-1).float()


class MultiViewSinCosPosEmbed(nn.Module):
    """The fixed per-block sin-cos position table of the multi-view DiT, repeated per view (spec §2.5).

    ``D`` splits into ``d_h = d_w = floor(D/6)*2`` and ``d_t = D - 2 d_h``; the token at (view v, frame t, h, w)
    gets ``[row_t(t), row_h(h), row_w(w)]``: ``t`` restarts at 0 in every view; not normalised, no state-dict
    keys (non-persistent buffers).
    """

    def __init__(
        self, max_grid: tuple[int, int, int], dim: int, num_views: int, scale: tuple[float, float, float]
    ) -> None:
        super().__init__()
        self.num_views = num_views
        dim_hw = dim // 6 * 2
        dims = (dim - 2 * dim_hw, dim_hw, dim_hw)
        for name, length, width, ratio in zip(("table_t", "table_h", "table_w"), max_grid, dims, scale):
            self.register_buffer(name, sincos_axis_table(length, width, ratio), persistent=False)

    def forward(self, grid: tuple[int, int, int]) -> Tensor:
        """Token grid ``(V*T', H', W')`` -> ``[V*T'*H'*W', D]`` float32, view-major (t-major within a view)."""
        frames, height, width = grid
        frames //= self.num_views
        emb = torch.cat(
            [
                self.table_t[:frames, None, None, :].expand(frames, height, width, -1),
                self.table_h[None, :height, None, :].expand(frames, height, width, -1),
                self.table_w[None, None, :width, :].expand(frames, height, width, -1),
            ],
            dim=-1,
        ).reshape(frames * height * width, -1)
        return emb.repeat(self.num_views, 1)


class MultiViewDiT(DiT):
    """The multi-view DiT (spec §2): views on the latent time axis, per-view positions, view channels and
    view-split cross-attention; everything else is :class:`~cosmos.diffusion.DiT`.

    Load NVIDIA's ``model.pt`` strictly with ``MultiViewDiT.from_pretrained(folder, config=...)``, ``config``
    a preset name (:data:`MULTIVIEW_PRESETS`), a :class:`MultiViewDiTConfig` or the reference constructor
    kwargs (either spelling). ``view_condition_dim`` is taken from the checkpoint's view table.
    """

    config_class = MultiViewDiTConfig
    presets = MULTIVIEW_PRESETS

    def __init__(self, config: MultiViewDiTConfig) -> None:
        if not isinstance(config, MultiViewDiTConfig):
            raise TypeError(f"MultiViewDiT needs a MultiViewDiTConfig, got {type(config).__name__}")
        super().__init__(config)
        self.view_embed = nn.Embedding(config.num_views, config.view_condition_dim)
        self.frame_repeat_embed = (
            nn.Linear(1, config.view_condition_dim) if config.frame_repeat_embedding else None
        )
        self.trajectory_embed = (
            nn.Linear(TRAJECTORY_INPUT_DIM, config.trajectory_dim) if config.trajectory_dim else None
        )

    @property
    def num_views(self) -> int:
        return self.config.num_views

    def build_pos_embed(self, config: DiTConfig) -> nn.Module | None:
        """The fixed sin-cos table per view (spec §2.5), not the single-view learnable one (pitfall 3)."""
        if not config.extra_pos_embed:
            return None
        return MultiViewSinCosPosEmbed(
            config.max_grid, config.model_channels, config.num_views, config.sincos_scale
        )

    @classmethod
    def load_foreign(cls, folder: Any, config: Any) -> tuple[MultiViewDiTConfig, dict[str, Tensor]]:
        """Official ``model.pt`` / ``model.safetensors`` -> our keys; the view table fixes ``view_condition_dim``.

        Raises:
            CheckpointError: no view table, or a view count other than the config's (named).
        """
        config, state = super().load_foreign(folder, config)
        table = state.get("view_embed.weight")
        if table is None or table.ndim != 2:
            raise CheckpointError(f"{folder} has no multi-view table (net.view_embeddings.weight)")
        views, width = table.shape
        if views != config.num_views:
            raise CheckpointError(
                f"{folder} holds a {views}-view network, the config asks for {config.num_views} views: "
                f"pass a config with num_views={views}"
            )
        if width != config.view_condition_dim:
            config = dataclasses.replace(config, view_condition_dim=int(width))
        return config, state

    @classmethod
    def from_base(cls, base: DiT, config: MultiViewDiTConfig | str) -> MultiViewDiT:
        """A multi-view network initialised from a single-view ``base`` (how the driving models were post-trained).

        The blocks, time embedding, final layer and uncertainty head are copied; the patch embed keeps the
        latent, condition-mask (when both have it) and padding-mask weights, and the new view and trajectory
        channels start at **zero** weight. The base's learnable per-block table is dropped (the multi-view net
        uses the fixed sin-cos table). With one view and no per-block table it computes exactly what ``base``
        computes; with more views it differs only by the per-view positions and cross-attention.

        Raises:
            ValueError: the width, depth, heads, text or patch settings differ, or ``base`` has camera or
                action conditioning.
        """
        config = cls.coerce_config(config)
        old = base.config
        same = ("latent_channels", "out_channels", "model_channels", "num_blocks", "num_heads", "mlp_ratio")
        same += ("crossattn_channels", "adaln_lora_dim", "patch_size", "concat_padding_mask")
        changed = [name for name in same if getattr(config, name) != getattr(old, name)]
        if changed or old.camera_channels or old.action_dim:
            raise ValueError(
                f"from_base needs the same backbone and no camera/action conditioning: {changed}"
            )
        device = base.patch_embed.weight.device
        with torch.device(device):
            model = cls(config)
        state = model.state_dict()
        for key, value in base.state_dict().items():
            if key in state and key != "patch_embed.weight" and state[key].shape == value.shape:
                state[key] = value.clone()
        patch = math.prod(config.patch_size)
        old_weight = base.patch_embed.weight.detach().reshape(config.model_channels, old.in_channels, patch)
        new_weight = old_weight.new_zeros(config.model_channels, config.in_channels, patch)
        latent = config.latent_channels
        new_weight[:, :latent] = old_weight[:, :latent]
        if old.condition_mask and config.condition_mask:
            new_weight[:, latent] = old_weight[:, latent]
        if config.concat_padding_mask:  # [latent, (mask), padding, view, (trajectory)]
            new_weight[:, latent + int(config.condition_mask)] = old_weight[
                :, latent + int(old.condition_mask)
            ]
        state["patch_embed.weight"] = new_weight.reshape(config.model_channels, -1)
        model.load_state_dict(state)
        return model.to(base.patch_embed.weight.dtype)

    # ------------------------------------------------------------------------------------------
    # forward pieces
    # ------------------------------------------------------------------------------------------
    def view_channels(
        self, batch: int, frame_repeat: Tensor | None = None, trajectory: Tensor | None = None
    ) -> Tensor:
        """Per-(sample, view) input channels ``[B, V, view_condition_dim + trajectory_dim]`` (spec §2.3-2.4).

        ``E[v] + w * frame_repeat[b, v] + bias`` (``frame_repeat`` None = zeros: the bias is still added),
        then ``Linear(192 -> trajectory_dim)(trajectory)`` repeated for every view.
        """
        cfg = self.config
        weight = self.view_embed.weight
        channels = weight[None].expand(batch, -1, -1)  # [B, V, d]
        if self.frame_repeat_embed is not None:
            if frame_repeat is None:
                frame_repeat = weight.new_zeros(batch, cfg.num_views)
            channels = channels + self.frame_repeat_embed(frame_repeat.to(weight.dtype)[..., None])
        if self.trajectory_embed is not None:
            embedded = self.trajectory_embed(trajectory.to(weight.dtype))  # [B, traj_dim]
            channels = torch.cat([channels, embedded[:, None].expand(-1, cfg.num_views, -1)], dim=-1)
        return channels

    def concat_input_channels(
        self,
        x: Tensor,
        padding_mask: Tensor | None = None,
        condition_video_input_mask: Tensor | None = None,
        frame_repeat: Tensor | None = None,
        trajectory: Tensor | None = None,
    ) -> Tensor:
        """``[latent, (V2W) condition mask, padding mask, view channels, (trajectory)]`` -> ``[B, C_in, V*T, H, W]``.

        The view and trajectory channels are constant over each view's ``T x H x W`` (spec §2.2).
        """
        batch, _, frames, height, width = x.shape
        base = super().concat_input_channels(x, padding_mask, condition_video_input_mask)
        per_view = self.view_channels(batch, frame_repeat, trajectory).to(x.dtype)  # [B, V, C_v]
        per_view = per_view[:, :, :, None, None, None].expand(
            -1, -1, -1, frames // self.num_views, height, width
        )
        return torch.cat([base, rearrange(per_view, "b v c t h w -> b c (v t) h w")], dim=1)

    def rope(
        self, grid: tuple[int, int, int], fps: Tensor | float | None, device: torch.device
    ) -> tuple[Tensor, Tensor]:
        """``(cos, sin) [V*T'*H'*W', head_dim]``: the table of one view ``(T', H', W')`` repeated V times (§2.6)."""
        frames, height, width = grid
        cos, sin = super().rope((frames // self.num_views, height, width), fps, device)
        return cos.repeat(self.num_views, 1), sin.repeat(self.num_views, 1)

    def check_multiview_inputs(
        self,
        x: Tensor,
        crossattn_emb: Tensor,
        frame_repeat: Tensor | None,
        trajectory: Tensor | None,
    ) -> Tensor | None:
        """The multi-view inputs: V views on time, V captions, ``frame_repeat [B, V]``, ``trajectory [B, 192]``.

        Raises:
            ShapeError: latent frames or caption tokens not divisible by ``V``; ``frame_repeat`` not ``[B, V]``;
                a trajectory missing, of the wrong shape or non-finite for a trajectory model, or given to
                a model without one.

        Returns:
            the trajectory as ``[B, 192]`` (``[B, 64, 3]`` flattened point-major), or None.
        """
        cfg = self.config
        batch, _, frames = x.shape[:3]
        views = cfg.num_views
        if frames % views:
            raise ShapeError(
                f"this DiT is built for {views} views on the latent time axis: {frames} latent frames "
                f"do not split into {views} views"
            )
        if crossattn_emb.shape[1] % views:
            raise ShapeError(
                f"crossattn_emb must hold one caption per view ({views} x M tokens), got {crossattn_emb.shape[1]}"
            )
        if frame_repeat is not None and tuple(frame_repeat.shape) != (batch, views):
            raise ShapeError(
                f"frame_repeat must be [B, V] = [{batch}, {views}], got {tuple(frame_repeat.shape)}"
            )
        if self.trajectory_embed is None:
            if trajectory is not None:
                raise ShapeError("trajectory given, but this multi-view DiT has no trajectory conditioning")
            return None
        return check_trajectory(trajectory, batch)

    def forward(
        self,
        x: Tensor,
        timesteps: Tensor,
        crossattn_emb: Tensor,
        crossattn_mask: Tensor | None = None,
        fps: Tensor | float | None = None,
        padding_mask: Tensor | None = None,
        condition_video_input_mask: Tensor | None = None,
        *,
        frame_repeat: Tensor | None = None,
        trajectory: Tensor | None = None,
        return_logvar: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Raw network ``F`` (``multiview_*_tiny.net``), the DiT's positional order (spec §6).

        Args:
            x: ``[B, 16, V*T, H, W]`` latent already scaled by ``c_in``, views view-major on time.
            timesteps, crossattn_mask, fps, padding_mask: as :meth:`DiT.forward` (the mask is ignored).
            crossattn_emb: ``[B, V*M, C]``, one ``M``-token caption per view in view order.
            condition_video_input_mask: Video2World ``[B, 1, V*T, H, W]`` (first ``K`` frames of every view).
            frame_repeat: ``[B, V]`` **network** value (raw batch value / 10; pipeline ``(0, .., 0, 1, 1)``);
                None = zeros (keyword only).
            trajectory: ``[B, 192]`` (64 points x (x, y, z), point-major, metres) for the trajectory variant
                (keyword only).
            return_logvar: also return the training-only uncertainty ``[B, 1]``.

        Returns:
            ``[B, 16, V*T, H, W]`` in ``x``'s dtype.

        Raises:
            ShapeError: see :meth:`DiT.forward` and :meth:`check_multiview_inputs`.
        """
        grid = self.check_inputs(x, timesteps, crossattn_emb, fps)
        trajectory = self.check_multiview_inputs(x, crossattn_emb, frame_repeat, trajectory)
        x_in = self.concat_input_channels(
            x, padding_mask, condition_video_input_mask, frame_repeat, trajectory
        )
        return self.backbone(x_in, grid, timesteps, crossattn_emb, fps, return_logvar=return_logvar)


def check_trajectory(trajectory: Tensor | None, batch: int | None = None) -> Tensor:
    """A flat ego trajectory ``[B, 192]``; ``[B, 64, 3]`` is flattened point-major. Returns ``[B, 192]``.

    Raises:
        ShapeError: missing, another shape, another batch than ``batch``, or non-finite values.
    """
    if trajectory is None:
        raise ShapeError(f"this model is trajectory-conditioned: pass trajectory [B, {TRAJECTORY_POINTS}, 3]")
    if trajectory.ndim == 3 and tuple(trajectory.shape[1:]) == (TRAJECTORY_POINTS, 3):
        trajectory = trajectory.reshape(trajectory.shape[0], TRAJECTORY_INPUT_DIM)
    if (
        trajectory.ndim != 2
        or trajectory.shape[1] != TRAJECTORY_INPUT_DIM
        or (batch is not None and trajectory.shape[0] != batch)
    ):
        raise ShapeError(
            f"trajectory must be [B, {TRAJECTORY_POINTS}, 3] or [B, {TRAJECTORY_INPUT_DIM}]"
            + (f" with B={batch}" if batch is not None else "")
            + f", got {tuple(trajectory.shape)}"
        )
    if not torch.compiler.is_compiling() and not bool(torch.isfinite(trajectory).all()):  # eager only
        raise ShapeError("trajectory holds non-finite values (NaN or inf)")
    return trajectory
