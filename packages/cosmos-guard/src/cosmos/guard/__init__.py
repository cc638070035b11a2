"""cosmos.guard: pre-guard (keyword blocklist, LLM moderation) and post-guard (video content-safety classifier,
face pixelation) for Cosmos world models, with structured, fail-closed verdicts.

    from cosmos.guard import Guardrail
    guard = Guardrail.from_preset("offline")
    report = guard.check_text("a robot arm stacks red cubes", negative_prompt="blurry")
    report.allowed, report.to_json()
    video_report = guard.check_video(frames_uint8_THW3)   # video_report.frames: face-pixelated copy

See docs/guard.md and the spec (guardrail.md) for the algorithms and their sources.
"""

from .blocklist import BLOCKLIST_PRESETS, Blocklist, BlocklistConfig, KeywordLists
from .diffusers_adapter import CosmosGuardSafetyChecker
from .errors import GuardConfigError
from .face_blur import FaceBlur, FaceDetector, HaarFaceDetector, pixelate_faces
from .lemmatizer import Lemmatizer, SimplemmaLemmatizer, WordNetLemmatizer
from .llm_guard import (
    LLMGuard,
    LLMVerdict,
    OpenAICompatibleGenerator,
    TransformersGenerator,
    build_aegis_prompt,
    build_llama_guard3_messages,
    build_qwen3guard_messages,
    parse_aegis_output,
    parse_llama_guard3_output,
    parse_qwen3guard_output,
)
from .runner import (
    GUARDRAIL_PRESETS,
    Deferred,
    Guardrail,
    default_guardrail,
    find_guardrail_dir,
    run_text_guardrail,
    run_video_guardrail,
)
from .verdict import GuardReport, StageResult

__version__ = "0.1.0"

__all__ = [
    "BLOCKLIST_PRESETS",
    "GUARDRAIL_PRESETS",
    "Blocklist",
    "BlocklistConfig",
    "CosmosGuardSafetyChecker",
    "Deferred",
    "FaceBlur",
    "FaceDetector",
    "GuardConfigError",
    "GuardReport",
    "Guardrail",
    "HaarFaceDetector",
    "KeywordLists",
    "LLMGuard",
    "LLMVerdict",
    "Lemmatizer",
    "OpenAICompatibleGenerator",
    "SimplemmaLemmatizer",
    "StageResult",
    "TransformersGenerator",
    "WordNetLemmatizer",
    "build_aegis_prompt",
    "build_llama_guard3_messages",
    "build_qwen3guard_messages",
    "default_guardrail",
    "find_guardrail_dir",
    "parse_aegis_output",
    "parse_llama_guard3_output",
    "parse_qwen3guard_output",
    "pixelate_faces",
    "run_text_guardrail",
    "run_video_guardrail",
]
