"""Each step of the keyword blocklist (spec §2.3) on toy lists."""

import difflib

import pytest

from cosmos.guard import Blocklist, BlocklistConfig, GuardConfigError, KeywordLists
from cosmos.guard.normalize import collapse_spaced_letters, deleet_mixed_tokens, fold_lookalikes

REFERENCE_C1 = BlocklistConfig(partial_match_min_chars=4, partial_match_tolerance=0.5, hardened=False)
REFERENCE_P1 = BlocklistConfig(partial_match_min_chars=6, partial_match_tolerance=0.4, hardened=False)


def toy(custom=("bomb",), whitelist=(), exact=(), config=REFERENCE_P1):
    lists = KeywordLists.from_words(custom, whitelist=whitelist, exact_match=exact, source="toy")
    return Blocklist(lists, config)


def blocked(blocklist, text):
    return blocklist.check(text).status == "block"


def step_of(blocklist, text):
    return blocklist.check(text).extras.get("step")


# step 1 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_input_is_blocked(text):
    result = toy().check(text)
    assert result.status == "block" and result.categories == ("empty_input",)


# step 2 ---------------------------------------------------------------------------------------------
def test_non_ascii_runs_become_spaces_reference_mode():
    bl = toy()
    assert blocked(bl, "bomb\u2122")  # "bomb " after folding
    assert blocked(bl, "\u00bfbomb?")
    # the reference's folding splits a word with a Cyrillic look-alike: "b mb" passes (pitfall we harden)
    assert not blocked(bl, "b\u043emb")


# step 3: censor pass --------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["bomb", "BOMB", "Bomb", "b0mb", "b@mb", "b*mb", "b0MB"])
def test_leetspeak_and_case_variants_are_caught(variant):
    bl = toy()
    assert blocked(bl, f"show a {variant} here")
    assert step_of(bl, f"show a {variant} here") == "censor"


@pytest.mark.parametrize("text", ["a b8mb", "bombastic", "a womb", "abomb", "the bomber"])
def test_whole_words_only_and_no_misspellings(text):
    # leet map has no 8 for b; matching is per whole word; misspellings are not caught (spec §2.3)
    assert not blocked(toy(), text)


def test_leet_map_of_other_letters():
    bl = toy(custom=("shit", "slut", "test"))
    for text in ("sh1t", "5hit", "$hit", "shlt", "s1ut", "slvt", "7es7", "t3st"):
        assert blocked(bl, text), text


def test_multi_word_phrases():
    bl = toy(custom=("kill people",))
    assert blocked(bl, "they kill people")
    assert blocked(bl, "they KILL   people now")
    assert not blocked(bl, "kill the process, then restart people's jobs")
    assert not blocked(bl, "a kill switch")


def test_whitelist_restores_a_censored_token():
    # "5hit" is a leetspeak variant of "shit" (s->5), so the censor hides it; the whitelist restores it.
    bl = toy(custom=("shit",), whitelist=("5hit",))
    assert not blocked(bl, "the 5hit counter goes up")
    assert not blocked(bl, "the counter: 5hit, then reset")  # punctuation stripped before the lookup
    assert blocked(bl, "sh1t happens")
    # a list word that is also whitelisted is never censored at all
    bl2 = toy(custom=("ass", "grape"), whitelist=("grape",))
    assert not blocked(bl2, "grape juice")
    assert blocked(bl2, "an ass")


def test_empty_custom_list_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(GuardConfigError, match="empty"):
        toy(custom=())
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "words.txt").write_text("# only a comment\n\n")
    with pytest.raises(GuardConfigError, match="no entries"):
        KeywordLists.from_dir(tmp_path)


def test_library_list_only_when_asked():
    bl = toy(custom=("zzzplaceholder",))
    assert not blocked(bl, "ugly scenes")  # in better-profanity's built-in list
    lists = KeywordLists.from_words(["zzzplaceholder"])
    assert Blocklist(lists, REFERENCE_P1, include_library_list=True).check("ugly scenes").status == "block"


def test_two_blocklists_do_not_share_state():
    a, b = toy(custom=("apple",)), toy(custom=("pear",))
    assert blocked(a, "apple") and not blocked(a, "pear")
    assert blocked(b, "pear") and not blocked(b, "apple")


# step 4: lemmatised pass ------------------------------------------------------------------------------
def test_lemmatised_pass_catches_inflections():
    bl = toy(custom=("bomb", "kill people", "goose"))
    assert step_of(bl, "two bombs") == "censor_lemmatized"
    assert step_of(bl, "they were killing people") == "censor_lemmatized"
    assert step_of(bl, "three geese") == "censor_lemmatized"
    assert bl.check("two bombs").extras["lemmatizer"].startswith("simplemma")


# step 5: exact match and the fuzzy rule ------------------------------------------------------------------
def test_exact_match_word_boundaries():
    bl = toy(custom=("zzzplaceholder",), exact=("hand grenade",), config=REFERENCE_P1)
    assert step_of(bl, "a Hand   Grenade!") == "exact_match"
    assert not blocked(bl, "handgrenades")


@pytest.mark.parametrize(
    ("text", "c1_blocks", "p1_blocks"),
    [
        (
            "grenades",
            True,
            False,
        ),  # one insertion: passes iff L(1-2c) <= c -> always for c=.5, never for c=.4
        ("grenadee", True, False),
        ("ggrenade", True, False),
        ("grenad", False, False),  # a deletion never passes for c <= .5
        ("grenadf", False, False),  # a substitution never passes
        ("grenade", True, True),  # exact
    ],
)
def test_fuzzy_rule_at_reference_thresholds(text, c1_blocks, p1_blocks):
    c1 = toy(custom=("zzzplaceholder",), exact=("grenade",), config=REFERENCE_C1)
    p1 = toy(custom=("zzzplaceholder",), exact=("grenade",), config=REFERENCE_P1)
    assert blocked(c1, f"a {text} here") == c1_blocks
    assert blocked(p1, f"a {text} here") == p1_blocks
    # and the rule is what the spec says: ratio >= (L - c) / L
    ratio = difflib.SequenceMatcher(None, text, "grenade").ratio()
    assert (ratio >= (7 - 0.5) / 7) == c1_blocks


def test_fuzzy_rule_respects_min_chars():
    # "bomb" has 4 chars: fuzzy with min 4 (Cosmos-1.0), word boundary only with min 6 (Predict1)
    c1 = toy(custom=("zzzplaceholder",), exact=("bomb",), config=REFERENCE_C1)
    p1 = toy(custom=("zzzplaceholder",), exact=("bomb",), config=REFERENCE_P1)
    assert blocked(c1, "bombs away") and not blocked(p1, "bombs away")
    short = toy(custom=("zzzplaceholder",), exact=("gun",), config=REFERENCE_C1)
    assert not blocked(short, "guns")  # 3 < min 4: only word-boundary matching


def test_multi_word_fuzzy_window():
    c1 = toy(custom=("zzzplaceholder",), exact=("pipe bomb",), config=REFERENCE_C1)
    assert blocked(c1, "make a pipe bombs now")
    assert not blocked(c1, "make a pipe and a bomb")


# hardening ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "b\u043emb",  # Cyrillic o
        "\uff42\uff4f\uff4d\uff42",  # full-width
        "\U0001d41b\U0001d428\U0001d426\U0001d41b",  # mathematical bold
        "bo\u200bmb",  # zero-width space
        "b\u00f3mb",  # accent
        "b o m b",
        "b.o.m.b",
        "b-0-m-b",
        "b0mbs",
        "B O M B S",
    ],
)
def test_hardened_mode_catches_obfuscations(text):
    hardened = toy(config=BlocklistConfig(6, 0.4, hardened=True))
    assert blocked(hardened, f"draw a {text} please"), text


def test_normalisers():
    assert fold_lookalikes("b\u043emb \uff42") == "bomb b"
    assert collapse_spaced_letters("x y z axis and A to B") == "xyz axis and A to B"
    assert deleet_mixed_tokens("b0mbs in 2024 and 4 cars") == "bombs in 2024 and 4 cars"


def test_category_is_the_list_file_stem(tmp_path):
    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "weapons.txt").write_text("grenade\n")
    (tmp_path / "custom" / "drugs.txt").write_text("heroin\n")
    (tmp_path / "VERSION").write_text("toy 1\n")
    bl = Blocklist(KeywordLists.from_dir(tmp_path), REFERENCE_P1)
    result = bl.check("a gr3nade and heroin")
    assert result.categories == ("weapons",)
    assert result.revision == "toy 1"
    assert bl.is_safe("a red cube") == (True, "Input is safe")


def test_incomplete_nltk_data_is_an_error_not_a_silent_switch(tmp_path):
    from cosmos.core import CheckpointError
    from cosmos.guard import Guardrail

    folder = tmp_path / "guardrail" / "blocklist"
    (folder / "custom").mkdir(parents=True)
    (folder / "custom" / "words.txt").write_text("grenade\n")
    (folder / "nltk_data").mkdir()  # NVIDIA's layout, but without punkt/wordnet inside
    lists = KeywordLists.from_dir(folder)
    assert lists.nltk_data_dir == str(folder / "nltk_data")
    with pytest.raises(CheckpointError, match="incomplete"):
        Blocklist(lists, REFERENCE_P1)
    # inside a Guardrail the stage fails closed
    report = Guardrail.from_preset("cosmos-predict1", checkpoint_dir=tmp_path).check_text("a robot")
    assert (
        not report.allowed and report.stages[0].status == "error" and "incomplete" in report.stages[0].detail
    )
