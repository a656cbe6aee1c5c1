"""Problems found in a rule file: where, how bad, which check, and how to fix it.

Every check reports through one :class:`Findings` collector, so ``check_rules``
can list every problem at once while ``load_rules`` raises on the first error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from processors.config import ConfigError, Document, Path

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: ``message`` says what is wrong and ends with how to fix it."""

    source: str
    line: int | None
    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.severity} [{self.code}] {self.message}"

    def as_error(self) -> ConfigError:
        return ConfigError(self.source, self.line, self.message)


@dataclass(slots=True)
class Findings:
    """Collects findings against one parsed document."""

    doc: Document
    items: list[Finding] = field(default_factory=list)

    def error(self, path: Path, code: str, message: str) -> None:
        self.items.append(Finding(self.doc.source, self.doc.line(path), "error", code, message))

    def warning(self, path: Path, code: str, message: str) -> None:
        self.items.append(Finding(self.doc.source, self.doc.line(path), "warning", code, message))

    def add(self, finding: Finding) -> None:
        self.items.append(finding)

    @property
    def errors(self) -> list[Finding]:
        return [item for item in self.items if item.severity == "error"]

    def sorted(self) -> list[Finding]:
        """In file order; errors before warnings on the same line."""
        return sorted(
            self.items,
            key=lambda item: (item.line or 0, item.severity != "error", item.code, item.message),
        )
