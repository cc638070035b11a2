"""Video files and the conversion between files and model tensors.

Two conventions meet here (design.md section 2):

* files and people: ``uint8`` frames ``[T, H, W, 3]`` (RGB) plus a frame rate in frames per second;
* models: ``float32`` video ``[B, 3, T, H, W]`` with values in ``[-1, 1]`` (``x / 127.5 - 1``).

Reading and writing go through PyAV (H.264 via libx264 for writing). Contact sheets (a PNG grid of
frames, one row per video) are written with Pillow.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from cosmos.core.errors import ShapeError

__all__ = [
    "read_video",
    "write_video",
    "frames_to_video",
    "video_to_frames",
    "resize_video",
    "center_crop_video",
    "save_contact_sheet",
]


def read_video(path: str | os.PathLike, *, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Decode a video file to RGB frames.

    Args:
        path: any container/codec FFmpeg (inside PyAV) can read: mp4, avi, mkv, webm, ...
        max_frames: stop after this many frames.

    Returns:
        ``(frames, fps)``: ``np.uint8 [T, H, W, 3]`` RGB and the stream's average frame rate (frames/s).

    Raises:
        FileNotFoundError: no such file.
        ShapeError: the file has no video stream or no decodable frame.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such video file: {path}")
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise ShapeError(f"{path} has no video stream")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        frames = []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if max_frames is not None and len(frames) >= max_frames:
                break
    if not frames:
        raise ShapeError(f"{path} holds no decodable video frame")
    return np.stack(frames), fps


def _as_uint8_frames(frames: np.ndarray | torch.Tensor, name: str = "frames") -> np.ndarray:
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ShapeError(f"{name} must be [T, H, W, 3] RGB, got shape {frames.shape}")
    if frames.dtype != np.uint8:
        raise ShapeError(f"{name} must be uint8, got {frames.dtype} (convert float video with video_to_frames)")
    return frames


def write_video(
    path: str | os.PathLike, frames: np.ndarray | torch.Tensor, fps: float, *, crf: int = 18
) -> Path:
    """Encode RGB frames to an H.264 (yuv420p) video file.

    Args:
        path: output file (``.mp4`` recommended); parent folders are created.
        frames: ``uint8 [T, H, W, 3]`` RGB, numpy or torch; H and W must be even (yuv420p).
        fps: frames per second, > 0.
        crf: x264 constant rate factor (0 lossless-ish luma, 18 visually lossless, 23 default, 51 worst).

    Returns:
        the path written.

    Raises:
        ShapeError: wrong layout or dtype, odd height or width, no frames, or ``fps <= 0``.
    """
    frames = _as_uint8_frames(frames)
    num_frames, height, width, _ = frames.shape
    if num_frames == 0:
        raise ShapeError("cannot write a video with no frames")
    if height % 2 or width % 2:
        raise ShapeError(f"H.264 (yuv420p) needs an even height and width, got {height}x{width}; crop or resize first")
    if not fps or fps <= 0:
        raise ShapeError(f"fps must be > 0, got {fps}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def frames_to_video(frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``uint8 [T, H, W, 3]`` or ``[B, T, H, W, 3]`` -> ``float32 [B, 3, T, H, W]`` in ``[-1, 1]``.

    Raises:
        ShapeError: not uint8, or not 4-D/5-D with 3 channels last.
    """
    tensor = torch.as_tensor(np.asarray(frames)) if not isinstance(frames, torch.Tensor) else frames
    if tensor.dtype != torch.uint8:
        raise ShapeError(f"frames must be uint8, got {tensor.dtype}")
    if tensor.ndim == 4:
        tensor = tensor.unsqueeze(0)
    if tensor.ndim != 5 or tensor.shape[-1] != 3:
        raise ShapeError(f"frames must be [T, H, W, 3] or [B, T, H, W, 3], got shape {tuple(tensor.shape)}")
    video = tensor.permute(0, 4, 1, 2, 3).float()  # [B, T, H, W, 3] -> [B, 3, T, H, W]
    return video / 127.5 - 1.0


def video_to_frames(video: torch.Tensor) -> np.ndarray:
    """``float [B, 3, T, H, W]`` (or ``[3, T, H, W]``) in ``[-1, 1]`` -> ``np.uint8 [B, T, H, W, 3]`` (or ``[T, H, W, 3]``).

    Values are clamped to ``[-1, 1]`` and rounded to the nearest integer level.

    Raises:
        ShapeError: not floating, or not 4-D/5-D with 3 channels in dim ``-4``.
    """
    if not isinstance(video, torch.Tensor) or not video.is_floating_point():
        raise ShapeError("video must be a floating torch.Tensor in [-1, 1]")
    if video.ndim not in (4, 5) or video.shape[-4] != 3:
        raise ShapeError(f"video must be [B, 3, T, H, W] or [3, T, H, W], got shape {tuple(video.shape)}")
    levels = ((video.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return levels.movedim(-4, -1).cpu().numpy()  # [..., 3, T, H, W] -> [..., T, H, W, 3]


def _check_model_video(video: torch.Tensor) -> tuple[int, int, int, int, int]:
    if not isinstance(video, torch.Tensor) or video.ndim != 5:
        raise ShapeError(f"video must be [B, C, T, H, W], got {getattr(video, 'shape', type(video))}")
    return tuple(video.shape)


def resize_video(video: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize every frame of ``[B, C, T, H, W]`` to ``size = (height, width)`` (bilinear, antialiased).

    Raises:
        ShapeError: not a 5-D tensor, or a non-positive target size.
    """
    batch, channels, frames, _, _ = _check_model_video(video)
    height, width = size
    if height < 1 or width < 1:
        raise ShapeError(f"size must be positive, got {size}")
    flat = video.permute(0, 2, 1, 3, 4).reshape(batch * frames, channels, *video.shape[-2:])  # [B*T, C, H, W]
    flat = F.interpolate(flat.float(), size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return flat.reshape(batch, frames, channels, height, width).permute(0, 2, 1, 3, 4).to(video.dtype)


def center_crop_video(video: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop the central ``size = (height, width)`` window of every frame of ``[B, C, T, H, W]``.

    Raises:
        ShapeError: not a 5-D tensor, or a window larger than the frame.
    """
    *_, height, width = _check_model_video(video)
    crop_h, crop_w = size
    if crop_h > height or crop_w > width or crop_h < 1 or crop_w < 1:
        raise ShapeError(f"cannot crop {crop_h}x{crop_w} out of {height}x{width} frames")
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return video[..., top : top + crop_h, left : left + crop_w]


def _to_frames_for_sheet(video: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(video, torch.Tensor) and video.is_floating_point():
        if video.ndim == 5:
            if video.shape[0] != 1:
                raise ShapeError(f"contact sheet rows take one video each, got batch {video.shape[0]}")
            video = video[0]
        return video_to_frames(video)
    return _as_uint8_frames(video, name="video")


def save_contact_sheet(
    path: str | os.PathLike,
    videos: Sequence[np.ndarray | torch.Tensor],
    *,
    labels: Sequence[str] | None = None,
    max_frames: int = 8,
    gap: int = 2,
) -> Path:
    """Write a PNG grid of frames: one row per video, up to ``max_frames`` evenly spaced frames per row.

    Args:
        path: output PNG path.
        videos: each ``uint8 [T, H, W, 3]``, or ``float [3, T, H, W]`` / ``[1, 3, T, H, W]`` in ``[-1, 1]``.
            Rows of different sizes are resized to the first row's frame size.
        labels: optional text per row, drawn in a band above its frames.
        max_frames: frames per row (fewer if a video is shorter).
        gap: white pixels between tiles.

    Returns:
        the path written.

    Raises:
        ShapeError: no videos, a malformed video, or a label count that differs from the video count.
    """
    if not videos:
        raise ShapeError("save_contact_sheet needs at least one video")
    if labels is not None and len(labels) != len(videos):
        raise ShapeError(f"got {len(labels)} labels for {len(videos)} videos")
    rows = [_to_frames_for_sheet(video) for video in videos]
    tile_h, tile_w = rows[0].shape[1:3]
    columns = min(max_frames, max(len(row) for row in rows))
    band = 14 if labels is not None else 0
    sheet = Image.new(
        "RGB", (columns * (tile_w + gap) + gap, len(rows) * (tile_h + gap + band) + gap), color=(255, 255, 255)
    )
    draw = ImageDraw.Draw(sheet)
    for row_index, row in enumerate(rows):
        top = gap + row_index * (tile_h + gap + band)
        if labels is not None:
            draw.text((gap, top), str(labels[row_index]), fill=(0, 0, 0))
        picks = np.linspace(0, len(row) - 1, num=min(columns, len(row))).round().astype(int)
        for column, frame_index in enumerate(picks):
            tile = Image.fromarray(row[frame_index])
            if tile.size != (tile_w, tile_h):
                tile = tile.resize((tile_w, tile_h), Image.BILINEAR)
            sheet.paste(tile, (gap + column * (tile_w + gap), top + band))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
