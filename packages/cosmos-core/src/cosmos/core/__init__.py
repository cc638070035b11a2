"""cosmos.core: what every cosmos package shares.

Tensor types and the tokenizer protocol (``Latent``, ``TokenGrid``, ``VideoTokenizer``), weights
(``PretrainedMixin``, ``StateDictAdapter``, checkpoint readers), video I/O with PyAV, PSNR/SSIM,
attention dispatch, device-independent seeding, the world-model contract (``WorldModel``,
``WorldState``, ``Rollout``), the guardrail hook and the prompt upsampler (``PromptUpsampler``) with
the one LLM client (``cosmos.core.llm``). See design.md sections 2 and 3.
"""

from cosmos.core.attention import ATTENTION_BACKENDS, attention
from cosmos.core.checkpoint import (
    StateDictAdapter,
    check_state_dict,
    load_safetensors,
    load_safetensors_sharded,
    load_state_dict_file,
    save_safetensors_sharded,
)
from cosmos.core.config import config_from_dict, config_to_dict
from cosmos.core.errors import CheckpointError, ConfigError, CosmosError, GatedRepoError, ShapeError
from cosmos.core.hub import hub_offline, resolve_pretrained, resolve_relative
from cosmos.core.metrics import psnr, ssim
from cosmos.core.pretrained import PretrainedMixin, is_cosmos_layout
from cosmos.core.prompt_upsampler import PromptUpsampler, PromptUpsamplerWarning
from cosmos.core.rollout import ChunkedWorldModel, concat_states
from cosmos.core.safety import GuardrailBlocked, GuardrailLike, guard_text, guard_video, resolve_guardrail
from cosmos.core.seeding import make_generator, randn
from cosmos.core.types import Latent, TokenGrid, VideoTokenizer, check_video
from cosmos.core.video import (
    center_crop_video,
    frames_to_video,
    read_video,
    resize_video,
    save_contact_sheet,
    video_to_frames,
    write_video,
)
from cosmos.core.world_model import Rollout, WorldModel, WorldState, check_actions, check_context

__version__ = "0.1.0"

__all__ = [
    "ATTENTION_BACKENDS",
    "CheckpointError",
    "ChunkedWorldModel",
    "ConfigError",
    "CosmosError",
    "GatedRepoError",
    "GuardrailBlocked",
    "GuardrailLike",
    "Latent",
    "PretrainedMixin",
    "PromptUpsampler",
    "PromptUpsamplerWarning",
    "ShapeError",
    "StateDictAdapter",
    "Rollout",
    "TokenGrid",
    "VideoTokenizer",
    "WorldModel",
    "WorldState",
    "attention",
    "center_crop_video",
    "check_actions",
    "check_context",
    "check_state_dict",
    "check_video",
    "concat_states",
    "config_from_dict",
    "config_to_dict",
    "frames_to_video",
    "guard_text",
    "guard_video",
    "hub_offline",
    "is_cosmos_layout",
    "load_safetensors",
    "load_safetensors_sharded",
    "load_state_dict_file",
    "make_generator",
    "psnr",
    "randn",
    "read_video",
    "resize_video",
    "resolve_guardrail",
    "resolve_pretrained",
    "resolve_relative",
    "save_contact_sheet",
    "save_safetensors_sharded",
    "ssim",
    "video_to_frames",
    "write_video",
]
