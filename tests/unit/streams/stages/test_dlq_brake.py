"""The dead-letter brake: a stage dead-lettering for a bug stops (exit 7) before committing."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from processors.errors import InvalidLead
from processors.ports import FrozenClock
from streams.app import BatchingStage
from streams.exits import EXIT_DLQ_BRAKE, exit_for
from streams.serde import AvroCodec
from streams.settings import Settings
from streams.stages.base import BatchStep, Message, StageStep
from streams.stages.brake import DeadLetterBrake, DeadLetterBrakeTripped


def test_consecutive_bug_dead_letters_trip_the_brake() -> None:
    brake = DeadLetterBrake("match", ratio=1.0, window=200, consecutive=3)
    brake.record("processing_error")
    brake.record("processing_error")
    with pytest.raises(DeadLetterBrakeTripped, match="3 records in a row with code processing_error"):
        brake.record("processing_error")


def test_a_record_that_goes_on_resets_the_streak() -> None:
    brake = DeadLetterBrake("match", ratio=1.0, window=200, consecutive=3)
    for _ in range(10):
        brake.record("processing_error")
        brake.record("processing_error")
        brake.record(None)


def test_data_codes_never_trip_it() -> None:
    brake = DeadLetterBrake("normalize", ratio=0.5, window=10, consecutive=3)
    for _ in range(100):
        brake.record("schema_violation")
        brake.record("undecodable")


def test_more_than_the_share_of_a_full_window_trips_it_naming_code_and_share() -> None:
    brake = DeadLetterBrake("assign", ratio=0.5, window=10, consecutive=0)
    for _ in range(5):
        brake.record(None)
    for _ in range(5):  # 5 of 10 is not more than half
        brake.record("processing_error")
    with pytest.raises(DeadLetterBrakeTripped, match=r"6 of its last 10 records \(60%.*processing_error"):
        brake.record("processing_error")


def test_a_window_not_yet_full_does_not_trip_on_share() -> None:
    brake = DeadLetterBrake("assign", ratio=0.5, window=10, consecutive=0)
    for _ in range(9):
        brake.record("processing_error")


def _message(offset: int) -> Message:
    return Message(b"x", b"k", [], "leads.enriched", 0, offset, 0)


def _broken(message: Message, progress: object) -> tuple[str, object]:
    raise KeyError("a bug")


def test_a_stage_step_failing_on_every_record_stops_with_exit_7() -> None:
    step = StageStep("segment", _broken, AvroCodec("Lead"), FrozenClock(0), brake=DeadLetterBrake("segment"))
    with pytest.raises(DeadLetterBrakeTripped) as tripped:
        for offset in range(100):
            step(_message(offset))
    assert offset == 49  # the default: 50 in a row
    code, sentence = exit_for(tripped.value, Settings(), "segment")  # type: ignore[misc]
    assert code == EXIT_DLQ_BRAKE and "processing_error" in sentence
    assert "segment stage's dead letters on leads.dlq say what failed" in sentence, "no where to look"
    assert sentence.endswith("fix that, then start the stage again"), "no what to do"


def test_a_batch_that_trips_the_brake_is_not_handed_on() -> None:
    def broken_many(leads: list[object]) -> list[object]:
        raise KeyError("a bug")

    step = BatchStep(
        "match",
        lambda message: message.value,
        lambda lead: "lead",
        broken_many,
        AvroCodec("Lead"),
        FrozenClock(0),
        brake=DeadLetterBrake("match", consecutive=50),
    )
    assert len(step([_message(i) for i in range(10)])) == 10  # dead-lettered, under the limit
    with pytest.raises(DeadLetterBrakeTripped):
        step([_message(i) for i in range(10, 110)])


class _Counter:
    def inc(self, amount: int = 1) -> None:
        pass


def test_a_batched_stage_sends_nothing_of_a_checkpoint_its_brake_stopped() -> None:
    """Batches decided earlier in the checkpoint that trips are not sent: it is redone whole after the fix.

    Were they sent as they were decided, their offsets (not committed) would bring those
    leads back after the fix and they would end in leads.dlq and in leads.assigned.
    """

    def broken_many(leads: list[Any]) -> list[Any]:
        raise KeyError("a bug")

    step = BatchStep(
        "assign",
        lambda message: message.offset,
        lambda offset: f"lead-{offset}",
        broken_many,
        AvroCodec("Lead"),
        FrozenClock(0),
        brake=DeadLetterBrake("assign", consecutive=25),
    )
    sent: list[dict[str, Any]] = []
    sink = BatchingStage(
        step,
        lambda **record: sent.append(record),
        {"output": SimpleNamespace(name="leads.assigned"), "dlq": SimpleNamespace(name="leads.dlq")},
        {"output": {}, "dlq": {}},
        {"output": _Counter(), "dlq": _Counter()},
        batch_size=10,
    )

    def add(offset: int) -> None:
        sink.add(b"x", f"lead-{offset}".encode(), 0, [], "leads.segmented", 0, offset)

    for offset in range(10):  # one full batch, dead-lettered
        add(offset)
    assert sent == [], "sent before the checkpoint"
    sink.flush()  # the checkpoint commits them
    assert [record["key"] for record in sent] == [f"lead-{n}".encode() for n in range(10)]
    assert {record["topic"] for record in sent} == {"leads.dlq"}

    for offset in range(10, 20):  # decided in the next checkpoint, held until it commits
        add(offset)
    with pytest.raises(DeadLetterBrakeTripped):
        for offset in range(20, 30):  # the 25th in a row trips it
            add(offset)
    assert len(sent) == 10, "dead letters of the checkpoint the brake stopped were sent"


def test_bad_data_alone_keeps_flowing_to_the_dlq() -> None:
    def bad_data(message: Message, progress: object) -> tuple[str, object]:
        raise InvalidLead("schema_violation", "no email")

    step = StageStep(
        "normalize", bad_data, AvroCodec("Lead"), FrozenClock(0), brake=DeadLetterBrake("normalize")
    )
    assert all(step(_message(i)).error_code == "schema_violation" for i in range(500))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("dlq_brake_ratio", 0.0),
        ("dlq_brake_ratio", 1.5),
        ("dlq_brake_window", 0),
        ("dlq_brake_consecutive", -1),
    ],
)
def test_brake_settings_are_validated(name: str, value: float) -> None:
    with pytest.raises(ValueError, match="LEADROUTE_DLQ_BRAKE"):
        Settings().with_overrides(**{name: value})
