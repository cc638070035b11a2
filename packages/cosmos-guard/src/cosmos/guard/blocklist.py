"""Pre-guard 1: the keyword blocklist (spec §2).

`Blocklist.check(text)` runs the reference's five steps in order, first hit blocks:

1. empty input is unsafe;
2. ASCII folding (every run of non-ASCII characters becomes one space);
3. censor pass on the folded prompt: ``better_profanity`` with the ``custom`` lists as its word list (whole
   words and multi-word phrases, case-insensitive, leetspeak variants ``a->@,4``, ``o->0``, ``s->$,5`` ...),
   then whitelist restore: a censored span whose tokens (punctuation stripped, lower-cased) are all
   whitelisted is let through;
4. the same censor pass on the lemmatised prompt (`cosmos.guard.lemmatizer`);
5. the ``exact_match`` lists on the folded, lower-cased, whitespace-collapsed prompt: an entry blocks when it
   occurs between regex word boundaries, or (entries of at least ``partial_match_min_chars`` characters) when
   a window of as many whitespace tokens as the entry has gives
   ``difflib.SequenceMatcher(None, window, entry).ratio() >= (L - c) / L`` with ``L = len(entry)`` and
   ``c = partial_match_tolerance``.

With ``hardened=True`` (default) two things are added, both recorded in the verdict's ``extras``:
look-alike folding before step 2 (`normalize.fold_lookalikes`: NFKC, invisible characters, accents,
Cyrillic/Greek look-alikes), and after step 5 the steps 3-5 are run once more on the prompt with spaced
letters joined and leetspeak digits inside words replaced (`normalize.collapse_spaced_letters`,
`normalize.deleet_mixed_tokens`). ``hardened=False`` is the reference's behaviour.

Fixes of the reference's pitfalls (spec §2.3): one ``Profanity`` instance per `Blocklist` (no module
singleton), a plain sentinel compared span-wise (no ANSI-coloured ``*``), an empty custom list is an error
(the library silently falls back to its built-in list), the library's built-in list is only used when asked
for (``include_library_list=True``).
"""

from __future__ import annotations

import difflib
import logging
import re
import string
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import GuardConfigError
from .lemmatizer import Lemmatizer, default_lemmatizer
from .normalize import (
    ascii_fold,
    collapse_spaced_letters,
    deleet_mixed_tokens,
    fold_lookalikes,
    normalize_whitespace,
)
from .verdict import StageResult

__all__ = ["BLOCKLIST_PRESETS", "Blocklist", "BlocklistConfig", "KeywordLists"]

logger = logging.getLogger(__name__)

# Never produced by ASCII-folded text, so a censored span is exactly where this character appears.
_SENTINEL = "\u2588"
_PUNCTUATION = string.punctuation + "\u2018\u2019\u201c\u201d"


@dataclass(frozen=True)
class BlocklistConfig:
    """Parameters of the exact-match step and the hardening switch (spec §2.2).

    Attributes:
        partial_match_min_chars: entries shorter than this are matched only on word boundaries (chars).
        partial_match_tolerance: the letter tolerance ``c`` of the fuzzy rule, in characters (0 <= c < 1
            in practice: with c = 0.5 one extra character is tolerated, with c = 0.4 none, spec §2.3).
        hardened: add look-alike folding and the spaced-letter / leetspeak pass (see module docstring).
    """

    partial_match_min_chars: int = 6
    partial_match_tolerance: float = 0.4
    hardened: bool = True

    def __post_init__(self) -> None:
        if self.partial_match_min_chars < 1:
            raise GuardConfigError(
                f"partial_match_min_chars must be >= 1, got {self.partial_match_min_chars}"
            )
        if not 0.0 <= self.partial_match_tolerance < 1.0:
            raise GuardConfigError(
                f"partial_match_tolerance must be in [0, 1), got {self.partial_match_tolerance}"
            )


# Keyed by release: Cosmos-1.0 (and cosmos-guardrail 0.3.x) vs Predict1/Predict2 (spec §2.2).
BLOCKLIST_PRESETS: dict[str, BlocklistConfig] = {
    "cosmos-1.0": BlocklistConfig(partial_match_min_chars=4, partial_match_tolerance=0.5, hardened=False),
    "cosmos-predict1": BlocklistConfig(
        partial_match_min_chars=6, partial_match_tolerance=0.4, hardened=False
    ),
    "offline": BlocklistConfig(partial_match_min_chars=6, partial_match_tolerance=0.4, hardened=True),
}


def _read_lines(path: Path) -> list[str]:
    """Stripped, non-empty, non-comment lines of a UTF-8 text file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _read_category_dir(folder: Path) -> dict[str, tuple[str, ...]]:
    """Every file in `folder` (sorted; README/VERSION skipped) -> {file stem: its lines}."""
    if not folder.is_dir():
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.name.upper().startswith(("README", "VERSION", ".")):
            continue
        out[path.stem] = tuple(_read_lines(path))
    return out


@dataclass(frozen=True)
class KeywordLists:
    """The three keyword lists of a blocklist, by category (spec §2.1).

    Attributes:
        custom: {category: words or phrases} for the censor passes (steps 3 and 4).
        whitelist: lower-cased tokens never censored.
        exact_match: {category: words or phrases} for step 5.
        source: where the lists came from (folder path or ``"cosmos-default"``).
        version: list version (the ``VERSION`` file's content when present).
        nltk_data_dir: an ``nltk_data`` folder found beside the lists (parity lemmatiser), or None.
    """

    custom: Mapping[str, tuple[str, ...]]
    whitelist: frozenset[str] = frozenset()
    exact_match: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = "user"
    version: str | None = None
    nltk_data_dir: str | None = None

    @property
    def num_custom(self) -> int:
        """Number of censor-list entries over all categories."""
        return sum(len(v) for v in self.custom.values())

    @property
    def num_exact(self) -> int:
        """Number of exact-match entries over all categories."""
        return sum(len(v) for v in self.exact_match.values())

    @classmethod
    def from_words(
        cls,
        custom: Iterable[str] | Mapping[str, Iterable[str]],
        *,
        whitelist: Iterable[str] = (),
        exact_match: Iterable[str] | Mapping[str, Iterable[str]] = (),
        source: str = "user",
        version: str | None = None,
    ) -> KeywordLists:
        """Build lists from Python iterables (a plain iterable goes under the category ``"custom"``)."""

        def as_categories(words, default: str) -> dict[str, tuple[str, ...]]:
            if isinstance(words, Mapping):
                return {k: tuple(w.strip() for w in v if w.strip()) for k, v in words.items()}
            words = tuple(w.strip() for w in words if w.strip())
            return {default: words} if words else {}

        return cls(
            custom=as_categories(custom, "custom"),
            whitelist=frozenset(w.strip().lower() for w in whitelist if w.strip()),
            exact_match=as_categories(exact_match, "exact_match"),
            source=source,
            version=version,
        )

    @classmethod
    def from_dir(cls, folder: str | Path) -> KeywordLists:
        """Read NVIDIA's ``blocklist/`` layout: ``custom/``, ``whitelist/``, ``exact_match/``, ``nltk_data/``.

        Every file in a sub-folder is one category (its stem); every non-empty line is one entry.

        Raises:
            GuardConfigError: when `folder` does not exist or its ``custom/`` lists are empty.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise GuardConfigError(f"blocklist folder {folder} does not exist")
        whitelist: set[str] = set()
        for words in _read_category_dir(folder / "whitelist").values():
            whitelist.update(w.lower() for w in words)
        version_file = folder / "VERSION"
        nltk_dir = folder / "nltk_data"
        lists = cls(
            custom=_read_category_dir(folder / "custom"),
            whitelist=frozenset(whitelist),
            exact_match=_read_category_dir(folder / "exact_match"),
            source=str(folder),
            version=version_file.read_text().strip() if version_file.is_file() else None,
            nltk_data_dir=str(nltk_dir) if nltk_dir.is_dir() else None,
        )
        if lists.num_custom == 0:
            raise GuardConfigError(
                f"blocklist folder {folder} has no entries under custom/ (an empty list would let every "
                "prompt through; the reference silently used better-profanity's built-in list instead)"
            )
        return lists

    @classmethod
    def default(cls) -> KeywordLists:
        """Our own reviewed lists, shipped in package data (``cosmos/guard/data/blocklist``, versioned)."""
        root = resources.files("cosmos.guard") / "data" / "blocklist"
        with resources.as_file(root) as folder:
            lists = cls.from_dir(folder)
        return KeywordLists(
            custom=lists.custom,
            whitelist=lists.whitelist,
            exact_match=lists.exact_match,
            source="cosmos-default",
            version=lists.version,
        )

    def merged(self, other: KeywordLists) -> KeywordLists:
        """Union of two list sets (categories with the same name are concatenated)."""
        custom = {k: tuple(v) for k, v in self.custom.items()}
        for k, v in other.custom.items():
            custom[k] = custom.get(k, ()) + tuple(v)
        exact = {k: tuple(v) for k, v in self.exact_match.items()}
        for k, v in other.exact_match.items():
            exact[k] = exact.get(k, ()) + tuple(v)
        version = "+".join(v for v in (self.version, other.version) if v) or None
        return KeywordLists(
            custom=custom,
            whitelist=self.whitelist | other.whitelist,
            exact_match=exact,
            source=f"{self.source}+{other.source}",
            version=version,
            nltk_data_dir=self.nltk_data_dir or other.nltk_data_dir,
        )


@dataclass(frozen=True)
class _Match:
    """One blocking hit: which step, which text, which category."""

    step: str
    term: str
    category: str


class Blocklist:
    """Keyword pre-guard (spec §2.3), one instance per list set.

    Args:
        lists: the keyword lists (`KeywordLists.default()` when None).
        config: `BlocklistConfig` (the ``"offline"`` preset when None).
        lemmatizer: a `Lemmatizer`; default: WordNet when the lists came with ``nltk_data``, else simplemma.
        include_library_list: also censor ``better_profanity``'s built-in 916-word list (category
            ``"profanity_library"``). Off by default: it holds words such as "ugly" that block benign prompts.
        name: stage name in verdicts.

    Raises:
        GuardConfigError: when the custom list is empty (and the library list is not explicitly included).
        ImportError: when ``better_profanity`` is not installed.
    """

    def __init__(
        self,
        lists: KeywordLists | None = None,
        config: BlocklistConfig | None = None,
        *,
        lemmatizer: Lemmatizer | None = None,
        include_library_list: bool = False,
        name: str = "blocklist",
    ) -> None:
        from better_profanity import Profanity

        self.lists = lists if lists is not None else KeywordLists.default()
        self.config = config if config is not None else BLOCKLIST_PRESETS["offline"]
        self.name = name
        custom: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in self.lists.custom.items() if v}
        if include_library_list:
            from better_profanity.utils import get_complete_path_of_file, read_wordlist

            custom["profanity_library"] = tuple(
                read_wordlist(get_complete_path_of_file("profanity_wordlist.txt"))
            )
        words = [w for category in custom.values() for w in category]
        if not words:
            raise GuardConfigError(
                f"empty custom keyword list (source: {self.lists.source}); refusing to fall back to a built-in list"
            )
        # One instance per blocklist (the reference used the module singleton, spec §2.3 pitfall).
        # (never pass an empty list: `Profanity([])` silently loads the library's built-in list)
        self._profanity = Profanity(words=words)
        self._profanity.load_censor_words(custom_words=words, whitelist_words=list(self.lists.whitelist))
        # better-profanity 0.7.0 bug: with a look-ahead of one word (lists whose longest phrase has two words)
        # its sliding window empties after the first word, so "they kill people" passes while "kill people"
        # is caught. A look-ahead of at least two keeps the window filled.
        self._profanity.MAX_NUMBER_COMBINATIONS = max(self._profanity.MAX_NUMBER_COMBINATIONS, 2)
        from better_profanity.varying_string import VaryingString

        char_map = self._profanity.CHARS_MAPPING
        self._category_terms = {
            category: [VaryingString(w.lower(), char_map=char_map) for w in terms]
            for category, terms in custom.items()
        }
        self._exact = [
            (category, normalize_whitespace(entry))
            for category, entries in self.lists.exact_match.items()
            for entry in entries
            if entry.strip()
        ]
        self.lemmatizer = (
            lemmatizer if lemmatizer is not None else default_lemmatizer(self.lists.nltk_data_dir)
        )
        self.model_id = f"blocklist:{self.lists.source}"
        self.revision = self.lists.version

    # ------------------------------------------------------------------ steps
    def censor_matches(self, text: str) -> list[str]:
        """Step 3 on `text`: the censored spans left after whitelist restore (empty list = clean).

        Args:
            text: ASCII text (already folded).
        """
        censored = self._profanity.censor(text, censor_char=_SENTINEL)
        if censored == text:
            return []
        spans: list[str] = []
        matcher = difflib.SequenceMatcher(None, text, censored, autojunk=False)
        start = None  # merge consecutive non-equal opcodes into one span of the original text
        for tag, i1, i2, _j1, _j2 in [*matcher.get_opcodes(), ("equal", len(text), len(text), 0, 0)]:
            if tag != "equal":
                start = i1 if start is None else start
                end = i2
                continue
            if start is not None:
                spans.append(text[start:end])
                start = None
        kept = []
        for span in spans:
            tokens = [t.strip(_PUNCTUATION).lower() for t in span.split()]
            tokens = [t for t in tokens if t]
            if tokens and all(t in self.lists.whitelist for t in tokens):
                continue  # whitelist restore (spec §2.3 step 3)
            if span.strip():
                kept.append(span.strip())
        return kept

    def exact_matches(self, text: str) -> list[tuple[str, str]]:
        """Step 5 on `text`: [(category, entry)] of the exact-match entries that fire (spec §2.3 step 5)."""
        prompt = normalize_whitespace(text)
        tokens = prompt.split()
        hits = []
        c = self.config.partial_match_tolerance
        for category, entry in self._exact:
            if re.search(rf"\b{re.escape(entry)}\b", prompt):
                hits.append((category, entry))
                continue
            length = len(entry)
            if length < self.config.partial_match_min_chars:
                continue
            width = len(entry.split())
            threshold = (length - c) / length
            for i in range(0, max(len(tokens) - width + 1, 0)):
                window = " ".join(tokens[i : i + width])
                if difflib.SequenceMatcher(None, window, entry).ratio() >= threshold:
                    hits.append((category, entry))
                    break
        return hits

    def category_of(self, span: str) -> str:
        """The category (list file stem) whose entry, or one of its leetspeak variants, equals `span`."""
        lowered = span.lower()
        candidates = {lowered, " ".join(lowered.split()), re.sub(r"[^a-z0-9@$*'\"]", "", lowered)}
        for category, terms in self._category_terms.items():
            for term in terms:
                if any(term == c for c in candidates):
                    return category
        return "custom"

    # ------------------------------------------------------------------ check
    def _censor_and_exact(self, text: str, suffix: str) -> _Match | None:
        """Steps 3, 4 and 5 on already-folded `text`; the first hit or None."""
        for span in self.censor_matches(text):
            return _Match(f"censor{suffix}", span, self.category_of(span))
        lemmatized = self.lemmatizer.lemmatize_text(text)
        for span in self.censor_matches(lemmatized):
            return _Match(f"censor_lemmatized{suffix}", span, self.category_of(span))
        for category, entry in self.exact_matches(text):
            return _Match(f"exact_match{suffix}", entry, category)
        return None

    def find_match(self, text: str) -> _Match | None:
        """Run the whole algorithm; the first blocking hit, or None when `text` is safe."""
        if not text or not text.strip():
            return _Match("empty", "", "empty_input")
        if self.config.hardened:
            text = fold_lookalikes(text)
        text = ascii_fold(text)
        match = self._censor_and_exact(text, "")
        if match is None and self.config.hardened:
            variants = dict.fromkeys(
                deleet_mixed_tokens(collapse_spaced_letters(text, keep_leading_article=keep))
                for keep in (False, True)
            )
            for variant in variants:
                if variant != text and match is None:
                    match = self._censor_and_exact(variant, "_obfuscation")
        return match

    def check(self, text: str, *, input: str = "prompt") -> StageResult:
        """Check one prompt; a `StageResult` with status ``"pass"`` or ``"block"``.

        Args:
            text: the prompt (any Unicode).
            input: label recorded in the result (``"prompt"`` / ``"negative_prompt"``).

        Returns:
            `StageResult`; on block, ``detail`` names the step and the matched text, ``categories`` holds the
            list category, ``extras`` holds ``step``, ``term``, ``lemmatizer`` and ``hardened``.
        """
        t0 = time.perf_counter()
        match = self.find_match(text)
        extras = {"lemmatizer": self.lemmatizer.name, "hardened": self.config.hardened}
        if match is None:
            status, detail, categories = "pass", "no listed term found", ()
        elif match.step == "empty":
            status, detail, categories = "block", "input is empty", (match.category,)
        else:
            status, categories = "block", (match.category,)
            detail = f"{match.step}: matched {match.term!r} (category {match.category})"
            extras.update(step=match.step, term=match.term)
        return StageResult(
            name=self.name,
            status=status,
            detail=detail,
            input=input,
            categories=categories,
            seconds=time.perf_counter() - t0,
            model_id=self.model_id,
            revision=self.revision,
            extras=extras,
        )

    def is_safe(self, text: str) -> tuple[bool, str]:
        """Reference-style interface (spec §1.1): ``(True, "Input is safe")`` or ``(False, reason)``."""
        result = self.check(text)
        return (True, "Input is safe") if result.status == "pass" else (False, result.detail)
