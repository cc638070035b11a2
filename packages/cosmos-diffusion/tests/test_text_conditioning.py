"""DiffusionWFM with a T5 text encoder (a tiny random T5 trained on the fly; no network)."""

import pytest
import torch

pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")

from cosmos.core.testing import tiny_t5_encoder  # noqa: E402


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return tiny_t5_encoder(tmp_path_factory.mktemp("spm"))


def test_wfm_uses_text_encoder_and_negative_prompt(encoder, standin_tokenizer):
    from cosmos.diffusion import DiT, DiTConfig
    from cosmos.diffusion.wfm import DiffusionWFM

    net = DiT(
        DiTConfig(
            latent_channels=4,
            out_channels=4,
            model_channels=32,
            num_blocks=1,
            num_heads=2,
            crossattn_channels=16,
            adaln_lora_dim=8,
        )
    )
    with torch.no_grad():
        for param in net.parameters():
            param.normal_(0, 0.1)
    wfm = DiffusionWFM(standin_tokenizer(), net.eval(), text_encoder=encoder)
    size = {"num_frames": 5, "height": 16, "width": 16, "num_steps": 2, "progress": False}
    out = wfm.sample(["a red cube", "a ball falls"], **size)
    assert out.shape == (2, 3, 5, 16, 16)
    from_embeddings = wfm.sample(
        text_embeddings=encoder.encode(["a red cube"]),
        negative_text_embeddings=encoder.encode([wfm_default_negative()]),
        **size,
    )
    torch.testing.assert_close(out[:1], from_embeddings, rtol=0, atol=1e-4)


def wfm_default_negative():
    from cosmos.diffusion.wfm import DEFAULT_NEGATIVE_PROMPT

    return DEFAULT_NEGATIVE_PROMPT
