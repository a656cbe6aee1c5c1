"""A company name's typo look-up costs the same bounded work however long or wordy the name.

Each typo word makes the Redis look-up script build 2n variants of n letters
in Redis's single thread; one 10,000-letter "company" held it for seconds and
stopped the match stage on its socket timeout, again after every restart.
"""

from __future__ import annotations

from processors.crm.names import TYPO_MAX_LENGTH, TYPO_MAX_WORDS, typo_words


def test_a_word_longer_than_any_company_word_gets_no_variants() -> None:
    assert typo_words("a" * 10_000) == ()
    assert typo_words("Acme " + "b" * (TYPO_MAX_LENGTH + 1)) == ()


def test_the_longest_real_words_still_get_them() -> None:
    assert typo_words("Donaudampfschifffahrtsgesellschaft") == ("donaudampfschifffahrtsgesellschaft",)
    assert typo_words("x" + "y" * (TYPO_MAX_LENGTH - 1)) == ("x" + "y" * (TYPO_MAX_LENGTH - 1),)


def test_a_name_of_thousands_of_words_asks_for_the_first_few() -> None:
    words = [f"word{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}" for i in range(2_000)]
    found = typo_words(" ".join(words))
    assert len(found) == TYPO_MAX_WORDS
    assert found == tuple(words[:TYPO_MAX_WORDS])


def test_ordinary_names_are_unchanged() -> None:
    assert typo_words("Globex Corporation") == ("globex",)
    assert typo_words("Initech Software GmbH") == ("initech", "software")
