"""``rules check``, ``explain`` and ``simulate`` as a user runs them: no broker, no Redis."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from streams.cli.main import main
from streams.routing.router import DEMO_OWNERS, EXAMPLE_RULES

ENV = {"LEADROUTE_FIRMOGRAPHICS": "none", "LEADROUTE_LOG_LEVEL": "WARNING"}
EMEA_ENTERPRISE = {
    "email": "cto@bigcorp-example.co.uk",
    "company": "Bigcorp plc",
    "employees": "4000",
    "country": "GB",
    "title": "Chief Technology Officer",
    "source": "web",
}


def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin, env=ENV, catch_exceptions=False)
    return result.exit_code, result.output


def test_rules_check_passes_the_example_against_its_team() -> None:
    code, out = _run("rules", "check", str(EXAMPLE_RULES), "--owners", str(DEMO_OWNERS), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["errors"] == 0 and report["version"].startswith("rules@")


def test_rules_check_lists_every_error_with_its_line_and_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text(
        "version: 1\n"
        "defaults: {channel: sales}\n"
        "routes:\n"
        "  - name: a\n"
        "    when: {field: segment.sise_band, equals: smb}\n"
        "    assign: {pool: nobody}\n",
        encoding="utf-8",
    )
    code, out = _run("rules", "check", str(broken), "--json")
    assert code == 1
    findings = json.loads(out)["findings"]
    lines = {f["line"] for f in findings if f["severity"] == "error"}
    assert {5, 6} <= lines
    assert any("segment.size_band" in f["message"] for f in findings)  # the closest known path


def test_rules_example_prints_a_file_that_checks_clean(tmp_path: Path) -> None:
    code, out = _run("rules", "example")
    assert code == 0
    copy = tmp_path / "rules.yaml"
    copy.write_text(out, encoding="utf-8")
    assert _run("rules", "check", str(copy))[0] == 0


def test_explain_shows_the_route_and_the_pool_choice() -> None:
    code, out = _run(
        "explain",
        "--rules",
        str(EXAMPLE_RULES),
        "--owners",
        str(DEMO_OWNERS),
        "--json",
        stdin=json.dumps(EMEA_ENTERPRISE),
    )
    assert code == 0
    event = json.loads(out)
    assert event["route"] == "emea / enterprise"
    assert event["destination"] in {"kate.obrien", "hugo.martin", "greta.schulz"}
    assert any(tried["route"] == "emea" and tried["matched"] for tried in event["routes_tried"])


def test_explain_as_of_a_time_judges_availability_then(tmp_path: Path) -> None:
    owners = tmp_path / "owners.yaml"
    owners.write_text(
        "owners:\n"
        "  - {id: kate.obrien, time_zone: Europe/Dublin, working_hours: 'mon-fri 09:00-17:00'}\n"
        "  - {id: hugo.martin, time_zone: Europe/Paris,"
        " out_of_office: [{from: 2026-11-23, until: 2026-11-28}]}\n"
        "  - {id: greta.schulz, time_zone: Europe/Berlin, status: away}\n",
        encoding="utf-8",
    )
    code, out = _run(
        "explain",
        "--rules",
        str(EXAMPLE_RULES),
        "--owners",
        str(owners),
        "--at",
        "2026-11-25T10:00:00+00:00",
        "--json",
        stdin=json.dumps(EMEA_ENTERPRISE),
    )
    assert code == 0
    event = json.loads(out)
    assert event["destination"] == "kate.obrien"
    reasons = {skip["owner_id"]: skip["reason"] for skip in event["skips"]}
    assert reasons["greta.schulz"] == "status away"
    assert reasons["hugo.martin"] == "out of office until 2026-11-29 00:00 Europe/Paris"  # whole days


def test_explain_prints_a_tree_a_person_can_read() -> None:
    code, out = _run(
        "explain",
        "--rules",
        str(EXAMPLE_RULES),
        "--owners",
        str(DEMO_OWNERS),
        stdin=json.dumps(EMEA_ENTERPRISE),
    )
    assert code == 0
    assert "routes, top to bottom" in out and "← chosen" in out and "decision" in out


def test_explain_refuses_a_bad_lead_with_exit_2() -> None:
    code, _ = _run("explain", "--rules", str(EXAMPLE_RULES), stdin="[1, 2]")
    assert code == 2


def _leads_file(tmp_path: Path) -> Path:
    from streams.demo.synthetic import generate

    path = tmp_path / "leads.jsonl"
    path.write_text(
        "".join(
            json.dumps(m.payload) + "\n" for m in generate(200, seed=5, invalid_share=0, garbage_share=0)
        ),
        encoding="utf-8",
    )
    return path


def test_simulate_counts_what_a_draft_would_change(tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    # The draft sends every EMEA enterprise lead to one named owner instead of the pool.
    draft.write_text(
        EXAMPLE_RULES.read_text(encoding="utf-8").replace(
            "        assign: {pool: emea-enterprise}\n", "        assign: {owner: sam.adeyemi}\n", 1
        ),
        encoding="utf-8",
    )
    code, out = _run(
        "simulate",
        "--rules",
        str(draft),
        "--against",
        str(EXAMPLE_RULES),
        "--input",
        str(_leads_file(tmp_path)),
        "--owners",
        str(DEMO_OWNERS),
        "--json",
    )
    assert code == 0
    diff = json.loads(out)
    assert diff["leads"] == 200
    destinations = {row["name"]: row for row in diff["destinations"]}
    moved = destinations["owner:sam.adeyemi"]["delta"]
    assert moved > 0
    assert diff["owner_changed"] >= moved - destinations["owner:sam.adeyemi"]["before"]
    assert diff["channel_changed"] == 0
    emea = [c for c in diff["changes"] if c["after"]["route"] == "emea / enterprise"]
    assert emea and all(c["after"]["destination"] == "owner:sam.adeyemi" for c in emea)
    # Owners shared with load-balanced pools now carry less, so a few other picks move too.
    assert diff["route_changed"] == 0


def test_simulate_the_same_rules_changes_nothing(tmp_path: Path) -> None:
    code, out = _run(
        "simulate",
        "--rules",
        str(EXAMPLE_RULES),
        "--against",
        str(EXAMPLE_RULES),
        "--input",
        str(_leads_file(tmp_path)),
        "--owners",
        str(DEMO_OWNERS),
        "--json",
    )
    assert code == 0
    diff = json.loads(out)
    assert (diff["owner_changed"], diff["channel_changed"], diff["route_changed"]) == (0, 0, 0)


def test_simulate_replays_past_assignment_events_against_what_happened(tmp_path: Path) -> None:
    leads = _leads_file(tmp_path)
    past = tmp_path / "assigned.jsonl"
    env = {**ENV, "LEADROUTE_RULES_FILE": str(EXAMPLE_RULES), "LEADROUTE_OWNERS_FILE": str(DEMO_OWNERS)}
    routed = CliRunner().invoke(
        main, ["route", "--input", str(leads), "--output", str(past), "--state", "memory", "--json"], env=env
    )
    assert routed.exit_code == 0, routed.output
    nurture_everything = tmp_path / "nurture.yaml"
    nurture_everything.write_text(
        "version: 1\ndefaults: {channel: nurture}\nroutes:\n  - name: all\n    assign: {queue: nurture}\n",
        encoding="utf-8",
    )
    code, out = _run(
        "simulate",
        "--rules",
        str(nurture_everything),
        "--assignments",
        str(past),
        "--owners",
        str(DEMO_OWNERS),
        "--json",
    )
    assert code == 0
    diff = json.loads(out)
    assert diff["before"] == "what happened"
    assert diff["leads"] == 200
    before_nurture = next(r["before"] for r in diff["channels"] if r["name"] == "nurture")
    assert diff["channel_changed"] == 200 - before_nurture
    assert "catch-all" not in diff["routes_matching_nothing"]  # only the draft's routes are listed
    assert diff["routes_matching_nothing"] == []


def test_simulate_needs_exactly_one_source() -> None:
    code, _ = _run("simulate", "--rules", str(EXAMPLE_RULES))
    assert code == 2


def test_explain_refuses_deeply_nested_json_with_exit_2() -> None:
    body = '{"email":"a@b.io","x":' + "[" * 10_000 + "]" * 10_000 + "}"
    code, out = _run("explain", "--rules", str(EXAMPLE_RULES), "--owners", str(DEMO_OWNERS), stdin=body)
    assert code == 2
    assert "levels deep" in out


def _import_listing_a_person_twice(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """Three leads, the third the first person again, routed: (leads file, events file, env)."""
    leads = tmp_path / "import.jsonl"
    people = [
        {"lead_id": "imp-1", **EMEA_ENTERPRISE},
        {"lead_id": "imp-2", "email": "someone@else-example.de", "country": "DE", "source": "web"},
        {"lead_id": "imp-3", **EMEA_ENTERPRISE, "email": "CTO@Bigcorp-Example.co.uk"},
    ]
    leads.write_text("".join(json.dumps(p) + "\n" for p in people), encoding="utf-8")
    out = tmp_path / "assigned.jsonl"
    env = {**ENV, "LEADROUTE_RULES_FILE": str(EXAMPLE_RULES), "LEADROUTE_OWNERS_FILE": str(DEMO_OWNERS)}
    routed = CliRunner().invoke(
        main, ["route", "--input", str(leads), "--output", str(out), "--state", "memory"], env=env
    )
    assert routed.exit_code == 0, routed.output
    return leads, out, env


def test_route_marks_a_person_listed_twice_as_a_duplicate_of_the_first(tmp_path: Path) -> None:
    leads, out, env = _import_listing_a_person_twice(tmp_path)
    events = {e["lead_id"]: e for e in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert not events["imp-1"]["is_duplicate"] and not events["imp-2"]["is_duplicate"]
    assert events["imp-3"]["is_duplicate"] and events["imp-3"]["duplicate_of"]["lead_id"] == "imp-1"
    assert events["imp-3"]["destination"] == events["imp-1"]["destination"]
    off = CliRunner().invoke(
        main,
        ["route", "--input", str(leads), "--output", str(out), "--state", "memory"],
        env={**env, "LEADROUTE_DUPLICATE_WINDOW_DAYS": "0"},
    )
    assert off.exit_code == 0, off.output
    assert not any(json.loads(line)["is_duplicate"] for line in out.read_text(encoding="utf-8").splitlines())


def test_simulate_replays_find_duplicates_among_past_events(tmp_path: Path) -> None:
    _, past, _ = _import_listing_a_person_twice(tmp_path)
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        "version: 1\ndefaults: {channel: sales}\nduplicates: {follow_first_owner: false}\nroutes:\n"
        "  - name: repeats\n    when: {exists: duplicate.lead_id}\n    assign: {queue: duplicates}\n"
        "  - name: all\n    assign: {queue: inbound}\n",
        encoding="utf-8",
    )
    args = ["simulate", "--rules", str(draft), "--assignments", str(past), "--owners", str(DEMO_OWNERS)]
    code, out = _run(*args, "--json")
    assert code == 0, out
    after = {r["name"]: r["after"] for r in json.loads(out)["destinations"]}
    assert (after.get("queue:duplicates"), after.get("queue:inbound")) == (1, 2)
    result = CliRunner().invoke(main, [*args, "--json"], env={"LEADROUTE_DUPLICATE_WINDOW_DAYS": "0"})
    off = {r["name"]: r["after"] for r in json.loads(result.output)["destinations"]}
    assert off.get("queue:duplicates") is None and off["queue:inbound"] == 3
