"""A watch that finds a stage broken must end the process, even when the Kafka client hangs."""

from __future__ import annotations

import threading

from streams.exits import EXIT_BROKER_UNREACHABLE, EXIT_DEPENDENCY_DOWN
from streams.runner import LoopStopper


class LoopThatMayHang:
    """Stands in for the Quix Application: records how it was asked to stop."""

    def __init__(self) -> None:
        self.stops: list[bool] = []

    def stop(self, fail: bool = False) -> None:
        self.stops.append(fail)


class Exits:
    def __init__(self) -> None:
        self.codes: list[int] = []
        self.called = threading.Event()

    def __call__(self, code: int) -> None:
        self.codes.append(code)
        self.called.set()


def test_a_loop_that_does_not_return_ends_the_process_with_the_watchs_code() -> None:
    app, exits = LoopThatMayHang(), Exits()
    stopper = LoopStopper(app, "assign", grace_s=0.05, exit_process=exits)  # type: ignore[arg-type]
    stopper.asker(EXIT_BROKER_UNREACHABLE)("out of its consumer group for 121 s")
    assert app.stops == [True], "the open checkpoint must be dropped, not committed"
    assert exits.called.wait(5)
    assert exits.codes == [EXIT_BROKER_UNREACHABLE]


def test_a_loop_that_returns_in_time_is_left_to_exit_cleanly() -> None:
    app, exits = LoopThatMayHang(), Exits()
    stopper = LoopStopper(app, "assign", grace_s=0.2, exit_process=exits)  # type: ignore[arg-type]
    stopper.asker(EXIT_DEPENDENCY_DOWN)("Redis lost the owner directory")
    stopper.loop_returned()
    assert not exits.called.wait(0.5)
    assert exits.codes == []


def test_the_first_watch_to_ask_decides_the_code() -> None:
    app, exits = LoopThatMayHang(), Exits()
    stopper = LoopStopper(app, "match", grace_s=0.05, exit_process=exits)  # type: ignore[arg-type]
    stopper.asker(EXIT_DEPENDENCY_DOWN)("Redis lost the CRM mirror")
    stopper.asker(EXIT_BROKER_UNREACHABLE)("out of its consumer group")
    assert exits.called.wait(5)
    assert exits.codes == [EXIT_DEPENDENCY_DOWN]
    assert app.stops == [True]
