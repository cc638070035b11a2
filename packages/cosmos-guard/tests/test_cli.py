"""The cosmos-guard CLI through its entry point."""

import json

import numpy as np
import pytest

from cosmos.core import read_video, write_video
from cosmos.guard import HaarFaceDetector
from cosmos.guard.cli import main


def last_json(out):
    return json.loads(out[out.index("{\n") :])


def test_text_allowed_and_blocked(capsys):
    assert main(["text", "a robot arm stacks red cubes", "--negative-prompt", "blurry, ugly"]) == 0
    report = last_json(capsys.readouterr().out)
    assert report["allowed"] and [s["input"] for s in report["stages"]] == ["prompt", "negative_prompt"]
    assert main(["text", "a b0mb in the car", "--json"]) == 1
    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["blocked_by"] == "blocklist" and report["categories"] == ["violence"]


def test_text_nvidia_preset_fails_closed(tmp_path, capsys):
    assert (
        main(["text", "a robot", "--preset", "cosmos-predict1", "--checkpoint-dir", str(tmp_path), "--json"])
        == 1
    )
    assert json.loads(capsys.readouterr().out)["stages"][0]["status"] == "error"


def test_video_blurs_the_face_of_a_real_photo(tmp_path, capsys):
    data = pytest.importorskip("skimage.data")
    photo = data.astronaut()  # 512 x 512 RGB, one face
    clip = np.stack([photo] * 3)
    src = write_video(tmp_path / "in.mp4", clip, fps=8, crf=12)
    frames_in, _ = read_video(src)
    detector = HaarFaceDetector()
    assert len(detector.detect(frames_in[0])[0]) == 1
    out_path = tmp_path / "out.mp4"
    report_path = tmp_path / "report.json"
    assert main(["video", str(src), "--out", str(out_path), "--report", str(report_path)]) == 0
    printed = capsys.readouterr().out
    assert "face_blur[video]: pass" in printed
    report = json.loads(report_path.read_text())
    faces = report["stages"][0]["extras"]["faces"]
    assert [len(f) for f in faces] == [1, 1, 1]
    frames_out, fps = read_video(out_path)
    assert frames_out.shape == clip.shape and fps == pytest.approx(8)
    assert all(len(detector.detect(f)[0]) == 0 for f in frames_out)
    x1, y1, x2, y2 = faces[0][0]
    face_in = frames_in[0, y1:y2, x1:x2].astype(float)
    face_out = frames_out[0, y1:y2, x1:x2].astype(float)
    assert np.abs(face_in - face_out).mean() > 10  # the face changed ...
    background = (slice(300, 500), slice(0, 150))
    assert (
        np.abs(frames_in[0][background].astype(float) - frames_out[0][background]).mean() < 3
    )  # ... not the rest


def test_video_missing_file(tmp_path, capsys):
    assert main(["video", str(tmp_path / "nope.mp4")]) == 2


def test_convert_safety_head(tmp_path, capsys):
    import torch

    from cosmos.guard.video_safety import SafetyHead, VideoContentSafety

    head = SafetyHead().eval()
    official = {
        k.replace("proj1.", "network.layers.0.")
        .replace("norm1.", "network.layers.1.")
        .replace("proj2.", "network.layers.3.")
        .replace("norm2.", "network.layers.4.")
        .replace("classifier.", "network.layers.6."): v
        for k, v in head.state_dict().items()
    }
    torch.save({"model": official}, tmp_path / "safety_filter.pt")
    out = tmp_path / "converted"
    assert main(["convert", "safety-head", str(tmp_path / "safety_filter.pt"), str(out)]) == 0
    assert (out / "model.safetensors").is_file()
    stage = VideoContentSafety.from_checkpoint_dir(out)
    x = torch.randn(2, 1152)
    with torch.no_grad():
        torch.testing.assert_close(stage.head(x), head(x))
    torch.save({"model": {"network.layers.0.weight": torch.zeros(2)}}, tmp_path / "bad.pt")
    assert main(["convert", "safety-head", str(tmp_path / "bad.pt"), str(tmp_path / "x")]) == 2
    assert "missing" in capsys.readouterr().err
