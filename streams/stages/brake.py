"""The dead-letter brake: a stage that dead-letters too much stops instead of emptying into the DLQ.

A bug (or a bad deploy) makes a stage fail on every lead; without a brake each
one is dead-lettered as ``processing_error`` and the pipeline goes on, so a
whole day of leads ends up in leads.dlq to be replayed by hand. The brake
counts the dead letters that are not the data's fault (every code but
:data:`~processors.errors.DATA_CODES`) over the last ``window`` records, and in
a row; past the limit it raises :class:`DeadLetterBrakeTripped` *before* the
batch is handed on, so the batch is not committed and is processed again after
the fix (exit code 7, see :mod:`streams.exits`). Like Arroyo's ``DlqLimit``.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from processors.errors import DATA_CODES
from streams import metrics


class DeadLetterBrakeTripped(Exception):
    """A stage dead-lettered more records than the brake allows; the uncommitted batch is redone."""

    def __init__(self, stage: str, code: str, sentence: str) -> None:
        super().__init__(sentence)
        self.stage = stage
        self.code = code


@dataclass(slots=True)
class DeadLetterBrake:
    """Counts a stage's outcomes; :meth:`record` raises once too many were a bug's dead letters.

    ``ratio``: the share of the last ``window`` records (once that many were seen)
    that may be dead-lettered for a non-data code; more trips the brake (1.0 never
    trips by share). ``consecutive``: that many such dead letters in a row trip it
    (0: never).
    """

    stage: str
    ratio: float = 0.5
    window: int = 200
    consecutive: int = 50
    _recent: deque[str | None] = field(init=False, repr=False)
    _codes: Counter[str] = field(init=False, repr=False)
    _streak: int = field(init=False, default=0, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.ratio <= 1 or self.window < 1 or self.consecutive < 0:
            raise ValueError("a dead-letter brake needs 0 < ratio <= 1, window >= 1 and consecutive >= 0")
        self._recent = deque(maxlen=self.window)
        self._codes = Counter()

    def record(self, dead_letter_code: str | None) -> None:
        """One record's outcome: None when it went on, else its dead-letter code."""
        counted = dead_letter_code if dead_letter_code not in DATA_CODES else None
        if len(self._recent) == self.window:
            dropped = self._recent[0]
            if dropped is not None:
                self._codes[dropped] -= 1
        self._recent.append(counted)
        if counted is None:
            self._streak = 0
            return
        self._codes[counted] += 1
        self._streak += 1
        if self.consecutive and self._streak >= self.consecutive:
            self._trip(
                counted,
                f"the {self.stage} stage dead-lettered {self._streak} records in a row with code {counted} "
                f"(LEADROUTE_DLQ_BRAKE_CONSECUTIVE is {self.consecutive})",
            )
        bad = sum(self._codes.values())
        if len(self._recent) == self.window and bad > self.ratio * self.window:
            code = self._codes.most_common(1)[0][0]
            self._trip(
                code,
                f"the {self.stage} stage dead-lettered {bad} of its last {self.window} records "
                f"({bad / self.window:.0%}, more than LEADROUTE_DLQ_BRAKE_RATIO {self.ratio:.0%}), "
                f"most with code {code}",
            )

    def _trip(self, code: str, what: str) -> None:
        metrics.DLQ_BRAKE_TRIPPED.labels(self.stage, code).inc()
        raise DeadLetterBrakeTripped(
            self.stage,
            code,
            f"dead-letter brake: {what}; stopped before committing, so those records are processed "
            f"again once the cause is fixed: the {self.stage} stage's dead letters on leads.dlq say what "
            "failed; fix that, then start the stage again",
        )
