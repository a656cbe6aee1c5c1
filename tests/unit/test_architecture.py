"""House rules a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPURE = {
    "confluent_kafka",
    "quixstreams",
    "redis",
    "fakeredis",
    "socket",
    "requests",
    "httpx",
    "urllib",
    "http",
    "aiohttp",
    "streams",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_processors_import_no_kafka_redis_or_network_module() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & IMPURE)
        for path in (ROOT / "processors").rglob("*.py")
        if _imports(path) & IMPURE
    }
    assert offenders == {}


def test_no_eval_or_exec_in_product_code() -> None:
    calls = []
    for package in ("processors", "streams"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in {"eval", "exec"}
                ):
                    calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls == []


def test_the_purity_check_would_catch_an_offender(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import redis\nfrom confluent_kafka import Producer\nfrom . import models\n")
    assert _imports(sample) & IMPURE == {"redis", "confluent_kafka"}
