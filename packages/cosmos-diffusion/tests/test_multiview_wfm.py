"""``MultiViewWFM``: NVIDIA's multi-view sampling end to end from the seed, bad input, Video2World drives, grid."""

import shutil

import pytest
import torch

from cosmos.core import ShapeError
from cosmos.core.testing import fixture_path
from cosmos.diffusion import MultiViewDiT
from cosmos.diffusion.multiview_wfm import MultiViewWFM, multiview_grid, split_views, write_multiview_grid

SAMPLE = {"rtol": 1e-3, "atol": 5e-4, "rel_l2": 5e-5}


class _StoredLatentTokenizer:
    """Temporal compression 1, spatial 8; ``encode`` returns a stored ``[(B V), 16, T, H, W]`` latent."""

    temporal_compression, spatial_compression, latent_channels = 1, 8, 16

    def __init__(self, latent=None):
        self.latent = latent

    def valid_num_frames(self, num_frames):
        return num_frames >= 1

    def latent_shape(self, num_frames, height, width):
        return num_frames, height // 8, width // 8

    def encode(self, video):
        from cosmos.core import Latent

        return Latent(self.latent.clone(), 1, 8)

    def decode(self, x):
        return x.z if hasattr(x, "z") else x


@pytest.fixture(scope="module")
def mv_nets(tmp_path_factory, net_kwargs):
    cache = {}

    def get(name):
        if name not in cache:
            folder = tmp_path_factory.mktemp(name)
            shutil.copy(
                fixture_path("diffusion", f"{name}.weights.safetensors"), folder / "model.safetensors"
            )
            cache[name] = MultiViewDiT.from_pretrained(folder, config=net_kwargs(name), dtype=torch.float32)
        return cache[name]

    return get


@pytest.mark.parametrize("kind", ["t2w", "traj", "v2w"])
def test_sample_reproduces_official_sampling_from_the_seed(mv_nets, tensors, check, kind):
    """Seed 1 gives NVIDIA's noise; default frame_repeat (0, 10, 10), zero-text CFG, RES-2ab 5 steps, and for
    V2W the per-view conditioning with K = 1 from one input frame: the reference's 5-step sample."""
    name = f"multiview_{kind}_tiny"
    data = tensors(f"{name}.sample.safetensors")
    _, _, frames, lat_h, lat_w = data["in.x_sigma_max"].shape
    views = 3
    kwargs = {}
    stored = None
    if kind == "v2w":
        stored = data["in.condition_latent"].reshape(16, views, frames // views, lat_h, lat_w).transpose(0, 1)
        kwargs["video"] = torch.zeros(1, views, 3, 1, lat_h * 8, lat_w * 8)
    if kind == "traj":
        kwargs["trajectory"] = data["in.trajectory"].reshape(1, 64, 3)
    wfm = MultiViewWFM(_StoredLatentTokenizer(stored), mv_nets(name))
    text = data["in.t5_text_embeddings"].reshape(1, views, -1, 32)  # [B, V, S, C]
    latent = wfm.sample(
        text_embeddings=text,
        num_frames=frames // views,
        height=lat_h * 8,
        width=lat_w * 8,
        num_steps=5,
        seed=1,
        return_latent=True,
        guardrail=None,
        **kwargs,
    )
    check(latent, data["out.sample"], **SAMPLE, name=f"{name} via MultiViewWFM.sample")


def test_bad_inputs_raise_before_any_compute(mv_nets, standin_tokenizer):
    traj_wfm = MultiViewWFM(_StoredLatentTokenizer(), mv_nets("multiview_traj_tiny"))
    text = torch.zeros(1, 3, 8, 32)
    size = {"num_frames": 2, "height": 32, "width": 48, "guardrail": None, "num_steps": 1}
    good = torch.zeros(1, 64, 3)
    with pytest.raises(ShapeError, match="one non-empty prompt per view"):
        traj_wfm.sample(["front", "left"], trajectory=good, **size)
    with pytest.raises(ShapeError, match="3 views"):
        traj_wfm.sample(text_embeddings=torch.zeros(1, 2, 8, 32), trajectory=good, **size)
    with pytest.raises(ShapeError, match="trajectory-conditioned"):
        traj_wfm.sample(text_embeddings=text, **size)
    with pytest.raises(ShapeError, match="trajectory must be"):
        traj_wfm.sample(text_embeddings=text, trajectory=torch.zeros(1, 32, 3), **size)
    with pytest.raises(ShapeError, match="non-finite"):
        traj_wfm.sample(text_embeddings=text, trajectory=torch.full((1, 64, 3), float("inf")), **size)
    with pytest.raises(ShapeError, match="Text2World"):
        traj_wfm.sample(text_embeddings=text, trajectory=good, video=torch.zeros(1, 3, 3, 1, 32, 48), **size)
    v2w = MultiViewWFM(standin_tokenizer(4, 8, 16), mv_nets("multiview_v2w_tiny"))
    v2w_text = torch.zeros(1, 3, 6, 32)
    video = torch.zeros(1, 3, 3, 9, 32, 48)
    with pytest.raises(ShapeError, match="Video2World"):
        v2w.sample(text_embeddings=v2w_text, num_frames=5, height=32, width=48, guardrail=None)
    for count in (0, 2, 5):  # not 1 + 4k, or not shorter than the 5-frame clip
        with pytest.raises(ShapeError, match="num_input_frames"):
            v2w.sample(
                text_embeddings=v2w_text,
                video=video,
                num_input_frames=count,
                num_frames=5,
                height=32,
                width=48,
            )
    with pytest.raises(ShapeError, match="V = 3"):
        v2w.sample(
            text_embeddings=v2w_text, video=torch.zeros(1, 2, 3, 1, 32, 48), num_frames=5, height=32, width=48
        )
    with pytest.raises(ShapeError, match="trajectory"):
        v2w.sample(text_embeddings=v2w_text, video=video, trajectory=good, num_frames=5, height=32, width=48)


def test_reference_condition_frame_rule(mv_nets, standin_tokenizer):
    wfm = MultiViewWFM(standin_tokenizer(4, 8, 16), mv_nets("multiview_v2w_tiny"))
    assert wfm.num_condition_latents(1, 9, (32, 48)) == 1
    assert (
        wfm.num_condition_latents(5, 9, (32, 48)) == 1
    )  # the reference's quirk (spec §5): K = 1 for N = 9 too
    assert wfm.num_condition_latents(5, 9, (32, 48), reference=False) == 2


def test_video2world_drive_chunk_after_chunk(mv_nets, standin_tokenizer):
    wfm = MultiViewWFM(standin_tokenizer(4, 8, 16), mv_nets("multiview_v2w_tiny"))
    start = torch.rand(1, 3, 3, 1, 32, 48) * 2 - 1
    drive = wfm.drive(
        start,
        2,
        text_embeddings=torch.randn(1, 18, 32),
        num_frames=5,
        height=32,
        width=48,
        num_steps=2,
        guardrail=None,
    )
    assert drive.shape == (1, 3, 3, 1 + 4 + 4, 32, 48)
    assert torch.equal(drive[:, :, :, :1], start)
    assert torch.isfinite(drive).all()


def test_grid_layouts_and_mp4(tmp_path):
    six = torch.stack([torch.full((3, 2, 4, 6), float(v) / 10) for v in range(6)])  # view v has value v / 10
    grid = multiview_grid(six)
    assert grid.shape == (3, 2, 8, 18)
    cells = [[round(grid[0, 0, r * 4, c * 6].item() * 10) for c in range(3)] for r in range(2)]
    assert cells == [[1, 0, 2], [4, 3, 5]]
    three = multiview_grid(six[:3][None])  # batched
    assert three.shape == (1, 3, 2, 4, 18)
    assert [round(three[0, 0, 0, 0, c * 6].item() * 10) for c in range(3)] == [1, 0, 2]
    with pytest.raises(ShapeError, match="layout"):
        multiview_grid(six, layout=[[0, 1], [2]])
    path = write_multiview_grid(tmp_path / "grid.mp4", six, fps=4)
    from cosmos.core import read_video

    frames, _ = read_video(path)
    assert frames.shape == (2, 8, 18, 3)
    views = split_views(torch.zeros(1, 3, 6, 4, 4), 3)
    assert views.shape == (1, 3, 3, 2, 4, 4)
    with pytest.raises(ShapeError, match="view-major"):
        split_views(torch.zeros(1, 3, 5, 4, 4), 3)


@pytest.fixture
def official_multiview_folder(tmp_path, net_kwargs):
    """An NVIDIA-style folder (``model.safetensors``, official keys) and its net-kwargs JSON file."""
    import json

    def make(name):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(fixture_path("diffusion", f"{name}.weights.safetensors"), folder / "model.safetensors")
        config = tmp_path / f"{name}.json"
        config.write_text(json.dumps(net_kwargs(name)))
        return folder, config

    return make


@pytest.mark.parametrize("kind", ["t2w", "traj"])
def test_cli_text2world_writes_grid(official_multiview_folder, tmp_path, kind):
    pytest.importorskip("cosmos.tokenizer")
    import numpy as np
    from safetensors.torch import save_file

    from cosmos.core import read_video
    from cosmos.diffusion.cli import main

    folder, config = official_multiview_folder(f"multiview_{kind}_tiny")
    embeddings = tmp_path / "text.safetensors"
    save_file({"text_embeddings": torch.randn(1, 3, 8, 32)}, embeddings)
    args = ["multiview", "--model", str(folder), "--config", str(config), "--tokenizer", "nano-cv4x8x8"]
    args += ["--text-embeddings", str(embeddings), "--num-frames", "5", "--height", "32", "--width", "48"]
    args += ["--num-steps", "2", "--device", "cpu", "--dtype", "float32", "--no-progress", "--no-guardrail"]
    args += ["--out", str(tmp_path / "grid.mp4")]
    if kind == "traj":
        assert main(args) == 2  # trajectory model without --trajectory: named error, exit 2
        np.save(tmp_path / "traj.npy", np.cumsum(np.full((64, 3), 0.1, dtype=np.float32), axis=0))
        args += ["--trajectory", str(tmp_path / "traj.npy")]
    assert main(args) == 0
    frames, _ = read_video(tmp_path / "grid.mp4")
    assert frames.shape == (5, 32, 3 * 48, 3)  # 1x3 grid of three views


def test_cli_video2world_drive(official_multiview_folder, tmp_path):
    pytest.importorskip("cosmos.tokenizer")
    from safetensors.torch import save_file

    from cosmos.core import read_video, write_video
    from cosmos.diffusion.cli import main

    folder, config = official_multiview_folder("multiview_v2w_tiny")
    embeddings = tmp_path / "text.safetensors"
    save_file({"text_embeddings": torch.randn(1, 18, 32)}, embeddings)
    views = torch.randint(0, 255, (3, 32, 48, 3), dtype=torch.uint8)  # 3 views x 1 frame, view-major
    write_video(tmp_path / "views.mp4", views.numpy(), fps=24)
    args = ["multiview", "--model", str(folder), "--config", str(config), "--tokenizer", "nano-cv4x8x8"]
    args += ["--text-embeddings", str(embeddings), "--input", str(tmp_path / "views.mp4"), "--chunks", "2"]
    args += ["--num-frames", "5", "--height", "32", "--width", "48", "--num-steps", "2"]
    args += ["--device", "cpu", "--dtype", "float32", "--no-progress", "--no-guardrail"]
    assert main([*args, "--num-input-frames", "2", "--out", str(tmp_path / "bad.mp4")]) == 2
    assert main([*args, "--out", str(tmp_path / "drive.mp4")]) == 0
    frames, _ = read_video(tmp_path / "drive.mp4")
    assert frames.shape == (1 + 4 + 4, 32, 3 * 48, 3)
