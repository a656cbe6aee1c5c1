"""The commands a user runs, as subprocesses, against the real broker and Redis."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from streams import topics
from streams.settings import Settings, settings_env
from streams.stages.registry import STAGES
from tests.integration.conftest import PipelineProbe, make_settings
from tests.support.services import Services

pytestmark = pytest.mark.integration
LEADROUTE = [sys.executable, "-m", "streams.cli"]


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, **settings_env(settings)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def test_topics_create_is_idempotent(infra: Services) -> None:
    settings = make_settings(infra)
    first = subprocess.run(
        [*LEADROUTE, "topics", "create", "--json"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    assert {r["status"] for r in json.loads(first.stdout)} == {"created"}
    second = subprocess.run(
        [*LEADROUTE, "topics", "create", "--json"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 0, second.stderr
    results = json.loads(second.stdout)
    assert {r["status"] for r in results} == {"exists"}
    wanted = [
        *topics.ALL_TOPICS,
        topics.channel_topic(settings.default_channel),
    ]  # the default rules' channel
    assert [r["topic"] for r in results] == [topics.name(settings, t) for t in wanted]


def test_topics_create_makes_a_topic_per_channel_of_the_rules_file(infra: Services) -> None:
    from streams.routing.router import EXAMPLE_RULES

    settings = make_settings(infra, rules_file=str(EXAMPLE_RULES))
    done = subprocess.run(
        [*LEADROUTE, "topics", "create", "--json"],
        env=_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    created = {r["topic"] for r in json.loads(done.stdout)}
    for channel in ("sales", "disqualified", "nurture", "inbound"):
        assert topics.name(settings, topics.channel_topic(channel)) in created


def test_a_stage_refuses_to_start_without_its_topics(infra: Services) -> None:
    settings = make_settings(infra)
    result = subprocess.run(
        [*LEADROUTE, "run", "enrich"], env=_env(settings), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert "leadroute topics create" in result.stderr


def test_run_all_routes_a_lead_then_stops_on_sigterm_without_orphans(infra: Services) -> None:
    settings = make_settings(infra, metrics_port=0)
    subprocess.run(
        [*LEADROUTE, "topics", "create"], env=_env(settings), check=True, capture_output=True, timeout=60
    )
    supervisor = subprocess.Popen(
        [*LEADROUTE, "run", "all"], env=_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    probe = PipelineProbe(settings)
    try:
        lead_id = f"cli-{uuid.uuid4().hex[:8]}"
        probe.publish(json.dumps({"lead_id": lead_id, "email": "ops@example.org"}).encode())
        probe.wait_for(lambda: probe.assigned_for(lead_id))
        stages = _children(supervisor.pid)
        assert len(stages) == len(STAGES)  # the five lead stages, crm-sync and owner-sync
        started = time.monotonic()
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(20) == 0
        assert time.monotonic() - started < 15
        time.sleep(0.5)
        assert not [pid for pid in stages if _alive(pid)], "stage processes outlived the supervisor"
    finally:
        probe.close()
        if supervisor.poll() is None:
            supervisor.kill()


def test_a_killed_supervisor_leaves_no_orphans(infra: Services) -> None:
    settings = make_settings(infra, metrics_port=0)
    subprocess.run(
        [*LEADROUTE, "topics", "create"], env=_env(settings), check=True, capture_output=True, timeout=60
    )
    supervisor = subprocess.Popen(
        [*LEADROUTE, "run", "all"], env=_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while len(_children(supervisor.pid)) < len(STAGES) and time.monotonic() < deadline:
            time.sleep(0.2)
        stages = _children(supervisor.pid)
        assert len(stages) == len(STAGES)  # the five lead stages, crm-sync and owner-sync
    finally:
        supervisor.kill()  # also when the assertion fails: never leave a supervisor behind
        supervisor.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in stages) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in stages if _alive(pid)]


def test_run_all_restarts_a_stage_that_dies(infra: Services) -> None:
    settings = make_settings(infra, metrics_port=0)
    subprocess.run(
        [*LEADROUTE, "topics", "create"], env=_env(settings), check=True, capture_output=True, timeout=60
    )
    supervisor = subprocess.Popen(
        [*LEADROUTE, "run", "all"], env=_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    probe = PipelineProbe(settings)
    try:
        deadline = time.monotonic() + 20
        while len(_children(supervisor.pid)) < len(STAGES) and time.monotonic() < deadline:
            time.sleep(0.2)
        before = set(_children(supervisor.pid))
        victim = next(pid for pid in before if b"enrich" in Path(f"/proc/{pid}/cmdline").read_bytes())
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = set(_children(supervisor.pid))
            if len(now) == len(STAGES) and victim not in now:
                break
            time.sleep(0.2)
        assert victim not in _children(supervisor.pid)
        assert len(_children(supervisor.pid)) == len(STAGES), "the dead stage was not restarted"
        lead_id = f"restart-{uuid.uuid4().hex[:8]}"
        probe.publish(json.dumps({"lead_id": lead_id, "email": "ops@example.org"}).encode())
        probe.wait_for(lambda: probe.assigned_for(lead_id))
    finally:
        probe.close()
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(20)


def test_run_all_stops_with_the_stage_exit_code_when_topics_are_missing(infra: Services) -> None:
    settings = make_settings(infra, metrics_port=0)
    result = subprocess.run(
        [*LEADROUTE, "run", "all"], env=_env(settings), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert "stopping all stages" in result.stderr


def test_a_stage_serves_metrics_and_health(infra: Services) -> None:
    from streams.demo.embedded import free_port

    settings = make_settings(infra)
    subprocess.run(
        [*LEADROUTE, "topics", "create"], env=_env(settings), check=True, capture_output=True, timeout=60
    )
    port = free_port()
    stage = subprocess.Popen(
        [*LEADROUTE, "run", "normalize", "--stage-port", str(port)],
        env=_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    probe = PipelineProbe(settings)
    try:
        probe.publish(b"not json at all")
        deadline = time.monotonic() + 40
        body, health = "", {}
        while time.monotonic() < deadline:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
                health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2))
            except OSError:
                time.sleep(0.3)
                continue
            if (
                'leadroute_dlq_total{code="undecodable",stage="normalize"} 1.0' in body
                and health.get("status") == "ok"
            ):
                break
            time.sleep(0.3)
        assert 'leadroute_records_in_total{stage="normalize"} 1.0' in body
        assert 'leadroute_dlq_total{code="undecodable",stage="normalize"} 1.0' in body
        assert "leadroute_processing_seconds_bucket" in body
        assert health["status"] == "ok" and health["brokers_up"] >= 1
        live = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2))
        assert live == {"stage": "normalize", "running": True}
    finally:
        probe.close()
        stage.send_signal(signal.SIGTERM)
        stage.wait(20)


def _kcat_env(bootstrap: str, scratch: Path) -> dict[str, str]:
    """Environment in which kcat can talk to ``bootstrap``.

    Debian's kcat links librdkafka 2.0.2, whose ApiVersions handshake the embedded
    test broker does not answer (Apache Kafka does). In that case the same kcat
    binary runs with the newer librdkafka that the confluent-kafka wheel ships.
    """
    probe = subprocess.run(["kcat", "-L", "-b", bootstrap, "-m", "5"], capture_output=True, timeout=30)
    if probe.returncode == 0:
        return dict(os.environ)
    import confluent_kafka

    bundled = sorted(
        (Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs").glob("librdkafka*.so*")
    )
    if not bundled:
        pytest.fail(
            "kcat cannot reach the broker and no newer librdkafka is at hand: " + probe.stderr.decode()[-300:]
        )
    (scratch / "librdkafka.so.1").symlink_to(bundled[0])
    return {**os.environ, "LD_LIBRARY_PATH": str(scratch)}


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (.ci/run installs it)")
def test_a_json_lead_published_with_kcat_is_assigned(probe: PipelineProbe, tmp_path: Path) -> None:
    lead_id = f"kcat-{uuid.uuid4().hex[:8]}"
    document = json.dumps(
        {
            "lead_id": lead_id,
            "email": " Jane.Doe@Acme.co.uk ",
            "phone": "+44 (0)20 7946 0958",
            "source": "Web form",
            "country": "UK",
        }
    )
    subprocess.run(
        [
            "kcat",
            "-P",
            "-b",
            probe.settings.kafka_bootstrap,
            "-t",
            probe.topic("leads.raw"),
            "-k",
            lead_id,
            "-H",
            "content-type=application/json",
        ],
        input=document.encode(),
        check=True,
        timeout=30,
        env=_kcat_env(probe.settings.kafka_bootstrap, tmp_path),
    )
    probe.wait_for(lambda: probe.assigned_for(lead_id))
    normalized = probe.assigned_for(lead_id)[0]["lead"]["normalized"]
    assert normalized["email"] == "jane.doe@acme.co.uk"
    assert normalized["email_domain"] == "acme.co.uk"
    assert normalized["phone_e164"] == "+442079460958"
    assert normalized["country_code"] == "GB"
    assert normalized["source"] == "web"


def test_demo_accounts_for_every_lead(infra: Services) -> None:
    env = {**os.environ, "LEADROUTE_REDIS_URL": infra.redis_url}
    result = subprocess.run(
        [*LEADROUTE, "demo", "--leads", "120", "--json"], env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["leads_published"] == 120
    assert summary["unaccounted"] == 0
    assert summary["assigned"] + summary["dead_lettered"] == 120
    assert summary["assigned"] > 100
    assert sum(summary["by_destination"].values()) == summary["assigned"]
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99"}
    assert summary["leads_per_second"] > 0


def test_route_with_redis_state_finds_a_duplicate_routed_in_an_earlier_run(
    infra: Services, tmp_path: Path
) -> None:
    import redis

    from streams.adapters.redis_cleanup import forget_prefix
    from streams.routing.router import DEMO_OWNERS, EXAMPLE_RULES

    prefix = f"lr-test-route-dups-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "LEADROUTE_REDIS_URL": infra.redis_url,
        "LEADROUTE_REDIS_PREFIX": prefix,
        "LEADROUTE_RULES_FILE": str(EXAMPLE_RULES),
        "LEADROUTE_OWNERS_FILE": str(DEMO_OWNERS),
        "LEADROUTE_FIRMOGRAPHICS": "none",
    }
    person = {"email": "ana.lopez@northwind-example.es", "country": "ES", "source": "web"}
    outputs = []
    try:
        for run, lead_id in enumerate(("monday-1", "tuesday-7")):
            leads, out = tmp_path / f"in-{run}.jsonl", tmp_path / f"out-{run}.jsonl"
            leads.write_text(json.dumps({"lead_id": lead_id, **person}) + "\n", encoding="utf-8")
            command = ["route", "--input", str(leads), "--output", str(out), "--state", "redis"]
            done = subprocess.run(
                [sys.executable, "-m", "streams.cli", *command],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            outputs.append(json.loads(out.read_text(encoding="utf-8")))
    finally:
        forget_prefix(redis.Redis.from_url(infra.redis_url), prefix)
    first, again = outputs
    assert not first["is_duplicate"]
    assert again["is_duplicate"] and again["duplicate_of"]["lead_id"] == "monday-1"
    assert again["destination"] == first["destination"]


_DESK_RULES = """\
version: 1
name: frozen-clock-desk
defaults: {channel: sales, fallback: [{queue: after-hours}]}
pools:
  desk: {strategy: round_robin, members: [ana, ben, cara]}
queues: [after-hours]
routes:
  - name: everyone
    assign: {pool: desk}
"""
# ana and ben work office hours; cara's week wraps from Sunday to Monday, afternoons only.
_DESK_OWNERS = """\
owners:
  - {id: ana, time_zone: Europe/Berlin, working_hours: "mon-fri 09:00-17:00"}
  - {id: ben, time_zone: Europe/Berlin, working_hours: "mon-fri 09:00-17:00"}
  - {id: cara, time_zone: Europe/Berlin, working_hours: "sun-mon 12:00-20:00", cap_per_day: 2}
"""


def test_route_at_a_frozen_time_with_redis_state_continues_across_runs(
    infra: Services, tmp_path: Path
) -> None:
    """Two runs at Monday 10:00 Berlin share one rotation; at 18:00 and 19:00 the frozen clock
    picks cara, then her daily cap, counted across runs, sends leads to the queue."""
    import redis

    from streams.adapters.redis_cleanup import forget_prefix

    rules, owners = tmp_path / "rules.yaml", tmp_path / "owners.yaml"
    rules.write_text(_DESK_RULES, encoding="utf-8")
    owners.write_text(_DESK_OWNERS, encoding="utf-8")
    prefix = f"lr-test-route-at-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADROUTE_")},
        "LEADROUTE_REDIS_URL": infra.redis_url,
        "LEADROUTE_REDIS_PREFIX": prefix,
        "LEADROUTE_FIRMOGRAPHICS": "none",
    }

    def run(name: str, at: str, count: int, state: str = "redis") -> list[dict]:
        leads, out = tmp_path / f"{name}.jsonl", tmp_path / f"{name}-out.jsonl"
        leads.write_text(
            "".join(
                json.dumps(
                    {"lead_id": f"{name}-{i}", "email": f"buyer@{name}-{i}-example.com", "country": "DE"}
                )
                + "\n"
                for i in range(count)
            ),
            encoding="utf-8",
        )
        command = ["route", "--input", str(leads), "--output", str(out), "--rules", str(rules)]
        command += ["--owners", str(owners), "--at", at, "--compact", "--state", state]
        done = subprocess.run([*LEADROUTE, *command], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    def owners_of(events: list[dict]) -> list[str]:
        return [f"{e['destination_type']}:{e['destination']}" for e in events]

    def skipped(event: dict, owner: str) -> str:
        return next(s["reason"] for s in event["skips"] if s["owner_id"] == owner)

    monday_10 = "2026-12-07T10:00:00+01:00"
    try:
        first = run("first", monday_10, 3)
        second = run("second", monday_10, 3)
        alone = run("alone", monday_10, 3, state="memory")  # the same leads without run 1 behind them
        evening = run("evening", "2026-12-07T18:00:00+01:00", 3)
        later = run("later", "2026-12-07T19:00:00+01:00", 1)
    finally:
        forget_prefix(redis.Redis.from_url(infra.redis_url), prefix)

    # Monday 10:00 in Berlin: ana and ben work, cara (12:00-20:00) does not, whatever time it is now.
    both = owners_of(first + second)
    assert set(both) == {"owner:ana", "owner:ben"}
    assert all(a != b for a, b in itertools.pairwise(both)), both  # one rotation over both runs
    assert both.count("owner:ana") == both.count("owner:ben") == 3
    assert skipped(first[0], "cara") == "outside working hours (Mon 10:00 Europe/Berlin; works 12:00-20:00)"
    assert {e["decided_at_ms"] for e in first + second} == {1796634000000}
    # In memory the second file starts the rotation afresh, where run 1 started; in Redis it went on.
    assert owners_of(alone) == owners_of(first) and owners_of(second)[0] != owners_of(first)[0]

    # Monday 18:00: only cara works; her daily cap of 2 sends the third lead to the queue.
    assert owners_of(evening) == ["owner:cara", "owner:cara", "queue:after-hours"]
    assert skipped(evening[0], "ana").startswith("outside working hours (Mon 18:00 Europe/Berlin")
    assert skipped(evening[2], "cara") == "daily cap reached (2/2)"
    # A run later that day counts what the evening run gave her.
    assert owners_of(later) == ["queue:after-hours"]
    assert skipped(later[0], "cara") == "daily cap reached (2/2)"
