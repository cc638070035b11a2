"""DiffusionWFM.sample(upsample_prompt=...): the upsampled prompt (from a stand-in OpenAI-compatible server on
127.0.0.1) is what the pre-guard checks and the text encoder encodes; a failing upsampler never stops a generation."""

import dataclasses

import pytest
import torch

from cosmos.core import GuardrailBlocked, PromptUpsampler, PromptUpsamplerWarning
from cosmos.core.testing import openai_standin_server
from cosmos.diffusion import DiT, DiTConfig
from cosmos.diffusion.wfm import DiffusionWFM

TINY = DiTConfig(
    latent_channels=4,
    out_channels=4,
    model_channels=32,
    num_blocks=1,
    num_heads=2,
    crossattn_channels=16,
    adaln_lora_dim=8,
)
SIZE = {"num_frames": 5, "height": 16, "width": 16, "num_steps": 1, "progress": False, "return_latent": True}
LONG = "A silver robot arm lifts a red cube from a wooden table and sets it on a blue cube in soft daylight."


class Guard:
    """Records every prompt it checks; blocks prompts containing ``"forbidden"``."""

    def __init__(self):
        self.prompts = []

    def check_text(self, prompt, negative_prompt=None):
        self.prompts.append(prompt)
        return dataclasses.make_dataclass("R", ["allowed", "reason"])("forbidden" not in prompt, "keyword")

    def check_video(self, frames):
        return dataclasses.make_dataclass("R", ["allowed", "reason", "frames"])(True, "ok", None)


class Encoder:
    """Records what it encodes; embeds a prompt by its length so different prompts condition differently."""

    def __init__(self):
        self.prompts = []

    def encode(self, prompts):
        self.prompts.extend(prompts)
        return torch.stack([torch.full((6, 16), len(p) / 100) for p in prompts])


def _wfm(standin_tokenizer, **changes):
    torch.manual_seed(0)
    net = DiT(dataclasses.replace(TINY, **changes))
    with torch.no_grad():
        for param in net.parameters():
            param.normal_(0, 0.1)
    return DiffusionWFM(standin_tokenizer(), net.eval(), text_encoder=Encoder())


def test_text2world_upsampled_prompt_reaches_the_guard_and_the_encoder(standin_tokenizer):
    wfm = _wfm(standin_tokenizer)
    guard = Guard()
    with openai_standin_server([f"Caption: {LONG}", "a forbidden long caption about cubes"]) as (
        base,
        requests,
    ):
        upsampler = PromptUpsampler.from_spec(base, timeout=5)
        upsampled = wfm.sample(
            "stack cubes", negative_prompt=None, guardrail=guard, upsample_prompt=upsampler, **SIZE
        )
        with pytest.raises(GuardrailBlocked, match="prompt 0 blocked"):  # the upsampled prompt is checked too
            wfm.sample(
                "stack cubes", negative_prompt=None, guardrail=guard, upsample_prompt=upsampler, **SIZE
            )
    assert guard.prompts == ["stack cubes", LONG, "stack cubes", "a forbidden long caption about cubes"]
    assert wfm.text_encoder.prompts == [LONG]  # encoded once, the upsampled prompt; the blocked one never
    assert (
        requests[1][1]["messages"][0]["content"]
        == "Upsample the short caption to a long caption: stack cubes"
    )
    plain = wfm.sample(LONG, negative_prompt=None, guardrail=None, **SIZE)
    torch.testing.assert_close(upsampled, plain)
    with pytest.raises(ValueError, match="text_embeddings"):
        wfm.sample(text_embeddings=torch.zeros(1, 6, 16), guardrail=None, upsample_prompt=upsampler, **SIZE)


def test_video2world_upsampler_sees_the_frame_and_failures_fall_back(standin_tokenizer):
    wfm = _wfm(standin_tokenizer, condition_mask=True)
    video = torch.zeros(1, 3, 1, 16, 16)
    with openai_standin_server([LONG, None]) as (base, requests):
        upsampler = PromptUpsampler.from_spec(f"{base}#pixtral", template="video2world", timeout=5)
        wfm.sample("ignored", video=video, guardrail=None, upsample_prompt=upsampler, **SIZE)
        with pytest.warns(PromptUpsamplerWarning, match="failed"):  # HTTP 500: the user's prompt is used
            wfm.sample("a cube", video=video, guardrail=None, upsample_prompt=upsampler, **SIZE)
    assert wfm.text_encoder.prompts[0] == LONG and wfm.text_encoder.prompts[-2] == "a cube"
    image_part = requests[0][1]["messages"][0]["content"][0]
    assert image_part["image_url"]["url"].startswith("data:image/png;base64,")
