"""Check a prompt and a short clip with the offline guardrail and save the face-pixelated clip.

PYTHONPATH=packages/cosmos-core/src:packages/cosmos-guard/src python examples/guard_check.py outputs/guard
"""

import sys
from pathlib import Path

import numpy as np
from skimage import data

from cosmos.core import write_video
from cosmos.guard import Guardrail

out = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/guard")
out.mkdir(parents=True, exist_ok=True)
guard = Guardrail.from_preset("offline")

for prompt in ["A robot arm stacks three red cubes.", "A video of a b0mb exploding."]:
    report = guard.check_text(prompt, negative_prompt="blurry, low resolution")
    print(report.summary())

clip = np.stack([np.roll(data.astronaut(), shift, axis=1) for shift in range(0, 40, 8)])  # a short pan
report = guard.check_video(clip)
print(report.summary())
if report.allowed:
    write_video(out / "original.mp4", clip, fps=8)
    write_video(out / "pixelated.mp4", report.frames, fps=8)
    (out / "report.json").write_text(report.to_json())
    print(f"wrote {out}/original.mp4, {out}/pixelated.mp4 and {out}/report.json")
