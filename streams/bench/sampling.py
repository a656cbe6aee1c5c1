"""Sampling a stage process with py-spy while ``leadroute bench pipeline`` saturates it.

py-spy (``pip install 'leadroute[profile]'``) reads the process from outside,
so the stage runs unchanged; ``--nonblocking`` keeps it from pausing the
process at each sample. Only samples where Python is on the CPU count (no
``--idle``): on a CPU-bound machine that is what limits throughput. The raw
collapsed stacks are kept for flame graphs; the summary says which functions
take the samples, inclusive (anywhere on the stack) and self (on top).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def py_spy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if found is None:
        raise RuntimeError("--profile needs py-spy: pip install 'leadroute[profile]'")
    return found


def _short(frame: str) -> str:
    """``enrich (/…/site-packages/processors/enrichment/enricher.py:140)`` → ``enricher.py:enrich``."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    return f"{os.path.basename(match['file'])}:{match['function']}"


def summarise(path: str, top: int = 15) -> dict[str, Any]:
    """Top functions by inclusive and by self share of the samples in a py-spy raw file."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as raw:
        for line in raw:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_short(frame) for frame in stack.split(";") if not frame.startswith("process ")]
            if not frames:
                continue
            total += count
            own[frames[-1]] += count
            for name in set(frames):
                inclusive[name] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "share": round(count / total, 3)} for name, count in counter.most_common(top)
        ]

    return {"samples": total, "raw_file": path, "inclusive": share(inclusive), "self": share(own)}


@dataclass
class Profiler:
    """py-spy recording the given processes until :meth:`stop`."""

    pids: list[int]
    path_prefix: str
    rate: int = 100
    _recorders: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self) -> None:
        binary = py_spy()
        for pid in self.pids:
            path = f"{self.path_prefix}-{pid}.txt"
            command = [binary, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw"]
            recorder = subprocess.Popen(
                [*command, "--output", path, "--nonblocking"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self._recorders.append((path, recorder))

    def stop(self) -> list[dict[str, Any]]:
        """Stop recording (py-spy writes its file on SIGINT) and summarise each process's samples."""
        summaries = []
        for path, recorder in self._recorders:
            if recorder.poll() is None:
                recorder.send_signal(signal.SIGINT)
            try:
                recorder.wait(30)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()
            summaries.append(summarise(path) if os.path.exists(path) else {"samples": 0, "raw_file": None})
        return summaries
