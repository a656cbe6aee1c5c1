"""The assign stage's rules: reloaded when the file changes, a bad version refused, the last good one kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from processors.config import ConfigError
from streams import metrics
from streams.routing.rules_source import RulesSource, default_rules

RULES = """version: 1
defaults: {{channel: sales}}
routes:
  - name: everything
    channel: {channel}
    assign: {{queue: {queue}}}
"""


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _write(path: Path, text: str, bump: int) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = 1_800_000_000 + bump
    os.utime(path, (stamp, stamp))  # a distinct mtime even on coarse file systems


def _reloads(outcome: str) -> float:
    return metrics.REGISTRY.get_sample_value("leadroute_rules_reloads_total", {"outcome": outcome}) or 0.0


def _source(path: Path, ticks: Ticks, missing: list[str] | None = None) -> RulesSource:
    return RulesSource(
        str(path),
        fallback=default_rules("triage", "sales"),
        check_every_s=2.0,
        monotonic=ticks,
        missing_channel_topics=(lambda channels: [c for c in channels if c in (missing or [])]),
    )


def test_a_changed_file_is_routed_with_after_the_next_check(tmp_path: Path) -> None:
    path, ticks = tmp_path / "rules.yaml", Ticks()
    _write(path, RULES.format(channel="sales", queue="a"), 0)
    source = _source(path, ticks)
    first = source.current()
    _write(path, RULES.format(channel="sales", queue="b"), 1)
    assert source.current() is first  # not looked at again before check_every_s
    ticks.now = 2.5
    second = source.current()
    assert second.version != first.version
    assert second.plan({"lead_id": "x"}).actions[0].queue == "b"  # type: ignore[union-attr]


def test_an_invalid_change_is_refused_counted_and_the_previous_version_keeps_routing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, ticks = tmp_path / "rules.yaml", Ticks()
    _write(path, RULES.format(channel="sales", queue="a"), 0)
    source = _source(path, ticks)
    good = source.current()
    refused_before = _reloads("refused")
    _write(path, "version: 1\nroutes:\n  - name: x\n    assign: {pool: nobody}\n", 1)
    ticks.now = 3
    assert source.current() is good
    assert _reloads("refused") == refused_before + 1
    assert any(
        "refused" in record.getMessage() and "rules.yaml:" in record.getMessage() for record in caplog.records
    )
    ticks.now = 6
    assert source.current() is good  # the same bad file is not re-read or re-counted
    assert _reloads("refused") == refused_before + 1


def test_a_new_channel_without_its_topic_is_refused(tmp_path: Path) -> None:
    path, ticks = tmp_path / "rules.yaml", Ticks()
    _write(path, RULES.format(channel="sales", queue="a"), 0)
    source = _source(path, ticks, missing=["partner"])
    good = source.current()
    _write(path, RULES.format(channel="partner", queue="a"), 1)
    ticks.now = 3
    assert source.current() is good


def test_an_edit_to_comments_only_keeps_the_version(tmp_path: Path) -> None:
    path, ticks = tmp_path / "rules.yaml", Ticks()
    _write(path, RULES.format(channel="sales", queue="a"), 0)
    source = _source(path, ticks)
    first = source.current()
    _write(path, "# reviewed by RevOps\n" + RULES.format(channel="sales", queue="a"), 1)
    ticks.now = 3
    assert source.current() is first


def test_a_bad_file_at_start_stops_the_stage_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    _write(
        path, "version: 1\ndefaults: {channel: sales}\nroutes:\n  - name: x\n    assign: {pool: nobody}\n", 0
    )
    with pytest.raises(ConfigError) as raised:
        _source(path, Ticks())
    assert str(raised.value).startswith(f"{path}:")


def test_without_a_file_the_default_queue_routes_and_its_channel_topic_must_exist() -> None:
    source = RulesSource(None, fallback=default_rules("triage", "sales"))
    assert source.current().plan({"lead_id": "x"}).channel == "sales"
    with pytest.raises(ConfigError, match="channel topic"):
        RulesSource(
            None,
            fallback=default_rules("triage", "sales"),
            missing_channel_topics=list,
        )
