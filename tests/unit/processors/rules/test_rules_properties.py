"""Properties: plan() never raises and always ends somewhere, whatever the lead holds."""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.routing.plan import QueueAction
from processors.rules import explain_lines, explain_tree, load_rules
from processors.rules.ruleset import RuleSet
from tests.support.paths import REPO

EXAMPLE = REPO / "processors" / "rules" / "data" / "example.yaml"


@cache
def _example() -> RuleSet:
    return load_rules(EXAMPLE.read_text(encoding="utf-8"), "example.yaml")


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "enterprise",
            "mid_market",
            "smb",
            "US",
            "DE",
            "US-CA",
            "+12125550100",
            "2026-01-01",
            "web",
            "intern",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = [
    "country_code",
    "state_code",
    "postal_code",
    "phone_e164",
    "source",
    "title",
    "email_is_disposable",
    "email_is_free_mail",
    "seniority",
    "company_domain",
    "email_domain",
    "industry",
    "size_band",
    "score",
    "account",
    "person",
    "review",
    "has_open_opportunity",
]
sections = st.one_of(st.none(), values, st.dictionaries(st.sampled_from(KEYS), values, max_size=8))
crm = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "account": st.one_of(
                st.none(), values, st.fixed_dictionaries({"id": values, "owner_id": values, "tier": values})
            ),
            "person": st.one_of(st.none(), values, st.fixed_dictionaries({"owner_id": values})),
            "review": values,
            "has_open_opportunity": values,
        },
    ),
)
leads = st.fixed_dictionaries(
    {},
    optional={
        "lead_id": values,
        "received_at_ms": values,
        "raw": sections,
        "normalized": sections,
        "enrichment": sections,
        "crm": crm,
        "segment": sections,
    },
)


@settings(max_examples=400, deadline=None)
@given(leads)
def test_plan_never_raises_and_always_has_a_destination(lead: dict[str, Any]) -> None:
    plan = _example().plan(lead)
    assert plan.rules_version == _example().version
    assert plan.actions, "every plan has at least one action"
    assert any(isinstance(action, QueueAction) for action in plan.actions), "every chain ends in a queue"
    assert plan.channel
    assert plan.trace or plan.route is None
    explain_lines(plan)
    explain_tree(plan)


@settings(max_examples=200, deadline=None)
@given(leads)
def test_plan_is_a_pure_function(lead: dict[str, Any]) -> None:
    first = _example().plan(lead)
    second = _example().plan(lead)
    assert first.route == second.route
    assert first.actions == second.actions
    assert [t.route for t in first.trace] == [t.route for t in second.trace]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_loading_arbitrary_text_raises_only_config_errors(text: str) -> None:
    from processors.config import ConfigError
    from processors.rules import check_rules

    with contextlib.suppress(ConfigError):
        load_rules(text, "fuzz.yaml")
    for finding in check_rules(text, "fuzz.yaml"):
        assert finding.message


TOP_KEYS = [
    "version",
    "defaults",
    "stickiness",
    "fairness",
    "territories",
    "segments",
    "pools",
    "queues",
    "routes",
]
condition_like = st.recursive(
    st.one_of(
        st.fixed_dictionaries(
            {"field": st.sampled_from(["segment.size_band", "segment.score", "crm.account.id"])}
        )
        .flatmap(
            lambda d: st.sampled_from(["equals", "in", "range", "regex", "exists", "contains"]).map(
                lambda op: (d, op)
            )
        )
        .flatmap(lambda pair: values.map(lambda v: {**pair[0], pair[1]: v})),
        st.fixed_dictionaries({"territory": values}),
        st.fixed_dictionaries({"segment": values}),
    ),
    lambda inner: st.one_of(
        st.fixed_dictionaries({"all": st.lists(inner, max_size=3)}),
        st.fixed_dictionaries({"any": st.lists(inner, max_size=3)}),
        st.fixed_dictionaries({"not": inner}),
    ),
    max_leaves=6,
)
documents = st.fixed_dictionaries(
    {"version": st.just(1), "defaults": st.just({"channel": "sales"})},
    optional={
        "segments": st.dictionaries(st.sampled_from(["a", "b", "c"]), condition_like, max_size=3),
        "territories": st.dictionaries(
            st.sampled_from(["t1", "t2"]),
            st.fixed_dictionaries(
                {},
                optional={
                    "countries": values,
                    "states": values,
                    "postal_codes": values,
                    "phone_area_codes": values,
                },
            ),
            max_size=2,
        ),
        "pools": st.dictionaries(
            st.sampled_from(["p", "q"]),
            st.dictionaries(st.sampled_from(["members", "strategy", "weight"]), values),
            max_size=2,
        ),
        "routes": st.lists(
            st.fixed_dictionaries(
                {"name": st.text(min_size=1, max_size=5)},
                optional={"when": condition_like, "assign": values, "fallback": values, "channel": values},
            ),
            max_size=3,
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_checking_odd_documents_never_crashes(document: dict[str, Any]) -> None:
    import yaml

    from processors.rules import check_rules

    text = yaml.safe_dump(document, allow_unicode=True)
    for finding in check_rules(text, "fuzz.yaml"):
        assert finding.code and finding.message
