"""``leadroute rules check``, ``leadroute explain`` and ``leadroute simulate``.

The three tools a RevOps person uses around a rules change: is the file sound,
why does this lead go where it goes, and what would the change do to real leads.
Exit codes: 0 fine; 1 ``rules check`` found errors; 2 bad arguments, unreadable
or invalid files; 4 the broker is unreachable (``simulate --since``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import click
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from processors.config import ConfigError
from streams import wiring
from streams.cli.options import with_settings
from streams.settings import IN_PROCESS_SETTINGS, Settings

console = Console(stderr=True)
out = Console()


def _fail(error: Exception, code: int = 2) -> None:
    console.print(f"[red]{error}[/]")
    sys.exit(code)


# --- options route, explain and simulate share ------------------------------------------------

#: The settings flags ``--rules`` and ``--owners`` stand for in explain and simulate: they
#: still work (hidden from --help), so a script that passes them keeps working.
_FILE_SETTINGS = ("rules_file", "owners_file")

_CRM_KINDS = (
    ("accounts", "account", "accounts"),
    ("contacts", "contact", "contacts"),
    ("leads", "lead", "CRM leads"),
    ("opportunities", "opportunity", "opportunities"),
)


def crm_csv_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--crm-accounts/--crm-contacts/--crm-leads/--crm-opportunities CSV``: a CRM from its exports."""
    for name, _kind, what in reversed(_CRM_KINDS):
        command = click.option(
            f"--crm-{name}",
            f"crm_{name}",
            type=click.Path(exists=True, dir_okay=False),
            help=f"CSV of {what} as 'leadroute crm load' reads it (docs/crm.md): leads are "
            "matched against the CRM of these files, held in memory, instead of the mirror in Redis.",
        )(command)
    return command


def crm_mirror_from(
    settings: Settings,
    *,
    accounts: str | None,
    contacts: str | None,
    leads: str | None,
    opportunities: str | None,
    quiet: bool = False,
) -> tuple[Any, dict[str, Any] | None]:
    """The in-memory CRM of the ``--crm-*`` files and what went into it; (None, None) without any.

    A file that is not readable as its kind raises ValueError (exit 2); a refused row is
    reported on stderr and left out, as ``crm load`` does.
    """
    from streams.routing.router import crm_from_files

    given = {"account": accounts, "contact": contacts, "lead": leads, "opportunity": opportunities}
    files: dict[Any, str] = {kind: path for kind, path in given.items() if path}
    if not files:
        return None, None
    mirror, report = crm_from_files(files, max_candidates=settings.match_name_candidates)
    if not quiet:
        loaded = ", ".join(f"{count} {kind} records" for kind, count in report.records.items())
        console.print(f"[dim]CRM from CSV: {loaded}[/]")
        for row in report.rejections:
            console.print(f"[yellow]{row['file']}:{row['line']}[/] left out of the CRM: {row['reason']}")
    return mirror, report.as_json()


# --- rules check -------------------------------------------------------------------------------


@click.group()
def rules() -> None:
    """Check routing rule files before they go live (see docs/rules.md)."""


@rules.command("example")
def rules_example() -> None:
    """Print the shipped example rule set (territories, segments, pools, routes) to start from.

    leadroute rules example > rules.yaml
    """
    from streams.routing.router import EXAMPLE_RULES

    click.echo(EXAMPLE_RULES.read_text(encoding="utf-8"), nl=False)


@rules.command("check")
@click.argument("rules_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--owners",
    "owners_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Also check pool members and named owners against this owners file (YAML or CSV).",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1 on any finding).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def rules_check(rules_file: str, owners_file: str | None, strict: bool, as_json: bool) -> None:
    """Report every problem in RULES_FILE with file, line and how to fix it.

    Exit codes: 0 no errors (warnings allowed unless --strict); 1 errors found;
    2 the owners file cannot be used.
    """
    from processors.rules import check_rules, load_rules
    from streams.routing.router import read_owners

    owner_ids = None
    if owners_file:
        try:
            owner_ids = [owner.id for owner in read_owners(owners_file)]
        except ConfigError as error:
            _fail(error)
    text = Path(rules_file).read_text(encoding="utf-8")
    findings = check_rules(text, rules_file, owner_ids)
    errors = [f for f in findings if f.severity == "error"]
    version = None
    if not errors:
        version = load_rules(text, rules_file).version
    if as_json:
        print(
            json.dumps(
                {
                    "file": rules_file,
                    "version": version,
                    "errors": len(errors),
                    "warnings": len(findings) - len(errors),
                    "findings": [
                        {"line": f.line, "severity": f.severity, "code": f.code, "message": f.message}
                        for f in findings
                    ],
                },
                indent=2,
            )
        )
    else:
        for finding in findings:
            colour = "red" if finding.severity == "error" else "yellow"
            where = f"{finding.source}:{finding.line}" if finding.line else finding.source
            out.print(
                f"[bold]{where}[/]: [{colour}]{finding.severity}[/] [dim]{finding.code}[/] {finding.message}"
            )
        if errors:
            out.print(
                f"[red]{len(errors)} error(s)[/], {len(findings) - len(errors)} warning(s): not loadable."
            )
        else:
            out.print(
                f"[green]OK[/] {rules_file} loads as version {version}"
                + (f" ({len(findings)} warning(s))" if findings else "")
            )
    sys.exit(1 if errors or (strict and findings) else 0)


# --- explain -----------------------------------------------------------------------------------


def _lead_from_document(document: dict[str, Any], router: Any) -> Any:
    """Accept an assignment event, a processed lead or a raw lead, and bring it to the assign stage."""
    from processors.intake import raw_lead_from_json
    from processors.models import Lead
    from processors.pipeline import enrich_stage, match_stage, normalize_stage, segment_stage

    if "lead" in document and "assignment_id" in document:
        document = document["lead"]
    clock = router.clock
    lead: Lead
    if "normalized" in document and "raw" in document:
        # A processed lead, as the stages wrote it: "normalized" and "raw" are a Lead's fields.
        lead = cast(Lead, document)
        if lead.get("enrichment") is None:
            lead = enrich_stage(lead, enricher=router.enricher, clock=clock)
    else:
        raw = raw_lead_from_json(document)
        lead = enrich_stage(
            normalize_stage(
                raw, received_at_ms=clock.now_ms(), clock=clock, max_custom_bytes=router.max_custom_bytes
            ),
            enricher=router.enricher,
            clock=clock,
        )
    if lead.get("crm") is None:
        [lead] = match_stage([lead], matcher=router.matcher, mirror=router.mirror, clock=clock)
    if lead.get("segment") is None:
        lead = segment_stage(lead, segmenter=router.segmenter, clock=clock)
    return lead


def parse_at(value: str | None) -> int | None:
    """``--at``/``--since``/``--until``: an ISO date-time with its offset → epoch ms (None stays None)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date-time, e.g. 2026-11-25T14:00:00+01:00"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone offset, e.g. 2026-11-25T14:00:00Z")
    return int(moment.timestamp() * 1000)


@click.command()
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(exists=True, dir_okay=False),
    help="The rules to explain with [default: LEADROUTE_RULES_FILE, else the default queue].",
)
@click.option(
    "--lead",
    "lead_file",
    type=click.File("r", encoding="utf-8"),
    default="-",
    show_default=True,
    help="One lead as JSON: raw, processed, or an assignment event.",
)
@click.option(
    "--owners",
    "owners_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Owners to judge availability with [default: LEADROUTE_OWNERS_FILE].",
)
@click.option("--at", "at", help="Explain as of this ISO date-time (working hours, out of office, caps).")
@click.option(
    "--crm",
    type=click.Choice(["none", "redis"]),
    default="none",
    show_default=True,
    help="Match raw leads against the CRM mirror in Redis, or against no CRM.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the assignment event as JSON.")
@with_settings(shown=IN_PROCESS_SETTINGS - set(_FILE_SETTINGS))
def explain(
    settings: Settings,
    rules_path: str | None,
    lead_file: Any,
    owners_path: str | None,
    at: str | None,
    crm: str,
    as_json: bool,
) -> None:
    """Show why a lead goes where it goes: routes tried, conditions with the values seen, owners skipped.

    Nothing is written anywhere: the decision is made with a fresh in-memory ledger.
    Exit codes: 0 explained; 2 bad rules, owners or lead.
    """
    from processors.errors import InvalidLead
    from processors.intake import parse_json
    from processors.pipeline import assign_stage
    from streams.routing.router import in_process_router, owners_for
    from streams.routing.rules_source import rules_for
    from streams.routing.simulate import SettableClock

    at_ms = parse_at(at)
    try:
        rule_set = rules_for(settings, rules_path)
        owners = owners_for(settings, owners_path)
        mirror = None
        if crm == "redis":
            mirror = wiring.crm_mirror(settings)
        clock = SettableClock(at_ms) if at_ms is not None else None
        router = in_process_router(settings, rules=rule_set, owners=owners, mirror=mirror, clock=clock)
        document = parse_json(lead_file.read())  # the stream's limits: depth, long numbers, broken text
        if not isinstance(document, dict):
            raise ValueError("the lead must be one JSON object")
        lead = _lead_from_document(document, router)
        plan = rule_set.plan(lead)
        [decided] = assign_stage(
            [lead],
            rules=rule_set,
            owners=router.owners,
            ledger=router.ledger,
            clock=router.clock,
            last_resort_queue=router.last_resort_queue,
        )
    except (ValueError, InvalidLead) as error:
        _fail(error)
        return
    if as_json:
        print(json.dumps(decided, ensure_ascii=False, indent=2, default=str))
        return
    out.print(explanation_tree(rule_set, plan, decided))


def explanation_tree(rule_set: Any, plan: Any, decided: Any) -> Tree:
    from processors.rules import explain_tree

    title = (
        f"[bold]{rule_set.name or rule_set.source}[/] [dim]{rule_set.version}[/] — lead {decided['lead_id']}"
    )
    tree = Tree(title)
    facts = tree.add("[bold]what the rules saw[/]")
    facts.add(f"territories: {', '.join(plan.territories) or 'none'}")
    facts.add(f"named segments: {', '.join(plan.segments) or 'none'}")
    if plan.sticky_key:
        facts.add(f"new logo: {plan.sticky_key} (sticky for {plan.sticky_window_s // 86400} days)")
    routes = tree.add("[bold]routes, top to bottom (first match wins)[/]")

    def add(branch: Tree, nodes: list[Any]) -> None:
        for node in nodes:
            mark = "[green]✓[/]" if node.matched else "[red]✗[/]"
            label = f"{mark} {node.kind} [bold]{node.name}[/]"
            if node.line:
                label += f" [dim](line {node.line})[/]"
            if node.chosen:
                label += " [green]← chosen[/]"
            child = branch.add(label)
            for condition in node.conditions:
                child.add(f"[dim]{condition}[/]")
            add(child, node.children)

    add(routes, explain_tree(plan))
    actions = tree.add("[bold]actions, in order[/]")
    for line in decided["decision_path"]:
        if line.startswith(("action", "fallback", "replayed")):
            actions.add(line)
    who = (
        f"owner [bold]{decided['destination']}[/]"
        if decided["destination_type"] == "owner"
        else f"queue [bold]{decided['destination']}[/]"
    )
    tree.add(f"[bold]decision[/]: {who} on channel [bold]{decided['channel']}[/]")
    tree.add(f"[dim]{decided['reason']}[/]")
    return tree


# --- simulate ----------------------------------------------------------------------------------


@click.command()
@click.option(
    "--rules",
    "rules_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="The draft rules.",
)
@click.option(
    "--against",
    "against_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Compare with these rules [default: raw leads → LEADROUTE_RULES_FILE or the default queue; "
    "past events → what actually happened].",
)
@click.option(
    "--input", "input_path", type=click.Path(exists=True, dir_okay=False), help="Raw leads (.jsonl/.csv)."
)
@click.option(
    "--assignments",
    "assignments_path",
    type=click.Path(exists=True, dir_okay=False),
    help="An export of past leads.assigned events (JSONL) to re-route.",
)
@click.option("--since", help="Re-route events on leads.assigned from this ISO date-time (needs the broker).")
@click.option("--until", help="…up to this ISO date-time [default: now].")
@click.option(
    "--owners",
    "owners_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Owners for both sides [default: LEADROUTE_OWNERS_FILE].",
)
@crm_csv_options
@click.option(
    "--limit", type=click.IntRange(1), default=100_000, show_default=True, help="Most leads to read."
)
@click.option("--show", type=click.IntRange(0), default=10, show_default=True, help="Changed leads to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
@with_settings(hidden=_FILE_SETTINGS)
def simulate(
    settings: Settings,
    rules_path: str,
    against_path: str | None,
    input_path: str | None,
    assignments_path: str | None,
    since: str | None,
    until: str | None,
    owners_path: str | None,
    crm_accounts: str | None,
    crm_contacts: str | None,
    crm_leads: str | None,
    crm_opportunities: str | None,
    limit: int,
    show: int,
    as_json: bool,
) -> None:
    """Show what a draft rule set would change: owners, channels and routes, before and after.

    Raw leads (--input) are matched against the CRM of the --crm-* files, or no CRM;
    past events keep the CRM match they were decided with.

    Exit codes: 0 simulated; 2 bad arguments, rules, owners or input; 4 the broker
    is unreachable (--since).
    """
    from streams.routing.router import in_process_router, owners_for
    from streams.routing.rules_source import rules_for
    from streams.routing.simulate import compare, read_assignment_events, read_raw_leads, replay, route_fresh

    sources = [bool(input_path), bool(assignments_path), bool(since)]
    if sum(sources) != 1:
        _fail(click.UsageError("give exactly one of --input, --assignments or --since"))
    crm_files = {
        "accounts": crm_accounts,
        "contacts": crm_contacts,
        "leads": crm_leads,
        "opportunities": crm_opportunities,
    }
    if not input_path and any(crm_files.values()):
        _fail(click.UsageError("--crm-* files apply to --input; past events keep the CRM match they had"))
    try:
        draft = rules_for(settings, rules_path)
        owners = owners_for(settings, owners_path)
        if not owners:
            console.print(
                "[yellow]No owners given (--owners or LEADROUTE_OWNERS_FILE): every pool will be empty.[/]"
            )
        against = rules_for(settings, against_path) if (against_path or input_path) else None
        if input_path:
            crm, _ = crm_mirror_from(settings, **crm_files, quiet=as_json)
            router = in_process_router(settings, rules=draft, owners=owners, mirror=crm)
            leads, rejected = read_raw_leads(Path(input_path), router)
            leads = leads[:limit]
            if rejected:
                console.print(f"[yellow]{len(rejected)} line(s) are not leads and were left out[/]")
            assert against is not None
            before = route_fresh(leads, against, router)
            after = route_fresh(leads, draft, router)
            before_label = against.version
        else:
            if assignments_path:
                events = list(read_assignment_events(Path(assignments_path)))[:limit]
            else:
                since_ms = parse_at(since)
                assert since_ms is not None
                try:
                    from streams.routing.simulate import read_assigned_topic

                    events = read_assigned_topic(settings, since_ms, parse_at(until), limit)
                except Exception as error:
                    if isinstance(error, ValueError):
                        raise
                    _fail(error, 4)
                    return
            window_s = settings.duplicate_window_days * 86_400
            after = replay(events, draft, owners, settings.default_queue, window_s)
            if against is not None:
                before = replay(events, against, owners, settings.default_queue, window_s)
                before_label = against.version
            else:
                from streams.routing.simulate import outcome_of

                before = [outcome_of(event) for event in events]
                before_label = "what happened"
    except (ValueError, ConfigError) as error:
        _fail(error)
        return
    diff = compare(before, after, before_label=before_label, after_label=draft.version, draft=draft)
    if as_json:
        print(json.dumps(diff.as_json(show), indent=2))
        return
    print_diff(diff.as_json(show))


def print_diff(diff: dict[str, Any]) -> None:
    total = diff["leads"]
    summary = Table(title=f"{diff['before']} → {diff['after']}", show_header=False)
    summary.add_row("leads", str(total))
    for key in ("owner_changed", "channel_changed", "route_changed"):
        share = f" ({diff[key] / total:.1%})" if total else ""
        summary.add_row(key.replace("_", " "), f"{diff[key]}{share}")
    out.print(summary)
    for title, rows in (("owners and queues", diff["destinations"]), ("channels", diff["channels"])):
        table = Table(title=title)
        for column in ("name", "before", "after", "delta", "share before", "share after"):
            table.add_column(column, justify="left" if column == "name" else "right")
        for row in rows:
            delta = row["delta"]
            colour = "green" if delta > 0 else "red" if delta < 0 else "dim"
            table.add_row(
                row["name"],
                str(row["before"]),
                str(row["after"]),
                f"[{colour}]{delta:+d}[/]",
                f"{row['share_before']:.1%}",
                f"{row['share_after']:.1%}",
            )
        out.print(table)
    if diff["routes_matching_nothing"]:
        out.print(
            "[yellow]Routes in the draft that no lead matched:[/] "
            + ", ".join(diff["routes_matching_nothing"])
        )
    if diff["changes"]:
        table = Table(title="changed leads (first ones)")
        for column in ("lead", "before", "after"):
            table.add_column(column)
        for change in diff["changes"]:
            b, a = change["before"], change["after"]
            table.add_row(
                change["lead_id"],
                f"{b['destination']} [{b['channel']}] {b['route'] or '(no route)'}",
                f"{a['destination']} [{a['channel']}] {a['route'] or '(no route)'}",
            )
        out.print(table)
