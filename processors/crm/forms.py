"""Legal forms and the shape of a typed company name, shared by the index and the comparison.

Both the index words (:mod:`processors.crm.indexing`) and the comparison form
(:mod:`processors.crm.names`) read a name through :func:`clean_name` and
:func:`join_initials`, so a name is looked up by the same words it is scored on.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Legal forms as folded word sequences, and the form they name. Forms that mean the same
#: ("Inc", "Incorporated", "Corp") name one form; "Co"/"Company" name none (it is part of
#: "Co., Ltd." and "& Co" alike). A name's legal form is every form at its end, so
#: "Pty Ltd" is {pty, ltd} and "GmbH & Co. KG" is {gmbh, kg}. Forms written out in their
#: own language ("Naamloze Vennootschap", "Société Anonyme") name the short form.
LEGAL_FORMS: dict[str, str] = {
    "inc": "inc", "incorporated": "inc", "corp": "inc", "corporation": "inc",
    "co": "", "company": "", "cos": "", "companies": "",
    "llc": "llc", "l l c": "llc", "ltd": "ltd", "limited": "ltd", "l t d": "ltd",
    "limited liability company": "llc", "limited liability co": "llc",
    "plc": "plc", "p l c": "plc", "public limited company": "plc", "public limited": "plc",
    "llp": "llp", "l l p": "llp", "lp": "lp", "l p": "lp", "limited partnership": "lp",
    "limited liability partnership": "llp",
    "pty": "pty", "pvt": "pvt", "pte": "pte", "private": "pvt", "proprietary": "pty",
    "gmbh": "gmbh", "g m b h": "gmbh", "ag": "ag", "kg": "kg", "kgaa": "kgaa", "ug": "ug", "se": "se",
    "e v": "ev", "aktiengesellschaft": "ag", "kommanditgesellschaft": "kg",
    "gesellschaft mit beschrankter haftung": "gmbh", "gesellschaft mit beschraenkter haftung": "gmbh",
    "sa": "sa", "s a": "sa", "sas": "sas", "s a s": "sas", "sarl": "sarl", "s a r l": "sarl",
    "societe anonyme": "sa", "sociedad anonima": "sa", "societe par actions simplifiee": "sas",
    "societe a responsabilite limitee": "sarl",
    "sl": "sl", "s l": "sl", "sociedad limitada": "sl", "srl": "srl", "s r l": "srl",
    "societa a responsabilita limitata": "srl", "societatea cu raspundere limitata": "srl",
    "spa": "spa", "s p a": "spa", "societa per azioni": "spa",
    "sp z o o": "spzoo", "spzoo": "spzoo", "bv": "bv", "b v": "bv", "nv": "nv", "n v": "nv",
    "besloten vennootschap": "bv", "naamloze vennootschap": "nv",
    "ab": "ab", "aktiebolag": "ab", "asa": "asa", "as": "as", "a s": "as", "aps": "aps", "oy": "oy",
    "oyj": "oyj", "kk": "kk", "k k": "kk", "kabushiki kaisha": "kk", "ltda": "ltda", "me": "me",
    "eireli": "eireli", "dac": "dac", "bhd": "bhd", "sdn": "sdn", "sro": "sro", "s r o": "sro", "doo": "doo",
    "jsc": "jsc", "ojsc": "jsc", "pjsc": "jsc", "cjsc": "jsc", "oao": "jsc", "pao": "jsc", "zao": "jsc",
    "ao": "jsc", "joint stock company": "jsc", "open joint stock company": "jsc",
    "public joint stock company": "jsc", "closed joint stock company": "jsc",
    "ooo": "llc", "o o o": "llc", "tov": "llc",
}  # fmt: skip

#: Legal forms a name may start with ("JSC Acme", "OOO Acme", "PT Acme", "SRL Acme").
#: Only these: a name that starts with "AS" or "SE" is more likely a word than a form.
LEADING_FORMS: frozenset[str] = frozenset(
    {
        "jsc", "ojsc", "pjsc", "cjsc", "oao", "pao", "zao", "ao", "ooo", "o o o", "tov", "pt", "p t",
        "llc", "srl", "s r l", "ab", "joint stock company", "open joint stock company",
        "public joint stock company", "closed joint stock company", "limited liability company",
        "societatea cu raspundere limitata",
    }
)  # fmt: skip
LEGAL_LONGEST = max(len(form.split()) for form in (*LEGAL_FORMS, *LEADING_FORMS))

#: A legal form run into the name ("SiemensAG"): split off when the case changes before it.
_RUN_IN_FORM = re.compile(r"(?<=[a-z]{3})(AG|GmbH|LLC|Inc|Ltd|SE|SA|NV|BV|PLC|KG|AB|Corp)\.?$")
_WORD = re.compile(r"[^\W_]+")
#: After a legal form, this many words or fewer per comma-separated part are a place.
PLACE_WORDS = 3


def _is_legal_form(part: str) -> bool:
    """The comma-separated part ends in a legal form ("Alcatel N.V.", "L.P.")."""
    words = [word.casefold() for word in _WORD.findall(part)]
    sizes = range(1, min(LEGAL_LONGEST, len(words)) + 1)
    return any(" ".join(words[-size:]) in LEGAL_FORMS for size in sizes)


@lru_cache(maxsize=65536)
def clean_name(name: str) -> str:
    """The name as typed, without what is not part of it: a place after its legal form.

    "ALCATEL N.V., AMSTERDAM" and "Honeywell B.V., Amsterdam, NL" are addresses
    written into the name field; the account is "Alcatel N.V.". A legal form run
    into the name ("SiemensAG") is split off ("Siemens AG").
    """
    parts = name.split(",")
    for at in range(len(parts) - 1):
        rest = parts[at + 1 :]
        if _is_legal_form(parts[at]) and all(
            0 < len(_WORD.findall(part)) <= PLACE_WORDS and not _is_legal_form(part) for part in rest
        ):
            name = ",".join(parts[: at + 1])
            break
    stripped = name.strip()
    return _RUN_IN_FORM.sub(r" \1", stripped)


def join_initials(words: list[str]) -> list[str]:
    """Runs of single letters joined into one word: "a b c" → "abc", "d s m" → "dsm".

    "A.B.C. Company", "A B C Company" and "ABC Company" are one name; letters
    left single would give no index word (too short) and score as three words.
    """
    joined: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if run:
            joined.append("".join(run) if len(run) > 1 else run[0])
            run = []
        if word:
            joined.append(word)
    return joined
