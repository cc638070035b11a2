"""The Cosmos-1.0 diffusion transformer ("GeneralDIT" / "FADITV2"): config, presets and network.

Spec: ``shared/spec/diffusion.md`` §4 (forward pass step by step), §5 (positions), §11 (camera and
action conditioning), §12 (checkpoint keys). The paper describes it in arXiv:2501.03575 Sec. 5.1
(Fig. 7): 3D patchify -> per block [self-attention with QK-RMSNorm and 3D RoPE, cross-attention to
T5 embeddings, MLP], each with AdaLN-LoRA modulation and gating -> final AdaLN layer -> unpatchify.

Our module names (and so our checkpoint keys) are our own; :mod:`cosmos.diffusion.checkpoints` maps
NVIDIA's ``model.pt`` keys and diffusers' ``CosmosTransformer3DModel`` keys onto them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from cosmos.core import PretrainedMixin, ShapeError, attention

from .action import ACTION_EMBEDDINGS, action_embedding
from .edm import UncertaintyWeight
from .position import LearnablePosEmbed, apply_rope, rope_angles


@dataclass(frozen=True)
class DiTConfig:
    """Architecture of a Cosmos DiT (spec §4.1). Defaults are the 7B Text2World model.

    Attributes:
        latent_channels: channels of the latent ``x`` the network denoises (16 for CV8x8x8).
        out_channels: channels of the output ``F`` (16).
        model_channels: width ``D``.
        num_blocks: number of transformer blocks ``L``.
        num_heads: attention heads; head dim is ``D / num_heads`` (128 in the released models).
        mlp_ratio: MLP hidden width over ``D``.
        crossattn_channels: text-embedding width (1024 for the t5-11b encoder).
        adaln_lora_dim: rank of the AdaLN-LoRA modulation (256).
        patch_size: ``(p_t, p_h, p_w)``.
        max_size: largest latent ``(T, H, W)`` the position tables cover; ``(128, 240, 240)``.
        rope_scale: NTK extrapolation ratios ``(r_t, r_h, r_w)``: (2,1,1) for 7B, (2,2,2) for 14B.
        base_fps: frame rate at which RoPE time positions equal latent indices (24).
        concat_padding_mask: append the (resized) pixel padding mask as the last input channel.
        condition_mask: Video2World: append the condition-mask channel after the latent.
        camera_channels: Plücker ray channels appended after the condition mask (6 for camera control, else 0).
        action_dim: per-frame action size (7 for Bridge-style actions, 0 = no action conditioning).
        action_frames: number of action vectors per sample the model takes (``[B, action_frames, action_dim]``).
        action_embedding: which action layer (spec §11.2): ``"nano"`` (our shipped ``nano-v2w-action``: all
            ``action_frames`` vectors flattened into ``a_D = MLP(7A -> D -> D)`` added to the sinusoid before
            the AdaLN RMSNorm, and ``a_3D = MLP(7A -> 4D -> 3D)`` added to the AdaLN-LoRA term) or
            ``"predict1"`` (NVIDIA's released Bridge model, ``ActionConditionalVideoExtendGeneralDIT``: two
            timm MLPs ``7 -> 4D -> D`` and ``7 -> 4D -> 3D`` with tanh-GELU on ``action[:, 0]`` only; ``a_3D``
            is added to the AdaLN-LoRA term, ``a_D`` has no effect but its weights load).
        extra_pos_embed: add the learnable per-block absolute position embedding (spec §5.3). The released
            action model and the diffusion decoder have none (``extra_per_block_abs_pos_emb = False``).
        rope_precision: ``"float32"`` (default, diffusers) or ``"bfloat16"`` to reproduce the official
            bf16 inference's RoPE angle table bit-exactly (fixture README pitfall 1).
    """

    latent_channels: int = 16
    out_channels: int = 16
    model_channels: int = 4096
    num_blocks: int = 28
    num_heads: int = 32
    mlp_ratio: float = 4.0
    crossattn_channels: int = 1024
    adaln_lora_dim: int = 256
    patch_size: tuple[int, int, int] = (1, 2, 2)
    max_size: tuple[int, int, int] = (128, 240, 240)
    rope_scale: tuple[float, float, float] = (2.0, 1.0, 1.0)
    base_fps: float = 24.0
    concat_padding_mask: bool = True
    condition_mask: bool = False
    camera_channels: int = 0
    action_dim: int = 0
    action_frames: int = 1
    action_embedding: str = "nano"
    extra_pos_embed: bool = True
    rope_precision: str = "float32"

    def __post_init__(self) -> None:
        if self.model_channels % self.num_heads:
            raise ValueError(
                f"model_channels {self.model_channels} not divisible by num_heads {self.num_heads}"
            )
        if self.action_embedding not in ACTION_EMBEDDINGS:
            raise ValueError(
                f"action_embedding must be one of {ACTION_EMBEDDINGS}, got {self.action_embedding!r}"
            )
        if self.rope_precision not in ("float32", "bfloat16"):
            raise ValueError(f"rope_precision must be 'float32' or 'bfloat16', got {self.rope_precision!r}")

    @property
    def head_dim(self) -> int:
        return self.model_channels // self.num_heads

    @property
    def in_channels(self) -> int:
        """Channels entering the patch embed: latent, condition mask, camera rays, padding mask."""
        return (
            self.latent_channels
            + int(self.condition_mask)
            + self.camera_channels
            + int(self.concat_padding_mask)
        )

    @property
    def max_grid(self) -> tuple[int, int, int]:
        """Position-table sizes in patches ``(T'max, H'max, W'max)``, e.g. (128, 120, 120)."""
        return tuple(m // p for m, p in zip(self.max_size, self.patch_size))  # type: ignore[return-value]

    @classmethod
    def from_official(cls, net_kwargs: dict[str, Any]) -> DiTConfig:
        """Build from the reference constructor kwargs (``GeneralDIT``, ``VideoExtendGeneralDIT``, predict1's
        ``ActionConditionalVideoExtendGeneralDIT``).

        Accepts the fixtures' ``net_kwargs`` (the composed official Hydra net config). A Video2World
        ``in_channels`` beyond ``out_channels + 1`` are camera-ray channels (spec §11.1: 23 = 16 + mask + 6
        rays); the action class gets the ``"predict1"`` action layer (spec §11.2). Settings our network does
        not implement (other block configs, no AdaLN-LoRA, other position embeddings, the augment-sigma
        embedder, the diffusion decoder: use :class:`cosmos.diffusion.DiffusionDecoderDiT`) raise
        ``ValueError`` naming them.
        """
        kw = dict(net_kwargs)
        target = str(kw.get("_target_", ""))
        if kw.get("is_diffusion_decoder") or "DiffusionDecoder" in target:
            raise ValueError("these are diffusion-decoder kwargs: load them with DiffusionDecoderDiT")
        if "n_cameras" in kw or "n_views" in kw or "Multi" in target:
            raise ValueError("these are multi-view kwargs: load them with MultiViewDiT")
        video = "VideoExtend" in target or "video_conditioned" in target
        action = "ActionConditional" in target
        in_channels = int(kw.get("in_channels", 17 if video else 16))
        out_channels = int(kw.get("out_channels", 16))
        camera_channels = in_channels - int(video) - out_channels
        if camera_channels < 0 or (camera_channels and not video):
            raise ValueError(
                f"official in_channels {in_channels} does not fit out_channels {out_channels}"
                + (" + condition mask" if video else "")
            )
        return cls(
            **official_common_fields(kw),
            camera_channels=camera_channels,
            action_dim=7 if action else 0,
            action_frames=1,
            action_embedding="predict1" if action else "nano",
            condition_mask=video,
        )

    @classmethod
    def from_diffusers(cls, config: dict[str, Any]) -> DiTConfig:
        """Build from a diffusers ``CosmosTransformer3DModel`` ``config.json`` (Cosmos-1.0 layout)."""
        if config.get("extra_pos_embed_type", "learnable") != "learnable":
            raise ValueError(
                f"unsupported diffusers extra_pos_embed_type {config.get('extra_pos_embed_type')!r}"
            )
        in_channels = int(config.get("in_channels", 16))
        heads = int(config["num_attention_heads"])
        return cls(
            latent_channels=int(config.get("out_channels", 16)),
            out_channels=int(config.get("out_channels", 16)),
            model_channels=heads * int(config.get("attention_head_dim", 128)),
            num_blocks=int(config["num_layers"]),
            num_heads=heads,
            mlp_ratio=float(config.get("mlp_ratio", 4.0)),
            crossattn_channels=int(config.get("text_embed_dim", 1024)),
            adaln_lora_dim=int(config.get("adaln_lora_dim", 256)),
            patch_size=tuple(int(p) for p in config.get("patch_size", (1, 2, 2))),  # type: ignore[arg-type]
            max_size=tuple(int(m) for m in config.get("max_size", (128, 240, 240))),  # type: ignore[arg-type]
            rope_scale=tuple(float(r) for r in config.get("rope_scale", (2.0, 1.0, 1.0))),  # type: ignore[arg-type]
            concat_padding_mask=bool(config.get("concat_padding_mask", True)),
            condition_mask=in_channels > int(config.get("out_channels", 16)),
        )


def official_common_fields(kw: dict[str, Any]) -> dict[str, Any]:
    """The :class:`DiTConfig` fields every official ``GeneralDIT`` subclass shares, from its kwargs.

    Raises:
        ValueError: a setting our network does not implement (other block configs, no AdaLN-LoRA, other
            position embeddings, the augment-sigma embedder), naming it.
    """
    extra_pos_embed = bool(kw.get("extra_per_block_abs_pos_emb", True))
    expected = {
        "block_config": "FA-CA-MLP",
        "pos_emb_cls": "rope3d",
        "use_adaln_lora": True,
        "affline_emb_norm": True,
        "use_cross_attn_mask": False,
        "pos_emb_learnable": False,
        "add_augment_sigma_embedding": False,
    }
    if extra_pos_embed:
        expected["extra_per_block_abs_pos_emb_type"] = "learnable"
    unsupported = {k: kw[k] for k, v in expected.items() if k in kw and kw[k] != v}
    if unsupported:
        raise ValueError(f"unsupported official DiT settings: {unsupported}")
    out_channels = int(kw.get("out_channels", 16))
    return {
        "latent_channels": out_channels,
        "out_channels": out_channels,
        "model_channels": int(kw["model_channels"]),
        "num_blocks": int(kw["num_blocks"]),
        "num_heads": int(kw["num_heads"]),
        "mlp_ratio": float(kw.get("mlp_ratio", 4.0)),
        "crossattn_channels": int(kw.get("crossattn_emb_channels", 1024)),
        "adaln_lora_dim": int(kw.get("adaln_lora_dim", 256)),
        "patch_size": (
            int(kw.get("patch_temporal", 1)),
            int(kw.get("patch_spatial", 2)),
            int(kw.get("patch_spatial", 2)),
        ),
        "max_size": (
            int(kw.get("max_frames", 128)),
            int(kw.get("max_img_h", 240)),
            int(kw.get("max_img_w", 240)),
        ),
        "rope_scale": (
            float(kw.get("rope_t_extrapolation_ratio", 1.0)),
            float(kw.get("rope_h_extrapolation_ratio", 1.0)),
            float(kw.get("rope_w_extrapolation_ratio", 1.0)),
        ),
        "concat_padding_mask": bool(kw.get("concat_padding_mask", True)),
        "extra_pos_embed": extra_pos_embed,
    }


_7B = DiTConfig()
_14B = DiTConfig(model_channels=5120, num_blocks=36, num_heads=40, rope_scale=(2.0, 2.0, 2.0))

PRESETS: dict[str, DiTConfig] = {
    "Cosmos-1.0-Diffusion-7B-Text2World": _7B,
    "Cosmos-1.0-Diffusion-7B-Video2World": dataclasses.replace(_7B, condition_mask=True),
    "Cosmos-1.0-Diffusion-14B-Text2World": _14B,
    "Cosmos-1.0-Diffusion-14B-Video2World": dataclasses.replace(_14B, condition_mask=True),
    # Post-trained samples (spec §11). Camera control (the NeMo model, assumed 7B V2W otherwise)
    # concatenates 6 Plücker channels: a 24-channel patch embed. Action control (predict1's Bridge
    # experiment) adds the released action MLPs and has no per-block absolute position embedding.
    "Cosmos-1.0-Diffusion-7B-Video2World-Sample-CameraCond": dataclasses.replace(
        _7B, condition_mask=True, camera_channels=6
    ),
    "Cosmos-1.0-Diffusion-7B-Video2World-Sample-ActionCond": dataclasses.replace(
        _7B,
        condition_mask=True,
        action_dim=7,
        action_frames=1,
        action_embedding="predict1",
        extra_pos_embed=False,
    ),
}
"""DiT configs keyed by the published checkpoint names (spec §4.1, §11)."""
PRESETS.update(
    {
        name.replace("Cosmos-1.0-Diffusion-", "Cosmos-Predict1-"): config
        for name, config in list(PRESETS.items())
        if "CameraCond" not in name  # the camera model exists only as NeMo code (spec §11.1)
    }
)


class RMSNorm(nn.Module):
    """``x * rsqrt(mean(x^2) + eps) * weight`` over the last dim, computed in float32 (TE RMSNorm)."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        x_float = x.float()
        normed = x_float * torch.rsqrt(x_float.pow(2).mean(-1, keepdim=True) + self.eps)
        return (normed * self.weight.float()).to(x.dtype)


class AdaLNModulation(nn.Module):
    """AdaLN-LoRA: ``chunk_n( up(down(SiLU(e))) + A[:, :n D] )`` (spec §4.2.6; Cosmos paper Sec. 5.1).

    ``down: D -> r`` and ``up: r -> n D``, no biases; ``A`` is the shared LoRA term from the timestep MLP.
    """

    def __init__(self, dim: int, rank: int, num_chunks: int) -> None:
        super().__init__()
        self.num_chunks = num_chunks
        self.down = nn.Linear(dim, rank, bias=False)
        self.up = nn.Linear(rank, num_chunks * dim, bias=False)

    def forward(self, emb: Tensor, adaln_lora: Tensor) -> tuple[Tensor, ...]:
        """``emb [B, D]``, ``adaln_lora [B, 3D]`` -> ``num_chunks`` tensors ``[B, 1, D]``."""
        modulation = self.up(self.down(F.silu(emb)))
        modulation = modulation + adaln_lora[:, : modulation.shape[-1]]
        return tuple(m.unsqueeze(1) for m in modulation.chunk(self.num_chunks, dim=-1))


class Attention(nn.Module):
    """Multi-head attention with per-head QK RMSNorm; RoPE on self-attention only (spec §4.2.6)."""

    def __init__(self, dim: int, context_dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.query = nn.Linear(dim, dim, bias=False)
        self.key = nn.Linear(context_dim, dim, bias=False)
        self.value = nn.Linear(context_dim, dim, bias=False)
        self.query_norm = RMSNorm(self.head_dim)
        self.key_norm = RMSNorm(self.head_dim)
        self.out = nn.Linear(dim, dim, bias=False)

    def forward(
        self,
        x: Tensor,
        context: Tensor | None = None,
        rope: tuple[Tensor, Tensor] | None = None,
        num_views: int = 1,
    ) -> Tensor:
        """``x [B, L, D]``, ``context [B, S, C]`` (None = self-attention), ``rope = (cos, sin) [L, hd]`` -> ``[B, L, D]``.

        No attention mask: zero-padded text tokens keep their softmax mass, as in the reference (spec §4.2.6).
        ``num_views > 1`` (cross-attention of the multi-view DiT, ``multiview.md`` §2.7): the tokens and the
        context are split into ``num_views`` equal, view-major parts and part ``v`` of ``x`` attends only to
        part ``v`` of the context (the view is folded into the batch).
        """
        if num_views > 1 and context is not None:
            x = rearrange(x, "b (v l) d -> (b v) l d", v=num_views)
            context = rearrange(context, "b (v s) c -> (b v) s c", v=num_views)
            return rearrange(self(x, context, rope), "(b v) l d -> b (v l) d", v=num_views)
        context = x if context is None else context
        # [B, L, D] -> [B, heads, L, hd]
        query = rearrange(self.query(x), "b l (n d) -> b n l d", n=self.num_heads)
        key = rearrange(self.key(context), "b s (n d) -> b n s d", n=self.num_heads)
        value = rearrange(self.value(context), "b s (n d) -> b n s d", n=self.num_heads)
        query, key = self.query_norm(query), self.key_norm(key)
        if rope is not None:
            query, key = apply_rope(query, *rope), apply_rope(key, *rope)
        out = attention(query, key, value, scale=1.0 / math.sqrt(self.head_dim))
        return self.out(rearrange(out, "b n l d -> b l (n d)"))


class FeedForward(nn.Module):
    """``Linear(D -> 4D) -> GELU(erf) -> Linear(4D -> D)``, no biases."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class _ModulatedSubBlock(nn.Module):
    """``h + gate * Sub(LN(h) * (1 + scale) + shift)`` with AdaLN-LoRA ``(shift, scale, gate)``."""

    def __init__(self, dim: int, rank: int, sub: nn.Module) -> None:
        super().__init__()
        self.adaln = AdaLNModulation(dim, rank, 3)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.op = sub

    def forward(self, h: Tensor, emb: Tensor, adaln_lora: Tensor, **kwargs: Any) -> Tensor:
        shift, scale, gate = self.adaln(emb, adaln_lora)
        return h + gate * self.op(self.norm(h) * (1 + scale) + shift, **kwargs)


class DiTBlock(nn.Module):
    """One "FA-CA-MLP" block: abs-pos add, self-attention, cross-attention, MLP (spec §4.2.6)."""

    def __init__(self, config: DiTConfig) -> None:
        super().__init__()
        dim, rank = config.model_channels, config.adaln_lora_dim
        self.self_attn = _ModulatedSubBlock(dim, rank, Attention(dim, dim, config.num_heads))
        self.cross_attn = _ModulatedSubBlock(
            dim, rank, Attention(dim, config.crossattn_channels, config.num_heads)
        )
        self.mlp = _ModulatedSubBlock(dim, rank, FeedForward(dim, int(dim * config.mlp_ratio)))

    def forward(
        self,
        h: Tensor,
        emb: Tensor,
        adaln_lora: Tensor,
        context: Tensor,
        rope: tuple[Tensor, Tensor],
        pos_emb: Tensor | None,
        num_views: int = 1,
    ) -> Tensor:
        """``h [B, L, D]``, ``emb [B, D]``, ``adaln_lora [B, 3D]``, ``context [B, S, C]``, ``pos_emb [L, D]`` -> ``[B, L, D]``.

        ``pos_emb = None``: no per-block absolute embedding (the action model and the diffusion decoder).
        ``num_views``: the multi-view DiT's view-split cross-attention (:meth:`Attention.forward`).
        """
        if pos_emb is not None:
            h = h + pos_emb
        h = self.self_attn(h, emb, adaln_lora, rope=rope)
        h = self.cross_attn(h, emb, adaln_lora, context=context, num_views=num_views)
        return self.mlp(h, emb, adaln_lora)


class FinalLayer(nn.Module):
    """AdaLN (shift, scale) from ``A[:, :2D]``, LayerNorm, ``Linear(D -> p_t p_h p_w C_out)`` (spec §4.2.7)."""

    def __init__(self, config: DiTConfig) -> None:
        super().__init__()
        dim = config.model_channels
        self.adaln = AdaLNModulation(dim, config.adaln_lora_dim, 2)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, math.prod(config.patch_size) * config.out_channels, bias=False)

    def forward(self, h: Tensor, emb: Tensor, adaln_lora: Tensor) -> Tensor:
        shift, scale = self.adaln(emb, adaln_lora)
        return self.linear(self.norm(h) * (1 + scale) + shift)


class TimestepEmbedding(nn.Module):
    """Sinusoid of ``c_noise`` and the AdaLN-LoRA MLP ``A = linear_2(SiLU(linear_1(s)))`` (spec §4.2.3)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.linear_1 = nn.Linear(dim, dim, bias=False)
        self.linear_2 = nn.Linear(dim, 3 * dim, bias=False)

    def sinusoid(self, timesteps: Tensor) -> Tensor:
        """``timesteps [B]`` -> ``[cos(t w_i), sin(t w_i)] [B, D]`` float32, ``w_i = 10000^(-i/(D/2))``."""
        half = self.dim // 2
        exponent = -math.log(10000) * torch.arange(half, dtype=torch.float32, device=timesteps.device) / half
        angles = timesteps[:, None].float() * torch.exp(exponent)[None, :]
        return torch.cat([angles.cos(), angles.sin()], dim=-1)

    def forward(self, sinusoid: Tensor) -> Tensor:
        """``sinusoid [B, D]`` -> AdaLN-LoRA term ``A [B, 3D]``."""
        return self.linear_2(F.silu(self.linear_1(sinusoid)))


class DiT(PretrainedMixin, nn.Module):
    """Cosmos-1.0 diffusion transformer ``F`` (spec §4). The EDM denoiser wraps it (:mod:`cosmos.diffusion.edm`).

    Load NVIDIA's checkpoints with ``DiT.from_pretrained(folder, config=...)`` where ``folder`` holds
    ``model.pt`` / ``model.safetensors`` with the official ``net.*`` keys, a diffusers ``transformer/``
    folder, or our own layout; ``config`` is a preset name, a :class:`DiTConfig`, or the reference's
    constructor kwargs.
    """

    config_class = DiTConfig
    presets: dict[str, DiTConfig] = PRESETS

    def __init__(self, config: DiTConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.model_channels
        self.patch_embed = nn.Linear(config.in_channels * math.prod(config.patch_size), dim, bias=False)
        self.time_embed = TimestepEmbedding(dim)
        self.time_norm = RMSNorm(dim)
        self.pos_embed = self.build_pos_embed(config)
        self.blocks = nn.ModuleList(DiTBlock(config) for _ in range(config.num_blocks))
        self.final_layer = FinalLayer(config)
        self.action_embed = action_embedding(config)
        self.logvar = UncertaintyWeight(128)
        self._init_weights()

    @property
    def num_views(self) -> int:
        """Camera views laid out along the latent time axis (1; :class:`cosmos.diffusion.MultiViewDiT`: V)."""
        return 1

    def build_pos_embed(self, config: DiTConfig) -> nn.Module | None:
        """The per-block absolute position embedding, ``module(grid) -> [T'H'W', D]`` (spec §5.3), or None."""
        return LearnablePosEmbed(config.max_grid, config.model_channels) if config.extra_pos_embed else None

    def _init_weights(self) -> None:
        """Spec §3.1: Xavier-uniform Linear weights, N(0, 0.02) timestep MLP, zero last AdaLN layers."""
        for module in self.modules():
            if isinstance(module, nn.Linear) and module.weight.device.type != "meta":
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        if self.patch_embed.weight.device.type == "meta":
            return
        nn.init.normal_(self.time_embed.linear_1.weight, std=0.02)
        nn.init.normal_(self.time_embed.linear_2.weight, std=0.02)
        for module in self.modules():
            if isinstance(module, AdaLNModulation):
                nn.init.zeros_(module.up.weight)
        nn.init.zeros_(self.logvar.linear.weight)
        if self.action_embed is not None:
            for last in self.action_embed.output_layers():
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)

    @classmethod
    def coerce_config(cls, config: Any) -> DiTConfig:
        """Accept a config object, a preset name, official net kwargs, a diffusers config or our JSON dict."""
        from cosmos.core import config_from_dict

        if isinstance(config, cls.config_class):
            return config
        if isinstance(config, str):
            if config not in cls.presets:
                raise ValueError(f"unknown {cls.__name__} preset {config!r}; known: {sorted(cls.presets)}")
            return cls.presets[config]
        if isinstance(config, dict):
            if (
                "model_channels" in config
                and "num_blocks" in config
                and "num_heads" in config
                and ("_target_" in config or "block_config" in config or "crossattn_emb_channels" in config)
            ):
                return cls.config_class.from_official(config)
            if "num_attention_heads" in config and cls.config_class is DiTConfig:
                return DiTConfig.from_diffusers(config)
            return config_from_dict(cls.config_class, config)
        raise TypeError(f"cannot build a {cls.config_class.__name__} from {type(config).__name__}")

    @classmethod
    def load_foreign(cls, folder: Any, config: Any) -> tuple[DiTConfig, dict[str, Tensor]]:
        """Official ``model.pt`` / official-key ``model.safetensors`` or a diffusers folder -> our keys."""
        from .checkpoints import load_foreign_dit

        return load_foreign_dit(folder, config, cls)

    @classmethod
    def from_base(cls, base: DiT, config: DiTConfig | str) -> DiT:
        """A post-training network initialised from ``base`` that computes exactly what ``base`` computes.

        ``config`` may add conditioning to ``base``'s architecture: a condition-mask channel (Text2World ->
        Video2World), camera-ray channels (spec §11.1) or action MLPs (spec §11.2). Every shared weight is
        copied; the patch-embed weights of new input channels are zero and the action MLPs' output layers are
        zero, so the new model starts exactly at the base model (for any camera rays or actions).

        Raises:
            ValueError: ``config`` differs from ``base`` in anything else, or removes conditioning.
        """
        config = cls.coerce_config(config)
        old = base.config
        grown = ("condition_mask", "camera_channels", "action_dim", "action_frames", "action_embedding")
        same = {f.name for f in dataclasses.fields(DiTConfig)} - set(grown) - {"rope_precision"}
        changed = sorted(name for name in same if getattr(config, name) != getattr(old, name))
        if changed:
            raise ValueError(f"from_base can only add conditioning; these settings differ: {changed}")
        if (
            (old.condition_mask and not config.condition_mask)
            or old.camera_channels > config.camera_channels
            or (
                old.action_dim
                and (old.action_dim, old.action_frames, old.action_embedding)
                != (config.action_dim, config.action_frames, config.action_embedding)
            )
        ):
            raise ValueError("from_base cannot remove or reshape existing conditioning")
        device = base.patch_embed.weight.device
        with torch.device(device):
            model = cls(config)
        state = model.state_dict()
        for key, value in base.state_dict().items():
            if key == "patch_embed.weight":
                continue
            state[key] = value.clone()
        patch = math.prod(config.patch_size)
        old_weight = base.patch_embed.weight.detach().reshape(config.model_channels, old.in_channels, patch)
        new_weight = torch.zeros(
            config.model_channels, config.in_channels, patch, dtype=old_weight.dtype, device=device
        )
        latent = config.latent_channels
        new_weight[:, :latent] = old_weight[:, :latent]  # latent channels
        if old.condition_mask:
            new_weight[:, latent] = old_weight[:, latent]
        new_cam = latent + int(config.condition_mask)
        old_cam = latent + int(old.condition_mask)
        new_weight[:, new_cam : new_cam + old.camera_channels] = old_weight[
            :, old_cam : old_cam + old.camera_channels
        ]
        if config.concat_padding_mask:
            new_weight[:, -1] = old_weight[:, -1]  # the padding-mask channel stays last
        state["patch_embed.weight"] = new_weight.reshape(config.model_channels, -1)
        model.load_state_dict(state)
        return model.to(base.patch_embed.weight.dtype)

    # ------------------------------------------------------------------------------------------
    # forward pieces (public so parity tests can localise a mismatch)
    # ------------------------------------------------------------------------------------------
    def concat_input_channels(
        self,
        x: Tensor,
        padding_mask: Tensor | None = None,
        condition_video_input_mask: Tensor | None = None,
        camera: Tensor | None = None,
    ) -> Tensor:
        """``[latent, condition mask, camera rays, padding mask]`` -> ``[B, in_channels, T, H, W]`` (spec §4.2.1).

        ``padding_mask [B|1, 1, H_pix, W_pix]`` is resized with legacy nearest (pixel (8i, 8j)) and repeated
        over T; ``None`` means zeros (what inference passes). ``camera [B, 6, T_pose, H, W]`` may carry more
        frames than the latent: the first ``T`` are kept, so latent frame t gets the rays of pixel frame t
        (spec §11.1, as the reference does).
        """
        cfg = self.config
        batch, _, frames, height, width = self._check_latent(x).shape
        parts = [x]
        if cfg.condition_mask:
            if condition_video_input_mask is None:
                raise ShapeError("this Video2World DiT needs condition_video_input_mask [B, 1, T, H, W]")
            parts.append(condition_video_input_mask.to(x.dtype).expand(batch, 1, frames, height, width))
        elif condition_video_input_mask is not None:
            raise ShapeError("condition_video_input_mask given, but this DiT is not a Video2World model")
        if cfg.camera_channels:
            if (
                camera is None
                or camera.ndim != 5
                or tuple(camera.shape[:2]) != (batch, cfg.camera_channels)
                or camera.shape[2] < frames
                or tuple(camera.shape[3:]) != (height, width)
            ):
                got = None if camera is None else tuple(camera.shape)
                raise ShapeError(
                    f"camera must be [B, {cfg.camera_channels}, T_pose >= T, H, W] with (B, T, H, W) = "
                    f"{(batch, frames, height, width)}, got {got}"
                )
            parts.append(camera[:, :, :frames].to(x.dtype))  # [B, 6, T, H, W]
        elif camera is not None:
            raise ShapeError("camera rays given, but this DiT has no camera channels")
        if cfg.concat_padding_mask:
            parts.append(self.padding_channel(x, padding_mask))
        return torch.cat(parts, dim=1)

    def _check_latent(self, x: Tensor) -> Tensor:
        if x.ndim != 5 or x.shape[1] != self.config.latent_channels:
            raise ShapeError(
                f"x must be [B, {self.config.latent_channels}, T, H, W] (latent channels), got {tuple(x.shape)}"
            )
        return x

    @staticmethod
    def padding_channel(x: Tensor, padding_mask: Tensor | None) -> Tensor:
        """Pixel ``padding_mask [B|1, 1, H_pix, W_pix]`` -> ``[B, 1, T, H, W]`` by legacy nearest; None = zeros."""
        batch, _, frames, height, width = x.shape
        if padding_mask is None:
            return x.new_zeros(batch, 1, frames, height, width)
        mask = F.interpolate(padding_mask.to(x.dtype), size=(height, width), mode="nearest")
        return mask.unsqueeze(2).expand(batch, 1, frames, height, width)

    def patchify(self, x: Tensor) -> Tensor:
        """``[B, C_in, T, H, W] -> [B, T', H', W', C_in p_t p_h p_w]``; feature order (c, p_t, p_h, p_w)."""
        p_t, p_h, p_w = self.config.patch_size
        return rearrange(x, "b c (t r) (h m) (w n) -> b t h w (c r m n)", r=p_t, m=p_h, n=p_w)

    def unpatchify(self, tokens: Tensor, grid: tuple[int, int, int]) -> Tensor:
        """``[B, T'H'W', p_h p_w p_t C] -> [B, C, T, H, W]``; feature order (p_h, p_w, p_t, C) (spec §4.2.8)."""
        p_t, p_h, p_w = self.config.patch_size
        frames, height, width = grid
        return rearrange(
            tokens,
            "b (t h w) (m n r c) -> b c (t r) (h m) (w n)",
            t=frames,
            h=height,
            w=width,
            m=p_h,
            n=p_w,
            r=p_t,
        )

    def time_conditioning(
        self, timesteps: Tensor, action: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """``c_noise [B]`` -> ``(sinusoid [B, D], emb = RMSNorm(sinusoid (+ a_D)) [B, D], A (+ a_3D) [B, 3D])``.

        ``action [B, A, action_dim]``: the ``"nano"`` layer takes exactly ``A = action_frames`` vectors and adds
        ``a_D`` before the norm; the released ``"predict1"`` layer takes ``A >= 1`` and uses only the first,
        and only ``a_3D`` changes the output (spec §11.2).
        """
        sinusoid = self.time_embed.sinusoid(timesteps).to(self.time_embed.linear_1.weight.dtype)
        adaln_lora = self.time_embed(sinusoid)
        emb_input = sinusoid
        if self.action_embed is not None:
            cfg = self.config
            frames_ok = action is not None and (
                action.shape[1] >= 1
                if cfg.action_embedding == "predict1"
                else action.shape[1] == cfg.action_frames
            )
            if (
                action is None
                or action.ndim != 3
                or action.shape[0] != sinusoid.shape[0]
                or action.shape[2] != cfg.action_dim
                or not frames_ok
            ):
                got = None if action is None else tuple(action.shape)
                raise ShapeError(
                    f"this DiT is action-conditioned: pass action [B, {cfg.action_frames}, {cfg.action_dim}] "
                    f"with B={sinusoid.shape[0]}, got {got}"
                )
            action_emb, action_lora = self.action_embed(action.to(sinusoid.dtype))
            if self.action_embed.affects_emb:
                emb_input = emb_input + action_emb
            adaln_lora = adaln_lora + action_lora
        elif action is not None:
            raise ShapeError("action given, but this DiT has no action conditioning")
        return sinusoid, self.time_norm(emb_input), adaln_lora

    def rope(
        self, grid: tuple[int, int, int], fps: Tensor | float | None, device: torch.device
    ) -> tuple[Tensor, Tensor]:
        """``(cos, sin)`` float32 ``[T'H'W', head_dim]`` for the token grid (spec §5.1-5.2)."""
        dtype = torch.bfloat16 if self.config.rope_precision == "bfloat16" else torch.float32
        angles = rope_angles(
            grid,
            self.config.head_dim,
            self.config.rope_scale,
            fps=fps,
            base_fps=self.config.base_fps,
            dtype=dtype,
            device=device,
        )
        return angles.cos(), angles.sin()

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
        camera: Tensor | None = None,
        action: Tensor | None = None,
        return_logvar: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Raw network ``F`` in the reference's argument order (spec §4.2).

        Args:
            x: ``[B, C, T, H, W]`` latent already scaled by ``c_in`` (float).
            timesteps: ``[B]`` ``c_noise = 0.25 ln sigma``.
            crossattn_emb: ``[B, S, crossattn_channels]`` text embeddings (T5 padding rows are zeros).
            crossattn_mask: ``[B, S]``; accepted for signature parity and **ignored** (the reference does not mask).
            fps: ``[B]`` or scalar pixel frame rate; only the first entry is used (reference behaviour);
                ``None`` = image mode (requires ``T' == 1``).
            padding_mask: ``[B|1, 1, H_pix, W_pix]`` in {0, 1}; ``None`` = zeros.
            condition_video_input_mask: Video2World ``[B, 1, T, H, W]`` in {0, 1}.
            camera: camera-control Plücker rays ``[B, 6, T_pose >= T, H, W]``, moment channels first
                (:mod:`cosmos.diffusion.camera`); the first ``T`` frames are used (keyword only).
            action: action-control ``[B, action_frames, action_dim]``; the released ``"predict1"`` layer takes
                ``[B, T_a >= 1, 7]`` and uses ``action[:, 0]`` only (keyword only).
            return_logvar: also return the training-only uncertainty ``u(c_noise)`` ``[B, 1]`` float32, computed
                inside the forward so that DDP/FSDP wrappers see its parameters (keyword only).

        Returns:
            ``[B, out_channels, T, H, W]`` in ``x``'s dtype (and ``u [B, 1]`` with ``return_logvar``).

        Raises:
            ShapeError: wrong channel count, size not divisible by the patch size, grid larger than the
                position tables, non-uniform fps, missing or surplus conditioning inputs.
        """
        grid = self.check_inputs(x, timesteps, crossattn_emb, fps)
        x_in = self.concat_input_channels(x, padding_mask, condition_video_input_mask, camera)
        return self.backbone(x_in, grid, timesteps, crossattn_emb, fps, action, return_logvar=return_logvar)

    def check_inputs(
        self, x: Tensor, timesteps: Tensor, crossattn_emb: Tensor, fps: Tensor | float | None
    ) -> tuple[int, int, int]:
        """Validate the forward's common inputs; return the token grid ``(T', H', W')``.

        Raises:
            ShapeError: see :meth:`forward`.
        """
        cfg = self.config
        batch, _, frames, height, width = self._check_latent(x).shape
        p_t, p_h, p_w = cfg.patch_size
        if frames % p_t or height % p_h or width % p_w:
            raise ShapeError(
                f"latent (T, H, W) = {(frames, height, width)} is not divisible by patch_size {cfg.patch_size}"
            )
        grid = (frames // p_t, height // p_h, width // p_w)
        if any(g > m for g, m in zip(grid, cfg.max_grid)):
            raise ShapeError(f"token grid {grid} exceeds the position tables {cfg.max_grid}")
        if timesteps.shape != (batch,):
            raise ShapeError(f"timesteps must be [B] = [{batch}], got {tuple(timesteps.shape)}")
        if (
            crossattn_emb.ndim != 3
            or crossattn_emb.shape[0] != batch
            or crossattn_emb.shape[2] != cfg.crossattn_channels
        ):
            raise ShapeError(
                f"crossattn_emb must be [B, S, {cfg.crossattn_channels}] with B={batch}, got {tuple(crossattn_emb.shape)}"
            )
        if fps is None and grid[0] != 1:
            raise ShapeError("fps=None (image mode) requires a single latent frame")
        if (
            isinstance(fps, Tensor)
            and fps.numel() > 1
            and grid[0] > 1
            and not bool((fps == fps.reshape(-1)[0]).all())
        ):
            raise ShapeError(f"all samples in a batch must share one fps, got {fps.tolist()}")
        return grid

    def backbone(
        self,
        x_in: Tensor,
        grid: tuple[int, int, int],
        timesteps: Tensor,
        crossattn_emb: Tensor,
        fps: Tensor | float | None,
        action: Tensor | None = None,
        *,
        return_logvar: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Everything after the input channels: patch embed, blocks, final layer, unpatchify (spec §4.2.2-8).

        ``x_in [B, in_channels, T, H, W]`` (from :meth:`concat_input_channels`) -> ``[B, C_out, T, H, W]``.
        """
        batch = x_in.shape[0]
        dtype = self.patch_embed.weight.dtype
        h = self.patch_embed(self.patchify(x_in.to(dtype)))  # [B, T', H', W', D]
        h = h.reshape(batch, -1, self.config.model_channels)  # [B, L, D], t-major
        _, emb, adaln_lora = self.time_conditioning(timesteps, action)
        rope = self.rope(grid, fps, x_in.device)
        pos_emb = self.pos_embed(grid).to(dtype) if self.pos_embed is not None else None
        context = crossattn_emb.to(dtype)
        for block in self.blocks:
            h = block(h, emb, adaln_lora, context, rope, pos_emb, num_views=self.num_views)
        out = self.final_layer(h, emb, adaln_lora)  # [B, L, p_h p_w p_t C]
        out = self.unpatchify(out, grid).to(x_in.dtype)
        return (out, self.logvar(timesteps)) if return_logvar else out
