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


# --- The module graph: no circles, and the runtime never leans on the tools around it. ---

#: Packages of tools around the runtime: commands, benchmarks, the demo, CRM data loading.
TOOL_PACKAGES = ("streams.cli", "streams.bench", "streams.demo", "streams.crm")
#: What the runtime may not import: a running stage must not need the CLI, benchmarks or demo.
FORBIDDEN_FOR_RUNTIME = ("streams.cli", "streams.bench", "streams.demo")
#: The top of streams/ is the runtime and nothing else; anything new goes into a package.
RUNTIME_TOP = {
    "app",
    "csv_safe",
    "dlq",
    "exits",
    "health",
    "metrics",
    "outages",
    "quix_io",
    "redis_client",
    "runner",
    "serde",
    "settings",
    "supervisor",
    "topics",
    "wiring",
}


def _module_names(root: Path, packages: tuple[str, ...] = ("processors", "streams")) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Imports under ``if TYPE_CHECKING:`` do not run, so they cannot make a circle."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(sub) for sub in ast.walk(node))
    return hidden


def import_graph(root: Path, packages: tuple[str, ...] = ("processors", "streams")) -> dict[str, set[str]]:
    """module → the project modules it imports, at the top or inside a function alike."""
    modules = _module_names(root, packages)

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hidden = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                found = resolve(target)
                # A package's own __init__ is imported by its modules implicitly; not an edge.
                if found and found != name and not name.startswith(found + "."):
                    graph[name].add(found)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_another_that_imports_it_back() -> None:
    assert circles(import_graph(ROOT)) == []


def test_the_runtime_imports_no_cli_benchmark_or_demo_module() -> None:
    graph = import_graph(ROOT)
    offenders = {
        module: sorted(t for t in targets if t.startswith(FORBIDDEN_FOR_RUNTIME))
        for module, targets in graph.items()
        if module.startswith("streams") and not module.startswith(TOOL_PACKAGES)
    }
    assert {module: targets for module, targets in offenders.items() if targets} == {}


def test_the_top_of_streams_holds_only_the_runtime() -> None:
    top = {path.stem for path in (ROOT / "streams").glob("*.py")} - {"__init__"}
    assert top == RUNTIME_TOP, "put a new module into the package it belongs to (see README 'Layout')"


def test_the_circle_check_would_catch_a_circle_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "streams"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from streams.b import thing\n")
    (package / "b.py").write_text("def thing():\n    from streams import a\n    return a\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from streams import a\n"
    )
    graph = import_graph(tmp_path, ("streams",))
    assert circles(graph) == [["streams.a", "streams.b"]]
    assert graph["streams.c"] == set()


# --- One composition root: only streams/wiring.py puts Redis clients and state adapters together. ---

#: Calls that make a Redis connection or a state adapter out of settings or a URL.
BUILDERS = {
    "redis_client",
    "Redis",
    "from_url",
    "RedisCluster",
    "LeadrouteCluster",
    "RedisCrmMirror",
    "RedisOwnerDirectory",
    "RedisAssignmentLedger",
    "StateMarker",
    "RedisFirmographicsCache",
}
#: Where building is the job: the root itself, the client factory, and the adapters' own modules.
BUILDER_HOMES = ("streams/wiring.py", "streams/redis_client.py", "streams/adapters/")


def builder_calls(root: Path, package: str = "streams") -> dict[str, list[str]]:
    """file → the builder calls it makes (``name:line``), outside the modules whose job that is."""
    found: dict[str, list[str]] = {}
    for path in sorted((root / package).rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(BUILDER_HOMES):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name in BUILDERS:
                found.setdefault(relative, []).append(f"{name}:{node.lineno}")
    return found


def test_only_the_composition_root_builds_redis_clients_and_state_adapters() -> None:
    assert builder_calls(ROOT) == {}, "build it with a function in streams/wiring.py"


def test_the_composition_root_check_would_catch_a_stage_building_its_own_client(tmp_path: Path) -> None:
    stages = tmp_path / "streams" / "stages"
    stages.mkdir(parents=True)
    (stages / "x.py").write_text(
        "import redis\nfrom streams.adapters.redis_owners import RedisOwnerDirectory\n"
        "def build(url):\n    return RedisOwnerDirectory(redis.Redis.from_url(url), prefix='p')\n"
    )
    (tmp_path / "streams" / "wiring.py").write_text("import redis\nclient = redis.Redis()\n")
    assert builder_calls(tmp_path) == {"streams/stages/x.py": ["RedisOwnerDirectory:4", "from_url:4"]}


def test_adapters_take_their_client_and_never_read_settings() -> None:
    """Settings are read in one place; an adapter given a client works the same in a test and a stage."""
    readers = sorted(
        path.name
        for path in (ROOT / "streams" / "adapters").glob("*.py")
        if "streams.settings" in path.read_text(encoding="utf-8")
    )
    assert readers == []
