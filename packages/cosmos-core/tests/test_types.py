import dataclasses

import pytest
import torch

from cosmos.core import Latent, ShapeError, TokenGrid, VideoTokenizer, check_video


def test_latent_accepts_video_and_image_latents():
    video = Latent(torch.zeros(2, 16, 3, 4, 6), temporal_compression=8, spatial_compression=8, tokenizer_name="x")
    image = Latent(torch.zeros(2, 16, 4, 6), temporal_compression=1, spatial_compression=8)
    assert not video.is_image and image.is_image
    assert video.batch_size == 2 and video.channels == 16
    assert video.to(dtype=torch.float64).z.dtype == torch.float64
    with pytest.raises(dataclasses.FrozenInstanceError):
        video.z = torch.zeros(1)


@pytest.mark.parametrize(
    "z, message",
    [
        (torch.zeros(2, 16, 3), "shape"),
        (torch.zeros(1, 2, 3, 4, 5, 6), "shape"),
        (torch.zeros(2, 16, 3, 4, 6, dtype=torch.int64), "floating"),
        ([1.0, 2.0], "torch.Tensor"),
    ],
)
def test_latent_rejects_bad_tensors(z, message):
    with pytest.raises(ShapeError, match=message):
        Latent(z, temporal_compression=8, spatial_compression=8)


@pytest.mark.parametrize("factor", [0, -1, 2.0, True])
def test_latent_rejects_bad_factors(factor):
    with pytest.raises(ShapeError, match="compression"):
        Latent(torch.zeros(1, 4, 2, 2, 2), temporal_compression=factor, spatial_compression=8)


def test_token_grid_validates_dtype_range_and_codes():
    indices = torch.randint(0, 64000, (2, 3, 2, 3))
    grid = TokenGrid(indices, vocab_size=64000, temporal_compression=8, spatial_compression=16, codes=torch.zeros(2, 6, 3, 2, 3))
    assert grid.batch_size == 2 and not grid.is_image
    with pytest.raises(ShapeError, match="int64"):
        TokenGrid(indices.int(), vocab_size=64000, temporal_compression=8, spatial_compression=16)
    with pytest.raises(ShapeError, match=r"\[0, 64000\)"):
        TokenGrid(indices + 64000, vocab_size=64000, temporal_compression=8, spatial_compression=16)
    with pytest.raises(ShapeError, match=r"\[0, 10\)"):
        TokenGrid(torch.full((1, 2, 2), -1), vocab_size=10, temporal_compression=1, spatial_compression=16)
    with pytest.raises(ShapeError, match="codes shape"):
        TokenGrid(indices, vocab_size=64000, temporal_compression=8, spatial_compression=16, codes=torch.zeros(2, 6, 3, 2, 4))
    with pytest.raises(ShapeError, match="shape"):
        TokenGrid(torch.zeros(5, dtype=torch.int64), vocab_size=10, temporal_compression=1, spatial_compression=1)


def test_video_tokenizer_protocol_is_structural():
    class Identity:
        temporal_compression = 1
        spatial_compression = 1
        latent_channels = 3

        def encode(self, video):
            return Latent(video, 1, 1)

        def decode(self, x):
            return x.z

        def latent_shape(self, num_frames, height, width):
            return num_frames, height, width

        def valid_num_frames(self, num_frames):
            return True

    assert isinstance(Identity(), VideoTokenizer)
    assert not isinstance(object(), VideoTokenizer)


@pytest.mark.parametrize(
    "video, message",
    [
        (torch.zeros(3, 4, 8, 8), r"\[B, 3, T, H, W\]"),
        (torch.zeros(1, 4, 4, 8, 8), "3 \\(RGB\\) channels"),
        (torch.zeros(1, 3, 4, 8, 8, dtype=torch.uint8), "floating"),
        (torch.full((1, 3, 4, 8, 8), float("nan")), "NaN"),
        (torch.full((1, 3, 4, 8, 8), 2.0), r"\[-1.0, 1.0\]"),
    ],
)
def test_check_video_names_the_problem(video, message):
    with pytest.raises(ShapeError, match=message):
        check_video(video)


def test_check_video_accepts_valid_input():
    check_video(torch.rand(2, 3, 5, 8, 8) * 2 - 1)
    check_video(torch.zeros(2, 3, 8, 8), ndim=4)
