"""Lemmatisers for the blocklist's second censor pass (spec §2.3 step 4, §2.4).

The reference tokenises with ``nltk.word_tokenize`` and lemmatises every token with NLTK's WordNet lemmatiser
(default part of speech: noun). NLTK's data (``punkt``/``punkt_tab`` and ``wordnet``) is not on PyPI, so:

* `SimplemmaLemmatizer` (offline default): a small rule-based tokenizer in the spirit of NLTK's Treebank
  tokenizer (punctuation split off, clitics such as ``n't``/``'s`` split off, hyphenated words kept whole;
  written here because importing ``nltk`` costs seconds), and ``simplemma``'s English tables (inside its
  wheel). It also reduces verbs (``"killing"`` -> ``"kill"``), where WordNet's noun default keeps
  ``"killing"``.
* `WordNetLemmatizer` (parity mode): exactly the reference's calls, used when an ``nltk_data`` folder with
  ``punkt``/``punkt_tab`` and ``wordnet`` is present (NVIDIA's guardrail checkpoint ships one under
  ``blocklist/nltk_data``).

Both expose ``name`` (recorded in the verdict) and ``lemmatize_text(text) -> str`` (tokens joined by spaces).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol, runtime_checkable

from cosmos.core import CheckpointError

__all__ = ["Lemmatizer", "SimplemmaLemmatizer", "WordNetLemmatizer", "default_lemmatizer"]

# clitics split off a word, as the Treebank tokenizer does ("don't" -> "do n't", "robot's" -> "robot 's")
_CLITIC = re.compile(r"(?i)(\w)(n't|'s|'re|'ve|'ll|'d|'m)\b")
# words (letters, digits, leetspeak stand-ins, inner hyphens/apostrophes/dots as in "self-harm", "U.S"),
# clitics, or any other single non-space character (punctuation)
_TOKEN = re.compile(r"(?i)n't|'(?:s|re|ve|ll|d|m)\b|[a-z0-9@$*]+(?:[-'.][a-z0-9@$*]+)*|\S")


@runtime_checkable
class Lemmatizer(Protocol):
    """Turns a prompt into space-joined lemmas (``"Bombs were here"`` -> ``"bomb be here"``)."""

    name: str

    def lemmatize_text(self, text: str) -> str: ...


class SimplemmaLemmatizer:
    """Rule-based tokenisation + simplemma English lemmas; needs no downloaded data (offline default).

    Raises:
        ImportError: when ``simplemma`` is not installed (a dependency of cosmos-guard).
    """

    def __init__(self) -> None:
        import simplemma

        self._simplemma = simplemma
        version = getattr(simplemma, "__version__", "unknown")
        self.name = f"simplemma-{version}+rule-tokenizer"

    @staticmethod
    def tokenize(text: str) -> list[str]:
        """Word tokens with punctuation and clitics split off: ``"Don't stop, robots!"`` ->
        ``["Do", "n't", "stop", ",", "robots", "!"]``."""
        return _TOKEN.findall(_CLITIC.sub(r"\1 \2", text))

    def lemmatize_text(self, text: str) -> str:
        """Lemmatise every token (lower-cased by simplemma for known words) and join with single spaces."""
        return " ".join(self._simplemma.lemmatize(token, lang="en") for token in self.tokenize(text))


class WordNetLemmatizer:
    """The reference's lemmatiser: ``nltk.word_tokenize`` + ``WordNetLemmatizer().lemmatize(token)``.

    Args:
        nltk_data_dir: folder holding NLTK's ``tokenizers/punkt*`` and ``corpora/wordnet*`` data.

    Raises:
        CheckpointError: when the folder lacks the data NLTK needs (checked at construction by running it once).
    """

    def __init__(self, nltk_data_dir: str | Path) -> None:
        import nltk
        from nltk.stem import WordNetLemmatizer as _NltkWordNet

        self.nltk_data_dir = str(nltk_data_dir)
        if self.nltk_data_dir not in nltk.data.path:
            nltk.data.path.append(self.nltk_data_dir)
        self._nltk = nltk
        self._lemmatizer = _NltkWordNet()
        self.name = f"nltk-{nltk.__version__}-wordnet"
        try:
            self.lemmatize_text("robots were driving")
        except LookupError as err:
            raise CheckpointError(
                f"NLTK data in {self.nltk_data_dir} is incomplete (need punkt/punkt_tab and wordnet): {err}"
            ) from err

    def lemmatize_text(self, text: str) -> str:
        """``word_tokenize`` then WordNet noun lemmas, joined with single spaces (spec §2.3 step 4)."""
        return " ".join(self._lemmatizer.lemmatize(token) for token in self._nltk.word_tokenize(text))


def default_lemmatizer(nltk_data_dir: str | Path | None = None) -> Lemmatizer:
    """`WordNetLemmatizer` when `nltk_data_dir` exists (parity with the reference), else `SimplemmaLemmatizer`.

    An existing but incomplete `nltk_data_dir` raises `CheckpointError` rather than silently switching.
    """
    if nltk_data_dir is not None and Path(nltk_data_dir).is_dir():
        return WordNetLemmatizer(nltk_data_dir)
    return SimplemmaLemmatizer()
