"""Scenes from TransNetV2 predictions and the reference's scene filtering (spec §3.4-3.6)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.curate.config import SplitConfig
from cosmos.curate.splitting import (
    cut_f1,
    filter_scenes,
    fixed_stride_scenes,
    predictions_to_scenes,
    scene_cuts,
)

FPS = 10.0  # min length max(20, 48) = 48 frames unless overridden; crop 5 frames; max 600 frames


def test_predictions_to_scenes_edges():
    p = np.zeros(100)
    p[[30, 31, 70]] = 0.9
    assert predictions_to_scenes(p, 0.4) == [(0, 30), (32, 70), (71, 99)]
    assert predictions_to_scenes(np.zeros(50), 0.4) == [(0, 50)]  # no cut: the whole video
    assert predictions_to_scenes(np.zeros(50), 0.4, entire_scene_as_clip=False) == []
    q = np.zeros(20)
    q[0] = 0.9  # a transition at frame 0 is no scene end
    assert predictions_to_scenes(q, 0.4) == [(0, 20)]
    r = np.zeros(20)
    r[[5, 19]] = 0.9  # ends on a transition: no trailing scene
    assert predictions_to_scenes(r, 0.4) == [(0, 5), (6, 19)]
    assert scene_cuts([(0, 30), (32, 70), (71, 99)]) == [32, 71]


def test_exact_max_length_is_not_split():
    config = SplitConfig(max_length_s=60.0, crop_s=0.0)
    assert filter_scenes([(0, 600)], FPS, config) == [(0, 600)]
    assert filter_scenes([(0, 601)], FPS, config) == [(0, 600)]  # remainder of 1 frame < min length: dropped


def test_stride_pieces_are_cropped_and_short_remainder_dropped():
    config = SplitConfig(max_length_s=10.0)  # 100 frames, crop 5, min 48
    scenes = filter_scenes([(0, 260)], FPS, config)
    # pieces (0,100), (100,200), (200,260); each cropped by 5 at both ends
    assert scenes == [(5, 95), (105, 195), (205, 255)]
    assert filter_scenes([(0, 240)], FPS, config) == [(5, 95), (105, 195)]  # last piece 40 < 48 dropped


def test_truncate_mode_keeps_first_piece():
    config = SplitConfig(max_length_s=10.0, max_length_mode="truncate")
    assert filter_scenes([(0, 260)], FPS, config) == [(5, 95)]


def test_crop_to_empty_and_too_short_are_dropped():
    config = SplitConfig()
    assert filter_scenes([(0, 10), (20, 30)], FPS, config) == []  # cropped to empty
    assert filter_scenes([(0, 57)], FPS, config) == []  # 47 frames after crop < 48
    assert filter_scenes([(0, 58)], FPS, config) == [(5, 53)]  # exactly 48


def test_limit_clips_and_bad_fps():
    config = SplitConfig(limit_clips=1)
    assert filter_scenes([(0, 100), (100, 200)], FPS, config) == [(5, 95)]
    try:
        filter_scenes([(0, 100)], 0.0, config)
    except ValueError as exc:
        assert "fps" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("fps=0 must raise")


def test_fixed_stride_keeps_tails_of_at_least_min_length():
    config = SplitConfig(fixed_stride_s=10.0, min_length_s=2.0)
    assert fixed_stride_scenes(250, FPS, config) == [(0, 100), (100, 200), (200, 250)]
    assert fixed_stride_scenes(215, FPS, config) == [(0, 100), (100, 200)]  # 15 frames < 2 s


@settings(max_examples=60, deadline=None)
@given(
    bounds=st.lists(st.integers(1, 400), min_size=1, max_size=8),
    fps=st.sampled_from([8.0, 10.0, 24.0, 29.97]),
    max_s=st.floats(3.0, 30.0),
    mode=st.sampled_from(["stride", "truncate"]),
)
def test_filtered_scenes_respect_all_bounds(bounds, fps, max_s, mode):
    edges = np.cumsum([0] + bounds)
    scenes = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
    config = SplitConfig(max_length_s=max_s, max_length_mode=mode, min_length_frames=8)
    out = filter_scenes(scenes, fps, config)
    for start, end in out:
        assert config.min_length(fps) <= end - start <= config.max_length(fps) - 2 * config.crop_length(fps)
        assert any(a <= start and end <= b for a, b in scenes)  # inside one source scene
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(out, out[1:]))  # ordered, no overlap


def test_cut_f1():
    assert cut_f1([10, 20], [10, 21]) == (1.0, 1.0, 1.0)
    precision, recall, f1 = cut_f1([10, 50], [10, 20, 30])
    assert (precision, recall) == (0.5, 1 / 3) and abs(f1 - 0.4) < 1e-9
    assert cut_f1([], []) == (1.0, 1.0, 1.0) and cut_f1([], [5]) == (0.0, 0.0, 0.0)
