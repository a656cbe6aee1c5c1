"""``leadroute route`` as a user meets it: shared flag names, a short --help, CRM CSVs, --at, output size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli.main import main
from streams.routing.router import DEMO_OWNERS, EXAMPLE_RULES

ENV = {"LEADROUTE_FIRMOGRAPHICS": "none", "LEADROUTE_LOG_LEVEL": "WARNING"}
LEAD = {
    "lead_id": "l-1",
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


def _leads(tmp_path: Path, *leads: dict) -> str:
    path = tmp_path / "leads.jsonl"
    path.write_text("".join(json.dumps(lead) + "\n" for lead in leads), encoding="utf-8")
    return str(path)


def _route(tmp_path: Path, *args: str) -> tuple[int, list[dict]]:
    out = tmp_path / "out.jsonl"
    code, _ = _run(
        "route", "--input", _leads(tmp_path, LEAD), "--output", str(out), "--state", "memory", *args
    )
    return code, [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


@pytest.mark.parametrize(
    ("rules_flag", "owners_flag"), [("--rules", "--owners"), ("--rules-file", "--owners-file")]
)
def test_route_takes_rules_and_owners_by_the_new_and_the_old_names(
    tmp_path: Path, rules_flag: str, owners_flag: str
) -> None:
    code, [event] = _route(tmp_path, rules_flag, str(EXAMPLE_RULES), owners_flag, str(DEMO_OWNERS))
    assert code == 0
    assert event["route"] == "emea / enterprise"
    assert event["destination_type"] == "owner"


@pytest.mark.parametrize(
    ("rules_flag", "owners_flag"), [("--rules", "--owners"), ("--rules-file", "--owners-file")]
)
def test_explain_takes_rules_and_owners_by_the_new_and_the_old_names(
    rules_flag: str, owners_flag: str
) -> None:
    code, out = _run(
        "explain",
        rules_flag,
        str(EXAMPLE_RULES),
        owners_flag,
        str(DEMO_OWNERS),
        "--json",
        stdin=json.dumps(LEAD),
    )
    assert code == 0
    assert json.loads(out)["route"] == "emea / enterprise"


@pytest.mark.parametrize("owners_flag", ["--owners", "--owners-file"])
def test_simulate_takes_rules_and_owners_by_the_new_and_the_old_names(
    tmp_path: Path, owners_flag: str
) -> None:
    code, out = _run(
        "simulate", "--rules", str(EXAMPLE_RULES), owners_flag, str(DEMO_OWNERS),
        "--input", _leads(tmp_path, LEAD), "--json",
    )  # fmt: skip
    assert code == 0
    diff = json.loads(out)
    assert any(row["name"].startswith("owner:") and row["after"] == 1 for row in diff["destinations"])


def test_route_help_lists_batch_options_only_and_hidden_settings_still_work(tmp_path: Path) -> None:
    code, out = _run("route", "--help")
    assert code == 0
    for shown in ("--rules", "--owners", "--state", "--crm-accounts", "--at", "--output-fields", "--compact"):
        assert shown in out
    for hidden in ("--kafka-bootstrap", "--kafka-sasl-password", "--commit-interval", "--partitions",
                   "--metrics-port", "--rules-file", "--owners-file", "--topic-prefix"):  # fmt: skip
        assert hidden not in out
    code, [event] = _route(tmp_path, "--kafka-bootstrap", "nowhere:1", "--default-queue", "elsewhere")
    assert code == 0 and event["destination"] == "elsewhere"


def test_compact_and_output_fields_write_less(tmp_path: Path) -> None:
    _, [full] = _route(tmp_path, "--rules", str(EXAMPLE_RULES), "--owners", str(DEMO_OWNERS))
    assert "lead" in full
    _, [compact] = _route(tmp_path, "--rules", str(EXAMPLE_RULES), "--owners", str(DEMO_OWNERS), "--compact")
    assert "lead" not in compact and compact["destination"] == full["destination"]
    fields = "lead_id,destination,channel,route,lead.normalized.country_code"
    _, [picked] = _route(
        tmp_path, "--rules", str(EXAMPLE_RULES), "--owners", str(DEMO_OWNERS), "--output-fields", fields
    )
    assert picked == {
        "lead_id": "l-1",
        "destination": full["destination"],
        "channel": full["channel"],
        "route": "emea / enterprise",
        "lead.normalized.country_code": "GB",
    }


def test_an_unknown_output_field_is_refused_before_routing(tmp_path: Path) -> None:
    code, out = _run(
        "route", "--input", _leads(tmp_path, LEAD), "--output", str(tmp_path / "o.jsonl"),
        "--state", "memory", "--output-fields", "lead_id,lead.crm.acount.id",
    )  # fmt: skip
    assert code == 2
    assert "acount" in out and not (tmp_path / "o.jsonl").exists()


def test_a_lead_at_an_account_in_a_crm_csv_goes_to_the_account_owner(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,name,domains,owner_id\nacc-1,Bigcorp plc,bigcorp-example.co.uk,sam.adeyemi\n")
    _, [without] = _route(tmp_path, "--rules", str(EXAMPLE_RULES), "--owners", str(DEMO_OWNERS))
    assert without["destination"] != "sam.adeyemi"
    code, [event] = _route(
        tmp_path, "--rules", str(EXAMPLE_RULES), "--owners", str(DEMO_OWNERS), "--crm-accounts", str(accounts)
    )
    assert code == 0
    assert event["lead"]["crm"]["account"]["id"] == "acc-1"
    assert (event["destination_type"], event["destination"]) == ("owner", "sam.adeyemi")


def test_route_at_a_time_judges_working_hours_then(tmp_path: Path) -> None:
    owners = tmp_path / "owners.yaml"
    owners.write_text(
        "owners:\n"
        + "".join(
            f"  - {{id: {o}, time_zone: Europe/London, working_hours: 'mon-fri 09:00-17:00'}}\n"
            for o in ("kate.obrien", "hugo.martin", "greta.schulz")
        )
    )
    args = ("--rules", str(EXAMPLE_RULES), "--owners", str(owners))
    _, [working] = _route(tmp_path, *args, "--at", "2026-11-25T10:00:00Z")  # a Wednesday
    assert working["destination_type"] == "owner"
    assert working["decided_at_ms"] == 1795600800000
    _, [weekend] = _route(tmp_path, *args, "--at", "2026-11-28T10:00:00Z")  # a Saturday
    assert weekend["destination_type"] == "queue"
    assert any("outside working hours" in skip["reason"] for skip in weekend["skips"])
    code, _ = _route(tmp_path, *args, "--at", "2026-11-25T10:00:00")
    assert code == 2


def test_route_with_redis_state_and_no_redis_says_so_and_exits_5(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(
        main,
        [
            "route",
            "--input",
            _leads(tmp_path, LEAD),
            "--output",
            str(tmp_path / "o.jsonl"),
            "--state",
            "redis",
        ],
        env={**ENV, "LEADROUTE_REDIS_URL": f"redis://127.0.0.1:{port}/0"},
        catch_exceptions=False,
    )
    assert result.exit_code == 5
    assert "is unreachable" in result.output and "--state memory" in result.output
    assert "Traceback" not in result.output
