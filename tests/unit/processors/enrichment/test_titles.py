"""Job titles to seniority and function: the shipped vocabulary, the matching rules, validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.config import ConfigError, Document, parse_yaml
from processors.enrichment.titles import (
    CONFIDENCE_FUNCTION_ONLY,
    CONFIDENCE_ROLE_NOUN,
    CONFIDENCE_STATED,
    FUNCTIONS,
    SENIORITIES,
    TitleClass,
    TitleClassifier,
)
from tests.support.paths import REPO

VOCABULARY = REPO / "processors" / "enrichment" / "data" / "titles.yaml"


@pytest.fixture(scope="module")
def document() -> Document:
    """The shipped vocabulary, read and parsed once for the whole module."""
    return parse_yaml(VOCABULARY.read_text(encoding="utf-8"), VOCABULARY.name)


@pytest.fixture(scope="module")
def classifier(document: Document) -> TitleClassifier:
    return TitleClassifier.from_document(document)


def classify(classifier: TitleClassifier, title: str) -> TitleClass:
    found = classifier.classify(title)
    assert found is not None, f"{title!r} was not recognised"
    return found


def build(text: str) -> TitleClassifier:
    return TitleClassifier.from_document(parse_yaml(text, "titles.yaml"))


# title, seniority, primary function
CASES: list[tuple[str, str | None, str]] = [
    # Abbreviations
    ("CEO", "c_level", "executive"),
    ("CFO", "c_level", "finance"),
    ("CTO", "c_level", "engineering"),
    ("COO", "c_level", "operations"),
    ("CIO", "c_level", "it"),
    ("CMO", "c_level", "marketing"),
    ("CRO", "c_level", "sales"),
    ("CISO", "c_level", "it"),
    ("CHRO", "c_level", "hr"),
    ("EVP", "vp", "other"),
    ("SVP Marketing", "vp", "marketing"),
    ("AVP, Finance", "vp", "finance"),
    ("VP Engineering", "vp", "engineering"),
    ("V.P. Marketing", "vp", "marketing"),
    ("GM", "c_level", "executive"),
    ("MD", "c_level", "executive"),
    ("Dir. of Engineering", "director", "engineering"),
    ("Sr. Accountant", "senior_ic", "finance"),
    ("Jr. Developer", "ic", "engineering"),
    ("Mgr", "manager", "other"),
    ("Mgr., Procurement", "manager", "operations"),
    ("Eng Manager", "manager", "engineering"),
    ("Exec Director", "c_level", "executive"),
    ("Acct Exec", "ic", "sales"),
    ("Mktg Mgr", "manager", "marketing"),
    ("Bus. Dev. Manager", "manager", "sales"),
    ("BDR", "ic", "sales"),
    ("SDR", "ic", "sales"),
    ("AE", "ic", "sales"),
    ("KAM", "manager", "sales"),
    # Longest match wins
    ("Account Executive", "ic", "sales"),
    ("Sales Executive", "ic", "sales"),
    ("Executive Assistant", "ic", "other"),
    ("Assistant to the CEO", "ic", "executive"),
    ("Executive Assistant to the CEO", "ic", "executive"),
    ("Chief of Staff", "director", "executive"),
    ("Chief of Staff to the CEO", "director", "executive"),
    ("Vice President", "vp", "other"),
    ("Managing Director", "c_level", "executive"),
    ("General Manager", "c_level", "executive"),
    ("Head of Growth", "head", "marketing"),
    ("Head Hunter", "ic", "hr"),
    ("Lead Generation Specialist", "ic", "marketing"),
    ("Team Lead", "manager", "other"),
    ("Head Office Manager", "manager", "other"),
    ("Product Marketing Manager", "manager", "marketing"),
    # Modifiers and the highest level
    ("Sr. VP, Global Sales", "vp", "sales"),
    ("VP Sales & Marketing", "vp", "sales"),
    ("Sr. Mgr., IT – EMEA", "manager", "it"),
    ("Senior Director, Product", "director", "product"),
    ("Senior Software Engineer", "senior_ic", "engineering"),
    ("Software Engineer", "ic", "engineering"),
    ("Lead Developer", "senior_ic", "engineering"),
    ("Principal Engineer", "senior_ic", "engineering"),
    ("Staff Engineer", "senior_ic", "engineering"),
    ("Staff Accountant", "ic", "finance"),
    ("Marketing Coordinator", "ic", "marketing"),
    ("Assistant Manager", "manager", "other"),
    ("Associate Director", "director", "other"),
    # Interns and students
    ("Student", "intern", "other"),
    ("Intern", "intern", "other"),
    ("Marketing Intern", "intern", "marketing"),
    ("Working Student", "intern", "other"),
    ("Werkstudent", "intern", "other"),
    ("Werkstudentin Vertrieb", "intern", "sales"),
    ("Praktikant", "intern", "other"),
    ("Stagiaire", "intern", "other"),
    ("Becario", "intern", "other"),
    # Owners and the C-suite
    ("Co-Founder & CEO", "owner", "executive"),
    ("Owner", "owner", "executive"),
    ("Founder/CEO", "owner", "executive"),
    ("Partner", "owner", "executive"),
    ("President", "c_level", "executive"),
    ("President & CEO", "c_level", "executive"),
    ("Chief Revenue Officer", "c_level", "sales"),
    ("Chief Customer Officer", "c_level", "customer_success"),
    ("Chairman of the Board", "c_level", "executive"),
    # Functions
    ("Customer Success Manager", "manager", "customer_success"),
    ("General Counsel", "head", "legal"),
    ("Paralegal", "ic", "legal"),
    ("Controller", "manager", "finance"),
    ("Accountant", "ic", "finance"),
    ("Recruiter", "ic", "hr"),
    ("Talent Acquisition", None, "hr"),
    ("HR Business Partner", "senior_ic", "hr"),
    ("Product Manager", "manager", "product"),
    ("Product Owner", "manager", "product"),
    ("DevOps Engineer", "ic", "engineering"),
    ("System Administrator", "ic", "it"),
    ("Sysadmin", "ic", "it"),
    ("Help Desk", None, "it"),
    ("IT Support Specialist", "ic", "it"),
    ("Operations Manager", "manager", "operations"),
    ("Procurement", None, "operations"),
    ("Supply Chain", None, "operations"),
    ("Head of Revenue Operations", "head", "operations"),
    ("People Operations Manager", "manager", "hr"),
    ("Business Development Representative", "ic", "sales"),
    ("Sales Engineer", "ic", "sales"),
    ("Partner Manager", "manager", "sales"),
    ("Compliance Officer", "ic", "legal"),
    ("R&D Manager", "manager", "engineering"),
    ("Research and Development Engineer", "ic", "engineering"),
    # German
    ("Geschäftsführer", "c_level", "executive"),
    ("Geschäftsführerin", "c_level", "executive"),
    ("Inhaber", "owner", "executive"),
    ("Gründer", "owner", "executive"),
    ("Vertriebsleiter", "head", "sales"),
    ("Vertriebsleiterin", "head", "sales"),
    ("Leiter Marketing", "head", "marketing"),
    ("Abteilungsleiter", "head", "other"),
    ("Teamleiter Einkauf", "manager", "operations"),
    ("Produktmanager", "manager", "product"),
    ("Produktionsleiter", "head", "operations"),
    ("Softwareentwickler", "ic", "engineering"),
    ("Vertriebsmitarbeiter (m/w/d)", "ic", "sales"),
    ("Assistenz der Geschäftsführung", "ic", "other"),
    # French, Spanish, Portuguese, Italian, Dutch
    ("Directeur commercial", "director", "sales"),
    ("Directrice marketing", "director", "marketing"),
    ("Directeur général", "c_level", "executive"),
    ("PDG", "c_level", "executive"),
    ("Responsable des ventes", "manager", "sales"),
    ("Ingénieur logiciel", "ic", "engineering"),
    ("Ingénieur commercial", "ic", "sales"),
    ("Director de ventas", "director", "sales"),
    ("Gerente de marketing", "manager", "marketing"),
    ("Jefe de ventas", "head", "sales"),
    ("Consejero Delegado", "c_level", "executive"),
    ("Diretor comercial", "director", "sales"),
    ("Direttore vendite", "director", "sales"),
    ("Amministratore Delegato", "c_level", "executive"),
    ("Algemeen directeur", "c_level", "executive"),
    # Japanese, Chinese, Korean (no spaces: terms match inside the text)
    ("部長", "director", "other"),
    ("営業部長", "director", "sales"),
    ("社長", "c_level", "executive"),
    ("代表取締役", "c_level", "executive"),
    ("代表取締役社長", "c_level", "executive"),
    ("課長", "manager", "other"),
    ("営業", None, "sales"),
    ("エンジニア", "ic", "engineering"),
    ("IT部長", "director", "it"),
    ("总经理", "c_level", "executive"),
    ("经理", "manager", "other"),
    ("销售经理", "manager", "sales"),
    ("副总经理", "vp", "other"),
    ("대표이사", "c_level", "executive"),
    ("마케팅 팀장", "manager", "marketing"),
    # Function words only
    ("Marketing", None, "marketing"),
    ("Sales & Marketing", None, "sales"),
]


@pytest.mark.parametrize(("title", "seniority", "function"), CASES)
def test_titles(classifier: TitleClassifier, title: str, seniority: str | None, function: str) -> None:
    found = classify(classifier, title)
    assert (found.seniority, found.function) == (seniority, function), found.matched


def test_there_are_at_least_eighty_title_cases() -> None:
    assert len(CASES) >= 80
    assert len({title for title, _, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("title", "functions"),
    [
        ("VP Sales & Marketing", ("sales", "marketing")),
        ("VP Sales and Marketing", ("sales", "marketing")),
        ("Vertrieb und Marketing", ("sales", "marketing")),
        ("Director de Ventas y Marketing", ("sales", "marketing")),
        ("Sales/Marketing + Ops", ("sales", "marketing", "operations")),
        ("Marketing Operations Manager", ("marketing", "operations")),
        ("CTO / Co-Founder", ("engineering", "executive")),
        ("Sales Sales Sales", ("sales",)),
        ("Vice President", ()),
    ],
)
def test_functions_are_every_department_in_title_order(
    classifier: TitleClassifier, title: str, functions: tuple[str, ...]
) -> None:
    assert classify(classifier, title).functions == functions


@pytest.mark.parametrize(
    ("title", "confidence"),
    [
        ("Director", CONFIDENCE_STATED),
        ("Senior Software Engineer", CONFIDENCE_STATED),
        ("Junior Developer", CONFIDENCE_STATED),
        ("Intern", CONFIDENCE_STATED),
        ("Executive Assistant to the CEO", CONFIDENCE_STATED),
        ("Software Engineer", CONFIDENCE_ROLE_NOUN),
        ("Account Executive", CONFIDENCE_ROLE_NOUN),
        ("Marketing", CONFIDENCE_FUNCTION_ONLY),
    ],
)
def test_confidence_says_how_the_level_was_found(
    classifier: TitleClassifier, title: str, confidence: float
) -> None:
    assert classify(classifier, title).confidence == confidence
    assert CONFIDENCE_FUNCTION_ONLY < CONFIDENCE_ROLE_NOUN < CONFIDENCE_STATED <= 1


@pytest.mark.parametrize(
    ("title", "matched"),
    [
        ("Sr. VP, Global Sales", ("senior", "vice president", "sales")),
        ("Account Executive", ("account executive",)),
        ("Vertriebsleiter", ("vertrieb*", "*leiter")),
        ("営業部長", ("営業", "部長")),
        ("Assistant to the CEO", ("assistant to", "chief executive officer")),
    ],
)
def test_matched_terms_explain_the_decision(
    classifier: TitleClassifier, title: str, matched: tuple[str, ...]
) -> None:
    assert classify(classifier, title).matched == matched


@pytest.mark.parametrize(
    "title",
    ["Wizard", "asdf", "", "-", "   ", "123", "EMEA", "(m/w/d)", "Remote", "Wizard of Light Bulb Moments"],
)
def test_titles_without_a_known_term_are_unclassified(classifier: TitleClassifier, title: str) -> None:
    assert classifier.classify(title) is None


def same_reading(classifier: TitleClassifier, titles: list[str]) -> set[tuple[object, ...]]:
    readings = {classify(classifier, title) for title in titles}
    return {(found.seniority, found.function, found.functions) for found in readings}


def test_matching_ignores_case_and_latin_accents(classifier: TitleClassifier) -> None:
    variants = [
        "Geschäftsführer",
        "Geschaftsfuhrer",
        "GESCHÄFTSFÜHRER",
        "geschäftsführer",
        "Geschaeftsfuehrer",
    ]
    assert same_reading(classifier, variants) == {("c_level", "executive", ("executive",))}
    assert same_reading(classifier, ["Directeur Général", "DIRECTEUR GENERAL", "directeur général"]) == {
        ("c_level", "executive", ("executive",))
    }


def test_matching_ignores_punctuation(classifier: TitleClassifier) -> None:
    variants = [
        "VP Sales",
        "V.P., Sales",
        "VP - Sales",
        "VP – Sales",
        "VP — Sales",
        "VP (Sales)",
        "vp: sales",
    ]
    assert same_reading(classifier, variants) == {("vp", "sales", ("sales",))}


def test_full_width_letters_read_like_ascii(classifier: TitleClassifier) -> None:
    assert classify(classifier, "ＣＥＯ").seniority == "c_level"


def test_regions_scopes_numbers_and_job_ad_noise_are_ignored(classifier: TitleClassifier) -> None:
    variants = [
        "Sales Manager",
        "Sales Manager (m/w/d)",
        "Sales Manager (f/m/x) - Remote",
        "Sales Manager – EMEA",
        "Global Sales Manager",
        "Sales Manager II",
        "Sales Manager III",
        "Sales Manager 3",
        "Sales Manager, North America",
        "APAC Sales Manager",
        "DACH Sales Manager",
    ]
    assert same_reading(classifier, variants) == {("manager", "sales", ("sales",))}


def test_an_assistant_to_someone_is_not_that_someone(classifier: TitleClassifier) -> None:
    for title in (
        "Assistant to the CEO",
        "EA to the CFO",
        "Senior Executive Assistant",
        "Vorstandsassistentin",
    ):
        assert classify(classifier, title).seniority == "ic", title


def test_long_titles_are_cut_not_refused(classifier: TitleClassifier) -> None:
    assert classify(classifier, "CEO " * 10_000).seniority == "c_level"


def test_non_text_is_unclassified_not_an_error(classifier: TitleClassifier) -> None:
    assert classifier.classify(None) is None  # type: ignore[arg-type]
    assert classifier.classify(42) is None  # type: ignore[arg-type]


def test_answers_are_cached_and_the_cache_can_be_cleared(classifier: TitleClassifier) -> None:
    first = classifier.classify("VP Marketing")
    assert classifier.classify("VP Marketing") is first
    classifier.cache_clear()
    assert classifier.classify("VP Marketing") == first


@settings(max_examples=300, deadline=None)
@given(title=st.text())
def test_any_text_classifies_without_raising(classifier: TitleClassifier, title: str) -> None:
    found = classifier.classify(title)
    if found is None:
        return
    assert found.seniority is None or found.seniority in SENIORITIES
    assert found.function in FUNCTIONS
    assert set(found.functions) <= set(FUNCTIONS) - {"other"}
    assert found.function == (found.functions[0] if found.functions else "other")
    assert 0 <= found.confidence <= 1
    assert found.matched


WORDS = ["Senior", "VP", "of", "Sales", "CEO", "Leiter", "Vertrieb", "営業", "部長", "&", "/", "Mgr."]
WORDS += ["Head", "Assistant", "to", "the", "Engineer", "(m/w/d)", "Chief", "Geschäftsführer", "Intern"]


@settings(max_examples=300, deadline=None)
@given(title=st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join))
def test_any_mix_of_known_words_classifies_within_the_vocabulary(
    classifier: TitleClassifier, title: str
) -> None:
    found = classifier.classify(title)
    assert found is None or found.seniority is None or found.seniority in SENIORITIES
    assert found is None or found.function in FUNCTIONS


def test_the_shipped_vocabulary_covers_every_level_and_function(document: Document) -> None:
    data = document.data
    levels = set(data["seniority"]) | set(data["titles"])
    functions = set(data["functions"]) | {
        name for by_function in data["titles"].values() for name in by_function
    }
    assert levels == set(SENIORITIES)
    assert functions == set(FUNCTIONS)


# --- the matching rules, on a small vocabulary ---------------------------------------------------

MINI = """\
separators: [and]
abbreviations:
  mgr: manager
  v.p.: vice president
ignore: [of, emea]
seniority:
  vp: [vice president]
  c_level: [president]
  head: ["*leiter"]
  manager: [manager]
  director: [部長]
functions:
  sales: [sales, "vertrieb*", 営業]
  marketing: [marketing]
titles:
  ic:
    sales: [account executive]
overrides:
  - terms: [assistant to]
    cap: ic
"""


@pytest.mark.parametrize(
    ("title", "seniority", "functions"),
    [
        ("V.P. of Sales", "vp", ("sales",)),  # multi-word abbreviation, longest term beats "president"
        ("President", "c_level", ()),
        ("Vertriebsleiterin", None, ("sales",)),  # "*leiter" does not match "...leiterin"
        ("Vertriebsleiter", "head", ("sales",)),  # prefix and suffix in one word
        ("営業部長", "director", ("sales",)),  # CJK terms match inside the text
        ("Sales and Marketing Mgr", "manager", ("sales", "marketing")),
        ("Assistant to the President", "ic", ()),  # the cap wins over the highest level
        ("Account Executive", "ic", ("sales",)),
        ("EMEA", None, ()),
    ],
)
def test_matching_rules(title: str, seniority: str | None, functions: tuple[str, ...]) -> None:
    found = build(MINI).classify(title)
    if title == "EMEA":
        assert found is None
        return
    assert found is not None
    assert (found.seniority, found.functions) == (seniority, functions)


# --- validation: file, line and a reason a RevOps person can act on -----------------------------

BROKEN: list[tuple[str, int, str]] = [
    ("seniority:\n  director: [director]\n  cxo: [chief]\n", 3, "unknown seniority 'cxo'"),
    (
        "seniority:\n  director:\n    - director\n  manager:\n    - manager\n    - Director\n",
        6,
        "two seniorities: seniority 'director' (line 3)",
    ),
    ("seniority:\n  director: director\n", 2, "must be a list of terms"),
    ("functions:\n  sales: [sales]\n  fun: [party]\n", 3, "unknown function 'fun'"),
    ("functions:\n  other: [misc]\n", 2, "'other' is what a title gets"),
    ("functions:\n  sales:\n    - sales\n    - ''\n", 4, "empty term"),
    ("functions:\n  sales:\n    - 12\n", 3, "must be text"),
    (
        "functions:\n  sales: [sales]\nseniority:\n  manager: [Sales]\n",
        4,
        "already listed under function 'sales'",
    ),
    ("functions:\n  sales: [sales]\n  marketing: [SALES]\n", 3, "already listed"),
    ("functions:\n  sales:\n    - ver*trieb\n", 3, "'*' may appear once"),
    ("functions:\n  sales:\n    - '*ab'\n", 3, "3 letters or more"),
    ("functions:\n  sales:\n    - 'head of*'\n", 3, "one word"),
    (
        "abbreviations:\n  sr: senior\nseniority:\n  senior_ic:\n    - sr engineer\n",
        5,
        "write it out in full",
    ),
    ("abbreviations:\n  mgr: manager\n  Mgr.: manager\n", 3, "same as 'mgr' (line 2)"),
    ("abbreviations: [mgr]\n", 1, "must be a mapping"),
    ("sections: []\n", 1, "unknown section 'sections'"),
    ("- a list\n", 1, "must be a mapping"),
    ("separators: [and, as well as]\n", 1, "single word"),
    ("titles:\n  ic:\n    wizardry: [wizard]\n", 3, "unknown function 'wizardry'"),
    ("titles:\n  ic: [engineer]\n", 2, "must be a mapping"),
    ("overrides:\n  - terms: [assistant to]\n", 2, "needs 'terms' (a list) and 'cap'"),
    ("overrides:\n  - terms: [assistant to]\n    cap: boss\n", 3, "unknown seniority 'boss'"),
    ("overrides:\n  - terms: [assistant to]\n    cap: ic\n    why: because\n", 4, "unknown override key"),
    ("overrides:\n  terms: [assistant to]\n", 1, "must be a list"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BROKEN)
def test_a_broken_vocabulary_names_file_line_and_fix(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(text)
    assert caught.value.source == "titles.yaml"
    assert caught.value.line == line, str(caught.value)
    assert str(caught.value).startswith(f"titles.yaml:{line}: ")
    assert reason in str(caught.value)


def test_an_empty_vocabulary_recognises_nothing() -> None:
    assert build("seniority: {}\n").classify("CEO") is None


# --- company heads, several roles, grades and typos ------------------------------------------------


@pytest.mark.parametrize(
    ("title", "seniority", "function"),
    [
        # Alone, or beside other top roles only: the head of the company.
        ("Managing Director", "c_level", "executive"),
        ("Group Managing Director", "c_level", "executive"),
        ("Managing Director (m/w/d)", "c_level", "executive"),
        ("MD & CEO", "c_level", "executive"),
        ("General Manager", "c_level", "executive"),
        ("Executive Director", "c_level", "executive"),
        ("President and Chief Executive Officer", "c_level", "executive"),
        ("Founder & Managing Director", "owner", "executive"),
        # With a region, a department or a business line: the head of a part of it.
        ("Managing Director, Portugal", "director", "executive"),
        ("Managing Director DACH", "director", "executive"),
        ("Executive Director, Worldwide Sales", "director", "sales"),
        ("Executive Director of Engineering", "director", "engineering"),
        ("General Manager – Payments", "head", "executive"),
        ("GM, Benelux", "head", "executive"),
        ("President, Consumer Products Division", "head", "product"),
        ("VP & General Manager, Software", "vp", "engineering"),
    ],
)
def test_company_head_titles_with_a_scope_run_a_part_of_the_company(
    classifier: TitleClassifier, title: str, seniority: str, function: str
) -> None:
    found = classify(classifier, title)
    assert (found.seniority, found.function) == (seniority, function)


@pytest.mark.parametrize(
    ("title", "seniority"),
    [
        ("CFO & EVP", "c_level"),
        ("SVP and COO", "c_level"),
        ("Director / Vice President, Sales", "vp"),
        ("Manager, later Director", "director"),
    ],
)
def test_the_highest_of_several_roles_wins(classifier: TitleClassifier, title: str, seniority: str) -> None:
    assert classify(classifier, title).seniority == seniority


@pytest.mark.parametrize(
    ("title", "seniority", "function"),
    [
        # A grade before a job noun: an individual contributor one step above senior.
        ("Lead Data Engineer", "senior_ic", "engineering"),
        ("Lead Front-end Developer", "senior_ic", "engineering"),
        ("Lead Accountant", "senior_ic", "finance"),
        # No job noun after it in its part: the person who leads that team.
        ("Infrastructure Lead", "manager", "it"),
        ("Lead, Payroll", "manager", "hr"),
        ("Accountant / Lead", "manager", "finance"),
        ("Lead Generation Specialist", "ic", "marketing"),  # a term of its own
    ],
)
def test_lead_is_a_grade_before_a_job_noun_and_a_team_role_otherwise(
    classifier: TitleClassifier, title: str, seniority: str, function: str
) -> None:
    found = classify(classifier, title)
    assert (found.seniority, found.function) == (seniority, function)


@pytest.mark.parametrize(
    ("title", "seniority", "function"),
    [
        ("Markting Direcotr", "director", "marketing"),
        ("Senoir Manager, Finance", "manager", "finance"),
        ("Vice Presidnet of Sales", "vp", "sales"),
        ("Member of the Bord", "c_level", "executive"),
        ("Bord Member", "c_level", "executive"),
        ("Cheif Financial Oficer", "c_level", "finance"),
        ("Softwre Engineer", "ic", "engineering"),
        ("Account Managr", "manager", "sales"),
    ],
)
def test_typos_in_known_words_are_tolerated(
    classifier: TitleClassifier, title: str, seniority: str, function: str
) -> None:
    found = classify(classifier, title)
    assert (found.seniority, found.function) == (seniority, function)


@pytest.mark.parametrize(
    ("title", "not_seniority"),
    [
        ("Head Chef", "c_level"),  # "chef" is too short to be read as "chief"
        ("City Council Member", None),  # "council" is not "counsel"
        ("Owned Media Manager", "owner"),
        ("Trainer", "intern"),  # not "trainee"
    ],
)
def test_short_or_real_words_are_not_read_as_typos(
    classifier: TitleClassifier, title: str, not_seniority: str | None
) -> None:
    found = classifier.classify(title)
    assert found is None or found.seniority != not_seniority
    assert found is None or "legal" not in found.functions


@pytest.mark.parametrize(
    ("title", "function"),
    [
        ("Accounts Payable Specialist", "finance"),
        ("Credit Risk Analyst", "finance"),
        ("Head of Investor Relations", "finance"),
        ("Investment Manager", "finance"),
        ("Actuary", "finance"),
        ("Litigation Counsel", "legal"),
        ("Patent Attorney", "legal"),
        ("Company Secretary", "legal"),
        ("Contracts Manager", "legal"),
        ("Talent Acquisition Partner", "hr"),
        ("Personnel Officer", "hr"),
        ("Workforce Planning Lead", "hr"),
        ("Employee Relations Manager", "hr"),
        ("Office Manager", "operations"),
        ("Head of Logistics", "operations"),
        ("Fleet Coordinator", "operations"),
        ("Health and Safety Manager", "operations"),
        ("Director of Strategy", "executive"),
    ],
)
def test_finance_legal_hr_and_operations_titles_get_their_function(
    classifier: TitleClassifier, title: str, function: str
) -> None:
    assert classify(classifier, title).function == function


BROKEN_REFINEMENTS: list[tuple[str, int, str]] = [
    ("company_heads:\n  director: [managing director]\n", 2, "must first be listed"),
    ("seniority:\n  senior_ic: [lead]\nteam_roles:\n  boss: [lead]\n", 4, "unknown seniority 'boss'"),
    ("functions:\n  sales: [sales]\nteam_roles:\n  manager: [sales]\n", 4, "with its usual level"),
    ("scopes: emea\n", 1, "must be a list of terms"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BROKEN_REFINEMENTS)
def test_a_broken_refinement_names_file_line_and_fix(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(text)
    assert caught.value.line == line, str(caught.value)
    assert reason in str(caught.value)


def test_a_vp_beside_a_company_head_title_makes_it_a_part_of_the_company(
    classifier: TitleClassifier,
) -> None:
    assert classify(classifier, "SVP & General Manager").seniority == "vp"
    assert classify(classifier, "Managing Director & Senior Vice President").seniority == "vp"


def test_a_word_with_letters_added_at_the_end_is_another_word_not_a_typo(
    classifier: TitleClassifier,
) -> None:
    assert classify(classifier, "Directory Services Manager").seniority == "manager"
    assert "supervisor" not in classify(classifier, "Supervisory Board").matched
