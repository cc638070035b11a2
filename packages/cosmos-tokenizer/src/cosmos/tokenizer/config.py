"""Tokenizer configuration and the presets of every released Cosmos tokenizer.

One frozen dataclass, :class:`TokenizerConfig`, describes all four families (spec §1, §9):

* ``"CV"`` causal continuous video, ``"DV"`` causal discrete video (FSQ),
* ``"CI"`` continuous image, ``"DI"`` discrete image (FSQ).

:data:`PRESETS` maps every published Hugging Face repository name (``nvidia/<name>``) to its
configuration. :func:`config_from_reference` turns the constructor arguments of NVIDIA's reference
networks (the ``config`` block of the parity fixtures, or the ``model_config`` of a training run) into a
:class:`TokenizerConfig`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("CV", "DV", "CI", "DI")
FSQ_LEVELS = (8, 8, 8, 5, 5, 5)


@dataclass(frozen=True)
class TokenizerConfig:
    """Architecture of one Cosmos tokenizer (spec §5, §6, §9).

    Attributes:
        kind: ``"CV"``, ``"DV"``, ``"CI"`` or ``"DI"``.
        channels: base width c0 of the encoder/decoder (128 in every release).
        channels_mult: width multipliers per resolution level (``(2, 4, 4)`` in every release).
        num_res_blocks: residual blocks per encoder level (the decoder uses one more).
        z_channels: width of the encoder output / decoder input (16 or 256).
        latent_channels: channels of the latent: 16 for continuous tokenizers, the FSQ dimension
            ``len(levels)`` (6) for discrete ones.
        patch_size: Haar wavelet patch size p (2 or 4); the wavelet is applied log2(p) times.
        spatial_compression: s, total spatial down-sampling factor (8 or 16).
        temporal_compression: tau, total temporal factor (4 or 8) for video kinds, 1 for images.
        levels: FSQ levels (discrete kinds only), ``(8, 8, 8, 5, 5, 5)`` -> 64,000 codes.
        attn_resolutions: bookkeeping resolutions at which per-level attention blocks are created (§5.3).
        resolution: nominal training resolution used only by that bookkeeping (1024).
        dropout: dropout inside residual blocks (0 in every release; inference no-op).
        in_channels: image channels (3).
        legacy_mode: old placement of the decoder's temporal upsampler (§5.2), False for all releases.
        name: optional human name (a preset key), copied into :class:`cosmos.core.Latent` outputs.
    """

    kind: str = "CV"
    channels: int = 128
    channels_mult: tuple[int, ...] = (2, 4, 4)
    num_res_blocks: int = 2
    z_channels: int = 16
    latent_channels: int = 16
    patch_size: int = 4
    spatial_compression: int = 8
    temporal_compression: int = 8
    levels: tuple[int, ...] = ()
    attn_resolutions: tuple[int, ...] = (32,)
    resolution: int = 1024
    dropout: float = 0.0
    in_channels: int = 3
    legacy_mode: bool = False
    name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        for field_name in ("channels_mult", "levels", "attn_resolutions"):
            value = getattr(self, field_name)
            if not isinstance(value, tuple):
                object.__setattr__(self, field_name, tuple(value))
        if self.patch_size not in (1, 2, 4, 8) or self.spatial_compression % self.patch_size:
            raise ValueError(
                f"patch_size {self.patch_size} must be a power of two dividing spatial_compression "
                f"{self.spatial_compression}"
            )
        if self.is_discrete:
            if not self.levels:
                object.__setattr__(self, "levels", FSQ_LEVELS)
            if self.latent_channels != len(self.levels):
                object.__setattr__(self, "latent_channels", len(self.levels))
        elif self.levels:
            raise ValueError(f"continuous kind {self.kind} takes no FSQ levels, got {self.levels}")
        if self.is_video:
            if self.temporal_compression % self.patch_size and self.temporal_compression >= self.patch_size:
                raise ValueError("temporal_compression must be a multiple of patch_size")
            if self.num_temporal_steps < 0 or self.num_spatial_steps < 0:
                raise ValueError("compression factors must be at least the patch size")
        elif self.temporal_compression != 1:
            object.__setattr__(self, "temporal_compression", 1)
        if self.num_spatial_steps > len(self.channels_mult) - (1 if self.is_video else 0):
            raise ValueError(
                f"spatial_compression {self.spatial_compression} needs {self.num_spatial_steps} down-sampling "
                f"levels but channels_mult has only {len(self.channels_mult)}"
            )

    @property
    def is_video(self) -> bool:
        """True for CV/DV (causal 3D networks)."""
        return self.kind in ("CV", "DV")

    @property
    def is_discrete(self) -> bool:
        """True for DV/DI (FSQ-quantized latents)."""
        return self.kind in ("DV", "DI")

    @property
    def vocab_size(self) -> int:
        """Number of FSQ codes (prod(levels)); 0 for continuous tokenizers."""
        return math.prod(self.levels) if self.levels else 0

    @property
    def num_spatial_steps(self) -> int:
        """nS = log2(s) - log2(p): spatial down-sampling steps inside the network (§5)."""
        return int(math.log2(self.spatial_compression)) - int(math.log2(self.patch_size))

    @property
    def num_temporal_steps(self) -> int:
        """nT = log2(tau) - log2(p): temporal down-sampling steps inside the network (§5); 0 for images."""
        if not self.is_video:
            return 0
        return int(math.log2(self.temporal_compression)) - int(math.log2(self.patch_size))


def _video(kind: str, spatial: int, temporal: int, patch: int = 4, z: int = 16, name: str | None = None):
    return TokenizerConfig(
        kind=kind,
        patch_size=patch,
        spatial_compression=spatial,
        temporal_compression=temporal,
        z_channels=z,
        latent_channels=16 if kind == "CV" else 6,
        name=name,
    )


def _image(kind: str, spatial: int, patch: int = 4, z: int | None = None, name: str | None = None):
    return TokenizerConfig(
        kind=kind,
        patch_size=patch,
        spatial_compression=spatial,
        temporal_compression=1,
        z_channels=z if z is not None else (16 if kind == "CI" else 256),
        latent_channels=16 if kind == "CI" else 6,
        name=name,
    )


def _build_presets() -> dict[str, TokenizerConfig]:
    presets: dict[str, TokenizerConfig] = {}

    def add(name: str, config: TokenizerConfig) -> None:
        presets[name] = dataclasses.replace(config, name=name)

    # Cosmos-0.1 (Nov 2024); the same repos were first published without "0.1-" in the name.
    first = {
        "CI8x8": _image("CI", 8),
        "CI16x16": _image("CI", 16),
        "DI8x8": _image("DI", 8),
        "DI16x16": _image("DI", 16),
        # Spec §9 note A: the 0.1-CV4x8x8 structure is inferred from its file sizes: two levels
        # (channels_mult [2, 4], p=4) gives 60.65 / 87.70 MB of bf16 weights (published: 61 / 88.1 MB).
        "CV4x8x8": dataclasses.replace(_video("CV", 8, 4), channels_mult=(2, 4)),
        "CV8x8x8": _video("CV", 8, 8),
        "CV8x16x16": _video("CV", 16, 8),
        "DV4x8x8": _video("DV", 8, 4),
        "DV8x8x8": _video("DV", 8, 8),
        "DV8x16x16": _video("DV", 16, 8),
    }
    for short, config in first.items():
        add(f"Cosmos-0.1-Tokenizer-{short}", config)
        add(f"Cosmos-Tokenizer-{short}", config)
    # Cosmos-1.0 world-model tokenizers.
    add("Cosmos-1.0-Tokenizer-CV8x8x8", _video("CV", 8, 8))
    add("Cosmos-1.0-Tokenizer-DV8x16x16", _video("DV", 16, 8))
    # Cosmos-Tokenize1 (Cosmos-Predict1 release, Mar 2025).
    add("Cosmos-Tokenize1-CV8x8x8-720p", _video("CV", 8, 8))
    add("Cosmos-Tokenize1-DV8x16x16-720p", _video("DV", 16, 8))
    add("Cosmos-Tokenize1-CV4x8x8-360p", _video("CV", 8, 4, patch=2))
    add("Cosmos-Tokenize1-DV4x8x8-360p", _video("DV", 8, 4, patch=2, z=256))
    add("Cosmos-Tokenize1-CI8x8-360p", _image("CI", 8, patch=2))
    add("Cosmos-Tokenize1-CI16x16-360p", _image("CI", 16, patch=2))
    add("Cosmos-Tokenize1-DI8x8-360p", _image("DI", 8, patch=2))
    add("Cosmos-Tokenize1-DI16x16-360p", _image("DI", 16, patch=2))
    return presets


PRESETS: dict[str, TokenizerConfig] = _build_presets()
"""Every released tokenizer, keyed by its Hugging Face repository name (without ``nvidia/``)."""


def preset_for(name_or_path: str) -> TokenizerConfig | None:
    """The preset whose repository name appears in ``name_or_path``, or None.

    Matches ``"nvidia/Cosmos-1.0-Tokenizer-CV8x8x8"``, a local folder ``/ckpts/Cosmos-1.0-Tokenizer-CV8x8x8``
    and Hugging Face cache paths such as ``.../models--nvidia--Cosmos-1.0-Tokenizer-CV8x8x8/snapshots/<sha>``.
    The longest matching name wins (so ``...-CV8x8x8-720p`` is not taken for ``...-CV8x8x8``).
    """
    parts = re.split(r"[/\\]|--", str(name_or_path))
    for part in reversed(parts):
        if part in PRESETS:
            return PRESETS[part]
    return None


_REFERENCE_KIND = {
    "CausalContinuousVideoTokenizer": "CV",
    "CausalDiscreteVideoTokenizer": "DV",
    "ContinuousImageTokenizer": "CI",
    "DiscreteImageTokenizer": "DI",
}


def config_from_reference(args: Mapping[str, Any], *, kind: str | None = None) -> TokenizerConfig:
    """Build a :class:`TokenizerConfig` from the reference network's constructor arguments.

    Args:
        args: the keyword arguments of NVIDIA's ``Causal{Continuous,Discrete}VideoTokenizer`` /
            ``{Continuous,Discrete}ImageTokenizer`` (exactly the ``config`` block of the parity fixtures:
            ``channels``, ``channels_mult``, ``num_res_blocks``, ``z_channels``, ``patch_size``,
            ``spatial_compression``, ``temporal_compression``, ``levels``, ``name``, ``encoder``, ...).
            Keys that only select code paths used by no release must have their release value
            (``patch_method="haar"``, ``formulation="AE"``, ``z_factor=1``, ``quantizer="FSQ"``).
        kind: overrides the family otherwise read from ``name`` / ``quantizer`` / ``encoder`` keys.

    Raises:
        ValueError: unknown family, or an argument value that no release uses and we do not implement.
    """
    args = dict(args)
    if kind is None:
        kind = _REFERENCE_KIND.get(str(args.get("reference_class", "")))
    if kind is None:
        name = str(args.get("name", "")).upper()
        if name[:2] in KINDS:
            kind = name[:2]
    if kind is None:
        video = str(args.get("encoder", "")).upper() == "FACTORIZED" or "temporal_compression" in args
        discrete = "quantizer" in args or "levels" in args
        kind = ("D" if discrete else "C") + ("V" if video else "I")
    if args.get("patch_method", "haar") != "haar":
        raise ValueError(
            f"patch_method {args['patch_method']!r} is not implemented (every release uses 'haar')"
        )
    if args.get("formulation", "AE") != "AE":
        raise ValueError(f"formulation {args['formulation']!r} is not implemented (every release uses 'AE')")
    if args.get("z_factor", 1) != 1:
        raise ValueError("z_factor != 1 (VAE formulation) is not implemented")
    if args.get("quantizer", "FSQ") != "FSQ":
        raise ValueError(f"quantizer {args['quantizer']!r} is not implemented (every release uses 'FSQ')")
    if args.get("in_channels", 3) != 3 or args.get("out_channels", 3) != 3:
        raise ValueError("only 3-channel (RGB) tokenizers are supported")
    discrete = kind in ("DV", "DI")
    levels = tuple(args.get("levels", FSQ_LEVELS)) if discrete else ()
    return TokenizerConfig(
        kind=kind,
        channels=int(args.get("channels", 128)),
        channels_mult=tuple(int(m) for m in args.get("channels_mult", (2, 4, 4))),
        num_res_blocks=int(args.get("num_res_blocks", 2)),
        z_channels=int(args.get("z_channels", 16 if kind != "DI" else 256)),
        latent_channels=int(args.get("embedding_dim", 6))
        if discrete
        else int(args.get("latent_channels", 16)),
        patch_size=int(args.get("patch_size", 4)),
        spatial_compression=int(args.get("spatial_compression", 8)),
        temporal_compression=int(args.get("temporal_compression", 8)) if kind in ("CV", "DV") else 1,
        levels=levels,
        attn_resolutions=tuple(int(r) for r in args.get("attn_resolutions", (32,))),
        resolution=int(args.get("resolution", 1024)),
        dropout=float(args.get("dropout", 0.0)),
        legacy_mode=bool(args.get("legacy_mode", False)),
    )
