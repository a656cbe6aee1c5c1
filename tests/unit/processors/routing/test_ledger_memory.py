"""The assignment ledger's semantics, as scenarios any ledger must pass.

``tests/integration/adapters/test_redis_ledger.py`` runs these same scenarios against
the Redis ledger (its conformance suite), so the two cannot drift.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from processors.routing.ledger import AssignRequest, Attempt, Candidate, Skip
from processors.routing.memory_ledger import InMemoryLedger, member_hash

HOUR, DAY, WEEK = "2026-11-25T14", "2026-11-25", "2026-W48"
_counter = iter(range(10**9))


def cand(owner_id: str, **fields: Any) -> Candidate:
    values: dict[str, Any] = {"hour_bucket": HOUR, "day_bucket": DAY, "week_bucket": WEEK}
    values.update(fields)
    return Candidate(owner_id, **values)


def pool(name: str, members: list[Candidate], strategy: str = "round_robin", **fields: Any) -> Attempt:
    return Attempt("pool", name, tuple(members), strategy=strategy, **fields)


QUEUE = Attempt("queue", "triage")


def request(*attempts: Attempt, lead_id: str | None = None, **fields: Any) -> AssignRequest:
    lead = lead_id or f"lead-{next(_counter)}"
    return AssignRequest(
        lead, attempts, now_ms=fields.pop("now_ms", 1_000), meta=f'{{"lead":"{lead}"}}', **fields
    )


def owners_of(ledger: Any, requests: list[AssignRequest]) -> list[str | None]:
    return [r.owner_id for r in ledger.assign_many(requests)]


# --- scenarios: each takes a fresh ledger and a unique name prefix ---


def scenario_replay_returns_the_first_decision_and_moves_nothing(ledger: Any, p: str) -> None:
    members = [cand(f"{p}a"), cand(f"{p}b"), cand(f"{p}c")]
    first = ledger.assign_many([request(pool(p, members), QUEUE, lead_id=f"{p}-1")])[0]
    again = ledger.assign_many([request(pool(p, members), QUEUE, lead_id=f"{p}-1")])[0]
    assert again.replayed and not first.replayed
    assert (again.owner_id, again.attempt, again.meta) == (first.owner_id, first.attempt, first.meta)
    rest = owners_of(ledger, [request(pool(p, members)) for _ in range(2)])
    assert sorted([first.owner_id, *rest]) == sorted(m.owner_id for m in members)  # the replay took no turn
    rows = ledger.fairness([(first.owner_id, DAY, WEEK)], 1_000)
    assert rows[0].assigned_today == 1 and rows[0].placed_today == 1


def scenario_attempts_in_order_with_every_skip_recorded(ledger: Any, p: str) -> None:
    named = Attempt("owner", "account owner", (cand(f"{p}boss", skip="status away"),))
    members = [cand(f"{p}a", skip="out of office until 2026-12-01 09:00 UTC"), cand(f"{p}b", skip="offline")]
    result = ledger.assign_many([request(named, pool(p, members), QUEUE)])[0]
    assert (result.attempt, result.owner_id, result.sticky) == (2, None, False)
    assert result.skips == (
        Skip(0, f"{p}boss", "status away"),
        Skip(1, f"{p}a", "out of office until 2026-12-01 09:00 UTC"),
        Skip(1, f"{p}b", "offline"),
    )
    nothing = ledger.assign_many([request(pool(p, members))])[0]
    assert (nothing.attempt, nothing.owner_id) == (None, None) and len(nothing.skips) == 2


def scenario_caps_count_in_the_owners_buckets(ledger: Any, p: str) -> None:
    capped = [cand(f"{p}a", cap_hour=2, cap_day=3)]
    placed = owners_of(ledger, [request(pool(p, capped), QUEUE) for _ in range(3)])
    assert placed == [f"{p}a", f"{p}a", None]
    third = ledger.assign_many([request(pool(p, capped), QUEUE)])[0]
    assert third.skips == (Skip(0, f"{p}a", "hourly cap reached (2/2)"),)
    next_hour = [cand(f"{p}a", cap_hour=2, cap_day=3, hour_bucket="2026-11-25T15")]
    assert owners_of(ledger, [request(pool(p, next_hour), QUEUE) for _ in range(2)]) == [f"{p}a", None]
    result = ledger.assign_many([request(pool(p, next_hour), QUEUE)])[0]
    assert result.skips == (Skip(0, f"{p}a", "daily cap reached (3/3)"),)
    next_day = [cand(f"{p}a", cap_hour=2, cap_day=3, hour_bucket="2026-11-26T09", day_bucket="2026-11-26")]
    assert owners_of(ledger, [request(pool(p, next_day), QUEUE)]) == [f"{p}a"]


def scenario_caps_count_named_owner_assignments_too(ledger: Any, p: str) -> None:
    named = Attempt("owner", "account owner", (cand(f"{p}a", cap_day=1),))
    assert owners_of(ledger, [request(named, QUEUE)]) == [f"{p}a"]
    result = ledger.assign_many([request(pool(p, [cand(f"{p}a", cap_day=1), cand(f"{p}b")]))])[0]
    assert result.owner_id == f"{p}b" and result.skips == (Skip(0, f"{p}a", "daily cap reached (1/1)"),)


def scenario_round_robin_least_recently_placed_hash_ordered_first_turns(ledger: Any, p: str) -> None:
    ids = [f"{p}{name}" for name in ("a", "b", "c", "d")]
    members = [cand(i) for i in ids]
    placed = owners_of(ledger, [request(pool(p, members)) for _ in range(8)])
    first_turns = sorted(ids, key=lambda i: member_hash(p, i))
    assert placed == first_turns + first_turns
    # a member who sat out is least recently placed when back: next, then in rotation again
    away = [cand(i, skip="status away") if i == first_turns[0] else cand(i) for i in ids]
    owners_of(ledger, [request(pool(p, away)) for _ in range(3)])
    assert owners_of(ledger, [request(pool(p, members))]) == [first_turns[0]]


def scenario_weighted_is_smooth_and_proportional(ledger: Any, p: str) -> None:
    members = [cand(f"{p}a", weight=1.0), cand(f"{p}b", weight=2.0), cand(f"{p}c", weight=3.0)]
    placed = owners_of(ledger, [request(pool(p, members, "weighted")) for _ in range(6)])
    assert placed == [f"{p}c", f"{p}b", f"{p}a", f"{p}c", f"{p}b", f"{p}c"]  # nginx's smooth order
    counts = Counter(owners_of(ledger, [request(pool(p, members, "weighted")) for _ in range(600)]))
    assert counts == {f"{p}a": 100, f"{p}b": 200, f"{p}c": 300}


def scenario_weighted_ties_follow_the_rotation_not_the_list_order(ledger: Any, p: str) -> None:
    ids = [f"{p}{name}" for name in ("a", "b", "c")]
    for order in (ids, list(reversed(ids))):
        pool_name = f"{p}{'-'.join(o[-1] for o in order)}"
        turns = sorted(ids, key=lambda i, name=pool_name: member_hash(name, i))
        members = [cand(i, weight=2.0) for i in order]
        placed = owners_of(ledger, [request(pool(pool_name, members, "weighted")) for _ in range(6)])
        assert placed == turns + turns  # equal weights: a fair rotation, whatever the list order


def scenario_load_balanced_fewest_today_then_open_load(ledger: Any, p: str) -> None:
    named = Attempt("owner", "account owner", (cand(f"{p}a"),))
    owners_of(ledger, [request(named) for _ in range(2)])  # a already has 2 today
    members = [cand(f"{p}a"), cand(f"{p}b"), cand(f"{p}c")]
    placed = owners_of(ledger, [request(pool(p, members, "load_balanced")) for _ in range(4)])
    assert Counter(placed) == {f"{p}b": 2, f"{p}c": 2}
    loaded = [cand(f"{p}x", open_load=5), cand(f"{p}y", open_load=1), cand(f"{p}z", open_load=3)]
    balanced = pool(f"{p}-open", loaded, "load_balanced", balance_by="open_load")
    placed = owners_of(ledger, [request(balanced) for _ in range(4)])
    assert placed[:2] == [f"{p}y", f"{p}y"]  # 1, 2 (+ assignments since the report) ...
    assert Counter(placed) == {f"{p}y": 3, f"{p}z": 1}  # ... then 3 ties with z's 3
    refreshed = [cand(f"{p}x", open_load=5), cand(f"{p}y", open_load=0), cand(f"{p}z", open_load=4)]
    after = pool(f"{p}-open", refreshed, "load_balanced", balance_by="open_load")
    assert owners_of(ledger, [request(after)]) == [f"{p}y"]  # a new report resets "since"


def scenario_sticky_owner_keeps_new_logo_leads(ledger: Any, p: str) -> None:
    members = [cand(f"{p}a"), cand(f"{p}b"), cand(f"{p}c")]
    sticky = {"sticky_key": f"{p}.example", "sticky_ttl_s": 3600}
    first = ledger.assign_many([request(pool(p, members), **sticky)])[0]
    again = ledger.assign_many([request(pool(p, members), **sticky) for _ in range(3)])
    assert not first.sticky and all(r.sticky and r.owner_id == first.owner_id for r in again)
    away = [cand(m.owner_id, skip="status away") if m.owner_id == first.owner_id else m for m in members]
    moved = ledger.assign_many([request(pool(p, away), **sticky)])[0]
    assert not moved.sticky and moved.owner_id != first.owner_id
    assert ledger.assign_many([request(pool(p, members), **sticky)])[0].owner_id == moved.owner_id
    other = ledger.assign_many([request(pool(p, members)) for _ in range(3)])
    assert not any(r.sticky for r in other)


def scenario_returning_owner_no_surge_by_default(ledger: Any, p: str) -> None:
    ids = [f"{p}a", f"{p}b", f"{p}c"]
    away = [cand(f"{p}a"), cand(f"{p}b"), cand(f"{p}c", skip="status away")]
    owners_of(ledger, [request(pool(p, away, "load_balanced")) for _ in range(30)])
    back = owners_of(ledger, [request(pool(p, [cand(i) for i in ids], "load_balanced")) for _ in range(30)])
    assert 9 <= back.count(f"{p}c") <= 11 and back[:3].count(f"{p}c") <= 1


def scenario_newcomer_joins_level_not_a_day_behind(ledger: Any, p: str) -> None:
    """A and B have had 5 leads each today; C joins the pool: the next 6 split 2/2/2."""
    a, b, c = f"{p}a", f"{p}b", f"{p}c"
    owners_of(ledger, [request(pool(p, [cand(a), cand(b)], "load_balanced")) for _ in range(10)])
    joined = owners_of(
        ledger, [request(pool(p, [cand(a), cand(b), cand(c)], "load_balanced")) for _ in range(6)]
    )
    assert Counter(joined) == {a: 2, b: 2, c: 2}
    # the same by open load: a newcomer with no open leads does not take the next ten in a row
    x, y, z = f"{p}x", f"{p}y", f"{p}z"
    pair = [cand(x, open_load=10), cand(y, open_load=10)]
    owners_of(ledger, [request(pool(f"{p}-open", pair, "load_balanced", balance_by="open_load"))])
    trio = [*pair, cand(z, open_load=0)]
    later = owners_of(
        ledger, [request(pool(f"{p}-open", trio, "load_balanced", balance_by="open_load")) for _ in range(6)]
    )
    assert later.count(z) <= 3 and later[:2] != [z, z]


def scenario_newcomer_credit_is_the_returning_credit(ledger: Any, p: str) -> None:
    a, b, c = f"{p}a", f"{p}b", f"{p}c"
    credit = {"returning_owner_credit": 2}
    owners_of(ledger, [request(pool(p, [cand(a), cand(b)], "load_balanced"), **credit) for _ in range(10)])
    joined = owners_of(
        ledger, [request(pool(p, [cand(a), cand(b), cand(c)], "load_balanced"), **credit) for _ in range(9)]
    )
    counts = Counter(joined)
    # two leads of credit first, then level: a third of the remaining seven, rounded either way
    assert joined[:2] == [c, c] and 2 + 2 <= counts[c] <= 2 + 3 and abs(counts[a] - counts[b]) <= 1


def scenario_a_new_day_levels_whoever_starts_it_late(ledger: Any, p: str) -> None:
    """An owner whose day begins (another time zone) while the pool's others are mid-day joins level."""
    a, b = f"{p}a", f"{p}b"
    owners_of(ledger, [request(pool(p, [cand(a), cand(b)], "load_balanced")) for _ in range(6)])
    tomorrow = {"day_bucket": "2026-11-26", "hour_bucket": "2026-11-26T00"}
    next_leads = owners_of(
        ledger, [request(pool(p, [cand(a), cand(b, **tomorrow)], "load_balanced")) for _ in range(4)]
    )
    assert Counter(next_leads) == {a: 2, b: 2}


def scenario_returning_owner_credit_is_bounded(ledger: Any, p: str) -> None:
    ids = [f"{p}a", f"{p}b", f"{p}c"]
    away = [cand(f"{p}a"), cand(f"{p}b"), cand(f"{p}c", skip="out of office until tomorrow")]
    credit = {"returning_owner_credit": 4}
    owners_of(ledger, [request(pool(p, away, "load_balanced"), **credit) for _ in range(30)])
    back = owners_of(
        ledger, [request(pool(p, [cand(i) for i in ids], "load_balanced"), **credit) for _ in range(30)]
    )
    assert back[:4] == [f"{p}c"] * 4 and back.count(f"{p}c") <= 10 + 4 + 1
    # round robin: a turn credit per missed placement, at most N in store
    rr = f"{p}-rr"
    owners_of(ledger, [request(pool(rr, away), **credit) for _ in range(10)])
    again = owners_of(ledger, [request(pool(rr, [cand(i) for i in ids]), **credit) for _ in range(6)])
    assert again[:4] == [f"{p}c"] * 4 and again[4:].count(f"{p}c") == 0
    # a missing skill is not an absence: no credit
    skill = f"{p}-skill"
    lacking = [cand(f"{p}a"), cand(f"{p}b"), cand(f"{p}c", skip="missing skill german")]
    owners_of(ledger, [request(pool(skill, lacking), **credit) for _ in range(6)])
    assert (
        owners_of(ledger, [request(pool(skill, [cand(i) for i in ids]), **credit) for _ in range(3)]).count(
            f"{p}c"
        )
        == 1
    )


def scenario_fairness_expected_share_and_deficit(ledger: Any, p: str) -> None:
    members = [cand(f"{p}a", weight=1.0), cand(f"{p}b", weight=1.0), cand(f"{p}c", weight=2.0)]
    owners_of(ledger, [request(pool(p, members, "weighted")) for _ in range(40)])
    partial = [
        cand(f"{p}a", weight=1.0),
        cand(f"{p}b", weight=1.0),
        cand(f"{p}c", weight=2.0, skip="offline"),
    ]
    owners_of(ledger, [request(pool(p, partial, "weighted")) for _ in range(10)])
    rows = {r.owner_id: r for r in ledger.fairness([(f"{p}{x}", DAY, WEEK) for x in "abc"], 1_000)}
    assert rows[f"{p}a"].expected_today == pytest.approx(15.0) and rows[
        f"{p}c"
    ].expected_week == pytest.approx(20.0)
    assert rows[f"{p}c"].placed_today == 20 and rows[f"{p}a"].placed_today + rows[f"{p}b"].placed_today == 30
    assert all(abs(r.deficit_today) <= 1 for r in rows.values())
    assert ledger.fairness([(f"{p}a", "2026-11-26", "2026-W48")], 1_000)[0].assigned_today == 0


def _ids(p: str, *kinds: str) -> tuple[str, ...]:
    return tuple(f"{kind}:{p}{kind}" for kind in kinds)


def scenario_a_duplicate_finds_the_first_lead_and_follows_it(ledger: Any, p: str) -> None:
    a = cand(f"{p}a")
    day = 30 * 86_400
    first = ledger.assign_many(
        [request(pool(p, [a]), lead_id=f"{p}-1", identities=_ids(p, "email"), identity_ttl_s=day)]
    )
    assert first[0].owner_id == f"{p}a" and first[0].unplanned_duplicate is None
    (found,) = ledger.first_leads([(f"{p}-2", _ids(p, "phone", "email"))], 1_000)
    assert found is not None and (found.lead_id, found.matched_on, found.owner_id, found.routed_at_ms) == (
        f"{p}-1",
        "email",
        f"{p}a",
        1_000,
    )
    assert ledger.first_leads([(f"{p}-1", _ids(p, "email"))], 1_000) == [None]  # never a duplicate of itself
    dup = request(
        pool(p, [a]),
        QUEUE,
        lead_id=f"{p}-2",
        identities=_ids(p, "email", "phone"),
        identity_ttl_s=day,
        duplicate_of=f"{p}-1",
    )
    assert ledger.assign_many([dup])[0].unplanned_duplicate is None
    # the duplicate lent the first lead's record to its phone: a third lead with only that phone finds it
    (third,) = ledger.first_leads([(f"{p}-3", _ids(p, "phone"))], 1_000)
    assert third is not None and (third.lead_id, third.matched_on) == (f"{p}-1", "phone")


def scenario_a_lead_planned_as_first_after_someone_else_claimed_is_not_decided(ledger: Any, p: str) -> None:
    a, b = cand(f"{p}a"), cand(f"{p}b")
    ids = {"identities": _ids(p, "name_company"), "identity_ttl_s": 3600}
    ledger.assign_many([request(pool(p, [a, b]), lead_id=f"{p}-1", **ids)])
    late = ledger.assign_many([request(pool(p, [a, b]), lead_id=f"{p}-2", **ids)])[0]
    assert late.unplanned_duplicate is not None and late.unplanned_duplicate.lead_id == f"{p}-1"
    assert late.owner_id is None and late.attempt is None
    # nothing was decided or counted: planned again as the duplicate, it is decided as a first decision
    again = ledger.assign_many([request(pool(p, [a, b]), lead_id=f"{p}-2", duplicate_of=f"{p}-1", **ids)])[0]
    assert not again.replayed and again.unplanned_duplicate is None and again.owner_id is not None
    rows = {r.owner_id: r for r in ledger.fairness([(f"{p}a", DAY, WEEK), (f"{p}b", DAY, WEEK)], 1_000)}
    assert rows[f"{p}a"].assigned_today + rows[f"{p}b"].assigned_today == 2


def scenario_two_leads_of_one_person_in_one_call_one_is_first(ledger: Any, p: str) -> None:
    ids = {"identities": _ids(p, "email"), "identity_ttl_s": 3600}
    results = ledger.assign_many(
        [request(pool(p, [cand(f"{p}a")]), lead_id=f"{p}-{n}", **ids) for n in (1, 2)]
    )
    assert results[0].unplanned_duplicate is None and results[0].owner_id == f"{p}a"
    assert results[1].unplanned_duplicate is not None and results[1].unplanned_duplicate.lead_id == f"{p}-1"


SCENARIOS: dict[str, Callable[[Any, str], None]] = {
    name.removeprefix("scenario_"): function
    for name, function in dict(globals()).items()
    if name.startswith("scenario_")
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_in_memory_ledger(name: str) -> None:
    SCENARIOS[name](InMemoryLedger(), f"{name[:6]}-")
