"""Simulate robot episodes, write them as shards, and read them back the way a training loop does.

    python examples/curate_sim_to_training.py --out /tmp/sim_robot --num 4 --size 64

Needs the [sim] extra (pybullet). Prints the shape of every sample and writes a contact sheet.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from cosmos.curate.shards import ShardDataset
from cosmos.curate.sim import RobotConfig, write_robot_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("sim_robot"))
    parser.add_argument("--num", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    manifest = write_robot_dataset(args.out, args.num, config=RobotConfig(height=args.size, width=args.size))
    print(f"{sum(s['success'] for s in manifest['samples'])}/{args.num} successful episodes -> {args.out}")
    loader = torch.utils.data.DataLoader(ShardDataset(args.out / "shards"), batch_size=None)
    for sample in loader:
        print(
            sample["__key__"], tuple(sample["video"].shape), tuple(sample["actions"].shape), sample["caption"]
        )
    print(f"contact sheet: {args.out / 'contact_sheets' / 'robot.png'}")


if __name__ == "__main__":
    main()
