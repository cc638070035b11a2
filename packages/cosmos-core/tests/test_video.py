import numpy as np
import pytest
import torch

from cosmos.core import (
    ShapeError,
    center_crop_video,
    frames_to_video,
    psnr,
    read_video,
    resize_video,
    save_contact_sheet,
    video_to_frames,
    write_video,
)


def natural_clip(num_frames: int = 16, height: int = 96, width: int = 128) -> np.ndarray:
    """A camera pan across a smooth, textured scene (stands in for real footage: no flat noise)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for t in range(num_frames):
        shift = 2.5 * t
        red = 128 + 90 * np.sin((x + shift) / 13.0) * np.cos(y / 17.0)
        green = 128 + 80 * np.cos((x + shift) / 29.0 + y / 23.0)
        blue = 100 + 60 * np.sin((x + y + shift) / 41.0)
        blob = np.exp(-((x - 20 - 3 * t) ** 2 + (y - 48) ** 2) / 120.0)[..., None]  # a moving soft ball
        frame = np.stack([red, green, blue], axis=-1) * (1 - blob) + np.array([220.0, 60.0, 50.0]) * blob
        frames.append(frame)
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def test_mp4_round_trip_keeps_quality(tmp_path):
    frames = natural_clip()
    path = write_video(tmp_path / "clip.mp4", frames, fps=24)
    decoded, fps = read_video(path)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    assert fps == pytest.approx(24.0)
    quality = psnr(frames_to_video(decoded), frames_to_video(frames)).item()
    assert quality > 35.0, f"H.264 round trip PSNR {quality:.2f} dB"
    first_four, _ = read_video(path, max_frames=4)
    assert np.array_equal(first_four, decoded[:4])


def test_write_video_rejects_bad_input(tmp_path):
    with pytest.raises(ShapeError, match="even"):
        write_video(tmp_path / "odd.mp4", np.zeros((2, 15, 16, 3), np.uint8), fps=5)
    with pytest.raises(ShapeError, match="uint8"):
        write_video(tmp_path / "f.mp4", np.zeros((2, 16, 16, 3), np.float32), fps=5)
    with pytest.raises(ShapeError, match=r"\[T, H, W, 3\]"):
        write_video(tmp_path / "g.mp4", np.zeros((16, 16, 3), np.uint8), fps=5)
    with pytest.raises(ShapeError, match="fps"):
        write_video(tmp_path / "h.mp4", np.zeros((2, 16, 16, 3), np.uint8), fps=0)
    with pytest.raises(FileNotFoundError):
        read_video(tmp_path / "missing.mp4")


def test_tensor_conversions_round_trip_exactly():
    frames = natural_clip(4, 16, 24)
    video = frames_to_video(frames)
    assert video.shape == (1, 3, 4, 16, 24) and video.dtype == torch.float32
    assert video.min() >= -1 and video.max() <= 1
    assert np.array_equal(video_to_frames(video)[0], frames)
    assert np.array_equal(video_to_frames(video[0]), frames)
    batch = frames_to_video(np.stack([frames, frames]))
    assert batch.shape == (2, 3, 4, 16, 24)
    with pytest.raises(ShapeError, match="uint8"):
        frames_to_video(frames.astype(np.float32))
    with pytest.raises(ShapeError, match="floating"):
        video_to_frames(torch.zeros(1, 3, 2, 4, 4, dtype=torch.uint8))


def test_resize_and_crop():
    video = frames_to_video(natural_clip(3, 32, 48))
    assert resize_video(video, (16, 24)).shape == (1, 3, 3, 16, 24)
    cropped = center_crop_video(video, (16, 16))
    assert torch.equal(cropped, video[..., 8:24, 16:32])
    with pytest.raises(ShapeError, match="crop"):
        center_crop_video(video, (64, 16))


def test_contact_sheet_is_a_png_grid(tmp_path):
    from PIL import Image

    frames = natural_clip(10, 16, 24)
    path = save_contact_sheet(tmp_path / "sheet.png", [frames, frames_to_video(frames)], labels=["true", "pred"], max_frames=5)
    image = Image.open(path)
    assert image.size == (5 * 26 + 2, 2 * (16 + 2 + 14) + 2)
    with pytest.raises(ShapeError, match="labels"):
        save_contact_sheet(tmp_path / "x.png", [frames], labels=["a", "b"])
