"""Face pixelation exactness and the offline Haar detector (spec §5)."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cosmos.core import ShapeError
from cosmos.guard import FaceBlur, HaarFaceDetector, pixelate_faces


def random_frame(h=64, w=80, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def runs(values):
    """Lengths of runs of equal consecutive entries along axis 0."""
    lengths, current = [], 1
    for a, b in zip(values[:-1], values[1:]):
        if np.array_equal(a, b):
            current += 1
        else:
            lengths.append(current)
            current = 1
    return lengths + [current]


@pytest.mark.parametrize(
    ("x1", "y1", "x2", "y2"), [(10, 5, 40, 30), (3, 7, 26, 50), (0, 0, 80, 64), (50, 20, 71, 41)]
)
def test_pixelation_is_a_5x5_grid_of_bilinear_means(x1, y1, x2, y2):
    frame = random_frame()
    out, done = pixelate_faces(frame, [(x1, y1, x2, y2)])
    assert done == [[x1, y1, x2, y2]]  # one image: its list of boxes
    region = out[y1:y2, x1:x2].astype(int)
    width, height = x2 - x1, y2 - y1
    row_runs, col_runs = runs(region), runs(region.transpose(1, 0, 2))
    assert len(row_runs) == 5 and len(col_runs) == 5
    assert sum(row_runs) == height and sum(col_runs) == width
    assert set(row_runs) <= {height // 5, -(-height // 5)} and set(col_runs) <= {width // 5, -(-width // 5)}
    small = cv2.resize(frame[y1:y2, x1:x2], (5, 5), interpolation=cv2.INTER_LINEAR)
    rows = np.cumsum([0] + row_runs[:-1])
    cols = np.cumsum([0] + col_runs[:-1])
    np.testing.assert_array_equal(region[np.ix_(rows, cols)], small)
    outside = np.ones(frame.shape[:2], bool)
    outside[y1:y2, x1:x2] = False
    np.testing.assert_array_equal(out[outside], frame[outside])


def test_tile_sizes_when_divisible():
    frame = random_frame()
    out, _ = pixelate_faces(frame, [(10, 10, 40, 35)])  # 30 x 25 -> 6 x 5 px tiles
    region = out[10:35, 10:40]
    assert runs(region) == [5] * 5 and runs(region.transpose(1, 0, 2)) == [6] * 5


def test_border_clipping():
    frame = random_frame()
    out, done = pixelate_faces(frame, [(-10, -6, 30, 25), (60, 40, 100, 90)])
    assert done == [[-10, -6, 30, 25], [60, 40, 100, 90]]
    small = cv2.resize(frame[0:25, 0:30], (5, 5), interpolation=cv2.INTER_LINEAR)
    assert out[0, 0].tolist() == small[0, 0].tolist()
    assert runs(out[0:25, 0:30]) == [5] * 5  # the clipped 30 x 25 region is the grid
    assert runs(out[40:64, 60:80].transpose(1, 0, 2)) == [4] * 5
    np.testing.assert_array_equal(out[30:40, 35:55], frame[30:40, 35:55])


def test_small_boxes_untouched():
    frame = random_frame()
    out, done = pixelate_faces(frame, [(10, 10, 29, 50), (40, 10, 70, 29)])  # 19 wide, 19 tall
    assert done == []
    np.testing.assert_array_equal(out, frame)
    out, done = pixelate_faces(frame, [(10, 10, 30, 30)])  # exactly 20 x 20
    assert done == [[10, 10, 30, 30]] and not np.array_equal(out, frame)


def test_box_fully_outside_is_ignored():
    frame = random_frame()
    out, done = pixelate_faces(frame, [(100, 100, 150, 150)])
    assert done == []
    np.testing.assert_array_equal(out, frame)


def test_input_frames_not_modified():
    frames = np.stack([random_frame(seed=s) for s in range(3)])
    before = frames.copy()
    out, _ = pixelate_faces(frames, [[(0, 0, 40, 40)], [], [(10, 10, 60, 60)]])
    np.testing.assert_array_equal(frames, before)
    assert out is not frames and not np.array_equal(out[0], frames[0])
    np.testing.assert_array_equal(out[1], frames[1])


def test_bad_inputs():
    with pytest.raises(ShapeError):
        pixelate_faces(np.zeros((2, 8, 8, 3), np.float32), [[], []])
    with pytest.raises(ShapeError):
        pixelate_faces(np.zeros((2, 8, 8, 3), np.uint8), [[]])


@pytest.fixture(scope="module")
def astronaut():
    data = pytest.importorskip("skimage.data")
    return data.astronaut()


def test_haar_finds_the_astronaut_face(astronaut):
    boxes, scores = HaarFaceDetector().detect(astronaut)
    assert boxes.shape == (1, 4) and scores.shape == (1,)
    x1, y1, x2, y2 = boxes[0]
    # the face is around x 177..272, y 66..161 in the 512 x 512 image
    assert 150 < x1 < 200 and 40 < y1 < 90 and 250 < x2 < 300 and 140 < y2 < 190


def test_face_blur_stage_pixelates_and_face_is_gone(astronaut):
    frames = np.stack([astronaut, astronaut])
    before = frames.copy()
    stage = FaceBlur(HaarFaceDetector())
    blurred, result = stage.process(frames)
    np.testing.assert_array_equal(frames, before)
    assert result.status == "pass" and all(len(f) == 1 for f in result.extras["faces"])
    x1, y1, x2, y2 = result.extras["faces"][0][0]
    assert not np.array_equal(blurred[0, y1:y2, x1:x2], frames[0, y1:y2, x1:x2])
    assert runs(blurred[0, y1:y2, x1:x2]).__len__() == 5
    assert HaarFaceDetector().detect(blurred[0])[0].shape[0] == 0


def test_haar_finds_nothing_on_a_face_free_image():
    data = pytest.importorskip("skimage.data")
    assert HaarFaceDetector().detect(data.coffee())[0].shape == (0, 4)


def test_haar_missing_cascade_is_an_error(tmp_path):
    from cosmos.core import CheckpointError

    with pytest.raises(CheckpointError):
        HaarFaceDetector(cascade_path=tmp_path / "nope.xml")


@given(
    x1=st.integers(-40, 90),
    y1=st.integers(-40, 70),
    w=st.integers(1, 90),
    h=st.integers(1, 90),
)
@settings(max_examples=60, deadline=None)
def test_pixelation_invariants(x1, y1, w, h):
    """For any box: input untouched, pixels outside the clipped box untouched, small boxes ignored, and a
    pixelated region holds at most 5 x 5 distinct tiles."""
    frame = random_frame()
    before = frame.copy()
    out, done = pixelate_faces(frame, [(x1, y1, x1 + w, y1 + h)])
    np.testing.assert_array_equal(frame, before)
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x1 + w, 80), min(y1 + h, 64)
    inside = np.zeros(frame.shape[:2], bool)
    if cx2 > cx1 and cy2 > cy1:
        inside[cy1:cy2, cx1:cx2] = True
    np.testing.assert_array_equal(out[~inside], frame[~inside])
    if w < 20 or h < 20 or not inside.any():
        assert done == []
        np.testing.assert_array_equal(out, frame)
    else:
        region = out[cy1:cy2, cx1:cx2]
        assert len(runs(region)) <= 5 and len(runs(region.transpose(1, 0, 2))) <= 5


def test_detect_every_k_carries_dilated_boxes():
    class Moving:
        name, model_id, revision = "moving", "moving", None

        def __init__(self):
            self.calls = []

        def detect(self, frame):
            index = int(frame[0, 0, 0])
            self.calls.append(index)
            x = 10 + 2 * index
            return np.array([[x, 10, x + 30, 40]], np.float32), np.ones(1, np.float32)

    frames = np.zeros((7, 64, 80, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(7)
    detector = Moving()
    _, result = FaceBlur(detector, detect_every=3).process(frames)
    assert detector.calls == [0, 3, 6] and result.extras["detected_frames"] == 3
    faces = result.extras["faces"]
    assert faces[0] == [[10, 10, 40, 40]] and faces[3] == [[16, 10, 46, 40]]
    # frame 1 sits between key frames 0 and 3: both boxes, 10 % larger (30 px -> 33 px)
    assert faces[1] == [[8, 8, 41, 41], [14, 8, 47, 41]]
    every = Moving()
    FaceBlur(every).process(frames)
    assert every.calls == list(range(7))
    with pytest.raises(ValueError):
        FaceBlur(every, detect_every=0)
