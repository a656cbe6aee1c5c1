"""The processes a pipeline benchmark runs, and what the kernel says each of them used.

Unlike :class:`streams.supervisor.Supervisor`, nothing here restarts a process:
a stage that dies during a measurement makes the measurement fail, and
several instances of one stage are separate entries, each with its own
``LEADROUTE_INSTANCE_ID`` (so its own transactional id).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from streams.settings import Settings, settings_env

_PR_SET_PDEATHSIG = 1
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _die_with_parent() -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def peak_rss_mib(pid: int) -> float | None:
    """The process's peak resident set (VmHWM) in MiB; None once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time the process has used so far."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


#: Exit codes after which ``leadroute run`` expects to be restarted (broker or Redis did not
#: answer in time): the supervisor would restart the stage, and so does the benchmark.
RESTARTABLE = {4, 5}


@dataclass
class Worker:
    """One running process: what it runs (``name``), which instance of it, and how to start it again."""

    name: str
    instance: str
    process: subprocess.Popen[bytes]
    command: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    restarts: int = 0


@dataclass
class Processes:
    """Starts stage (or hop) processes and stops them all; fails loudly if one has exited."""

    log_dir: str
    workers: list[Worker] = field(default_factory=list)

    def _popen(self, name: str, instance: str, command: list[str], env: dict[str, str]) -> Any:
        log_path = os.path.join(self.log_dir, f"{name}-{instance}.log")
        with open(log_path, "ab") as output:  # the child keeps its own descriptor
            return subprocess.Popen(
                [sys.executable, *command],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )

    def start(self, name: str, command: list[str], settings: Settings, instance: str) -> Worker:
        env = {**os.environ, **settings_env(settings.with_overrides(instance_id=instance))}
        worker = Worker(name, instance, self._popen(name, instance, command, env), command, env)
        self.workers.append(worker)
        return worker

    def check(self) -> None:
        """Restart a process that stopped for an outage (counted); raise if one failed otherwise."""
        for worker in self.workers:
            code = worker.process.poll()
            if code in RESTARTABLE:
                worker.restarts += 1
                worker.process = self._popen(worker.name, worker.instance, worker.command, worker.env)
            elif code is not None:
                raise RuntimeError(
                    f"{worker.name} (instance {worker.instance}) exited with code {code} during the "
                    f"benchmark; its log is {self.log_dir}/{worker.name}-{worker.instance}.log"
                )

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far per worker (by name/instance; a restarted process starts again at 0)."""
        return {f"{w.name}/{w.instance}": cpu_seconds(w.process.pid) or 0.0 for w in self.workers}

    def stop(self, timeout: float = 10.0) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
