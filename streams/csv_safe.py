"""CSV for people: every file the CLI writes goes through here, so no cell runs as a formula.

A RevOps person opens exports in Excel or Google Sheets, where a cell starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula
(CSV injection: ``=HYPERLINK("http://evil","x")`` in a company name becomes a
link, ``=cmd|...`` can run a program). Such a cell is written with a leading
apostrophe, which spreadsheets show as text and do not display. A plain
negative number (``-5``, ``-3.2``) is not a formula and is left as it is, so
numeric columns stay numeric.

Our own loaders (``leadroute crm load``) read an exported file back with
:func:`unescaped_cell`: one leading apostrophe is removed only when what
follows (past any more apostrophes) starts with a formula character, so a name
such as ``'t Hooft`` is never changed, and text that itself starts with
``'=`` is written with one more apostrophe: a round trip gives back the value
written.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO, Any

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_NEGATIVE_NUMBER = re.compile(r"-(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: object) -> str:
    """``value`` as cell text that a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + text  # text that itself starts "'=": reading takes one apostrophe off
    return text


def unescaped_cell(text: str) -> str:
    """A cell as :func:`safe_cell` was given it: undoes the apostrophe it adds, nothing else."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_STARTS):
        return text[1:]
    return text


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through :func:`safe_cell`."""

    def __init__(self, handle: IO[str], **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
