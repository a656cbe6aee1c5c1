"""The adapters' Redis Lua scripts, kept as ``.lua`` files so they read and diff as Lua.

Each file starts with a comment saying why the script exists and what KEYS and
ARGV it takes. Adapters read their scripts with :func:`script` at import, so a
file missing from an installed package (package data not shipped) fails that
import rather than the first Redis call.
"""

from __future__ import annotations

from importlib import resources

_loaded: set[str] = set()


def script(name: str) -> str:
    """The text of ``<name>.lua`` in this package, exactly as stored."""
    try:
        text = resources.files(__name__).joinpath(f"{name}.lua").read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"Lua script {name}.lua is missing from the {__name__} package (is its package data installed?)"
        ) from error
    _loaded.add(name)
    return text


def loaded() -> frozenset[str]:
    """The scripts :func:`script` has read in this process, so a test can find orphaned files."""
    return frozenset(_loaded)
