"""Resolving a model name to a local folder: a path, a shipped short name, or a Hugging Face Hub id.

Downloads go through ``huggingface_hub.snapshot_download``, which keeps its own cache and honours
``HF_TOKEN`` and ``revision``. ``HF_HUB_OFFLINE=1`` is read at call time and turns every Hub lookup into
a cache-only lookup, so offline machines work from a pre-filled cache.
"""

from __future__ import annotations

import importlib.resources
import os
import re
from pathlib import Path

from huggingface_hub import errors as hf_errors
from huggingface_hub import snapshot_download

from cosmos.core.errors import CheckpointError, GatedRepoError

__all__ = ["resolve_pretrained", "resolve_relative", "hub_offline"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUE = {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value (read now, not at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def resolve_relative(reference: str, base: str | os.PathLike) -> str:
    """How one saved model names another (e.g. a world model its tokenizer): a folder relative to ``base`` when
    one exists there, else ``reference`` unchanged (a shipped short name or Hub id for ``from_pretrained``)."""
    candidate = Path(base) / reference
    return str(candidate) if candidate.is_dir() else reference


def _shipped(shipped_root: str, name: str) -> Path | None:
    try:
        candidate = importlib.resources.files(shipped_root) / name
    except (ModuleNotFoundError, TypeError):
        return None
    return Path(str(candidate)) if candidate.is_dir() else None


def resolve_pretrained(
    name_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    shipped_root: str | None = None,
    allow_patterns: list[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> Path:
    """Return the local folder holding a model's files.

    Tried in order: an existing local folder; a short name shipped as package data under the
    package ``shipped_root`` (e.g. ``"cosmos.tokenizer.pretrained"``, one sub-folder per model); a Hub
    repo id ``org/name`` fetched (or found in the cache) with ``snapshot_download``.

    Args:
        name_or_path: folder path, shipped short name, or Hub id.
        revision: Hub branch, tag or commit.
        shipped_root: importable package whose sub-folders are shipped models.
        allow_patterns: only these files are downloaded from the Hub (globs).
        cache_dir: Hugging Face cache folder (default: huggingface_hub's).

    Raises:
        GatedRepoError: the repo is gated (accept its licence on the Hub, then set ``HF_TOKEN``).
        CheckpointError: a path that is a file or does not exist, an unknown repo or revision, or a
            repo absent from the cache while offline.
    """
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise CheckpointError(f"{path} is a file; from_pretrained expects a folder (or a Hub id)")
    if shipped_root is not None and (shipped := _shipped(shipped_root, text)) is not None:
        return shipped
    if not _HUB_ID.match(text) or text.startswith((".", "~")):
        raise CheckpointError(f"no such folder {path}, and {text!r} is not a Hugging Face Hub id")
    offline = hub_offline()
    try:
        folder = snapshot_download(
            text,
            revision=revision,
            cache_dir=cache_dir,
            allow_patterns=allow_patterns,
            local_files_only=offline,
        )
    except hf_errors.GatedRepoError as error:
        raise GatedRepoError(
            f"{text} is a gated repository: accept its licence at https://huggingface.co/{text} and set HF_TOKEN "
            "to a token of that account"
        ) from error
    except hf_errors.RepositoryNotFoundError as error:
        raise CheckpointError(
            f"no folder {path} and no Hub repository {text!r} (or it is private: set HF_TOKEN)"
        ) from error
    except hf_errors.RevisionNotFoundError as error:
        raise CheckpointError(f"Hub repository {text!r} has no revision {revision!r}") from error
    except hf_errors.LocalEntryNotFoundError as error:
        how = "HF_HUB_OFFLINE is set" if offline else "the Hub cannot be reached"
        raise CheckpointError(
            f"{text!r} (revision {revision or 'main'}) is not in the local Hugging Face cache and {how}; "
            "download it on a connected machine or pass a local folder"
        ) from error
    return Path(folder)
