"""Real pictures and clips mixed into the nano tokenizers' training (the paper trains on images and video jointly).

Sources, all offline and none committed:
  * the colour photos bundled inside scikit-image (``skimage.data``; CC0 / public domain), served as still
    "clips" and as slow pans across the photo;
  * ``box.mp4`` and ``vtest.avi`` from Debian's ``opencv-doc`` (``python examples/fetch_media.py``), served as
    9-frame windows of downscaled, randomly cropped footage.

Every sample is uint8 ``[T, 64, 64, 3]``, the layout of :mod:`nano_data` episodes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "colorwheel", "retina")


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area/bilinear resize of uint8 ``[H, W, 3]`` with Pillow."""
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def load_photos(max_side: int = 256) -> list[np.ndarray]:
    """The bundled skimage colour photos (no download), each resized so its long side is ``max_side``."""
    import skimage.data

    photos = []
    for name in SKIMAGE_PHOTOS:
        try:
            image = getattr(skimage.data, name)()
        except Exception:  # a photo that would need a download on this install: skip it
            continue
        if image.ndim != 3 or image.shape[2] < 3:
            continue
        image = np.ascontiguousarray(image[..., :3])
        h, w = image.shape[:2]
        scale = max_side / max(h, w)
        photos.append(_resize(image, max(64, round(h * scale)), max(64, round(w * scale))))
    return photos


def load_clips(folder: str | Path = "data/media", height: int = 96, max_frames: int = 300) -> list[np.ndarray]:
    """``box.mp4`` / ``vtest.avi`` when fetched, each downscaled to ``height`` rows: ``[T, height, W, 3]``."""
    from cosmos.core.video import read_video

    clips = []
    for name in ("box.mp4", "vtest.avi"):
        path = Path(folder) / name
        if not path.is_file():
            continue
        frames, _ = read_video(path, max_frames=max_frames)
        width = round(frames.shape[2] * height / frames.shape[1])
        clips.append(np.stack([_resize(f, height, width) for f in frames]))
    return clips


class RealMedia:
    """Random 64x64 real samples of ``frames`` frames: photo stills, photo pans, video windows."""

    def __init__(self, media: str | Path = "data/media", size: int = 64) -> None:
        self.photos, self.clips, self.size = load_photos(), load_clips(media), size
        if not self.photos and not self.clips:
            raise FileNotFoundError("no real media: scikit-image photos and data/media clips are both missing")

    def describe(self) -> str:
        return f"{len(self.photos)} skimage photos ({', '.join(SKIMAGE_PHOTOS)}), {len(self.clips)} opencv-doc clips"

    def sample(self, rng: np.random.Generator, frames: int) -> np.ndarray:
        """One clip ``uint8 [frames, 64, 64, 3]``."""
        kind = rng.integers(0, 3) if self.clips else rng.integers(0, 2)
        s = self.size
        if kind < 2:
            photo = self.photos[rng.integers(0, len(self.photos))]
            h, w = photo.shape[:2]
            if kind == 0:  # still
                y, x = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
                return np.repeat(photo[None, y : y + s, x : x + s], frames, axis=0)
            # slow pan: up to 2 pixels a frame in a random direction
            dy, dx = rng.integers(-2, 3, 2)
            y0 = rng.integers(max(0, -dy * (frames - 1)), h - s + 1 - max(0, dy * (frames - 1)))
            x0 = rng.integers(max(0, -dx * (frames - 1)), w - s + 1 - max(0, dx * (frames - 1)))
            return np.stack([photo[y0 + dy * t : y0 + dy * t + s, x0 + dx * t : x0 + dx * t + s] for t in range(frames)])
        clip = self.clips[rng.integers(0, len(self.clips))]
        t, h, w = clip.shape[:3]
        stride = int(rng.integers(1, 3))
        t0 = rng.integers(0, t - stride * (frames - 1))
        y, x = rng.integers(0, h - s + 1), rng.integers(0, w - s + 1)
        return clip[t0 : t0 + stride * frames : stride, y : y + s, x : x + s]
