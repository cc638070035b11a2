"""Video content-safety classifier: head shapes, strict adapter, decision rule, frame sampling (spec §4)."""

import numpy as np
import pytest
import torch

from cosmos.core import CheckpointError, ShapeError
from cosmos.guard.video_safety import (
    VIDEO_SAFETY_CLASSES,
    SafetyHead,
    SafetyHeadConfig,
    VideoContentSafety,
    file_sample_indices,
)


def reference_state_dict(seed=0):
    """A random state dict with the released file's key names and shapes (network.layers.{0,1,3,4,6})."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for index, (fan_in, fan_out) in {0: (1152, 512), 3: (512, 256), 6: (256, 7)}.items():
        sd[f"network.layers.{index}.weight"] = torch.randn(fan_out, fan_in, generator=g) * 0.05
        sd[f"network.layers.{index}.bias"] = torch.randn(fan_out, generator=g) * 0.05
    for index, width in {1: 512, 4: 256}.items():
        sd[f"network.layers.{index}.weight"] = torch.rand(width, generator=g) + 0.5
        sd[f"network.layers.{index}.bias"] = torch.randn(width, generator=g) * 0.1
        sd[f"network.layers.{index}.running_mean"] = torch.randn(width, generator=g) * 0.1
        sd[f"network.layers.{index}.running_var"] = torch.rand(width, generator=g) + 0.5
        sd[f"network.layers.{index}.num_batches_tracked"] = torch.tensor(1000)
    return sd


def test_head_shapes_and_parameter_count():
    head = SafetyHead().eval()
    assert head(torch.randn(5, 1152)).shape == (5, 7)
    assert (
        sum(p.numel() for p in head.parameters())
        == 1152 * 512 + 512 + 512 * 2 + 512 * 256 + 256 + 256 * 2 + 256 * 7 + 7
    )
    with pytest.raises(ShapeError):
        head(torch.randn(5, 1024))
    with pytest.raises(ShapeError):
        head(torch.randn(1152))


def test_adapter_loads_reference_file_strictly(tmp_path):
    sd = reference_state_dict()
    path = tmp_path / "safety_filter.pt"
    torch.save({"model": sd, "epoch": 3}, path)  # the released file wraps the state dict under "model"
    head = SafetyHead.from_reference_file(path)
    # our module computes exactly the reference Sequential
    seq = torch.nn.Sequential(
        torch.nn.Linear(1152, 512),
        torch.nn.BatchNorm1d(512),
        torch.nn.ReLU(),
        torch.nn.Linear(512, 256),
        torch.nn.BatchNorm1d(256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 7),
    )
    seq.load_state_dict({k.removeprefix("network.layers."): v for k, v in sd.items()})
    x = torch.nn.functional.normalize(torch.randn(4, 1152), dim=-1)
    with torch.no_grad():
        torch.testing.assert_close(head(x), seq.eval()(x), atol=1e-6, rtol=0)
    # round trip through our layout
    head.save_pretrained(tmp_path / "ours")
    again = SafetyHead.from_pretrained(tmp_path / "ours")
    with torch.no_grad():
        torch.testing.assert_close(again(x), head(x))
    # from_pretrained on the reference folder layout
    assert isinstance(SafetyHead.from_pretrained(tmp_path), SafetyHead)


@pytest.mark.parametrize("breakage", ["missing", "unexpected", "shape"])
def test_adapter_rejects_bad_files(tmp_path, breakage):
    sd = reference_state_dict()
    if breakage == "missing":
        del sd["network.layers.4.running_var"]
    elif breakage == "unexpected":
        sd["network.layers.7.weight"] = torch.zeros(3)
    else:
        sd["network.layers.6.weight"] = torch.zeros(8, 256)
    path = tmp_path / "safety_filter.pt"
    torch.save({"model": sd}, path)
    with pytest.raises(CheckpointError):
        SafetyHead.from_reference_file(path)


def test_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no video safety head"):
        VideoContentSafety.from_checkpoint_dir(tmp_path)


class ChosenEmbedder:
    """Returns a chosen embedding per frame: frame value v (pixel [0,0,0]) selects class-prototype v."""

    model_id = "chosen-vectors"
    revision = None

    def __init__(self, prototypes):
        self.prototypes = prototypes
        self.seen = 0

    def embed(self, frames):
        self.seen += len(frames)
        return torch.stack([self.prototypes[int(f[0, 0, 0])] for f in frames])


@pytest.fixture()
def rule():
    """A head whose class is argmax of the first 7 embedding dims, and 7 prototype embeddings."""
    head = SafetyHead(SafetyHeadConfig(input_dim=16, hidden_dims=(8, 8), num_classes=7)).eval()
    with torch.no_grad():
        for bn in (head.norm1, head.norm2):
            bn.running_mean.zero_(), bn.running_var.fill_(1 - bn.eps), bn.weight.fill_(1), bn.bias.fill_(0)
        head.proj1.weight.zero_(), head.proj1.bias.zero_()
        head.proj1.weight[:7, :7] = torch.eye(7)
        head.proj2.weight.zero_(), head.proj2.bias.zero_()
        head.proj2.weight[:7, :7] = torch.eye(7)
        head.classifier.weight.zero_(), head.classifier.bias.zero_()
        head.classifier.weight[:, :7] = torch.eye(7)
    prototypes = [torch.nn.functional.one_hot(torch.tensor(c), 16).float() for c in range(7)]
    return head, prototypes


def frames_with_classes(classes):
    frames = np.zeros((len(classes), 8, 8, 3), np.uint8)
    for i, c in enumerate(classes):
        frames[i, 0, 0, 0] = c
    return frames


def test_decision_rule_all_safe_passes(rule):
    head, prototypes = rule
    stage = VideoContentSafety(head, ChosenEmbedder(prototypes), batch_size=4)
    result = stage.check(frames_with_classes([0] * 10))
    assert result.status == "pass"
    assert [f["class"] for f in result.extras["frame_classes"]] == ["Safe"] * 10


@pytest.mark.parametrize("unsafe_class", range(1, 7))
def test_any_unsafe_frame_blocks(rule, unsafe_class):
    head, prototypes = rule
    classes = [0] * 9 + [unsafe_class]
    result = VideoContentSafety(head, ChosenEmbedder(prototypes), batch_size=3).check(
        frames_with_classes(classes)
    )
    assert result.status == "block"
    assert result.categories == (VIDEO_SAFETY_CLASSES[unsafe_class],)
    assert "frame 9" in result.detail


def test_early_exit_after_first_unsafe_frame(rule):
    head, prototypes = rule
    embedder = ChosenEmbedder(prototypes)
    classes = [0, 2] + [0] * 20
    result = VideoContentSafety(head, embedder, batch_size=1).check(frames_with_classes(classes))
    assert result.status == "block" and embedder.seen == 2
    assert len(result.extras["frame_classes"]) == 2


def test_embedder_errors_propagate(rule):
    head, _ = rule

    class Broken:
        model_id, revision = "broken", None

        def embed(self, frames):
            raise RuntimeError("CUDA out of memory")

    with pytest.raises(RuntimeError):  # the reference skipped such frames (fail-open)
        VideoContentSafety(head, Broken()).check(frames_with_classes([0, 0]))


def test_bad_frames_raise(rule):
    head, prototypes = rule
    stage = VideoContentSafety(head, ChosenEmbedder(prototypes))
    with pytest.raises(ShapeError):
        stage.check(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ShapeError):
        stage.check(np.zeros((0, 8, 8, 3), np.uint8))


def test_file_sampling_two_per_second():
    assert file_sample_indices(121, 24.0) == list(range(0, 121, 12))
    assert file_sample_indices(31, 30.0) == [0, 15, 30]
    assert file_sample_indices(5, 1.0) == [0, 1, 2, 3, 4]  # reference: step 0 -> range() raises
    with pytest.raises(ShapeError):
        file_sample_indices(0, 24.0)


def test_check_file_uses_sampling(rule, tmp_path):
    from cosmos.core import write_video

    head, prototypes = rule
    frames = np.zeros((8, 16, 16, 3), np.uint8)
    path = write_video(tmp_path / "clip.mp4", frames, fps=4.0)
    result = VideoContentSafety(head, ChosenEmbedder(prototypes)).check_file(path)
    assert [f["frame"] for f in result.extras["frame_classes"]] == [0, 2, 4, 6]
    assert result.status == "pass"


def test_siglip_embedder_on_a_tiny_local_model(tmp_path):
    """SiglipEmbedder end to end, offline: a tiny random SigLIP saved here, then the head and decision rule."""
    pytest.importorskip("transformers")
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    from cosmos.guard.video_safety import SiglipEmbedder

    config = SiglipConfig(
        text_config=dict(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            vocab_size=64,
            max_position_embeddings=16,
        ),
        vision_config=dict(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ),
    )
    SiglipModel(config).save_pretrained(tmp_path)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    embedder = SiglipEmbedder(str(tmp_path))
    frames = np.random.default_rng(0).integers(0, 256, (3, 40, 50, 3), dtype=np.uint8)
    embeddings = embedder.embed(frames)
    assert embeddings.shape == (3, 16) and embeddings.dtype == torch.float32
    torch.testing.assert_close(embeddings.norm(dim=-1), torch.ones(3))
    head = SafetyHead(SafetyHeadConfig(input_dim=16)).eval()
    result = VideoContentSafety(head, embedder).check(frames)
    assert result.status in ("pass", "block") and result.model_id.startswith(str(tmp_path))
