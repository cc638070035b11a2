"""Caption windows and backends, the offline embedder and SemDeDup on planted duplicates."""

import numpy as np
import pytest

from cosmos.curate.captioning import CaptionStage, TemplateCaptioner, make_windows
from cosmos.curate.config import CaptionConfig, DedupConfig
from cosmos.curate.dedup import default_num_clusters, semantic_dedup, spherical_kmeans
from cosmos.curate.embedding import ColourThumbnailEmbedder
from cosmos.curate.synthetic import shot_frames
from cosmos.curate.tasks import Clip, VideoTask


def test_caption_windows_follow_the_remainder_rule():
    assert make_windows(100) == [(0, 99)]
    assert make_windows(256) == [(0, 255)]
    assert make_windows(256 + 127) == [(0, 382)]  # remainder < 128 joins the last window
    assert make_windows(256 + 128) == [(0, 255), (256, 383)]
    assert make_windows(600) == [(0, 255), (256, 599)]  # 600 = 2 * 256 + 88
    assert make_windows(700) == [(0, 255), (256, 511), (512, 699)]  # remainder 188 >= 128
    assert make_windows(0) == []


def test_template_captions_and_openai_config_check():
    task = VideoTask("v.mp4", "v.mp4")
    clip = Clip(uuid="c", source_video="v.mp4", frame_range=(8, 40), fps_source=8.0)
    clip.metadata = {"width": 320, "height": 240, "framerate": 8.0, "num_frames": 32}
    clip.frames = np.zeros((4, 8, 8, 3), np.uint8)
    task.clips.append(clip)
    CaptionStage(CaptionConfig()).process_data([task])
    window = clip.windows[0]
    assert window.caption_status == "success" and "4.0-second 320x240" in window.caption["template"]
    clip.metadata["caption"] = "A robot arm."
    assert TemplateCaptioner().caption(clip.frames, clip, window) == "A robot arm."
    with pytest.raises(ValueError, match="endpoint"):
        CaptionConfig(backend="openai")


def test_embedder_is_unit_norm_and_sees_copies():
    embedder = ColourThumbnailEmbedder()
    a, b = shot_frames(6, 64, 80, seed=1), shot_frames(6, 64, 80, seed=2)
    ea, eb = embedder.embed(a), embedder.embed(b)
    assert ea.shape == (576,) and ea.dtype == np.float32 and abs(np.linalg.norm(ea) - 1) < 1e-5
    noisy = np.clip(a.astype(int) + np.random.default_rng(0).integers(-3, 4, a.shape), 0, 255).astype(
        np.uint8
    )
    assert float(ea @ embedder.embed(noisy)) > 0.99 > float(ea @ eb)


def _planted(n_unique=40, copies=20, dim=64, seed=0):
    rng = np.random.default_rng(seed)
    unique = rng.normal(size=(n_unique, dim))
    unique /= np.linalg.norm(unique, axis=1, keepdims=True)
    sources = rng.choice(n_unique, copies, replace=False)
    duplicates = unique[sources] + rng.normal(scale=0.005, size=(copies, dim))
    return np.concatenate([unique, duplicates]), sources


@pytest.mark.parametrize("keep", ["hard", "easy"])
def test_semdedup_removes_planted_duplicates_and_keeps_the_rest(keep):
    embeddings, sources = _planted()
    result = semantic_dedup(embeddings, DedupConfig(n_clusters=6, keep=keep))
    assert result.num_removed == len(sources)
    for j, source in enumerate(sources):  # exactly one of each planted pair survives
        assert result.keep[source] != result.keep[40 + j]
    assert result.keep[[i for i in range(40) if i not in set(sources)]].all()
    assert (result.max_similarity[~result.keep] > 0.99).all() and (
        result.max_similarity[result.keep] <= 0.99
    ).all()


def test_semdedup_highest_resolution_keeps_the_largest_copy():
    embeddings, sources = _planted(copies=5)
    resolutions = np.full(len(embeddings), 100)
    resolutions[40:] = 1000  # the planted copies are the high-resolution versions
    result = semantic_dedup(
        embeddings, DedupConfig(n_clusters=4, keep="highest_resolution"), resolutions=resolutions
    )
    assert result.keep[40:].all() and not result.keep[sources].any()
    with pytest.raises(ValueError, match="resolutions"):
        semantic_dedup(embeddings, DedupConfig(keep="highest_resolution"))


def test_kmeans_is_deterministic_and_clamps_k():
    embeddings, _ = _planted()
    c1, l1 = spherical_kmeans(embeddings, 5, seed=3)
    c2, l2 = spherical_kmeans(embeddings, 5, seed=3)
    assert np.array_equal(l1, l2) and np.allclose(c1, c2)
    centroids, labels = spherical_kmeans(embeddings[:3], 10_000)
    assert centroids.shape[0] == 3 and sorted(labels) == [0, 1, 2]
    assert default_num_clusters(20_000) == 100 and default_num_clusters(1) == 1


def test_eps_boundary_is_one_predicate():
    x = np.array([[1.0, 0.0], [np.cos(0.1), np.sin(0.1)]])
    sim = float(x[0] @ x[1])
    kept = semantic_dedup(x, DedupConfig(n_clusters=1, eps=1 - sim - 1e-12)).keep
    assert kept.all()  # similarity == 1 - eps (up to rounding): kept
    assert semantic_dedup(x, DedupConfig(n_clusters=1, eps=1 - sim + 1e-3)).keep.sum() == 1


def test_openai_compatible_captioner_talks_to_an_endpoint():
    """A local stand-in server checks the request (prompt + JPEG frames) and returns a caption."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    seen = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server API
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen["path"], seen["body"] = self.path, body
            reply = json.dumps({"choices": [{"message": {"content": " A red ball rolls. "}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = CaptionConfig(
            backend="openai", endpoint=f"http://127.0.0.1:{server.server_port}/v1", model="vlm", num_frames=3
        )
        task = VideoTask("v.mp4", "v.mp4")
        clip = Clip(uuid="c", source_video="v.mp4", frame_range=(0, 32), fps_source=8.0)
        clip.metadata = {"width": 64, "height": 64, "framerate": 8.0, "num_frames": 32}
        clip.frames = shot_frames(6, 64, 64, seed=0)
        task.clips.append(clip)
        CaptionStage(config).process_data([task])
    finally:
        server.shutdown()
    assert (
        clip.windows[0].caption == {"vlm": "A red ball rolls."}
        and clip.windows[0].caption_status == "success"
    )
    content = seen["body"]["messages"][0]["content"]
    assert seen["path"] == "/v1/chat/completions" and seen["body"]["model"] == "vlm"
    assert content[0]["text"] == config.prompt and len(content) == 4
    assert content[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    failing = CaptionStage(
        CaptionConfig(backend="openai", endpoint="http://127.0.0.1:9", model="vlm", timeout_s=2)
    )
    failing.process_data([task])
    assert clip.windows[0].caption_status == "error" and "127.0.0.1:9" in clip.errors["caption"]


def test_transformers_backend_needs_a_model_and_loads_lazily():
    with pytest.raises(ValueError, match="model"):
        CaptionConfig(backend="transformers")
    stage = CaptionStage(CaptionConfig(backend="transformers", model="some/vlm"))
    assert (
        stage.captioner.name == "some/vlm" and stage.captioner._model is None
    )  # nothing loaded before setup
