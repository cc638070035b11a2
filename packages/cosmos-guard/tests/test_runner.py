"""Guardrail: ordering, short-circuit, fail-closed policy and opt-out, reports, adapters (spec §1, §7)."""

import json
import logging

import numpy as np
import pytest
import torch

from cosmos.core import ShapeError
from cosmos.guard import (
    CosmosGuardSafetyChecker,
    Deferred,
    GuardConfigError,
    Guardrail,
    GuardReport,
    StageResult,
    default_guardrail,
    find_guardrail_dir,
    run_text_guardrail,
    run_video_guardrail,
)


class FakeText:
    def __init__(self, name, verdict="pass", error=None):
        self.name, self.verdict, self.error, self.seen = name, verdict, error, []

    def check(self, text, *, input="prompt"):
        self.seen.append((input, text))
        if self.error is not None:
            raise self.error
        return StageResult(
            self.name,
            self.verdict,
            f"{self.name} says {self.verdict}",
            input=input,
            categories=("violence",) if self.verdict == "block" else (),
            model_id="fake",
            revision="1",
        )


class FakeVideo:
    def __init__(self, name, verdict="pass", error=None):
        self.name, self.verdict, self.error = name, verdict, error

    def check(self, frames, *, input="video"):
        if self.error is not None:
            raise self.error
        return StageResult(self.name, self.verdict, "frames", input=input)


class Invert:
    name = "invert"

    def process(self, frames, *, input="video"):
        return 255 - frames, StageResult(self.name, "pass", "inverted", input=input)


class Broken:
    name = "face_blur"

    def process(self, frames, *, input="video"):
        raise RuntimeError("detector crashed")


FRAMES = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 3), dtype=np.uint8)


def test_stages_run_in_order_and_stop_at_first_block():
    a, b, c = FakeText("a"), FakeText("b", "block"), FakeText("c")
    report = Guardrail([a, b, c]).check_text("prompt", negative_prompt="neg")
    assert not report.allowed and report.blocked_by == "b" and report.categories == ("violence",)
    assert [(s.name, s.input, s.status) for s in report.stages] == [
        ("a", "prompt", "pass"),
        ("b", "prompt", "block"),
        ("c", "prompt", "not_evaluated"),
        ("a", "negative_prompt", "not_evaluated"),
        ("b", "negative_prompt", "not_evaluated"),
        ("c", "negative_prompt", "not_evaluated"),
    ]
    assert c.seen == [] and "b on prompt" in report.reason


def test_negative_prompt_is_checked():
    stage = FakeText("a")
    report = Guardrail([stage]).check_text("p", negative_prompt="n")
    assert report.allowed and stage.seen == [("prompt", "p"), ("negative_prompt", "n")]
    stage2 = FakeText("a")
    Guardrail([stage2], check_negative_prompt=False).check_text("p", negative_prompt="n")
    assert stage2.seen == [("prompt", "p")]


def test_exception_fails_closed_by_default():
    report = Guardrail([FakeText("llm", error=OSError("weights not found"))]).check_text("hello")
    assert not report.allowed and report.blocked_by == "llm"
    assert report.stages[0].status == "error" and "OSError: weights not found" in report.stages[0].detail
    assert report.reason.startswith("fail-closed")


def test_explicit_opt_out_is_logged_and_recorded(caplog):
    with caplog.at_level(logging.WARNING, logger="cosmos.guard.runner"):
        guard = Guardrail([FakeText("llm", error=OSError("missing")), FakeText("b")], allow_unavailable=True)
        report = guard.check_text("hello")
    assert report.allowed and report.opted_out == ("llm",)
    assert [s.status for s in report.stages] == ["error", "pass"]
    assert any("opted out" in r.message for r in caplog.records)
    # opt-out never overrides a real block
    blocked = Guardrail([FakeText("b", "block")], allow_unavailable=True).check_text("x")
    assert not blocked.allowed


def test_unparseable_llm_answer_fails_closed():
    from cosmos.guard import LLMGuard

    class Canned:
        model_id, revision = "canned", None

        def generate(self, built, *, max_new_tokens):
            return "I would rather not say"

    report = Guardrail([LLMGuard("qwen3guard", Canned())]).check_text("hi")
    assert not report.allowed and report.stages[0].status == "error"


def test_nvidia_preset_without_weights_fails_closed(tmp_path):
    guard = Guardrail.from_preset("cosmos-predict1", checkpoint_dir=tmp_path)
    text = guard.check_text("a robot arm stacks cubes")
    assert not text.allowed and text.blocked_by == "blocklist" and text.stages[0].status == "error"
    assert "no guardrail checkpoint folder" in text.stages[0].detail
    video = guard.check_video(FRAMES)
    assert not video.allowed and video.frames is None
    assert [s.status for s in video.stages] == ["error", "not_evaluated"]


def test_nvidia_preset_partial_weights(tmp_path):
    root = tmp_path / "Cosmos-1.0-Diffusion-7B-Text2World" / "guardrail"
    (root / "blocklist" / "custom").mkdir(parents=True)
    (root / "blocklist" / "custom" / "words").write_text("grenade\n")
    assert find_guardrail_dir(tmp_path) == root
    guard = Guardrail.from_preset("cosmos-1.0", checkpoint_dir=tmp_path)
    blocked = guard.check_text("a gr3nade")
    assert blocked.blocked_by == "blocklist" and blocked.stages[0].status == "block"
    assert blocked.stages[1].status == "not_evaluated"
    # the blocklist passes, then Aegis cannot be loaded: blocked (fail closed) ...
    report = guard.check_text("a robot arm stacks cubes")
    assert [s.status for s in report.stages] == ["pass", "error"] and report.blocked_by == "aegis"
    # ... unless explicitly opted out of
    lenient = Guardrail.from_preset("cosmos-1.0", checkpoint_dir=tmp_path, allow_unavailable=True)
    report = lenient.check_text("a robot arm stacks cubes")
    assert report.allowed and report.opted_out == ("aegis",)
    video = lenient.check_video(FRAMES)
    assert video.allowed and set(video.opted_out) == {"video_content_safety", "face_blur"}
    np.testing.assert_array_equal(video.frames, FRAMES)


def test_unknown_preset():
    with pytest.raises(GuardConfigError, match="unknown guardrail preset"):
        Guardrail.from_preset("cosmos-9")


def test_video_block_skips_postprocessing_and_returns_no_frames():
    report = Guardrail([], [FakeVideo("classifier", "block")], [Invert()]).check_video(FRAMES)
    assert not report.allowed and report.frames is None
    assert [s.status for s in report.stages] == ["block", "not_evaluated"]


def test_video_postprocessing_copy_and_failure():
    frames = FRAMES.copy()
    report = Guardrail([], [FakeVideo("classifier")], [Invert()]).check_video(frames)
    assert report.allowed
    np.testing.assert_array_equal(report.frames, 255 - FRAMES)
    np.testing.assert_array_equal(frames, FRAMES)
    failed = Guardrail([], [], [Broken()]).check_video(frames)
    assert not failed.allowed and failed.blocked_by == "face_blur" and failed.frames is None


def test_video_input_forms():
    guard = Guardrail([], [], [Invert()])
    video = torch.from_numpy(FRAMES).permute(3, 0, 1, 2).float() / 127.5 - 1  # [3, T, H, W] in [-1, 1]
    report = guard.check_video(video[None])
    assert report.frames.shape == FRAMES.shape and report.frames.dtype == np.uint8
    with pytest.raises(ShapeError):
        guard.check_video(np.zeros((3, 8, 8), np.uint8))
    with pytest.raises(ShapeError):
        guard.check_video(video[None].repeat(2, 1, 1, 1, 1))


def test_report_json_round_trip():
    report = Guardrail([FakeText("a"), FakeText("b", "block")]).check_text("x", negative_prompt="y")
    text = report.to_json()
    data = json.loads(text)
    assert data["allowed"] is False and data["blocked_by"] == "b"
    assert data["stages"][1]["status"] == "block" and data["stages"][1]["model_id"] == "fake"
    again = GuardReport.from_dict(data)
    assert again == report
    assert "BLOCKED by b" in report.summary()
    with pytest.raises(ValueError):
        StageResult("x", "maybe")


def test_video_report_json_has_faces_not_frames():
    data = pytest.importorskip("skimage.data")
    frames = np.stack([data.astronaut()[::2, ::2]] * 2)  # 256 x 256, face about 48 px
    report = Guardrail.from_preset("offline").check_video(frames)
    payload = json.loads(report.to_json())
    assert "frames" not in payload and report.frames.shape == frames.shape
    assert payload["stages"][0]["extras"]["faces"][0], payload


def test_deferred_builds_once_and_reports_factory_errors():
    calls = []

    def factory():
        calls.append(1)
        return FakeText("late")

    stage = Deferred("late", factory)
    guard = Guardrail([stage])
    assert guard.check_text("a").allowed and guard.check_text("b").allowed and calls == [1]
    failing = Guardrail([Deferred("llm", lambda: (_ for _ in ()).throw(ImportError("no transformers")))])
    report = failing.check_text("a")
    assert report.stages[0].status == "error" and "ImportError" in report.stages[0].detail


def test_default_guardrail_hook(tmp_path):
    nano = default_guardrail(for_nvidia_checkpoint=False)
    assert nano.preset == "offline" and nano.check_text("a robot arm stacks cubes").allowed
    nvidia = default_guardrail(for_nvidia_checkpoint=True, checkpoint_dir=tmp_path)
    assert nvidia.preset == "cosmos-predict1" and not nvidia.check_text("a robot arm stacks cubes").allowed


def test_reference_style_wrappers():
    guard = Guardrail([FakeText("a")], [], [Invert()])
    assert run_text_guardrail("x", guard) is True
    assert run_video_guardrail(FRAMES, guard).shape == FRAMES.shape
    assert run_text_guardrail("x", Guardrail([FakeText("a", "block")])) is False
    assert run_video_guardrail(FRAMES, Guardrail([], [FakeVideo("v", "block")])) is None


def test_diffusers_adapter():
    checker = CosmosGuardSafetyChecker(Guardrail([FakeText("a")], [], [Invert()]))
    assert isinstance(checker, torch.nn.Module)
    assert checker.to("cpu") is checker and checker.device.type == "cpu"
    assert checker.check_text_safety("a robot") is True
    np.testing.assert_array_equal(checker.check_video_safety(FRAMES), 255 - FRAMES)
    blocked = CosmosGuardSafetyChecker(Guardrail([FakeText("a", "block")], [FakeVideo("v", "block")]))
    assert blocked.check_text_safety("x") is False and blocked.last_report.blocked_by == "a"
    assert blocked.check_video_safety(FRAMES) is None
    offline = CosmosGuardSafetyChecker("offline")
    assert offline.check_text_safety("a car drives on a highway") and not offline.check_text_safety("a b0mb")
