"""PromptUpsampler offline: the official templates, cleaning, the fallback rule, a tiny random causal LM saved in a
local folder (transformers backend) and a stand-in OpenAI-compatible server on 127.0.0.1 (HTTP backend)."""

from __future__ import annotations

import base64
import io
import warnings

import pytest
import torch

from cosmos.core import CheckpointError, ConfigError, PromptUpsampler, PromptUpsamplerWarning, ShapeError
from cosmos.core.prompt_upsampler import (
    UPSAMPLER_TEMPLATES,
    clean_upsampled_text,
    looks_like_caption,
    upsampler_image,
)
from cosmos.core.testing import openai_standin_server, tiny_causal_lm, tiny_vision_lm

CAPTION = (
    "A robotic arm with a silver gripper picks up a red cube from a wooden table and places it on top of a "
    "blue cube, while soft daylight from a window falls across the workshop."
)


class Canned:
    """A TextGenerator stand-in: answers ``answer`` (or raises it) and records what it was asked."""

    model_id, revision = "canned", None

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def generate(self, built_prompt, *, max_new_tokens):
        self.calls.append((built_prompt, max_new_tokens))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


# --------------------------------------------------------------------------- templates and cleaning
def test_official_templates():
    t2w = UPSAMPLER_TEMPLATES["text2world"]
    assert t2w.messages("a dog") == [
        {"role": "user", "content": "Upsample the short caption to a long caption: a dog"}
    ]
    assert (t2w.max_new_tokens, t2w.word_limit) == (512, 250)
    v2w = UPSAMPLER_TEMPLATES["video2world"]
    image = object()
    (message,) = v2w.messages("ignored", image)
    assert message["content"][0] == {"type": "image", "image": image}  # "[IMG]\n" + instruction: image first
    assert message["content"][1]["text"] == (
        "Your task is to transform a given prompt into a refined and concise video description, no more than "
        "150 words.\nFocus only on the content, no filler words or descriptions on the style. Never mention "
        "things outside the video."
    )
    assert "ignored" not in message["content"][1]["text"]  # the official V2W upsampler ignores the prompt
    assert v2w.messages("a dog", image, include_prompt=True)[0]["content"][1]["text"].endswith(
        "Prompt: a dog"
    )
    assert v2w.max_new_tokens == 400
    with pytest.raises(ShapeError):
        v2w.messages("a dog")
    with pytest.raises(ConfigError):
        PromptUpsampler(Canned(""), template="image2world")


@pytest.mark.parametrize(
    "raw, cleaned",
    [
        ("Caption: A dog\nruns on the beach.", "A dog runs on the beach."),
        ("- **Scene:** A dog runs. - **Lighting:** warm", "A dog runs. warm"),
        ("A. - **" + " ".join(["word"] * 12) + "** end", "A. - **" + " ".join(["word"] * 12) + "** end"),
        ('"A quoted caption."', "A quoted caption."),
        ("#### A   spaced \r\n caption", "A spaced caption"),
        ("", ""),
    ],
)
def test_clean_upsampled_text(raw, cleaned):
    assert clean_upsampled_text(raw) == cleaned


@pytest.mark.parametrize(
    "text, ok",
    [
        (CAPTION, True),
        ("A dog runs.", True),
        ("", False),
        ("dog", False),
        ("#### ---- 12345 !!!! ???? %%%% a b", False),
        ("safe safe safe safe safe safe safe safe safe safe", False),
        ("<unk> <unk> <unk> <unk>", False),
        ("Upsample light the Upsample light the Upsample light the Upsample light the", False),  # a 3-cycle
        ("A dog runs, and the dog runs, and the dog runs fast.", True),
    ],
)
def test_looks_like_caption(text, ok):
    assert looks_like_caption(text) is ok


# --------------------------------------------------------------------------- the fallback rule
@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   \n ",
        "!!!! #### 1234",
        "the the the the the the the the the the",
        ConnectionError("server down"),
    ],
)
def test_bad_answers_fall_back_to_the_prompt_with_a_warning(answer):
    upsampler = PromptUpsampler(Canned(answer))
    with pytest.warns(PromptUpsamplerWarning, match="using the original prompt"):
        prompts = upsampler.upsample_batch(["a robot arm stacks cubes"])
    assert prompts == ["a robot arm stacks cubes"]
    assert upsampler.last_results[0].status == "fallback"


def test_good_answer_is_cleaned_and_used():
    generator = Canned(f"Caption: {CAPTION}\n- **Style:**")
    upsampler = PromptUpsampler(generator)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert upsampler(["stack cubes", "stack cubes"]) == [CAPTION, CAPTION]
    assert generator.calls[0] == (
        [{"role": "user", "content": "Upsample the short caption to a long caption: stack cubes"}],
        512,
    )
    assert [r.status for r in upsampler.last_results] == ["upsampled", "upsampled"]


def test_long_prompts_skip_the_upsampler():
    generator = Canned(CAPTION)
    long_prompt = " ".join(["word"] * 251)
    assert PromptUpsampler(generator).upsample_batch([long_prompt]) == [long_prompt]
    assert generator.calls == []
    assert PromptUpsampler(generator, word_limit=1000).upsample_batch([long_prompt]) == [CAPTION]


def test_video2world_reads_each_samples_last_frame():
    generator = Canned(CAPTION)
    upsampler = PromptUpsampler(generator, template="video2world")
    video = torch.full((2, 3, 3, 8, 12), -1.0)
    video[1, :, -1] = 1.0  # sample 1's last frame is white
    assert upsampler.upsample_batch(["x", "y"], video=video) == [CAPTION, CAPTION]
    images = [call[0][0]["content"][0]["image"] for call in generator.calls]
    assert [image.size for image in images] == [(12, 8), (12, 8)]
    assert images[0].getpixel((0, 0)) == (0, 0, 0) and images[1].getpixel((0, 0)) == (255, 255, 255)
    assert generator.calls[0][1] == 400
    with pytest.raises(ShapeError):
        upsampler.upsample_batch(["x"])  # no video
    with pytest.raises(ShapeError):
        upsampler.upsample_batch(["x", "y", "z"], video=video)  # 3 prompts, 2 videos
    with pytest.raises(ValueError, match="text_embeddings"):
        upsampler.upsample_batch(None, video=video)


def test_upsampler_image_caps_the_longest_side():
    image = upsampler_image(torch.zeros(3, 100, 3000))
    assert image.size == (1024, 35)  # ceil(100 / (3000 / 1024))
    with pytest.raises(ShapeError):
        upsampler_image(torch.zeros(1, 3, 8, 8))


# --------------------------------------------------------------------------- a tiny local causal LM
def test_tiny_random_causal_lm_from_a_local_folder(tmp_path):
    pytest.importorskip("transformers")
    tiny_causal_lm(tmp_path)
    upsampler = PromptUpsampler.from_pretrained(tmp_path, dtype="float32", max_new_tokens=12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PromptUpsamplerWarning)  # random output may or may not pass the rule
        (prompt,) = upsampler.upsample_batch(["a robot arm"])
    result = upsampler.last_results[0]
    assert isinstance(prompt, str) and prompt
    assert (result.status == "fallback") == (prompt == "a robot arm")


def test_tiny_causal_lm_stuck_in_a_loop_falls_back(tmp_path):
    pytest.importorskip("transformers")
    tiny_causal_lm(tmp_path, loop=True)
    upsampler = PromptUpsampler.from_pretrained(str(tmp_path), dtype="float32", max_new_tokens=16)
    raw = upsampler.generator.generate(upsampler.template.messages("a robot arm"), max_new_tokens=16)
    assert raw.split() == ["the"] * 16  # greedy, only the new tokens
    with pytest.warns(PromptUpsamplerWarning, match="not a caption"):
        assert upsampler.upsample_batch(["a robot arm"]) == ["a robot arm"]


def test_tiny_vision_lm_reads_the_last_frame(tmp_path):
    """The video2world route (processor + image-text-to-text model, as for Pixtral) on a tiny random LLaVA."""
    pytest.importorskip("transformers")
    tiny_vision_lm(tmp_path)
    upsampler = PromptUpsampler.from_pretrained(
        tmp_path, template="video2world", dtype="float32", max_new_tokens=8
    )
    video = torch.rand(1, 3, 2, 24, 40) * 2 - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PromptUpsamplerWarning)  # random output may or may not pass the rule
        (prompt,) = upsampler.upsample_batch(["a robot"], video=video)
    assert isinstance(prompt, str) and prompt
    assert (upsampler.last_results[0].status == "fallback") == (prompt == "a robot")
    raw = upsampler.generator.generate(
        upsampler.template.messages("a robot", upsampler_image(video[0, :, -1])), max_new_tokens=8
    )
    assert isinstance(raw, str) and "<image>" not in raw


def test_missing_model_folder_fails_when_built(tmp_path):
    pytest.importorskip("transformers")
    with pytest.raises(CheckpointError, match="cannot load the prompt upsampler"):
        PromptUpsampler.from_pretrained(tmp_path / "missing")


# --------------------------------------------------------------------------- a stand-in OpenAI-compatible server
def test_endpoint_backend_against_a_openai_standin_server():
    with openai_standin_server(
        [f"Caption: {CAPTION}", "", None, {"choices": []}, "@@@ ### 42"], model_id="cosmos-upsampler"
    ) as (base, requests):
        upsampler = PromptUpsampler.from_spec(base, timeout=5)  # no "#model": the server's first model
        assert upsampler.generator.model_id == "cosmos-upsampler"
        assert upsampler.upsample_batch(["stack cubes"]) == [CAPTION]
        for _ in range(4):  # empty answer, HTTP 500, no choices, garbage
            with pytest.warns(PromptUpsamplerWarning):
                assert upsampler.upsample_batch(["stack cubes"]) == ["stack cubes"]
    assert requests[0] == ("/v1/models", None)
    path, body = requests[1]
    assert path == "/v1/chat/completions"
    assert body["model"] == "cosmos-upsampler" and body["temperature"] == 0 and body["max_tokens"] == 512
    assert body["messages"] == [
        {"role": "user", "content": "Upsample the short caption to a long caption: stack cubes"}
    ]
    with pytest.warns(PromptUpsamplerWarning, match="failed"):  # the server is gone: still no crash
        assert upsampler.upsample_batch(["stack cubes"]) == ["stack cubes"]


def test_endpoint_sends_the_frame_as_a_data_url():
    from PIL import Image

    with openai_standin_server([CAPTION]) as (base, requests):
        upsampler = PromptUpsampler.from_spec(f"{base}#pixtral", template="video2world", timeout=5)
        video = torch.zeros(1, 3, 2, 4, 6)
        assert upsampler.upsample_batch(["ignored"], video=video) == [CAPTION]
    ((path, body),) = requests
    image_part, text_part = body["messages"][0]["content"]
    assert body["model"] == "pixtral" and body["max_tokens"] == 400 and text_part["type"] == "text"
    url = image_part["image_url"]["url"]
    assert image_part["type"] == "image_url" and url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.size == (6, 4) and image.getpixel((0, 0)) == (128, 128, 128)
