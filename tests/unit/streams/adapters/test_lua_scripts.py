"""The adapters' Lua scripts: every file in the package is used, and every file ships."""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import tomllib
from importlib import resources

import pytest

from streams import adapters
from streams.adapters import lua
from tests.support.paths import REPO

ROOT = REPO


def _lua_files() -> dict[str, str]:
    """Script name -> text, as the package (installed or editable) holds them."""
    return {
        entry.name.removesuffix(".lua"): entry.read_text(encoding="utf-8")
        for entry in resources.files(lua.__name__).iterdir()
        if entry.name.endswith(".lua")
    }


def test_every_lua_file_is_loaded_by_an_adapter() -> None:
    for module in pkgutil.iter_modules(adapters.__path__):
        importlib.import_module(f"{adapters.__name__}.{module.name}")  # adapters load their scripts at import
    files = set(_lua_files())
    assert files, "no .lua file found in the package"
    assert files - lua.loaded() == set(), "orphan .lua files"


def test_package_data_declares_every_lua_file() -> None:
    """A wheel ships only what pyproject.toml's package data matches; an editable install hides a miss."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["streams"]
    unshipped = [
        name
        for name in _lua_files()
        if not any(fnmatch.fnmatch(f"adapters/lua/{name}.lua", pattern) for pattern in patterns)
    ]
    assert unshipped == []


def test_every_lua_file_opens_with_a_comment() -> None:
    assert [name for name, text in _lua_files().items() if not text.startswith("-- ")] == []


def test_a_missing_script_is_a_clear_error() -> None:
    with pytest.raises(FileNotFoundError, match=r"no_such_script\.lua is missing"):
        lua.script("no_such_script")
