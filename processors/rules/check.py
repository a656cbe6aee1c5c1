"""Checks that need the whole compiled file: reachability, overlaps, pools, owners.

They run after compilation, on what compiled; the schema and the compiler have
already reported anything malformed. Most are warnings: the file works, but
probably not as its author meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import TYPE_CHECKING

from processors.routing.plan import QueueAction
from processors.rules.findings import Finding
from processors.rules.model import Group, Node, Route
from processors.rules.territories import check_overlaps

if TYPE_CHECKING:
    from processors.rules.loader import Compiled


def always_matches(node: Node) -> bool:
    """A route without ``when``, or a group without ``when`` holding such a route, takes every lead."""
    if node.when is not None:
        return False
    if isinstance(node, Route):
        return True
    return any(always_matches(child) for child in node.children)


def lint(compiled: Compiled) -> None:
    _unreachable(compiled, compiled.routes)
    check_overlaps(compiled.territories, compiled.findings)
    _pools(compiled)
    _queues(compiled)


def _label(node: Node) -> str:
    return ("group" if isinstance(node, Group) else "route") + f" '{node.name}'"


def _unreachable(compiled: Compiled, nodes: tuple[Node, ...]) -> None:
    catch_all: Node | None = None
    for node in nodes:
        if catch_all is not None:
            compiled.findings.warning(
                compiled.route_paths[node.name],
                "unreachable_route",
                f"{_label(node)} can never match: {_label(catch_all)} (line {catch_all.line}) has no "
                "`when:` and takes every lead first. Move it above that route, or delete it.",
            )
        elif always_matches(node):
            catch_all = node
        if isinstance(node, Group):
            _unreachable(compiled, node.children)


def _pools(compiled: Compiled) -> None:
    findings = compiled.findings
    for name, (pool, path) in compiled.pools.items():
        if not pool.members:
            findings.warning(
                (*path, "members"),
                "empty_pool",
                f"pool '{name}' has no members, so every lead sent there falls through to the next "
                "action. Add owners, or remove the pool from the routes.",
            )
        if pool.strategy == "weighted" and pool.weighted_members == 0 and pool.members:
            findings.error(
                (*path, "strategy"),
                "weighted_without_weights",
                f"pool '{name}' is weighted but no member has a weight, so it is plain round robin. "
                "Give members weights ({owner: ana.ruiz, weight: 2}) or use strategy: round_robin.",
            )
        if pool.strategy != "weighted" and pool.weighted_members:
            findings.warning(
                (*path, "members"),
                "weight_ignored",
                f"pool '{name}' gives weights but its strategy is {pool.strategy}, which ignores them. "
                "Use strategy: weighted, or drop the weights.",
            )
        if pool.balance_by_given and pool.strategy != "load_balanced":
            findings.warning(
                (*path, "balance_by"),
                "balance_by_ignored",
                f"pool '{name}' sets balance_by but its strategy is {pool.strategy}. "
                "Use strategy: load_balanced, or drop balance_by.",
            )
        if name not in compiled.used_pools:
            findings.warning(
                path,
                "unused_pool",
                f"pool '{name}' is not used by any route, fallback or `owner_in_pool:`. "
                "Use it in a route, or delete it.",
            )


def _queues(compiled: Compiled) -> None:
    if any(isinstance(step, QueueAction) for step in compiled.default_steps):
        return
    open_routes = [route.name for route in _routes(compiled.routes) if not _has_queue(route)]
    if not open_routes and compiled.default_steps:
        return
    shown = ", ".join(f"'{name}'" for name in open_routes[:5]) + (", …" if len(open_routes) > 5 else "")
    also = f" Routes without a queue of their own: {shown}." if open_routes else ""
    compiled.findings.warning(
        ("defaults",),
        "no_default_queue",
        "`defaults.fallback` has no queue, so a lead whose owners and pools are all unavailable (or that "
        f"matches no route) is left unassigned.{also} Add one, e.g. fallback: [{{queue: unassigned}}].",
    )


def _routes(nodes: tuple[Node, ...]) -> list[Route]:
    found: list[Route] = []
    for node in nodes:
        if isinstance(node, Group):
            found.extend(_routes(node.children))
        else:
            found.append(node)
    return found


def _has_queue(route: Route) -> bool:
    return any(isinstance(step, QueueAction) for step in route.chain)


def owner_findings(
    source: str, refs: list[tuple[str, int | None, str]], owner_ids: Collection[str]
) -> list[Finding]:
    """Owners the file names that do not exist, and owners that no pool or route names."""
    known = set(owner_ids)
    found: list[Finding] = []
    for owner, line, what in refs:
        if owner in known:
            continue
        close = difflib.get_close_matches(owner, sorted(known), n=1, cutoff=0.6)
        hint = f"Did you mean '{close[0]}'?" if close else "Fix the id, or add the owner to the owners file."
        found.append(
            Finding(
                source,
                line,
                "error",
                "unknown_owner",
                f"owner '{owner}' in {what} is not a known owner. {hint}",
            )
        )
    named = {owner for owner, _, _ in refs}
    for owner in sorted(known - named):
        found.append(
            Finding(
                source,
                None,
                "warning",
                "owner_in_no_pool",
                f"owner '{owner}' is in no pool and no route names them, so these rules only give them "
                "leads as an account or existing owner. Add them to a pool if they should get new leads.",
            )
        )
    return found
