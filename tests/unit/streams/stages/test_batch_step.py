"""Batch steps without a broker: one bad record never takes its batch with it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from processors.crm.memory import InMemoryCrmMirror
from processors.errors import DependencyUnavailable
from processors.ports import FrozenClock
from streams.dlq import DEAD_LETTER
from streams.serde import AvroCodec
from streams.settings import Settings
from streams.stages import match, normalize
from streams.stages.base import DEAD_LETTER as DLQ_ROUTE
from streams.stages.base import OUTPUT, BatchStep, Message, lead_batch_step

CLOCK = FrozenClock(1_800_000_000_000)
SETTINGS = Settings.from_env({})
LEAD = AvroCodec("Lead")


def _message(value: bytes | None, offset: int, headers: list | None = None) -> Message:
    return Message(value, b"k", headers or [], "leads.enriched", 0, offset, 1_799_999_999_000)


def _lead_messages(count: int) -> list[Message]:
    step = normalize.build_step(SETTINGS, CLOCK)
    messages = []
    for index in range(count):
        raw = json.dumps({"lead_id": f"L{index}", "email": f"p{index}@acme{index}.io"}).encode()
        lead_bytes = step(_message(raw, index)).value
        messages.append(_message(lead_bytes, index, [("x-trace", f"t{index}".encode())]))
    return messages


def _step(process: Any) -> BatchStep:
    return lead_batch_step("match", process, CLOCK)


def test_every_lead_of_a_batch_comes_out_in_order_with_its_headers() -> None:
    seen: list[int] = []

    def process(leads: list[dict]) -> list[dict]:
        seen.append(len(leads))
        return leads

    routed = _step(process)(_lead_messages(5))
    assert seen == [5]  # one call for the whole batch
    assert [r.key for r in routed] == [f"L{i}".encode() for i in range(5)]
    assert {r.destination for r in routed} == {OUTPUT}
    assert routed[3].headers == [("x-trace", b"t3")]


def test_an_undecodable_record_is_dead_lettered_alone() -> None:
    messages = _lead_messages(3)
    messages.insert(1, _message(b"\x00garbage", 99))
    calls: list[list[str]] = []

    def process(leads: list[dict]) -> list[dict]:
        calls.append([lead["lead_id"] for lead in leads])
        return leads

    routed = _step(process)(messages)
    assert [r.destination for r in routed] == [OUTPUT, DLQ_ROUTE, OUTPUT, OUTPUT]
    assert calls == [["L0", "L1", "L2"]]
    letter = DEAD_LETTER.decode(routed[1].value)
    assert (letter["error_code"], letter["offset"]) == ("undecodable", 99)


def test_a_lead_that_breaks_the_batch_is_isolated_and_only_it_is_dead_lettered() -> None:
    def process(leads: list[dict]) -> list[dict]:
        if any(lead["lead_id"] == "L2" for lead in leads):
            raise KeyError("boom")
        return leads

    routed = _step(process)(_lead_messages(4))
    assert [r.destination for r in routed] == [OUTPUT, OUTPUT, DLQ_ROUTE, OUTPUT]
    letter = DEAD_LETTER.decode(routed[2].value)
    assert letter["error_code"] == "processing_error"
    assert letter["lead_id"] == "L2"
    assert "KeyError" in letter["message"]


def test_a_dependency_outage_stops_the_batch_instead_of_dead_lettering_it() -> None:
    def process(leads: list[dict]) -> list[dict]:
        raise DependencyUnavailable("Redis is unreachable")

    with pytest.raises(DependencyUnavailable):
        _step(process)(_lead_messages(3))


def test_an_empty_batch_is_no_work() -> None:
    assert _step(lambda leads: leads)([]) == []


def test_the_match_stage_decides_a_batch_with_one_mirror_call() -> None:
    class CountingMirror(InMemoryCrmMirror):
        calls = 0

        def candidates_many(self, queries: Any) -> Any:
            CountingMirror.calls += 1
            return super().candidates_many(queries)

    step = match.build_step(SETTINGS, CLOCK, mirror=CountingMirror())
    routed = step(_lead_messages(6))
    assert CountingMirror.calls == 1
    leads = [LEAD.decode(r.value) for r in routed]
    assert all(lead["crm"] is not None for lead in leads)
    assert all(lead["trace"][-1] == {"stage": "match", "at_ms": CLOCK.now_ms()} for lead in leads)
