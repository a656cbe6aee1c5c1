"""Configuration documents that remember where every value came from.

A RevOps user who breaks a YAML file needs "regions.yaml:42: unknown country
'XX'", not a stack trace. :func:`parse_yaml` keeps the line of every node so
the pure builders (region maps, title vocabularies, rule sets) can point at
the exact place. Parsing text is pure; reading the file is the caller's job.

Plain scalars are read with the YAML 1.2 core schema, not PyYAML's YAML 1.1
default: only ``true``/``false`` are booleans and only decimal, ``0o`` and
``0x`` numbers are numbers, so ``equals: yes``, Norway's ``NO``, ``off`` and a
time like ``12:30`` (a base-60 number in YAML 1.1) stay the text the user wrote.
Unquoted ISO dates are still read as dates; every loader treats them exactly
like the quoted text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


def described(value: object) -> str:
    """A wrong value as an error sentence names it: "a mapping", "nothing", "int 42"."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


class ConfigError(ValueError):
    """A configuration file that cannot be used, with where and why."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class Document:
    """Parsed data plus the 1-based line of every mapping key and list item."""

    source: str
    data: Any
    lines: Mapping[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int | None:
        """Line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None

    def error(self, path: Path, reason: str) -> ConfigError:
        return ConfigError(self.source, self.line(path), reason)


class CoreSchemaLoader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's plain scalars (and 1.1's timestamps)."""


CoreSchemaLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    # Digit groups (100_000) are kept from YAML 1.1: deal-size bounds are written that way.
    ("tag:yaml.org,2002:int", r"[-+]?[0-9][0-9_]*|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        list("-+.0123456789"),
    ),
):
    CoreSchemaLoader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), _first)


def _core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """Decimal, ``0o`` octal or ``0x`` hex; a leading zero is not octal as in YAML 1.1."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)


def _core_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", _core_int)
CoreSchemaLoader.add_constructor("tag:yaml.org,2002:bool", _core_bool)


def _construct(node: yaml.Node, path: Path, lines: dict[Path, int], source: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, (*path, "<key>"), {}, source)
            if not isinstance(key, str | int | float | bool) or key is None:
                raise ConfigError(source, key_node.start_mark.line + 1, "mapping keys must be plain text")
            key = str(key)
            if key in result:
                raise ConfigError(source, key_node.start_mark.line + 1, f"'{key}' is given twice")
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, (*path, key), lines, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, index), lines, source) for index, item in enumerate(node.value)]
    try:
        return CoreSchemaLoader("").construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or node.start_mark
        raise ConfigError(source, mark.line + 1, f"not a value YAML can read: {error.problem}") from None


def parse_yaml(text: str, source: str) -> Document:
    """Parse one YAML document safely (no tags, no objects), keeping line numbers."""
    try:
        root = yaml.compose(text, Loader=CoreSchemaLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        reason = f"not valid YAML: {error.problem}"
        raise ConfigError(source, mark.line + 1 if mark else None, reason) from None
    except yaml.YAMLError as error:
        raise ConfigError(source, None, f"not valid YAML: {error}") from None
    if root is None:
        return Document(source, None, {})
    lines: dict[Path, int] = {}
    return Document(source, _construct(root, (), lines, source), lines)


def unknown_key(key: str, where: str, choices: tuple[str, ...]) -> str:
    """The reason for a key a section does not take, with the closest one it does."""
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    guess = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown key '{key}'; {guess}{where} takes only {', '.join(choices)}"
