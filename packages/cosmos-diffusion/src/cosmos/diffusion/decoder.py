"""The AR diffusion decoder: DV8x16x16 token ids -> a sharp CV8x8x8 latent (``shared/spec/diffusion_decoder.md``).

NVIDIA's ``Cosmos-1.0-Diffusion-7B-Decoder-DV8x16x16ToCV8x8x8`` is the 7B Text2World DiT fine-tuned to
condition on the discrete tokens the AR model produced ("AR gives control, diffusion gives quality"; Cosmos
paper Sec. 5.2). It differs from :class:`~cosmos.diffusion.DiT` only in its input channels (spec §3):

* a token table ``Embedding(64000, 32)`` looks up the ids ``[B, 1, T, h, w]``;
* each latent frame's ``[32, h, w]`` embedding is bilinearly upsampled (``align_corners=False``) to the latent
  size ``(H, W) = (2h, 2w)``;
* the network input is ``[x (16), token condition (32), padding mask (1)]`` = 49 channels.

Everything after the input (patch embed, blocks, final layer) is the DiT's own code: :class:`DiffusionDecoderDiT`
subclasses it. RoPE ratios are (t, h, w) = (1, 1.5, 1.5) and there is no per-block absolute embedding.

Around the network (spec §2, §4, §5): :func:`decoder_token_chunks` cuts the AR indices into windows of 8
token frames overlapping by 2 (reflect padding at the end); :func:`decoder_conditionings` makes the
conditional (tokens + text) and unconditional (id 0 everywhere, zero text) branches, guidance 1.8;
:func:`decoder_initial_noise` is the seeded torch noise; :func:`decode_tokens` runs RES-2ab (15 steps,
``sigma_min = 0.02``) per chunk, decodes with the CV tokenizer and :func:`blend_decoded_chunks` joins the
57-frame chunks with the reference's 2-frame pixel cut; :class:`DiffusionTokenDecoder` wraps all of it as
``decode(TokenGrid) -> video`` for AR world models. Fixtures: ``decoder_tiny.*``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from cosmos.core import ShapeError, TokenGrid

from .denoiser import Conditioning, guided_denoiser
from .dit import DiT, DiTConfig, official_common_fields
from .samplers import karras_sigmas, sample_res2ab

DECODER_GUIDANCE = 1.8
"""Classifier-free guidance of the released decoder (the reference docstring's 0.8 is stale; spec §4)."""
DECODER_SIGMA_MIN = 0.02
DECODER_NUM_STEPS = 15
CHUNK_TOKEN_FRAMES = 8
"""Token frames per decoder window: ``(57 - 1) / 8 + 1``, one 57-frame CV chunk."""
CHUNK_OVERLAP = 2


@dataclass(frozen=True)
class DiffusionDecoderConfig(DiTConfig):
    """A :class:`DiTConfig` plus the token conditioning (spec §1). Defaults are the released 7B decoder.

    Attributes:
        token_vocab_size: rows of the token table (64000 = the DV FSQ vocabulary 8·8·8·5·5·5).
        token_dim: token-embedding width, concatenated after the latent (32).
    """

    rope_scale: tuple[float, float, float] = (1.0, 1.5, 1.5)
    extra_pos_embed: bool = False
    token_vocab_size: int = 64000
    token_dim: int = 32

    @property
    def in_channels(self) -> int:
        """``[latent, token condition, padding mask]``: 16 + 32 + 1 = 49."""
        return self.latent_channels + self.token_dim + int(self.concat_padding_mask)

    @classmethod
    def from_official(cls, net_kwargs: dict[str, Any]) -> DiffusionDecoderConfig:
        """Build from the reference ``DiffusionDecoderGeneralDIT`` kwargs (``decoder_tiny.config.json``).

        Raises:
            ValueError: not decoder kwargs, sigma conditioning on (the released decoder has it off), or
                another unsupported setting.
        """
        kw = dict(net_kwargs)
        if not kw.get("is_diffusion_decoder", "DiffusionDecoder" in str(kw.get("_target_", ""))):
            raise ValueError("not diffusion-decoder kwargs (is_diffusion_decoder is not set): use DiT")
        if kw.get("diffusion_decoder_condition_on_sigma", False):
            raise ValueError("diffusion_decoder_condition_on_sigma=True is not supported (released: False)")
        if not kw.get("diffusion_decoder_condition_on_token", True):
            raise ValueError("a decoder without token conditioning is not supported")
        return cls(
            **official_common_fields(kw),
            token_vocab_size=int(kw.get("diffusion_decoder_token_condition_voc_size", 64000)),
            token_dim=int(kw.get("diffusion_decoder_token_condition_dim", 32)),
        )


DECODER_PRESETS: dict[str, DiffusionDecoderConfig] = {
    "Cosmos-1.0-Diffusion-7B-Decoder-DV8x16x16ToCV8x8x8": DiffusionDecoderConfig(),
    "Cosmos-Predict1-7B-Decoder-DV8x16x16ToCV8x8x8-720p": DiffusionDecoderConfig(),
}
"""Decoder configs keyed by the published checkpoint names (spec §1)."""


class DiffusionDecoderDiT(DiT):
    """The DiT with DV-token conditioning channels (spec §3). Load NVIDIA's ``model.pt`` strictly with
    ``DiffusionDecoderDiT.from_pretrained(folder, config=preset name | DiffusionDecoderConfig | net kwargs)``.
    """

    config_class = DiffusionDecoderConfig
    presets = DECODER_PRESETS

    def __init__(self, config: DiffusionDecoderConfig) -> None:
        if not isinstance(config, DiffusionDecoderConfig):
            raise TypeError(
                f"DiffusionDecoderDiT needs a DiffusionDecoderConfig, got {type(config).__name__}"
            )
        if config.condition_mask or config.camera_channels or config.action_dim:
            raise ValueError("the diffusion decoder takes no Video2World, camera or action conditioning")
        super().__init__(config)
        self.token_embed = nn.Embedding(config.token_vocab_size, config.token_dim)

    def token_condition(self, latent_condition: Tensor, size: tuple[int, int]) -> Tensor:
        """Token ids ``[B, 1, T, h, w]`` -> conditioning tensor ``[B, token_dim, T, H, W]`` (spec §3 steps 1-4).

        Bilinear, ``align_corners=False``: exact for the released ×2 upsampling (antialias changes nothing).
        Ids must lie in ``[0, token_vocab_size)`` (:func:`decoder_token_chunks` checks them).
        """
        batch, _, frames = latent_condition.shape[:3]
        embedding = self.token_embed(latent_condition[:, 0].long())  # [B, T, h, w, E]
        embedding = rearrange(embedding, "b t h w e -> (b t) e h w")
        resized = F.interpolate(embedding, size=size, mode="bilinear", align_corners=False)
        return rearrange(resized, "(b t) e h w -> b e t h w", b=batch, t=frames)

    def concat_input_channels(
        self, x: Tensor, padding_mask: Tensor | None = None, latent_condition: Tensor | None = None
    ) -> Tensor:
        """``[latent, token condition, padding mask]`` -> ``[B, 49, T, H, W]`` (spec §3 step 5).

        Raises:
            ShapeError: no token ids, or ids whose ``(B, 1, T)`` does not match the latent.
        """
        batch, _, frames, height, width = self._check_latent(x).shape
        if (
            latent_condition is None
            or latent_condition.ndim != 5
            or tuple(latent_condition.shape[:3]) != (batch, 1, frames)
        ):
            got = None if latent_condition is None else tuple(latent_condition.shape)
            raise ShapeError(
                f"latent_condition must be token ids [B, 1, T, h, w] = [{batch}, 1, {frames}, h, w], got {got}"
            )
        parts = [x, self.token_condition(latent_condition, (height, width)).to(x.dtype)]
        if self.config.concat_padding_mask:
            parts.append(self.padding_channel(x, padding_mask))
        return torch.cat(parts, dim=1)

    def forward(
        self,
        x: Tensor,
        timesteps: Tensor,
        crossattn_emb: Tensor,
        crossattn_mask: Tensor | None = None,
        fps: Tensor | float | None = None,
        padding_mask: Tensor | None = None,
        *,
        latent_condition: Tensor,
        return_logvar: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Raw network ``F`` (``decoder_tiny.net``): the DiT's arguments plus the token ids.

        Args:
            x, timesteps, crossattn_emb, crossattn_mask, fps, padding_mask: as :meth:`DiT.forward`
                (``x [B, 16, T, H, W]`` already scaled by ``c_in``; the mask is ignored).
            latent_condition: DV token ids ``[B, 1, T, H/2, W/2]`` (any integer dtype), keyword only.
            return_logvar: also return the training-only uncertainty ``[B, 1]``.

        Returns:
            ``[B, 16, T, H, W]`` in ``x``'s dtype.

        Raises:
            ShapeError: see :meth:`DiT.forward` and :meth:`concat_input_channels`.
        """
        grid = self.check_inputs(x, timesteps, crossattn_emb, fps)
        x_in = self.concat_input_channels(x, padding_mask, latent_condition)
        return self.backbone(x_in, grid, timesteps, crossattn_emb, fps, return_logvar=return_logvar)


# ------------------------------------------------------------------------------------------------
# around the network: chunks, conditions, noise, blending (spec §2, §4, §5)
# ------------------------------------------------------------------------------------------------
def decoder_token_chunks(
    indices: Tensor,
    num_frames: int = CHUNK_TOKEN_FRAMES,
    overlap: int = CHUNK_OVERLAP,
    *,
    vocab_size: int = 64000,
) -> Tensor:
    """Cut AR token ids ``(T_tok, h, w)`` into decoder windows ``(N, 1, num_frames, h, w)`` (spec §2).

    Windows start at ``0, s, 2s, ...`` (``s = num_frames - overlap``) while ``start < T_tok - overlap``; a
    window running past the end is completed by reflect padding along time (mirroring about the last frame
    without repeating it): ``T_tok = 5`` gives ``0 1 2 3 4 3 2 1``; ``T_tok = 12`` gives ``0..7`` and
    ``6 7 8 9 10 11 10 9``. Same as the reference ``split_with_overlap``.

    Raises:
        ShapeError: ``indices`` not ``(T_tok, h, w)`` integers, ``T_tok <= overlap``, or a last window whose
            padding would be as wide as its real frames (the reference fails there, e.g. ``T_tok = 10``).
        ValueError: ids outside ``[0, vocab_size)``.
    """
    if indices.ndim != 3 or indices.is_floating_point():
        raise ShapeError(
            f"indices must be integer token ids (T_tok, h, w), got {tuple(indices.shape)} {indices.dtype}"
        )
    total = indices.shape[0]
    if total <= overlap:
        raise ShapeError(f"need more than {overlap} token frames to make a decoder window, got {total}")
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= vocab_size):
        raise ValueError(
            f"token ids must lie in [0, {vocab_size}), got [{int(indices.min())}, {int(indices.max())}]"
        )
    chunks = []
    for start in range(0, total - overlap, num_frames - overlap):
        window = indices[start : start + num_frames]
        pad = num_frames - window.shape[0]
        if pad >= window.shape[0]:
            raise ShapeError(
                f"T_tok = {total} leaves a last window of {window.shape[0]} frames to reflect-pad by {pad}: "
                "the reference cannot (pad must be smaller); valid token lengths keep the last window longer"
            )
        if pad:
            mirror = torch.arange(window.shape[0] - 2, window.shape[0] - 2 - pad, -1)
            window = torch.cat([window, window[mirror]])
        chunks.append(window)
    return torch.stack(chunks)[:, None]  # [N, 1, num_frames, h, w]


def blend_decoded_chunks(
    chunks: Tensor, num_frames: int | None = None, overlap: int = CHUNK_OVERLAP
) -> Tensor:
    """Join decoded pixel chunks ``[N, 3, F, H, W]`` into one video ``[3, T, H, W]`` (spec §5).

    The reference ``linear_blend_video_list(videos, overlap)`` with ``w = linspace(0, 1, overlap)``:
    seam frame ``j`` is ``(1 - w_j) prev[F - overlap + j] + w_j next[j]``. With the released overlap 2 the
    weights are (0, 1), so the seam is prev[F-2], next[1]: a cut (the 2-frame *pixel* overlap against windows
    that overlap by 2 *token* frames is the reference's own mismatch, reproduced). Length
    ``N F - overlap (N - 1)``, then cropped to ``num_frames`` (the AR video's ``1 + 8 (T_tok - 1)``).

    Returns:
        ``[3, T, H, W]`` in the chunks' range (``[-1, 1]`` videos stay in ``[-1, 1]``; the reference's
        final ``(1 + v) / 2`` is the caller's).
    """
    if chunks.ndim != 5:
        raise ShapeError(f"chunks must be [N, C, F, H, W], got {tuple(chunks.shape)}")
    length = chunks.shape[2]
    if len(chunks) > 1 and length < 2 * overlap:
        raise ShapeError(f"chunks of {length} frames cannot overlap by {overlap} on both ends")
    weights = torch.linspace(0, 1, overlap, dtype=chunks.dtype, device=chunks.device)[:, None, None]
    parts = [chunks[0, :, : length - overlap] if len(chunks) > 1 else chunks[0]]
    for index in range(1, len(chunks)):
        previous, current = chunks[index - 1], chunks[index]
        seam = (1 - weights) * previous[:, length - overlap :] + weights * current[:, :overlap]
        last = index == len(chunks) - 1
        parts += [seam, current[:, overlap:] if last else current[:, overlap : length - overlap]]
    video = torch.cat(parts, dim=1)
    if num_frames is not None:
        if num_frames > video.shape[1]:
            raise ShapeError(f"num_frames {num_frames} exceeds the {video.shape[1]} blended frames")
        video = video[:, :num_frames]
    return video


def decoder_conditionings(
    latent_condition: Tensor,
    text_embeddings: Tensor,
    *,
    fps: float = 24.0,
    padding_mask: Tensor | None = None,
) -> tuple[Conditioning, Conditioning]:
    """Conditional and unconditional branches for the decoder (spec §4).

    The unconditional branch multiplies the ids and the text by 0: it sees row 0 of the token table, not a
    zero vector. ``latent_condition [B, 1, T, h, w]`` int; ``text_embeddings [B, S, C]``.
    """
    cond = Conditioning(
        text_embeddings, fps=fps, padding_mask=padding_mask, latent_condition=latent_condition
    )
    uncond = cond.replace(
        crossattn_emb=torch.zeros_like(text_embeddings), latent_condition=torch.zeros_like(latent_condition)
    )
    return cond, uncond


def decoder_initial_noise(seed: int, shape: tuple[int, ...], device: torch.device | str = "cpu") -> Tensor:
    """``80 * randn(shape)`` from ``torch.Generator(device).manual_seed(seed)`` (spec §5: torch's RNG, not
    numpy's; CPU and CUDA generators give different noise)."""
    generator = torch.Generator(device).manual_seed(seed)
    return 80.0 * torch.randn(shape, generator=generator, device=device)


def decode_tokens(
    net: DiffusionDecoderDiT,
    indices: Tensor,
    text_embeddings: Tensor,
    decode_latent: Callable[[Tensor], Tensor],
    *,
    guidance: float = DECODER_GUIDANCE,
    num_steps: int = DECODER_NUM_STEPS,
    seed: int = 1,
    fps: float = 24.0,
    callback: Callable[[dict], None] | None = None,
) -> Tensor:
    """AR token ids -> video through the diffusion decoder (spec §2-§5): the whole AR-side pipeline.

    Args:
        net: the :class:`DiffusionDecoderDiT`.
        indices: DV token ids ``(T_tok, h, w)`` of one sample, vocabulary offset removed.
        text_embeddings: ``[1, S, C]`` (the user's T5 embedding, or the stored "high quality, 4k" context).
        decode_latent: the CV tokenizer's decode of a model latent ``[1, 16, 8, 2h, 2w]`` (un-normalised as in
            diffusion.md §2) -> pixels ``[1, 3, 57, H_pix, W_pix]`` in ``[-1, 1]``.
        guidance, num_steps, seed, fps: released values 1.8, 15, 1, 24; the noise for every chunk is
            :func:`decoder_initial_noise` of ``seed`` on CPU.
        callback: passed to the sampler.

    Returns:
        video ``[3, 1 + 8 (T_tok - 1), H_pix, W_pix]`` in ``[-1, 1]`` (float32, on ``net``'s device).

    Raises:
        ShapeError / ValueError: see :func:`decoder_token_chunks`.
    """
    config = net.config
    device = net.patch_embed.weight.device
    chunks = decoder_token_chunks(indices, vocab_size=config.token_vocab_size).to(device)
    _, _, frames, height, width = chunks.shape
    sigmas = karras_sigmas(num_steps, sigma_min=DECODER_SIGMA_MIN)
    decoded = []
    for chunk in chunks:
        cond, uncond = decoder_conditionings(chunk[None], text_embeddings.to(device).float(), fps=fps)
        noise = decoder_initial_noise(seed, (1, config.latent_channels, frames, 2 * height, 2 * width))
        denoiser = guided_denoiser(net, cond, uncond, guidance)
        latent = sample_res2ab(denoiser, noise.to(device), sigmas, callback=callback)
        decoded.append(decode_latent(latent).clamp(-1, 1)[0])
    num_pixel_frames = 1 + 8 * (indices.shape[0] - 1)
    return blend_decoded_chunks(torch.stack(decoded), num_pixel_frames)


class DiffusionTokenDecoder:
    """Token grid -> video through the diffusion decoder: what an AR world model calls instead of the DV decoder.

    Args:
        net: the :class:`DiffusionDecoderDiT`.
        tokenizer: the continuous CV tokenizer (``cosmos.core.VideoTokenizer``) whose latents ``net`` makes.
        text_embeddings: ``[1, S, C]`` conditioning text; default zeros (NVIDIA's base pipeline passes the stored
            T5 embedding of "high quality, 4k, high definition, smooth video", ``aux_vars.pt["context"]``).
        latent_statistics: de-normalisation of the model latent (default: the tokenizer's, as DiffusionWFM).
        guidance, num_steps, seed: released values 1.8, 15, 1.
    """

    def __init__(
        self,
        net: DiffusionDecoderDiT,
        tokenizer: Any,
        *,
        text_embeddings: Tensor | None = None,
        latent_statistics: Any = None,
        guidance: float = DECODER_GUIDANCE,
        num_steps: int = DECODER_NUM_STEPS,
        seed: int = 1,
    ) -> None:
        from .wfm import DiffusionWFM

        self.wfm = DiffusionWFM(tokenizer, net, latent_statistics=latent_statistics)  # its latent decode
        self.net = net
        if text_embeddings is None:
            text_embeddings = torch.zeros(1, 1, net.config.crossattn_channels)
        self.text_embeddings = text_embeddings
        self.guidance, self.num_steps, self.seed = guidance, num_steps, seed

    def decode(self, tokens: TokenGrid | Tensor) -> Tensor:
        """``TokenGrid`` or ids ``[B, T_tok, h, w]`` -> video ``[B, 3, 1 + 8 (T_tok - 1), 16 h, 16 w]`` in [-1, 1].

        Raises:
            ShapeError / ValueError: see :func:`decoder_token_chunks` (ids outside the vocabulary, a grid
                the chunking cannot take).
        """
        indices = tokens.indices if isinstance(tokens, TokenGrid) else tokens
        if indices.ndim != 4:
            raise ShapeError(f"token ids must be [B, T_tok, h, w], got {tuple(indices.shape)}")
        videos = [
            decode_tokens(
                self.net,
                sample,
                self.text_embeddings,
                self.wfm.decode,
                guidance=self.guidance,
                num_steps=self.num_steps,
                seed=self.seed,
            )
            for sample in indices
        ]
        return torch.stack(videos)


__all__ = [
    "DiffusionTokenDecoder",
    "DECODER_PRESETS",
    "DiffusionDecoderConfig",
    "DiffusionDecoderDiT",
    "blend_decoded_chunks",
    "decode_tokens",
    "decoder_conditionings",
    "decoder_initial_noise",
    "decoder_token_chunks",
]
