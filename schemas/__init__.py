"""The Avro schemas of every record leadroute reads or writes.

Files are named ``<namespace>.<Name>.avsc`` so that fastavro's ``load_schema``
resolves references between them: ``fastavro.schema.load_schema(
"schemas/leadroute.Assignment.avsc")`` is all a downstream consumer needs.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import fastavro.schema

SCHEMA_DIR = Path(__file__).resolve().parent
NAMESPACE = "leadroute"


def schema_path(name: str) -> Path:
    """Path of the ``.avsc`` file that defines record ``name`` (e.g. ``Lead``)."""
    return SCHEMA_DIR / f"{NAMESPACE}.{name}.avsc"


@cache
def parsed(name: str) -> Any:
    """The parsed schema for record ``name``, with its referenced records resolved."""
    return fastavro.schema.load_schema(str(schema_path(name)))


@cache
def fingerprint(name: str) -> str:
    """Rabin fingerprint of the canonical form: which schema version wrote a record."""
    canonical = fastavro.schema.to_parsing_canonical_form(parsed(name))
    return fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")
