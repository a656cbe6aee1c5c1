"""The CRM matcher: company-name comparison, duplicates, lead-to-account, tiebreakers, roll-up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import fastavro.validation
import pytest

from processors.crm.indexing import typo_variants
from processors.crm.matcher import (
    BELOW_REVIEW,
    CLOSER_NAME,
    FEWER_CONTACTS,
    FLAGS,
    LEGAL_FORM,
    LOWER_SCORE,
    LOWEST_ID,
    OLDER_ACTIVITY,
    PARENT_OVER_CHILD,
    PERSON_ACCOUNT,
    MatchConfig,
    Matcher,
    match_lead,
    match_leads,
)
from processors.crm.memory import InMemoryCrmMirror
from processors.crm.models import Account, Candidates, MatchQuery, Opportunity, Person
from processors.crm.names import (
    KEY_VERSION,
    account_key,
    company_key,
    company_similarity,
    legal_split,
    lookup_tokens,
    stored_key,
    typo_words,
)
from processors.lead import new_lead
from processors.models import Lead
from processors.normalize import normalize_lead
from schemas import parsed
from tests.support.builders import shipped_enricher

MATCHER = Matcher()
CONFIG = MatchConfig()
PHONE = "+44 20 7946 0018"
PHONE_E164 = "+442079460018"


# -- builders -----------------------------------------------------------------


def make_lead(**raw: Any) -> Lead:
    """A lead as the match stage sees it: normalized and enriched with the shipped data."""
    lead = new_lead("lead-1", raw, received_at_ms=1)
    lead = {**lead, "normalized": normalize_lead(lead["raw"])}
    return shipped_enricher().enrich(lead)


def bare_lead(**raw: Any) -> Lead:
    """A lead that skipped enrichment (normalized only)."""
    lead = new_lead("lead-1", raw, received_at_ms=1)
    return {**lead, "normalized": normalize_lead(lead["raw"])}


def account(
    account_id: str,
    name: str,
    *domains: str,
    parent_id: str | None = None,
    last_activity_ms: int | None = None,
    owner_id: str | None = None,
) -> Account:
    return {
        "id": account_id,
        "name": name,
        "domains": list(domains),
        "website": None,
        "owner_id": owner_id or f"owner-{account_id}",
        "parent_id": parent_id,
        "employees": None,
        "industry": None,
        "country_code": None,
        "type": "customer",
        "tier": "gold",
        "last_activity_ms": last_activity_ms,
    }


def person(
    person_id: str,
    kind: Literal["contact", "lead"] = "contact",
    *,
    email: str | None = None,
    phone: str | None = None,
    first_name: str = "Jane",
    last_name: str = "Doe",
    company: str | None = None,
    account_id: str | None = None,
) -> Person:
    return {
        "id": person_id,
        "kind": kind,
        "email": email,
        "phone": phone,
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "account_id": account_id,
        "owner_id": f"owner-{person_id}",
        "status": "open",
    }


def opportunity(
    opp_id: str, account_id: str, *, is_open: bool = True, close_date: str = "2026-06-30"
) -> Opportunity:
    return {
        "id": opp_id,
        "account_id": account_id,
        "owner_id": f"owner-{opp_id}",
        "stage": "proposal",
        "amount": 12000.0,
        "is_open": is_open,
        "close_date": close_date,
    }


def crm(*records: Any) -> InMemoryCrmMirror:
    """A mirror holding ``records``; the kind is told by the record's shape."""
    mirror = InMemoryCrmMirror()
    for record in records:
        if "domains" in record:
            mirror.upsert("account", record)
        elif "is_open" in record:
            mirror.upsert("opportunity", record)
        else:
            mirror.upsert(record["kind"], record)
    return mirror


def contacts(account_id: str, count: int) -> list[Person]:
    return [
        person(f"{account_id}-c{i}", first_name=f"P{i}", last_name=account_id, account_id=account_id)
        for i in range(count)
    ]


def decided(lead: Lead, mirror: InMemoryCrmMirror, matcher: Matcher = MATCHER) -> dict[str, Any]:
    section = match_lead(lead, matcher, mirror)["crm"]
    assert section is not None
    assert set(section["flags"]) <= FLAGS  # type: ignore[arg-type]
    return section


def outcome(score: float, config: MatchConfig = CONFIG) -> str:
    if score >= config.accept_score:
        return "match"
    return "review" if score >= config.review_score else "none"


# -- company-name comparison --------------------------------------------------

#: (lead's company, account name, expected outcome at the default thresholds).
NAME_PAIRS: list[tuple[str, str, str]] = [
    # Legal forms are not part of a company's identity: the same brand in two
    # countries ("Acme GmbH", "Acme Ltd") is one relationship; the domain tells
    # them apart when the lead gives one, and the name tiebreak prefers the
    # closer legal form when both accounts exist.
    ("Acme Inc", "ACME Incorporated", "match"),
    ("Acme GmbH", "Acme Ltd", "match"),
    ("Acme Ltd", "ACME Limited", "match"),
    ("Acme Corp", "Acme Corporation", "match"),
    ("Tyrell Corporation", "Tyrell Corp.", "match"),
    ("KPMG", "KPMG LLP", "match"),
    ("SAP", "SAP SE", "match"),
    ("BMW", "BMW AG", "match"),
    ("Deutsche Bank AG", "Deutsche Bank", "match"),
    ("ABC", "ABC Corp", "match"),
    ("3M", "3M Company", "match"),
    ("ACME HOLDINGS LTD", "Acme Holdings Limited", "match"),
    # Umbrella words ("group", "holdings", "companies") never tell firms apart:
    # "Acme Holdings" is Acme's holding, so it matches Acme.
    ("Acme Holdings", "Acme", "match"),
    ("Acme Group", "Acme Holdings", "match"),
    ("Acme Grp", "Acme", "match"),
    ("The Acme Company", "Acme", "match"),
    ("The Boston Consulting Group", "Boston Consulting", "match"),
    # Joiners.
    ("Acme & Sons", "Acme and Sons", "match"),
    ("AT&T", "AT and T", "match"),
    ("AT&T", "ATT", "match"),
    ("Procter & Gamble", "Procter and Gamble", "match"),
    ("Bank of America", "Bank America", "match"),
    # Abbreviations and singular/plural of descriptive words.
    ("Acme Intl", "Acme International", "match"),
    ("Acme Int'l", "Acme International", "match"),
    ("Acme Mfg", "Acme Manufacturing", "match"),
    ("Acme Mfg Co", "Acme Manufacturing Company", "match"),
    ("Acme Tech", "Acme Technologies", "match"),
    ("Acme Svcs", "Acme Services", "match"),
    ("Acme Bros", "Acme Brothers", "match"),
    ("Acme Mgmt", "Acme Management", "match"),
    ("Acme Labs", "Acme Laboratories", "match"),
    ("Acme Centre", "Acme Center", "match"),
    ("Acme Systems", "Acme System", "match"),
    ("Acme Solutions", "Acme Soln", "match"),
    ("Wonka Industries", "Wonka Inds", "match"),
    ("Contoso Pharmaceuticals", "Contoso Pharma", "match"),
    ("Wayne Enterprises", "Wayne Enterprise", "match"),
    # Accents and umlauts. "Müller" is written "Mueller" without umlaut keys,
    # so both meet exactly; a plain "Muller" is one letter off and still matches.
    ("Société Générale", "Societe Generale", "match"),
    ("Nestlé", "Nestle", "match"),
    ("Müller GmbH", "Mueller GmbH", "match"),
    ("Müller GmbH", "Muller GmbH", "match"),
    ("Zürich Versicherung", "Zuerich Versicherung", "match"),
    # Punctuation, spacing, word order.
    ("McDonald's", "McDonalds", "match"),
    ("Hewlett-Packard", "Hewlett Packard", "match"),
    ("Acme Widgets", "AcmeWidgets", "match"),
    ("Pied Piper", "PiedPiper Inc", "match"),
    ("A.C.M.E.", "Acme", "match"),
    ("Delta Air Lines", "Delta Airlines", "match"),
    ("Logistics Acme", "Acme Logistics", "match"),
    # Typos and transpositions in names long enough to absorb them.
    ("Globex Logistics", "Glboex Logistics", "match"),
    ("Initech Solutions", "Intiech Solutions", "match"),
    ("Acme Logistics", "Acme Logisitcs", "match"),
    ("Cyberdyne Systems", "Cyberdyne Sytems", "match"),
    ("Stark Industries", "Starke Industries", "match"),
    ("Umbrella Corp", "Umbrela Corp", "match"),
    ("Gringotts Bank", "Gringots Bank", "match"),
    ("Massive Dynamic", "Massive Dynamics", "match"),
    ("Monsters Inc", "Monster Inc", "match"),
    # One letter in a short name: a person should look.
    ("Acme Inc", "Acmee Inc", "review"),
    ("Globex Data", "Globex Date", "review"),
    ("Meta", "Metal", "review"),
    ("Soylent", "Soylant", "review"),
    # A word that names a line of business, a place or another firm distinguishes.
    ("Acme Mining", "Acme Ltd", "none"),
    ("Acme", "Acme Mining", "none"),
    ("Acme Holdings", "Acme Mining Holdings", "none"),
    ("Acme Bank", "Acme Insurance", "none"),
    ("Acme North", "Acme South", "none"),
    ("Acme International", "Acme", "none"),
    ("Acme US", "Acme", "none"),
    ("Acme (UK) Ltd", "Acme Ltd", "none"),
    ("Global Acme Logistics", "Acme Logistics", "none"),
    ("Johnson & Johnson", "Johnson Controls", "none"),
    ("United Airlines", "United Technologies", "none"),
    ("Delta Air Lines", "Delta Dental", "none"),
    ("Apple", "Apple Bank", "none"),
    ("General Motors", "General Mills", "none"),
    ("American Express", "American Airlines", "none"),
    ("Bank of America", "Bank of China", "none"),
    ("Ford", "Ford Foundation", "none"),
    ("Vandelay Industries", "Vandelay Imports", "none"),
    ("Northwind Traders", "Northwind Trading", "none"),
    ("Shell", "Shell Oil", "none"),
    ("Alpha", "Alphabet", "none"),
    ("Intel", "Intelsat", "none"),
    # Initials score low as names: the matcher, not the score, puts them in the review band.
    ("IBM", "International Business Machines", "none"),
    # Short names must match exactly; a swapped or wrong letter in four is 75.
    ("GE", "GEA", "none"),
    ("ABC", "ABD", "none"),
    ("3M", "3N", "none"),
    ("Acme", "Amce", "none"),
    ("Acme Inc", "Acne Inc", "none"),
    ("Hooli", "Hooly", "none"),
    ("Globex", "Glboex", "none"),
    ("Acme Corp", "Acme Crop", "none"),
    # Legal forms written out, or with a typo, are still legal forms.
    ("Browne & Querini Public Limited Company", "Browne & Querini PLC", "match"),
    ("THOMAS PUBLIC LIMITED COMPANY", "Thomas PLC", "match"),
    ("Zealpine Pty Limited", "Zealpine Pty Ltd", "match"),
    ("Silvercraft Pvt Limited", "Silvercraft Pvt Ltd", "match"),
    ("Acme L.L.C.", "Acme LLC", "match"),
    ("Breton Labs Limietd", "Breton Labs Limited", "match"),
    # A typo in an umbrella or abbreviated word is still that word (not in the first word).
    ("Goyal Holidngs LLC", "Goyal Holdings LLC", "match"),
    ("Kenlan Holldings Pvt Ltd", "Kenlan Holdings Pvt Ltd", "match"),
    ("Apte Tehcnologies LLC", "Apte Technologies LLC", "match"),
    # A shared word does not make names alike when the words that differ are not.
    ("Blees Textiles", "Blake Textiles Pvt Ltd", "none"),
    ("Klapp Shipping", "Kapur Shipping Co., Ltd.", "none"),
    ("Onyxrise Realty", "Onyxrise Health Inc.", "none"),
    ("Hedlund Mining", "Ekelund Mining Inc.", "none"),
    ("Martineau Textiles", "Marie Textiles Limited", "none"),
    ("Vectorwater Mining", "Vectordale Mining AG", "none"),
    # ... but one typo apart they are.
    ("Fuisonland Markets S.A.", "Fusionland Markets S.A.", "match"),
    ("Miller Fniance Ltda.", "Miller Finance Ltda.", "match"),
]


@pytest.mark.parametrize(("lead_name", "account_name", "expected"), NAME_PAIRS)
def test_company_name_pairs(lead_name: str, account_name: str, expected: str) -> None:
    score = company_similarity(lead_name, account_name)
    assert outcome(score) == expected, f"{lead_name!r} ~ {account_name!r} scored {score}"
    assert company_similarity(account_name, lead_name) == score  # symmetric


def test_there_are_plenty_of_hand_written_pairs_with_every_outcome() -> None:
    assert len(NAME_PAIRS) >= 60
    assert {expected for *_, expected in NAME_PAIRS} == {"match", "review", "none"}


@pytest.mark.parametrize(
    ("a", "b", "score"),
    [
        ("Acme Inc", "ACME Incorporated", 100.0),
        ("Acme Ltd", "ACME Limited", 100.0),
        ("Acme Inc", "Acmee Inc", 88.9),
        ("Globex Logistics", "Glboex Logistics", 93.8),
        ("Müller GmbH", "Muller GmbH", 92.3),
        ("Global Acme Logistics", "Acme Logistics", 81.2),
        ("Acme", "Acme Mining", 57.1),
        ("GE", "GEA", 60.0),
    ],
)
def test_example_scores(a: str, b: str, score: float) -> None:
    assert company_similarity(a, b) == score


@pytest.mark.parametrize(
    ("name", "core", "forms", "literal"),
    [
        ("Browne & Querini Public Limited Company", "browne & querini", {"plc"}, "browne querini plc"),
        ("Acme Pty Limited", "acme", {"pty", "ltd"}, "acme pty ltd"),
        ("ACME INCORPORATED", "acme", {"inc"}, "acme inc"),
        ("Acme Corporation", "acme", {"inc"}, "acme corp"),  # one form, its own short spelling
        ("Acme GmbH & Co. KG", "acme", {"gmbh", "kg"}, "acme gmbh co kg"),
        ("Acme Sp. z o.o.", "acme", {"spzoo"}, "acme spzoo"),
        ("Jadestorm Co., Limited", "jadestorm", {"ltd"}, "jadestorm co ltd"),
        ("Breton Labs Limietd", "breton labs", {"ltd"}, "breton labs ltd"),
        ("Acme Public", "acme public", set(), "acme public"),  # "public" only before a form
        ("Limited", "limited", set(), "limited"),  # nothing but a legal form: kept
        ("Müller GmbH", "muller", {"gmbh"}, "muller gmbh"),
    ],
)
def test_legal_forms_at_the_end_of_a_name(name: str, core: str, forms: set[str], literal: str) -> None:
    split = legal_split(name)
    assert (split.core, set(split.forms), split.literal) == (core, forms, literal)


def test_stored_keys_carry_their_version_and_old_ones_are_recomputed() -> None:
    stored = stored_key("Acme Pty Limited")
    assert stored == [KEY_VERSION, "acme", "ltd pty"]
    assert account_key({"name": "ignored", "name_key": stored}) == company_key("Acme Pty Ltd")
    old = ["acme", "acme", "acme pty limited"]  # the first version's form: no legal forms
    assert account_key({"name": "Acme Pty Limited", "name_key": old}) == company_key("Acme Pty Limited")


def test_typo_words_are_the_long_words_of_a_name_and_their_variants_reach_one_typo() -> None:
    # short, abbreviated and umbrella words have their own spellings; accents are folded
    assert typo_words("Glboex Gloobex Acme Intl Holdings Ltd") == ("glboex", "gloobex")
    assert typo_words("Société Génerale") == ("societe", "generale")
    exact, affixes = typo_variants("glboex")
    assert "globex" in exact and "glboex" not in exact  # two letters swapped
    assert affixes == ["glbo~", "~boex"]  # the ends, as accounts' long words are indexed
    assert "globex" in typo_variants("gloobex")[0]  # a letter too many


def test_a_name_with_nothing_comparable_scores_zero() -> None:
    assert company_similarity("", "Acme") == 0.0
    assert company_similarity("N/A", "Acme") == 0.0


def test_lookup_tokens_ask_for_the_spellings_accounts_are_indexed_under() -> None:
    assert {"mueller", "muller"} <= set(lookup_tokens("Mueller GmbH"))
    assert {"international", "intl"} <= set(lookup_tokens("Acme International"))
    assert {"technology", "technologies", "tech"} <= set(lookup_tokens("Acme Tech"))


# -- account decision from the name candidates (decide only) ------------------

#: (lead's company, account name, expected method or None, review?).
DECISION_PAIRS: list[tuple[str, str, str | None, bool]] = [
    ("ACME Incorporated", "Acme Inc", "fuzzy_name", False),
    ("Acme GmbH", "Acme Ltd", "fuzzy_name", False),
    ("Acme Holdings", "Acme", "fuzzy_name", False),
    ("AT and T", "AT&T", "fuzzy_name", False),
    ("3M Company", "3M", "fuzzy_name", False),
    ("Societe Generale", "Société Générale", "fuzzy_name", False),
    ("Mueller GmbH", "Müller GmbH", "fuzzy_name", False),
    ("Acme Intl", "Acme International", "fuzzy_name", False),
    ("Glboex Logistics", "Globex Logistics", "fuzzy_name", False),
    ("Acmee Inc", "Acme Inc", "fuzzy_name", True),
    ("Globex Date", "Globex Data", "fuzzy_name", True),
    ("Acme Mining", "Acme Ltd", None, False),
    ("Global Acme Logistics", "Acme Logistics", None, False),
    ("Johnson Controls", "Johnson & Johnson", None, False),
    ("United Technologies", "United Airlines", None, False),
    ("Delta Dental", "Delta Air Lines", None, False),
    ("Apple Bank", "Apple", None, False),
    # Initials of the account's name: a candidate for a person to confirm, never accepted.
    ("International Business Machines", "IBM", "fuzzy_name", True),
    ("GEA", "GE", None, False),
]


@pytest.mark.parametrize(("lead_name", "account_name", "method", "review"), DECISION_PAIRS)
def test_account_decision_from_name_candidates(
    lead_name: str, account_name: str, method: str | None, review: bool
) -> None:
    lead = make_lead(email="jane@gmail.com", company=lead_name)
    section = MATCHER.decide(lead, Candidates(accounts_by_name=[account("a1", account_name)]))
    if method is None:
        assert section["account"] is None
        assert [(c["id"], c["reason"]) for c in section["candidates"]] == [("a1", BELOW_REVIEW)]
        assert "crm_no_match" in section["flags"]
    else:
        assert section["account"] is not None
        assert (section["account"]["id"], section["account"]["method"]) == ("a1", method)
        assert section["review"] is review
        assert ("crm_review" in section["flags"]) is review


# -- lead-to-account against the mirror ---------------------------------------


def test_an_alternate_domain_matches_the_account() -> None:
    mirror = crm(account("a1", "Acme Inc", "acme.com", "acme.co.uk"))
    section = decided(make_lead(email="jane@acme.co.uk", company="Something Else"), mirror)
    assert section["account"] is not None
    assert section["account"]["id"] == "a1"
    assert (section["account"]["method"], section["account"]["score"]) == ("domain", 100.0)
    assert section["account"]["matched_on"] == "acme.co.uk"
    assert "crm_account_match" in section["flags"]


def test_an_email_subdomain_matches_on_the_registrable_domain() -> None:
    mirror = crm(account("a1", "Acme Inc", "acme.co.uk"))
    section = decided(make_lead(email="jane.doe@sub.acme.co.uk"), mirror)
    assert section["account"] is not None
    assert (section["account"]["id"], section["account"]["matched_on"]) == ("a1", "acme.co.uk")


def test_a_free_mail_lead_matches_by_company_name_with_the_score_shown() -> None:
    mirror = crm(account("a1", "Acme Ltd", "acme.co.uk"), account("a2", "Acme Mining", "acmemining.com"))
    section = decided(make_lead(email="jane@gmail.com", company="ACME Limited"), mirror)
    assert section["account"] is not None
    assert section["account"]["id"] == "a1"
    assert section["account"]["method"] == "fuzzy_name"
    assert section["account"]["score"] == 100.0
    assert section["account"]["matched_on"] == "acme limited ~ acme ltd"
    assert section["review"] is False
    assert {"crm_free_mail_skipped", "crm_account_match"} <= set(section["flags"])
    assert [(c["id"], c["reason"], c["score"]) for c in section["candidates"]] == [("a2", BELOW_REVIEW, 57.1)]


def test_name_variants_find_their_account_through_the_mirror() -> None:
    mirror = crm(account("a1", "Müller Maschinenbau GmbH"), account("a2", "Initech International"))
    assert (
        decided(make_lead(email="a@gmail.com", company="Mueller Maschinenbau"), mirror)["account"]["id"]
        == "a1"
    )
    assert decided(make_lead(email="a@gmail.com", company="Initech Intl"), mirror)["account"]["id"] == "a2"


def test_a_free_mail_domain_is_never_used_as_the_company_domain() -> None:
    # A sloppy CRM record lists gmail.com as a domain; no gmail lead may land on it.
    mirror = crm(account("a1", "Sloppy Record", "gmail.com"))
    lead = make_lead(email="jane@gmail.com")
    assert MATCHER.query_for(lead).domain is None
    section = decided(lead, mirror)
    assert section["account"] is None
    assert {"crm_no_match", "crm_free_mail_skipped"} <= set(section["flags"])


def test_without_enrichment_only_a_business_website_domain_is_used() -> None:
    mirror = crm(account("a1", "Acme Inc", "acme.com"))
    assert MATCHER.query_for(bare_lead(email="jane@acme.com")).domain is None
    assert MATCHER.query_for(bare_lead(email="jane@gmail.com", website="gmail.com")).domain is None
    section = decided(bare_lead(email="jane@gmail.com", website="https://www.acme.com/about"), mirror)
    assert section["account"] is not None
    assert (section["account"]["id"], section["account"]["method"]) == ("a1", "domain")


def test_a_lead_with_no_sections_matches_nothing_and_does_not_fail() -> None:
    lead = new_lead("lead-1", {}, received_at_ms=1)
    section = decided(lead, crm(account("a1", "Acme", "acme.com")))
    assert section["person"] is None and section["account"] is None
    assert section["flags"] == ["crm_no_match"]


def test_below_the_review_score_nothing_matches_but_the_best_is_a_candidate() -> None:
    mirror = crm(account("a1", "Acme Mining"))
    section = decided(make_lead(email="jane@gmail.com", company="Acme"), mirror)
    assert section["account"] is None
    assert section["candidates"] == [
        {"id": "a1", "name": "Acme Mining", "score": 57.1, "method": "fuzzy_name", "reason": BELOW_REVIEW}
    ]
    assert section["review"] is False
    assert "crm_no_match" in section["flags"]


def test_a_score_in_the_review_band_matches_and_asks_for_review() -> None:
    mirror = crm(account("a1", "Globex Data"))
    section = decided(make_lead(email="jane@gmail.com", company="Globex Date"), mirror)
    assert section["account"] is not None
    assert (section["account"]["id"], section["account"]["score"]) == ("a1", 90.9)
    assert section["review"] is True
    assert section["review_reason"] == "fuzzy name score 90.9 between 85 and 92"
    assert "crm_review" in section["flags"]


def test_the_thresholds_come_from_the_config() -> None:
    mirror = crm(account("a1", "Globex Data"))
    strict = Matcher(MatchConfig(accept_score=95, review_score=93))
    lenient = Matcher(MatchConfig(accept_score=90, review_score=80))
    lead = make_lead(email="jane@gmail.com", company="Globex Date")
    assert decided(lead, mirror, strict)["account"] is None
    section = decided(lead, mirror, lenient)
    assert section["account"] is not None and section["review"] is False


def test_runner_ups_are_ranked_and_capped() -> None:
    mirror = crm(
        account("a1", "Globex Logistics"),
        account("a2", "Globex Logistic Partners"),
        account("a3", "Globex Freight Logistics"),
        account("a4", "Globex"),
        account("a5", "Globex Mining"),
    )
    section = decided(
        make_lead(email="jane@gmail.com", company="Globex Logistics"),
        mirror,
        Matcher(MatchConfig(max_runner_ups=2)),
    )
    assert section["account"] is not None and section["account"]["id"] == "a1"
    ranked = section["candidates"]
    assert len(ranked) == 2
    assert ranked[0]["score"] >= ranked[1]["score"]
    assert all(c["reason"] in (LOWER_SCORE, BELOW_REVIEW) for c in ranked)


def test_equal_name_scores_prefer_the_closer_full_name() -> None:
    mirror = crm(account("a1", "Acme Ltd"), account("a2", "Acme GmbH"))
    section = decided(make_lead(email="jane@gmail.com", company="Acme GmbH"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a2"
    assert [(c["id"], c["reason"]) for c in section["candidates"]] == [("a1", CLOSER_NAME)]
    holding = crm(account("a1", "Acme"), account("a2", "Acme Holdings"))
    assert decided(make_lead(email="j@gmail.com", company="Acme Holdings"), holding)["account"]["id"] == "a2"


def test_a_dropped_word_matches_the_only_account_holding_every_other_word() -> None:
    mirror = crm(
        account("a1", "Querini & Huguet Rail Inc."),
        account("a2", "Querini & Huguet Limited"),
        account("a3", "Querini Mining Corp."),
    )
    section = decided(make_lead(email="jane@gmail.com", company="Querini & Rail"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a1"
    assert section["account"]["score"] == CONFIG.review_score and section["review"] is True
    # Two accounts hold "Querini": the lead could be either, so neither is matched.
    assert decided(make_lead(email="jane@gmail.com", company="Querini Inc"), mirror)["account"] is None
    # One word alone is too little, even when a single account holds it ("Acme" is not "Acme Mining").
    alone = crm(account("a1", "Querini Mining Corp."))
    assert decided(make_lead(email="jane@gmail.com", company="Querini"), alone)["account"] is None


def test_an_account_with_a_contradicting_legal_form_does_not_hold_the_dropped_word() -> None:
    mirror = crm(account("a1", "Murcia Shipping LLP"), account("a2", "Murcia Oil N.V."))
    section = decided(make_lead(email="jane@gmail.com", company="Murcia LLP"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a1"


def test_a_contradicting_legal_form_ranks_below_every_account_that_fits() -> None:
    mirror = crm(account("a1", "Echoroot KG"), account("a2", "Echoroot Sverige AB"))
    section = decided(make_lead(email="jane@gmail.com", company="Echoroot AB"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a2"
    assert [(c["id"], c["score"], c["reason"]) for c in section["candidates"]] == [("a1", 100.0, LEGAL_FORM)]
    # With nothing that fits better, the same name still matches.
    alone = decided(
        make_lead(email="jane@gmail.com", company="Echoroot AB"), crm(account("a1", "Echoroot KG"))
    )
    assert alone["account"] is not None and alone["account"]["id"] == "a1"


def test_equal_names_prefer_the_same_legal_form_however_written() -> None:
    mirror = crm(account("a1", "Clearleaf Corp."), account("a2", "Clearleaf Inc."))
    section = decided(make_lead(email="jane@gmail.com", company="CLEARLEAF INCORPORATED"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a2"


def test_a_misspelled_name_finds_its_account_among_many_sharing_a_word() -> None:
    # 30 accounts share "markets"; without the typo's variants the 25 candidates would be those.
    others = [account(f"m{i:02d}", f"Other{i} Markets Ltd") for i in range(30)]
    mirror = crm(*others, account("z1", "Fusionland Markets S.A."))
    lead = make_lead(email="jane@gmail.com", company="Fuisonland Markets S.A.")
    query = MATCHER.query_for(lead)
    assert "fuisonland" in query.typo_words and "fusionland" in typo_variants("fuisonland")[0]
    section = decided(lead, mirror)
    assert section["account"] is not None and section["account"]["id"] == "z1"


# -- several accounts share the domain ----------------------------------------


def test_shared_domain_parent_beats_child() -> None:
    mirror = crm(
        account("a1", "Acme Germany", "acme.com", parent_id="a9", last_activity_ms=999),
        account("a9", "Acme Group", "acme.com", last_activity_ms=1),
        *contacts("a1", 5),
    )
    section = decided(make_lead(email="jane@acme.com"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a9"
    assert [(c["id"], c["reason"]) for c in section["candidates"]] == [("a1", PARENT_OVER_CHILD)]
    assert section["review"] is False
    assert "crm_shared_domain" in section["flags"]


def test_shared_domain_most_contacts_wins() -> None:
    mirror = crm(
        account("a1", "Acme East", "acme.com", last_activity_ms=999),
        account("a2", "Acme West", "acme.com", last_activity_ms=1),
        *contacts("a1", 1),
        *contacts("a2", 3),
    )
    section = decided(make_lead(email="jane@acme.com"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a2"
    assert [(c["id"], c["reason"]) for c in section["candidates"]] == [("a1", FEWER_CONTACTS)]


def test_shared_domain_most_recent_activity_wins() -> None:
    mirror = crm(
        account("a1", "Acme East", "acme.com", last_activity_ms=2_000),
        account("a2", "Acme West", "acme.com", last_activity_ms=1_000),
        account("a3", "Acme North", "acme.com", last_activity_ms=None),
        *contacts("a1", 2),
        *contacts("a2", 2),
        *contacts("a3", 2),
    )
    section = decided(make_lead(email="jane@acme.com"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a1"
    assert sorted((c["id"], c["reason"]) for c in section["candidates"]) == [
        ("a2", OLDER_ACTIVITY),
        ("a3", OLDER_ACTIVITY),
    ]
    assert section["review"] is False


def test_shared_domain_that_nothing_separates_takes_the_lowest_id_and_asks_for_review() -> None:
    mirror = crm(account("b2", "Acme West", "acme.com"), account("b1", "Acme East", "acme.com"))
    section = decided(make_lead(email="jane@acme.com"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "b1"
    assert [(c["id"], c["reason"]) for c in section["candidates"]] == [("b2", LOWEST_ID)]
    assert section["review"] is True
    assert (
        section["review_reason"]
        == "several accounts share the domain and tiebreakers could not separate them"
    )


def test_tiebreakers_apply_in_order_parent_first() -> None:
    # The child has more contacts and newer activity, and still loses to its parent;
    # the unrelated account then loses on contacts.
    mirror = crm(
        account("p", "Acme", "acme.com", last_activity_ms=1),
        account("c", "Acme Labs", "acme.com", parent_id="p", last_activity_ms=9),
        account("x", "Acme Other", "acme.com", last_activity_ms=9),
        *contacts("c", 9),
        *contacts("p", 2),
        *contacts("x", 1),
    )
    section = decided(make_lead(email="jane@acme.com"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "p"
    assert sorted((c["id"], c["reason"]) for c in section["candidates"]) == [
        ("c", PARENT_OVER_CHILD),
        ("x", FEWER_CONTACTS),
    ]


# -- roll-up and opportunities ------------------------------------------------


def _group() -> InMemoryCrmMirror:
    return crm(
        account("parent", "Acme Group", "acme.com"),
        account("child", "Acme UK", "acme.co.uk", parent_id="parent"),
        opportunity("o-parent", "parent", close_date="2026-09-30"),
        opportunity("o-child", "child", close_date="2026-03-31"),
        opportunity("o-closed", "child", is_open=False),
    )


def test_without_roll_up_the_subsidiary_is_the_account() -> None:
    section = decided(make_lead(email="jane@acme.co.uk"), _group())
    assert section["account"] is not None
    assert (section["account"]["id"], section["account"]["parent_id"]) == ("child", "parent")
    assert section["account"]["rolled_up_from"] is None
    assert [o["id"] for o in section["open_opportunities"]] == ["o-child"]
    assert section["has_open_opportunity"] is True
    assert "crm_rolled_up" not in section["flags"]


def test_roll_up_replaces_the_subsidiary_by_its_parent_with_both_opportunities() -> None:
    matcher = Matcher(MatchConfig(roll_up_to_parent=True))
    section = decided(make_lead(email="jane@acme.co.uk"), _group(), matcher)
    assert section["account"] is not None
    assert (section["account"]["id"], section["account"]["rolled_up_from"]) == ("parent", "child")
    assert (section["account"]["method"], section["account"]["matched_on"]) == ("domain", "acme.co.uk")
    assert [o["id"] for o in section["open_opportunities"]] == ["o-child", "o-parent"]  # by close date
    assert {"crm_rolled_up", "crm_open_opportunity"} <= set(section["flags"])


def test_roll_up_leaves_a_top_level_account_alone() -> None:
    matcher = Matcher(MatchConfig(roll_up_to_parent=True))
    section = decided(make_lead(email="jane@acme.com"), _group(), matcher)
    assert section["account"] is not None
    assert (section["account"]["id"], section["account"]["rolled_up_from"]) == ("parent", None)


def test_open_opportunities_are_listed_with_their_fields() -> None:
    section = decided(make_lead(email="jane@acme.co.uk"), _group())
    assert section["open_opportunities"] == [
        {"id": "o-child", "owner_id": "owner-o-child", "stage": "proposal", "amount": 12000.0,
         "close_date": "2026-03-31"}
    ]  # fmt: skip
    closed_only = crm(account("a1", "Acme", "acme.com"), opportunity("o1", "a1", is_open=False))
    section = decided(make_lead(email="jane@acme.com"), closed_only)
    assert section["open_opportunities"] == [] and section["has_open_opportunity"] is False


# -- people -------------------------------------------------------------------


def test_a_person_matches_by_email_and_brings_their_account() -> None:
    mirror = crm(
        account("a1", "Acme Inc", "acme.com"), person("c1", email="jane.doe@gmail.com", account_id="a1")
    )
    section = decided(make_lead(email="Jane.Doe@gmail.com"), mirror)
    assert section["person"] == {
        "id": "c1", "kind": "contact", "owner_id": "owner-c1", "account_id": "a1", "status": "open",
        "method": "email", "score": 100.0,
    }  # fmt: skip
    assert section["is_duplicate"] is True
    assert section["account"] is not None
    assert (section["account"]["id"], section["account"]["method"]) == ("a1", "person")
    assert section["account"]["matched_on"] == "contact c1 by email"
    assert {"crm_duplicate", "crm_account_match"} <= set(section["flags"])


def test_a_person_matches_by_phone() -> None:
    mirror = crm(person("l1", "lead", phone=PHONE_E164, first_name="Someone", last_name="Else"))
    section = decided(make_lead(email="jane@gmail.com", phone=PHONE, country="GB"), mirror)
    assert section["person"] is not None
    assert (section["person"]["id"], section["person"]["method"], section["person"]["score"]) == (
        "l1",
        "phone",
        100.0,
    )


def test_a_person_matches_by_name_and_a_similar_company() -> None:
    mirror = crm(person("l1", "lead", company="ACME Ltd"))
    section = decided(
        make_lead(first_name="Jane", last_name="Doe", email="jd@gmail.com", company="Acme Limited"), mirror
    )
    assert section["person"] is not None
    assert (section["person"]["id"], section["person"]["method"], section["person"]["score"]) == (
        "l1",
        "fuzzy_name",
        100.0,
    )


def test_a_person_matches_by_name_on_the_account_the_lead_matched() -> None:
    mirror = crm(account("a1", "Acme Inc", "acme.com"), person("c1", account_id="a1"))
    section = decided(make_lead(first_name="JANE", last_name="DOE", email="jane@acme.com"), mirror)
    assert section["person"] is not None
    assert (section["person"]["id"], section["person"]["method"]) == ("c1", "fuzzy_name")


def test_the_same_name_at_another_company_is_not_a_duplicate() -> None:
    mirror = crm(
        person("c1", company="Acme Mining"),
        account("a2", "Other Corp", "other.com"),
        person("c2", account_id="a2"),
    )
    section = decided(
        make_lead(first_name="Jane", last_name="Doe", email="jd@gmail.com", company="Acme"), mirror
    )
    assert section["person"] is None and section["is_duplicate"] is False
    assert section["flags"] == ["crm_free_mail_skipped", "crm_no_match"]


def test_a_contact_is_preferred_over_a_lead_at_the_same_step() -> None:
    mirror = crm(person("a-lead", "lead", email="jane@acme.com"), person("z-contact", email="jane@acme.com"))
    section = decided(make_lead(email="jane@acme.com"), mirror)
    assert section["person"] is not None and section["person"]["id"] == "z-contact"
    assert [d["id"] for d in section["duplicates"]] == ["a-lead"]


def test_an_earlier_step_wins_over_a_contact_found_later() -> None:
    mirror = crm(
        person("l1", "lead", email="jane@acme.com", first_name="X", last_name="Y"),
        person("c1", phone=PHONE_E164, first_name="X", last_name="Z"),
    )
    section = decided(make_lead(email="jane@acme.com", phone=PHONE, country="GB"), mirror)
    assert section["person"] is not None and section["person"]["id"] == "l1"
    assert [(d["id"], d["method"]) for d in section["duplicates"]] == [("c1", "phone")]


def test_every_other_matching_person_is_listed_once_as_a_duplicate() -> None:
    mirror = crm(
        person("c1", email="jane@acme.com", phone=PHONE_E164),  # email and phone: listed once
        person("l2", "lead", phone=PHONE_E164, first_name="J", last_name="D"),
        person("l3", "lead", company="Acme Inc"),
    )
    section = decided(
        make_lead(first_name="Jane", last_name="Doe", email="jane@acme.com", phone=PHONE, country="GB",
                  company="Acme"),
        mirror,
    )  # fmt: skip
    assert section["person"] is not None and section["person"]["id"] == "c1"
    assert [(d["id"], d["method"]) for d in section["duplicates"]] == [("l2", "phone"), ("l3", "fuzzy_name")]


def test_a_person_on_another_account_than_the_domain_is_recorded_not_followed() -> None:
    mirror = crm(
        account("a1", "Acme Inc", "acme.com"),
        account("a2", "Initech", "initech.com"),
        person("c1", email="jane@acme.com", account_id="a2"),
    )
    section = decided(make_lead(email="jane@acme.com"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a1"
    assert [(c["id"], c["method"], c["reason"]) for c in section["candidates"]] == [
        ("a2", "person", PERSON_ACCOUNT)
    ]
    assert section["review"] is False
    assert "crm_person_account_conflict" in section["flags"]


def test_a_person_on_another_account_than_a_name_match_asks_for_review() -> None:
    mirror = crm(
        account("a1", "Acme Inc"),
        account("a2", "Initech", "initech.com"),
        person("c1", email="jane@gmail.com", account_id="a2"),
    )
    section = decided(make_lead(email="jane@gmail.com", company="Acme"), mirror)
    assert section["account"] is not None and section["account"]["id"] == "a1"
    assert section["review"] is True
    assert (
        section["review_reason"]
        == "the matched contact belongs to account a2, the company name matched account a1"
    )


def test_a_person_on_the_rolled_up_parent_is_no_conflict() -> None:
    mirror = _group()
    mirror.upsert("contact", person("c1", email="jane@acme.co.uk", account_id="parent"))
    section = decided(
        make_lead(email="jane@acme.co.uk"), mirror, Matcher(MatchConfig(roll_up_to_parent=True))
    )
    assert section["account"] is not None and section["account"]["id"] == "parent"
    assert "crm_person_account_conflict" not in section["flags"]


# -- API, version, schema -----------------------------------------------------


def test_query_for_reads_the_normalized_and_enrichment_sections() -> None:
    lead = make_lead(
        email="Jane.Doe@sub.acme.co.uk", phone=PHONE, country="GB", first_name="Jane", last_name="Doe",
        company="Acme Intl Ltd",
    )  # fmt: skip
    query = MATCHER.query_for(lead)
    assert query.email_key == lead["normalized"]["email_match_key"]  # type: ignore[index]
    assert (query.phone, query.person_name_key, query.domain) == (PHONE_E164, "jane|doe", "acme.co.uk")
    assert {"acme", "intl", "international"} <= set(query.name_tokens)
    assert not any("~" in token for token in query.name_tokens)  # typo tokens only through groups
    assert query.names_only_without_domain  # the matcher never reads them when the domain matched


def test_matcher_version_is_a_stable_hash_of_the_config() -> None:
    assert Matcher().version == Matcher(MatchConfig()).version == MATCHER.version
    assert len(MATCHER.version) == 12 and int(MATCHER.version, 16) >= 0
    assert Matcher(MatchConfig(roll_up_to_parent=True)).version != MATCHER.version
    assert Matcher(MatchConfig(review_score=80)).version != MATCHER.version
    assert decided(make_lead(email="jane@gmail.com"), crm())["matcher_version"] == MATCHER.version


@pytest.mark.parametrize(
    "config",
    [
        {"review_score": 95.0},
        {"accept_score": 101.0},
        {"person_accept_score": -1.0},
        {"max_runner_ups": -1},
    ],
)
def test_an_inconsistent_config_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        MatchConfig(**config)


class CountingMirror(InMemoryCrmMirror):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def candidates(self, query: MatchQuery) -> Candidates:
        raise AssertionError("match_leads must ask in one batch")

    def candidates_many(self, queries: Sequence[MatchQuery]) -> list[Candidates]:
        self.batches.append(len(queries))
        return [super(CountingMirror, self).candidates(query) for query in queries]


def test_match_leads_asks_the_mirror_once_per_batch() -> None:
    mirror = CountingMirror()
    mirror.upsert("account", account("a1", "Acme Inc", "acme.com"))
    leads = [make_lead(email="jane@acme.com"), make_lead(email="bob@gmail.com")]
    matched = match_leads(leads, MATCHER, mirror)
    assert mirror.batches == [2]
    assert [lead["crm"]["account"] is not None for lead in matched] == [True, False]  # type: ignore[index]
    assert matched[0]["lead_id"] == leads[0]["lead_id"] and leads[0]["crm"] is None  # input untouched


def test_matched_leads_validate_against_the_lead_schema() -> None:
    mirror = _group()
    mirror.upsert("contact", person("c1", email="jane@acme.co.uk", account_id="child"))
    mirror.upsert("account", account("other", "Acme Two", "acme.co.uk"))
    schema = parsed("Lead")
    for lead in (
        make_lead(email="jane@acme.co.uk", first_name="Jane", last_name="Doe", company="Acme"),
        make_lead(email="bob@gmail.com", company="Nobody Known"),
        bare_lead(email="x@y.org"),
    ):
        matched = match_lead(lead, Matcher(MatchConfig(roll_up_to_parent=True)), mirror)
        assert matched["crm"] is not None
        assert fastavro.validation.validate(matched, schema)
