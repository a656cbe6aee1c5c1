"""The assignment ledger in Redis: one Lua call decides a chunk of leads atomically for every worker.

Semantics are exactly :class:`~processors.routing.memory_ledger.InMemoryLedger`
(the script follows it step by step, lead after lead; one conformance suite runs both).

Layout (``A`` is ``<prefix>:{assign}:``)::

    A s               hash    owner id → "<hour>|<n>|<day>|<n>|<placed>|<week>|<n>|<placed>|
                              <reported open load>|<assigned since>": every counter of the
                              owner, each hour/day/week value valid only for the bucket before it
    A p:<pool>        hash    owner id → "<last placement seq>|<SWRR current>|<credit>|<offset day>|
                              <load offset>": the member's standing in that pool
    A q               string  the placement sequence (orders "least recently placed")
    A k:<sticky key>  string  the sticky owner, TTL sticky_ttl_s
    A d:<lead id>     string  the decision (JSON of the result and the caller's meta), TTL
    A e:<pool>:<day>  hash    eligible-set signature → placements that UTC day (expected shares), 9 days
    A i:<identity>    string  "<lead id>|<owner id>|<routed at ms>" of the first lead routed with that
                              e-mail, phone or name and company digest, TTL the duplicate window
    A pools           set     pools with expected-share counts, for ``fairness()``

One field per owner and per member (rather than one per counter) because the
script's cost is mostly Lua strings. Each counter holds only its current
bucket ("2026-11-25|7"): a new hour, day or week simply starts over, so nothing
grows with time and no clean-up runs. Every stored number is an integer
(expected shares in nano-leads, SWRR weights in thousandths), so nothing is
formatted as a float (``%.17g`` cost more than the rest of the script) and both
ledgers add exactly the same numbers.

Why chunks: with one call per lead, the call's fixed cost (arguments, a dozen
commands and their replies) was most of the 50-65 us of server time a lead in
a pool of 7 took. One call now decides up to ``chunk_size`` leads, in order, as
that many calls would: it reads each owner, member, sticky key and decision
once and keeps them in Lua tables (a later lead sees what an earlier one
changed, a lead id seen earlier in the chunk is a replay), and writes each
changed field, the placement sequence, the expected-share counts and the
decisions once at the end. The request is one JSON text in which each distinct
attempt appears once; each lead's meta is passed as a ready JSON string and
spliced into its stored decision, never decoded or re-encoded in Lua. Measured
on a shared 2-core machine: 10-16 us of server time per lead in a pool of 7 and
13-22 us for the example rules, where about half is the ~1.2 KB meta each
decision carries (passed in and stored). A chunk is one atomic step, stronger
than one lead at a time; the price is how long a call holds Redis. The default
of 100 leads holds it for 1-2 ms, so other clients still get a turn between
chunks; larger chunks gain little more, smaller ones cost more per lead.

Every key carries the ``{assign}`` hash tag, so one script touches many keys
on Redis Cluster too. The trade-off: all assignment state of one prefix lives
in one slot, hence on one node and one Redis core (roughly 50-70k leads/s per
prefix at the figures above). Deployments that outgrow it split by prefix (one per
business unit or region); decisions must share the slot because the
idempotency check and the counter moves are one atomic step.

A batch is one pipeline (one round trip) of one EVALSHA per chunk. NOSCRIPT
(a restarted or flushed Redis) is answered by loading the script and
re-sending just the chunks that hit it; results stay in request order. A
connection failure is retried briefly; a lead that the lost round trip had
already decided comes back as a replay (same owner, no counter moved twice).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import redis
from redis.exceptions import NoScriptError

from processors.assign import rebuilt_meta
from processors.errors import DependencyUnavailable
from processors.models import Assignment
from processors.routing.duplicates import FirstLead, first_lead_from
from processors.routing.ledger import AssignRequest, AssignResult, Attempt, Skip
from processors.routing.memory_ledger import EXPECTED_UNIT, Fairness
from processors.routing.recount import OwnerCounts
from streams.adapters import lua
from streams.outages import TRANSIENT_ERRORS, redis_outage, unavailable

#: Decides one chunk (see assign_chunk.lua; encode_chunk builds its arguments).
ASSIGN = lua.script("assign_chunk")

_ATTEMPTS = 3
#: What an outage names (streams.outages).
_WHAT = "the assignment ledger in Redis"
#: The script's first reply item for a lead left undecided: it repeats a lead recorded since it was planned.
_UNPLANNED_DUPLICATE = 2
#: Leads per script call: 1-2 ms of Redis time, so other clients get a turn between chunks.
DEFAULT_CHUNK = 100
MAX_CHUNK = 1000


def encode_chunk(requests: Sequence[AssignRequest]) -> list[str]:
    """One script call's arguments after the base and TTL.

    First one JSON text (decoded once per call): each distinct attempt once, then
    per lead its id, sticky key, sticky TTL, credit, attempt numbers, UTC day,
    identities, the first lead it was planned as a duplicate of, identity TTL and now;
    positional, no nulls (cjson's null is not nil). Then each lead's meta as a JSON
    string, which the script splices into the stored decision without decoding it
    (the meta is most of a request's bytes).
    """
    attempts: list[list[Any]] = []
    numbers: dict[tuple[Any, ...], int] = {}
    leads: list[list[Any]] = []
    for request in requests:
        refs = []
        for a in request.attempts:
            # Candidates are shared within a batch, so their identity is a cheap key; they outlive the call.
            key = (a.kind, a.name, a.strategy, a.balance_by, *map(id, a.candidates))
            number = numbers.get(key)
            if number is None:
                attempts.append(_attempt_fields(a))
                number = numbers[key] = len(attempts)
            refs.append(number)
        leads.append(
            [
                request.lead_id,
                request.sticky_key or "",
                request.sticky_ttl_s,
                request.returning_owner_credit,
                refs,
                request.now_ms // 86_400_000,
                list(request.identities),
                request.duplicate_of or "",
                request.identity_ttl_s,
                request.now_ms,
            ]
        )
    head = json.dumps([attempts, leads], separators=(",", ":"), ensure_ascii=False)
    return [head, *(json.dumps(request.meta, ensure_ascii=False) for request in requests)]


def _attempt_fields(a: Attempt) -> list[Any]:
    return [
        a.kind,
        a.name,
        a.strategy or "",
        a.balance_by or "",
        [
            [
                c.owner_id,
                c.weight,
                c.skip or "",
                -1 if c.cap_hour is None else c.cap_hour,
                -1 if c.cap_day is None else c.cap_day,
                c.hour_bucket,
                c.day_bucket,
                c.week_bucket,
                c.open_load,
            ]
            for c in a.candidates
        ],
    ]


def _decode_fresh(head: bytes | str) -> tuple[int | None, str | None, tuple[Skip, ...], bool]:
    """A decision the script just made, without its meta (the caller's own)."""
    decision = json.loads(head)
    skips = decision["s"] if isinstance(decision["s"], list) else []  # cjson writes {} for an empty list
    return (
        None if decision["a"] < 0 else int(decision["a"]),
        decision["o"] or None,
        tuple(Skip(int(s[0]), s[1], s[2]) for s in skips),
        bool(decision["k"]),
    )


def decode_result(replayed: Any, stored: bytes | str) -> AssignResult:
    """A stored decision (JSON of the result and its meta), as a replay hands it back."""
    decision = json.loads(stored)
    skips = decision["s"] if isinstance(decision["s"], list) else []  # cjson writes {} for an empty list
    return AssignResult(
        replayed=bool(replayed),
        attempt=None if decision["a"] < 0 else int(decision["a"]),
        owner_id=decision["o"] or None,
        skips=tuple(Skip(int(s[0]), s[1], s[2]) for s in skips),
        sticky=bool(decision["k"]),
        meta=decision["m"],
    )


def rebuilt_decision(assignment: Assignment) -> str:
    """A stored decision made from its event, in the script's format (see ``decode_result``)."""
    owner = assignment["destination"] if assignment["destination_type"] == "owner" else ""
    head = {"a": assignment["fallback_depth"], "o": owner, "s": [], "k": 1 if assignment["sticky"] else 0}
    head["m"] = json.dumps(rebuilt_meta(assignment), ensure_ascii=False, separators=(",", ":"))
    return json.dumps(head, ensure_ascii=False, separators=(",", ":"))


def _shares(table: dict[bytes, bytes], count_into: dict[tuple[str, str], int]) -> None:
    """Adds count x share per (owner, bucket) from one pool-day's eligible-set counts."""
    for signature, placements in table.items():
        count = int(placements)
        for entry in signature.decode().split("\n"):
            owner, share, day, week = entry.rsplit("\t", 3)
            count_into[(owner, day)] = count_into.get((owner, day), 0) + count * int(share)
            count_into[(owner, "W" + week)] = count_into.get((owner, "W" + week), 0) + count * int(share)


class RedisAssignmentLedger:
    """An :class:`~processors.routing.ledger.AssignmentLedger` shared by every assign worker.

    ``chunk_size`` is the most leads one script call decides: larger chunks cost less per
    lead but hold Redis longer (see the module docstring).
    """

    def __init__(
        self, client: redis.Redis, *, prefix: str, decision_ttl_s: int, chunk_size: int = DEFAULT_CHUNK
    ) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK:
            raise ValueError(f"chunk_size must be 1..{MAX_CHUNK}, not {chunk_size}")
        self._client = client
        self._base = f"{prefix}:{{assign}}:"
        self._state = self._base + "s"
        self._ttl = decision_ttl_s
        self._chunk = chunk_size
        self._script = client.register_script(ASSIGN)

    def assign_many(self, requests: Sequence[AssignRequest]) -> list[AssignResult]:
        if not requests:
            return []
        size = self._chunk
        with redis_outage(_WHAT):
            replies = self._run([encode_chunk(requests[i : i + size]) for i in range(0, len(requests), size)])
        flat = [item for reply in replies for item in reply]  # per lead: replayed (0/1), decision
        if len(flat) != 2 * len(requests):
            raise DependencyUnavailable(f"Redis answered {len(flat) // 2} of {len(requests)} decisions")
        results: list[AssignResult] = []
        fresh: dict[bytes | str, tuple[int | None, str | None, tuple[Skip, ...], bool]] = {}
        for request, replayed, text in zip(requests, flat[::2], flat[1::2], strict=True):
            if replayed == _UNPLANNED_DUPLICATE:
                identity, _, record = (text.decode() if isinstance(text, bytes) else text).partition("\t")
                first = first_lead_from(identity, record)
                results.append(AssignResult(False, None, None, (), False, request.meta, first))
                continue
            if replayed:
                results.append(decode_result(True, text))
                continue
            decided = fresh.get(text)  # most fresh decisions repeat within a batch: decode each once
            if decided is None:
                decided = fresh[text] = _decode_fresh(text)
            results.append(AssignResult(False, *decided, request.meta))
        return results

    def first_leads(
        self, leads: Sequence[tuple[str, tuple[str, ...]]], now_ms: int
    ) -> list[FirstLead | None]:
        """Who was routed first with each lead's identities (``now_ms`` unused: Redis expires them)."""
        wanted = sorted({key for _, keys in leads for key in keys})
        if not wanted:
            return [None] * len(leads)
        with redis_outage(_WHAT):
            values = self._client.mget([self._base + "i:" + key for key in wanted])
        held = {key: value for key, value in zip(wanted, values, strict=True) if value is not None}
        found: list[FirstLead | None] = []
        for lead_id, keys in leads:
            first = None
            for key in keys:
                if key in held:
                    candidate = first_lead_from(key, held[key])
                    if candidate.lead_id != lead_id:
                        first = candidate
                        break
            found.append(first)
        return found

    def remember(self, assignments: Iterable[Assignment], now_ms: int) -> int:
        """Stores decisions read back from leads.assigned, each only where none is stored.

        After Redis lost the ledger, a lead decided before and delivered again
        must keep its owner; its event holds everything the replayed event
        needs. Counters, rotation and fairness are not rebuilt (see
        docs/assignment.md). Returns how many decisions were stored.
        """
        pipe = self._client.pipeline(transaction=False)
        seen: set[str] = set()
        for assignment in assignments:
            lead_id = assignment["lead_id"]
            ttl = self._ttl - max(0, now_ms - assignment["decided_at_ms"]) // 1000
            if lead_id in seen or ttl <= 0:
                continue
            seen.add(lead_id)
            pipe.set(self._base + "d:" + lead_id, rebuilt_decision(assignment), nx=True, ex=ttl)
        if not seen:
            return 0
        with redis_outage(_WHAT):
            return sum(1 for stored in pipe.execute() if stored)

    def restore_counts(self, counts: Mapping[str, OwnerCounts]) -> int:
        """Writes owners' recounted hour, day and week counts where Redis holds none (see recount)."""
        if not counts:
            return 0
        pipe = self._client.pipeline(transaction=False)
        for owner_id, c in counts.items():
            stored = (
                f"{c.hour}|{c.hour_n}|{c.day}|{c.day_n}|{c.day_pool}|{c.week}|{c.week_n}|{c.week_pool}|-1|0"
            )
            pipe.hsetnx(self._state, owner_id, stored)
        with redis_outage(_WHAT):
            return sum(1 for written in pipe.execute() if written)

    def _run(self, payloads: list[list[str]]) -> list[Any]:
        """One pipelined round trip; NOSCRIPT re-sends only the chunks that hit it, in order."""
        results: list[Any] = [None] * len(payloads)
        pending = list(range(len(payloads)))
        for attempt in range(1, _ATTEMPTS + 2):
            try:
                pipe = self._client.pipeline(transaction=False)
                for index in pending:
                    pipe.evalsha(self._script.sha, 1, self._state, self._base, self._ttl, *payloads[index])
                replies = pipe.execute(raise_on_error=False)
            except TRANSIENT_ERRORS as error:
                if attempt >= _ATTEMPTS:
                    raise unavailable(_WHAT, error) from error
                time.sleep(0.1 * 2**attempt)
                continue
            missing = []
            for index, reply in zip(pending, replies, strict=True):
                if isinstance(reply, NoScriptError):
                    missing.append(index)
                elif isinstance(reply, Exception):
                    raise reply
                else:
                    results[index] = reply
            if not missing:
                return results
            self._load_script()
            pending = missing
        raise DependencyUnavailable("Redis kept losing the assignment script (NOSCRIPT)")

    def _load_script(self) -> None:
        with redis_outage(_WHAT):
            self._client.script_load(self._script.script)

    def fairness(self, buckets: Iterable[tuple[str, str, str]], now_ms: int) -> list[Fairness]:
        """Per (owner id, owner-local day bucket, week bucket): counts and expected shares.

        Reads every pool's eligible-set counts of the last nine UTC days (an owner-local
        ISO week spans at most eight), so it is a report, not a hot-path call.
        """
        wanted = list(buckets)
        today = now_ms // 86_400_000
        with redis_outage(_WHAT):
            # leadroute's Redis clients never decode responses: members and values are bytes.
            pools = sorted(cast(set[bytes], self._client.smembers(self._base + "pools")))
            pipe = self._client.pipeline(transaction=False)
            for pool in pools:
                for utc_day in range(today - 8, today + 2):
                    pipe.hgetall(f"{self._base}e:{pool.decode()}:{utc_day}")
            tables = pipe.execute()
            values = (
                cast(list[bytes | None], self._client.hmget(self._state, [owner for owner, _, _ in wanted]))
                if wanted
                else []
            )
        expected: dict[tuple[str, str], int] = {}
        for table in tables:
            _shares(table, expected)
        rows = []
        for (owner, day, week), value in zip(wanted, values, strict=True):
            parts = value.decode().split("|") if value else []
            today_ok = len(parts) == 10 and parts[2] == day
            week_ok = len(parts) == 10 and parts[5] == week
            rows.append(
                Fairness(
                    owner,
                    int(parts[3]) if today_ok else 0,
                    int(parts[6]) if week_ok else 0,
                    int(parts[4]) if today_ok else 0,
                    int(parts[7]) if week_ok else 0,
                    expected.get((owner, day), 0) / EXPECTED_UNIT,
                    expected.get((owner, "W" + week), 0) / EXPECTED_UNIT,
                )
            )
        return rows
