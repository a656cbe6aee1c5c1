"""Match quality on real, labelled organisation-name pairs that nobody on leadroute wrote.

The synthetic bench (``streams/bench/match.py``) writes its variants with the
same ideas the matcher was built on, so it flatters it. This one reads pairs of
real names labelled same / different (``org-name-pairs.csv`` from the shared
data directory) and takes each through the real matcher path: a CRM mirror
holding one account named ``name1``, and a lead whose company is ``name2``,
normalized and enriched as the match stage receives it (a free-mail address, so
only the name can match). A pair is predicted "same" when the lead is matched to
that account, accepted or in the review band; both counts are reported.

The pairs were labelled for sanctions screening, where a deliberate misspelling
must still be caught; for account matching some labels mean something else.
Those rows are excluded, each with its reason (:data:`EXCLUSIONS`), decided from
the names and the file's notes, not from the matcher's results.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processors.crm.matcher import Matcher, match_lead
from processors.crm.memory import InMemoryCrmMirror
from processors.enrichment.enricher import Enricher
from processors.lead import new_lead
from processors.normalize import normalize_lead

PAIRS_FILE = "org-name-pairs.csv"
#: The shared data directory, next to the repository, unless ``LEADROUTE_REAL_DATA_DIR`` says where.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

FUND_SERIES = "a fund's or trust's series or vintage: each is its own legal entity and account"
PARENT_CHILD = "a parent and its subsidiary: separate accounts in a CRM"
REAL_WORD = "the changed word is another real word, name or company, not a typo a person makes"
PERSON = "a person's name, not an organisation's"
CONTRADICTS = "labelled both ways in the file (Company: different, LegalEntity: same)"
PLACE = "another country in the name: a different account"

#: (name1, name2, is_match as labelled) → why the row is left out of account matching.
EXCLUSIONS: dict[tuple[str, str, str], str] = {
    ("Deutsche Bank (Schweiz) AG", "Deutsche Bank AG", "true"): PARENT_CHILD,
    ("Deutsche Bank AG", "Deutsche Bank (Schweiz) AG", "true"): PARENT_CHILD,
    ("Nils Trosterich", "Niels Oscar TROOST", "false"): PERSON,
    ("Kim Yong-chol", "Kim Yong-chun", "true"): PERSON,
    ("Volodymyr Groysman", "Volodymyr Oleksandrovych Zelenskyy", "false"): PERSON,
    ("Elois", "Alice Costandina Titus", "false"): PERSON,
    ("Nantahala Capital Offshore Fund, Ltd.", "Nantahala Capital Offshore Fund I, Ltd.", "true"): FUND_SERIES,
    ("BWI Industries, Inc.", "BAE Industries, Inc.", "true"): CONTRADICTS,
    ("Amazonis.com, Inc.", "Amazon.com, Inc.", "true"): REAL_WORD,
    ("State Grid Corporation of Chile", "State Grid Corporation of China", "true"): PLACE,
    ("Appel Inc.", "Apple Inc.", "true"): REAL_WORD,
    ("Alphanet Inc.", "Alphabet Inc.", "true"): REAL_WORD,
    ("UnitedWealth Group, Inc.", "UnitedHealth Group, Inc.", "true"): REAL_WORD,
    ("CVC Health Corporation", "CVS Health Corporation", "true"): REAL_WORD,
    ("Vital Holding S.A.", "Vitol Holding S.A.", "true"): REAL_WORD,
    ("Schell plc", "Shell plc", "true"): REAL_WORD,
    ("Macrosoft Corporation", "Microsoft Corporation", "true"): REAL_WORD,
    ("Cosco Wholesale Corporation", "Costco Wholesale Corporation", "true"): REAL_WORD,
    ("Glenmore plc", "Glencore plc", "true"): REAL_WORD,
    ("Invidia Corporation", "NVIDIA Corporation", "true"): REAL_WORD,
    ("Cardinal Wealth, Inc.", "Cardinal Health, Inc.", "true"): REAL_WORD,
    ("Chevon Corporation", "Chevron Corporation", "true"): REAL_WORD,
    ("Fjord Motor Company", "Ford Motor Company", "true"): REAL_WORD,
    ("General Mortars Company", "General Motors Company", "true"): REAL_WORD,
    ("Elegance Health, Inc.", "Elevance Health, Inc.", "true"): REAL_WORD,
    ("Beta Platforms, Inc.", "Meta Platforms, Inc.", "true"): REAL_WORD,
    ("Stellaris N.V.", "Stellantis N.V.", "true"): REAL_WORD,
    ("Hon Wai Precision Industry Co., Ltd.", "Hon Hai Precision Industry Co., Ltd.", "true"): REAL_WORD,
    ("Stripe LLC", "Strip Limited Liability Company", "true"): REAL_WORD,
    (
        "Blackstone Real Estate Partners V L.P.",
        "Blackstone Real Estate Partners VI L.P.",
        "true",
    ): FUND_SERIES,
    (
        "Blackstone Real Estate Partners IV L.P.",
        "Blackstone Real Estate Partners V L.P.",
        "true",
    ): FUND_SERIES,
    ("Blackstone Capital Partners VII L.P.", "Blackstone Capital Partners VIII L.P.", "true"): FUND_SERIES,
    ("KKR Asian Fund III L.P.", "KKR Asian Fund IV L.P.", "true"): FUND_SERIES,
    ("KKR North America Fund XII L.P.", "KKR North America Fund XIII L.P.", "true"): FUND_SERIES,
    ("Carlyle Partners VII L.P.", "Carlyle Partners VIII L.P.", "true"): FUND_SERIES,
    ("Bain Capital Fund X L.P.", "Bain Capital Fund XI L.P.", "true"): FUND_SERIES,
    ("Goldman Sachs Capital Partners V L.P.", "Goldman Sachs Capital Partners VI L.P.", "true"): FUND_SERIES,
    (
        "Goldman Sachs Mortgage Loan Trust 2004-1",
        "Goldman Sachs Mortgage Loan Trust 2004-2",
        "true",
    ): FUND_SERIES,
    (
        "Goldman Sachs Mortgage Loan Trust 2004-1",
        "Goldman Sachs Mortgage Loan Trust 2005-1",
        "true",
    ): FUND_SERIES,
    (
        "Citigroup Mortgage Loan Trust 2007-AHL1",
        "Citigroup Mortgage Loan Trust 2007-AHL2",
        "true",
    ): FUND_SERIES,
    (
        "Bear Stearns Asset Backed Securities Trust 2006-2",
        "Bear Stearns Asset Backed Securities Trust 2007-2",
        "true",
    ): FUND_SERIES,
    (
        "Wells Fargo Mortgage Backed Securities Trust 2005-AR16",
        "Wells Fargo Mortgage Backed Securities Trust 2006-AR16",
        "true",
    ): FUND_SERIES,
    ("JPMorgan Mortgage Trust Series 2007-1", "JPMorgan Mortgage Trust Series 2007-2", "true"): FUND_SERIES,
    ("Citigroup Capital Trust I", "Citigroup Capital Trust II", "true"): FUND_SERIES,
    ("Citigroup Capital Trust XV", "Citigroup Capital Trust XX", "true"): FUND_SERIES,
}


@dataclass(frozen=True, slots=True)
class Pair:
    name1: str
    name2: str
    is_match: bool
    schema: str
    excluded: str | None  # why the row is left out, or None


def data_dir(explicit: str | None = None) -> Path:
    """Where the real labelled data lives: the flag, ``LEADROUTE_REAL_DATA_DIR``, or ../shared/data."""
    chosen = explicit or os.environ.get("LEADROUTE_REAL_DATA_DIR")
    return Path(chosen) if chosen else DEFAULT_DATA_DIR.resolve()


def read_pairs(path: Path) -> list[Pair]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        Pair(
            row["name1"],
            row["name2"],
            row["is_match"].strip().lower() == "true",
            row.get("schema", ""),
            EXCLUSIONS.get((row["name1"], row["name2"], row["is_match"].strip().lower())),
        )
        for row in rows
    ]


def _matched(pair: Pair, matcher: Matcher, enricher: Enricher) -> dict[str, Any]:
    """The lead named ``name2`` matched against a mirror holding only ``name1``'s account."""
    mirror = InMemoryCrmMirror()
    mirror.upsert(
        "account",
        {
            "id": "a1", "name": pair.name1, "domains": [], "website": None, "owner_id": "o1",
            "parent_id": None, "employees": None, "industry": None, "country_code": None,
            "type": None, "tier": None, "last_activity_ms": None,
        },
    )  # fmt: skip
    raw = {"email": "someone@gmail.com", "company": pair.name2}
    lead = new_lead("real-pair", raw, received_at_ms=0)  # type: ignore[arg-type]
    lead["normalized"] = normalize_lead(raw)  # type: ignore[arg-type]
    lead = enricher.enrich(lead)
    crm: dict[str, Any] = match_lead(lead, matcher, mirror)["crm"]  # type: ignore[assignment]
    return crm


def evaluate_pairs(pairs: list[Pair], matcher: Matcher, enricher: Enricher) -> dict[str, Any]:
    """Precision and recall over the kept pairs; each miss and false match listed with its score."""
    tally: Counter[str] = Counter()
    wrong: list[dict[str, Any]] = []
    for pair in pairs:
        if pair.excluded:
            continue
        crm = _matched(pair, matcher, enricher)
        account = crm.get("account")
        said = account is not None
        review = said and bool(crm.get("review"))
        tally[("tp" if pair.is_match else "fp") if said else ("fn" if pair.is_match else "tn")] += 1
        tally["review"] += review
        if said != pair.is_match:
            found = account or next(iter(crm.get("candidates") or []), None)
            wrong.append(
                {
                    "name1": pair.name1,
                    "name2": pair.name2,
                    "labelled": "same" if pair.is_match else "different",
                    "score": found["score"] if found else None,
                    "review": review,
                }
            )
    tp, fp, fn = tally["tp"], tally["fp"], tally["fn"]
    return {
        "pairs": len(pairs),
        "kept": tp + fp + fn + tally["tn"],
        "same": tp + fn,
        "different": fp + tally["tn"],
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "matched_in_review_band": tally["review"],
        "wrong": wrong,
        "excluded": [
            {
                "name1": p.name1,
                "name2": p.name2,
                "labelled": "same" if p.is_match else "different",
                "why": p.excluded,
            }
            for p in pairs
            if p.excluded
        ],
    }


METHOD = (
    "each pair through the real matcher path: a mirror holding one account named name1, a lead "
    "with a free-mail address whose company is name2 (normalized and enriched as the match stage "
    "receives it); 'same' is predicted when the lead is matched to the account, accepted or in "
    "the review band"
)


def run_real_pairs(directory: Path, matcher: Matcher, enricher: Enricher) -> dict[str, Any] | None:
    """The real-pairs figures, or None when the file is not there."""
    path = directory / PAIRS_FILE
    if not path.is_file():
        return None
    return {"file": str(path), "method": METHOD, **evaluate_pairs(read_pairs(path), matcher, enricher)}


def render_real_pairs(real: dict[str, Any] | None, synthetic: dict[str, Any] | None, console: Any) -> None:
    """Real and synthetic precision and recall side by side, then what was left out and why."""
    from rich.table import Table

    if real is None:
        console.print(
            f"No real labelled pairs ({PAIRS_FILE}) in the data directory: set LEADROUTE_REAL_DATA_DIR "
            "or --real-data-dir to measure on real names."
        )
        return
    table = Table(title="Precision and recall: real name pairs next to the synthetic CRM")
    for column in ("set", "labelled pairs", "precision", "recall", "in review band"):
        table.add_column(column, justify="left" if column == "set" else "right")
    table.add_row(
        f"real pairs ({real['kept']} of {real['pairs']} kept)",
        f"{real['same']} same / {real['different']} different",
        str(real["precision"]),
        str(real["recall"]),
        str(real["matched_in_review_band"]),
    )
    if synthetic is not None:
        table.add_row(
            "synthetic CRM (overall)",
            f"{synthetic['should_match']} should match",
            str(synthetic["precision"]),
            str(synthetic["recall"]),
            "–",
        )
    console.print(table)
    console.print(f"Method: {real['method']}.")
    reasons = Counter(row["why"] for row in real["excluded"])
    excluded = Table(
        title=f"Left out of the real pairs ({len(real['excluded'])}): labelled for sanctions screening"
    )
    for column in ("name1", "name2", "labelled", "why"):
        excluded.add_column(column)
    for row in real["excluded"]:
        excluded.add_row(row["name1"], row["name2"], row["labelled"], row["why"])
    console.print(excluded)
    console.print("; ".join(f"{count} × {why}" for why, count in reasons.items()))
    wrong = Table(title=f"Real pairs decided wrongly ({len(real['wrong'])})")
    for column in ("name1 (account)", "name2 (lead)", "labelled", "best score", "review"):
        wrong.add_column(column)
    for row in real["wrong"]:
        wrong.add_row(row["name1"], row["name2"], row["labelled"], str(row["score"]), str(row["review"]))
    console.print(wrong)
