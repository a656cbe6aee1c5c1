"""The published JSON Schema of the rule file, and its errors as readable findings.

``schemas/rules.schema.json`` is the single description of the file's shape:
editors can use it for completion, and leadroute validates every file against it
before anything else. Its ``x-messages`` keys carry the fix-it sentence shown
when a check fails, so the schema and the messages cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path as FilePath
from typing import Any

import jsonschema

import schemas
from processors.config import Document, Path
from processors.rules.findings import Finding

SCHEMA_FILE: FilePath = schemas.SCHEMA_DIR / "rules.schema.json"


@cache
def rule_schema() -> dict[str, Any]:
    """The parsed JSON Schema of the rule file."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = rule_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def plain(data: Any) -> Any:
    """The YAML data as JSON would hold it: dates and times become ISO text.

    YAML reads an unquoted ``2026-01-31`` as a date; the rule language treats it
    exactly like the quoted text, so the schema and the version hash see text.
    """
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [plain(item) for item in data]
    if isinstance(data, dt.datetime | dt.date):
        return data.isoformat()
    return data


def validate(doc: Document, data: Any) -> list[tuple[Path, Finding]]:
    """Every place ``data`` breaks the schema: the path of the offending object, and the finding.

    One mistake can fail the same check twice through different branches of the
    schema (a list where a condition belongs); each (place, check) is reported once,
    preferring the report that carries a fix-it sentence.
    """
    chosen: dict[tuple[Path, str], jsonschema.ValidationError] = {}
    for error in _validator().iter_errors(data):
        key = (tuple(error.absolute_path), str(error.validator))
        if key not in chosen or (_fix(error, key[1]) and not _fix(chosen[key], key[1])):
            chosen[key] = error
    found: list[tuple[Path, Finding]] = []
    for (path, _), error in chosen.items():
        found.extend((path, finding) for finding in _findings(doc, error, data))
    return found


def _where(path: Path, data: Any) -> str:
    """Where in the file, in the words of the file: "in pool 'emea'", "in route 'emea / dach'"."""
    if not path:
        return "at the top of the file"
    head = path[0]
    if head in {"territories", "segments", "pools"} and len(path) >= 2:
        kind = {"territories": "territory", "segments": "segment", "pools": "pool"}[str(head)]
        return f"in {kind} '{path[1]}'"
    if head == "routes" and len(path) >= 2:
        names: list[str] = []
        node: Any = data
        end = 0
        for end in range(2, len(path) + 1, 2):
            if path[end - 2] != "routes":
                break
            node = node.get("routes") if isinstance(node, dict) else None
            index = path[end - 1]
            if not isinstance(node, list) or not isinstance(index, int) or index >= len(node):
                break
            node = node[index]
            name = node.get("name", node.get("group")) if isinstance(node, dict) else None
            names.append(str(name) if isinstance(name, str) else f"#{index + 1}")
        if names:
            kind = "group" if isinstance(node, dict) and "group" in node and end == len(path) else "route"
            return f"in {kind} '{' / '.join(names)}'"
    return "under `" + ".".join(str(part) for part in path if not isinstance(part, int)) + ":`"


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true/false",
    "null": "nothing",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text '{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _fix(error: jsonschema.ValidationError, keyword: str) -> str:
    messages = error.schema.get("x-messages", {}) if isinstance(error.schema, dict) else {}
    text = messages.get(keyword)
    if not text:
        return ""
    return " " + text[0].upper() + text[1:]


def _findings(doc: Document, error: jsonschema.ValidationError, data: Any) -> Iterator[Finding]:
    path: Path = tuple(error.absolute_path)
    keyword = str(error.validator)
    # Errors from a validator always carry both; the stubs also allow them unset, for errors made by hand.
    instance: Any = error.instance
    validator_value: Any = error.validator_value
    where = _where(path, data)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.absolute_schema_path:
        name = instance
        yield Finding(
            doc.source,
            doc.line((*path, name)),
            "error",
            "invalid_name",
            f"'{name}' is not a usable name {where}.{_fix(error, keyword)}",
        )
        return
    if keyword == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        for extra in [key for key in instance if key not in schema.get("properties", {})]:
            close = difflib.get_close_matches(extra, allowed, n=1, cutoff=0.6)
            if close:
                hint = f"Did you mean '{close[0]}'?"
            elif "field" not in schema.get("properties", {}) and extra in _comparison_operators():
                hint = f"'{extra}' compares a field: add `field: <path>` next to it."
            else:
                hint = "Allowed here: " + ", ".join(allowed) + "."
            yield Finding(
                doc.source,
                doc.line((*path, extra)),
                "error",
                "unknown_key",
                f"unknown key '{extra}' {where}. {hint}",
            )
        return
    line = doc.line(path)
    if keyword == "required":
        missing = [key for key in validator_value if key not in instance]
        names = ", ".join(f"`{key}:`" for key in missing)
        yield Finding(
            doc.source, line, "error", "missing_key", f"{names} missing {where}.{_fix(error, keyword)}"
        )
        return
    if keyword == "type":
        expected: list[str] = validator_value if isinstance(validator_value, list) else [validator_value]
        words = [_TYPE_WORDS.get(kind, kind) for kind in expected]
        expected_text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
        fix = _fix(error, keyword) or f" Write {expected_text} here."
        yield Finding(
            doc.source,
            line,
            "error",
            "wrong_type",
            f"expected {expected_text} {where}, found {_type_name(instance)}.{fix}",
        )
        return
    if keyword in {"enum", "const"}:
        options = validator_value if keyword == "enum" else [validator_value]
        code = "unsupported_version" if path == ("version",) else "invalid_value"
        close = difflib.get_close_matches(str(instance), [str(o) for o in options], n=1, cutoff=0.6)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        yield Finding(
            doc.source,
            line,
            "error",
            code,
            f"{_type_name(instance)} is not allowed {where}.{hint}{_fix(error, keyword)}",
        )
        return
    code = "invalid_value"
    if keyword == "pattern" and schema.get("pattern") == rule_schema()["$defs"]["channel"]["pattern"]:
        code = "invalid_channel"
    elif keyword in {"minProperties", "maxProperties", "anyOf", "not", "minItems"}:
        code = "invalid_structure"
    fix = _fix(error, keyword).strip() or f"{error.message}."
    if keyword in {"pattern", "minLength", "maxLength"}:
        message = f"{_type_name(instance)} is not valid {where}. {fix}"
    else:
        message = f"{where[0].upper()}{where[1:]}: {fix[0].lower()}{fix[1:]}"
    yield Finding(doc.source, line, "error", code, message)


@cache
def _comparison_operators() -> frozenset[str]:
    props = rule_schema()["$defs"]["comparison"]["properties"]
    return frozenset(key for key in props if key != "field")
