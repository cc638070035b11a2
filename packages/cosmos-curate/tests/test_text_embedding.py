"""Caption text embeddings flow from the stage through the writer into the shards."""

import json

import numpy as np
import pytest

from cosmos.curate.captioning import CaptionStage
from cosmos.curate.config import CaptionConfig, CurateConfig, TextEmbeddingConfig
from cosmos.curate.media import encode_h264
from cosmos.curate.pipeline import run_shard
from cosmos.curate.shards import iter_samples
from cosmos.curate.synthetic import shot_frames
from cosmos.curate.tasks import Clip, VideoTask, clip_uuid
from cosmos.curate.text_embedding import TextEmbeddingStage
from cosmos.curate.writer import ClipWriterStage


class CharacterEncoder:
    """Stand-in text encoder: one row per character, D = 4 (no weights needed)."""

    name = "t5_xxl"

    def encode(self, texts):
        return [np.tile(np.arange(4, dtype=np.float16), (len(t), 1)) for t in texts]


def test_text_embeddings_reach_the_shards(tmp_path):
    frames = shot_frames(300, 32, 48, seed=0)
    task = VideoTask("v.mp4", "v.mp4")
    clip = Clip(uuid=clip_uuid("v.mp4", 0, 300), source_video="v.mp4", frame_range=(0, 300), fps_source=30.0)
    clip.encoded_data = encode_h264(frames, 30.0, crf=30)
    clip.metadata = {"width": 48, "height": 32, "framerate": 30.0, "num_frames": 300}
    clip.frames = frames[::30]
    task.clips.append(clip)
    for stage in (
        CaptionStage(CaptionConfig(window_size=128, remainder_threshold=40)),
        TextEmbeddingStage(TextEmbeddingConfig(encoder="t5"), encoder=CharacterEncoder()),
        ClipWriterStage(tmp_path),
    ):
        stage.process_data([task])
    assert (tmp_path / "text_embeddings" / f"{clip.uuid}.npz").is_file()
    run_shard(tmp_path, CurateConfig())
    (sample,) = list(iter_samples(tmp_path / "shards", video_format="bytes"))
    captions = [next(iter(w["caption"].values())) for w in sample["metadata"]["windows"]]
    assert len(captions) == 3  # 128 + 128 + 44 (>= 40)
    assert [tuple(t.shape) for t in sample["t5_xxl"]] == [(len(c), 4) for c in captions]
    assert json.loads((tmp_path / "metas/v0" / f"{clip.uuid}.json").read_text())["has_caption"]


def test_unknown_text_encoder_raises():
    with pytest.raises(ValueError, match="t5"):
        TextEmbeddingConfig(encoder="bert")


def test_t5_caption_embeddings_drop_the_padding(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("sentencepiece")
    from cosmos.core.testing import tiny_t5_encoder
    from cosmos.curate.text_embedding import T5TextEncoder

    encoder = T5TextEncoder(max_length=24, device="cpu")
    encoder._encoder = tiny_t5_encoder(tmp_path)  # stands in for google-t5/t5-11b (no network here)
    short, long = encoder.encode(["a red cube", "a ball falls onto the wooden floor and bounces"])
    assert short.dtype == np.float16 and short.shape[1] == 16
    assert 1 < short.shape[0] < long.shape[0] <= 24
    assert np.all(np.abs(short.astype(np.float32)).sum(-1) > 0)
