"""``cosmos-eval metrics`` on rendered video files and ``cosmos-eval protocol`` with stand-in model loaders."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest

from cosmos.core import write_video
from cosmos.eval import cli

from .conftest import repeat_last_model


@pytest.fixture(scope="module")
def files(orbit, unrelated, tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    real = write_video(folder / "real.mp4", orbit.frames, 8.0, crf=0)
    noisy = np.clip(
        orbit.frames.astype(np.int16) + np.random.default_rng(0).integers(-6, 7, orbit.frames.shape), 0, 255
    )
    fake = write_video(folder / "fake.mp4", noisy.astype(np.uint8), 8.0, crf=0)
    other = write_video(folder / "other.mp4", unrelated, 8.0, crf=0)
    small = write_video(folder / "small.mp4", orbit.frames[:, :64, :64], 8.0)
    return {"real": real, "fake": fake, "other": other, "small": small}


def test_metrics_prints_a_table_and_writes_json(files, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    assert (
        cli.main(["metrics", "--real", str(files["real"]), "--fake", str(files["fake"]), "--json", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert "| video | path | frames | psnr | ssim | sampson_px | sampson_pairs | pose_success_rate |" in text
    real, fake = json.loads(out.read_text())["rows"]
    assert real["psnr"] is None and 25 < fake["psnr"] < 40 and 0.5 < fake["ssim"] < 1
    assert real["sampson_px"] < 0.5 and real["sampson_pairs"] == "4/4" and real["pose_success_rate"] == 1.0
    assert fake["sampson_px"] < 1.0


def test_metrics_with_lpips_weights(files, tmp_path, capsys):
    from .test_lpips import _published

    folder = tmp_path / "lpips"
    folder.mkdir()
    argv = [
        "metrics",
        "--real",
        str(files["real"]),
        "--fake",
        str(files["fake"]),
        "--lpips",
        str(_published(folder, "alex")),
    ]
    assert cli.main(argv) == 0
    header, _, real, fake = capsys.readouterr().out.splitlines()[2:6]
    assert "| lpips |" in header and real.split("|")[6].strip() == "" and float(fake.split("|")[6]) > 0
    assert cli.main([*argv[:-1], str(tmp_path)]) == 2  # a folder without the weights: one error line
    assert "missing weights file" in capsys.readouterr().err


def test_metrics_of_unrelated_frames_report_undefined_geometry(files, capsys):
    assert cli.main(["metrics", "--real", str(files["real"]), "--fake", str(files["other"])]) == 0
    row = capsys.readouterr().out.splitlines()[-1]
    assert "| nan | 0/4 | 0.000 |" in row


@pytest.mark.parametrize(
    "argv, message",
    [
        (["metrics", "--real", "missing.mp4", "--fake", "missing.mp4"], "no such video file"),
        (
            ["metrics", "--real", "{real}", "--fake", "{small}"],
            "the videos differ: real is 5 frames of 128x128",
        ),
        (["protocol", "physics", "--model", "m", "--option", "steps"], "KEY=VALUE"),
    ],
)
def test_bad_input_is_one_error_line(files, capsys, argv, message):
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("error: ") and message in captured.err and "Traceback" not in captured.err


def _loaders(monkeypatch, **classes):
    """Stand-in ``cosmos.diffusion`` / ``cosmos.ar`` modules: ``classes`` maps module name to a loader class."""

    def fake_import(name):
        if name not in classes:
            raise ImportError(name)
        return types.SimpleNamespace(**{cls: load for cls, load in classes[name].items()})

    monkeypatch.setattr(cli, "import_module", fake_import)


def _loader(model=None, error=None):
    class Loader:
        @staticmethod
        def from_pretrained(name, device=None, dtype=None):
            if error is not None:
                raise error
            return model

    return Loader


def test_protocol_loads_diffusion_then_ar_and_runs(monkeypatch, capsys):
    model = repeat_last_model(resolution=(16, 16), chunk_frames=5)
    _loaders(
        monkeypatch,
        **{
            "cosmos.diffusion": {"DiffusionWFM": _loader(error=ValueError("not a diffusion model"))},
            "cosmos.ar": {"ARWFM": _loader(model)},
        },
    )
    with pytest.raises(SystemExit):  # argparse: unknown protocol name
        cli.main(["protocol", "3d", "--model", "toy"])
    capsys.readouterr()
    pytest.importorskip("pybullet", reason="simulated episodes need the [sim] extra")
    argv = ["protocol", "action", "--model", "toy", "--episodes", "1", "--option", "num_steps=3"]
    model._action_dim = 7  # the simulated Franka episodes have 7-D actions
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "| toy | 1 | 1 | 4 |" in text and "baseline: repeat last frame" in text
    assert model.calls[0]["num_steps"] == 3


def test_protocol_errors_name_the_problem(monkeypatch, capsys):
    _loaders(monkeypatch, **{"cosmos.ar": {"ARWFM": _loader(error=FileNotFoundError("no such folder"))}})
    assert cli.main(["protocol", "physics", "--model", "nope"]) == 2
    err = capsys.readouterr().err
    assert "cannot load world model 'nope'" in err and "cosmos.diffusion is not installed" in err
    assert "no such folder" in err
    _loaders(monkeypatch, **{"cosmos.diffusion": {"DiffusionWFM": _loader(object())}})
    assert cli.main(["protocol", "physics", "--model", "old"]) == 2
    err = capsys.readouterr().err
    assert "'old' loaded as DiffusionWFM, but object does not satisfy cosmos.core.WorldModel" in err
