"""In-memory video helpers on encoded bytes (PyAV): probe, decode a frame range, encode H.264 mp4.

cosmos.core's ``read_video`` / ``write_video`` work on paths; curation moves clips between stages and
processes as bytes, so these helpers work on ``bytes`` and decode only what a stage needs (a frame
range, every n-th frame, a small resize for shot detection).
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np

from cosmos.curate.tasks import VideoMetadata

__all__ = ["probe_video", "decode_frames", "iter_frames", "H264Encoder", "encode_h264", "fps_fraction"]


def fps_fraction(fps: float) -> Fraction:
    """``fps`` as a Fraction with a small denominator (29.97 -> 30000/1001)."""
    return Fraction(fps).limit_denominator(1001)


def probe_video(data: bytes) -> VideoMetadata:
    """Metadata of an encoded video (the reference's ffprobe fields, from PyAV).

    Raises:
        ValueError: no video stream, or the bytes cannot be opened as a container.
    """
    try:
        container = av.open(io.BytesIO(data))
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise ValueError(f"cannot open video container: {exc}") from exc
    with container:
        if not container.streams.video:
            raise ValueError("container has no video stream")
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 0.0)
        if fps <= 0:
            raise ValueError("video stream has no frame rate")
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        num_frames = stream.frames or round(duration * fps)
        if num_frames <= 0:  # count by decoding (rare: raw streams without an index)
            num_frames = sum(1 for _ in container.decode(stream))
            duration = num_frames / fps
        return VideoMetadata(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=fps,
            num_frames=int(num_frames),
            duration=duration if duration > 0 else num_frames / fps,
            video_codec=stream.codec_context.name,
            pixel_format=str(stream.codec_context.pix_fmt),
            bit_rate_k=int((container.bit_rate or 0) // 1000),
            format_name=container.format.name,
            size=len(data),
        )


def iter_frames(data: bytes, *, size: tuple[int, int] | None = None):
    """Yield ``(index, uint8 [H, W, 3])`` for every decoded frame; ``size = (height, width)`` resizes."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if size is None:
                yield index, frame.to_ndarray(format="rgb24")
            else:
                yield index, frame.to_ndarray(format="rgb24", width=size[1], height=size[0])


def decode_frames(
    data: bytes,
    *,
    start: int = 0,
    end: int | None = None,
    every: int = 1,
    size: tuple[int, int] | None = None,
    max_frames: int | None = None,
) -> np.ndarray:
    """Decode frames ``start, start+every, ... < end`` of an encoded video.

    Args:
        data: encoded video bytes.
        start, end: frame range (end exclusive, ``None`` = to the end), counted in decode order.
        every: keep every ``every``-th frame of the range.
        size: ``(height, width)`` to resize to (PyAV/swscale bilinear), ``None`` = native.
        max_frames: stop after this many kept frames.

    Returns:
        uint8 ``[N, H, W, 3]`` RGB (``N`` may be 0 when the range is past the end).
    """
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    frames: list[np.ndarray] = []
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if end is not None and index >= end:
                break
            if index < start or (index - start) % every:
                continue
            if size is not None:
                frames.append(frame.to_ndarray(format="rgb24", width=size[1], height=size[0]))
            else:
                frames.append(frame.to_ndarray(format="rgb24"))
            if max_frames is not None and len(frames) >= max_frames:
                break
    if not frames:
        height, width = size if size is not None else (0, 0)
        return np.zeros((0, height, width, 3), np.uint8)
    return np.stack(frames)


class H264Encoder:
    """Incremental H.264 mp4 encoder into memory: ``add(frame)`` uint8 ``[H, W, 3]`` frames, then ``finish()``.

    The first frame fixes the size (odd sizes cropped to even). With ``threads=1`` the bytes are a
    deterministic function of the frames. ``crf`` (quality mode) overrides ``bit_rate`` when given.
    """

    def __init__(
        self,
        fps: float,
        *,
        encoder: str = "libx264",
        bit_rate: int = 4_000_000,
        preset: str = "veryfast",
        threads: int = 1,
        crf: int | None = None,
    ) -> None:
        self.fps, self.encoder, self.bit_rate, self.preset, self.threads, self.crf = (
            fps,
            encoder,
            bit_rate,
            preset,
            threads,
            crf,
        )
        self._buffer = io.BytesIO()
        self._container = None
        self._stream = None
        self.num_frames = 0

    def _open(self, height: int, width: int) -> None:
        self._container = av.open(self._buffer, mode="w", format="mp4")
        stream = self._container.add_stream(self.encoder, rate=fps_fraction(self.fps))
        stream.width, stream.height, stream.pix_fmt = width // 2 * 2, height // 2 * 2, "yuv420p"
        options = {"preset": self.preset, "threads": str(self.threads)}
        if self.crf is not None:
            options["crf"] = str(self.crf)
        else:
            stream.bit_rate = self.bit_rate
        stream.options = options
        stream.codec_context.thread_count = self.threads
        self._stream = stream

    def add(self, image: np.ndarray) -> None:
        """Append one uint8 ``[H, W, 3]`` RGB frame."""
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 [H, W, 3], got {image.dtype} {tuple(image.shape)}")
        if self._stream is None:
            self._open(image.shape[0], image.shape[1])
        height, width = self._stream.height, self._stream.width
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:height, :width]), format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.num_frames += 1

    def finish(self) -> bytes:
        """Flush and return the mp4 bytes. Raises ``ValueError`` if no frame was added."""
        if self._stream is None:
            raise ValueError("cannot encode a video with 0 frames")
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        return self._buffer.getvalue()


def encode_h264(frames: np.ndarray, fps: float, **options) -> bytes:
    """Encode uint8 ``[T, H, W, 3]`` RGB frames to H.264 mp4 bytes (options of :class:`H264Encoder`)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {tuple(frames.shape)}")
    encoder = H264Encoder(fps, **options)
    for image in frames:
        encoder.add(image)
    return encoder.finish()
