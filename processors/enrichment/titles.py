"""Job titles to seniority and function, driven by a vocabulary file.

Routing rules ask "is this a VP in sales?", not "does the title contain
'VP'?". Titles are free text in many languages, so every word that matters
lives in ``data/titles.yaml`` where RevOps can read and extend it; this
module only knows the matching rules (documented at the top of that file):
fold case, accents and punctuation, expand abbreviations, read the longest
term at each word, then let the highest seniority win unless an override
caps it. Pure: the caller reads the file and hands over a parsed Document.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import OSA

from processors.config import ConfigError, Document, Path, described

#: Seniority levels, highest first: when a title says several, the first here wins.
SENIORITIES: tuple[str, ...] = (
    "owner", "c_level", "vp", "head", "director", "manager", "senior_ic", "ic", "intern",
)  # fmt: skip
#: Functions (departments). "other" means "has a role word but no department word".
FUNCTIONS: tuple[str, ...] = (
    "executive", "sales", "marketing", "engineering", "it", "product", "finance", "hr",
    "operations", "legal", "customer_success", "other",
)  # fmt: skip

#: Confidence when a word states the level ("Director", "Senior", "Intern").
CONFIDENCE_STATED = 0.9
#: Confidence when the level is only guessed from a job noun ("Engineer" -> ic).
CONFIDENCE_ROLE_NOUN = 0.6
#: Confidence when only a department was recognised ("Marketing").
CONFIDENCE_FUNCTION_ONLY = 0.3

#: Longer input is cut: real titles are short, and the cache must stay small.
MAX_TITLE_CHARS = 200
CACHE_SIZE = 32768

_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SENIORITIES)}
_SECTIONS = (
    "separators", "abbreviations", "ignore", "scopes", "seniority", "functions", "titles", "overrides",
    "company_heads", "team_roles",
)  # fmt: skip
_OVERRIDE_KEYS = frozenset({"terms", "cap", "function"})
_MIN_AFFIX = 3
#: Typos: words (or phrases) this long may differ from a term by one edit (OSA: a swap of two
#: neighbouring letters is one edit), this long by two. Shorter words must match exactly, or
#: "chef" would read as "chief" and "lead" as "head".
FUZZY_MIN_CHARS = 6
FUZZY_TWO_EDITS_CHARS = 12
_FUZZY_MAX_WORDS = 4

#: The separator token. "&", "/", "+" and "|" always separate; the file adds words ("and", "und").
SEP = "&"
_SEPARATOR_CHARS = frozenset("&/+|")
#: Scripts written without spaces between words: their terms match anywhere in the text.
_CJK = (
    "\u1100-\u11ff\u3005\u3006\u3040-\u309f\u30a0-\u30fa\u30fc-\u30ff\u3130-\u318f"
    "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
_TOKEN = re.compile(rf"[&/+|]|[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_START = re.compile(rf"[{_CJK}]")
#: Latin letters that do not decompose into letter + accent.
_LETTER_FOLDS = str.maketrans(
    {"ø": "o", "đ": "d", "ł": "l", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th", "ð": "d", "ħ": "h"}
)

Words = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TitleClass:
    """What a title says about a person: how senior, which department(s), how sure."""

    seniority: str | None
    function: str | None
    functions: tuple[str, ...]
    confidence: float
    matched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Meaning:
    """What one vocabulary term contributes when it is read in a title."""

    term: str
    seniority: str | None = None
    function: str | None = None
    role_noun: bool = False  # the level is a guess from a job noun, not stated
    cap: bool = False  # the title ranks no higher than ``seniority``
    ignore: bool = False
    scope: bool = False  # a region or market: ignored, but it scopes a company-head title
    unknown: bool = False  # a word the vocabulary does not know (it scopes a company-head title too)
    separator: bool = False  # the boundary between two parts of a title
    scoped: str | None = None  # company-head titles: the level once the title gives a scope
    without_noun: str | None = None  # grades: the level when no job noun follows in the part


def _fold(text: str) -> str:
    """Case-, width- and (Latin-only) accent-insensitive form of ``text``.

    Accents are dropped only after Latin letters: Japanese voicing marks and
    Korean jamo are part of the letter, not decoration.
    """
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).casefold().translate(_LETTER_FOLDS)
    if text.isascii():
        return text
    kept: list[str] = []
    after_latin = False
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.category(ch) == "Mn":
            if after_latin:
                continue
        else:
            after_latin = ch <= "\u024f" or "\u1e00" <= ch <= "\u1eff"
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept))


def _tokens(folded: str, separators: frozenset[str]) -> Words:
    """Words of folded text; separators become ``SEP`` and bare numbers go."""
    words: list[str] = []
    for match in _TOKEN.finditer(folded):
        word = match.group()
        if word in _SEPARATOR_CHARS or word in separators:
            words.append(SEP)
        elif not word.isdigit():
            words.append(word)
    return tuple(words)


def _is_cjk(word: str) -> bool:
    return _CJK_START.match(word) is not None


def _longest_first(table: Mapping[Words, Any]) -> dict[str, tuple[tuple[Words, Any], ...]]:
    """Index phrases by first word, longest first, so the first hit is the longest match."""
    index: dict[str, list[tuple[Words, Any]]] = {}
    for words, value in table.items():
        index.setdefault(words[0], []).append((words, value))
    return {first: tuple(sorted(rows, key=lambda row: -len(row[0]))) for first, rows in index.items()}


class TitleClassifier:
    """Reads seniority and function from a job title, per a validated vocabulary."""

    def __init__(
        self,
        separators: frozenset[str],
        abbreviations: Mapping[Words, Words],
        phrases: Mapping[Words, _Meaning],
        prefixes: Mapping[str, _Meaning],
        suffixes: Mapping[str, _Meaning],
        cjk: Mapping[str, _Meaning],
    ) -> None:
        """Use :meth:`from_document`; this takes the tables it builds."""
        self._separators = separators
        self._abbreviations = _longest_first(abbreviations)
        self._phrases = _longest_first(phrases)
        self._prefixes = dict(prefixes)
        self._suffixes = dict(suffixes)
        self._prefix_max = max(map(len, prefixes), default=0)
        self._suffix_max = max(map(len, suffixes), default=0)
        cjk_index: dict[str, list[tuple[str, _Meaning]]] = {}
        for term, meaning in cjk.items():
            cjk_index.setdefault(term[0], []).append((term, meaning))
        self._cjk = {ch: tuple(sorted(rows, key=lambda row: -len(row[0]))) for ch, rows in cjk_index.items()}
        # Typo candidates: every spaced-script term that says something, by word count, first
        # letter and length, so a word is compared only with terms an edit or two away.
        fuzzy: dict[tuple[int, str, int], list[tuple[str, _Meaning]]] = {}
        for words, meaning in phrases.items():
            text = " ".join(words)
            if meaning.ignore or meaning.scope or _is_cjk(words[0]) or SEP in words:
                continue
            if len(words) <= _FUZZY_MAX_WORDS and len(text) >= FUZZY_MIN_CHARS - 1:
                fuzzy.setdefault((len(words), text[0], len(text)), []).append((text, meaning))
        self._fuzzy = fuzzy
        self._fuzzy_starts = {(size, first) for size, first, _ in fuzzy}
        # Words seen before and what they read as: unknown words (names, places) recur.
        self._typos: dict[Words, tuple[int, list[_Meaning]]] = {}
        self._cached = lru_cache(maxsize=CACHE_SIZE)(self._classify)

    @classmethod
    def from_document(cls, doc: Document) -> TitleClassifier:
        """Validate a vocabulary document; errors name the file, the line and the fix."""
        return _Builder(doc).build()

    def classify(self, title: str) -> TitleClass | None:
        """Seniority and function of ``title``, or None when no term is recognised.

        Never raises: a title is untrusted form input, and one odd title must
        not stop a lead from being routed.
        """
        if not isinstance(title, str):
            return None
        return self._cached(title[:MAX_TITLE_CHARS])

    def cache_clear(self) -> None:
        """Forget cached answers (for benchmarks; answers never go stale)."""
        self._cached.cache_clear()
        self._typos.clear()

    def _classify(self, title: str) -> TitleClass | None:
        words = self._expand(_tokens(_fold(title), self._separators))
        return _decide([meaning for meaning in self._read(words) if not meaning.ignore])

    def _expand(self, words: Words) -> Words:
        """Replace abbreviations by their expansions (longest short form first)."""
        table = self._abbreviations
        if not any(word in table for word in words):
            return words
        out: list[str] = []
        at = 0
        while at < len(words):
            for short, expansion in table.get(words[at], ()):
                if words[at : at + len(short)] == short:
                    out.extend(expansion)
                    at += len(short)
                    break
            else:
                out.append(words[at])
                at += 1
        return tuple(out)

    def _read(self, words: Words) -> Iterator[_Meaning]:
        """Meanings of the terms in ``words``, left to right, longest term first."""
        at = 0
        while at < len(words):
            word = words[at]
            for phrase, meaning in self._phrases.get(word, ()):
                if len(phrase) == 1 or words[at : at + len(phrase)] == phrase:
                    yield meaning
                    at += len(phrase)
                    break
            else:
                if word == SEP:
                    yield _SEPARATOR
                elif _is_cjk(word):
                    yield from self._read_cjk(word)
                else:
                    found = list(self._read_affixes(word)) or self._read_plural(word)
                    if not found:
                        size, found = self._read_typo(words, at)
                        if found:
                            yield from found
                            at += size
                            continue
                    yield from found or (_Meaning(word, unknown=True),)
                at += 1

    def _read_plural(self, word: str) -> list[_Meaning]:
        """A plural of a one-word term: "Products" is "product", "Technologies" "technology"."""
        stems = (word[:-3] + "y", word[:-1]) if word.endswith("ies") else (word[:-1],)
        for stem in stems if len(word) > 4 and word.endswith("s") else ():
            for phrase, meaning in self._phrases.get(stem, ()):
                if len(phrase) == 1:
                    return [meaning]
        return []

    def _read_typo(self, words: Words, at: int) -> tuple[int, list[_Meaning]]:
        """A term misspelled by an edit or two ("Directcor", "Boar Member"), longest first.

        The first letter must be right (typos rarely hit it, and real words that differ
        from a term by one letter mostly differ there), the text must be long enough for
        an edit to be a typo rather than another word, and two terms equally near is no match.
        """
        key = words[at : at + _FUZZY_MAX_WORDS]
        known = self._typos.get(key)
        if known is not None:
            return known
        if len(self._typos) >= CACHE_SIZE:
            self._typos.clear()
        found = self._typos[key] = self._nearest_term(key)
        return found

    def _nearest_term(self, words: Words) -> tuple[int, list[_Meaning]]:
        """The longest window starting at ``words[0]`` that is near exactly one reading."""
        first = words[0][0]
        for size in range(min(len(words), _FUZZY_MAX_WORDS), 0, -1):
            window = words[:size]
            if (size, first) not in self._fuzzy_starts or SEP in window:
                continue
            text = " ".join(window)
            if len(text) < FUZZY_MIN_CHARS:
                continue
            limit = 2 if len(text) >= FUZZY_TWO_EDITS_CHARS else 1
            best: list[_Meaning] = []
            best_distance = limit + 1
            for length in range(len(text) - limit, len(text) + limit + 1):
                for term, meaning in self._fuzzy.get((size, text[0], length), ()):
                    distance = OSA.distance(text, term, score_cutoff=limit)
                    if distance > limit or _other_ending(text, term):
                        continue
                    if distance < best_distance:
                        best, best_distance = [meaning], distance
                    elif distance == best_distance:
                        best.append(meaning)
            if best and len({(m.seniority, m.function) for m in best}) == 1:
                return size, best[:1]  # two different terms equally near are no match
        return 0, []

    def _read_cjk(self, run: str) -> Iterator[_Meaning]:
        """CJK terms anywhere inside a run of CJK text, leftmost-longest."""
        at = 0
        while at < len(run):
            for term, meaning in self._cjk.get(run[at], ()):
                if run.startswith(term, at):
                    yield meaning
                    at += len(term)
                    break
            else:
                at += 1

    def _read_affixes(self, word: str) -> Iterator[_Meaning]:
        """The longest prefix term and the longest suffix term of a compound word."""
        prefix = next(
            (size for size in range(min(len(word), self._prefix_max), _MIN_AFFIX - 1, -1)
             if word[:size] in self._prefixes),
            0,
        )  # fmt: skip
        suffix = next(
            (size for size in range(min(len(word), self._suffix_max), _MIN_AFFIX - 1, -1)
             if word[-size:] in self._suffixes),
            0,
        )  # fmt: skip
        if prefix + suffix > len(word):  # they overlap: keep the longer reading
            prefix, suffix = (prefix, 0) if prefix >= suffix else (0, suffix)
        if prefix:
            yield self._prefixes[word[:prefix]]
        if suffix:
            yield self._suffixes[word[-suffix:]]


def _other_ending(text: str, term: str) -> bool:
    """Letters added at the end, or only the last letter changed: another word, not a typo.

    "Directory" is not "director", "Supervisory" not "supervisor", and the last letter
    is where languages inflect ("directora" is a word of its own).
    """
    if text.startswith(term) or term.startswith(text):
        return True
    return len(text) == len(term) and text[:-1] == term[:-1]


_SEPARATOR = _Meaning(SEP, separator=True)
#: Roles that only a part of a company has: beside one, a company-head title is scoped.
_PART_LEVELS = frozenset({"vp", "head", "director"})


def _resolve(read: list[_Meaning]) -> list[_Meaning]:
    """Settle the terms whose level depends on the rest of the title.

    A company-head title (Managing Director, General Manager) with a scope (a region,
    a department, any word the vocabulary does not know, or a second role that only a
    part of a company has, such as VP) runs a part of the company; beside other top roles
    only ("Managing Director & CEO") it is the head of the company. A grade
    ("Lead") with no job noun after it in its part is a role of its own ("Platform Lead").
    """
    scoped = any(
        m.unknown
        or m.scope
        or (m.seniority is None and m.function not in (None, "executive"))
        or (m.seniority in _PART_LEVELS and m.scoped is None)
        for m in read
    )
    out: list[_Meaning] = []
    noun_follows = False
    for meaning in reversed(read):
        if meaning.separator:
            noun_follows = False
            continue
        if meaning.scoped is not None and scoped:
            meaning = replace(meaning, seniority=meaning.scoped)
        elif meaning.without_noun is not None and not noun_follows:
            meaning = replace(meaning, seniority=meaning.without_noun)
        noun_follows = noun_follows or meaning.role_noun
        if not (meaning.unknown or meaning.scope):
            out.append(meaning)
    out.reverse()
    return out


def _decide(read: list[_Meaning]) -> TitleClass | None:
    """Highest seniority wins, overrides cap it; functions in title order.

    A scoped company-head title's own function (executive) comes after the departments
    the title names: "Executive Director, Global Marketing" is in marketing.
    """
    meanings = _resolve(read)
    if not meanings:
        return None
    ranks = [(_RANK[meaning.seniority], meaning) for meaning in meanings if meaning.seniority is not None]
    seniority: str | None = None
    confidence = CONFIDENCE_FUNCTION_ONLY
    if ranks:
        top = min(rank for rank, _ in ranks)
        caps = [rank for rank, meaning in ranks if meaning.cap]
        if caps:
            top = max(top, *caps)  # the lowest cap: "Assistant to the CEO" stays an assistant
        seniority = SENIORITIES[top]
        stated = any(rank == top and not meaning.role_noun for rank, meaning in ranks)
        confidence = CONFIDENCE_STATED if stated else CONFIDENCE_ROLE_NOUN
    leading = [m.function for m in meanings if m.function and not (m.scoped and m.seniority == m.scoped)]
    trailing = [m.function for m in meanings if m.function and m.scoped and m.seniority == m.scoped]
    functions = tuple(dict.fromkeys(leading + trailing))
    function = functions[0] if functions else "other"
    return TitleClass(seniority, function, functions, confidence, tuple(meaning.term for meaning in meanings))


# --- building and validating a vocabulary -------------------------------------------------------


def _choices(names: tuple[str, ...]) -> str:
    return ", ".join(names)


class _Builder:
    """Turns a vocabulary document into matching tables, refusing anything unclear."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.separators: frozenset[str] = frozenset()
        self.abbreviations: dict[Words, Words] = {}
        self.abbreviation_lines: dict[Words, tuple[str, int | None]] = {}
        self.abbreviations_by_first: dict[str, list[Words]] = {}
        self.phrases: dict[Words, _Meaning] = {}
        self.prefixes: dict[str, _Meaning] = {}
        self.suffixes: dict[str, _Meaning] = {}
        self.cjk: dict[str, _Meaning] = {}
        # folded key -> (line, where it is listed, whether that listing gives a seniority)
        self.seen: dict[tuple[str, Words], tuple[int | None, str, bool]] = {}

    def error(self, path: Path, reason: str) -> ConfigError:
        return self.doc.error(path, reason)

    def build(self) -> TitleClassifier:
        data = self.doc.data
        if not isinstance(data, dict):
            raise self.error((), f"the vocabulary must be a mapping with the sections {_choices(_SECTIONS)}")
        for key in data:
            if key not in _SECTIONS:
                raise self.error((key,), f"unknown section '{key}'; expected one of {_choices(_SECTIONS)}")
        # Separators and abbreviations change how every term is read, so they go first.
        self._separators(data.get("separators"))
        self._abbreviations(data.get("abbreviations"))
        sections: dict[str, Callable[[Any], None]] = {
            "ignore": self._ignore,
            "scopes": self._scopes,
            "seniority": self._seniority,
            "functions": self._functions,
            "titles": self._titles,
            "overrides": self._overrides,
        }
        for key, value in data.items():
            if key in sections:
                sections[key](value)
        # These refine terms listed elsewhere, so they go last wherever they are in the file.
        self._refine("company_heads", data.get("company_heads"), "scoped")
        self._refine("team_roles", data.get("team_roles"), "without_noun")
        return TitleClassifier(
            self.separators, self.abbreviations, self.phrases, self.prefixes, self.suffixes, self.cjk
        )

    # shapes

    def _mapping(self, path: Path, value: Any, what: str, example: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(path, f"{what} must be a mapping such as '{example}', not {described(value)}")
        return value

    def _list(self, path: Path, value: Any, what: str, example: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(
                path, f"{what} must be a list of terms such as {example}, not {described(value)}"
            )
        return value

    def _text(self, path: Path, value: Any, what: str) -> str:
        if not isinstance(value, str):
            raise self.error(
                path, f"{what} must be text, not {described(value)}; put quotes around numbers and yes/no"
            )
        text = value.strip()
        if not text:
            raise self.error(path, f"empty {what}; write the word or delete the line")
        return text

    def _words(self, path: Path, text: str, what: str) -> Words:
        words = _tokens(_fold(text), self.separators)
        if not words or all(word == SEP for word in words):
            raise self.error(path, f"{what} '{text}' has no letters to match")
        if words[0] == SEP or words[-1] == SEP:
            raise self.error(path, f"{what} '{text}' cannot start or end with a separator ('and', '&', '/')")
        return words

    # sections

    def _separators(self, value: Any) -> None:
        path: Path = ("separators",)
        words: set[str] = set()
        for index, item in enumerate(self._list(path, value, "separators", "[and, und, et]")):
            text = self._text((*path, index), item, "separator")
            found = _tokens(_fold(text), frozenset())
            if len(found) != 1 or found[0] == SEP:
                raise self.error(
                    (*path, index),
                    f"separator '{text}' must be a single word such as 'and'; & / + | always separate",
                )
            words.add(found[0])
        self.separators = frozenset(words)

    def _abbreviations(self, value: Any) -> None:
        path: Path = ("abbreviations",)
        for short, expansion in self._mapping(path, value, "abbreviations", "mgr: manager").items():
            where = (*path, short)
            key = self._words(where, self._text(where, short, "abbreviation"), "abbreviation")
            if key in self.abbreviations:
                first, line = self.abbreviation_lines[key]
                raise self.error(
                    where,
                    f"abbreviation '{short}' is the same as '{first}' (line {line}) once case and "
                    "punctuation are ignored; keep one",
                )
            text = self._text(where, expansion, f"expansion of '{short}'")
            self.abbreviations[key] = self._words(where, text, f"expansion of '{short}'")
            self.abbreviation_lines[key] = (short, self.doc.line(where))
            self.abbreviations_by_first.setdefault(key[0], []).append(key)

    def _ignore(self, value: Any) -> None:
        path: Path = ("ignore",)
        for index, item in enumerate(self._list(path, value, "ignore", "[global, emea, remote]")):
            self._term((*path, index), item, "ignore", _Meaning("", ignore=True))

    def _scopes(self, value: Any) -> None:
        path: Path = ("scopes",)
        for index, item in enumerate(self._list(path, value, "scopes", "[emea, dach, north america]")):
            self._term((*path, index), item, "scopes", _Meaning("", scope=True))

    def _refine(self, section: str, value: Any, attribute: str) -> None:
        """Give terms already listed a second level: when scoped, or when no job noun follows."""
        path: Path = (section,)
        example = "director: [managing director]" if attribute == "scoped" else "manager: [lead]"
        for level, terms in self._mapping(path, value, section, example).items():
            self._check_name((*path, level), level, SENIORITIES, "seniority")
            where = (*path, level)
            for index, item in enumerate(self._list(where, terms, f"{section} '{level}'", "[lead]")):
                at = (*where, index)
                text = self._text(at, item, f"term under {section}")
                words = self._words(at, text, "term")
                meaning = self.phrases.get(words)
                if meaning is None or meaning.seniority is None:
                    raise self.error(
                        at,
                        f"'{text}' under {section} must first be listed, with its usual level, "
                        "under seniority or titles",
                    )
                self.phrases[words] = (
                    replace(meaning, scoped=level)
                    if attribute == "scoped"
                    else replace(meaning, without_noun=level)
                )

    def _seniority(self, value: Any) -> None:
        path: Path = ("seniority",)
        for level, terms in self._mapping(path, value, "seniority", "director: [director, dir]").items():
            self._check_name((*path, level), level, SENIORITIES, "seniority")
            where = (*path, level)
            for index, item in enumerate(self._list(where, terms, f"seniority '{level}'", "[director]")):
                self._term((*where, index), item, f"seniority '{level}'", _Meaning("", seniority=level))

    def _functions(self, value: Any) -> None:
        path: Path = ("functions",)
        real = tuple(name for name in FUNCTIONS if name != "other")
        for function, terms in self._mapping(path, value, "functions", "sales: [sales, vertrieb*]").items():
            if function == "other":
                raise self.error(
                    (*path, function),
                    "'other' is what a title gets when no function word matches; list words under a "
                    f"real function ({_choices(real)})",
                )
            self._check_name((*path, function), function, real, "function")
            where = (*path, function)
            for index, item in enumerate(self._list(where, terms, f"function '{function}'", "[sales]")):
                self._term((*where, index), item, f"function '{function}'", _Meaning("", function=function))

    def _titles(self, value: Any) -> None:
        path: Path = ("titles",)
        example = "ic: {engineering: [engineer]}"
        for level, by_function in self._mapping(path, value, "titles", example).items():
            self._check_name((*path, level), level, SENIORITIES, "seniority")
            level_path = (*path, level)
            functions = self._mapping(
                level_path, by_function, f"titles '{level}'", "sales: [account executive]"
            )
            for function, terms in functions.items():
                self._check_name((*level_path, function), function, FUNCTIONS, "function")
                where = (*level_path, function)
                label = f"titles {level}/{function}"
                meaning = _Meaning(
                    "",
                    seniority=level,
                    function=None if function == "other" else function,
                    role_noun=level == "ic",
                )
                for index, item in enumerate(self._list(where, terms, label, "[account executive]")):
                    self._term((*where, index), item, label, meaning)

    def _overrides(self, value: Any) -> None:
        path: Path = ("overrides",)
        example = "[{terms: [assistant to], cap: ic}]"
        if value is None:
            return
        if not isinstance(value, list):
            raise self.error(path, f"overrides must be a list such as {example}, not {described(value)}")
        for number, rule in enumerate(value):
            where = (*path, number)
            rule = self._mapping(where, rule, "each override", "{terms: [assistant to], cap: ic}")
            for key in rule:
                if key not in _OVERRIDE_KEYS:
                    raise self.error(
                        (*where, key), f"unknown override key '{key}'; use terms, cap and optionally function"
                    )
            if "cap" not in rule or "terms" not in rule:
                raise self.error(where, "an override needs 'terms' (a list) and 'cap' (a seniority)")
            cap = self._text((*where, "cap"), rule["cap"], "cap")
            self._check_name((*where, "cap"), cap, SENIORITIES, "seniority")
            function: str | None = None
            if "function" in rule:
                function = self._text((*where, "function"), rule["function"], "function")
                self._check_name((*where, "function"), function, FUNCTIONS, "function")
            meaning = _Meaning(
                "", seniority=cap, function=None if function == "other" else function, cap=True
            )
            terms_path = (*where, "terms")
            for index, item in enumerate(
                self._list(terms_path, rule["terms"], "override terms", "[assistant to]")
            ):
                self._term((*terms_path, index), item, f"override (cap {cap})", meaning)

    def _check_name(self, path: Path, name: str, allowed: tuple[str, ...], kind: str) -> None:
        if name not in allowed:
            raise self.error(path, f"unknown {kind} '{name}'; use one of {_choices(allowed)}")

    # terms

    def _term(self, path: Path, item: Any, where: str, meaning: _Meaning) -> None:
        text = self._text(path, item, f"term under {where}")
        meaning = replace(meaning, term=text)
        if "*" in text:
            kind, stem = self._affix(path, text)
            words: Words = (stem,)
        else:
            words = self._words(path, text, "term")
            self._no_abbreviation(path, text, words)
            kind = "cjk" if len(words) == 1 and _is_cjk(words[0]) else "phrase"
        self._once(path, text, where, meaning, (kind, words))
        if kind == "phrase":
            self.phrases[words] = meaning
        else:
            {"prefix": self.prefixes, "suffix": self.suffixes, "cjk": self.cjk}[kind][words[0]] = meaning

    def _once(self, path: Path, text: str, where: str, meaning: _Meaning, key: tuple[str, Words]) -> None:
        """Refuse a term listed twice: one reading per term keeps the file predictable."""
        previous = self.seen.get(key)
        if previous is None:
            self.seen[key] = (self.doc.line(path), where, meaning.seniority is not None)
            return
        line, first, ranked = previous
        if ranked and meaning.seniority is not None:
            reason = (
                f"'{text}' is listed under two seniorities: {first} (line {line}) and {where}; "
                "a term can mean only one level, keep it under one"
            )
        else:
            reason = (
                f"'{text}' is already listed under {first} (line {line}); each term may appear once "
                "(case, accents and punctuation are ignored). A term that says both a level and a "
                "function belongs under titles"
            )
        raise self.error(path, reason)

    def _affix(self, path: Path, text: str) -> tuple[str, str]:
        if text.count("*") != 1 or not (text.startswith("*") or text.endswith("*")):
            raise self.error(
                path,
                f"'{text}': '*' may appear once, at the start ('*leiter' = any word ending in leiter) "
                "or at the end ('vertrieb*' = any word starting with vertrieb)",
            )
        words = _tokens(_fold(text.strip("*")), frozenset())
        if len(words) != 1 or words[0] == SEP or _is_cjk(words[0]):
            raise self.error(
                path,
                f"'{text}': a '*' term must be one word in Latin or another spaced script "
                "(Chinese, Japanese and Korean terms already match inside words)",
            )
        if len(words[0]) < _MIN_AFFIX:
            raise self.error(
                path, f"'{text}': a '*' term needs {_MIN_AFFIX} letters or more, or it matches too much"
            )
        return ("prefix" if text.endswith("*") else "suffix"), words[0]

    def _no_abbreviation(self, path: Path, text: str, words: Words) -> None:
        """Titles have abbreviations expanded before terms are read, so a term must not use one."""
        for at, word in enumerate(words):
            for short in self.abbreviations_by_first.get(word, ()):
                if words[at : at + len(short)] == short:
                    short_text, long_text = " ".join(short), " ".join(self.abbreviations[short])
                    raise self.error(
                        path,
                        f"term '{text}' uses the abbreviation '{short_text}', which titles have expanded "
                        f"to '{long_text}' before terms are read; write it out in full",
                    )
