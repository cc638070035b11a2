"""cosmos.tokenizer: NVIDIA Cosmos causal wavelet video and image tokenizers (CV, DV, CI, DI).

Public API:

* :class:`CausalVideoTokenizer` (CV, DV) and :class:`ImageTokenizer` (CI, DI): ``from_pretrained``,
  ``encode``, ``decode``, ``latent_shape``, ``valid_num_frames`` (the :class:`cosmos.core.VideoTokenizer`
  protocol); :func:`load_tokenizer` picks the class from the architecture.
* :class:`TokenizerConfig` and :data:`PRESETS` (every released checkpoint, keyed by its Hub repo name).
* :class:`FSQ` (finite scalar quantization) and the Haar wavelet patchers.
* :class:`LatentStatistics` (``mean_std.pt``) for the world models.
"""

from .config import PRESETS, TokenizerConfig, config_from_reference, preset_for
from .fsq import FSQ
from .latent_stats import LatentStatistics
from .tokenizer import CausalVideoTokenizer, ImageTokenizer, PaddedLatent, PaddedTokenGrid, load_tokenizer
from .wavelet import ImagePatcher, ImageUnpatcher, VideoPatcher, VideoUnpatcher

__version__ = "0.1.0"

__all__ = [
    "FSQ",
    "PRESETS",
    "CausalVideoTokenizer",
    "ImagePatcher",
    "ImageTokenizer",
    "ImageUnpatcher",
    "LatentStatistics",
    "PaddedLatent",
    "PaddedTokenGrid",
    "TokenizerConfig",
    "VideoPatcher",
    "VideoUnpatcher",
    "config_from_reference",
    "load_tokenizer",
    "preset_for",
]
