"""Owners through the compacted owners topic and owner-sync into Redis, driven by the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from streams import topics, wiring
from streams.adapters.redis_owners import RedisOwnerDirectory
from streams.cli.owners import OwnerPublisher, owners
from streams.settings import Settings, settings_env
from tests.integration.conftest import make_settings
from tests.support.services import Services

pytestmark = pytest.mark.integration

FILE = """\
- id: sync-ana
  name: Ana Lima
  time_zone: Europe/Berlin
  working_hours: "mon-fri 09:00-17:30"
  cap_per_day: 40
- id: sync-ken
  time_zone: Asia/Tokyo
"""


_RUN_OWNER_SYNC = (
    "import sys\n"
    "from streams.runner import run_stage\n"
    "from streams.settings import Settings\n"
    "sys.exit(run_stage(Settings.from_env(), 'owner-sync'))\n"
)


@pytest.fixture
def owner_sync(infra: Services) -> Iterator[Settings]:
    """The owner-sync stage in its own process, as 'leadroute run owner-sync' runs it."""
    settings = make_settings(infra)
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    stage = subprocess.Popen(
        [sys.executable, "-c", _RUN_OWNER_SYNC], env={**os.environ, **settings_env(settings)}
    )
    yield settings
    stage.send_signal(signal.SIGTERM)
    try:
        stage.wait(20)
    except subprocess.TimeoutExpired:
        stage.kill()
        stage.wait(5)


def _wait_until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("owner-sync never reached the expected state")


def test_owners_published_by_the_cli_reach_redis_with_changes_and_deletes(
    owner_sync: Settings, tmp_path: Path
) -> None:
    env = settings_env(owner_sync)
    runner = CliRunner()
    path = tmp_path / "owners.yaml"
    path.write_text(FILE)
    result = runner.invoke(owners, ["load", str(path)], env=env)
    assert result.exit_code == 0, result.output
    directory = wiring.owner_directory(owner_sync)
    _wait_until(lambda: set(directory.fresh()) == {"sync-ana", "sync-ken"})
    assert directory.fresh()["sync-ana"].cap_per_day == 40

    result = runner.invoke(owners, ["set-status", "sync-ana", "away"], env=env)
    assert result.exit_code == 0, result.output
    _wait_until(lambda: directory.fresh()["sync-ana"].status == "away")
    ana = directory.fresh()["sync-ana"]
    assert ana.cap_per_day == 40 and ana.time_zone == "Europe/Berlin"  # the whole record came back

    result = runner.invoke(owners, ["set-cap", "sync-ken", "--per-hour", "5"], env=env)
    assert result.exit_code == 0, result.output
    _wait_until(lambda: directory.fresh()["sync-ken"].cap_per_hour == 5)

    listing = runner.invoke(owners, ["list", "--json"], env=env)
    assert listing.exit_code == 0 and '"status away"' in listing.output

    publisher = OwnerPublisher(owner_sync)
    publisher.delete("sync-ken")
    assert publisher.flush() == 0
    _wait_until(lambda: set(directory.fresh()) == {"sync-ana"})

    refused = runner.invoke(owners, ["set-status", "sync-ken", "available"], env=env)
    assert refused.exit_code == 2  # no such owner any more
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  time_zone: Mars/Base\n")
    refused = runner.invoke(owners, ["load", str(bad)], env=env)
    assert refused.exit_code == 2 and "bad.yaml:2" in refused.output


def test_owners_left_out_of_a_file_stay_unless_pruned_and_remove_takes_ids(
    owner_sync: Settings, tmp_path: Path
) -> None:
    env = settings_env(owner_sync)
    runner = CliRunner()
    team = tmp_path / "team.yaml"
    team.write_text(FILE + "- id: sync-lea\n- id: sync-max\n")
    assert runner.invoke(owners, ["load", str(team)], env=env).exit_code == 0
    directory = wiring.owner_directory(owner_sync)
    _wait_until(lambda: set(directory.fresh()) == {"sync-ana", "sync-ken", "sync-lea", "sync-max"})

    hires = tmp_path / "hires.yaml"
    hires.write_text("- id: sync-ana\n- id: sync-ken\n")
    assert runner.invoke(owners, ["load", str(hires)], env=env).exit_code == 0  # adds, removes nobody
    dry = runner.invoke(owners, ["load", str(hires), "--prune", "--check", "--json"], env=env)
    assert dry.exit_code == 0, dry.output
    assert '"would_remove": ["sync-lea", "sync-max"]' in dry.output
    time.sleep(1.0)
    assert set(directory.fresh()) == {"sync-ana", "sync-ken", "sync-lea", "sync-max"}

    pruned = runner.invoke(owners, ["load", str(hires), "--prune"], env=env)
    assert pruned.exit_code == 0 and "removed 2: sync-lea, sync-max" in pruned.output
    _wait_until(lambda: set(directory.fresh()) == {"sync-ana", "sync-ken"})

    refused = runner.invoke(owners, ["remove", "sync-ken", "sync-zed"], env=env)
    assert refused.exit_code == 2 and "sync-zed" in refused.output
    assert runner.invoke(owners, ["remove", "sync-ken"], env=env).exit_code == 0
    _wait_until(lambda: set(directory.fresh()) == {"sync-ana"})


def test_a_cached_directory_sees_a_change_within_its_refresh(owner_sync: Settings) -> None:
    import redis

    from processors.owners.models import Owner

    client = redis.Redis.from_url(owner_sync.redis_url)
    writer = RedisOwnerDirectory(client, prefix=owner_sync.redis_prefix)
    reader = RedisOwnerDirectory(client, prefix=owner_sync.redis_prefix, refresh_s=0.2)
    writer.upsert(Owner(id="cache-a"))
    assert reader.owners()["cache-a"].status == "available"
    writer.upsert(Owner(id="cache-a", status="offline"))
    time.sleep(0.25)
    assert reader.owners()["cache-a"].status == "offline"
    writer.delete("cache-a")
    time.sleep(0.25)
    assert "cache-a" not in reader.owners()
