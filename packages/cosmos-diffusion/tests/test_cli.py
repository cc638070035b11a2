"""The cosmos-diffusion CLI: convert an official checkpoint; text2world / video2world end to end (tiny models)."""

import shutil

import pytest
import torch
from safetensors.torch import save_file

from cosmos.diffusion import DiT, DiTConfig
from cosmos.diffusion.cli import main


def test_convert_official_model_pt(tmp_path, net_kwargs, tensors):
    from cosmos.core.testing import fixture_path

    source = tmp_path / "official"
    source.mkdir()
    shutil.copy(fixture_path("diffusion", "t2w_tiny.model.pt"), source / "model.pt")
    config_file = tmp_path / "net.json"
    import json

    config_file.write_text(json.dumps(net_kwargs("t2w_tiny")))
    assert main(["convert", str(source), str(tmp_path / "ours"), "--config", str(config_file)]) == 0
    net = DiT.from_pretrained(tmp_path / "ours")
    data = tensors("t2w_tiny.net.safetensors")
    with torch.no_grad():
        out = net(
            data["in.x"],
            data["in.timesteps"],
            data["in.crossattn_emb"],
            data["in.crossattn_mask"],
            data["in.fps"],
            data["in.padding_mask"],
        )
    torch.testing.assert_close(out, data["out.x"], rtol=1e-4, atol=2e-5)
    assert main(["convert", str(source), str(tmp_path / "bad")]) == 2  # no config: clear error, exit 2


@pytest.fixture
def tiny_wfm_folder(tmp_path):
    tokenizer_module = pytest.importorskip("cosmos.tokenizer")
    from cosmos.diffusion.wfm import DiffusionWFM

    config = tokenizer_module.TokenizerConfig(
        kind="CV",
        channels=4,
        channels_mult=(2, 4, 4),
        num_res_blocks=1,
        z_channels=8,
        latent_channels=16,
        patch_size=4,
        spatial_compression=8,
        temporal_compression=8,
    )
    torch.manual_seed(0)
    tokenizer = tokenizer_module.CausalVideoTokenizer(config).eval()

    def make(**changes):
        net = DiT(
            DiTConfig(
                model_channels=32,
                num_blocks=1,
                num_heads=2,
                crossattn_channels=16,
                adaln_lora_dim=8,
                **changes,
            )
        )
        with torch.no_grad():
            for param in net.parameters():
                param.normal_(0, 0.05)
        folder = tmp_path / ("v2w" if changes else "t2w")
        DiffusionWFM(tokenizer, net).save_pretrained(folder)
        return folder

    return make


def _embeddings(path):
    save_file(
        {"text_embeddings": torch.randn(2, 4, 16), "negative_text_embeddings": torch.zeros(2, 4, 16)},
        str(path),
    )
    return path


SIZE = [
    "--num-frames",
    "9",
    "--height",
    "32",
    "--width",
    "32",
    "--num-steps",
    "2",
    "--device",
    "cpu",
    "--dtype",
    "float32",
    "--no-progress",
]


def test_text2world_cli(tiny_wfm_folder, tmp_path, capsys):
    folder = tiny_wfm_folder()
    output = tmp_path / "out" / "t2w.mp4"
    status = main(
        [
            "text2world",
            "--model",
            str(folder),
            "--text-embeddings",
            str(_embeddings(tmp_path / "e.safetensors")),
            "--output",
            str(output),
            *SIZE,
        ]
    )
    assert status == 0
    assert (tmp_path / "out" / "t2w_0.mp4").exists() and (tmp_path / "out" / "t2w_1.mp4").exists()
    assert (tmp_path / "out" / "t2w.png").exists()
    printed = capsys.readouterr().out
    assert "timings (s):" in printed and "denoise" in printed
    from cosmos.core import read_video

    frames, fps = read_video(tmp_path / "out" / "t2w_0.mp4")
    assert frames.shape == (9, 32, 32, 3) and fps == pytest.approx(24)


def test_video2world_cli_with_image_and_errors(tiny_wfm_folder, tmp_path, capsys):
    from PIL import Image

    folder = tiny_wfm_folder(condition_mask=True)
    image = tmp_path / "frame.png"
    Image.fromarray((torch.rand(48, 40, 3) * 255).byte().numpy()).save(image)
    output = tmp_path / "v2w.mp4"
    args = ["video2world", "--model", str(folder), "--input", str(image), "--output", str(output), *SIZE]
    assert main([*args, "--text-embeddings", str(_embeddings(tmp_path / "e.safetensors"))]) == 0
    assert (tmp_path / "v2w_0.mp4").exists() and (tmp_path / "v2w.png").exists()
    bad = ["--num-frames" if a == "--num-frames" else a for a in args]
    bad[bad.index("--num-frames") + 1] = "8"
    assert main([*bad, "--text-embeddings", str(_embeddings(tmp_path / "e.safetensors"))]) == 2
    assert "num_frames=8" in capsys.readouterr().err


def test_documented_commands_parse():
    """Every ``cosmos-diffusion ...`` command in docs/diffusion.md is accepted by the argument parser."""
    import shlex
    from pathlib import Path

    from cosmos.diffusion.cli import build_parser

    docs = Path(__file__).resolve().parents[3] / "docs" / "diffusion.md"
    if not docs.exists():
        pytest.skip("docs/diffusion.md not found next to the package")
    text = docs.read_text().replace("\\\n", " ")
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("cosmos-diffusion ")]
    assert len(commands) >= 3
    parser = build_parser()
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])
        assert args.command in ("text2world", "video2world", "convert", "rollout", "multiview")


def test_rollout_command_on_the_nano_model(tmp_path, capsys):
    """``cosmos-diffusion rollout``: a clip file and an actions file -> prediction past one clip (mp4, PNG)."""
    import numpy as np

    from cosmos.core import read_video, write_video
    from cosmos.diffusion.cli import main

    pytest.importorskip("cosmos.tokenizer")
    write_video(tmp_path / "clip.mp4", np.full((3, 96, 80, 3), 120, np.uint8), fps=5)  # resized + cropped to 64x64
    np.save(tmp_path / "a.npy", np.zeros((30, 7), np.float32))
    out = tmp_path / "pred.mp4"
    argv = ["rollout", "--model", "nano-v2w-action", "--input", str(tmp_path / "clip.mp4"), "--actions",
            str(tmp_path / "a.npy"), "--num-steps", "2", "--out", str(out), "--no-guardrail"]  # fmt: skip
    assert main(argv) == 0
    frames, fps = read_video(out)
    assert frames.shape == (31, 64, 64, 3) and fps == pytest.approx(5.0)
    assert (tmp_path / "pred.png").is_file() and "timings (s)" in capsys.readouterr().out
    np.save(tmp_path / "bad.npy", np.zeros((30, 6), np.float32))
    assert main([*argv[:6], str(tmp_path / "bad.npy"), *argv[7:]]) == 2  # wrong action size: one error line
    assert "error:" in capsys.readouterr().err


def test_video2world_cli_camera_moves_and_camera_json(tiny_wfm_folder, tmp_path, capsys):
    import json

    from PIL import Image

    from cosmos.diffusion.camera import camera_trajectory, rigid_inverse

    folder = tiny_wfm_folder(condition_mask=True, camera_channels=6)
    image = tmp_path / "frame.png"
    Image.fromarray((torch.rand(32, 32, 3) * 255).byte().numpy()).save(image)
    embeddings = str(_embeddings(tmp_path / "e.safetensors"))
    args = [
        "video2world",
        "--model",
        str(folder),
        "--input",
        str(image),
        "--text-embeddings",
        embeddings,
        *SIZE,
    ]
    assert main([*args, "--output", str(tmp_path / "a.mp4"), "--camera", "orbit_left"]) == 0
    assert main([*args, "--output", str(tmp_path / "b.mp4"), "--camera", "forward:4,pan_left:4"]) == 0
    poses = rigid_inverse(camera_trajectory("right", 9))  # camera.json holds world-to-camera matrices
    camera_json = {"fl_x": 16.0, "fl_y": 16.0, "cx": 16.0, "cy": 16.0, "w": 32, "h": 32}
    camera_json["frames"] = [{"transform_matrix": pose.tolist()} for pose in poses]
    (tmp_path / "camera.json").write_text(json.dumps(camera_json))
    assert main([*args, "--output", str(tmp_path / "c.mp4"), "--camera", str(tmp_path / "camera.json")]) == 0
    assert (tmp_path / "c_0.mp4").exists()
    assert main([*args, "--output", str(tmp_path / "d.mp4"), "--camera", "barrel_roll"]) == 2
    assert "unknown camera move" in capsys.readouterr().err
    assert (
        main([*args, "--output", str(tmp_path / "e.mp4"), "--camera", "forward:0"]) == 2
    )  # 1 pose, 2 latent frames


def test_convert_official_decoder(tmp_path, net_kwargs, tensors):
    import json

    from cosmos.core.testing import fixture_path
    from cosmos.diffusion import DiffusionDecoderDiT

    source = tmp_path / "official"
    source.mkdir()
    shutil.copy(fixture_path("diffusion", "decoder_tiny.weights.safetensors"), source / "model.safetensors")
    config_file = tmp_path / "net.json"
    config_file.write_text(json.dumps(net_kwargs("decoder_tiny")))
    assert main(["convert", str(source), str(tmp_path / "ours"), "--config", str(config_file)]) == 0
    net = DiffusionDecoderDiT.from_pretrained(tmp_path / "ours")
    data = tensors("decoder_tiny.net.safetensors")
    keys = ("in.x", "in.timesteps", "in.crossattn_emb", "in.crossattn_mask", "in.fps", "in.padding_mask")
    with torch.no_grad():
        out = net(*[data[k] for k in keys], latent_condition=data["in.latent_condition"])
    torch.testing.assert_close(out, data["out.x"], rtol=1e-4, atol=2e-5)


def test_text2world_cli_upsample_prompt_from_a_standin_server(tiny_wfm_folder, tmp_path, capsys):
    pytest.importorskip("transformers")
    pytest.importorskip("sentencepiece")
    from cosmos.core import PromptUpsamplerWarning
    from cosmos.core.testing import openai_standin_server, tiny_t5_encoder

    t5 = tiny_t5_encoder(tmp_path)  # d_model 16 = the tiny DiT's crossattn_channels
    t5.encoder.save_pretrained(tmp_path / "t5")
    t5.tokenizer.save_pretrained(tmp_path / "t5")
    caption = "A red cube falls onto a wooden table and bounces twice in the morning light."
    args = ["text2world", "--model", str(tiny_wfm_folder()), "--t5", str(tmp_path / "t5"), "--prompt", "a cube"]
    args += ["--output", str(tmp_path / "t2w.mp4"), "--no-guardrail", *SIZE]  # fmt: skip
    with openai_standin_server([f"Caption: {caption}"]) as (base, requests):
        assert main([*args, "--upsample-prompt", base]) == 0
    assert f"prompt (upsampled): {caption}" in capsys.readouterr().out
    assert requests[1][1]["messages"][0]["content"].endswith(": a cube")
    assert main([*args, "--upsample-prompt", base]) == 2  # server gone, no model named: clear error up front
    assert "#MODEL" in capsys.readouterr().err
    with pytest.warns(PromptUpsamplerWarning, match="failed"):  # fails at generation: fallback, still a video
        assert main([*args, "--upsample-prompt", f"{base}#m"]) == 0
    assert "prompt (fallback): a cube" in capsys.readouterr().out
