"""Free-text industry → vertical, by keywords read as whole words.

Industry text comes from forms and providers in every spelling ("Computer
Software", "IT Services & Consulting", "Hospital & Health Care"), so a vertical
is a list of keywords, and the keyword that says the most wins:

* case, accents and punctuation do not matter; "and", "&", "of", "the", "or"
  and "for" are skipped, so "Oil & Gas" matches the keyword "oil and gas";
* a keyword matches whole words only ("bank" does not match "Bankruptcy"); a
  keyword ending in ``*`` matches any word starting with it ("pharma*" matches
  "Pharmaceuticals");
* when several keywords match, more words beat fewer, a whole word beats a
  ``*`` keyword (a longer stem beats a shorter one), then the earlier in the
  text wins: "Banking Software" is technology, "Investment Banking" is
  financial services.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

#: What an industry gets when it has text but no keyword matched.
OTHER = "other"
#: Words skipped in industry text and keywords alike.
STOP_WORDS: frozenset[str] = frozenset({"and", "or", "of", "the", "for", "und", "et"})
#: Shortest stem a ``*`` keyword may have: shorter ones match too much.
MIN_STEM = 3
#: Longer industry text is cut: real industry names are short.
MAX_TEXT_CHARS = 200

_WORD = re.compile(r"[^\W_]+")

Words = tuple[str, ...]


def words_of(text: str) -> Words:
    """Folded words of ``text``: lower case, Latin accents dropped, stop words skipped."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return tuple(word for word in _WORD.findall(folded) if word not in STOP_WORDS)


@dataclass(frozen=True, slots=True)
class Keyword:
    """One keyword as read: its words, and whether the last word is a stem (``pharma*``)."""

    text: str
    words: Words
    stem: bool

    @property
    def key(self) -> tuple[Words, bool]:
        """Two keywords with equal keys match exactly the same text."""
        return self.words, self.stem

    def matches_at(self, words: Words, at: int) -> bool:
        size = len(self.words)
        if at + size > len(words):
            return False
        if words[at : at + size - 1] != self.words[:-1]:
            return False
        last = words[at + size - 1]
        return last.startswith(self.words[-1]) if self.stem else last == self.words[-1]

    def strength(self) -> tuple[int, int, int]:
        """More words, then a whole word over a stem, then a longer stem."""
        return len(self.words), 0 if self.stem else 1, len(self.words[-1])


def keyword(text: str) -> Keyword | str:
    """The keyword ``text`` stands for, or why it cannot be one."""
    stem = text.endswith("*")
    body = text[:-1] if stem else text
    if "*" in body:
        return f"'{text}': '*' may only end a keyword ('pharma*' = any word starting with pharma)"
    words = words_of(body)
    if not words:
        return f"'{text}' has no letters or digits to match (and, or, of, the, for are skipped)"
    if stem and len(words[-1]) < MIN_STEM:
        return (
            f"'{text}': a '*' keyword needs {MIN_STEM} letters or more before the '*', or it matches too much"
        )
    return Keyword(text, words, stem)


class VerticalMap:
    """Keywords per vertical, answering "which vertical is this industry in?"."""

    __slots__ = ("_by_first", "_order")

    def __init__(self, verticals: Mapping[str, tuple[Keyword, ...]]) -> None:
        """``verticals`` must already be free of duplicate keywords (the loader checks)."""
        self._order = tuple(verticals)
        index: dict[str, list[tuple[Keyword, str]]] = {}
        for vertical, keywords in verticals.items():
            for item in keywords:
                first = item.words[0][:MIN_STEM] if len(item.words) == 1 and item.stem else item.words[0]
                index.setdefault(first, []).append((item, vertical))
        self._by_first = index

    @property
    def verticals(self) -> tuple[str, ...]:
        return self._order

    def _candidates(self, word: str) -> list[tuple[Keyword, str]]:
        found = list(self._by_first.get(word, ()))
        if len(word) >= MIN_STEM and word[:MIN_STEM] != word:
            found += self._by_first.get(word[:MIN_STEM], ())
        return found

    def vertical_of(self, industry: str | None) -> tuple[str | None, str | None]:
        """(vertical, keyword that decided); (None, None) without text, (OTHER, None) with no match."""
        if not isinstance(industry, str):
            return None, None
        words = words_of(industry[:MAX_TEXT_CHARS])
        if not words:
            return None, None
        best: tuple[tuple[int, int, int], Keyword, str] | None = None
        for at, word in enumerate(words):
            for item, vertical in self._candidates(word):
                if item.matches_at(words, at) and (best is None or item.strength() > best[0]):
                    best = (item.strength(), item, vertical)
        if best is None:
            return OTHER, None
        return best[2], best[1].text
