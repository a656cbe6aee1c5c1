"""Thousands of hostile messages through every stage in-process: each ends where it should.

The stage steps run exactly as in the stream (bytes in, bytes out, Avro between
stages), with the in-memory CRM mirror, ledger and owners the batch router
uses. A hostile message is the sender's problem: it must be dead-lettered with
the right code and a sentence, or routed; never a ``processing_error``, never
an exception, and a lead normalize accepts must reach ``leads.assigned``.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from processors.crm.memory import InMemoryCrmMirror
from processors.errors import DLQ_CODES
from processors.owners.memory import StaticOwners
from processors.ports import FrozenClock
from processors.routing.memory_ledger import InMemoryLedger
from streams.crm.synthetic import generate_crm
from streams.dlq import DEAD_LETTER
from streams.routing.router import EXAMPLE_RULES
from streams.routing.rules_source import RulesSource, default_rules
from streams.serde import AvroCodec
from streams.settings import Settings
from streams.stages import assign, enrich, match, normalize, segment
from streams.stages.base import DEAD_LETTER as DLQ_ROUTE
from streams.stages.base import Message, Routed
from tests.support.builders import demo_owners, shipped_enricher
from tests.support.hostile import EXPECTED, KINDS, ROUTED, TRUNCATED_KINDS, hostile_messages

CLOCK = FrozenClock(1_800_000_000_000)
SETTINGS = Settings.from_env({})
COUNT = 3_000
SEED = 20_260_101
LEAD = AvroCodec("Lead")
ASSIGNMENT = AvroCodec("Assignment")

#: Routes that read hostile content (custom fields, raw and normalized company) for every lead,
#: and one that sends leads whose custom fields were cut to a person who looks at them.
HOSTILE_ROUTES = """routes:
  - name: truncated-custom
    when: {field: normalized.flags, contains: custom_truncated}
    assign: {queue: crm-review}
  - name: never-matches
    when:
      any:
        - {field: raw.custom.note, equals: never-sent}
        - {field: raw.company, regex: '^zz-never-zz$'}
        - {field: normalized.company_name, starts_with: zz-never}
        - {field: raw.custom.blob, contains: zz-never}
    assign: {queue: nurture}
"""


@dataclass
class Outcome:
    kind: str
    stage: str = "normalize"
    code: str | None = None  # None while routed
    message: str = ""
    lead: dict[str, Any] | None = None  # the normalized lead
    event: dict[str, Any] | None = None  # the assignment
    event_size: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _message(value: bytes | None, headers: list[tuple[str, bytes]], offset: int) -> Message:
    return Message(value, b"k", list(headers), "leads.raw", 0, offset, CLOCK.now_ms() - 1_000)


def _dead_letter(outcome: Outcome, routed: Routed, stage: str) -> None:
    letter = DEAD_LETTER.decode(routed.value)
    outcome.stage, outcome.code, outcome.message = stage, letter["error_code"], letter["message"]


def _mirror() -> InMemoryCrmMirror:
    mirror = InMemoryCrmMirror()
    for kind, record in generate_crm(200, seed=3):
        mirror.upsert(kind, record)
    return mirror


def _assign_step(tmp: Path) -> Any:
    rules_file = tmp / "hostile-rules.yaml"
    rules_file.write_text(
        EXAMPLE_RULES.read_text(encoding="utf-8").replace("routes:\n", HOSTILE_ROUTES, 1), encoding="utf-8"
    )
    rules = RulesSource(str(rules_file), fallback=default_rules("inbound-triage", "sales"))
    return assign.build_step(
        SETTINGS, CLOCK, ledger=InMemoryLedger(), owners=StaticOwners(demo_owners()), rules=rules
    )


def _batches(items: list[Any], size: int = 500) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    """Every message through normalize, then every lead it accepted through the other four stages."""
    messages = hostile_messages(COUNT, SEED)
    results = [Outcome(kind) for _, _, kind in messages]
    normalize_step = normalize.build_step(SETTINGS, CLOCK)
    carried: list[tuple[int, bytes]] = []
    for index, (value, headers, _) in enumerate(messages):
        routed = normalize_step(_message(value, headers, index))
        if routed.destination == DLQ_ROUTE:
            _dead_letter(results[index], routed, "normalize")
        else:
            results[index].lead = LEAD.decode(routed.value)
            carried.append((index, routed.value))

    def single(step: Any, stage: str, items: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        kept = []
        for index, value in items:
            routed = step(_message(value, [], index))
            if routed.destination == DLQ_ROUTE:
                _dead_letter(results[index], routed, stage)
            else:
                kept.append((index, routed.value))
        return kept

    def batched(step: Any, stage: str, items: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        kept = []
        for batch in _batches(items):
            routed_all = step([_message(value, [], index) for index, value in batch])
            assert len(routed_all) == len(batch)
            for (index, _), routed in zip(batch, routed_all, strict=True):
                if routed.destination == DLQ_ROUTE:
                    _dead_letter(results[index], routed, stage)
                else:
                    kept.append((index, routed.value))
        return kept

    carried = single(enrich.build_step(SETTINGS, CLOCK, enricher=shipped_enricher()), "enrich", carried)
    carried = batched(match.build_step(SETTINGS, CLOCK, mirror=_mirror()), "match", carried)
    carried = single(segment.build_step(SETTINGS, CLOCK), "segment", carried)
    carried = batched(_assign_step(tmp_path_factory.mktemp("hostile")), "assign", carried)
    for index, value in carried:
        results[index].event = ASSIGNMENT.decode(value)
        results[index].event_size = len(value)
    return results


def test_every_kind_is_generated_and_some_leads_are_routed(outcomes: list[Outcome]) -> None:
    assert {outcome.kind for outcome in outcomes} == set(KINDS)
    routed = sum(outcome.event is not None for outcome in outcomes)
    assert COUNT // 3 < routed < COUNT


def test_no_record_ends_as_a_processing_error(outcomes: list[Outcome]) -> None:
    failures = Counter((o.kind, o.stage, o.message[:120]) for o in outcomes if o.code == "processing_error")
    assert not failures, failures.most_common(5)


def test_every_dead_letter_has_a_known_code_and_a_sentence(outcomes: list[Outcome]) -> None:
    letters = [o for o in outcomes if o.code is not None]
    assert letters
    assert all(o.code in DLQ_CODES for o in letters)
    assert all(o.message.strip().endswith(".") for o in letters), {o.message for o in letters}


def test_each_kind_ends_where_it_should(outcomes: list[Outcome]) -> None:
    wrong: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in outcomes:
        ended = ROUTED if outcome.event is not None else f"{outcome.code} ({outcome.message[:80]})"
        if (outcome.code or ROUTED) not in EXPECTED[outcome.kind]:
            wrong[outcome.kind][ended] += 1
    assert not wrong, dict(wrong)


def test_a_lead_normalize_accepts_is_assigned_by_every_later_stage(outcomes: list[Outcome]) -> None:
    lost = Counter((o.kind, o.stage, o.code) for o in outcomes if o.lead is not None and o.event is None)
    assert not lost, lost


def test_every_assignment_is_valid_avro_and_utf8(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.event is not None:
            assert ASSIGNMENT.decode(ASSIGNMENT.encode(outcome.event)) == outcome.event
            json.dumps(outcome.event, ensure_ascii=False).encode("utf-8")


def test_oversized_custom_fields_are_dropped_and_the_lead_flagged(outcomes: list[Outcome]) -> None:
    truncated = [o for o in outcomes if o.kind in TRUNCATED_KINDS]
    assert truncated
    for outcome in truncated:
        assert outcome.event is not None
        lead = outcome.event["lead"]
        assert "custom_truncated" in lead["normalized"]["flags"]
        assert outcome.event["route"] == "truncated-custom"
        custom = lead["raw"]["custom"]
        assert sum(len(k.encode()) + len(v.encode()) for k, v in custom.items()) <= SETTINGS.max_custom_bytes
        assert outcome.event_size < 4 * SETTINGS.max_custom_bytes
    big = [o.event["lead"]["raw"]["custom"] for o in truncated if o.kind == "big_custom" and o.event]
    assert big and all(custom == {"small": "kept", "after": "kept too"} for custom in big)
    ordinary = [o for o in outcomes if o.kind == "valid" and o.event is not None]
    assert ordinary
    assert not any("custom_truncated" in o.event["lead"]["normalized"]["flags"] for o in ordinary)


def test_control_characters_never_reach_the_normalized_fields(outcomes: list[Outcome]) -> None:
    checked = [o for o in outcomes if o.kind in ("control_chars", "nul_everywhere") and o.event is not None]
    assert checked
    for outcome in checked:
        normalized = outcome.event["lead"]["normalized"]
        for name in ("first_name", "last_name", "full_name", "company_name", "title", "email"):
            text = normalized[name] or ""
            assert not any(unicodedata.category(ch) == "Cc" for ch in text), (name, text)
    raw = next(o.event["lead"]["raw"] for o in checked if o.kind == "control_chars")
    assert "\x00" in raw["company"] and any("\x00" in key for key in raw["custom"])  # kept as sent


def test_formulas_emoji_and_right_to_left_text_route_and_stay_as_sent(outcomes: list[Outcome]) -> None:
    formulas = [o for o in outcomes if o.kind == "formula_company"]
    assert formulas and all(o.event is not None for o in formulas)
    companies = {o.event["lead"]["raw"]["company"] for o in formulas if o.event}
    assert '=HYPERLINK("http://x","click")' in companies
    scripts = [o for o in outcomes if o.kind == "emoji_rtl"]
    assert scripts
    assert all(o.event is not None and o.event["lead"]["normalized"]["full_name"] for o in scripts)


def test_text_fields_of_exactly_the_limit_pass_and_one_more_does_not(outcomes: list[Outcome]) -> None:
    at_limit = [o for o in outcomes if o.kind == "name_at_limit"]
    over = [o for o in outcomes if o.kind in ("name_over_limit", "avro_over_limit", "near_megabyte_company")]
    assert at_limit and all(o.event is not None for o in at_limit)
    assert over and all(o.code == "schema_violation" and "limit is 10000" in o.message for o in over)


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("deep_json", "levels deep"),
        ("deep_top_level", "levels deep"),
        ("deep_custom", "levels deep"),
        ("surrogate_value", "lone UTF-16 surrogate"),
        ("surrogate_key", "lone UTF-16 surrogate"),
        ("surrogate_custom", "lone UTF-16 surrogate"),
        ("cesu_bytes", "not valid UTF-8"),
        ("invalid_utf8", "UTF-8"),
        ("big_int", "digits long"),
        ("wrong_schema_avro", "RawLead"),
    ],
)
def test_the_sentence_says_what_is_wrong(outcomes: list[Outcome], kind: str, fragment: str) -> None:
    messages = {o.message for o in outcomes if o.kind == kind}
    assert messages and all(fragment in message for message in messages), messages
