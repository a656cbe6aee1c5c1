"""Duplicate detection on the Redis ledger: two worker processes racing on the same people."""

from __future__ import annotations

import dataclasses
import multiprocessing
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from processors.intake import raw_lead_from_json
from processors.owners.models import Owner
from processors.pipeline import route_raw_leads
from processors.ports import FrozenClock
from streams.adapters.redis_cleanup import forget_prefix
from streams.adapters.redis_ledger import RedisAssignmentLedger
from tests.support.builders import router, rules
from tests.unit.processors.routing.test_duplicates import NOW, ROUND_ROBIN, WINDOW

pytestmark = pytest.mark.integration

PEOPLE = 240
TEAM = [Owner("amy"), Owner("bob"), Owner("cat")]


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    name = f"lr-test-dups-{uuid.uuid4().hex[:8]}"
    yield name
    forget_prefix(redis.Redis.from_url(redis_url), name)


def _person(n: int) -> dict[str, Any]:
    return {"email": f"person{n}@acme{n % 7}.example", "first_name": "Pat", "last_name": f"Doe{n}"}


def _worker(redis_url: str, prefix: str, worker: int, start: Any, out: Any) -> None:
    ledger = RedisAssignmentLedger(redis.Redis.from_url(redis_url), prefix=prefix, decision_ttl_s=600)
    chain = dataclasses.replace(
        router(FrozenClock(NOW), rule_set=rules(ROUND_ROBIN), owners=TEAM, ledger=ledger),
        duplicate_window_s=WINDOW,
    )
    order = list(range(PEOPLE)) if worker == 0 else list(reversed(range(PEOPLE)))
    # warm up (imports, the script, caches) on someone else, so both start racing at once
    route_raw_leads(
        [(raw_lead_from_json({"lead_id": f"warm-{worker}", "email": f"w{worker}@x.example"}), NOW)],
        router=chain,
    )
    start.wait(60)  # a barrier: both workers warmed up
    seen = []
    for at in range(0, PEOPLE, 5):  # small batches interleave the two workers' ledger calls
        raws = [
            (raw_lead_from_json({"lead_id": f"w{worker}-p{n}", **_person(n)}), NOW)
            for n in order[at : at + 5]
        ]
        for event in route_raw_leads(raws, router=chain):
            first = event["duplicate_of"]
            seen.append(
                (event["lead_id"], event["is_duplicate"], first and first["lead_id"], event["destination"])
            )
    out.put(seen)


def test_two_workers_racing_on_the_same_people_agree_on_one_first_lead_each(
    redis_url: str, prefix: str
) -> None:
    context = multiprocessing.get_context("spawn")
    out, start = context.Queue(), context.Barrier(2)
    workers = [context.Process(target=_worker, args=(redis_url, prefix, w, start, out)) for w in range(2)]
    for process in workers:
        process.start()
    events = [item for _ in workers for item in out.get(timeout=120)]
    for process in workers:
        process.join(30)
    by_person: dict[str, list[tuple[str, bool, str | None, str]]] = defaultdict(list)
    for item in events:
        by_person[item[0].split("-", 1)[1]].append(item)
    assert len(by_person) == PEOPLE
    for person, pair in by_person.items():
        firsts = [item for item in pair if not item[1]]
        repeats = [item for item in pair if item[1]]
        assert len(firsts) == 1 and len(repeats) == 1, (person, pair)
        assert repeats[0][2] == firsts[0][0], (person, pair)  # points at the first lead
        assert repeats[0][3] == firsts[0][3], (person, pair)  # and went to its owner
    # both workers were first for some people: the race really happened both ways
    assert {item[0].split("-")[0] for item in events if not item[1]} == {"w0", "w1"}
