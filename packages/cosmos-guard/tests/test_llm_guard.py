"""LLM moderation: prompt builders and output parsers on canned outputs (spec §3), incl. the reference's bugs."""

import pytest
import torch

from cosmos.guard import (
    GuardConfigError,
    LLMGuard,
    build_aegis_prompt,
    build_llama_guard3_messages,
    build_qwen3guard_messages,
    parse_aegis_output,
    parse_llama_guard3_output,
    parse_qwen3guard_output,
)
from cosmos.guard.llm_guard import AEGIS_POLICY_CODES


# Aegis ------------------------------------------------------------------------------------------------
def test_aegis_prompt_layout():
    text = build_aegis_prompt("a robot stacks cubes")
    assert text.startswith("[INST]") and text.endswith("[/INST]")
    assert "User: a robot stacks cubes" in text
    body = text.split("<BEGIN UNSAFE CONTENT CATEGORIES>")[1].split("<END UNSAFE CONTENT CATEGORIES>")[0]
    assert "O9:" not in body  # PII is not in the Cosmos policy
    for code in AEGIS_POLICY_CODES:
        assert f"{code}:" in body
    assert len(AEGIS_POLICY_CODES) == 11
    assert text.index("<BEGIN CONVERSATION>") > text.index("<END UNSAFE CONTENT CATEGORIES>")
    with pytest.raises(GuardConfigError):
        build_aegis_prompt("x", codes=("O99",))


@pytest.mark.parametrize(
    ("output", "label", "names"),
    [
        ("safe", "safe", ()),
        (" Safe\n", "safe", ()),
        ("unsafe\nO1", "unsafe", ("Violence",)),
        # reference: index 10-1 into an 11-entry list that skips O9 -> "Threat"; correct is Harassment
        ("unsafe\nO10", "unsafe", ("Harassment",)),
        ("unsafe\nO11", "unsafe", ("Threat",)),
        # reference: O12 -> index 11 out of range -> generic message; correct is Profanity
        ("unsafe\nO12", "unsafe", ("Profanity",)),
        # reference: "O1,O3" fails int() -> generic message
        ("unsafe\nO1,O3", "unsafe", ("Violence", "Criminal Planning/Confessions")),
        ("unsafe\no4, o5", "unsafe", ("Guns and Illegal Weapons", "Controlled/Regulated Substances")),
        ("unsafe", "unsafe", ()),
        ("unsafe\nO42", "unsafe", ("unknown category O42",)),
        ("I cannot help with that.", "unparseable", ()),
        ("", "unparseable", ()),
    ],
)
def test_parse_aegis(output, label, names):
    verdict = parse_aegis_output(output)
    assert verdict.label == label
    assert verdict.names == names


# Llama Guard 3 ----------------------------------------------------------------------------------------
def test_llama_guard3_messages():
    conversation, categories = build_llama_guard3_messages("drive to the depot")
    assert conversation == [{"role": "user", "content": "drive to the depot"}]
    assert list(categories) == [f"S{i}" for i in range(1, 15)]
    assert categories["S14"] == "Code Interpreter Abuse"


@pytest.mark.parametrize(
    ("output", "label", "codes", "names"),
    [
        ("\n\nsafe<|eot_id|>", "safe", (), ()),
        ("unsafe\nS1<|eot_id|>", "unsafe", ("S1",), ("Violent Crimes",)),
        # reference keys S14 as "s14": an S14 verdict came back "unrecognised"
        ("unsafe\nS14<|eot_id|>", "unsafe", ("S14",), ("Code Interpreter Abuse",)),
        ("unsafe\ns14", "unsafe", ("S14",), ("Code Interpreter Abuse",)),
        ("unsafe\nS1,S10", "unsafe", ("S1", "S10"), ("Violent Crimes", "Hate")),
        ("unsafe\nS10, S11<|eot_id|>", "unsafe", ("S10", "S11"), ("Hate", "Self-Harm")),
        ("maybe", "unparseable", (), ()),
    ],
)
def test_parse_llama_guard3(output, label, codes, names):
    verdict = parse_llama_guard3_output(output)
    assert (verdict.label, verdict.codes, verdict.names) == (label, codes, names)


# Qwen3Guard -------------------------------------------------------------------------------------------
def test_qwen3guard_messages():
    assert build_qwen3guard_messages("hi") == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("output", "label", "names"),
    [
        ("Safety: Safe\nCategories: None", "safe", ()),
        # reference looked these names up in Llama Guard 3's table, so they came back empty
        ("Safety: Unsafe\nCategories: Violent", "unsafe", ("Violent",)),
        (
            "Safety: Unsafe\nCategories: Violent, Suicide & Self-Harm",
            "unsafe",
            ("Violent", "Suicide & Self-Harm"),
        ),
        ("Safety: unsafe\nCategories: jailbreak", "unsafe", ("Jailbreak",)),
        (
            "Safety: Controversial\nCategories: Politically Sensitive Topics",
            "controversial",
            ("Politically Sensitive Topics",),
        ),
        # reference: no "Safety:" line -> exception swallowed -> safe. Ours: unparseable (fails closed)
        ("I am not sure.", "unparseable", ()),
    ],
)
def test_parse_qwen3guard(output, label, names):
    verdict = parse_qwen3guard_output(output)
    assert verdict.label == label and verdict.names == names


# the stage with a canned generator -------------------------------------------------------------------
class Canned:
    model_id = "canned/model"
    revision = "abc123"

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def generate(self, built_prompt, *, max_new_tokens):
        self.calls.append((built_prompt, max_new_tokens))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_llm_guard_stage_decisions():
    gen = Canned("unsafe\nO10")
    result = LLMGuard("aegis", gen).check("you are worthless", input="negative_prompt")
    assert result.status == "block" and result.categories == ("Harassment",)
    assert result.input == "negative_prompt" and result.revision == "abc123"
    assert gen.calls[0][1] == 100 and "User: you are worthless" in gen.calls[0][0]
    assert LLMGuard("aegis", Canned("safe")).check("a cube").status == "pass"
    assert LLMGuard("aegis", Canned("hmm")).check("a cube").status == "error"
    # Qwen3Guard: Controversial passes like the reference unless asked otherwise
    assert LLMGuard("qwen3guard", Canned("Safety: Controversial")).check("x").status == "pass"
    strict = LLMGuard("qwen3guard", Canned("Safety: Controversial"), block_controversial=True)
    assert strict.check("x").status == "block"
    qwen = Canned("Safety: Safe")
    LLMGuard("qwen3guard", qwen).check("x")
    assert qwen.calls[0][1] == 128
    lg3 = Canned("safe")
    LLMGuard("llama_guard_3", lg3).check("x")
    assert isinstance(lg3.calls[0][0], tuple)  # (conversation, categories) for the chat template


def test_llm_guard_exceptions_propagate():
    with pytest.raises(OSError):
        LLMGuard("aegis", Canned(OSError("weights not found"))).check("x")
    with pytest.raises(GuardConfigError):
        LLMGuard("gpt-guard", Canned("safe"))


def test_default_generator_fails_without_weights(tmp_path):
    pytest.importorskip("transformers")
    guard = LLMGuard("qwen3guard", model_path=tmp_path / "missing")
    with pytest.raises((OSError, ValueError)):
        guard.check("a robot")


@pytest.mark.parametrize("answer_first", ["safe", "unsafe"])
def test_transformers_generator_greedy_on_a_tiny_local_model(tmp_path, answer_first):
    """The HF backend end to end, offline: a tiny random Llama whose logits are all equal, so greedy decoding
    always picks token id 0 (``answer_first``), and a word-level tokenizer built here."""
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from cosmos.guard import TransformersGenerator

    words = [
        answer_first,
        "safe" if answer_first == "unsafe" else "unsafe",
        "<unk>",
        "<pad>",
        "</s>",
        "O1",
        "[INST]",
        "[/INST]",
        "User:",
        "a",
        "robot",
    ]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="</s>"
    )
    tokenizer.chat_template = "{% for m in messages %}User: {{ m['content'] }} {% endfor %}"
    tokenizer.save_pretrained(tmp_path)
    config = LlamaConfig(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=3,
        eos_token_id=4,
        bos_token_id=4,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        model.model.norm.weight.zero_()  # hidden state 0 -> all logits 0 -> argmax is token 0
    model.save_pretrained(tmp_path)

    generator = TransformersGenerator(str(tmp_path), dtype="float32")
    text = generator.generate("[INST] User: a robot [/INST]", max_new_tokens=5)
    assert text.split() == [answer_first] * 5  # only new tokens, greedy
    result = LLMGuard("aegis", generator).check("a robot")
    assert result.status == ("pass" if answer_first == "safe" else "block")
    chat = LLMGuard("qwen3guard", TransformersGenerator(str(tmp_path), dtype="float32")).check("a robot")
    assert chat.status == "error"  # no "Safety:" line in the answer -> fail closed


def test_openai_compatible_generator_against_a_local_server():
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from cosmos.guard import OpenAICompatibleGenerator

    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, body, self.headers.get("Authorization")))
            if self.path.endswith("/chat/completions"):
                answer = {"choices": [{"message": {"content": "Safety: Unsafe\nCategories: Violent"}}]}
            else:
                answer = {"choices": [{"text": "unsafe\nO4"}]}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/v1"
        qwen = LLMGuard("qwen3guard", OpenAICompatibleGenerator(base, "qwen3guard", api_key="k"))
        result = qwen.check("x")
        assert result.status == "block" and result.categories == ("Violent",)
        aegis = LLMGuard("aegis", OpenAICompatibleGenerator(base, "aegis", api_key="k")).check("y")
        assert aegis.categories == ("Guns and Illegal Weapons",)
        assert seen[0][0] == "/v1/chat/completions" and seen[0][1]["temperature"] == 0
        assert seen[0][1]["messages"] == [{"role": "user", "content": "x"}] and seen[0][2] == "Bearer k"
        assert seen[1][0] == "/v1/completions" and seen[1][1]["max_tokens"] == 100
    finally:
        server.shutdown()
    with pytest.raises(OSError):  # server gone: the stage raises, the Guardrail fails closed
        OpenAICompatibleGenerator(base, "m", timeout=2).generate("z", max_new_tokens=1)
