"""Segments files: the shipped one, errors a RevOps user can act on, and overlays."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

import processors.segmentation
from processors.config import ConfigError, parse_yaml
from processors.segmentation import SegmentDefinitions, Segmenter, load_definitions, shipped_definitions
from processors.segmentation.fields import check_path
from tests.support.paths import REPO

SHIPPED_FILE = Path(processors.segmentation.__file__).parent / "data" / "segments.yaml"


def load(text: str, base: SegmentDefinitions | None = None, source: str = "mine.yaml") -> SegmentDefinitions:
    return load_definitions(parse_yaml(dedent(text), source), base=base)


def refused(text: str, base: SegmentDefinitions | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(text, base)
    assert caught.value.source == "mine.yaml"
    return caught.value


def test_the_shipped_file_loads_and_documents_itself() -> None:
    definitions = load_definitions(parse_yaml(SHIPPED_FILE.read_text(encoding="utf-8"), str(SHIPPED_FILE)))
    assert definitions == shipped_definitions()
    assert [band.name for band in definitions.size_bands] == ["micro", "smb", "mid_market", "enterprise"]
    assert len(definitions.verticals) >= 10
    assert definitions.scoring and definitions.score_rules


def test_the_docs_list_every_shipped_vertical_rule_and_band() -> None:
    docs = (REPO / "docs" / "segmentation.md").read_text(encoding="utf-8")
    definitions = shipped_definitions()
    names = [
        *(band.name for band in definitions.size_bands),
        *(band.name for band in definitions.revenue_bands),
        *definitions.verticals,
        *(rule.name for rule in definitions.score_rules),
        *set(definitions.seniority_tiers.values()),
        *set(definitions.source_channels.values()),
    ]
    assert [name for name in names if f"`{name}`" not in docs] == []


# --- errors: file, line and a fix ----------------------------------------------------------------

BANDS = """\
    version: 1
    size_bands:
      - {name: small, min: 1, max: 99}
      - {name: medium, min: 90, max: 999}
    """


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            BANDS,
            4,
            "'medium' (90-999) overlaps 'small' (1-99, line 3); list bands smallest first and start "
            "'medium' at 100",
        ),
        (
            """\
         version: 1
         size_bands:
           - {name: small, min: 1, max: 99}
           - {name: medium, min: 120, max: 999}
         """,
            4,
            "100-119 falls between 'small' and 'medium'",
        ),
        (
            """\
         version: 1
         size_bands:
           - {name: big, min: 1000}
           - {name: small, min: 1, max: 99}
         """,
            3,
            "only the last band may be open-ended",
        ),
        (
            """\
         version: 1
         size_bands:
           - {name: big, min: 1000, max: 500}
         """,
            3,
            "max 500 below its min 1,000; swap them",
        ),
        (
            """\
         version: 1
         revenue_bands:
           - {name: a, min: 0, max: 1e6}
         """,
            3,
            "whole number of US dollars",
        ),
        (
            """\
         version: 1
         size_bands:
           - {name: a, min: 1, max: 9}
           - {name: a, min: 10}
         """,
            4,
            "band 'a' is given twice (line 3)",
        ),
        (
            """\
         version: 1
         size_bands:
           - {name: Big Ones, min: 1}
         """,
            3,
            "lower-case letters",
        ),
        (
            """\
         version: 1
         size_bands:
           - {name: a, min: 1, mx: 9}
         """,
            3,
            "unknown key 'mx'; did you mean 'max'?",
        ),
        (
            """\
         version: 1
         verticals:
           technology: [software, saas]
           financial_services:
             - bank*
             - SaaS
         """,
            6,
            "keyword 'SaaS' is already listed under 'technology' (line 3)",
        ),
        (
            """\
         version: 1
         verticals:
           technology: [software, Software]
         """,
            3,
            "keyword 'Software' is already listed under 'technology' (line 3)",
        ),
        (
            """\
         version: 1
         verticals:
           other: [misc]
         """,
            3,
            "'other' is what an industry gets",
        ),
        (
            """\
         version: 1
         verticals:
           technology: ["ai*"]
         """,
            3,
            "3 letters or more",
        ),
        (
            """\
         version: 1
         verticals:
           technology: ["*ware"]
         """,
            3,
            "'*' may only end a keyword",
        ),
        (
            """\
         version: 1
         verticals:
           technology: [true]
         """,
            3,
            "put quotes around true/false",
        ),
        (
            """\
         version: 1
         seniority_tiers:
           executive: [ceo]
         """,
            3,
            "unknown seniority 'ceo'",
        ),
        (
            """\
         version: 1
         seniority_tiers:
           executive: [vp]
           leaders: [director, vp]
         """,
            4,
            "seniority 'vp' is already listed under 'executive' (line 3)",
        ),
        (
            """\
         version: 1
         source_channels:
           inbound: [webform]
         """,
            3,
            "unknown source 'webform'; did you mean 'web'?",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 1.5
               when: {field: normalized.source, equals: web}
               reason: A
         """,
            5,
            "points must be a whole number",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: "10"
               when: {field: normalized.source, equals: web}
               reason: A
         """,
            5,
            "points must be a whole number such as 10 or -20, not str '10'",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when: {field: normalized.source, matches: web}
               reason: A
         """,
            6,
            "unknown operator 'matches'",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when:
                 field: enrichment.senority
                 equals: vp
               reason: A
         """,
            7,
            "unknown field 'enrichment.senority'",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when: {field: enrichment, exists: true}
               reason: A
         """,
            6,
            "'enrichment' is a section, not a value",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when: {field: normalized.source.kind, equals: web}
               reason: A
         """,
            6,
            "'normalized.source' is a value, not a section",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when: {field: normalized.source, equals: web, in: [chat]}
               reason: A
         """,
            6,
            "exactly one of equals, in, range, exists; found 2",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when:
                 any: []
               reason: A
         """,
            7,
            "'any' takes a non-empty list",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when: {field: enrichment.annual_revenue, range: {min: 10, max: 1}}
               reason: A
         """,
            6,
            "range min 10 is above max 1",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when: {field: enrichment.annual_revenue, range: {max: lots}}
               reason: A
         """,
            6,
            "a range bound must be a number",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when: {field: normalized.source, exists: yes please}
               reason: A
         """,
            6,
            "'exists' takes true or false",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - name: a
               points: 10
               when: {field: normalized.source, equals: web}
         """,
            4,
            "rule 'a' has no 'reason'",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - {name: a, points: 1, when: {field: normalized.source, equals: web}, reason: A}
             - {name: a, points: 2, when: {field: normalized.source, equals: web}, reason: B}
         """,
            5,
            "rule 'a' is given twice (line 4)",
        ),
        (
            """\
         version: 1
         scoring:
           rules:
             - {name: nope, disabled: true}
         """,
            4,
            "there is no rule 'nope' to disable",
        ),
        ("version: 2\n", 1, "version 2 is not supported"),
        ("size_bands: []\n", 1, "no version; add 'version: 1'"),
        ("version: 1\nsegments: []\n", 2, "unknown key 'segments'"),
        ("", None, "the file is empty"),
        ("version: 1\nsize_bands: [\n", 3, "not valid YAML"),
    ],
)
def test_errors_name_the_line_and_the_fix(text: str, line: int | None, fragment: str) -> None:
    error = refused(text)
    assert fragment in error.reason
    assert error.line == line
    assert str(error).startswith(f"mine.yaml:{line}: " if line else "mine.yaml: ")


def test_every_field_the_shipped_rules_read_exists() -> None:
    for rule in shipped_definitions().score_rules:
        for field in rule.when.fields():
            assert check_path(field) is None, field


# --- overlay and replace -------------------------------------------------------------------------


def test_an_empty_overlay_keeps_everything() -> None:
    assert load("version: 1\n", base=shipped_definitions()) == shipped_definitions()


def test_bands_are_replaced_whole() -> None:
    mine = load(
        """\
        version: 1
        size_bands:
          - {name: small, min: 1, max: 499}
          - {name: large, min: 500}
        """,
        base=shipped_definitions(),
    )
    assert [band.name for band in mine.size_bands] == ["small", "large"]
    assert mine.revenue_bands == shipped_definitions().revenue_bands


def test_vertical_overlay_replaces_by_name_and_moves_keywords() -> None:
    mine = load(
        """\
        version: 1
        verticals:
          fintech: [fintech, payments, banking software]
          education: []
          agriculture: [farming, agri*]
        """,
        base=shipped_definitions(),
    )
    assert "education" not in mine.verticals
    segmenter = Segmenter(mine)

    def vertical(industry: str) -> str | None:
        return segmenter.segment({"normalized": {"industry": industry}})["vertical"]  # type: ignore[typeddict-item]

    assert vertical("Payments") == "fintech"  # taken away from financial_services
    assert vertical("Banking Software") == "fintech"  # two words beat "software"
    assert vertical("Banking") == "financial_services"  # the rest of financial_services stays
    assert vertical("Agribusiness") == "agriculture"
    assert vertical("Higher Education") == "other"
    assert vertical("Software") == "technology"


def test_tier_and_channel_overlay_moves_values() -> None:
    mine = load(
        """\
        version: 1
        seniority_tiers:
          vice_president: [vp]
        source_channels:
          inbound: [web]
          conversational: [chat]
          event: []
        """,
        base=shipped_definitions(),
    )
    assert mine.seniority_tiers["vp"] == "vice_president"
    assert mine.seniority_tiers["c_level"] == "executive"
    assert mine.source_channels["chat"] == "conversational"
    assert mine.source_channels["web"] == "inbound"
    assert "event" not in mine.source_channels


def test_scoring_overlay_replaces_adds_and_disables_rules_by_name() -> None:
    mine = load(
        """\
        version: 1
        scoring:
          base: 10
          rules:
            - name: enterprise
              points: 40
              when: {field: segment.size_band, equals: enterprise}
              reason: Enterprise, our sweet spot
            - {name: free_mail, disabled: true}
            - name: campaign
              points: 5
              when: {field: raw.custom.utm_campaign, in: [spring-launch]}
              reason: Spring launch campaign
        """,
        base=shipped_definitions(),
    )
    names = [rule.name for rule in mine.score_rules]
    shipped = [rule.name for rule in shipped_definitions().score_rules]
    assert names == [name for name in shipped if name != "free_mail"] + ["campaign"]
    assert mine.score_rules[0].points == 40 and mine.score_base == 10
    found = Segmenter(mine).segment(
        {"normalized": {"employees_min": 2000}, "raw": {"custom": {"utm_campaign": "Spring-Launch"}}}  # type: ignore[typeddict-item]
    )
    assert found["score"] == 10 + 40 + 5


def test_scoring_false_turns_the_score_off() -> None:
    mine = load("version: 1\nscoring: false\n", base=shipped_definitions())
    assert not mine.scoring and mine.score_rules == ()
    assert Segmenter(mine).segment({})["score"] is None  # type: ignore[typeddict-item]


def test_replace_ignores_the_shipped_file() -> None:
    mine = load(
        """\
        version: 1
        replace: true
        verticals:
          technology: [software]
        """,
        base=shipped_definitions(),
    )
    assert mine.size_bands == () and list(mine.verticals) == ["technology"]
    assert not mine.scoring and dict(mine.seniority_tiers) == {}
    found = Segmenter(mine).segment({"normalized": {"employees_min": 5000, "industry": "Banking"}})  # type: ignore[typeddict-item]
    assert (found["size_band"], found["vertical"], found["score"]) == (None, "other", None)


def test_a_keyword_moved_in_an_overlay_is_not_a_duplicate() -> None:
    mine = load("version: 1\nverticals:\n  hardware: [semiconductors]\n", base=shipped_definitions())
    # "semiconductor*" stays in technology; the whole word beats the stem
    segmenter = Segmenter(mine)
    assert segmenter.segment({"normalized": {"industry": "Semiconductors"}})["vertical"] == "hardware"  # type: ignore[typeddict-item]


def test_the_version_changes_with_the_definitions() -> None:
    shipped = Segmenter(shipped_definitions()).version
    assert Segmenter(load("version: 1\n", base=shipped_definitions())).version == shipped
    assert Segmenter(load("version: 1\nscoring: {base: 1}\n", base=shipped_definitions())).version != shipped
