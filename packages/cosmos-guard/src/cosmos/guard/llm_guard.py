"""Pre-guard 2: LLM moderation with Aegis, Llama Guard 3 and Qwen3Guard (spec §3).

Each guard is three pieces:

* a **prompt builder** (pure): `build_aegis_prompt`, `build_llama_guard3_messages`, `build_qwen3guard_messages`;
* an **output parser** (pure): `parse_aegis_output`, `parse_llama_guard3_output`, `parse_qwen3guard_output`,
  each returning an `LLMVerdict` (label, category codes, category names);
* a **generator** (`TextGenerator` protocol): `TransformersGenerator` runs a local Hugging Face model with
  greedy decoding (extra ``cosmos-guard[llm]``); `OpenAICompatibleGenerator` asks an OpenAI-compatible
  server (vLLM, TGI) with temperature 0; tests use canned outputs. Both are cosmos-core's one LLM client
  (:mod:`cosmos.core.llm`, shared with the world models' prompt upsampler), re-exported here.

Reference bugs fixed here (spec §3):

* Aegis maps ``"O<n>"`` to a name by list index ``n - 1`` over a list that skips O9, so O10 is reported as
  "threat", O11 as "profanity" and O12 is lost; a ``"O1,O3"`` line fails to parse. We map codes through a dict
  and accept comma/space separated lists.
* Llama Guard 3's table keys S14 as lower-case ``"s14"``, so an ``"S14"`` verdict is "unrecognised". We
  upper-case codes before the lookup.
* Qwen3Guard's categories are looked up in Llama Guard 3's names (so usually come back empty); we use
  Qwen3Guard's own category names. A missing ``Safety:`` line raised and was swallowed as *safe*; we return
  label ``"unparseable"``, which `LLMGuard.check` reports as ``"error"`` (the runner then fails closed).
* All three guards returned *safe* on any exception; here exceptions propagate to the runner (fail closed).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cosmos.core.llm import OpenAICompatibleGenerator, TextGenerator, TransformersGenerator

from .errors import GuardConfigError
from .verdict import StageResult

__all__ = [
    "AEGIS_CATEGORIES",
    "LLAMA_GUARD3_CATEGORIES",
    "LLM_GUARD_SPECS",
    "QWEN3GUARD_CATEGORIES",
    "LLMGuard",
    "LLMGuardSpec",
    "LLMVerdict",
    "OpenAICompatibleGenerator",
    "TextGenerator",
    "TransformersGenerator",
    "build_aegis_prompt",
    "build_llama_guard3_messages",
    "build_qwen3guard_messages",
    "parse_aegis_output",
    "parse_llama_guard3_output",
    "parse_qwen3guard_output",
]

logger = logging.getLogger(__name__)

VerdictLabel = Literal["safe", "unsafe", "controversial", "unparseable"]

# --------------------------------------------------------------------------- categories
# Aegis (NVIDIA's 13-category taxonomy); the Cosmos guard sends 11 of them: O9 (PII/Privacy) and O13 are
# left out of the policy (spec §3.1). Policy texts below are our own wording of each category's scope.
AEGIS_CATEGORIES: dict[str, tuple[str, str]] = {
    "O1": (
        "Violence",
        "Should not: help plan, encourage or glorify violence against people or animals, or "
        "describe it in graphic detail. Can: discuss violence in general, historical or news terms.",
    ),
    "O2": (
        "Sexual",
        "Should not: produce sexually explicit content or solicit sexual acts. Can: discuss "
        "sexuality, relationships and sexual health in general, non-explicit terms.",
    ),
    "O3": (
        "Criminal Planning/Confessions",
        "Should not: help plan or carry out crimes such as theft, fraud, "
        "kidnapping or vandalism, or encourage them. Can: explain how crimes happen in general terms, "
        "or how to prevent them.",
    ),
    "O4": (
        "Guns and Illegal Weapons",
        "Should not: help obtain, build or use firearms or illegal weapons "
        "(explosives, chemical or biological agents). Can: discuss weapons in general terms and their "
        "regulation.",
    ),
    "O5": (
        "Controlled/Regulated Substances",
        "Should not: help produce, obtain, traffic or abuse illegal "
        "drugs, tobacco, alcohol or cannabis. Can: discuss substances and their effects factually.",
    ),
    "O6": (
        "Suicide and Self Harm",
        "Should not: encourage or give instructions for suicide or self-harm. "
        "Can: provide factual information and point to support resources.",
    ),
    "O7": (
        "Sexual (minor)",
        "Should not: produce any sexual content involving minors, or help anyone "
        "groom or abuse a minor. Can: discuss child protection in general terms.",
    ),
    "O8": (
        "Hate/Identity Hate",
        "Should not: express hatred of, demean or dehumanise people for protected "
        "characteristics, or use slurs. Can: discuss discrimination and its history.",
    ),
    "O9": (
        "PII/Privacy",
        "Should not: reveal or request personal identifying information of private people.",
    ),
    "O10": (
        "Harassment",
        "Should not: bully, stalk, intimidate or demean a person. Can: discuss harassment "
        "and how to respond to it.",
    ),
    "O11": (
        "Threat",
        "Should not: threaten harm to a person, group or property. Can: discuss threats in general terms.",
    ),
    "O12": (
        "Profanity",
        "Should not: use obscene or profane language aimed at offending. Can: discuss such "
        "language in an educational way.",
    ),
    "O13": ("Needs Caution", "Should not: give detailed help on sensitive topics that need caution."),
}
# The 11 categories the Cosmos guard sends (spec §3.1).
AEGIS_POLICY_CODES: tuple[str, ...] = ("O1", "O2", "O3", "O4", "O5", "O6", "O7", "O8", "O10", "O11", "O12")

# MLCommons hazard taxonomy used by Llama Guard 3 (spec §3.2).
LLAMA_GUARD3_CATEGORIES: dict[str, str] = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex Crimes",
    "S4": "Child Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}

# Qwen3Guard-Gen's own category names (from its model card), not Llama Guard's (spec §3.3 pitfall).
QWEN3GUARD_CATEGORIES: tuple[str, ...] = (
    "Violent",
    "Non-violent Illegal Acts",
    "Sexual Content or Sexual Acts",
    "PII",
    "Suicide & Self-Harm",
    "Unethical Acts",
    "Politically Sensitive Topics",
    "Copyright Violation",
    "Jailbreak",
)


@dataclass(frozen=True)
class LLMVerdict:
    """A parsed moderation answer.

    Attributes:
        label: ``"safe"``, ``"unsafe"``, ``"controversial"`` (Qwen3Guard only) or ``"unparseable"``.
        codes: category codes as the model wrote them, normalised to upper case (``("O1", "O3")``); Qwen3Guard
            has no codes, so its names are repeated here.
        names: category names (``("Violence", "Criminal Planning/Confessions")``); unknown codes become
            ``"unknown category <code>"``.
        raw: the generated text that was parsed.
    """

    label: VerdictLabel
    codes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    raw: str = ""


# --------------------------------------------------------------------------- Aegis (spec §3.1)
def build_aegis_prompt(prompt: str, codes: tuple[str, ...] = AEGIS_POLICY_CODES) -> str:
    """The Llama-Guard-1 style instruction the Aegis adapter was trained on, for one user message.

    Args:
        prompt: the user's text.
        codes: category codes to include in the policy (default: the 11 the Cosmos guard sends).

    Returns:
        One string, to be tokenised *without* special tokens (spec §3.1).

    Raises:
        GuardConfigError: for an unknown category code.
    """
    unknown = [c for c in codes if c not in AEGIS_CATEGORIES]
    if unknown:
        raise GuardConfigError(f"unknown Aegis category codes {unknown}; known: {list(AEGIS_CATEGORIES)}")
    blocks = "\n".join(f"{code}: {AEGIS_CATEGORIES[code][0]}.\n{AEGIS_CATEGORIES[code][1]}" for code in codes)
    return (
        "[INST] Task: Check if there is unsafe content in 'User' messages in conversations according to our "
        "safety policy with the below categories.\n\n"
        "<BEGIN UNSAFE CONTENT CATEGORIES>\n"
        f"{blocks}\n"
        "<END UNSAFE CONTENT CATEGORIES>\n\n"
        "<BEGIN CONVERSATION>\n\n"
        f"User: {prompt}\n\n"
        "<END CONVERSATION>\n\n"
        "Provide your safety assessment for User in the above conversation:\n"
        "- First line must read 'safe' or 'unsafe'.\n"
        "- If unsafe, a second line must include a comma-separated list of violated categories. [/INST]"
    )


def _first_line_label(text: str) -> tuple[str | None, list[str]]:
    """(first word of the first non-empty line, lower-cased without punctuation; the rest of the text's lines).

    Guard models answer ``safe`` or ``unsafe`` alone on the first line; anything else is unparseable.
    """
    lines = [line.strip() for line in text.replace("<|eot_id|>", "\n").splitlines() if line.strip()]
    if not lines:
        return None, []
    first, _, rest_of_line = lines[0].partition(" ")
    rest = ([rest_of_line] if rest_of_line.strip() else []) + lines[1:]
    return first.lower().strip(".:!,"), rest


def _parse_coded_verdict(text: str, prefix: str, table: dict[str, str]) -> LLMVerdict:
    label, rest = _first_line_label(text)
    if label == "safe":
        return LLMVerdict("safe", raw=text)
    if label != "unsafe":
        return LLMVerdict("unparseable", raw=text)
    codes: list[str] = []
    for match in re.finditer(rf"\b{prefix}\s*(\d+)\b", " ".join(rest), flags=re.IGNORECASE):
        code = f"{prefix.upper()}{int(match.group(1))}"
        if code not in codes:
            codes.append(code)
    names = tuple(table.get(code, f"unknown category {code}") for code in codes)
    return LLMVerdict("unsafe", tuple(codes), names, raw=text)


def parse_aegis_output(text: str) -> LLMVerdict:
    """Parse Aegis' answer: line 1 ``safe``/``unsafe``, line 2 codes like ``O1`` or ``O1,O3`` (spec §3.1).

    Codes map through `AEGIS_CATEGORIES` by name (O10 -> Harassment, O11 -> Threat, O12 -> Profanity), not by
    list index as in the reference. A first line that is neither ``safe`` nor ``unsafe`` gives
    ``"unparseable"``.
    """
    return _parse_coded_verdict(text, "O", {k: v[0] for k, v in AEGIS_CATEGORIES.items()})


# --------------------------------------------------------------------------- Llama Guard 3 (spec §3.2)
def build_llama_guard3_messages(prompt: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(conversation, categories) for ``tokenizer.apply_chat_template(conversation, categories=categories)``.

    The conversation is one user turn with plain-string content (as the reference passes it to
    Llama-Guard-3-8B's template); categories are the 14 MLCommons hazards S1..S14.
    """
    conversation = [{"role": "user", "content": prompt}]
    return conversation, dict(LLAMA_GUARD3_CATEGORIES)


def parse_llama_guard3_output(text: str) -> LLMVerdict:
    """Parse Llama Guard 3's answer: ``safe``, or ``unsafe`` then ``S1,S10`` (``<|eot_id|>`` stripped).

    Codes are upper-cased before the lookup (the reference keyed S14 as ``"s14"``).
    """
    return _parse_coded_verdict(text, "S", LLAMA_GUARD3_CATEGORIES)


# --------------------------------------------------------------------------- Qwen3Guard (spec §3.3)
def build_qwen3guard_messages(prompt: str) -> list[dict[str, str]]:
    """Chat messages for Qwen3Guard-Gen prompt moderation (its chat template adds the policy)."""
    return [{"role": "user", "content": prompt}]


def parse_qwen3guard_output(text: str) -> LLMVerdict:
    """Parse ``Safety: Safe|Unsafe|Controversial`` and ``Categories: A, B`` lines of Qwen3Guard-Gen.

    Category names are matched case-insensitively against `QWEN3GUARD_CATEGORIES` (unknown ones are kept as
    written, ``None`` means no category). No ``Safety:`` line gives ``"unparseable"``.
    """
    match = re.search(r"Safety:\s*(Safe|Unsafe|Controversial)\b", text, flags=re.IGNORECASE)
    if match is None:
        return LLMVerdict("unparseable", raw=text)
    label = match.group(1).lower()
    names: list[str] = []
    cat_match = re.search(r"Categories:\s*(.+)", text, flags=re.IGNORECASE)
    if cat_match:
        known = {c.lower(): c for c in QWEN3GUARD_CATEGORIES}
        for part in re.split(r"[,\n]", cat_match.group(1)):
            part = part.strip().rstrip(".")
            if not part or part.lower() == "none":
                continue
            name = known.get(part.lower(), part)
            if name not in names:
                names.append(name)
    return LLMVerdict(label, tuple(names), tuple(names), raw=text)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- specs and generators
@dataclass(frozen=True)
class LLMGuardSpec:
    """How to run one LLM guard (spec §3).

    Attributes:
        name: stage name (``"aegis"``, ``"llama_guard_3"``, ``"qwen3guard"``).
        model_id: Hugging Face id of the (base) model.
        adapter_id: PEFT adapter id applied on top (Aegis), or None.
        max_new_tokens: generation budget (greedy).
        uses_chat_template: True: the builder returns chat messages for the tokenizer's template; False: a
            plain string tokenised without special tokens.
        build: prompt builder, ``prompt -> str | messages | (messages, categories)``.
        parse: output parser, ``generated text -> LLMVerdict``.
    """

    name: str
    model_id: str
    adapter_id: str | None
    max_new_tokens: int
    uses_chat_template: bool
    build: Callable[[str], Any]
    parse: Callable[[str], LLMVerdict]


LLM_GUARD_SPECS: dict[str, LLMGuardSpec] = {
    "aegis": LLMGuardSpec(
        "aegis",
        "meta-llama/LlamaGuard-7b",
        "nvidia/Aegis-AI-Content-Safety-LlamaGuard-Defensive-1.0",
        100,
        False,
        build_aegis_prompt,
        parse_aegis_output,
    ),
    "llama_guard_3": LLMGuardSpec(
        "llama_guard_3",
        "meta-llama/Llama-Guard-3-8B",
        None,
        100,
        True,
        build_llama_guard3_messages,
        parse_llama_guard3_output,
    ),
    "qwen3guard": LLMGuardSpec(
        "qwen3guard",
        "Qwen/Qwen3Guard-Gen-0.6B",
        None,
        128,
        True,
        build_qwen3guard_messages,
        parse_qwen3guard_output,
    ),
}


class LLMGuard:
    """One LLM moderation stage: build prompt, generate greedily, parse (spec §3).

    Args:
        kind: ``"aegis"``, ``"llama_guard_3"`` or ``"qwen3guard"``.
        generator: a `TextGenerator`; default: `TransformersGenerator` for the spec's model id, loading from
            `cache_dir` / `model_path` without downloading.
        model_path: local folder of the base model (overrides the Hub id).
        adapter_path: local folder of the PEFT adapter (Aegis).
        cache_dir: Hugging Face cache folder that holds the model(s).
        block_controversial: Qwen3Guard's ``Controversial`` blocks too (the reference lets it pass).
        device, dtype: forwarded to the default generator.

    Raises:
        GuardConfigError: unknown `kind`.
    """

    def __init__(
        self,
        kind: str,
        generator: TextGenerator | None = None,
        *,
        model_path: str | Path | None = None,
        adapter_path: str | Path | None = None,
        cache_dir: str | Path | None = None,
        block_controversial: bool = False,
        device: str = "cpu",
        dtype: str = "bfloat16",
    ) -> None:
        if kind not in LLM_GUARD_SPECS:
            raise GuardConfigError(f"unknown LLM guard {kind!r}; choose from {sorted(LLM_GUARD_SPECS)}")
        self.spec = LLM_GUARD_SPECS[kind]
        self.name = self.spec.name
        self.block_controversial = block_controversial
        if generator is None:
            adapter = str(adapter_path) if adapter_path is not None else self.spec.adapter_id
            generator = TransformersGenerator(
                str(model_path) if model_path is not None else self.spec.model_id,
                adapter_id=adapter,
                cache_dir=cache_dir,
                device=device,
                dtype=dtype,
            )
        self.generator = generator

    @property
    def model_id(self) -> str:
        """The model id recorded in verdicts (base model, plus adapter when there is one)."""
        adapter = getattr(self.generator, "adapter_id", None)
        return f"{self.generator.model_id}+{adapter}" if adapter else self.generator.model_id

    def verdict(self, text: str) -> LLMVerdict:
        """Build the prompt for `text`, generate, parse. Exceptions from the generator propagate."""
        built = self.spec.build(text)
        generated = self.generator.generate(built, max_new_tokens=self.spec.max_new_tokens)
        return self.spec.parse(generated)

    def check(self, text: str, *, input: str = "prompt") -> StageResult:
        """Moderate one text; ``"pass"``, ``"block"`` or (unparseable answer) ``"error"``.

        Raises:
            Whatever the generator raises (missing weights, out of memory); the `Guardrail` records it as
            ``"error"`` and fails closed.
        """
        t0 = time.perf_counter()
        verdict = self.verdict(text)
        blocks = verdict.label == "unsafe" or (verdict.label == "controversial" and self.block_controversial)
        if verdict.label == "unparseable":
            status, detail = "error", f"could not parse the model's answer: {verdict.raw[:200]!r}"
        elif blocks:
            names = ", ".join(verdict.names) or "no category given"
            status, detail = "block", f"{self.name} says {verdict.label}: {names}"
        else:
            status, detail = "pass", f"{self.name} says {verdict.label}"
        return StageResult(
            name=self.name,
            status=status,
            detail=detail,
            input=input,
            categories=verdict.names if status == "block" else (),
            seconds=time.perf_counter() - t0,
            model_id=self.model_id,
            revision=getattr(self.generator, "revision", None),
            extras={"label": verdict.label, "codes": list(verdict.codes), "raw": verdict.raw[:500]},
        )

    def to(self, device: str) -> LLMGuard:
        """Move the generator's model to `device` (when it supports it)."""
        if hasattr(self.generator, "to"):
            self.generator.to(device)
        return self
