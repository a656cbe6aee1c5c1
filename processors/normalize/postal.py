"""Postal codes: trimmed, single-spaced and upper-cased, never reformatted.

Formats differ per country ("SW1A 1AA", "10115", "75008", "94103-1234") and
a wrong reformat loses information, so only case and spacing change; US
5-digit and ZIP+4 codes therefore pass through exactly as given.
"""

from __future__ import annotations

from processors.normalize.text import is_null_token, nfc

#: Separators that are noise at either end of a postal code.
_END_NOISE = " ,;:.-_/\\|#*"


def normalize_postal_code(text: str) -> str | None:
    """Upper-cased postal code; ``text`` is already whitespace-cleaned."""
    code = nfc(text.strip(_END_NOISE).upper())
    if not code or is_null_token(code):
        return None
    return code
