"""The cosmos-curate CLI: sim, then run on a folder of simulated + generated videos, dedup and shard."""

import json

import pytest

from cosmos.core import write_video
from cosmos.curate.cli import main
from cosmos.curate.shards import iter_samples
from cosmos.curate.synthetic import cut_video


def test_run_split_dedup_shard_on_a_folder(tmp_path, capsys):
    pytest.importorskip("pybullet")
    assert (
        main(["sim", "robot", "--num", "1", "--out", str(tmp_path / "sim"), "--size", "64", "--frames", "12"])
        == 0
    )
    assert (tmp_path / "sim/contact_sheets/robot.png").is_file()
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "robot.mp4").write_bytes((tmp_path / "sim/videos/robot_000000.mp4").read_bytes())
    frames, _ = cut_video([24, 24], 64, 96, seed=1)
    write_video(inputs / "synthetic.mp4", frames, 8.0)  # 6 s: one fixed-stride clip
    (inputs / "broken.mp4").write_bytes(b"not a video at all")  # recorded as an error, the run goes on
    out = tmp_path / "out"
    args = ["run", str(inputs), str(out), "--split-algorithm", "fixed-stride", "--min-length-s", "2"]
    assert main(args) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["videos"] == 3 and manifest["counts"]["sharded"] == 2
    errors = {v["relative_path"]: v["errors"] for v in manifest["videos"]}
    assert "container" in errors["broken.mp4"]["read"] and not errors["synthetic.mp4"]
    samples = {s["metadata"]["source_video"]: s for s in iter_samples(out / "shards")}
    assert samples["robot.mp4"]["video"].shape == (3, 13, 64, 64)
    assert "clips sharded from 3 videos" in capsys.readouterr().out
    # the sub-commands on the same folder reproduce the manifest
    before = (out / "manifest.json").read_bytes()
    assert main(["dedup", str(out)]) == 0 and main(["shard", str(out)]) == 0
    assert (out / "manifest.json").read_bytes() == before
    with pytest.raises(SystemExit):
        main(["dedup", str(tmp_path / "nowhere")])
