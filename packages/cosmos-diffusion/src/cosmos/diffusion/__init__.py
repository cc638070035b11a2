"""cosmos.diffusion: the Cosmos-1.0 EDM diffusion world model (Text2World, Video2World), exact to NVIDIA's weights.

Public API:

* :class:`DiT`, :class:`DiTConfig`, :data:`PRESETS`: the diffusion transformer and its published configs.
* :mod:`cosmos.diffusion.edm`: ``edm_scalings``, ``edm_loss``, ``sample_training_sigma``, ``UncertaintyWeight``.
* :mod:`cosmos.diffusion.samplers`: ``sample_res2ab`` (reference), ``sample_euler``, ``sample_heun``,
  ``karras_sigmas``.
* :class:`Conditioning`, :func:`denoise`, :func:`guided_denoiser`: the EDM denoiser with Video2World
  conditioning and classifier-free guidance.
* :class:`DiffusionDecoderDiT`, :class:`DiffusionDecoderConfig`, :func:`decoder_token_chunks`,
  :func:`blend_decoded_chunks`: the AR diffusion decoder (DV tokens -> CV latent), :mod:`cosmos.diffusion.decoder`.
* :class:`MultiViewDiT`, :class:`MultiViewDiTConfig`, :data:`MULTIVIEW_PRESETS`: the multi-view (surround-camera)
  driving DiT, :mod:`cosmos.diffusion.multiview` (``shared/spec/multiview.md``); :class:`MultiViewWFM` and
  :func:`write_multiview_grid` (:mod:`cosmos.diffusion.multiview_wfm`): multi-view sampling and the grid mp4.
* :class:`DiffusionWFM`: tokenizer + DiT + optional text encoder, ``sample()`` for Text2World/Video2World.
* :mod:`cosmos.diffusion.train` (``train``, ``TrainConfig``), :mod:`cosmos.diffusion.text` (``T5TextEncoder``),
  :mod:`cosmos.diffusion.camera` (``plucker_rays``, ``reference_plucker_rays``, ``camera_trajectory``), :mod:`cosmos.diffusion.cli` (``cosmos-diffusion``).
"""

from .decoder import DiffusionDecoderConfig, DiffusionDecoderDiT, blend_decoded_chunks, decoder_token_chunks
from .denoiser import Conditioning, denoise, guided_denoiser
from .dit import PRESETS, DiT, DiTConfig
from .edm import SIGMA_DATA, UncertaintyWeight, edm_loss, edm_scalings, sample_training_sigma
from .multiview import MULTIVIEW_PRESETS, MultiViewDiT, MultiViewDiTConfig
from .multiview_wfm import MultiViewWFM, write_multiview_grid
from .samplers import karras_sigmas, sample_euler, sample_heun, sample_res2ab
from .wfm import DEFAULT_NEGATIVE_PROMPT, DiffusionWFM

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_NEGATIVE_PROMPT",
    "DiffusionWFM",
    "MULTIVIEW_PRESETS",
    "MultiViewDiT",
    "MultiViewDiTConfig",
    "MultiViewWFM",
    "PRESETS",
    "SIGMA_DATA",
    "Conditioning",
    "DiT",
    "DiffusionDecoderConfig",
    "DiffusionDecoderDiT",
    "DiTConfig",
    "UncertaintyWeight",
    "blend_decoded_chunks",
    "decoder_token_chunks",
    "denoise",
    "edm_loss",
    "edm_scalings",
    "guided_denoiser",
    "karras_sigmas",
    "sample_euler",
    "sample_heun",
    "sample_res2ab",
    "sample_training_sigma",
    "write_multiview_grid",
]
