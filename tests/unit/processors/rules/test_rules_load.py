"""Loading: broken files fail with file:line, the reason and a fix; the schema is published."""

# ruff: noqa: E501 - rule-file fixtures read best as one YAML line each

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from processors.config import ConfigError
from processors.rules import load_rules
from processors.rules.schema import SCHEMA_FILE, plain
from tests.support.paths import REPO

EXAMPLE = REPO / "processors" / "rules" / "data" / "example.yaml"
HEAD = "version: 1\ndefaults: {channel: sales, fallback: [{queue: unassigned}]}\n"
ROUTE = "routes:\n  - name: r\n    assign: {queue: q}\n"

BROKEN = [
    ("version: 1\nroutes: [\n", 3, "not valid YAML"),
    ("version: 2\ndefaults: {channel: sales}\n" + ROUTE, 1, "version: 1"),
    ("version: 1\ndefaults: {channel: sales}\n", 1, "`routes:` missing"),
    (HEAD + "rotues: []\n" + ROUTE, 3, "Did you mean 'routes'?"),
    (HEAD + "routes:\n  - name: a\n    channel: Sales Team\n    assign: {queue: q}\n", 5, "lower-case"),
    (
        HEAD
        + "routes:\n  - name: a\n    when: {field: segment.size_band, equal: x}\n    assign: {queue: q}\n",
        5,
        "'equals'",
    ),
    (
        HEAD + "routes:\n  - name: a\n    when: {equals: x}\n    assign: {queue: q}\n",
        5,
        "add `field: <path>`",
    ),
    (
        HEAD + "routes:\n  - name: a\n    when:\n      all:\n        - {exists: crm.account.id}\n"
        "        - {field: enrichment.email_is_disposible, equals: true}\n    assign: {queue: q}\n",
        8,
        "Did you mean 'enrichment.email_is_disposable'?",
    ),
    (
        HEAD
        + "routes:\n  - name: a\n    when: {field: normalized.title, regex: '(x'}\n    assign: {queue: q}\n",
        5,
        "regular expression",
    ),
    (
        HEAD + "pools:\n  emea: {members: [a]}\nroutes:\n  - name: a\n    assign: {pool: emae}\n",
        7,
        "Did you mean 'emea'?",
    ),
    (
        HEAD + "territories:\n  dach: {countries: [DE]}\nroutes:\n  - name: a\n    when: {territory: dahc}\n"
        "    assign: {queue: q}\n",
        7,
        "territory 'dahc' is not defined",
    ),
    (HEAD + "routes:\n  - name: a\n    when: {segment: big}\n    assign: {queue: q}\n", 5, "segment 'big'"),
    (
        HEAD + "routes:\n  - name: a\n    when: {exists: crm.account.id}\n    assign: {queue: q}\n"
        "  - name: a\n    assign: {queue: q}\n",
        7,
        "already used (line 4)",
    ),
    (HEAD + "segments:\n  a: {segment: b}\n  b: {any: [{segment: a}]}\n" + ROUTE, 4, "a → b → a"),
    (HEAD + "territories:\n  x: {countries: [XX]}\n" + ROUTE, 4, "ISO 3166-1"),
    (HEAD + "territories:\n  x: {phone_area_codes: [+1212]}\n" + ROUTE, 4, '"+1212"'),
    (HEAD + "territories:\n  x: {countries: [US, CA], states: [CA]}\n" + ROUTE, 4, "US-CA"),
    (HEAD + "territories:\n  x: {countries: [US], states: [ZZ]}\n" + ROUTE, 4, "ISO 3166-2"),
    (
        HEAD + "territories:\n  x: {countries: [US], postal_codes: [{from: '9', to: '80'}]}\n" + ROUTE,
        4,
        "same length",
    ),
    (
        HEAD
        + "pools:\n  p: {strategy: roundrobin, members: [a]}\nroutes:\n  - name: r\n    assign: {pool: p}\n",
        4,
        "round_robin",
    ),
    (
        HEAD
        + "pools:\n  p: {strategy: weighted, members: [a, b]}\nroutes:\n  - name: r\n    assign: {pool: p}\n",
        4,
        "weights",
    ),
    (
        HEAD + "pools:\n  p: {members: [a, a]}\nroutes:\n  - name: r\n    assign: {pool: p}\n",
        4,
        "listed twice",
    ),
    (HEAD + "routes:\n  - name: r\n    assign: {queue: q, owner: x}\n", 5, "fallback"),
    (HEAD + "routes:\n  - name: r\n    when: {exists: crm.account.id}\n", 4, "`assign:` missing"),
    (
        HEAD
        + "routes:\n  - name: r\n    when: {field: segment.score, range: {min: 10, max: 5}}\n    assign: {queue: q}\n",
        5,
        "Swap",
    ),
    (
        HEAD
        + "routes:\n  - name: r\n    when: {field: segment.score, range: {min: 1, max: '2026-01-01'}}\n    assign: {queue: q}\n",
        5,
        "mix",
    ),
    (
        HEAD
        + "routes:\n  - name: r\n    when: {field: segment.score, range: {min: soon}}\n    assign: {queue: q}\n",
        5,
        "ISO date",
    ),
    (
        HEAD
        + "routes:\n  - name: r\n    when: {field: segment.score, equals: null}\n    assign: {queue: q}\n",
        5,
        "exists: false",
    ),
    (
        HEAD + "routes:\n  - name: r\n    when: {source: webform}\n    assign: {queue: q}\n",
        5,
        "Did you mean 'web'?",
    ),
    (HEAD + "routes:\n  - name: a/b\n    assign: {queue: q}\n", 4, "'/'"),
    (HEAD + "stickiness: {new_logo_window: 30 days}\n" + ROUTE, 3, "30d"),
    (
        HEAD
        + "routes:\n  - name: r\n    when: {field: normalized.title, regex: '"
        + "a" * 201
        + "'}\n    assign: {queue: q}\n",
        5,
        "200",
    ),
    (
        HEAD
        + "pools:\n  p: {members: [a], skill_from: enrichment.langauge}\nroutes:\n  - name: r\n    assign: {pool: p}\n",
        4,
        "not a field",
    ),
    (
        HEAD
        + "routes:\n  - group: g\n    routes:\n      - name: inner\n        when: {field: crm.acount.id, exists: true}\n"
        "        assign: {queue: q}\n",
        7,
        "crm.account.id",
    ),
]


@pytest.mark.parametrize(("text", "line", "needle"), BROKEN)
def test_broken_files_fail_at_the_right_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(text, "rules.yaml")
    error = caught.value
    assert error.source == "rules.yaml"
    assert error.line == line, str(error)
    assert needle in error.reason, str(error)
    assert str(error).startswith(f"rules.yaml:{line}: ")


def test_the_first_error_in_file_order_is_raised() -> None:
    text = (
        HEAD
        + "routes:\n  - name: a\n    when: {segment: nope}\n    assign: {queue: q}\n"
        + "  - name: b\n    channel: BAD\n    assign: {queue: q}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(text, "rules.yaml")
    assert caught.value.line == 5


def test_empty_file_is_an_error() -> None:
    with pytest.raises(ConfigError, match="empty"):
        load_rules("", "rules.yaml")


def test_warnings_do_not_stop_loading() -> None:
    rules = load_rules(HEAD + "pools:\n  spare: {members: []}\n" + ROUTE, "rules.yaml")
    assert {finding.code for finding in rules.warnings} == {"empty_pool", "unused_pool"}


def test_the_example_loads_cleanly() -> None:
    rules = load_rules(EXAMPLE.read_text(encoding="utf-8"), "example.yaml")
    assert rules.warnings == ()
    assert rules.name == "acme-worldwide-routing"
    assert len(rules.territories) >= 8
    assert {"enterprise", "mid-market", "smb"} <= set(rules.segments)


# --- the published JSON Schema ------------------------------------------------------------------------


def _schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(_schema())


def test_schema_accepts_the_example() -> None:
    data = plain(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    jsonschema.Draft202012Validator(_schema()).validate(data)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("routes"),
        lambda d: d.update(version=2),
        lambda d: d["defaults"].update(channel="Not A Channel"),
        lambda d: d["routes"][0].update(assign={"queue": "a", "owner": "b"}),
        lambda d: d["routes"][0].update(when={"field": "segment.size_band"}),
        lambda d: d["pools"]["apac"].update(strategy="random"),
        lambda d: d["territories"]["amer"].update(countries=[True]),
        lambda d: d.update(surprise=1),
        lambda d: d["routes"][0].update(when={"all": []}),
    ],
)
def test_schema_rejects_broken_files(mutate) -> None:  # type: ignore[no-untyped-def]
    data = plain(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    mutate(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(_schema()).validate(data)
