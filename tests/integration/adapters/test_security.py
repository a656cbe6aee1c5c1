"""Redis over TLS with a password, and what the stages' logs may say.

A redis-server of the test's own (TLS only, ``requirepass``, certificates made
for the test, a loopback port; never the shared Redis) serves:

* the tour of every adapter, built from settings (LEADROUTE_REDIS_URL with
  ``rediss://``, LEADROUTE_REDIS_PASSWORD, LEADROUTE_REDIS_SSL_CA_CERTS);
* a whole pipeline under the supervisor, with SASL credentials and the Redis
  password set, fed leads whose names, emails and phone numbers are known.
  Every stage's log output must hold none of those, and no secret.

Skipped, with the reason, where redis-server, redis-cli or openssl is missing,
or redis-server has no TLS.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from streams import topics, wiring
from streams.redis_client import redis_answers
from streams.routing.router import DEMO_OWNERS, EXAMPLE_RULES, read_owners
from streams.settings import Settings
from streams.stages.registry import STAGES
from tests.integration.conftest import PipelineProbe, make_settings
from tests.support import adapter_tour, faults
from tests.support.redis_servers import TlsRedis, tls_redis
from tests.support.stage_logs import LoggedSupervisor
from tests.unit.streams.adapters.test_http_firmographics import ACME, ScriptedServer, answer

pytestmark = pytest.mark.integration

REDIS_PASSWORD = f"redis-pw-{uuid.uuid4().hex[:10]}"
SASL_PASSWORD = f"sasl-pw-{uuid.uuid4().hex[:10]}"

#: Made-up people whose every part is unlikely to appear in a log for another reason.
PEOPLE = [
    ("Ysolde", "Brannigate", "+44 20 7946 0815"),
    ("Tobiah", "Quennevoir", "+1 415 555 0142"),
    ("Marisol", "Okonkwobe", "+49 30 901820317"),
    ("Leopold", "Vantasselt", "+33 1 42 68 53 09"),
    ("Anneliese", "Drummondry", "+61 2 9374 4771"),
    ("Hortensia", "Ballyfeather", "+81 3 3224 9921"),
]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    with tls_redis(tmp_path_factory.mktemp("tls-redis"), REDIS_PASSWORD) as server:
        yield server


def _tls_settings(tls: TlsRedis, **overrides: Any) -> Settings:
    values = {
        "LEADROUTE_REDIS_URL": tls.url,
        "LEADROUTE_REDIS_PASSWORD": tls.password,
        "LEADROUTE_REDIS_SSL_CA_CERTS": str(tls.certificates.ca),
        "LEADROUTE_REDIS_PREFIX": f"leadroute-test-{uuid.uuid4().hex[:8]}",
    }
    return Settings.from_env(values, **overrides)


def test_every_adapter_works_over_tls_with_a_password(tls: TlsRedis) -> None:
    settings = _tls_settings(tls)
    server = ScriptedServer()
    server.script("acme.com", answer(ACME))
    try:
        assert redis_answers(settings)
        assert adapter_tour.ledger(settings)
        assert adapter_tour.owners(settings)
        assert adapter_tour.crm_mirror(settings)
        assert adapter_tour.firmographics(settings, server.url_template)
        assert adapter_tour.state_markers(settings)
        assert adapter_tour.forget(settings) > 0
    finally:
        server.close()


def test_the_password_may_also_ride_in_the_url(tls: TlsRedis) -> None:
    settings = Settings.from_env(
        {
            "LEADROUTE_REDIS_URL": f"rediss://:{tls.password}@127.0.0.1:{tls.port}/0",
            "LEADROUTE_REDIS_SSL_CA_CERTS": str(tls.certificates.ca),
        }
    )
    assert redis_answers(settings)
    assert REDIS_PASSWORD not in json.dumps(settings.public_view())


@pytest.mark.parametrize(
    "change",
    ["no password", "wrong password", "no TLS", "an untrusted certificate"],
)
def test_a_client_without_the_right_credentials_is_refused(tls: TlsRedis, change: str) -> None:
    good = _tls_settings(tls)
    bad = {
        "no password": lambda: replace(good, redis_password=None),
        "wrong password": lambda: replace(good, redis_password="not-it"),
        "no TLS": lambda: replace(good, redis_url=f"redis://127.0.0.1:{tls.port}/0", redis_ssl_ca_certs=None),
        "an untrusted certificate": lambda: replace(good, redis_ssl_ca_certs=None),  # the system's CAs
    }[change]()
    assert not redis_answers(bad)


def _pii(team: list[Any]) -> set[str]:
    """Every spelling of the test's personal data a log line could carry."""
    found: set[str] = set()
    for first, last, phone in PEOPLE:
        digits = "".join(ch for ch in phone if ch.isdigit())
        email = f"{first}.{last}@zephyrquill.io".lower()
        found |= {first, last, f"{first} {last}", email, email.split("@")[0], phone, digits}
    for owner in team:
        found |= {owner.name, owner.email} if owner.email else {owner.name}
    return {text for text in found if text}


def _leads() -> list[tuple[bytes, list[tuple[str, bytes]], str | None]]:
    """Routed leads, and leads that are dead-lettered while holding personal data."""
    json_type = [("content-type", b"application/json")]
    out: list[tuple[bytes, list[tuple[str, bytes]], str | None]] = []
    for number, (first, last, phone) in enumerate(PEOPLE):
        lead = {
            "lead_id": f"pii-{number}",
            "first_name": first,
            "last_name": last,
            "email": f"{first}.{last}@ZephyrQuill.io",
            "phone": phone,
            "company": "ZephyrQuill Ltd",
            "country": "GB",
            "title": "VP Sales",
            "source": "web form",
        }
        out.append((json.dumps(lead).encode(), json_type, lead["lead_id"]))
    first, last, phone = PEOPLE[0]
    over = {"email": f"{first}.{last}@zephyrquill.io", "first_name": first, "last_name": last * 2_000}
    out.append((json.dumps(over).encode(), json_type, None))  # a name over the limit
    out.append(
        (json.dumps({"email": f"{first}.{last}@zephyrquill.io", "phone": phone}).encode()[:-3], [], None)
    )
    return out


def test_a_pipeline_on_tls_redis_logs_no_personal_data_and_no_secret(
    infra: Any, tls: TlsRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        infra,
        rules_file=str(EXAMPLE_RULES),
        firmographics="dataset",
        redis_url=tls.url,
        redis_password=tls.password,
        redis_ssl_ca_certs=str(tls.certificates.ca),
        kafka_sasl_username="router",
        kafka_sasl_password=SASL_PASSWORD,
        log_level="INFO",
    )
    assert all(r.status != "failed" for r in topics.create_topics(settings))
    supervisor = LoggedSupervisor(settings, list(STAGES), log_dir=tmp_path / "logs")
    probe = PipelineProbe(settings)
    caplog.set_level(logging.INFO)
    supervisor.start()
    watcher = threading.Thread(target=supervisor.watch, args=(0.2,), daemon=True)
    watcher.start()
    published: list[tuple[tuple[int, int], str | None]] = []
    try:
        team = faults.publish_team(settings)
        directory = wiring.owner_directory(settings)
        faults.wait_until(lambda: directory.count() >= team, "owner-sync to store the team over TLS", 120)
        for value, headers, lead_id in _leads():
            published.append((probe.publish(value, headers=headers), lead_id))

        def accounted() -> bool:
            return all(
                (lead_id is not None and probe.assigned_for(lead_id)) or probe.dead_at(*where)
                for where, lead_id in published
            )

        probe.wait_for(accounted, timeout=180)
    finally:
        supervisor.stop()
        watcher.join(15)
        probe.close()
    assert all(probe.assigned_for(lead_id) for _, lead_id in published if lead_id)
    assert {r["error_code"] for _, r in probe.outcomes.dead} == {"schema_violation", "undecodable"}

    logs = supervisor.logs()
    assert set(logs) == set(STAGES) and all("stage " in text for text in logs.values()), "no stage output"
    assert "dead-lettered" in logs["normalize"], "INFO lines about single records are in the output"
    logs["supervisor and test process"] = "\n".join(r.getMessage() for r in caplog.records)
    forbidden = _pii(read_owners(DEMO_OWNERS)) | {tls.password, SASL_PASSWORD}
    leaks = {
        (where, text)
        for where, output in logs.items()
        for text in forbidden
        if text.lower() in output.lower()
    }
    assert not leaks, f"personal data or secrets in logs: {sorted(leaks)[:10]}"
    tracebacks = [stage for stage, text in logs.items() if "Traceback" in text]
    assert not tracebacks, {stage: logs[stage][-2_000:] for stage in tracebacks}
