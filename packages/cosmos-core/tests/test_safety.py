import sys
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch

from cosmos.core import GuardrailBlocked, guard_text, guard_video, resolve_guardrail


@dataclass
class Report:
    allowed: bool
    reason: str = ""
    frames: np.ndarray | None = None


@dataclass
class ToyGuard:
    """Blocks prompts containing 'forbidden'; blacks out the top-left 2x2 pixels; blocks all-white videos."""

    seen: list = field(default_factory=list)

    def check_text(self, prompt, negative_prompt=None):
        self.seen.append((prompt, negative_prompt))
        return Report(allowed="forbidden" not in prompt, reason="keyword 'forbidden'")

    def check_video(self, frames):
        if (frames == 255).all():
            return Report(allowed=False, reason="all white")
        edited = frames.copy()
        edited[:, :2, :2] = 0
        return Report(allowed=True, frames=edited)


def test_pre_guard_checks_every_prompt_with_the_negative_prompt():
    guard = ToyGuard()
    guard_text(guard, ["a robot arm picks a cube", "a car turns left"], "blurry")
    assert guard.seen == [("a robot arm picks a cube", "blurry"), ("a car turns left", "blurry")]
    with pytest.raises(GuardrailBlocked, match="prompt 1 blocked by the guardrail: keyword") as info:
        guard_text(guard, ["fine", "something forbidden"])
    assert info.value.report.allowed is False


def test_post_guard_edits_only_the_pixels_the_guard_changed():
    video = torch.rand(2, 3, 3, 8, 8) * 1.6 - 0.8
    out = guard_video(ToyGuard(), video)
    assert torch.equal(out[..., :2, :2], torch.full_like(out[..., :2, :2], -1.0))
    untouched = torch.ones(8, 8, dtype=torch.bool)
    untouched[:2, :2] = False
    assert torch.equal(out[..., untouched], video[..., untouched])  # no uint8 rounding elsewhere
    assert video.max() <= 0.8  # the caller's tensor is not modified
    with pytest.raises(GuardrailBlocked, match="generated video 0 blocked.*all white"):
        guard_video(ToyGuard(), torch.ones(1, 3, 2, 4, 4))


def test_resolve_guardrail_fails_closed_for_nvidia_checkpoints_without_cosmos_guard(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "cosmos.guard", None)  # import cosmos.guard -> ImportError
    with pytest.raises(GuardrailBlocked, match="pip install cosmos-guard"):
        resolve_guardrail("auto", nvidia_checkpoint=True)
    assert resolve_guardrail("auto", nvidia_checkpoint=False) is None
    assert "without the guardrail" in caplog.text
    assert resolve_guardrail(None, nvidia_checkpoint=True) is None
    assert "disabled by the caller" in caplog.text
    guard = ToyGuard()
    assert resolve_guardrail(guard) is guard
    with pytest.raises(TypeError, match="check_text"):
        resolve_guardrail(object())
    assert guard_video(None, torch.zeros(1, 3, 1, 2, 2)).shape == (1, 3, 1, 2, 2)
