"""``arrived``: a condition on when the lead arrived, on the wall clock of a named time zone."""

# ruff: noqa: E501 - rule-file fixtures read best as one YAML line each

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from processors.config import ConfigError
from processors.intake import raw_lead_from_json
from processors.pipeline import route_raw_lead
from processors.ports import FrozenClock
from processors.rules import check_rules, explain_lines, load_rules
from tests.support.builders import router

HEAD = "version: 1\ndefaults: {channel: sales, fallback: [{queue: unassigned}]}\n"


def _text(arrived: str, extra: str = "") -> str:
    return (
        HEAD
        + extra
        + f"routes:\n  - name: timed\n    when:\n      arrived: {arrived}\n    assign: {{queue: timed}}\n"
        "  - name: rest\n    assign: {queue: rest}\n"
    )


def _ms(*parts: int) -> int:
    """Epoch milliseconds of a UTC date-time."""
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


def _lead(received_at_ms: Any) -> dict[str, Any]:
    return {"lead_id": "l", "received_at_ms": received_at_ms, "raw": {}, "normalized": {}, "crm": None}


def _route(arrived: str, at_ms: Any, when: str | None = None) -> str | None:
    text = _text(arrived) if when is None else _text_when(when)
    return load_rules(text, "t.yaml").plan(_lead(at_ms)).route


def _text_when(when: str) -> str:
    return (
        HEAD + f"routes:\n  - name: timed\n    when: {when}\n    assign: {{queue: timed}}\n"
        "  - name: rest\n    assign: {queue: rest}\n"
    )


WEEKEND_BERLIN = "{days: sat-sun, time_zone: Europe/Berlin}"


@pytest.mark.parametrize(
    ("at_ms", "expected"),
    [
        (_ms(2026, 12, 5, 12, 0), "timed"),  # Saturday noon
        (_ms(2026, 12, 6, 22, 59), "timed"),  # Sunday 23:59 in Berlin
        (_ms(2026, 12, 6, 23, 0), "rest"),  # Monday 00:00 in Berlin, still Sunday in UTC
        (_ms(2026, 12, 4, 23, 30), "timed"),  # Friday in UTC, Saturday 00:30 in Berlin
        (_ms(2026, 12, 4, 22, 59), "rest"),  # Friday 23:59 in Berlin
    ],
)
def test_a_weekend_route_reads_the_day_on_the_rule_time_zone_wall_clock(at_ms: int, expected: str) -> None:
    assert _route(WEEKEND_BERLIN, at_ms) == expected


@pytest.mark.parametrize(
    ("at_ms", "expected"),
    [
        (_ms(2026, 12, 2, 7, 59), "timed"),  # Wed 08:59 CET: before hours
        (_ms(2026, 12, 2, 8, 0), "rest"),  # Wed 09:00 CET: the start is inclusive
        (_ms(2026, 12, 2, 15, 59), "rest"),  # Wed 16:59 CET
        (_ms(2026, 12, 2, 16, 0), "timed"),  # Wed 17:00 CET: the end is exclusive
        (_ms(2026, 12, 5, 10, 0), "timed"),  # Saturday: outside mon-fri
    ],
)
def test_outside_office_hours_is_not_of_an_arrival_inside_them(at_ms: int, expected: str) -> None:
    when = "{not: {arrived: {days: mon-fri, hours: '09:00-17:00', time_zone: Europe/Berlin}}}"
    assert _route("", at_ms, when=when) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [(4, "timed"), (5, "timed"), (6, "timed"), (7, "timed"), (8, "rest"), (3, "rest")],
)
def test_a_day_range_may_wrap_the_week(day: int, expected: str) -> None:
    # 2026-12-04 is a Friday; fri-mon is Friday, Saturday, Sunday, Monday.
    assert _route("{days: fri-mon, time_zone: UTC}", _ms(2026, 12, day, 12, 0)) == expected


def test_several_hour_ranges_match_any_of_them() -> None:
    arrived = "{hours: ['00:00-09:00', '17:00-24:00'], time_zone: America/New_York}"
    assert _route(arrived, _ms(2026, 12, 2, 13, 0)) == "timed"  # 08:00 EST
    assert _route(arrived, _ms(2026, 12, 2, 14, 0)) == "rest"  # 09:00 EST
    assert _route(arrived, _ms(2026, 12, 3, 4, 59)) == "timed"  # 23:59 EST
    assert _route(arrived, _ms(2026, 12, 2, 22, 0)) == "timed"  # 17:00 EST


def test_daylight_saving_keeps_to_the_local_wall_clock() -> None:
    nine_to_five = "{hours: '09:00-17:00', time_zone: Europe/Berlin}"
    # 09:00 local is 08:00 UTC in winter (CET) and 07:00 UTC in summer (CEST).
    assert _route(nine_to_five, _ms(2026, 1, 14, 8, 0)) == "timed"
    assert _route(nine_to_five, _ms(2026, 1, 14, 7, 30)) == "rest"
    assert _route(nine_to_five, _ms(2026, 7, 15, 7, 0)) == "timed"
    assert _route(nine_to_five, _ms(2026, 7, 15, 6, 30)) == "rest"
    two_am = "{hours: '02:00-03:00', time_zone: Europe/Berlin}"
    # Spring (2026-03-29): 02:00-03:00 does not exist in Berlin, so no lead arrives in it.
    assert _route(two_am, _ms(2026, 3, 29, 0, 59)) == "rest"  # 01:59 CET
    assert _route(two_am, _ms(2026, 3, 29, 1, 0)) == "rest"  # 03:00 CEST
    # Autumn (2026-10-25): 02:00-03:00 happens twice, and both times match.
    assert _route(two_am, _ms(2026, 10, 25, 0, 30)) == "timed"  # 02:30 CEST
    assert _route(two_am, _ms(2026, 10, 25, 1, 30)) == "timed"  # 02:30 CET
    assert _route(two_am, _ms(2026, 10, 25, 2, 0)) == "rest"  # 03:00 CET


@pytest.mark.parametrize("received", [None, "1767225600000", True])
def test_a_lead_without_an_arrival_time_never_matches_and_not_flips_it(received: Any) -> None:
    assert _route("{days: mon-sun, hours: '00:00-12:00', time_zone: UTC}", received) == "rest"
    when = "{not: {arrived: {days: mon-sun, hours: '00:00-12:00', time_zone: UTC}}}"
    assert _route("", received, when=when) == "timed"


def test_planning_is_the_same_whenever_it_runs() -> None:
    rules = load_rules(_text(WEEKEND_BERLIN), "t.yaml")
    lead = _lead(_ms(2026, 12, 5, 12, 0))
    assert rules.plan(lead) == rules.plan(lead)


def test_the_explanation_shows_the_local_arrival_seen() -> None:
    rules = load_rules(_text("{days: sat-sun, hours: '08:00-20:00', time_zone: Europe/Berlin}"), "t.yaml")
    plan = rules.plan(_lead(_ms(2026, 12, 5, 12, 0)))
    assert explain_lines(plan)[0] == (
        "route 'timed': yes (arrived sat-sun 08:00-20:00 Europe/Berlin: saw Sat 2026-12-05 13:00 CET → yes)"
    )
    [condition] = plan.trace[0].conditions
    assert (condition.seen, condition.line) == ("Sat 2026-12-05 13:00 CET", 5)
    summer = rules.plan(_lead(_ms(2026, 7, 4, 12, 0)))
    assert summer.trace[0].conditions[0].seen == "Sat 2026-07-04 14:00 CEST"


def test_an_arrival_can_name_a_segment() -> None:
    extra = "segments:\n  after-hours:\n    not: {arrived: {days: mon-fri, hours: '09:00-17:00', time_zone: UTC}}\n"
    text = extra + "routes:\n  - name: timed\n    when: {segment: after-hours}\n    assign: {queue: timed}\n"
    rules = load_rules(HEAD + text, "t.yaml")
    assert rules.plan(_lead(_ms(2026, 12, 5, 12, 0))).segments == ("after-hours",)
    assert rules.plan(_lead(_ms(2026, 12, 2, 12, 0))).segments == ()


@pytest.mark.parametrize(
    ("arrived", "line", "words"),
    [
        (
            "{days: sat-sun, time_zone: Europe/Berln}",
            6,
            "'Europe/Berln' is not an IANA time zone. Did you mean 'Europe/Berlin'?",
        ),
        ("{days: sat-sun, time_zone: Mars/Olympus}", 6, "Use an IANA name such as Europe/Berlin"),
        ("{days: sat-sunday, time_zone: UTC}", 6, "unknown weekday 'sunday'"),
        ("{hours: '22:00-06:00', time_zone: UTC}", 6, "hours: ['22:00-24:00', '00:00-06:00']"),
        ("{hours: '09:00-09:00', time_zone: UTC}", 6, "it ends where it starts"),
        ("{hours: ['09:00-12:00', '11:00-13:00'], time_zone: UTC}", 6, "overlap; merge them"),
        ("{hours: 9-17, time_zone: UTC}", 6, "'9-17' is not a range of hours"),
        ("{hours: 0900, time_zone: UTC}", 6, "found the number 900"),
        ("{days: mon-fri}", 6, "needs a `time_zone:`"),
        ("{time_zone: UTC}", 6, "needs `days:`"),
        ("\n        days: sat-sun\n        time_zone: Europe/Paaris", 8, "Did you mean 'Europe/Paris'?"),
    ],
)
def test_bad_arrivals_are_refused_with_file_line_and_a_fix(arrived: str, line: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules(_text(arrived), "rules.yaml")
    assert str(caught.value).startswith(f"rules.yaml:{line}: ")
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("arrived", "expected"),
    [
        ("{days: sat-sun, time_zone: Nowhere/City}", ("error", "unknown_time_zone")),
        ("{days: weekend, time_zone: UTC}", ("error", "invalid_days")),
        ("{days: mon-fri, timezone: UTC}", ("error", "unknown_key")),
        ("{hours: '17:00-09:00', time_zone: UTC}", ("error", "invalid_hours")),
        ("{hours: '00:00-24:00', time_zone: UTC}", ("warning", "arrival_always")),
        ("{days: mon-sun, hours: '00:00-24:00', time_zone: UTC}", ("warning", "arrival_always")),
    ],
)
def test_rules_check_reports_arrival_problems(arrived: str, expected: tuple[str, str]) -> None:
    found = [(f.line, f.severity, f.code) for f in check_rules(_text(arrived), "rules.yaml")]
    assert (6, *expected) in found


def test_the_batch_router_routes_a_weekend_lead() -> None:
    rules = load_rules(
        HEAD
        + "routes:\n  - name: weekend-desk\n    when: {arrived: {days: sat-sun, time_zone: Europe/Berlin}}\n"
        "    channel: weekend\n    assign: {queue: weekend-desk}\n  - name: rest\n    assign: {queue: rest}\n",
        "t.yaml",
    )
    saturday = _ms(2026, 12, 5, 9, 0)
    clock = FrozenClock(saturday + 60_000)
    raw = raw_lead_from_json({"lead_id": "w1", "email": "jo@corp.example", "country": "DE"})
    event = route_raw_lead(raw, received_at_ms=saturday, router=router(clock, rule_set=rules))
    assert (event["route"], event["channel"], event["destination"]) == (
        "weekend-desk",
        "weekend",
        "weekend-desk",
    )
    assert (
        'route weekend-desk: matched (arrived sat-sun Europe/Berlin: saw "Sat 2026-12-05 10:00 CET" → yes)'
        in event["decision_path"]
    )
    monday = route_raw_lead(
        raw_lead_from_json({"lead_id": "w2", "email": "jo@corp.example"}),
        received_at_ms=_ms(2026, 12, 7, 9, 0),
        router=router(clock, rule_set=rules),
    )
    assert monday["route"] == "rest"
