"""Readiness and lag from librdkafka statistics: brokers, stalled input, named blockers."""

from __future__ import annotations

import json
from typing import Any

from streams import health as health_module
from streams import metrics
from streams.health import Health, Readiness


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stats(partitions: dict[str, dict[str, Any]], *, broker_state: str = "UP", topic: str = "in") -> str:
    return json.dumps(
        {
            "brokers": {"b1": {"state": broker_state, "nodeid": 1}, "boot": {"state": "UP", "nodeid": -1}},
            "topics": {
                topic: {
                    "partitions": {
                        "-1": {"fetch_state": "none", "hi_offset": -1001},
                        **{
                            name: {"fetch_state": "active", "lo_offset": 0, **values}
                            for name, values in partitions.items()
                        },
                    }
                }
            },
        }
    )


def health(clock: FakeClock, stage: str = "unit-health") -> Health:
    h = Health(stage, stats_interval_s=1.0, stall_after_s=30.0, readiness=Readiness(), monotonic=clock)
    h.running = True
    return h


def gauge(metric: Any, *labels: str) -> float:
    return metric.labels(*labels)._value.get()


def test_ready_with_a_broker_up_and_fresh_statistics() -> None:
    clock = FakeClock()
    h = health(clock)
    h.on_stats(stats({"0": {"hi_offset": 10, "ls_offset": 10, "app_offset": 10}}))
    ready, report = h.report()
    assert ready and report["status"] == "ok" and report["reasons"] == {}


def test_unready_when_no_broker_is_up() -> None:
    clock = FakeClock()
    h = health(clock)
    h.on_stats(stats({}, broker_state="DOWN"))
    ready, report = h.report()
    assert not ready and "broker" in report["reasons"]


def _partitioned(waitresp: int, rxidle_s: float) -> str:
    """Statistics of a connection that stays UP while the network in between drops everything."""
    return json.dumps(
        {
            "brokers": {
                "b1": {"state": "UP", "nodeid": 1, "waitresp_cnt": waitresp, "rxidle": int(rxidle_s * 1e6)},
                "GroupCoordinator": {"state": "UP", "nodeid": -1, "waitresp_cnt": 1, "rxidle": 60_000_000},
            },
            "topics": {},
        }
    )


def test_unready_when_the_broker_leaves_requests_unanswered_on_an_open_connection() -> None:
    clock = FakeClock()
    h = health(clock)
    h.on_stats(_partitioned(waitresp=2, rxidle_s=6.0))
    ready, report = h.report()
    assert not ready and "unanswered" in report["reasons"]["broker"]
    assert report["brokers_up"] == 0 and report["brokers_silent"] == 1


def test_a_fetch_the_broker_holds_or_an_idle_connection_is_not_silence() -> None:
    clock = FakeClock()
    h = health(clock)
    for waitresp, rxidle_s in [(1, 0.4), (0, 30.0)]:  # a held fetch; nothing asked, nothing heard
        h.on_stats(_partitioned(waitresp=waitresp, rxidle_s=rxidle_s))
        ready, report = h.report()
        assert ready, report


def test_a_stage_that_holds_fetches_long_waits_longer_before_calling_the_broker_silent() -> None:
    assert health_module.unanswered_limit(None) == health_module.UNANSWERED_AFTER_S
    assert health_module.unanswered_limit(10) == health_module.UNANSWERED_AFTER_S
    assert health_module.unanswered_limit(8_000) == 16.0


def test_statistics_go_stale_within_seconds_not_tens_of_seconds() -> None:
    clock = FakeClock()
    h = health(clock)
    h.on_stats(stats({}))
    clock.now += 5.5  # no callback for over five 1 s intervals (it took 20 s before)
    ready, report = h.report()
    assert not ready and "broker" in report["reasons"]


def test_lag_is_stable_offset_minus_position_not_minus_committed() -> None:
    clock = FakeClock()
    h = health(clock, "unit-lag")
    # Under exactly-once the consumer never learns a committed offset: librdkafka reports -1001.
    h.on_stats(
        stats({"0": {"hi_offset": 120, "ls_offset": 100, "app_offset": 70, "committed_offset": -1001}})
    )
    assert gauge(metrics.CONSUMER_LAG, "unit-lag", "in", "0") == 30


def test_lag_before_anything_was_read_counts_from_the_low_watermark() -> None:
    clock = FakeClock()
    h = health(clock, "unit-lag-new")
    h.on_stats(stats({"1": {"hi_offset": 50, "ls_offset": 50, "lo_offset": 10, "app_offset": -1001}}))
    assert gauge(metrics.CONSUMER_LAG, "unit-lag-new", "in", "1") == 40


def test_input_behind_an_open_transaction_is_stalled_only_after_the_limit() -> None:
    clock = FakeClock()
    h = health(clock, "unit-stall")
    open_txn = {"0": {"hi_offset": 8, "ls_offset": 4, "app_offset": 4}}
    h.on_stats(stats(open_txn))
    clock.now += 29
    h.on_stats(stats(open_txn))
    assert h.report()[0]
    assert gauge(metrics.INPUT_STALLED, "unit-stall", "in", "0") == 0
    clock.now += 2
    h.on_stats(stats(open_txn))
    ready, report = h.report()
    assert not ready
    assert report["stalled_partitions"] == {"in[0]": 4}
    assert "LEADROUTE_INSTANCE_ID" in report["reasons"]["input_stalled"]
    assert gauge(metrics.INPUT_STALLED, "unit-stall", "in", "0") == 1
    # The transaction ends (committed, aborted or fenced): the stable offset moves and the stall clears.
    h.on_stats(stats({"0": {"hi_offset": 9, "ls_offset": 9, "app_offset": 4}}))
    assert h.report()[0]
    assert gauge(metrics.INPUT_STALLED, "unit-stall", "in", "0") == 0


def test_a_stage_still_reading_stable_records_is_not_stalled() -> None:
    clock = FakeClock()
    h = health(clock, "unit-busy")
    h.on_stats(stats({"0": {"hi_offset": 900, "ls_offset": 500, "app_offset": 100}}))
    clock.now += 60
    h.on_stats(stats({"0": {"hi_offset": 900, "ls_offset": 500, "app_offset": 300}}))
    assert h.report()[0]


def test_a_revoked_partition_stops_counting_as_stalled() -> None:
    clock = FakeClock()
    h = health(clock, "unit-revoked")
    open_txn = {"2": {"hi_offset": 8, "ls_offset": 4, "app_offset": 4}}
    h.on_stats(stats(open_txn))
    clock.now += 31
    h.on_stats(stats(open_txn))
    assert not h.report()[0]
    h.on_stats(stats({}))
    assert h.report()[0]
    assert gauge(metrics.INPUT_STALLED, "unit-revoked", "in", "2") == 0


def test_named_blockers_make_the_stage_unready_until_cleared() -> None:
    clock = FakeClock()
    h = health(clock)
    h.on_stats(stats({}))
    h.readiness.block("owners", "waiting for owner-sync")
    ready, report = h.report()
    assert not ready and report["reasons"]["owners"] == "waiting for owner-sync"
    h.readiness.unblock("owners")
    assert h.report()[0]


def test_a_stopped_loop_is_unready() -> None:
    clock = FakeClock()
    h = health(clock)
    h.on_stats(stats({}))
    h.running = False
    assert "not_running" in h.report()[1]["reasons"]


def test_a_probe_that_hung_up_before_its_answer_leaves_no_traceback(capsys: Any) -> None:
    server = health_module.serve("127.0.0.1", 0, health(FakeClock()))
    try:
        for error in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
            try:
                raise error
            except ConnectionError:
                server.handle_error(None, ("127.0.0.1", 1))
        assert capsys.readouterr().err == ""
        try:
            raise ValueError("a bug in a handler")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 1))
        assert "ValueError" in capsys.readouterr().err
    finally:
        server.shutdown()
        server.server_close()


def _with_group(state: str, join_state: str) -> str:
    body = json.loads(stats({}))
    body["cgrp"] = {"state": state, "join_state": join_state, "assignment_size": 0}
    return json.dumps(body)


def test_unready_while_not_a_settled_member_of_the_group() -> None:
    # A consumer stuck finding its coordinator after an outage holds no partitions, so
    # neither lag nor a stall shows it: the group's own state must.
    clock = FakeClock()
    h = health(clock)
    for state, join_state in [("query-coord", "init"), ("up", "wait-join"), ("wait-coord", "steady")]:
        h.on_stats(_with_group(state, join_state))
        ready, report = h.report()
        assert not ready and state in report["reasons"]["group"], report
    h.on_stats(_with_group("up", "steady"))
    assert h.report()[0]


def test_a_stage_out_of_its_group_too_long_is_stopped_to_rejoin() -> None:
    clock = FakeClock()
    h = health(clock)
    stopped: list[str] = []
    watch = health_module.GroupWatch(h, limit_s=120.0, on_lost=stopped.append)
    h.on_stats(_with_group("up", "steady"))
    clock.now += 500
    assert not watch.check(), "a settled member was stopped"
    h.on_stats(_with_group("wait-coord", "init"))  # the outage: out of the group from here
    clock.now += 100
    h.on_stats(_with_group("query-coord", "init"))  # still out: the clock keeps running
    assert not watch.check() and stopped == []
    clock.now += 30
    assert watch.check()
    assert stopped and "out of its consumer group for 130 s" in stopped[0]
    assert "query-coord" in stopped[0]


def test_rejoining_resets_the_time_out_of_the_group() -> None:
    clock = FakeClock()
    h = health(clock)
    watch = health_module.GroupWatch(h, limit_s=120.0, on_lost=lambda _: None)
    h.on_stats(_with_group("wait-coord", "init"))
    clock.now += 100
    h.on_stats(_with_group("up", "steady"))
    h.on_stats(_with_group("up", "wait-join"))  # a rebalance starts the count again
    clock.now += 100
    assert h.out_of_group_for() == 100
    assert not watch.check()
