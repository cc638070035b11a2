"""cosmos-ar decoding benchmark: ours vs transformers' LlamaForCausalLM.generate, and Medusa vs plain decoding.

1. **Ours vs transformers.** The same small Llama-shaped network (dim, layers, heads, GQA, SwiGLU, vocab) as a
   ``cosmos.ar.Transformer`` (with its Cosmos extras: QK-norm, 3D RoPE) and as a ``LlamaForCausalLM`` (random
   weights), greedy decoding of the same number of tokens from the same prompt, batch 1, on this machine's CPU.
2. **Medusa vs plain.** A tiny AR model is trained for a few hundred steps on synthetic token "videos" (each
   sequence is an arithmetic progression mod the vocab with a per-sequence stride), then its Medusa heads are
   trained by self-distillation (base frozen). Greedy decoding with and without the heads must give identical
   tokens; we report the mean accepted length (tokens per forward pass) and tokens/s.

Prints a table and writes ``benchmarks/results/ar.json``. ``--quick`` shrinks everything (CI smoke run).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from cosmos.ar import Transformer, TransformerConfig, add_medusa_heads, generate, medusa_generate
from cosmos.ar.medusa import medusa_distillation_loss
from cosmos.ar.train import next_token_loss

RESULTS = Path(__file__).resolve().parent / "results" / "ar.json"


def _timed(fn, repeats: int) -> tuple[float, object]:
    fn()  # warm-up
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _interleaved(runs: dict, repeats: int) -> dict[str, float]:
    """Best wall time of each function, alternating them so a shared, loaded machine penalizes all alike."""
    for fn in runs.values():
        fn()  # warm-up (and compilation)
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def bench_vs_transformers(args, dim: int, layers: int, vocab: int) -> dict:
    config = TransformerConfig(
        dim=dim, n_layers=layers, n_heads=8, n_kv_heads=2, ffn_hidden_size=dim * 8 // 3 // 16 * 16,
        vocab_size=vocab, video_latent_shape=(8, 8, 8), pad_to_multiple_of=64,
    )  # fmt: skip
    torch.manual_seed(0)
    ours = Transformer(config).eval()
    prompt = torch.randint(0, config.vocab_size, (1, args.prompt_len))
    new = args.new_tokens
    runs = {"ours": lambda: generate(ours, prompt, new, temperature=0.0, progress=False)[0]}
    row = {
        "config": {"dim": dim, "layers": layers, "vocab": vocab, "prompt": args.prompt_len, "new_tokens": new}
    }
    if args.compile:  # torch.compile(decode_one_token, fullgraph=True); the warm-up run pays the compilation
        runs["ours_compiled"] = lambda: generate(
            ours, prompt, new, temperature=0.0, progress=False, compile=True
        )[0]
        start = time.perf_counter()
        runs["ours_compiled"]()
        row["compile_seconds"] = time.perf_counter() - start
    try:
        import transformers
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError:
        transformers = None
        row["transformers"] = "not installed (pip install cosmos-ar[peer])"
    if transformers is not None:
        llama = LlamaForCausalLM(
            LlamaConfig(
                vocab_size=config.vocab_size,
                hidden_size=config.dim,
                intermediate_size=config.ffn_hidden_size,
                num_hidden_layers=config.n_layers,
                num_attention_heads=config.n_heads,
                num_key_value_heads=config.n_kv_heads,
                max_position_embeddings=config.resolved_max_seq_len,
                rope_theta=500000.0,
                rms_norm_eps=1e-5,
                tie_word_embeddings=False,
            )  # fmt: skip
        ).eval()

        def run_llama():
            with torch.inference_mode():
                return llama.generate(
                    prompt, max_new_tokens=new, min_new_tokens=new, do_sample=False, use_cache=True,
                    pad_token_id=0, eos_token_id=None,
                )  # fmt: skip

        runs["transformers"] = run_llama
        row["transformers_version"] = transformers.__version__
    best = _interleaved(runs, args.repeats)
    for name, seconds in best.items():
        row[f"{name}_tokens_per_s"] = new / seconds
    if "transformers" in best:
        row["speedup"] = best["transformers"] / best["ours"]
        if "ours_compiled" in best:
            row["speedup_compiled"] = best["transformers"] / best["ours_compiled"]
    return row


def _synthetic_tokens(count: int, length: int, vocab: int, generator: torch.Generator) -> torch.Tensor:
    start = torch.randint(0, vocab, (count, 1), generator=generator)
    stride = torch.randint(1, 8, (count, 1), generator=generator)
    return (start + stride * torch.arange(length)) % vocab


def bench_medusa(args) -> dict:
    config = TransformerConfig(
        dim=args.medusa_dim, n_layers=2, n_heads=4, n_kv_heads=2, ffn_hidden_size=args.medusa_dim * 2,
        vocab_size=256, video_latent_shape=(4, 4, 8), pad_to_multiple_of=64,
    )  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = Transformer(config)
    data = _synthetic_tokens(512, config.seq_len, config.vocab_size, generator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    start = time.perf_counter()
    for _ in range(args.train_steps):
        batch = data[torch.randint(0, len(data), (16,), generator=generator)]
        loss, cross_entropy = next_token_loss(model, batch, num_condition_latents=0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    lm_seconds = time.perf_counter() - start
    add_medusa_heads(model, args.heads, shared_output=False)  # own projections: cheap for a 256-token vocab
    for param in model.parameters():
        param.requires_grad_(False)
    heads = list(model.medusa_heads.parameters())
    for param in heads:
        param.requires_grad_(True)
    optimizer = torch.optim.AdamW(heads, lr=3e-3)
    for _ in range(args.head_steps):
        batch = data[torch.randint(0, len(data), (16,), generator=generator)]
        head_loss, agreement = medusa_distillation_loss(model, batch)
        optimizer.zero_grad()
        head_loss.backward()
        optimizer.step()
    model.eval()
    prompts = _synthetic_tokens(
        4, config.tokens_per_frame, config.vocab_size, torch.Generator().manual_seed(1)
    )
    new = config.seq_len - config.tokens_per_frame
    rows = []
    for prompt in prompts:
        prompt = prompt[None]
        plain_s, (plain, _) = _timed(
            lambda prompt=prompt: generate(model, prompt, new, temperature=0.0, progress=False), args.repeats
        )
        fast_s, (fast, stats) = _timed(
            lambda prompt=prompt: medusa_generate(model, prompt, new, temperature=0.0, progress=False),
            args.repeats,
        )
        rows.append((plain_s, fast_s, torch.equal(plain, fast), stats.mean_accepted_length))
    plain_s = sum(r[0] for r in rows)
    fast_s = sum(r[1] for r in rows)
    return {
        "config": {"dim": config.dim, "layers": config.n_layers, "vocab": config.vocab_size, "heads": args.heads,
                   "new_tokens": new, "lm_train_steps": args.train_steps, "head_train_steps": args.head_steps},
        "lm_cross_entropy": float(cross_entropy.detach()), "lm_train_seconds": lm_seconds,
        "head_top1_agreement": [round(float(a), 3) for a in agreement.detach()],
        "plain_tokens_per_s": len(rows) * new / plain_s, "medusa_tokens_per_s": len(rows) * new / fast_s,
        "speedup": plain_s / fast_s, "mean_accepted_length": sum(r[3] for r in rows) / len(rows),
        "identical_greedy_tokens": all(r[2] for r in rows),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--no-compile", dest="compile", action="store_false", help="skip the torch.compile rows"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args, _ = parser.parse_known_args()
    torch.set_num_threads(args.threads)
    quick = args.quick
    args.compile = args.compile and not quick
    sizes = [(128, 2, 2048)] if quick else [(128, 2, 2048), (256, 4, 8192), (512, 8, 32000)]
    args.prompt_len, args.new_tokens, args.repeats = (16, 32, 1) if quick else (32, 128, 5)
    args.medusa_dim, args.heads = 128, 5
    args.train_steps, args.head_steps = (60, 60) if quick else (300, 400)

    versus = [bench_vs_transformers(args, *size) for size in sizes]
    medusa = bench_medusa(args)
    result = {"machine": platform.processor() or platform.machine(), "threads": args.threads,
              "torch": torch.__version__, "quick": quick, "ours_vs_transformers": versus, "medusa": medusa}  # fmt: skip

    print("\ncosmos-ar decoding (greedy, batch 1, CPU); ratio = speed relative to transformers")
    print(f"{'case':<52}{'tokens/s':>12}{'ratio':>10}")
    for row in versus:
        size = "dim {dim}, {layers} layers, vocab {vocab}".format(**row["config"])
        print(f"{size}")
        if "transformers_tokens_per_s" in row:
            print(
                f"{'  transformers LlamaForCausalLM.generate':<52}{row['transformers_tokens_per_s']:>12.1f}{'1.00x':>10}"
            )
        else:
            print(f"{'  transformers':<52}{row['transformers']:>22}")
        ratio = f"{row['speedup']:>9.2f}x" if "speedup" in row else ""
        print(f"{'  ours (cosmos.ar.generate)':<52}{row['ours_tokens_per_s']:>12.1f}{ratio}")
        if "ours_compiled_tokens_per_s" in row:
            ratio = f"{row['speedup_compiled']:>9.2f}x" if "speedup_compiled" in row else ""
            print(f"{'  ours + torch.compile':<52}{row['ours_compiled_tokens_per_s']:>12.1f}{ratio}")
    print(f"{'plain decoding (tiny trained model)':<52}{medusa['plain_tokens_per_s']:>12.1f}{'':>10}")
    print(
        f"{'Medusa, ' + str(args.heads) + ' heads':<52}{medusa['medusa_tokens_per_s']:>12.1f}{medusa['speedup']:>9.2f}x"
    )
    print(f"Medusa mean accepted length {medusa['mean_accepted_length']:.2f} tokens/forward; "
          f"identical greedy tokens: {medusa['identical_greedy_tokens']}")  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
