"""Motion filter (codec motion vectors), technical quality, aesthetic MLP adapter, overlay-text heuristics."""

import numpy as np
import pytest
import torch

from cosmos.core import CheckpointError
from cosmos.curate.config import MotionConfig, OverlayTextConfig, QualityConfig
from cosmos.curate.media import encode_h264
from cosmos.curate.motion import MotionFilterStage, MotionScores, has_small_motion, motion_scores
from cosmos.curate.overlay_text import find_overlay_text, iou
from cosmos.curate.quality import AestheticMLP, QualityFilterStage, TechnicalQualityScorer
from cosmos.curate.synthetic import shot_frames
from cosmos.curate.tasks import Clip, VideoTask


@pytest.fixture(scope="module")
def clips():
    moving = encode_h264(shot_frames(24, 256, 288, seed=1, moving=True), 8.0)
    static = encode_h264(shot_frames(24, 256, 288, seed=1, moving=False), 8.0)
    slow = encode_h264(shot_frames(24, 256, 288, seed=1, moving=True, speed=0.25), 8.0)
    return {"moving": moving, "static": static, "slow": slow}


def test_motion_scores_separate_static_from_moving(clips):
    config = MotionConfig(enabled=True)
    moving, static, slow = (motion_scores(clips[k], target_fps=2.0) for k in ("moving", "static", "slow"))
    assert not has_small_motion(moving, config) and has_small_motion(static, config)
    assert static.global_mean == 0.0 and moving.global_mean > 5 * config.global_mean_threshold
    assert static.global_mean < slow.global_mean < moving.global_mean  # monotone in the drift speed


def test_undecodable_clip_scores_minus_one():
    assert motion_scores(b"not a video") == MotionScores(-1.0, -1.0)


def _task_with(clips_bytes: dict[str, bytes], size=(256, 288)) -> VideoTask:
    task = VideoTask("x.mp4", "x.mp4")
    for name, data in clips_bytes.items():
        clip = Clip(uuid=name, source_video="x.mp4", frame_range=(0, 24), fps_source=8.0, encoded_data=data)
        clip.metadata = {"width": size[1], "height": size[0], "framerate": 8.0, "num_frames": 24}
        task.clips.append(clip)
    return task


def test_motion_stage_rejects_static_and_small_clips(clips):
    task = _task_with({"moving": clips["moving"], "static": clips["static"]})
    MotionFilterStage(MotionConfig(enabled=True)).process_data([task])
    assert [c.uuid for c in task.clips] == ["moving"] and [c.uuid for c in task.filtered_clips] == ["static"]
    assert task.filtered_clips[0].filtered_by == "motion" and task.clip_stats["filtered_motion"] == 1
    small = _task_with({"moving": clips["moving"]}, size=(128, 128))
    MotionFilterStage(MotionConfig(enabled=True)).process_data([small])
    assert not small.clips and "resolution too small" in small.filtered_clips[0].errors["motion"]
    scored = _task_with({"static": clips["static"]})
    MotionFilterStage(MotionConfig(enabled=True, score_only=True)).process_data([scored])
    assert scored.clips and scored.clips[0].scores["motion_global_mean"] == 0.0


def test_technical_quality_prefers_sharp_well_exposed_colour():
    scorer = TechnicalQualityScorer()
    sharp = shot_frames(4, 96, 96, seed=3)
    as_tensor = torch.from_numpy(sharp).permute(0, 3, 1, 2).float()
    blurred = torch.nn.functional.avg_pool2d(as_tensor, 9, stride=1, padding=4, count_include_pad=False)
    blurred = blurred.permute(0, 2, 3, 1).round().to(torch.uint8).numpy()
    dark = (sharp // 12).astype(np.uint8)
    grey = np.repeat(sharp.mean(-1, keepdims=True), 3, -1).astype(np.uint8)
    good = scorer.score(sharp)
    assert 0 < good <= 1
    assert scorer.score(dark) < good and scorer.score(grey) < good
    assert scorer.score(np.zeros((0, 8, 8, 3), np.uint8)) == -1.0
    assert (
        TechnicalQualityScorer().frame_scores(blurred).mean()
        < TechnicalQualityScorer().frame_scores(sharp).mean()
    )


def test_quality_stage_threshold_and_aesthetic_needs_weights():
    task = _task_with({"a": b""})
    task.clips[0].frames = shot_frames(3, 64, 64, seed=0) // 16
    QualityFilterStage(QualityConfig(technical_quality_threshold=0.5)).process_data([task])
    assert task.filtered_clips and task.filtered_clips[0].filtered_by == "quality:technical_quality"
    with pytest.raises(ValueError, match="aesthetic"):
        QualityFilterStage(QualityConfig(aesthetic_threshold=3.5))


def test_aesthetic_mlp_loads_laion_keys_strictly(tmp_path):
    torch.manual_seed(0)
    laion = {
        "layers.0.weight": torch.randn(1024, 768),
        "layers.0.bias": torch.randn(1024),
        "layers.2.weight": torch.randn(128, 1024),
        "layers.2.bias": torch.randn(128),
        "layers.4.weight": torch.randn(64, 128),
        "layers.4.bias": torch.randn(64),
        "layers.6.weight": torch.randn(16, 64),
        "layers.6.bias": torch.randn(16),
        "layers.7.weight": torch.randn(1, 16),
        "layers.7.bias": torch.randn(1),
    }
    torch.save(laion, tmp_path / "sac.pth")
    mlp = AestheticMLP.from_file(tmp_path / "sac.pth")
    x = torch.nn.functional.normalize(torch.randn(2, 768), dim=-1)
    expected = x
    for i in (0, 2, 4, 6, 7):
        expected = expected @ laion[f"layers.{i}.weight"].T + laion[f"layers.{i}.bias"]
    torch.testing.assert_close(mlp(x), expected[:, 0])
    del laion["layers.7.bias"]
    torch.save(laion, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="fc5.bias"):
        AestheticMLP.from_file(tmp_path / "bad.pth")


def test_overlay_text_tracks_and_corner_logos():
    config = OverlayTextConfig()
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0 and iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0
    caption = (100, 400, 500, 440)  # a lower third that stays put
    assert find_overlay_text([(i * 3, [caption]) for i in range(6)], 640, 480, config)
    moving = [
        (i * 3, [(100 + 40 * i, 200, 180 + 40 * i, 230)]) for i in range(6)
    ]  # scene text moving with the camera
    assert not find_overlay_text(moving, 640, 480, config)
    logo = [(0, [(600, 5, 630, 25)]), (30, [(601, 5, 631, 25)]), (60, [(300, 200, 340, 230)])]
    assert find_overlay_text(logo, 640, 480, config)
    assert not find_overlay_text(logo, 640, 480, OverlayTextConfig(detect_corner_text=False))
    assert not find_overlay_text([], 640, 480, config)
