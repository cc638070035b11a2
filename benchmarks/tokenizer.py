"""Benchmark: cosmos.tokenizer CausalVideoTokenizer vs diffusers AutoencoderKLCosmos, same weights.

Full released CV8x8x8 architecture (Cosmos-1.0-Tokenizer-CV8x8x8, 105.65 M parameters) with random weights,
encode + decode of 1x3x17x256x256 and 1x3x33x256x256 clips (plus our chunked mode, which bounds memory).
Each (implementation, shape) runs in its own subprocess so that peak memory is measured cleanly: peak RSS
growth over the loaded model on CPU, ``torch.cuda.max_memory_allocated`` on GPU. Numerics are checked first
(max |ours - diffusers| of latent and reconstruction).

    python benchmarks/tokenizer.py                        # CPU, writes benchmark-tokenizer.json
    python benchmarks/tokenizer.py --device cuda --dtype bfloat16 --repeats 5
    python benchmarks/tokenizer.py --frames 17 --size 128  # quicker

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
    """Reset the kernel's peak-RSS mark (VmHWM) so loading the model does not count (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _peak_rss_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _load(impl: str, weights: Path, device: str, dtype: torch.dtype):
    from cosmos.tokenizer import CausalVideoTokenizer

    ours = CausalVideoTokenizer.from_pretrained(weights, device=device, dtype=dtype)
    if impl == "ours":
        return ours
    from cosmos.tokenizer.checkpoints import diffusers_name
    from diffusers import AutoencoderKLCosmos

    peer = AutoencoderKLCosmos()  # its defaults are the CV8x8x8 configuration
    renamed = {diffusers_name(k, 3): v for k, v in ours.state_dict().items()}
    peer.load_state_dict(renamed, strict=True)
    del ours
    return peer.to(device=device, dtype=dtype).eval()


def _round_trip(impl: str, model, video: torch.Tensor, chunk: int | None) -> torch.Tensor:
    with torch.no_grad():
        if impl == "ours":
            return model.decode(model.encode(video, chunk_size=chunk), chunk_size=chunk)
        latent = model.encode(video).latent_dist.mode()
        return model.decode(latent).sample


def worker(args: argparse.Namespace) -> None:
    """One measurement in a fresh process; prints a JSON line."""
    torch.set_num_threads(args.threads)
    dtype = DTYPES[args.dtype]
    model = _load(args.impl, Path(args.weights), args.device, dtype)
    generator = torch.Generator().manual_seed(0)
    video = (torch.rand(1, 3, args.frames, args.size, args.size, generator=generator) * 2 - 1).to(
        args.device, dtype
    )
    chunk = args.chunk or None
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    gc.collect()
    _reset_peak_rss()
    rss0 = _rss_bytes()
    _round_trip(args.impl, model, video, chunk)  # warm-up
    sync()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        _round_trip(args.impl, model, video, chunk)
        sync()
        times.append(time.perf_counter() - start)
    if args.device.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = _peak_rss_bytes() - rss0
    print(
        json.dumps(
            {
                "impl": args.impl,
                "frames": args.frames,
                "size": args.size,
                "chunk": chunk,
                "seconds": min(times),
                "median_seconds": statistics.median(times),
                "all_seconds": times,
                "peak_bytes": max(peak, 0),
            }
        )
    )


def check_numerics(weights: Path, device: str, dtype: torch.dtype, frames: int, size: int) -> dict:
    ours = _load("ours", weights, device, dtype)
    peer = _load("diffusers", weights, device, dtype)
    video = (torch.rand(1, 3, frames, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1).to(
        device, dtype
    )
    with torch.no_grad():
        z_ours = ours.encode(video).z
        z_peer = peer.encode(video).latent_dist.mode()
        x_ours = ours.decode(z_ours)
        x_peer = peer.decode(z_ours).sample
    return {
        "latent_max_abs_diff": float((z_ours - z_peer).abs().max()),
        "decode_max_abs_diff": float((x_ours - x_peer).abs().max()),
        "numerics_input": [1, 3, frames, size, size],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    parser.add_argument("--frames", type=int, nargs="+", default=[17, 33])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--chunk", type=int, default=17, help="our chunked mode's window (0: skip)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", default="benchmark-tokenizer.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.frames = args.frames[0]
        worker(args)
        return

    from cosmos.tokenizer import PRESETS, CausalVideoTokenizer

    try:
        import diffusers  # noqa: F401

        impls = ["ours", "diffusers"]
    except ImportError:
        impls = ["ours"]
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        weights = CausalVideoTokenizer(PRESETS[PRESET]).save_pretrained(Path(tmp) / "cv8x8x8")
        numerics = (
            check_numerics(weights, args.device, DTYPES[args.dtype], 9, 64) if "diffusers" in impls else {}
        )
        runs = []
        plan = [(impl, frames, 0) for frames in args.frames for impl in impls]
        if args.chunk:
            plan += [("ours", frames, args.chunk) for frames in args.frames if frames > args.chunk]
        for impl, frames, chunk in plan:
            command = [
                sys.executable,
                __file__,
                "--worker",
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
                "--repeats",
                str(args.repeats),
                "--threads",
                str(args.threads),
                "--chunk",
                str(chunk),
            ]
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            if result.returncode:
                print(result.stderr[-2000:], file=sys.stderr)
                raise SystemExit(f"worker failed: {' '.join(command)}")
            runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(
                f"  done: {runs[-1]['impl']} T={frames} chunk={chunk or '-'}: {runs[-1]['seconds']:.2f} s",
                flush=True,
            )
    machine = {
        "device": args.device if args.device == "cpu" else torch.cuda.get_device_name(0),
        "cpu": platform.processor() or platform.machine(),
        "threads": args.threads,
        "dtype": args.dtype,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    try:
        import diffusers

        machine["diffusers"] = diffusers.__version__
    except ImportError:
        pass
    print(f"\nCV8x8x8 ({PRESET}, random weights), encode+decode, {machine}")
    print(f"numerics ours vs diffusers: {numerics}")
    header = "| input | implementation | chunk | best time (s) | peak memory (MiB) | speed-up vs diffusers |"
    print(header + "\n|---|---|---|---|---|---|")
    by_key = {(r["impl"], r["frames"], r["chunk"]): r for r in runs}
    for r in runs:
        peer = by_key.get(("diffusers", r["frames"], None))
        speedup = f"{peer['seconds'] / r['seconds']:.2f}x" if peer else "-"
        print(
            f"| 1x3x{r['frames']}x{r['size']}x{r['size']} | {r['impl']} | {r['chunk'] or '-'} | {r['seconds']:.2f} | "
            f"{r['peak_bytes'] / 2**20:.0f} | {speedup} |"
        )
    Path(args.out).write_text(json.dumps({"machine": machine, "numerics": numerics, "runs": runs}, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
