"""``leadroute bench enrich``: title and e-mail enrichment quality on real, labelled data.

Synthetic leads only test what their generator knows, so this bench reads data
nobody on leadroute wrote: labelled job titles from a directory of real data
(``LEADROUTE_REAL_DATA_DIR``, by default ``../shared/data`` beside the repo), and
free-mail and role-address lists from sources other than the ones detection uses.

The title labels are coarser than leadroute's vocabulary; the mapping below was
fixed from what the labels mean, before any result was looked at.
"""

from __future__ import annotations

import csv
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from processors.enrichment.emails import DomainLists, is_role_address
from processors.enrichment.titles import TitleClassifier

ENV_DATA_DIR = "LEADROUTE_REAL_DATA_DIR"
TITLES_FILE = "job-titles-dev.tsv"
_REPO = Path(__file__).resolve().parents[2]
_CHECK_LISTS = Path(__file__).resolve().parent / "data"
_ROLE_LIST = _REPO / "processors" / "enrichment" / "data" / "role-local-parts.txt"

#: The data set's level -> the leadroute seniorities that mean it (None: no level read).
LEVELS: dict[str, frozenset[str | None]] = {
    "C-Suite": frozenset({"owner", "c_level"}),
    "VP": frozenset({"vp"}),
    "Director": frozenset({"head", "director"}),
    "Manager": frozenset({"manager"}),
    "Other": frozenset({"senior_ic", "ic", "intern", None}),
}
#: Functions the data set files under Business or under Other, about equally often.
SPLIT_FUNCTIONS = frozenset({"finance", "legal", "hr"})
#: The data set's area -> the leadroute functions that mean it, with finance, legal and HR
#: under Business (as the label's meaning says); ``area_of`` can put them under Other.
AREAS: dict[str, frozenset[str | None]] = {
    "Sales-Marketing": frozenset({"sales", "marketing"}),
    "Technical": frozenset({"engineering", "it"}),
    "Business": frozenset(
        {"executive", "finance", "hr", "operations", "legal", "customer_success", "product"}
    ),
    "Other": frozenset({"other", None}),
}

#: Ways of counting finance, legal and HR titles: under Business, under Other, or either.
SPLIT_READINGS = ("business", "other", "either")


def real_data_dir(option: str | None) -> Path:
    """The option, else the environment variable, else ``../shared/data`` beside the repo."""
    text = option or os.environ.get(ENV_DATA_DIR)
    return Path(text) if text else _REPO.parent / "shared" / "data"


def read_titles(path: Path) -> list[tuple[str, str, str]]:
    """(title, level, area) rows of the labelled file."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            (row["title"], row["level"], row["area"])
            for row in csv.DictReader(handle, delimiter="\t")
            if row.get("title")
        ]


def level_of(seniority: str | None) -> str:
    """The data set's level for a leadroute seniority."""
    return next(level for level, values in LEVELS.items() if seniority in values)


def area_of(function: str | None, split: str = "business") -> str:
    """The data set's area for a leadroute function; ``split`` places finance, legal and HR."""
    if function in SPLIT_FUNCTIONS and split == "other":
        return "Other"
    return next(area for area, values in AREAS.items() if function in values)


def _area_right(function: str | None, gold: str, split: str) -> bool:
    if split == "either" and function in SPLIT_FUNCTIONS:
        return gold in ("Business", "Other")
    return area_of(function, split) == gold


def _per_class(pairs: list[tuple[str, str]], classes: Iterable[str]) -> list[dict[str, Any]]:
    """Recall and precision per gold class, from (gold, predicted) pairs."""
    rows = []
    for name in classes:
        gold = sum(1 for g, _ in pairs if g == name)
        predicted = sum(1 for _, p in pairs if p == name)
        right = sum(1 for g, p in pairs if g == name == p)
        rows.append(
            {
                "class": name,
                "titles": gold,
                "right": right,
                "recall": round(right / gold, 3) if gold else None,
                "precision": round(right / predicted, 3) if predicted else None,
            }
        )
    return rows


def _confusions(pairs: list[tuple[str, str]], top: int = 8) -> list[dict[str, Any]]:
    wrong = Counter((g, p) for g, p in pairs if g != p)
    return [{"labelled": g, "read_as": p, "titles": n} for (g, p), n in wrong.most_common(top)]


def title_microseconds(titles: list[str], classifier: TitleClassifier, rounds: int = 20) -> float:
    """Mean time to read one title with a cold cache, as a fresh worker meets new titles."""
    started = time.perf_counter()
    for _ in range(rounds):
        classifier.cache_clear()
        for title in titles:
            classifier.classify(title)
    classifier.cache_clear()
    return round((time.perf_counter() - started) / (rounds * len(titles)) * 1e6, 1)


def title_figures(rows: list[tuple[str, str, str]], classifier: TitleClassifier) -> dict[str, Any]:
    """Seniority and function accuracy, per class, with the commonest confusions."""
    levels: list[tuple[str, str]] = []
    areas: list[tuple[str, str]] = []
    function_right = dict.fromkeys(SPLIT_READINGS, 0)
    for title, level, area in rows:
        found = classifier.classify(title)
        seniority = found.seniority if found else None
        function = found.function if found else None
        levels.append((level, level_of(seniority)))
        areas.append((area, area_of(function)))
        for split in SPLIT_READINGS:
            function_right[split] += _area_right(function, area, split)
    count = len(rows)
    return {
        "titles": count,
        "seniority_accuracy": round(sum(g == p for g, p in levels) / count, 3),
        "function_accuracy": {split: round(n / count, 3) for split, n in function_right.items()},
        "seniority_classes": _per_class(levels, LEVELS),
        "function_classes": _per_class(areas, AREAS),
        "seniority_confusions": _confusions(levels),
        "function_confusions": _confusions(areas),
        "microseconds_per_title": title_microseconds([title for title, _, _ in rows], classifier),
    }


def _read_list(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _share(items: list[str], test: Callable[[str], bool]) -> dict[str, Any]:
    hits = sum(1 for item in items if test(item))
    missed = sorted(item for item in items if not test(item))
    return {"checked": len(items), "recognised": round(hits / len(items), 4), "missed": missed[:12]}


#: The mailbox names RFC 2142 reserves for services and roles: a short list nobody here chose.
RFC_2142_MAILBOXES = (
    "info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster",
    "hostmaster", "usenet", "news", "webmaster", "www", "uucp", "ftp",
)  # fmt: skip


def _role_variants(words: list[str], seed: int = 3) -> list[str]:
    """Forms of listed role words that are not themselves listed: tags, affixes, separators."""
    rng = random.Random(seed)
    sample = rng.sample([w for w in words if w.isalpha() and len(w) >= 4], 150)
    forms = []
    for word in sample:
        forms += [
            f"noreply-{word}",
            f"no-reply.{word}",
            f"{word}-noreply",
            f"{word}_alerts",
            f"{word}-team",
            f"{word}+crm",
            word.upper(),
        ]
    return [*forms, "do-not-reply", "do_not_reply", "no.reply", "noreply", "donotreply"]


def _person_local_parts(count: int = 2000, seed: int = 5) -> list[str]:
    """Local parts people use: first, first.last, flast, first_last, in several locales."""
    from faker import Faker

    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR"])
    fake.seed_instance(seed)
    parts = []
    for index in range(count):
        first, last = fake.first_name().lower(), fake.last_name().lower()
        parts.append((first, f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}")[index % 4])
    return [p.replace(" ", "") for p in parts if p.isascii()]


def email_figures(lists: DomainLists) -> dict[str, Any]:
    """Free-mail and role-address recognition on lists other than the ones detection uses."""

    def free(domain: str) -> bool:
        return lists.is_free_mail(domain, domain)

    freemail = _read_list(_CHECK_LISTS / "freemail-free.txt")
    common = set(_read_list(_CHECK_LISTS / "email-providers-common.txt"))
    well_known = sorted(set(freemail) & common)
    roles = _read_list(_ROLE_LIST)
    persons = _person_local_parts()
    person_hits = [p for p in persons if is_role_address(f"{p}@example.org")]
    return {
        "free_mail_well_known": _share(well_known, free),
        "free_mail_freemail_list": _share(freemail, free),
        "role_list": _share(roles, lambda local: is_role_address(f"{local}@example.org")),
        "role_rfc_2142": _share(
            list(RFC_2142_MAILBOXES), lambda local: is_role_address(f"{local}@example.org")
        ),
        "role_variants": _share(_role_variants(roles), lambda local: is_role_address(f"{local}@example.org")),
        "person_false_positives": {
            "checked": len(persons),
            "flagged": round(len(person_hits) / len(persons), 4),
            "examples": sorted(set(person_hits))[:12],
        },
    }


def run_bench_enrich(data_dir: Path, classifier: TitleClassifier, lists: DomainLists) -> dict[str, Any]:
    """All figures; ``titles`` is None when the labelled titles are not in ``data_dir``."""
    titles_path = data_dir / TITLES_FILE
    titles = title_figures(read_titles(titles_path), classifier) if titles_path.is_file() else None
    return {"data_dir": str(data_dir), "titles": titles, "email": email_figures(lists)}


def _table(console: Any, title: str, rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    if not rows:
        return
    table = Table(title=title)
    for column in rows[0]:
        table.add_column(
            column.replace("_", " "),
            justify="left" if column in ("class", "labelled", "read_as", "check") else "right",
        )
    for row in rows:
        table.add_row(*("–" if value is None else str(value) for value in row.values()))
    console.print(table)


def render_bench_enrich(summary: dict[str, Any], console: Any) -> None:
    titles = summary["titles"]
    if titles is None:
        console.print(
            f"No labelled titles at {summary['data_dir']}/{TITLES_FILE}: title figures skipped "
            f"(set {ENV_DATA_DIR} or --data-dir to a directory holding it)."
        )
    else:
        accuracy = titles["function_accuracy"]
        console.print(
            f"Job titles ({titles['titles']}, {TITLES_FILE}): seniority {titles['seniority_accuracy']}, "
            f"function {accuracy['business']} with finance/legal/HR as Business, "
            f"{accuracy['other']} as Other, {accuracy['either']} accepting either; "
            f"{titles['microseconds_per_title']} µs a title (cold cache)"
        )
        _table(console, "Seniority per labelled level", titles["seniority_classes"])
        _table(console, "Seniority: commonest confusions", titles["seniority_confusions"])
        _table(
            console, "Function per labelled area (finance/legal/HR as Business)", titles["function_classes"]
        )
        _table(console, "Function: commonest confusions", titles["function_confusions"])
    email = summary["email"]
    rows = [
        {
            "check": "well-known free mail (freemail ∩ email-providers common)",
            **email["free_mail_well_known"],
        },
        {"check": "free mail, whole freemail list", **email["free_mail_freemail_list"]},
        {"check": "role local parts, role-based-email-addresses", **email["role_list"]},
        {"check": "role mailboxes, RFC 2142", **email["role_rfc_2142"]},
        {"check": "role variants (affixes, tags, separators)", **email["role_variants"]},
    ]
    _table(
        console,
        "E-mail",
        [{**row, "missed": ", ".join(row["missed"][:6])} for row in rows],
    )
    console.print(
        "Free mail is checked against lists detection does not use. The role list is the one "
        "detection uses, so its figure only shows it is wired in; the variants are built here "
        "from its words with the affixes the rules know, so they show the rules work, not "
        "that they generalise."
    )
    person = email["person_false_positives"]
    console.print(
        f"Personal local parts flagged as role addresses: {person['flagged']} of {person['checked']} "
        f"({', '.join(person['examples']) or 'none'})"
    )
