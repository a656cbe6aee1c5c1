"""A supervisor whose stages write their logs to one file each, so a test can read what they said.

``leadroute run all`` lets its stages inherit the terminal; a test needs each
stage's output on its own to check it for tracebacks, restarts or personal data.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from streams.settings import settings_env
from streams.supervisor import Child, Supervisor, _die_with_parent


@dataclass
class LoggedSupervisor(Supervisor):
    """:class:`Supervisor` with each stage's stdout and stderr appended to ``<log_dir>/<stage>.log``."""

    log_dir: Path | None = None

    def _spawn(self, stage: str, restarts: int = 0) -> Child:
        assert self.log_dir is not None, "LoggedSupervisor needs a log_dir"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **settings_env(self.settings)}
        with (self.log_dir / f"{stage}.log").open("ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "run", stage],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
            )
        return Child(stage, process, time.monotonic(), restarts)

    def logs(self) -> dict[str, str]:
        """Everything each stage wrote so far, by stage."""
        assert self.log_dir is not None
        return {
            stage: (self.log_dir / f"{stage}.log").read_text(encoding="utf-8", errors="replace")
            for stage in self.stages
            if (self.log_dir / f"{stage}.log").exists()
        }
