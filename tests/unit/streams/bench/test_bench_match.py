"""The labelled match benchmark: its leads are what they claim, and the scoring adds up."""

from __future__ import annotations

from collections import Counter

from processors.crm.matcher import Matcher
from processors.crm.memory import InMemoryCrmMirror
from streams.bench.match import EXPECTED_METHOD, LabelledLead, evaluate, labelled_leads, prepared
from streams.crm.synthetic import generate_crm
from tests.support.builders import shipped_enricher


def _crm(accounts: int) -> tuple[InMemoryCrmMirror, list[dict]]:
    mirror = InMemoryCrmMirror()
    loaded = []
    for kind, record in generate_crm(accounts, seed=5):
        mirror.upsert(kind, record)
        if kind == "account":
            loaded.append(record)
    return mirror, loaded


def test_labels_cover_every_kind_of_lead_and_negatives_are_absent_from_the_crm() -> None:
    _, accounts = _crm(600)
    leads = list(labelled_leads(accounts, 800, seed=2))
    kinds = Counter(lead.variant for lead in leads)
    assert set(EXPECTED_METHOD) - {"abbreviation"} <= set(kinds)
    assert {"look_alike", "new_company", "free_mail"} <= set(kinds)
    ids = {account["id"] for account in accounts}
    assert all(lead.truth in ids for lead in leads if lead.truth is not None)
    assert all(
        lead.truth is None for lead in leads if lead.variant in ("look_alike", "new_company", "free_mail")
    )


def test_the_matcher_meets_its_quality_targets_on_a_small_crm() -> None:
    mirror, accounts = _crm(1500)
    labelled = list(labelled_leads(accounts, 1500, seed=4))
    report = evaluate(labelled, prepared(labelled, shipped_enricher()), Matcher(), mirror)
    overall = next(row for row in report["methods"] if row["method"] == "overall")
    assert overall["precision"] >= 0.98
    assert overall["recall"] >= 0.95
    assert sum(row["leads"] for row in report["variants"]) == len(labelled)
    domain = next(row for row in report["methods"] if row["method"] == "domain")
    assert domain["wrong"] == 0


def test_a_lead_that_must_match_nothing_but_does_counts_as_wrong() -> None:
    mirror = InMemoryCrmMirror()
    mirror.upsert("account", next(record for kind, record in generate_crm(100, seed=5) if kind == "account"))
    name = next(iter(mirror.records["account"].values()))["name"]
    labelled = [LabelledLead({"email": "jo.lee@gmail.com", "company": name}, None, "look_alike")]
    report = evaluate(labelled, prepared(labelled, shipped_enricher()), Matcher(), mirror)
    overall = next(row for row in report["methods"] if row["method"] == "overall")
    assert (overall["matched"], overall["wrong"]) == (1, 1)
    assert report["variants"] == [
        {"variant": "look_alike", "leads": 1, "correct": 0, "wrong_account": 1, "missed": 0}
    ]
