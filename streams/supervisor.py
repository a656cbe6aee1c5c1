"""``leadroute run all``: one process per stage, restarted if it dies, stopped together.

Quix Streams installs its signal handlers on the main thread only, so each stage
needs its own process. Children get their own session (so a terminal's Ctrl-C
reaches only the supervisor, which then stops them in order) and a parent-death
signal, so even a supervisor killed with SIGKILL leaves no orphans behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from streams.exits import (
    EXIT_BROKER_UNREACHABLE,
    EXIT_DLQ_BRAKE,
    EXIT_FENCED,
    EXIT_SETTINGS,
    EXIT_TOPICS_MISSING,
)
from streams.settings import Settings, settings_env

log = logging.getLogger(__name__)

#: Exit codes that a restart cannot fix: stop everything and report. A fenced child
#: means another process runs the same stage instance; restarting would fence it back. A
#: tripped dead-letter brake means a bug: a restart meets the same records and the same bug,
#: and each round would write their dead letters again (at-least-once) for nothing.
FATAL_EXIT_CODES = {EXIT_SETTINGS, EXIT_TOPICS_MISSING, EXIT_FENCED, EXIT_DLQ_BRAKE}
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Child:
    stage: str
    process: subprocess.Popen[bytes]
    started_at: float
    restarts: int = 0


@dataclass
class Supervisor:
    """Starts, watches and stops the stage processes."""

    settings: Settings
    stages: list[str]
    stop_timeout: float = 10.0
    quiet: bool = False
    #: When set, each stage's stdout and stderr are appended to ``<log_dir>/<stage>.log``
    #: (across restarts), so what a stage said before it died can be read afterwards.
    log_dir: str | None = None
    children: dict[str, Child] = field(default_factory=dict)
    exit_code: int = 0
    _stopping: threading.Event = field(default_factory=threading.Event)

    def _spawn(self, stage: str, restarts: int = 0) -> Child:
        env = {**os.environ, **settings_env(self.settings)}
        command = [sys.executable, "-m", "streams.cli", "run", stage]
        with contextlib.ExitStack() as files:
            if self.log_dir is not None:
                output: IO[bytes] | int | None = files.enter_context(
                    open(os.path.join(self.log_dir, f"{stage}.log"), "ab")
                )
            else:
                output = subprocess.DEVNULL if self.quiet else None
            process = subprocess.Popen(
                command,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT if self.log_dir is not None else output,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        log.info("started stage %s (pid %d)", stage, process.pid)
        return Child(stage, process, time.monotonic(), restarts)

    def start(self) -> None:
        for stage in self.stages:
            self.children[stage] = self._spawn(stage)

    def watch(self, poll_interval: float = 0.5) -> int:
        """Keep the stages running until :meth:`stop` is called or one fails fatally."""
        while not self._stopping.wait(poll_interval):
            for stage, child in list(self.children.items()):
                code = child.process.poll()
                if code is None:
                    continue
                if code in FATAL_EXIT_CODES:
                    log.error("stage %s exited with code %d; stopping all stages", stage, code)
                    self.exit_code = code
                    self.stop()
                    return code
                backoff = min(30.0, 2.0 ** min(child.restarts, 5))
                if time.monotonic() - child.started_at < backoff:
                    continue
                reason = "broker unreachable" if code == EXIT_BROKER_UNREACHABLE else f"exit code {code}"
                log.warning(
                    "stage %s stopped (%s); restarting (restart %d)", stage, reason, child.restarts + 1
                )
                self.children[stage] = self._spawn(stage, child.restarts + 1)
        return self.exit_code

    def stop(self) -> None:
        """SIGTERM every stage, wait for clean exits, SIGKILL what is left."""
        self._stopping.set()
        for child in self.children.values():
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in self.children.values():
            remaining = max(0.0, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                log.warning("stage %s did not stop in %.0fs; killing it", child.stage, self.stop_timeout)
                child.process.kill()
                child.process.wait()

    def install_signal_handlers(self) -> None:
        def handle(signum: int, _frame: object) -> None:
            log.info("received %s; stopping all stages", signal.Signals(signum).name)
            self._stopping.set()

        signal.signal(signal.SIGINT, handle)
        signal.signal(signal.SIGTERM, handle)

    def run_forever(self) -> int:
        self.install_signal_handlers()
        self.start()
        code = self.watch()
        self.stop()
        return code
