"""From rule-file text to a compiled rule set, reporting every problem on the way.

The pipeline: YAML (with line numbers) → JSON Schema → compile each territory,
segment, pool and route that passed the schema → semantic checks. Parts that
failed the schema are skipped rather than guessed at, so one typo yields one
finding, not a cascade. ``load_rules`` raises the first error; ``check_rules``
returns them all, with the warnings.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from processors.config import ConfigError, Document, Path, parse_yaml
from processors.routing.plan import Action, OwnerAction, PoolAction, PoolMember, QueueAction
from processors.rules import durations, schema
from processors.rules.conditions import Condition, Scope, compile_condition
from processors.rules.findings import Finding, Findings
from processors.rules.model import (
    CRM_OWNER_PATHS,
    CrmOwner,
    Group,
    LeadAction,
    Node,
    OwnerFromField,
    Pool,
    Route,
    SkillPool,
    Step,
    step_key,
)
from processors.rules.ruleset import RuleSet
from processors.rules.territories import Territory, TerritoryIndex, compile_territory


@dataclass(slots=True)
class Compiled:
    """Everything compiled from one file, kept for the checks that run after."""

    doc: Document
    findings: Findings
    version: str = ""
    name: str | None = None
    default_channel: str = "default"
    default_steps: tuple[Step, ...] = ()
    sticky_window_s: int = 0
    returning_owner_credit: int = 0
    follow_first_owner: bool = True
    territories: list[tuple[Territory, Path]] = field(default_factory=list)
    segments: dict[str, Condition] = field(default_factory=dict)
    segment_order: list[str] = field(default_factory=list)  # evaluation order: references first
    pools: dict[str, tuple[Pool, Path]] = field(default_factory=dict)
    queues: tuple[str, ...] | None = None
    routes: tuple[Node, ...] = ()
    #: Every owner id the file names (pool members and owner actions), where, and how.
    owner_refs: list[tuple[str, Path, str]] = field(default_factory=list)
    used_pools: set[str] = field(default_factory=set)
    #: Every route and group as (full name, path, always matches, depth siblings) for checks.
    route_paths: dict[str, Path] = field(default_factory=dict)
    #: Every field path a condition, a segment or a lead-dependent action reads.
    fields_read: list[tuple[str, Path]] = field(default_factory=list)


def version_of(data: Any) -> str:
    """``rules@`` + 12 hex of the SHA-256 of the parsed content as canonical JSON.

    Hashing the parsed content (in file order) rather than the text means comments,
    blank lines, indentation and quoting style do not make a new version, while any
    change to a value, a name or an order does.
    """
    canonical = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return "rules@" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


class _Bad:
    """The document paths the schema rejected, to skip the parts under them."""

    def __init__(self, bad: list[Path]) -> None:
        self._bad = bad

    def at(self, path: Path) -> bool:
        """The object at ``path`` itself is malformed."""
        return path in self._bad

    def under(self, path: Path) -> bool:
        """Something at or below ``path`` is malformed."""
        size = len(path)
        return any(bad[:size] == path for bad in self._bad)


def analyse(text: str, source: str) -> Compiled:
    """Parse, validate and compile ``text``; every problem ends up in ``findings``."""
    try:
        doc = parse_yaml(text, source)
    except ConfigError as error:
        empty = Document(source, None, {})
        findings = Findings(empty)
        findings.add(Finding(source, error.line, "error", "yaml", f"{error.reason}. Fix the YAML syntax."))
        return Compiled(empty, findings)
    findings = Findings(doc)
    data = schema.plain(doc.data)
    compiled = Compiled(doc, findings, version=version_of(data))
    if data is None:
        findings.error(
            (), "empty_file", "the rule file is empty. Start from processors/rules/data/example.yaml."
        )
        return compiled
    bad_paths: list[Path] = []
    for path, finding in schema.validate(doc, data):
        bad_paths.append(path)
        findings.add(finding)
    if not isinstance(data, dict):
        return compiled
    _Compiler(compiled, data, _Bad(bad_paths)).run()
    from processors.rules.check import lint

    lint(compiled)
    return compiled


class _Compiler:
    def __init__(self, out: Compiled, data: dict[str, Any], bad: _Bad) -> None:
        self.out = out
        self.data = data
        self.bad = bad
        self.findings = out.findings
        self.territory_names = frozenset(_mapping(data.get("territories")))
        self.segment_names = frozenset(_mapping(data.get("segments")))
        self.pool_names = frozenset(_mapping(data.get("pools")))
        self.names_seen: dict[str, Path] = {}
        self.pool_members: Mapping[str, frozenset[str]] | None = None

    def run(self) -> None:
        data, out = self.data, self.out
        out.name = data.get("name") if isinstance(data.get("name"), str) else None
        if not self.bad.under(("stickiness",)):
            out.sticky_window_s = durations.seconds(_mapping(data.get("stickiness")).get("new_logo_window"))
        if not self.bad.under(("duplicates",)):
            out.follow_first_owner = _mapping(data.get("duplicates")).get("follow_first_owner", True)
        if not self.bad.under(("fairness",)):
            out.returning_owner_credit = _mapping(data.get("fairness")).get("returning_owner_credit", 0)
        queues = data.get("queues")
        if isinstance(queues, list) and not self.bad.under(("queues",)):
            out.queues = tuple(queues)
        self._territories()
        self._pools()
        self._segments()
        defaults = _mapping(data.get("defaults"))
        if not self.bad.under(("defaults", "channel")) and isinstance(defaults.get("channel"), str):
            out.default_channel = defaults["channel"]
        if not self.bad.under(("defaults", "fallback")):
            out.default_steps = self._actions(defaults.get("fallback", []), ("defaults", "fallback"))
        routes = data.get("routes")
        if isinstance(routes, list) and not self.bad.at(("routes",)):
            out.routes = self._nodes(routes, ("routes",), "", None, ())

    # --- named parts --------------------------------------------------------------------

    def _territories(self) -> None:
        for name, spec in _mapping(self.data.get("territories")).items():
            path = ("territories", name)
            if self.bad.under(path):
                continue
            territory = compile_territory(name, spec, path, self.findings)
            if territory is not None:
                self.out.territories.append((territory, path))

    def _pools(self) -> None:
        for name, spec in _mapping(self.data.get("pools")).items():
            path = ("pools", name)
            if self.bad.under(path):
                continue
            members: list[PoolMember] = []
            weighted = 0
            seen: dict[str, int] = {}
            for index, item in enumerate(spec["members"]):
                owner = item if isinstance(item, str) else item["owner"]
                weight = 1.0 if isinstance(item, str) else float(item.get("weight", 1.0))
                weighted += 0 if isinstance(item, str) or "weight" not in item else 1
                if owner in seen:
                    self.findings.error(
                        ("pools", name, "members", index),
                        "duplicate_member",
                        f"'{owner}' is listed twice in pool '{name}'. List each owner once; "
                        "to give someone more leads, use strategy: weighted and a weight.",
                    )
                    continue
                seen[owner] = index
                members.append(PoolMember(owner, weight))
                self.out.owner_refs.append((owner, ("pools", name, "members", index), f"pool '{name}'"))
            self.out.pools[name] = (
                Pool(
                    name=name,
                    strategy=spec.get("strategy", "round_robin"),
                    balance_by=spec.get("balance_by", "assignments_today"),
                    members=tuple(members),
                    require_skills=tuple(skill.lower() for skill in spec.get("require_skills", [])),
                    skill_from=spec.get("skill_from"),
                    line=self.findings.doc.line(path),
                    weighted_members=weighted,
                    balance_by_given="balance_by" in spec,
                ),
                path,
            )
            skill_from = spec.get("skill_from")
            if skill_from is not None:
                self._check_path(skill_from, (*path, "skill_from"))
                self.out.fields_read.append((skill_from, (*path, "skill_from")))

    def _owner_from(self, field_path: str, path: Path, line: int | None) -> OwnerFromField | None:
        """A lead field naming the owner must hold one text: an id or e-mail, not a record or a list."""
        from processors.rules import paths

        node = paths.lookup(field_path)
        if node is None:
            self._check_path(field_path, path)
            return None
        if node.kind != "string" or node.through_array:
            what = "a list of values" if node.through_array else f"a {node.kind}"
            self.findings.error(
                path,
                "owner_from_not_text",
                f"'{field_path}' holds {what}, not one text; owner_from needs a field holding an "
                "owner id or e-mail, e.g. raw.custom.partner_rep_email.",
            )
            return None
        self.out.fields_read.append((field_path, path))
        return OwnerFromField(field_path, line)

    def _check_path(self, field_path: str, path: Path) -> None:
        from processors.rules import paths

        if paths.lookup(field_path) is None:
            suggestion = paths.closest(field_path)
            hint = (
                f"Did you mean '{suggestion}'?" if suggestion else "See the list of fields in docs/rules.md."
            )
            self.findings.error(path, "unknown_field", f"'{field_path}' is not a field of a lead. {hint}")

    def _scope(self) -> Scope:
        return Scope(
            self.findings,
            self.territory_names,
            self.segment_names,
            fields_used=self.out.fields_read,
            pool_names=self.pool_names,
            pool_members=self._pool_members(),
            pools_used=self.out.used_pools,
        )

    def _pool_members(self) -> Mapping[str, frozenset[str]]:
        """Each compiled pool's member ids (pools compile before segments and routes)."""
        if self.pool_members is None:
            self.pool_members = {
                name: frozenset(member.owner_id for member in pool.members)
                for name, (pool, _) in self.out.pools.items()
            }
        return self.pool_members

    def _segments(self) -> None:
        refs: dict[str, set[str]] = {}
        compiled: dict[str, Condition] = {}
        for name, spec in _mapping(self.data.get("segments")).items():
            path = ("segments", name)
            if self.bad.under(path):
                continue
            scope = self._scope()
            condition = compile_condition(spec, path, scope)
            refs[name] = scope.segment_refs
            if condition is not None:
                compiled[name] = condition
        order: list[str] = []
        state: dict[str, str] = {}

        def visit(name: str, trail: list[str]) -> bool:
            if state.get(name) == "done":
                return True
            if state.get(name) == "active":
                cycle = [*trail[trail.index(name) :], name]
                self.findings.error(
                    ("segments", cycle[0]),
                    "segment_cycle",
                    "segments refer to each other in a circle: "
                    + " → ".join(cycle)
                    + ". Remove one of these {segment: …} references.",
                )
                return False
            state[name] = "active"
            ok = all(visit(ref, [*trail, name]) for ref in sorted(refs.get(name, ())) if ref in refs)
            state[name] = "done"
            order.append(name)
            return ok

        for name in refs:
            visit(name, [])
        self.out.segment_order = [name for name in order if name in compiled]
        # File order for reporting; evaluation follows segment_order.
        self.out.segments = {name: compiled[name] for name in refs if name in compiled}

    # --- actions ------------------------------------------------------------------------

    def _actions(self, items: list[Any], path: Path) -> tuple[Step, ...]:
        steps = []
        for index, item in enumerate(items):
            step = self._action(item, (*path, index))
            if step is not None:
                steps.append(step)
        return tuple(steps)

    def _action(self, item: Mapping[str, Any], path: Path) -> Step | None:
        ((kind, value),) = item.items()
        line = self.findings.doc.line(path)
        if kind == "owner":
            self.out.owner_refs.append((value, (*path, kind), "an owner action"))
            return OwnerAction("owner", value, line)
        if kind in CRM_OWNER_PATHS:
            self.out.fields_read.append((CRM_OWNER_PATHS[kind], (*path, kind)))
            return CrmOwner(kind, line)
        if kind == "owner_from":
            return self._owner_from(value, (*path, kind), line)
        if kind == "queue":
            if self.out.queues is not None and value not in self.out.queues:
                self.findings.warning(
                    (*path, kind),
                    "unknown_queue",
                    f"queue '{value}' is not among the declared `queues:`. "
                    f"Add it there, or fix the name. {_closest(value, self.out.queues)}".rstrip(),
                )
            return QueueAction(value, line)
        if value not in self.pool_names:
            hint = _closest(value, self.pool_names) or "Define it under `pools:`."
            self.findings.error((*path, kind), "unknown_pool", f"pool '{value}' is not defined. {hint}")
            return None
        self.out.used_pools.add(value)
        if value not in self.out.pools:  # the pool itself is broken and already reported
            return None
        pool, _ = self.out.pools[value]
        action = PoolAction(
            pool=pool.name,
            strategy=pool.strategy,
            members=pool.members,
            balance_by=pool.balance_by,
            require_skills=pool.require_skills,
            line=line,
        )
        return SkillPool(action, pool.skill_from) if pool.skill_from else action

    # --- routes -------------------------------------------------------------------------

    def _nodes(
        self,
        items: list[Any],
        path: Path,
        prefix: str,
        channel: str | None,
        group_fallbacks: tuple[Step, ...],
    ) -> tuple[Node, ...]:
        nodes: list[Node] = []
        for index, item in enumerate(items):
            item_path = (*path, index)
            if not isinstance(item, dict) or self.bad.at(item_path):
                continue
            node = self._node(item, item_path, prefix, channel, group_fallbacks)
            if node is not None:
                nodes.append(node)
        return tuple(nodes)

    def _node(
        self,
        item: dict[str, Any],
        path: Path,
        prefix: str,
        channel: str | None,
        group_fallbacks: tuple[Step, ...],
    ) -> Node | None:
        is_group = "group" in item
        own_name = item["group"] if is_group else item["name"]
        full = f"{prefix} / {own_name}" if prefix else own_name
        name_path = (*path, "group" if is_group else "name")
        if own_name in self.names_seen:
            first = self.findings.doc.line(self.names_seen[own_name])
            self.findings.error(
                name_path,
                "duplicate_route",
                f"the name '{own_name}' is already used (line {first}). Give every route and group its "
                "own name: reports and decision paths refer to routes by name.",
            )
        else:
            self.names_seen[own_name] = name_path
        self.out.route_paths[full] = path
        when = None
        ok = True
        if "when" in item and not self.bad.under((*path, "when")):
            when = compile_condition(item["when"], (*path, "when"), self._scope())
            ok = when is not None
        elif "when" in item:
            ok = False
        own_channel = item.get("channel") if not self.bad.under((*path, "channel")) else None
        channel = own_channel or channel
        fallback: tuple[Step, ...] = ()
        if "fallback" in item and not self.bad.under((*path, "fallback")):
            fallback = self._actions(item["fallback"], (*path, "fallback"))
        line = self.findings.doc.line(path)
        if is_group:
            children = self._nodes(
                item["routes"], (*path, "routes"), full, channel, (*fallback, *group_fallbacks)
            )
            return Group(full, when, children, line) if ok else None
        if self.bad.under((*path, "assign")):
            return None
        primary = self._action(item["assign"], (*path, "assign"))
        if primary is None or not ok:
            return None
        chain = _dedupe((primary, *fallback, *group_fallbacks, *self.out.default_steps))
        actions = tuple(step for step in chain if not isinstance(step, LeadAction))
        fixed = actions if len(actions) == len(chain) else None
        return Route(full, when, channel or self.out.default_channel, chain, line, fixed)


def _dedupe(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    seen: set[tuple[str, ...]] = set()
    kept = []
    for step in steps:
        key = step_key(step)
        if key not in seen:
            seen.add(key)
            kept.append(step)
    return tuple(kept)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _closest(name: str, options: Collection[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.6)
    return f"Did you mean '{close[0]}'?" if close else ""


def build(compiled: Compiled) -> RuleSet:
    """The rule set of an error-free compilation."""
    default_actions = tuple(step for step in compiled.default_steps if not isinstance(step, LeadAction))
    territories = tuple(territory for territory, _ in compiled.territories)
    return RuleSet(
        version=compiled.version,
        name=compiled.name,
        source=compiled.doc.source,
        default_channel=compiled.default_channel,
        default_steps=compiled.default_steps,
        default_actions=default_actions if len(default_actions) == len(compiled.default_steps) else None,
        territories=territories,
        segments=dict(compiled.segments),
        segment_order=tuple(compiled.segment_order),
        pools={name: pool for name, (pool, _) in compiled.pools.items()},
        queues=compiled.queues,
        routes=compiled.routes,
        sticky_window_s=compiled.sticky_window_s,
        returning_owner_credit=compiled.returning_owner_credit,
        follow_first_owner=compiled.follow_first_owner,
        owner_refs=tuple((owner, compiled.doc.line(path), what) for owner, path, what in compiled.owner_refs),
        warnings=tuple(item for item in compiled.findings.sorted() if item.severity == "warning"),
        territory_index=TerritoryIndex(territories),
    )


def load_rules(text: str, source: str) -> RuleSet:
    """Compile a rule file, or raise :class:`ConfigError` for its first error (file:line: why + fix)."""
    compiled = analyse(text, source)
    errors = [item for item in compiled.findings.sorted() if item.severity == "error"]
    if errors:
        raise errors[0].as_error()
    return build(compiled)


def check_rules(text: str, source: str, owner_ids: Collection[str] | None = None) -> list[Finding]:
    """Every problem in a rule file, errors and warnings, in file order."""
    from processors.rules.check import owner_findings

    compiled = analyse(text, source)
    found = list(compiled.findings.items)
    if owner_ids is not None:
        refs = [(owner, compiled.doc.line(path), what) for owner, path, what in compiled.owner_refs]
        found.extend(owner_findings(source, refs, owner_ids))
    return _sorted(found)


def _sorted(items: list[Finding]) -> list[Finding]:
    return sorted(items, key=lambda item: (item.line or 0, item.severity != "error", item.code, item.message))


__all__ = ["Action", "Compiled", "analyse", "build", "check_rules", "load_rules", "version_of"]
