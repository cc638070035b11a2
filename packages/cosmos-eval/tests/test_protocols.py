"""physics_alignment and action_following on toy world models (conftest.py): an oracle that returns the true
future must beat a model that repeats the last frame; tables print as markdown and round-trip through JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from cosmos.core import ShapeError, WorldModel, frames_to_video
from cosmos.eval import (
    EvalTable,
    PhysicsEpisode,
    action_following,
    colour_labels,
    consistency_3d,
    future_scores,
    object_iou,
    physics_alignment,
    physics_episodes,
    rollout_future,
)

from .conftest import INTRINSICS, ToyWorldModel, lookup_oracle, repeat_last_model


def _needs_sim() -> None:
    pytest.importorskip("pybullet", reason="the physics scenes need the [sim] extra (pybullet)")


@pytest.fixture(scope="module")
def clips() -> list[PhysicsEpisode]:
    """One held-out clip of each of the eight scenes, 32x32, 9 frames at 16 fps."""
    _needs_sim()
    return physics_episodes(1, (32, 32), 9)


def _rows(table: EvalTable, model: str) -> dict[str, dict]:
    return {row["scene"]: row for row in table.rows if row["model"] == model}


# ------------------------------------------------------------------------------------------------ physics


def test_physics_oracle_beats_repeat_last_frame(clips):
    truth = frames_to_video(np.stack([clip.video for clip in clips]))
    oracle = lookup_oracle(truth)
    assert isinstance(oracle, WorldModel)
    table = physics_alignment(oracle, 1, clips, name="oracle", rollout_options={"num_steps": 3})
    oracle_rows, baseline_rows = _rows(table, "oracle"), _rows(table, "baseline: repeat last frame")
    assert list(oracle_rows)[:-1] == [clip.scene for clip in clips] and "all" in oracle_rows
    assert len(table.rows) == 9 + 9 + 1  # model and baseline per scene + all; the tracking ceiling
    best, frozen = oracle_rows["all"], baseline_rows["all"]
    assert best["psnr"] == math.inf and best["ssim"] == pytest.approx(1.0)
    assert frozen["psnr"] < 60 and frozen["ssim"] < 1.0
    assert best["iou"] > frozen["iou"]
    ceiling = next(row for row in table.rows if row["model"].startswith("tracking rule"))
    assert ceiling["iou"] == pytest.approx(best["iou"]) and ceiling["psnr"] is None
    assert oracle.calls[0]["num_steps"] == 3 and oracle.calls[0]["num_frames"] == 8


def test_physics_table_prints_markdown_and_round_trips_json(clips, tmp_path):
    truth = frames_to_video(np.stack([clip.video for clip in clips]))
    table = physics_alignment(lookup_oracle(truth), 3, clips, name="oracle", baselines=False)
    text = str(table)
    assert text.splitlines()[2] == "| model | scene | context_frames | clips | psnr | ssim | iou |"
    assert "| oracle | free_fall | 3 | 1 | inf | 1.000 |" in text  # inf printed as such, not hidden
    assert "| oracle | all | 3 | 8 |" in text
    path = table.save_json(tmp_path / "physics.json")
    data = json.loads(path.read_text())  # strict JSON: inf became null
    assert data["rows"][-1]["psnr"] is None and data["metadata"]["context_frames"] == 3
    loaded = EvalTable.load_json(path)
    assert loaded.title == table.title and loaded.columns == table.columns and len(loaded.rows) == 9


def test_physics_simulates_its_own_held_out_clips():
    _needs_sim()
    model = repeat_last_model(resolution=(16, 16), chunk_frames=5)
    table = physics_alignment(model, 1, 1, baselines=False, name="frozen")
    assert [row["clips"] for row in table.rows] == [1] * 8 + [8]
    assert table.metadata["seeds"] == [1_000_000] and table.metadata["frames"] == 5
    assert all(0 <= row["iou"] <= 1 for row in table.rows if not math.isnan(row["iou"]))


def test_physics_bad_input(clips):
    with pytest.raises(TypeError, match="does not satisfy cosmos.core.WorldModel.*rollout"):
        physics_alignment(object(), 1, clips)
    with pytest.raises(ShapeError, match="context_frames=2"):
        physics_alignment(repeat_last_model(), 2, clips)
    with pytest.raises(ShapeError, match="world model works at"):
        physics_alignment(repeat_last_model(resolution=(64, 64)), 1, clips)
    with pytest.raises(ShapeError, match="nothing left to predict"):
        short = [PhysicsEpisode(c.video[:1], c.masks[:1], c.scene) for c in clips]
        physics_alignment(repeat_last_model(), 1, short)


def test_future_scores_per_frame_and_pooled():
    true = torch.full((1, 3, 3, 8, 8), -1.0)  # 8-bit level 0
    pred = true.clone()
    pred[:, :, 2] = 51 / 127.5 - 1  # level 51: off by 0.4 in frame 2, frame 1 exact
    per_frame, pooled = future_scores(pred, true, 1), future_scores(pred, true, 1, pooled=True)
    assert per_frame["psnr"] == math.inf  # the mean of an infinite and a finite per-frame PSNR
    assert pooled["psnr"] == pytest.approx(10 * math.log10(4 / (0.4**2 / 2)))
    assert future_scores(pred, true, 2)["psnr"] == pytest.approx(10 * math.log10(4 / 0.4**2))
    assert pooled["ssim"] == per_frame["ssim"] < 1


def test_eval_table_json_takes_numpy_and_torch_values(tmp_path):
    table = EvalTable("t", [{"a": np.float32(1.5), "b": torch.tensor(2.0), "c": math.nan}],
                      metadata={"k": np.eye(2), "seeds": (1, 2)})  # fmt: skip
    data = json.loads(table.save_json(tmp_path / "t.json").read_text())
    assert data["rows"] == [{"a": 1.5, "b": 2.0, "c": None}]
    assert data["metadata"] == {"k": [[1.0, 0.0], [0.0, 1.0]], "seeds": [1, 2]}
    assert str(table).splitlines()[-1] == "| 1.500 | 2.000 | nan |"


# ------------------------------------------------------------------------------------------------ tracking


def test_tracking_rule_scores_moved_and_missing_objects():
    frames = np.full((2, 16, 16, 3), 40, np.uint8)
    masks = np.zeros((2, 16, 16), np.int64)
    frames[:, 2:6, 2:6] = (250, 20, 20)
    masks[:, 2:6, 2:6] = 1
    video = frames_to_video(frames)[0]  # [3, T, H, W]
    labels = colour_labels(video, video[:, 0], masks[0])
    assert object_iou(labels, masks) == 1.0
    shifted = torch.roll(video, shifts=2, dims=3)  # the object moved 2 px right: IoU 8/24
    assert object_iou(colour_labels(shifted, video[:, 0], masks[0]), masks) == pytest.approx(8 / 24)
    assert math.isnan(object_iou(np.zeros((2, 16, 16), np.int64), np.zeros((2, 16, 16), np.int64)))
    with pytest.raises(ShapeError):
        object_iou(labels, masks[:1])


# ------------------------------------------------------------------------------------------ action following


def _panning_episode(seed: int, frames: int = 9, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """A camera panning over a periodic random texture: ``frame[k + 1] = roll(frame[k], actions[k])`` pixels."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    actions = rng.integers(-2, 3, (frames - 1, 2)).astype(np.float32)
    video = [image]
    for dy, dx in actions.astype(int):
        video.append(np.roll(video[-1], (dy, dx), axis=(0, 1)))
    return np.stack(video), actions


def _panning_oracle(**kwargs) -> ToyWorldModel:
    """Knows the panning world's law: rolls the last context frame by the cumulative actions."""

    def future(video, actions, n):
        frames, last = [], video[:, :, -1]
        for k in range(n):
            last = torch.stack(
                [torch.roll(f, (int(a[0]), int(a[1])), dims=(1, 2)) for f, a in zip(last, actions[:, k])]
            )
            frames.append(last)
        return torch.stack(frames, dim=2)

    return ToyWorldModel(future, **kwargs)


def test_action_following_oracle_beats_repeat_last_frame():
    episodes = [_panning_episode(seed) for seed in range(5)]
    oracle = action_following(_panning_oracle(), episodes, batch_size=2, name="oracle")
    frozen = action_following(repeat_last_model(), episodes, baselines=False, name="frozen")
    model, baseline = oracle.rows
    assert model["model"] == "oracle" and baseline["model"] == "baseline: repeat last frame"
    assert model["psnr"] == math.inf and model["ssim"] == pytest.approx(1.0)
    assert baseline["psnr"] < 20 and model["ssim"] > baseline["ssim"]
    assert frozen.rows == [{**baseline, "model": "frozen"}]
    assert model["episodes"] == 5 and model["frames"] == 5 * 8


def test_action_following_takes_datasets_of_any_form_and_length():
    (v0, a0), (v1, a1), (v2, a2) = _panning_episode(0), _panning_episode(1), _panning_episode(2, frames=7)
    dataset = [
        (v0, a0),
        {"video": frames_to_video(v1)[0], "actions": torch.from_numpy(a1)},  # float [3, T, H, W]
        (v2, a2),  # shorter episode: its own batch
    ]
    table = action_following(_panning_oracle(), iter(dataset), context_frames=3, baselines=False)
    assert table.rows[0]["episodes"] == 3 and table.rows[0]["frames"] == 6 + 6 + 4
    assert table.rows[0]["psnr"] == math.inf


class _LatentPanningOracle(ToyWorldModel):
    """The panning oracle on the contract's latent path: ``predict`` records the actions it knows from the state
    (the context's) and rolls the last context frame by the new ones."""

    def __init__(self, **kwargs):
        super().__init__(_panning_oracle().predict_future, **kwargs)
        self.known: list[torch.Tensor | None] = []

    def predict(self, state, actions, *, num_frames=None, seed=None, **sampler_options):
        from cosmos.core import Latent, WorldState

        self.known.append(state.actions)
        video = state.chunks[0].z
        full = torch.cat([video, self.predict_future(video, actions, actions.shape[1])], dim=2)
        return WorldState((Latent(full, 1, 1),), (full.shape[2],), (0,), actions)


def test_action_following_can_give_the_context_actions():
    episodes = [_panning_episode(seed) for seed in range(3)]
    model = _LatentPanningOracle()
    table = action_following(model, episodes, context_frames=3, batch_size=2, baselines=False,
                             context_actions=True)  # fmt: skip
    assert table.rows[0]["psnr"] == math.inf and table.metadata["context_actions"] == "given"
    assert not model.calls  # the latent path, not rollout
    known = torch.cat(model.known)
    assert torch.equal(known, torch.from_numpy(np.stack([a[:2] for _, a in episodes])))  # actions[: T0 - 1]
    default = action_following(model, episodes, context_frames=3, baselines=False)
    assert len(model.calls) == 1 and default.metadata["context_actions"] == "unknown (zeros)"
    with pytest.raises(ShapeError, match="context_actions must be"):
        rollout_future(model, frames_to_video(episodes[0][0]), torch.zeros(1, 6, 2), 3,
                       context_actions=torch.zeros(1, 3, 2))  # fmt: skip


def test_action_following_bad_input():
    video, actions = _panning_episode(0)
    with pytest.raises(ShapeError, match=r"need actions \[8, A\]"):
        action_following(_panning_oracle(), [(video, actions[:-1])])
    with pytest.raises(ShapeError, match="the model takes 3"):
        action_following(_panning_oracle(action_dim=3), [(video, actions)])
    with pytest.raises(ShapeError, match="action_dim 0"):
        action_following(repeat_last_model(action_dim=0), [(video, actions)])
    with pytest.raises(ShapeError, match="expected \\(video, actions\\)"):
        action_following(_panning_oracle(), [video])
    with pytest.raises(ShapeError, match="no episodes"):
        action_following(_panning_oracle(), [])
    with pytest.raises(TypeError, match="WorldModel"):
        action_following(lambda video: video, [(video, actions)])


# ------------------------------------------------------------------------------------------ 3D consistency


def test_consistency_3d_tells_a_consistent_model_from_a_drifting_one(orbit, unrelated):
    clips = [orbit.frames, orbit.frames[::-1].copy()]  # the orbit and its reverse: two static-scene clips
    truth = frames_to_video(np.stack(clips))
    settings = {"resolution": (128, 128), "action_dim": 0, "context_frames": (1,), "chunk_frames": 5}
    oracle = lookup_oracle(truth, **settings)
    table = consistency_3d(oracle, clips, intrinsics=INTRINSICS, name="oracle")
    model, real = table.rows
    assert model["sampson_defined"] == "2/2" and model["sampson_px"] < 0.5 and model["pose_success"] == 1.0
    assert real["model"].startswith("real videos") and real["sampson_px"] == pytest.approx(
        model["sampson_px"]
    )
    drifting = ToyWorldModel(
        lambda video, actions, n: frames_to_video(unrelated[1 : 1 + n]).expand(len(video), -1, -1, -1, -1),
        **settings,
    )
    bad = consistency_3d(drifting, clips, intrinsics=INTRINSICS, baselines=False).rows[0]
    assert bad["sampson_defined"] == "0/2" and math.isnan(bad["sampson_px"]) and bad["pose_success"] == 0.0
    assert "| ToyWorldModel | 2 | 5 | nan | 0/2 | 0.000 |" in str(
        consistency_3d(drifting, clips, baselines=False)
    )


def test_consistency_3d_bad_input(orbit):
    with pytest.raises(ShapeError, match="needs actions"):
        consistency_3d(repeat_last_model(resolution=(128, 128)), [orbit.frames])
    with pytest.raises(ShapeError, match="no clips"):
        consistency_3d(repeat_last_model(action_dim=0), [])
