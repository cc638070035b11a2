"""Benchmark: Cosmos DiT forward time and peak memory, ours vs diffusers' ``CosmosTransformer3DModel``.

Both networks get the same random weights (diffusers' state dict mapped through our diffusers adapter),
the same inputs, and the check that their outputs agree is part of the run. Default: a reduced-depth
7B-width model (2 blocks, D = 4096, 32 heads) on a ``1 x 16 x 4 x 44 x 80`` latent (3,520 tokens).

    python benchmarks/diffusion.py                      # default config, CPU float32
    python benchmarks/diffusion.py --device cuda --dtype bfloat16 --latent 1,16,16,88,160
    python benchmarks/diffusion.py --width 1024 --heads 8 --latent 1,16,4,22,40   # a quick CPU run

Prints a table and writes JSON (``--json``, default ``benchmarks/results/diffusion.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import threading
import time
import types
from pathlib import Path

import torch


def _peak_rss_sampler():
    """Sample this process's RSS (Linux /proc) in a thread; returns (start, stop -> peak bytes above start)."""
    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * page

    state = {"peak": 0, "run": True}
    baseline = rss()

    def loop():
        while state["run"]:
            state["peak"] = max(state["peak"], rss())
            time.sleep(0.005)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def stop() -> int:
        state["run"] = False
        thread.join()
        return max(0, state["peak"] - baseline)

    return stop


def _install_torchvision_shim() -> None:
    """diffusers resizes the padding mask with torchvision; without it, use the op torchvision calls."""
    from diffusers.models.transformers import transformer_cosmos

    if getattr(transformer_cosmos, "transforms", None) is not None:
        return

    def resize(tensor, size, interpolation=None):
        return torch.nn.functional.interpolate(tensor, size=tuple(size), mode="nearest")

    transformer_cosmos.transforms = types.SimpleNamespace(
        functional=types.SimpleNamespace(resize=resize),
        InterpolationMode=types.SimpleNamespace(NEAREST="nearest"),
    )


def build_models(args, device, dtype):
    from diffusers import CosmosTransformer3DModel

    from cosmos.diffusion import DiT
    from cosmos.diffusion.checkpoints import DiffusersDiTAdapter, fresh_logvar_state

    _install_torchvision_shim()
    torch.manual_seed(0)
    peer = CosmosTransformer3DModel(
        in_channels=16,
        out_channels=16,
        num_attention_heads=args.heads,
        attention_head_dim=args.width // args.heads,
        num_layers=args.blocks,
        mlp_ratio=4.0,
        text_embed_dim=1024,
        adaln_lora_dim=256,
        max_size=(128, 240, 240),
        patch_size=(1, 2, 2),
        rope_scale=(2.0, 1.0, 1.0),
        concat_padding_mask=True,
        extra_pos_embed_type="learnable",
    )
    with torch.no_grad():
        for param in peer.parameters():
            param.normal_(0, 1.0 / max(1, param.shape[-1]) ** 0.5)
    state = DiffusersDiTAdapter().convert(peer.state_dict())
    state.update(fresh_logvar_state())
    config = DiT.coerce_config(
        {
            "in_channels": 16,
            "out_channels": 16,
            "num_attention_heads": args.heads,
            "attention_head_dim": args.width // args.heads,
            "num_layers": args.blocks,
            "text_embed_dim": 1024,
            "adaln_lora_dim": 256,
            "rope_scale": [2.0, 1.0, 1.0],
        }
    )
    ours = DiT.from_state_dict(config, state, device=device, dtype=dtype)
    peer = peer.to(device=device, dtype=dtype).eval()
    return ours, peer


def measure_peak(fn, *, device: torch.device) -> tuple[torch.Tensor, int]:
    """One call of ``fn`` (after a warm-up call) with its peak memory above the starting point, in bytes."""
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        out = fn()
        torch.cuda.synchronize()
        return out, torch.cuda.max_memory_allocated() - base
    stop = _peak_rss_sampler()
    out = fn()
    return out, stop()


def interleaved_times(fns: dict, *, repeats: int, device: torch.device) -> dict[str, list[float]]:
    """Time the models in turns (A, B, A, B, ...) so that a changing machine load hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--width", type=int, default=4096)
    parser.add_argument("--heads", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--latent", default="1,16,4,44,80", help="B,C,T,H,W of the latent")
    parser.add_argument("--text-tokens", type=int, default=512)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile(ours)")
    parser.add_argument("--json", default=str(Path(__file__).parent / "results" / "diffusion.json"))
    args = parser.parse_args()

    device = torch.device(args.device)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]
    batch, channels, frames, height, width = (int(v) for v in args.latent.split(","))
    ours, peer = build_models(args, device, dtype)

    generator = torch.Generator().manual_seed(1)
    x = torch.randn(batch, channels, frames, height, width, generator=generator).to(device, dtype)
    sigma = torch.full((batch,), 2.0)
    timesteps = (0.25 * sigma.log()).to(device, dtype)
    context = torch.randn(batch, args.text_tokens, 1024, generator=generator).to(device, dtype)
    context[:, 100:] = 0  # T5-style zero padding
    padding = torch.zeros(1, 1, height * 8, width * 8, device=device, dtype=dtype)
    fps = torch.full((batch,), 24.0, device=device)

    def run_ours():
        with torch.inference_mode():
            return ours(x, timesteps, context, None, fps, padding)

    def run_peer():
        with torch.inference_mode():
            return peer(x, timesteps, context, fps=24, padding_mask=padding, return_dict=False)[0]

    peer_name, ours_name = "diffusers CosmosTransformer3DModel", "cosmos.diffusion DiT"
    fns = {peer_name: run_peer, ours_name: run_ours}
    out_peer, peak_peer = measure_peak(run_peer, device=device)
    out_ours, peak_ours = measure_peak(run_ours, device=device)
    peaks = {peer_name: peak_peer, ours_name: peak_ours}
    if args.compile:
        compiled = torch.compile(ours)

        def run_compiled():
            with torch.inference_mode():
                return compiled(x, timesteps, context, None, fps, padding)

        fns["cosmos.diffusion DiT (torch.compile)"] = run_compiled
        _, peaks["cosmos.diffusion DiT (torch.compile)"] = measure_peak(run_compiled, device=device)
    for _ in range(max(0, args.warmup - 1)):
        for fn in fns.values():
            fn()
    times = interleaved_times(fns, repeats=args.repeats, device=device)
    times_peer = times[peer_name]
    rows = [(name, times[name], peaks[name]) for name in fns]

    difference = out_ours.double() - out_peer.double()
    rel_l2 = (difference.norm() / out_peer.double().norm()).item()
    max_abs = difference.abs().max().item()

    tokens = frames * (height // 2) * (width // 2)
    print(
        f"DiT forward: width {args.width}, {args.blocks} blocks, {args.heads} heads, latent {tuple(x.shape)} "
        f"({tokens} tokens), {args.dtype} on {device}"
    )
    # speed-up from the best run of each (timeit's convention): medians on a shared machine mostly measure load
    print(f"{'model':40s} {'median s':>10s} {'min s':>10s} {'peak MiB':>10s} {'speed-up':>9s}")
    base = min(times_peer)
    results = []
    for name, times, peak in rows:
        median, best = statistics.median(times), min(times)
        print(f"{name:40s} {median:10.3f} {best:10.3f} {peak / 2**20:10.1f} {base / best:8.2f}x")
        results.append(
            {
                "model": name,
                "median_s": median,
                "min_s": best,
                "times_s": times,
                "peak_bytes": peak,
                "speedup_vs_diffusers": base / best,
            }
        )
    print(f"numerics ours vs diffusers: rel-L2 {rel_l2:.2e}, max abs {max_abs:.2e}")
    document = {
        "config": {**vars(args), "tokens": tokens},
        "device": str(device),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "threads": torch.get_num_threads(),
        "results": results,
        "rel_l2_vs_diffusers": rel_l2,
        "max_abs_vs_diffusers": max_abs,
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
