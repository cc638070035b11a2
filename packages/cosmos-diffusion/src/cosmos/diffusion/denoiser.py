"""The EDM denoiser around the DiT: preconditioning, Video2World conditioning and classifier-free guidance.

* ``D(x; sigma) = c_skip x + c_out F(c_in x, c_noise, cond)`` (spec §3; Karras et al. 2022 Eq. 7).
* Video2World (spec §9): the first ``K`` latent frames are the (noise-augmented) conditioning frames,
  flagged by a condition-mask input channel, and the prediction is replaced by them afterwards.
* Guidance (spec §7): ``x0 = x0_c + w (x0_c - x0_u)`` in ``x0`` space (``w = 7`` by default).

Fixtures: ``t2w_tiny.denoise`` / ``v2w_tiny.denoise`` / ``*.sample`` pin every formula here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from cosmos.core import ShapeError

from .edm import SIGMA_DATA, edm_scalings, expand_like


@dataclass(frozen=True, eq=False)
class Conditioning:
    """Everything the DiT is conditioned on, for a batch of ``B`` samples.

    Attributes:
        crossattn_emb: ``[B, S, C_text]`` text embeddings (T5 rows beyond the prompt length are zeros).
        fps: pixel frame rate (scalar or ``[B]``, one value per batch); ``None`` for single images.
        padding_mask: ``[B|1, 1, H_pix, W_pix]`` in {0, 1}; ``None`` = no padding (zeros).
        condition_latent: Video2World ``[B, C, T, H, W]`` clean latent whose first ``K`` frames condition.
        num_condition_frames: Video2World ``K`` per sample, int64 ``[B]`` (``0 <= K <= T``).
        augment_noise: Video2World ``[B, C, T, H, W]`` noise ``n_aug`` for the conditioning frames.
        augment_sigma: ``sigma_aug`` of the condition-frame augmentation (0.001 at inference; a ``[B]``
            tensor in training, where ``ln sigma_aug ~ N(-3, 2^2)``).
        zero_condition_mask: give the network an all-zero mask channel (the official Cosmos-1.0
            ``add_input_frames_guidance`` unconditional branch); frames are still inserted and replaced.
        zero_condition_region: the post-trained models' unconditional branch with input-frame guidance
            (predict1 ``cfg_unconditional_type = "zero_condition_region_condition_mask"``, spec §11.2): the
            condition region of the network input is **0** (not the frames, not ``x_t``) and the mask channel
            is 0; the prediction is still replaced by the conditioning frames.
        camera: camera-control Plücker rays ``[B, 6, T_pose >= T, H, W]`` (moment first).
        action: action-control ``[B, action_frames, action_dim]``.
        latent_condition: diffusion decoder: DV token ids ``[B, 1, T, h, w]`` (int), see
            :class:`cosmos.diffusion.DiffusionDecoderDiT`; the unconditional branch uses all-zero ids.
        frame_repeat: multi-view ``[B, V]`` **network** value of the frame-repeat input (the raw batch value
            divided by 10; the pipeline's ``(0, .., 0, 10, 10)`` gives ``(0, .., 0, 1, 1)``), see
            :class:`cosmos.diffusion.MultiViewDiT`; None = zeros. Both CFG branches use the same value.
        trajectory: multi-view trajectory variant ``[B, 192]`` (64 ego positions x (x, y, z), point-major).

    With a multi-view network (``net.num_views = V > 1``) the latent holds the V views on its time axis and
    ``num_condition_frames`` is ``K`` **per view**: each view is conditioned on its own first ``K`` frames.
    """

    crossattn_emb: Tensor
    fps: Tensor | float | None = 24.0
    padding_mask: Tensor | None = None
    condition_latent: Tensor | None = None
    num_condition_frames: Tensor | None = None
    augment_noise: Tensor | None = None
    augment_sigma: float | Tensor = 0.001
    zero_condition_mask: bool = False
    zero_condition_region: bool = False
    camera: Tensor | None = None
    action: Tensor | None = None
    latent_condition: Tensor | None = None
    frame_repeat: Tensor | None = None
    trajectory: Tensor | None = None

    def replace(self, **changes) -> Conditioning:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    @property
    def is_video2world(self) -> bool:
        return self.condition_latent is not None


def condition_indicator(num_condition_frames: Tensor, frames: int, num_views: int = 1) -> Tensor:
    """Latent-frame indicator ``m [B, 1, T, 1, 1]`` float32: 1 on frames ``t < K_b`` (spec §9).

    ``num_views = V > 1`` (``multiview.md`` §5): the time axis holds V views of ``T / V`` frames, view-major,
    and ``m`` is 1 on the first ``K_b`` frames **of every view** (V = 3, T/V = 3, K = 2: ``110 110 110``).

    Raises:
        ShapeError: ``T`` not divisible by ``V``, or a ``K`` outside ``[0, T / V]``.
    """
    if frames % num_views:
        raise ShapeError(f"{frames} latent frames do not split into {num_views} views")
    per_view = frames // num_views
    counts = num_condition_frames.reshape(-1)
    checked = counts.numel() and not torch.compiler.is_compiling()  # value check in eager mode only
    if checked and (int(counts.min()) < 0 or int(counts.max()) > per_view):
        raise ShapeError(
            f"num_condition_frames must lie in [0, {per_view}] (latent frames per view), got {counts.tolist()}"
        )
    t = torch.arange(frames, device=num_condition_frames.device) % per_view
    return (t[None, :] < num_condition_frames.reshape(-1, 1)).float()[:, None, :, None, None]


def video2world_input(
    x: Tensor, sigma: Tensor, cond: Conditioning, sigma_data: float = SIGMA_DATA, num_views: int = 1
) -> tuple[Tensor, Tensor, Tensor]:
    """Insert the noise-augmented conditioning frames into the state (spec §9).

    ``a = gt + sigma_aug n_aug``; ``x_net = m a c_in(sigma_aug)/c_in(sigma) + (1 - m) x``, so that after the
    network's own ``c_in(sigma)`` the conditioning frames arrive as ``c_in(sigma_aug) a``. Where
    ``sigma_aug >= sigma`` the indicator is dropped (the frames are not inserted or replaced) but the
    mask channel keeps saying "conditioned", as in the reference.
    ``num_views``: the multi-view layout (``net.num_views``); the first K frames of every view condition.

    Returns:
        ``(x_net [B, C, T, H, W], indicator m [B, 1, T, 1, 1], mask channel [B, 1, T, H, W])``.
    """
    if cond.condition_latent is None or cond.num_condition_frames is None:
        raise ShapeError("Video2World conditioning needs condition_latent and num_condition_frames")
    batch, _, frames, height, width = x.shape
    gt = cond.condition_latent.to(x.dtype)
    if gt.shape != x.shape:
        raise ShapeError(f"condition_latent {tuple(gt.shape)} must match the state {tuple(x.shape)}")
    mask_channel = condition_indicator(cond.num_condition_frames.to(x.device), frames, num_views).to(x.dtype)
    mask_channel = mask_channel.expand(batch, 1, frames, height, width)
    sigma_aug = torch.as_tensor(cond.augment_sigma, dtype=sigma.dtype, device=sigma.device).expand_as(sigma)
    indicator = condition_indicator(cond.num_condition_frames.to(x.device), frames, num_views).to(x.dtype)
    indicator = indicator * expand_like((sigma_aug < sigma).to(x.dtype), indicator)
    noise = cond.augment_noise if cond.augment_noise is not None else torch.zeros_like(gt)
    augmented = gt + noise.to(x.dtype) * expand_like(sigma_aug, gt)
    c_in_aug = edm_scalings(sigma_aug, sigma_data).c_in
    c_in = edm_scalings(sigma, sigma_data).c_in
    augmented = augmented * expand_like(c_in_aug, gt) / expand_like(c_in, gt)
    x_net = indicator * augmented + (1 - indicator) * x
    return x_net, indicator, mask_channel


def denoise(
    net,
    x: Tensor,
    sigma: Tensor,
    cond: Conditioning,
    *,
    sigma_data: float = SIGMA_DATA,
    return_logvar: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """EDM denoiser ``D(x; sigma, cond)`` with Video2World insertion and replacement (spec §3, §9).

    Args:
        net: a :class:`cosmos.diffusion.DiT` (or anything with its forward signature).
        x: ``[B, C, T, H, W]`` noisy latent (float32 recommended).
        sigma: ``[B]`` noise levels, > 0.
        cond: the :class:`Conditioning` of these ``B`` samples.
        return_logvar: also return the network's training-only uncertainty ``u(sigma)`` ``[B, 1]``.

    Returns:
        ``x0 [B, C, T, H, W]`` in ``x``'s dtype (and ``u`` with ``return_logvar``).
    """
    if sigma.shape != (x.shape[0],):
        raise ShapeError(f"sigma must be [B] = [{x.shape[0]}], got {tuple(sigma.shape)}")
    sigma = sigma.to(x.dtype)
    indicator = None
    extra = {}  # conditioning the network takes as keywords (only what is given)
    if cond.is_video2world:
        views = getattr(getattr(net, "module", net), "num_views", 1)  # through DDP / FSDP wrappers
        x_net, indicator, mask_channel = video2world_input(x, sigma, cond, sigma_data, num_views=views)
        if cond.zero_condition_region:
            x_net = (1 - indicator) * x  # condition region of the input is 0
        if cond.zero_condition_mask or cond.zero_condition_region:
            mask_channel = torch.zeros_like(mask_channel)
        x = x_net
        extra["condition_video_input_mask"] = mask_channel
    for name in ("camera", "action", "latent_condition", "frame_repeat", "trajectory"):
        if getattr(cond, name) is not None:
            extra[name] = getattr(cond, name)
    if return_logvar:
        extra["return_logvar"] = True
    c_skip, c_out, c_in, c_noise = edm_scalings(sigma, sigma_data)
    net_out = net(
        x * expand_like(c_in, x), c_noise, cond.crossattn_emb, None, cond.fps, cond.padding_mask, **extra
    )
    logvar = None
    if return_logvar:
        net_out, logvar = net_out
    x0 = expand_like(c_skip, x) * x + expand_like(c_out, x) * net_out.to(x.dtype)
    if indicator is not None:
        x0 = indicator * cond.condition_latent.to(x.dtype) + (1 - indicator) * x0
    return (x0, logvar) if return_logvar else x0


def _concat_conditionings(a: Conditioning, b: Conditioning) -> Conditioning:
    """Stack two conditionings of the same structure along the batch (for one 2B forward)."""

    per_sample = (
        "crossattn_emb",
        "condition_latent",
        "num_condition_frames",
        "augment_noise",
        "camera",
        "action",
        "latent_condition",
        "frame_repeat",
        "trajectory",
    )

    def cat(name, u, v):
        if u is None and v is None:
            return None
        if (u is None) != (v is None):
            raise ShapeError(f"conditional and unconditional branches disagree on whether {name} is given")
        if name in per_sample:
            return torch.cat([u, v], dim=0)
        if isinstance(u, Tensor):
            if u.shape == v.shape and torch.equal(u, v) and (u.ndim == 0 or u.shape[0] == 1 or name == "fps"):
                return u
            return torch.cat(
                [
                    u.reshape(-1, *u.shape[1:]) if u.ndim else u.reshape(1),
                    v.reshape(-1, *v.shape[1:]) if v.ndim else v.reshape(1),
                ]
            )
        if u == v:
            return u
        raise ShapeError(f"conditional and unconditional branches differ in {name}: {u!r} vs {v!r}")

    flags = ("zero_condition_mask", "zero_condition_region")
    if not _same_flags(a, b):
        raise ShapeError(f"cannot batch branches that differ in {flags}; evaluate them separately")
    fields = {
        f.name: cat(f.name, getattr(a, f.name), getattr(b, f.name))
        for f in dataclasses.fields(a)
        if f.name not in flags
    }
    return Conditioning(**fields, **{flag: getattr(a, flag) for flag in flags})


def _same_flags(a: Conditioning, b: Conditioning) -> bool:
    return (a.zero_condition_mask, a.zero_condition_region) == (
        b.zero_condition_mask,
        b.zero_condition_region,
    )


def guided_denoiser(
    net,
    cond: Conditioning,
    uncond: Conditioning | None,
    guidance: float,
    *,
    sigma_data: float = SIGMA_DATA,
    batch_branches: bool = True,
) -> Callable[[Tensor, Tensor], Tensor]:
    """``x0(x, sigma) = x0_c + guidance (x0_c - x0_u)``: the reference's classifier-free guidance (spec §7).

    ``guidance = 7`` (default in the CLI) is the "standard" scale 8. With ``guidance == 0`` or no ``uncond``
    only the conditional branch runs. ``batch_branches`` evaluates both branches as one ``2B`` forward
    (same result as two calls up to float rounding); branches that differ in ``zero_condition_mask`` or
    ``zero_condition_region`` always run separately.

    Returns:
        a ``denoiser(x [B, ...], sigma [B]) -> x0`` for the samplers in :mod:`cosmos.diffusion.samplers`.
    """

    def conditional(x: Tensor, sigma: Tensor) -> Tensor:
        return denoise(net, x, sigma, cond, sigma_data=sigma_data)

    if uncond is None or guidance == 0:
        return conditional

    both = None
    if batch_branches and _same_flags(cond, uncond):
        both = _concat_conditionings(cond, uncond)

    def guided(x: Tensor, sigma: Tensor) -> Tensor:
        if both is not None:
            x0_both = denoise(net, torch.cat([x, x]), torch.cat([sigma, sigma]), both, sigma_data=sigma_data)
            x0_cond, x0_uncond = x0_both.chunk(2)
        else:
            x0_cond = denoise(net, x, sigma, cond, sigma_data=sigma_data)
            x0_uncond = denoise(net, x, sigma, uncond, sigma_data=sigma_data)
        return x0_cond + guidance * (x0_cond - x0_uncond)

    return guided
