"""Text normalisation for the keyword blocklist: the reference's ASCII folding plus our hardening.

The reference (spec §2.3 step 2) replaces every run of non-ASCII characters by one space. That makes
look-alike spellings pass: ``"bоmb"`` with a Cyrillic ``о`` becomes ``"b mb"``, and a zero-width space inside a
word splits it in two. It also only sees words separated by spaces, so ``"b o m b"`` passes. The hardened
pipeline (`Blocklist(hardened=True)`, the default) therefore runs, *before* the reference's folding:

1. `fold_lookalikes`: Unicode NFKC (full-width and mathematical letters to ASCII), removal of invisible
   format characters (zero-width spaces and joiners, soft hyphens), removal of combining accents
   (``"bómb"`` -> ``"bomb"``), and a table of Cyrillic/Greek/other letters that look like Latin ones.

and, as one extra set of passes after the reference's five steps,

2. `collapse_spaced_letters`: runs of three or more single letters or digits separated by single spaces or
   light punctuation (``"b o m b"``, ``"b.o.m.b"``, ``"b-o-m-b"``) are joined into one word;
3. `deleet_mixed_tokens`: in words that mix letters with digits or ``@$``, leetspeak stand-ins become letters
   (``"b0mbs"`` -> ``"bombs"``), so that the lemmatiser can then reduce them (the censor's own leet variants
   only match the list word itself, not its inflections).

Both functions are pure and return plain ``str``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "ascii_fold",
    "collapse_spaced_letters",
    "deleet_mixed_tokens",
    "fold_lookalikes",
    "normalize_whitespace",
]

# Letters from other scripts that render like Latin ones (lower-case targets; case is irrelevant downstream
# because every matcher lower-cases). Written for this project from the Unicode charts.
_LOOKALIKES: dict[str, str] = {
    # Cyrillic
    "а": "a",
    "А": "a",
    "в": "b",
    "В": "b",
    "с": "c",
    "С": "c",
    "ԁ": "d",
    "е": "e",
    "Е": "e",
    "ё": "e",
    "Ё": "e",
    "һ": "h",
    "Н": "h",
    "н": "h",
    "і": "i",
    "І": "i",
    "ї": "i",
    "Ї": "i",
    "ј": "j",
    "Ј": "j",
    "к": "k",
    "К": "k",
    "ӏ": "l",
    "Ӏ": "l",
    "м": "m",
    "М": "m",
    "о": "o",
    "О": "o",
    "р": "p",
    "Р": "p",
    "ԛ": "q",
    "г": "r",
    "ѕ": "s",
    "Ѕ": "s",
    "т": "t",
    "Т": "t",
    "ѵ": "v",
    "Ѵ": "v",
    "ԝ": "w",
    "Ԝ": "w",
    "х": "x",
    "Х": "x",
    "у": "y",
    "У": "y",
    "ү": "y",
    "Ү": "y",
    "ь": "b",
    "Ь": "b",
    # Greek
    "α": "a",
    "Α": "a",
    "β": "b",
    "Β": "b",
    "ε": "e",
    "Ε": "e",
    "Η": "h",
    "ι": "i",
    "Ι": "i",
    "κ": "k",
    "Κ": "k",
    "μ": "u",
    "Μ": "m",
    "ν": "v",
    "Ν": "n",
    "ο": "o",
    "Ο": "o",
    "ρ": "p",
    "Ρ": "p",
    "τ": "t",
    "Τ": "t",
    "υ": "u",
    "Υ": "y",
    "χ": "x",
    "Χ": "x",
    "ω": "w",
    "Ζ": "z",
    "ς": "s",
    # Latin extensions and symbols that NFKC / accent stripping do not map
    "ı": "i",
    "ȷ": "j",
    "ł": "l",
    "Ł": "l",
    "ø": "o",
    "Ø": "o",
    "đ": "d",
    "Đ": "d",
    "ħ": "h",
    "ŧ": "t",
    "ß": "ss",
    "æ": "ae",
    "Æ": "ae",
    "œ": "oe",
    "Œ": "oe",
    "ɑ": "a",
    "ɡ": "g",
    "ɩ": "i",
    "ʋ": "u",
    "ɵ": "o",
    "ɛ": "e",
    "ꞵ": "b",
    "ℓ": "l",
    "€": "e",
    "¢": "c",
    "£": "l",
    "¥": "y",
    "§": "s",
    "©": "c",
    "®": "r",
    "×": "x",
    "¡": "i",
}
_LOOKALIKE_TABLE = str.maketrans(_LOOKALIKES)

# Format characters that are invisible but split words (Unicode category Cf) and their usual friends.
_INVISIBLE_CATEGORIES = ("Cf",)
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7F]+")
# three or more single alphanumerics separated by one separator each: "b o m b", "b.o.m.b", "b-o-m-b", "b_o_m_b"
_SPACED_LETTERS = re.compile(r"(?<![A-Za-z0-9])(?:[A-Za-z0-9$@*][ .\-_/|]){2,}[A-Za-z0-9$@*](?![A-Za-z0-9])")


def fold_lookalikes(text: str) -> str:
    """Map visually confusable Unicode text onto ASCII where a look-alike exists.

    Steps: NFKC (``"ｂｏｍｂ"`` -> ``"bomb"``, ``"𝐛𝐨𝐦𝐛"`` -> ``"bomb"``); drop format characters (zero-width
    space/joiner, soft hyphen, bidi marks); NFKD and drop combining marks (``"bómb"`` -> ``"bomb"``); map
    Cyrillic/Greek look-alike letters through a fixed table. Characters with no ASCII look-alike are kept
    (the reference's `ascii_fold` then turns them into spaces).

    Args:
        text: any Unicode string.

    Returns:
        The folded string (same or shorter length, never longer than 2x).
    """
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.translate(_LOOKALIKE_TABLE)


def ascii_fold(text: str) -> str:
    """The reference's folding (spec §2.3 step 2): every run of non-ASCII characters becomes one space."""
    return _NON_ASCII_RUN.sub(" ", text)


def collapse_spaced_letters(text: str, *, keep_leading_article: bool = False) -> str:
    """Join runs of >= 3 single characters separated by single separators (``"b o m b"`` -> ``"bomb"``).

    A "single character" is an ASCII letter, digit or one of ``$@*`` (leetspeak stand-ins); separators are
    one of space, ``.``, ``-``, ``_``, ``/``, ``|``. Text without such runs is returned unchanged.

    Args:
        text: ASCII text.
        keep_leading_article: keep a leading one-letter English word (``a``/``I``) of a run of at least four
            separate (``"draw a b o m b"`` -> ``"draw a bomb"`` instead of ``"draw abomb"``).
    """

    def join(match: re.Match[str]) -> str:
        run = match.group(0)
        joined = re.sub(r"[ .\-_/|]", "", run)
        if keep_leading_article and len(joined) >= 4 and joined[0] in "aAiI" and run[1] == " ":
            return f"{joined[0]} {joined[1:]}"
        return joined

    return _SPACED_LETTERS.sub(join, text)


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_TOKEN = re.compile(r"[A-Za-z0-9@$]+")


def deleet_mixed_tokens(text: str) -> str:
    """Replace leetspeak digits/symbols by letters inside tokens that also contain letters.

    ``"b0mbs"`` -> ``"bombs"``, ``"k1ll3d"`` -> ``"killed"``; pure numbers (``"2024"``, ``"4"``) and words
    without stand-ins are left alone. Map: 0->o, 1->i, 3->e, 4->a, 5->s, 7->t, @->a, $->s.
    """

    def fix(match: re.Match[str]) -> str:
        token = match.group(0)
        if any(c.isalpha() for c in token) and any(not c.isalpha() for c in token):
            return token.translate(_LEET)
        return token

    return _TOKEN.sub(fix, text)


def normalize_whitespace(text: str) -> str:
    """Collapse whitespace runs to one space, strip and lower-case (spec §2.3 step 5 normalisation)."""
    return " ".join(text.split()).lower()
