"""Bad inputs raise clear errors that name the problem (and the valid values)."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from cosmos.core import CheckpointError, ShapeError
from cosmos.core.testing import fixture_path, load_fixture_json
from cosmos.tokenizer import CausalVideoTokenizer, ImageTokenizer

from .conftest import tiny_image_config, tiny_video_config


@pytest.fixture(scope="module")
def video_model():
    torch.manual_seed(0)
    return CausalVideoTokenizer(tiny_video_config("CV")).eval()


def test_wrong_frame_count_names_valid_counts(video_model):
    with pytest.raises(ShapeError, match=r"num_frames 10 is not 1 \+ k\*8.*use 9 or 17.*pad=True"):
        video_model.encode(torch.zeros(1, 3, 10, 16, 16))


def test_wrong_size_names_valid_sizes(video_model):
    with pytest.raises(
        ShapeError, match=r"height 20 is not a multiple of spatial_compression 8: use 16 or 24"
    ):
        video_model.encode(torch.zeros(1, 3, 9, 20, 16))
    with pytest.raises(ShapeError, match=r"width 12"):
        video_model.encode(torch.zeros(1, 3, 9, 16, 12))


def test_wrong_dtype(video_model):
    with pytest.raises(ShapeError, match="floating"):
        video_model.encode(torch.zeros(1, 3, 9, 16, 16, dtype=torch.uint8))


def test_values_outside_range(video_model):
    with pytest.raises(ShapeError, match=r"values must lie in \[-1.0, 1.0\]"):
        video_model.encode(torch.full((1, 3, 9, 16, 16), 255.0))


def test_nan_input(video_model):
    video = torch.zeros(1, 3, 9, 16, 16)
    video[0, 0, 3, 2, 2] = float("nan")
    with pytest.raises(ShapeError, match="NaN"):
        video_model.encode(video)


def test_wrong_rank_and_channels(video_model):
    with pytest.raises(ShapeError, match=r"\[B, 3, T, H, W\]"):
        video_model.encode(torch.zeros(3, 9, 16, 16))
    with pytest.raises(ShapeError, match="3 \\(RGB\\) channels"):
        video_model.encode(torch.zeros(1, 4, 9, 16, 16))


def test_bad_chunk_size(video_model):
    with pytest.raises(ShapeError, match="chunk_size 8"):
        video_model.encode(torch.zeros(1, 3, 17, 16, 16), chunk_size=8)


def test_bad_decode_inputs(video_model):
    with pytest.raises(ShapeError, match="C = 16"):
        video_model.decode(torch.zeros(1, 6, 2, 2, 2))
    with pytest.raises(ShapeError, match="continuous"):
        video_model.decode(torch.zeros(1, 2, 2, 2, dtype=torch.int64))
    latent = torch.zeros(1, 16, 2, 2, 2)
    latent[0, 0, 0, 0, 0] = float("inf")
    with pytest.raises(ShapeError, match="NaN or inf"):
        video_model.decode(latent)


def test_discrete_index_out_of_range():
    model = CausalVideoTokenizer(tiny_video_config("DV")).eval()
    with pytest.raises(ShapeError, match=r"\[0, 64000\)"):
        model.decode(torch.full((1, 2, 2, 2), 64000, dtype=torch.int64))


def test_image_tokenizer_errors():
    model = ImageTokenizer(tiny_image_config("CI")).eval()
    with pytest.raises(ShapeError, match="height 30"):
        model.encode(torch.zeros(1, 3, 30, 32))
    with pytest.raises(ShapeError, match=r"\[B, 3, H, W\]"):
        model.encode(torch.zeros(3, 32, 32))


def test_wrong_family_is_refused():
    with pytest.raises(ValueError, match="use ImageTokenizer"):
        CausalVideoTokenizer(tiny_image_config("CI"))
    with pytest.raises(ValueError, match="use CausalVideoTokenizer"):
        ImageTokenizer(tiny_video_config("CV"))


def _fixture_folder(tmp_path, mutate):
    meta = load_fixture_json("tokenizer", "cv8x8x8.config.json")
    state_dict = load_file(str(fixture_path("tokenizer", "cv8x8x8.weights.safetensors")))
    mutate(state_dict)
    folder = tmp_path / "ckpt"
    folder.mkdir()
    save_file(state_dict, str(folder / "model.safetensors"))
    return folder, meta["config"]


def test_checkpoint_missing_key(tmp_path):
    folder, config = _fixture_folder(tmp_path, lambda sd: sd.pop("decoder.conv_out.1.conv3d.bias"))
    with pytest.raises(CheckpointError, match=r"missing keys \(1\): decoder.conv_out.1.conv3d.bias"):
        CausalVideoTokenizer.from_pretrained(folder, config=config)


def test_checkpoint_unexpected_key(tmp_path):
    folder, config = _fixture_folder(
        tmp_path, lambda sd: sd.__setitem__("encoder.extra.weight", torch.zeros(2))
    )
    with pytest.raises(CheckpointError, match=r"unexpected keys \(1\): encoder.extra.weight"):
        CausalVideoTokenizer.from_pretrained(folder, config=config)


def test_checkpoint_shape_mismatch(tmp_path):
    folder, config = _fixture_folder(
        tmp_path, lambda sd: sd.__setitem__("quant_conv.conv3d.bias", torch.zeros(7))
    )
    with pytest.raises(CheckpointError, match=r"quant_conv.conv3d.bias: expected \(16,\) got \(7,\)"):
        CausalVideoTokenizer.from_pretrained(folder, config=config)


def test_checkpoint_of_other_architecture(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    shutil.copy(fixture_path("tokenizer", "dv8x16x16.weights.safetensors"), folder / "model.safetensors")
    config = load_fixture_json("tokenizer", "cv8x8x8.config.json")["config"]
    with pytest.raises(CheckpointError, match="does not match the model"):
        CausalVideoTokenizer.from_pretrained(folder, config=config)


def test_unknown_architecture_asks_for_config(tmp_path):
    folder = tmp_path / "unnamed"
    folder.mkdir()
    shutil.copy(fixture_path("tokenizer", "cv8x8x8.weights.safetensors"), folder / "model.safetensors")
    with pytest.raises(CheckpointError, match="pass config="):
        CausalVideoTokenizer.from_pretrained(folder)


def test_empty_folder(tmp_path):
    with pytest.raises(CheckpointError, match="holds no tokenizer checkpoint"):
        CausalVideoTokenizer.from_pretrained(tmp_path, config="Cosmos-1.0-Tokenizer-CV8x8x8")


def test_unknown_preset_name():
    with pytest.raises(CheckpointError, match="unknown tokenizer preset"):
        CausalVideoTokenizer("Cosmos-9-Tokenizer-XX")
