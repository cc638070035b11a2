"""Benchmark: cosmos.tokenizer CausalVideoTokenizer vs diffusers AutoencoderKLCosmos, same weights.

Full released CV8x8x8 architecture (Cosmos-1.0-Tokenizer-CV8x8x8, 105.65 M parameters) with random weights,
encode + decode of 1x3x17x256x256 and 1x3x33x256x256 clips, plus our chunked mode (bounded memory).

* Numerics first: max |ours - diffusers| of latent and reconstruction on the same weights.
* Time: both models live in this process and their runs are **interleaved** (ours, peer, ours, peer, ...) after
  a warm-up, so that load from other processes on a shared machine hits both alike; the table gives the best
  run and the median.
* Peak memory: one subprocess per row (one round trip after loading): peak RSS growth over the loaded model
  on CPU (the kernel's VmHWM mark is reset after loading), ``torch.cuda.max_memory_allocated`` on GPU.

    python benchmarks/tokenizer.py                          # CPU, writes benchmarks/results/tokenizer.json
    python benchmarks/tokenizer.py --device cuda --dtype bfloat16 --repeats 5
    python benchmarks/tokenizer.py --frames 17 --size 128   # quicker

Needs the ``peer`` extra (diffusers) for the comparison; without it only our rows are measured.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

PRESET = "Cosmos-1.0-Tokenizer-CV8x8x8"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark (VmHWM) so that loading the model does not count (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _peak_rss_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def load(impl: str, weights: Path, device: str, dtype: torch.dtype):
    """Our tokenizer from ``weights`` (our layout), or diffusers' model with the same weights renamed."""
    from cosmos.tokenizer import CausalVideoTokenizer

    ours = CausalVideoTokenizer.from_pretrained(weights, device=device, dtype=dtype)
    if impl == "ours":
        return ours
    from diffusers import AutoencoderKLCosmos

    from cosmos.tokenizer.checkpoints import diffusers_name

    peer = AutoencoderKLCosmos()  # its defaults are the CV8x8x8 configuration
    peer.load_state_dict({diffusers_name(k, 3): v for k, v in ours.state_dict().items()}, strict=True)
    del ours
    return peer.to(device=device, dtype=dtype).eval()


def round_trip(impl: str, model, video: torch.Tensor, chunk: int | None) -> torch.Tensor:
    """encode + decode; ``[1, 3, T, H, W] -> [1, 3, T, H, W]``."""
    with torch.no_grad():
        if impl == "ours":
            return model.decode(model.encode(video, chunk_size=chunk), chunk_size=chunk)
        return model.decode(model.encode(video).latent_dist.mode()).sample


def make_video(frames: int, size: int, device: str, dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(1, 3, frames, size, size, generator=generator) * 2 - 1).to(device, dtype)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def memory_worker(args: argparse.Namespace) -> None:
    """One round trip in a fresh process; prints ``{"peak_bytes": ...}``."""
    torch.set_num_threads(args.threads)
    model = load(args.impl, Path(args.weights), args.device, DTYPES[args.dtype])
    video = make_video(args.frames[0], args.size, args.device, DTYPES[args.dtype])
    with torch.no_grad():  # fault in lazily mapped weight pages now, so that they do not count as peak growth
        for tensor in model.state_dict().values():
            tensor.sum()
    gc.collect()
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    _reset_peak_rss()
    rss0 = _rss_bytes()
    round_trip(args.impl, model, video, args.chunk or None)
    _sync(args.device)
    if args.device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _peak_rss_bytes() - rss0
    print(json.dumps({"peak_bytes": max(peak, 0)}))


def measure_memory(args, impl: str, weights: Path, frames: int, chunk: int) -> int:
    command = [
        sys.executable,
        __file__,
        "--memory-worker",
        "--impl",
        impl,
        "--weights",
        str(weights),
        "--frames",
        str(frames),
        "--size",
        str(args.size),
        "--device",
        args.device,
        "--dtype",
        args.dtype,
        "--threads",
        str(args.threads),
        "--chunk",
        str(chunk),
    ]
    # glibc: serve every allocation above 64 KiB with mmap and return it on free, so that RSS follows the live
    # tensors and its peak (VmHWM) is the real peak instead of an allocator-cache artefact
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode:
        print(result.stderr[-2000:], file=sys.stderr)
        raise SystemExit(f"memory worker failed: {' '.join(command)}")
    return json.loads(result.stdout.strip().splitlines()[-1])["peak_bytes"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    parser.add_argument("--frames", type=int, nargs="+", default=[17, 33])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--chunk", type=int, default=17, help="our chunked mode's window (0: skip)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "tokenizer.json"))
    parser.add_argument("--no-timing", action="store_true", help="only measure peak memory (one run per row)")
    parser.add_argument("--memory-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_worker:
        memory_worker(args)
        return
    torch.set_num_threads(args.threads)
    dtype = DTYPES[args.dtype]

    from cosmos.tokenizer import PRESETS, CausalVideoTokenizer

    try:
        import diffusers

        impls = ["ours", "diffusers"]
    except ImportError:
        diffusers = None
        impls = ["ours"]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        weights = CausalVideoTokenizer(PRESETS[PRESET]).save_pretrained(Path(tmp) / "cv8x8x8")
        models = {impl: load(impl, weights, args.device, dtype) for impl in impls}
        numerics = {}
        if diffusers is not None:
            video = make_video(9, 64, args.device, dtype, seed=1)
            with torch.no_grad():
                z_ours = models["ours"].encode(video).z
                z_peer = models["diffusers"].encode(video).latent_dist.mode()
                numerics = {
                    "input": [1, 3, 9, 64, 64],
                    "latent_max_abs_diff": float((z_ours - z_peer).abs().max()),
                    "decode_max_abs_diff": float(
                        (models["ours"].decode(z_ours) - models["diffusers"].decode(z_ours).sample)
                        .abs()
                        .max()
                    ),
                }
        variants = [(impl, 0) for impl in impls]
        for frames in args.frames:
            rows = variants + ([("ours", args.chunk)] if args.chunk and frames > args.chunk else [])
            video = make_video(frames, args.size, args.device, dtype)
            times: dict[tuple[str, int], list[float]] = {row: [] for row in rows}
            for impl, chunk in rows:  # warm-up
                if not args.no_timing:
                    round_trip(impl, models[impl], video, chunk or None)
            for _ in range(0 if args.no_timing else args.repeats):
                for impl, chunk in rows:
                    _sync(args.device)
                    start = time.perf_counter()
                    round_trip(impl, models[impl], video, chunk or None)
                    _sync(args.device)
                    times[(impl, chunk)].append(time.perf_counter() - start)
            for impl, chunk in rows:
                runs.append(
                    {
                        "impl": impl,
                        "frames": frames,
                        "size": args.size,
                        "chunk": chunk or None,
                        "seconds": min(times[(impl, chunk)], default=float("nan")),
                        "median_seconds": statistics.median(times[(impl, chunk)] or [float("nan")]),
                        "all_seconds": times[(impl, chunk)],
                    }
                )
                print(
                    f"  timed {impl} T={frames} chunk={chunk or '-'}: {runs[-1]['all_seconds']}", flush=True
                )
        del models
        gc.collect()
        for run in runs:
            run["peak_bytes"] = measure_memory(args, run["impl"], weights, run["frames"], run["chunk"] or 0)
    machine = {
        "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(0),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "dtype": args.dtype,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "diffusers": getattr(diffusers, "__version__", None),
    }
    print(f"\nCV8x8x8 ({PRESET}, random weights), encode+decode; {machine}")
    print(f"numerics ours vs diffusers: {numerics}\n")
    print(
        "| input | implementation | chunk | best (s) | median (s) | peak memory (MiB) | speed-up vs diffusers (best / median) |"
    )
    print("|---|---|---|---|---|---|---|")
    by_key = {(r["impl"], r["frames"], r["chunk"]): r for r in runs}
    for r in runs:
        peer = by_key.get(("diffusers", r["frames"], None))
        speedup = (
            f"{peer['seconds'] / r['seconds']:.2f}x / {peer['median_seconds'] / r['median_seconds']:.2f}x"
            if peer
            else "-"
        )
        print(
            f"| 1x3x{r['frames']}x{r['size']}x{r['size']} | {r['impl']} | {r['chunk'] or '-'} | {r['seconds']:.2f} "
            f"| {r['median_seconds']:.2f} | {r['peak_bytes'] / 2**20:.0f} | {speedup} |"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": machine, "numerics": numerics, "runs": runs}, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
