"""ARWFM.generate(upsample_prompt=...): the upsampled prompt (stand-in OpenAI-compatible server on 127.0.0.1) is
checked by the pre-guard and encoded; the video2world template sees the input's last frame; failures fall back."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from cosmos.ar import ARWFM
from cosmos.core import GuardrailBlocked, PromptUpsampler, PromptUpsamplerWarning
from cosmos.core.testing import openai_standin_server

LONG = "A red ball rolls off a wooden table, falls to the tiled floor and bounces twice near a chair."


class Guard:
    def __init__(self):
        self.prompts = []

    def check_text(self, prompt, negative_prompt=None):
        self.prompts.append(prompt)
        return dataclasses.make_dataclass("R", ["allowed", "reason"])("forbidden" not in prompt, "keyword")

    def check_video(self, frames):
        return dataclasses.make_dataclass("R", ["allowed", "reason", "frames"])(True, "ok", None)


def test_ar_upsampled_prompt_is_guarded_and_encoded(tiny_model, stand_in_tokenizer):
    lm = tiny_model(seed=21, vocab_size=64, video_latent_shape=(3, 4, 6), training_type="text_to_video",
                    apply_abs_pos_emb=True, insert_cross_attn=True)  # fmt: skip
    wfm = ARWFM(stand_in_tokenizer, lm)
    encoded = []
    wfm.text_encoder = lambda prompts: encoded.extend(prompts) or torch.ones(len(prompts), 3, 16)
    guard = Guard()
    video = torch.zeros(1, 3, 1, 32, 48)
    common = {"num_input_frames": 1, "progress": False, "guardrail": guard}
    with openai_standin_server([LONG, "a forbidden caption of a ball", None]) as (base, requests):
        upsampler = PromptUpsampler.from_spec(f"{base}#m", template="video2world", timeout=5)
        wfm.generate(video, prompt="a ball falls", upsample_prompt=upsampler, **common)
        with pytest.raises(GuardrailBlocked):
            wfm.generate(video, prompt="a ball falls", upsample_prompt=upsampler, **common)
        with pytest.warns(PromptUpsamplerWarning):  # HTTP 500: the user's prompt is used
            wfm.generate(video, prompt="a ball falls", upsample_prompt=upsampler, **common)
    assert (
        guard.prompts
        == ["a ball falls", LONG, "a ball falls", "a forbidden caption of a ball"] + ["a ball falls"] * 2
    )
    assert encoded == [LONG, "a ball falls"]
    assert requests[0][1]["messages"][0]["content"][0]["type"] == "image_url"  # the last input frame
    with pytest.raises(ValueError, match="upsample_prompt needs prompt"):
        wfm.generate(video, text_embeddings=torch.ones(1, 3, 16), upsample_prompt=upsampler, **common)
