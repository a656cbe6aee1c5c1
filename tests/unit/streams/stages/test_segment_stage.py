"""The segment stage: built from settings, refuses a bad file, fills the section on the wire."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processors.config import ConfigError
from processors.ports import FrozenClock
from streams import metrics
from streams.serde import AvroCodec
from streams.settings import Settings
from streams.stages import enrich, normalize, segment
from streams.stages.base import OUTPUT, Message

CLOCK = FrozenClock(1_800_000_000_000)


def _message(value: bytes) -> Message:
    return Message(value=value, key=b"k", headers=[], topic="t", partition=0, offset=1, timestamp_ms=1)


def _enriched(raw: dict[str, str]) -> bytes:
    settings = Settings.from_env({})
    normalized = normalize.build_step(settings, CLOCK)(_message(json.dumps(raw).encode()))
    return enrich.build_step(settings, CLOCK)(_message(normalized.value)).value


RAW = {
    "lead_id": "L1",
    "email": "jane@acme.io",
    "title": "Sr. VP, Global Sales",
    "employees": "51-200",
    "industry": "Computer Software",
    "source": "web",
    "country": "DE",
}


def test_the_step_fills_the_segment_section_and_stamps_the_trace() -> None:
    counted = metrics.SEGMENTED_LEADS.labels("smb", "technology")
    before = counted._value.get()
    routed = segment.build_step(Settings.from_env({}), CLOCK)(_message(_enriched(RAW)))
    assert routed.destination == OUTPUT
    lead = AvroCodec("Lead").decode(routed.value)
    section = lead["segment"]
    assert (section["size_band"], section["vertical"], section["region"]) == ("smb", "technology", "EMEA")
    assert (section["seniority_tier"], section["source_channel"]) == ("executive", "inbound")
    assert section["score"] is not None and section["score_breakdown"]
    assert lead["trace"][-1] == {"stage": "segment", "at_ms": CLOCK.now_ms()}
    assert counted._value.get() == before + 1


def test_the_segments_file_setting_is_laid_over_the_shipped_file(tmp_path: Path) -> None:
    mine = tmp_path / "segments.yaml"
    mine.write_text("version: 1\nsize_bands:\n  - {name: any_size, min: 1}\nscoring: false\n")
    settings = Settings.from_env({"LEADROUTE_SEGMENTS_FILE": str(mine)})
    lead = AvroCodec("Lead").decode(segment.build_step(settings, CLOCK)(_message(_enriched(RAW))).value)
    assert lead["segment"]["size_band"] == "any_size"
    assert lead["segment"]["vertical"] == "technology"  # the shipped verticals stay
    assert lead["segment"]["score"] is None


def test_a_bad_file_stops_the_stage_before_it_starts(tmp_path: Path) -> None:
    mine = tmp_path / "segments.yaml"
    mine.write_text("version: 1\nsize_bands:\n  - {name: a, min: 1, max: 9}\n  - {name: b, min: 5}\n")
    with pytest.raises(ConfigError, match=r"segments\.yaml:4: band 'b' \(5\+\) overlaps 'a'"):
        segment.build_step(Settings.from_env({"LEADROUTE_SEGMENTS_FILE": str(mine)}), CLOCK)
    with pytest.raises(ConfigError, match="cannot read the file"):
        segment.build_step(Settings.from_env({"LEADROUTE_SEGMENTS_FILE": str(tmp_path / "none.yaml")}), CLOCK)
