"""T5TextEncoder over a tiny random T5 and a SentencePiece model trained on the fly (no network)."""

import pytest
import torch

transformers = pytest.importorskip("transformers")
sentencepiece = pytest.importorskip("sentencepiece")

SENTENCES = [
    "a robot arm picks up a red cube from the table",
    "the camera moves forward along a sunny street",
    "a ball falls onto the wooden floor and bounces",
    "two cars drive past a parked truck at night",
] * 10


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    from cosmos.diffusion.text import T5TextEncoder

    folder = tmp_path_factory.mktemp("spm")
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(SENTENCES),
        model_prefix=str(folder / "spm"),
        vocab_size=64,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        minloglevel=2,
        hard_vocab_limit=False,
    )
    tokenizer = transformers.T5TokenizerFast(vocab_file=str(folder / "spm.model"), extra_ids=0)
    config = transformers.T5Config(
        vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2
    )
    torch.manual_seed(0)
    model = transformers.T5EncoderModel(config).eval()
    return T5TextEncoder(model, tokenizer, max_length=24)


def test_embeddings_are_zero_padded(encoder):
    prompts = ["a red cube", "the camera moves forward along a sunny street at night"]
    out = encoder.encode(prompts)
    assert out.shape == (2, 24, 16) and out.dtype == torch.float32
    lengths = encoder.tokenizer(prompts, max_length=24, truncation=True)["input_ids"]
    for b, ids in enumerate(lengths):
        assert ids[-1] == encoder.tokenizer.eos_token_id  # EOS appended
        assert torch.all(out[b, len(ids) :] == 0)
        assert torch.all(out[b, : len(ids)].abs().sum(-1) > 0)


def test_batch_equals_single_and_truncation(encoder):
    prompts = ["a ball falls", "two cars drive past a parked truck"]
    both = encoder.encode(prompts)
    torch.testing.assert_close(both[1:], encoder.encode(prompts[1:]), rtol=1e-5, atol=1e-6)
    long = encoder.encode([" ".join(SENTENCES[:4])])
    assert long.shape == (1, 24, 16) and torch.all(long.abs().sum(-1) > 0)
    with pytest.raises(ValueError, match="non-empty"):
        encoder.encode([])


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
