"""Semantic deduplication: spherical k-means + SemDeDup (spec/curation.md §8; Abbas et al. 2023).

1. k-means on L2-normalised embeddings (cosine assignment, k-means++ seeding from ``seed``).
2. Per cluster, order the members by the keep rule and give each member ``j`` the maximum cosine
   similarity ``M_j`` to any earlier member (``M = 0`` for the first), computed in tiles of 256.
3. Keep iff ``M_j <= 1 - eps``: one predicate, used for the summary and for sharding alike.

Keep rules: ``"hard"`` (farthest from the centroid first, the reference's default), ``"easy"``
(nearest first), ``"highest_resolution"`` (largest width x height first, the paper's rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cosmos.curate.config import DedupConfig

__all__ = ["spherical_kmeans", "DedupResult", "semantic_dedup", "default_num_clusters"]

TILE = 256


def default_num_clusters(num_items: int) -> int:
    """``max(1, round(sqrt(n / 2)))``: our default k (the reference CLI's 4 ignores the data size)."""
    return max(1, round(math.sqrt(num_items / 2)))


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def spherical_kmeans(
    embeddings: np.ndarray, k: int, *, max_iter: int = 100, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine k-means.

    Args:
        embeddings: float ``[N, D]`` (normalised inside).
        k: clusters, clamped to ``[1, N]``.

    Returns:
        ``(centroids float64 [k, D] unit rows, labels int64 [N])``. Deterministic for a given seed.
    """
    x = _normalise(np.asarray(embeddings, np.float64))
    n = x.shape[0]
    if n == 0:
        return np.zeros((0, x.shape[1])), np.zeros(0, np.int64)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(n))]
    distance = 1.0 - x @ x[chosen[0]]
    for _ in range(1, k):  # k-means++ on cosine distance
        weights = np.clip(distance, 0, None) ** 2
        total = weights.sum()
        pick = (
            int(rng.choice(n, p=weights / total))
            if total > 1e-12
            else int(np.setdiff1d(np.arange(n), chosen)[0])
        )
        chosen.append(pick)
        distance = np.minimum(distance, 1.0 - x @ x[pick])
    centroids = x[chosen].copy()
    labels = np.full(n, -1, np.int64)
    for _ in range(max_iter):
        new_labels = np.argmax(x @ centroids.T, axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for c in range(k):
            members = x[labels == c]
            if len(members):
                centroids[c] = _normalise(members.sum(0, keepdims=True))[0]
    return centroids, labels


@dataclass(frozen=True)
class DedupResult:
    """Per item: ``keep`` bool ``[N]``, ``cluster`` int64 ``[N]``, ``max_similarity`` float64 ``[N]``
    (max cosine to an earlier cluster member), ``max_index`` int64 ``[N]`` (that member, -1 if none)."""

    keep: np.ndarray
    cluster: np.ndarray
    max_similarity: np.ndarray
    max_index: np.ndarray

    @property
    def num_removed(self) -> int:
        """Items removed as duplicates."""
        return int((~self.keep).sum())


def semantic_dedup(
    embeddings: np.ndarray,
    config: DedupConfig,
    *,
    resolutions: np.ndarray | None = None,
    ids: list[str] | None = None,
) -> DedupResult:
    """SemDeDup over ``embeddings`` ``[N, D]``.

    Args:
        config: k (``None`` -> :func:`default_num_clusters`), ``eps``, keep rule, seed.
        resolutions: ``[N]`` pixel counts, required for ``keep="highest_resolution"``.
        ids: tie-breakers for a deterministic order (default: the row index).

    Raises:
        ValueError: ``highest_resolution`` without ``resolutions``, or mismatched lengths.
    """
    x = _normalise(np.asarray(embeddings, np.float64))
    n = x.shape[0]
    if config.keep == "highest_resolution" and resolutions is None:
        raise ValueError("keep='highest_resolution' needs resolutions")
    if resolutions is not None and len(resolutions) != n:
        raise ValueError(f"got {len(resolutions)} resolutions for {n} embeddings")
    ids = ids if ids is not None else [f"{i:012d}" for i in range(n)]
    k = config.n_clusters if config.n_clusters is not None else default_num_clusters(n)
    centroids, labels = spherical_kmeans(x, k, max_iter=config.max_iter, seed=config.seed)
    keep = np.ones(n, bool)
    max_similarity = np.zeros(n)
    max_index = np.full(n, -1, np.int64)
    threshold = 1.0 - config.eps
    for c in range(len(centroids)):
        members = np.flatnonzero(labels == c)
        if len(members) < 2:
            continue
        distance = 1.0 - x[members] @ centroids[c]
        if config.keep == "hard":
            order = sorted(range(len(members)), key=lambda i: (-distance[i], ids[members[i]]))
        elif config.keep == "easy":
            order = sorted(range(len(members)), key=lambda i: (distance[i], ids[members[i]]))
        else:
            order = sorted(
                range(len(members)), key=lambda i: (-resolutions[members[i]], -distance[i], ids[members[i]])
            )
        ordered = members[order]
        vectors = x[ordered]
        for start in range(0, len(ordered), TILE):  # strict upper triangle, one tile of rows at a time
            rows = vectors[start : start + TILE]
            similarity = rows @ vectors[: start + len(rows)].T  # [tile, start + tile]
            for r in range(len(rows)):
                j = start + r
                if j == 0:
                    continue
                best = int(np.argmax(similarity[r, :j]))
                max_similarity[ordered[j]] = similarity[r, best]
                max_index[ordered[j]] = ordered[best]
        keep[ordered] = max_similarity[ordered] <= threshold
    return DedupResult(keep=keep, cluster=labels, max_similarity=max_similarity, max_index=max_index)
