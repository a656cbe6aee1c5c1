"""The Redis CRM mirror against a real Redis, held to the in-memory mirror's answers.

Redis is the suite's (the `client` fixture in conftest.py); every
key lives under a prefix unique to the test and is deleted afterwards.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from processors.crm.indexing import company_tokens, email_key, index_entries, person_name_key
from processors.crm.memory import InMemoryCrmMirror
from processors.crm.models import Account, MatchQuery, Opportunity, Person, RecordKind
from processors.crm.names import prepared
from streams import wiring
from streams.adapters.redis_crm_mirror import (
    _LUA_BYTEWISE,
    BUCKETED_FAMILIES,
    RedisCrmMirror,
    decode_record,
    encode_record,
)
from streams.bench.crm_memory import SyntheticCrm, load_records, measure_lookup_rate, measure_mirror_memory
from streams.settings import Settings

pytestmark = pytest.mark.integration


# -- records ---------------------------------------------------------------


def account(
    record_id: str,
    name: str,
    domains: list[str] | None = None,
    *,
    parent: str | None = None,
    owner: str | None = "u1",
    **extra: Any,
) -> Account:
    record: Account = {
        "id": record_id,
        "name": name,
        "domains": domains or [],
        "website": f"https://{domains[0]}" if domains else None,
        "owner_id": owner,
        "parent_id": parent,
        "employees": 120,
        "industry": "Software",
        "country_code": "DE",
        "type": "customer",
        "tier": "A",
        "last_activity_ms": 1_700_000_000_000,
    }
    record.update(extra)  # type: ignore[typeddict-item]
    return record


def person(
    kind: RecordKind,
    record_id: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    first: str | None = None,
    last: str | None = None,
    account_id: str | None = None,
    owner: str | None = "u2",
) -> Person:
    return {
        "id": record_id,
        "kind": kind,  # type: ignore[typeddict-item]
        "email": email,
        "phone": phone,
        "first_name": first,
        "last_name": last,
        "company": None,
        "account_id": account_id,
        "owner_id": owner,
        "status": "active",
    }


def opportunity(
    record_id: str, account_id: str, *, is_open: bool = True, amount: float = 1000.5
) -> Opportunity:
    return {
        "id": record_id,
        "account_id": account_id,
        "owner_id": "u3",
        "stage": "Proposal" if is_open else "Closed Won",
        "amount": amount,
        "is_open": is_open,
        "close_date": "2025-06-30",
    }


def scenario() -> list[tuple[RecordKind, Any]]:
    """A small CRM that exercises every look-up: hierarchies, shared tokens, busy tokens, ties."""
    records: list[tuple[RecordKind, Any]] = [
        ("account", account("A00", "Acme Global", ["acmeglobal.com"])),
        ("account", account("A0", "Acme Holdings", ["acmeholdings.com"], parent="A00")),
        ("account", account("A1", "Acme Software Inc", ["acme.com", "acme.io"], parent="A0")),
        ("account", account("A2", "Acme Software Labs", ["acme.com"])),  # a duplicate domain
        ("account", account("B1", "Blue River Software", ["blueriver.com"], parent="P1")),
        ("account", account("B2", "Blue River Foods GmbH", ["bluerfoods.de"])),
        ("account", account("B3", "Blue Sky Software", ["bluesky.io"])),
        ("account", account("B4", "River Blue Ltd", ["riverblue.co.uk"])),
        ("account", account("P1", "Riverside Partners", ["riverside.com"], parent="P0")),
        ("account", account("P0", "Riverside Capital", ["riversidecap.com"], parent="PP")),
        ("account", account("PP", "Riverside Trust", ["riversidetrust.com"])),
        ("account", account("Q1", "Émile Café SARL", ["emile.fr"], note="extra field")),
        # ties broken by id, bytewise as Python sorts: "Z" < "_" < "a" < "é"
        ("account", account("a9", "Tiebreak Widgets", [])),
        ("account", account("Z9", "Tiebreak Gadgets", [])),
        ("account", account("_9", "Tiebreak Gizmos", [])),
        ("account", account("é9", "Tiebreak Doodads", [])),
        ("account", account("a10", "Tiebreak Things", [])),
    ]
    records += [("account", account(f"C{i:02d}", f"Common Widget Maker {chr(97 + i)}x")) for i in range(12)]
    records += [
        ("contact", person("contact", "c1", email="jane.doe@acme.com", phone="+4930111", first="Jane",
                           last="Doe", account_id="A1")),
        ("contact", person("contact", "c2", email="max@acme.com", phone="+4930222", first="Max",
                           last="Muster", account_id="A1")),
        ("contact", person("contact", "c3", email="jo@blueriver.com", phone="+4930111", first="Jo",
                           last="Bloggs", account_id="B1")),
        ("contact", person("contact", "c4", email="jane@riverblue.co.uk", first="Jane", last="Doe",
                           account_id="B4")),
        ("contact", person("contact", "c5", email="ghost@nowhere.com", account_id="GONE")),
        ("lead", person("lead", "l1", email="Jane.Doe@ACME.com", first="Jane", last="Döe")),
        ("lead", person("lead", "l2", email="sam@bluesky.io", phone="+4930333", first="Sam", last="Lee",
                        account_id="B3")),
        ("opportunity", opportunity("o1", "A1")),
        ("opportunity", opportunity("o0", "A1", amount=5.0)),
        ("opportunity", opportunity("o2", "A1", is_open=False)),
        ("opportunity", opportunity("o3", "A0")),
        ("opportunity", opportunity("o4", "PP")),
        ("opportunity", opportunity("o5", "B4", is_open=False)),
    ]  # fmt: skip
    return records


def query(
    *,
    email: str | None = None,
    phone: str | None = None,
    first: str | None = None,
    last: str | None = None,
    domain: str | None = None,
    company: str | None = None,
    tokens: tuple[str, ...] | None = None,
) -> MatchQuery:
    return MatchQuery(
        email_key=email_key(email),
        phone=phone,
        person_name_key=person_name_key(first, last),
        domain=domain,
        name_tokens=tokens if tokens is not None else (company_tokens(company) if company else ()),
    )


QUERIES: dict[str, MatchQuery] = {
    "email": query(email="jane.doe@acme.com"),
    "phone": query(phone="+4930111"),
    "name": query(first="jane", last="DOE"),
    "domain": query(domain="acme.com"),
    "alternate domain": query(domain="acme.io"),
    "tokens": query(company="Blue River Software"),
    "busy token skipped": query(company="Common Widget Maker"),
    "ties": query(company="Tiebreak"),
    "hierarchy": query(domain="blueriver.com"),
    "everything": query(
        email="jane.doe@acme.com",
        phone="+4930333",
        first="Jane",
        last="Doe",
        domain="acme.com",
        company="Acme Software",
    ),
    "nothing": query(email="nobody@example.org", domain="example.org", company="Nonexistent Corp"),
    "repeated token": query(tokens=("blue", "blue", "sky")),
    "busy token ranks what others found": query(tokens=("common", "cx", "blue")),
    "non-ascii": query(company="Emile Cafe"),
    # typo variants: asked only for a word no account carries, capped by max_typo_posting
    "typo of an unknown word": MatchQuery(typo_words=("rivre",)),
    "typo of a known word": MatchQuery(typo_words=("river",)),
    "typo variant and token": MatchQuery(name_tokens=("sky",), typo_words=("rivre",)),
    "typo, nothing but the ends": MatchQuery(typo_words=("riverxide",)),
    "typo, busy variant": MatchQuery(typo_words=("bleu",)),
    "typo, not ascii": MatchQuery(typo_words=("rivré",)),
    "domain found, names skipped": MatchQuery(
        domain="acme.com", name_tokens=("blue",), names_only_without_domain=True
    ),
    "domain unknown, names asked": MatchQuery(
        domain="example.org", name_tokens=("blue",), names_only_without_domain=True
    ),
}


# -- fixtures --------------------------------------------------------------


@pytest.fixture
def make_redis_mirror(client: redis.Redis) -> Iterator[Any]:
    """Mirrors under prefixes unique to the test, all deleted afterwards."""
    made: list[RedisCrmMirror] = []

    def make(**options: Any) -> RedisCrmMirror:
        mirror = RedisCrmMirror(client, prefix=f"leadroute-test-{uuid.uuid4().hex[:8]}", **options)
        made.append(mirror)
        return mirror

    yield make
    for mirror in made:
        mirror.forget_prefix()
        assert not list(client.scan_iter(match=f"{mirror.prefix}:*"))


OPTIONS = {"max_candidates": 4, "max_posting": 10, "max_typo_posting": 3}
#: Few buckets, so that postings share bucket hashes in these small scenarios.
FEW_BUCKETS = 3


@pytest.fixture(params=["memory", "redis"])
def mirror(request: pytest.FixtureRequest, make_redis_mirror: Any) -> Any:
    """The scenario in either mirror: the same tests must pass against both."""
    if request.param == "memory":
        built = InMemoryCrmMirror(**OPTIONS)
    else:
        built = make_redis_mirror(**OPTIONS, buckets=FEW_BUCKETS)
    for kind, record in scenario():
        built.upsert(kind, record)
    return built


@pytest.fixture
def pair(make_redis_mirror: Any) -> tuple[InMemoryCrmMirror, RedisCrmMirror]:
    return InMemoryCrmMirror(**OPTIONS), make_redis_mirror(**OPTIONS, buckets=FEW_BUCKETS)


def ids(records: list[Any]) -> list[str]:
    return [record["id"] for record in records]


# -- conformance: the same expectations for both mirrors --------------------


def test_people_by_email_phone_and_name(mirror: Any) -> None:
    found = mirror.candidates(QUERIES["email"])
    assert ids(found.people_by_email) == ["c1", "l1"]  # contact:… sorts before lead:…
    assert found.people_by_email[1]["kind"] == "lead"
    assert ids(mirror.candidates(QUERIES["phone"]).people_by_phone) == ["c1", "c3"]
    assert ids(mirror.candidates(QUERIES["name"]).people_by_name) == ["c1", "c4", "l1"]
    found = mirror.candidates(QUERIES["phone"])
    assert set(found.related_accounts) == {"A1", "A0", "B1", "P1"}  # their accounts and those parents
    assert found.people_by_email == [] and found.accounts_by_domain == []


def test_domains_primary_and_alternate(mirror: Any) -> None:
    assert ids(mirror.candidates(QUERIES["domain"]).accounts_by_domain) == ["A1", "A2"]
    found = mirror.candidates(QUERIES["alternate domain"])
    assert ids(found.accounts_by_domain) == ["A1"]
    assert found.accounts_by_domain[0]["domains"] == ["acme.com", "acme.io"]


def test_tokens_rank_by_shared_count_then_id_and_are_capped(mirror: Any) -> None:
    found = mirror.candidates(QUERIES["tokens"])
    # blue, river, software, soft~, ~ware: B1 shares 5; B3 4; A1 and A2 3 ("software" and its
    # ends); B2 and B4 only 2, so max_candidates=4 leaves them out
    assert ids(found.accounts_by_name) == ["B1", "B3", "A1", "A2"]
    assert ids(mirror.candidates(QUERIES["repeated token"]).accounts_by_name) == ["B3", "B1", "B2", "B4"]


def test_busy_tokens_are_skipped(mirror: Any) -> None:
    # "common", "widget" and "maker" are carried by 12 accounts > max_posting=10
    assert mirror.candidates(QUERIES["busy token skipped"]).accounts_by_name == []


def test_busy_tokens_rank_the_accounts_other_tokens_found(mirror: Any) -> None:
    # "cx" finds C02 and "blue" B1-B4; "common" (12 accounts) finds none itself, but C02 has it
    found = mirror.candidates(QUERIES["busy token ranks what others found"])
    assert ids(found.accounts_by_name) == ["C02", "B1", "B2", "B3"]


def test_ties_sort_bytewise_like_python(mirror: Any) -> None:
    found = mirror.candidates(QUERIES["ties"])
    assert ids(found.accounts_by_name) == sorted(["a9", "Z9", "_9", "é9", "a10"])[:4]
    assert ids(found.accounts_by_name) == ["Z9", "_9", "a10", "a9"]


def test_typo_variants_count_only_for_words_no_account_carries(mirror: Any) -> None:
    # "rivre" is unknown: "river" (two letters swapped) finds B1, B2 and B4
    assert ids(mirror.candidates(QUERIES["typo of an unknown word"]).accounts_by_name) == ["B1", "B2", "B4"]
    # "river" is carried by accounts: its variants are not asked, and it is no name token here
    assert mirror.candidates(QUERIES["typo of a known word"]).accounts_by_name == []
    # a variant counts like a token: B3 has "sky", the others "river" found by the typo
    found = mirror.candidates(QUERIES["typo variant and token"])
    assert ids(found.accounts_by_name) == ["B1", "B2", "B3", "B4"]
    # no variant one letter off is carried, so the word's ends are asked: "rive~" (Riverside)
    found = mirror.candidates(QUERIES["typo, nothing but the ends"])
    assert ids(found.accounts_by_name) == ["P0", "P1", "PP"]
    # "blue" (4 accounts) is busier than max_typo_posting=3; non-ASCII words are not tried
    assert mirror.candidates(QUERIES["typo, busy variant"]).accounts_by_name == []
    assert mirror.candidates(QUERIES["typo, not ascii"]).accounts_by_name == []


def test_name_candidates_can_wait_for_a_domain_miss(mirror: Any) -> None:
    found = mirror.candidates(QUERIES["domain found, names skipped"])
    assert ids(found.accounts_by_domain) == ["A1", "A2"] and found.accounts_by_name == []
    found = mirror.candidates(QUERIES["domain unknown, names asked"])
    assert found.accounts_by_domain == [] and ids(found.accounts_by_name) == ["B1", "B2", "B3", "B4"]


def test_related_accounts_one_level_and_parent_of_related(mirror: Any) -> None:
    found = mirror.candidates(QUERIES["hierarchy"])
    assert ids(found.accounts_by_domain) == ["B1"]
    # B1's parent P1, and P1's parent P0; not P0's parent PP (two levels up from a related one)
    assert set(found.related_accounts) == {"P1", "P0"}
    found = mirror.candidates(QUERIES["domain"])
    assert set(found.related_accounts) == {"A0", "A00"}


def test_contact_counts_and_open_opportunities_only(mirror: Any) -> None:
    found = mirror.candidates(QUERIES["everything"])
    assert found.contact_counts["A1"] == 2
    assert found.contact_counts["A2"] == 0
    assert found.contact_counts["B3"] == 0  # a lead's account: leads are not counted
    assert found.contact_counts["B4"] == 1  # c4's account, found by name
    assert set(found.contact_counts) == {"A00", "A0", "A1", "A2", "B1", "B3", "B4", "P0", "P1"}
    assert {k: ids(v) for k, v in found.open_opportunities.items()} == {"A1": ["o0", "o1"], "A0": ["o3"]}
    assert found.open_opportunities["A1"][0]["amount"] == 5.0
    assert "PP" not in mirror.candidates(QUERIES["hierarchy"]).open_opportunities


def test_unknown_account_references_are_ignored(mirror: Any) -> None:
    found = mirror.candidates(query(email="ghost@nowhere.com"))
    assert ids(found.people_by_email) == ["c5"]
    assert found.related_accounts == {} and found.contact_counts == {}


def test_records_come_back_whole(mirror: Any) -> None:
    found = mirror.candidates(QUERIES["non-ascii"])
    original = next(r for k, r in scenario() if k == "account" and r["id"] == "Q1")
    assert found.accounts_by_name == [prepared("account", original)]  # extra fields and accents included
    assert found.accounts_by_name[0]["name_key"]  # stored with the name's comparison form


def test_redis_answers_what_memory_answers(make_redis_mirror: Any) -> None:
    memory, stored = InMemoryCrmMirror(**OPTIONS), make_redis_mirror(**OPTIONS)
    for kind, record in scenario():
        memory.upsert(kind, record)
    stored.upsert_many([(kind, record["id"], record) for kind, record in scenario()])
    for name, asked in QUERIES.items():
        assert stored.candidates(asked) == memory.candidates(asked), name


def test_default_limits_match_memory(make_redis_mirror: Any) -> None:
    memory, stored = InMemoryCrmMirror(), make_redis_mirror()
    for kind, record in scenario():
        memory.upsert(kind, record)
        stored.upsert(kind, record)
    for asked in QUERIES.values():
        assert stored.candidates(asked) == memory.candidates(asked)


def test_answers_handed_out_one_by_one_equal_the_batch(make_redis_mirror: Any) -> None:
    stored = make_redis_mirror(**OPTIONS)
    stored.upsert_many([(kind, record["id"], record) for kind, record in scenario()])
    asked = list(QUERIES.values()) * 3  # several chunks in flight
    assert list(stored.iter_candidates(asked)) == stored.candidates_many(asked)
    first = stored.iter_candidates(asked)
    assert next(first) == stored.candidates(asked[0])
    first.close()  # stopped early: the connection with unread replies is dropped, not reused
    assert stored.candidates_many(asked[:2]) == [stored.candidates(q) for q in asked[:2]]


def test_candidates_many_equals_one_by_one(make_redis_mirror: Any) -> None:
    stored = make_redis_mirror(**OPTIONS)
    load_records(stored, scenario(), batch=7)
    queries = list(QUERIES.values()) * 3
    assert stored.candidates_many(queries) == [stored.candidates(q) for q in queries]
    assert stored.candidates_many([]) == []
    assert measure_lookup_rate(stored, queries, batch=5) > 0
    assert measure_lookup_rate(stored, queries) > 0


def test_a_failing_look_up_fails_the_batch_and_leaves_the_connection_usable(
    make_redis_mirror: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = make_redis_mirror(**OPTIONS)
    load_records(stored, scenario())
    queries = list(QUERIES.values())
    expected = stored.candidates_many(queries)
    real_args = stored._lookup_args
    broken = QUERIES["tokens"]

    def args_with_one_bad(query: MatchQuery) -> list[Any]:
        args = real_args(query)
        if query is broken:
            args[1] = "not a number"  # the script fails for this lead only
        return args

    monkeypatch.setattr(stored, "_lookup_args", args_with_one_bad)
    with pytest.raises(redis.ResponseError):  # the lead's problem, not an outage
        stored.candidates_many(queries * 3)
    monkeypatch.undo()
    assert stored.candidates_many(queries) == expected


def test_look_ups_can_use_another_connection(
    make_redis_mirror: Any, client: redis.Redis, redis_url: str
) -> None:
    """Look-ups go to ``reader`` (in production a replica); writes stay on the client."""
    stored = make_redis_mirror(**OPTIONS)
    load_records(stored, scenario())
    reader = redis.Redis.from_url(redis_url)
    try:
        via_reader = RedisCrmMirror(client, prefix=stored.prefix, reader=reader, **OPTIONS)
        queries = list(QUERIES.values())
        assert via_reader.candidates_many(queries) == stored.candidates_many(queries)
        assert via_reader.candidates(queries[0]) == stored.candidates(queries[0])
    finally:
        reader.close()


def test_a_lost_script_cache_is_reloaded(make_redis_mirror: Any) -> None:
    stored = make_redis_mirror(**OPTIONS)
    load_records(stored, scenario())
    queries = list(QUERIES.values())
    expected = stored.candidates_many(queries)
    stored._lookup_sha = "0" * 40  # as if the server had restarted and forgotten the script
    assert stored.candidates_many(queries) == expected


# -- exact indexes -----------------------------------------------------------


def _summary(text: str) -> tuple[int, list[str]]:
    count, _, opportunities = text.partition("\n")
    return int(count), json.loads(opportunities) if opportunities else []


def redis_state(stored: RedisCrmMirror) -> dict[str, Any]:
    """Every key under the mirror's prefix and its value (hashes as dicts; summaries parsed)."""
    client = stored._client
    state: dict[str, Any] = {}
    for raw_key in client.scan_iter(match=f"{stored.prefix}:*", count=1000):
        key = raw_key.decode()
        if client.type(raw_key) == b"string":  # a name-token posting, packed
            packed = client.get(raw_key).decode()
            members = packed.split("\n")
            assert members[0] == members[-1] == "" and len(set(members[1:-1])) == len(members) - 2
            state[key] = set(members[1:-1])
            continue
        assert client.type(raw_key) == b"hash", key
        fields = {k.decode(): v.decode() for k, v in client.hgetall(raw_key).items()}
        if key == stored.summaries_key():
            state[key] = {account_id: _summary(text) for account_id, text in fields.items()}
        elif key == f"{stored.prefix}:{{crm}}:w":  # each account's name tokens, " a b "
            assert all(text[0] == text[-1] == " " for text in fields.values())
            state[key] = {account_id: set(text.split()) for account_id, text in fields.items()}
        elif key.startswith(f"{stored.prefix}:{{crm}}:b:"):
            state[key] = {value: json.loads(members) for value, members in fields.items()}
        else:
            state[key] = fields
    return state


def expected_state(memory: InMemoryCrmMirror, stored: RedisCrmMirror) -> dict[str, Any]:
    """What the Redis mirror must hold for the in-memory mirror's records, and nothing more."""
    state: dict[str, Any] = {}
    for kind, table in memory.records.items():
        if table:
            state[stored.records_key(kind)] = {i: encode_record(kind, r) for i, r in table.items()}
    summaries: dict[str, tuple[int, list[str]]] = {}
    for index_key, members in memory.index.items():
        kind, _, account_id = index_key.partition(":")
        if kind in BUCKETED_FAMILIES:
            bucket = state.setdefault(stored.bucket_key(kind, account_id), {})
            bucket[account_id] = sorted(members)
            continue
        if kind == "token":
            state[stored.index_key(index_key)] = set(members)
            state.setdefault(f"{stored.prefix}:{{crm}}:tn", {})[account_id] = str(len(members))
            words = state.setdefault(f"{stored.prefix}:{{crm}}:w", {})
            for member in members:
                words.setdefault(member, set()).add(account_id)  # here account_id is the token
            continue
        state[stored.index_key(index_key)] = dict.fromkeys(members, "")
        count, opportunities = summaries.get(account_id, (0, []))
        if kind == "people":
            summaries[account_id] = (len(members), opportunities)
        elif kind == "opps":
            summaries[account_id] = (count, sorted(members))
    if summaries:
        state[stored.summaries_key()] = summaries
    return state


def test_every_change_leaves_exactly_the_expected_keys(
    pair: tuple[InMemoryCrmMirror, RedisCrmMirror],
) -> None:
    memory, stored = pair

    def both(kind: RecordKind, record: Any) -> None:
        memory.upsert(kind, record)
        stored.upsert(kind, record)

    for kind, record in scenario():
        both(kind, record)
    assert redis_state(stored) == expected_state(memory, stored)

    steps: list[tuple[RecordKind, Any]] = [
        ("account", account("A1", "Zenith Robotics Inc", ["acme.com", "acme.io"], parent="A0")),  # rename
        ("account", account("A1", "Zenith Robotics Inc", ["zenith.ai"], parent="A0")),  # domain change
        ("account", account("A1", "Zenith Robotics Inc", ["zenith.ai"], parent="A0", owner="u9")),  # owner
        ("account", account("A1", "Zenith Robotics Inc", ["zenith.ai"], parent="P1", owner="u9")),  # parent
        ("contact", person("contact", "c1", email="jane@zenith.ai", phone="+4930111", first="Jane",
                           last="Doe", account_id="A1")),  # email change
        ("opportunity", opportunity("o1", "A1", is_open=False)),  # open -> closed
    ]  # fmt: skip
    for kind, record in steps:
        both(kind, record)
        assert redis_state(stored) == expected_state(memory, stored), (kind, record["id"])
        for asked in QUERIES.values():
            assert stored.candidates(asked) == memory.candidates(asked)

    assert stored.candidates(query(domain="acme.io")).accounts_by_domain == []
    assert ids(stored.candidates(query(domain="zenith.ai")).accounts_by_domain) == ["A1"]
    assert "A1" not in ids(stored.candidates(query(company="Acme Software")).accounts_by_name)
    assert ids(stored.candidates(query(email="jane.doe@acme.com")).people_by_email) == ["l1"]
    assert ids(stored.candidates(QUERIES["everything"]).open_opportunities["A1"]) == ["o0"]  # o1 closed
    assert set(stored.candidates(query(domain="zenith.ai")).related_accounts) == {"P1", "P0"}  # new parent
    assert set(stored._client.hkeys(stored.index_key("children:P1"))) == {b"A1", b"B1"}
    assert "A1" not in stored._client.hkeys(stored.index_key("children:A0"))

    for each in (memory, stored):
        each.delete("account", "A1")
        each.delete("account", "A1")  # a replayed tombstone is harmless
        each.delete("lead", "never-existed")
    state = redis_state(stored)
    assert state == expected_state(memory, stored)
    assert "A1" not in state[stored.records_key("account")]
    for gone in ("token:zenith", "token:robotics"):
        assert stored.index_key(gone) not in state
    assert "zenith.ai" not in state.get(stored.bucket_key("domain", "zenith.ai"), {})
    postings = [value for key, value in state.items() if key.startswith(stored.index_key(""))]
    assert not [members for members in postings if "A1" in members]
    buckets = [value for key, value in state.items() if key.startswith(f"{stored.prefix}:{{crm}}:b:")]
    assert not [members for bucket in buckets for members in bucket.values() if "A1" in members]
    # c1, c2 and o0 still point at A1: those entries are theirs, and go with them
    assert state[stored.index_key("people:A1")] == {"contact:c1": "", "contact:c2": ""}

    for kind, table in memory.records.items():
        for record_id in list(table):
            memory.delete(kind, record_id)
            stored.upsert_many([(kind, record_id, None)])
    assert redis_state(stored) == {}
    assert stored.sizes() == {"account": 0, "contact": 0, "lead": 0, "opportunity": 0}


def test_sizes_count_records_per_kind(make_redis_mirror: Any) -> None:
    stored = make_redis_mirror()
    load_records(stored, scenario())
    load_records(stored, scenario())
    assert stored.sizes() == {"account": 29, "contact": 5, "lead": 2, "opportunity": 6}


def test_replaying_the_same_changes_gives_the_same_mirror(make_redis_mirror: Any) -> None:
    stored = make_redis_mirror(buckets=FEW_BUCKETS)
    changes: list[tuple[RecordKind, str, Any]] = [(kind, record["id"], record) for kind, record in scenario()]
    changes += [
        ("account", "A1", account("A1", "Renamed Co", ["renamed.com"])),
        ("contact", "c2", None),
        ("contact", "c2", person("contact", "c2", email="back@acme.com", account_id="A2")),
        ("opportunity", "o3", None),
        ("lead", "l9", None),
    ]
    stored.upsert_many(changes)
    first = redis_state(stored)
    stored.upsert_many(changes)
    assert redis_state(stored) == first
    for kind, record_id, record in changes:  # one at a time, in order: the same end state
        if record is None:
            stored.delete(kind, record_id)
        else:
            stored.upsert(kind, record)
    assert redis_state(stored) == first


def test_last_change_of_a_record_in_a_batch_wins(make_redis_mirror: Any) -> None:
    stored = make_redis_mirror()
    first, second = account("X", "First Name Co", ["first.com"]), account("X", "Second Co", ["second.com"])
    stored.upsert_many([("account", "X", first), ("account", "X", second)])
    assert ids(stored.candidates(query(domain="second.com")).accounts_by_domain) == ["X"]
    assert stored.candidates(query(domain="first.com")).accounts_by_domain == []
    stored.upsert_many([("account", "X", first), ("account", "X", None)])
    assert redis_state(stored) == {}


def test_a_concurrent_write_is_detected_and_retried(
    make_redis_mirror: Any, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer changes the record between our read and our write: nothing stale remains."""
    stored = make_redis_mirror()
    other = RedisCrmMirror(client, prefix=stored.prefix)
    stored.upsert("account", account("X", "Original Co", ["original.com"]))
    real_read = stored._read
    raced: list[bool] = []

    def read_then_race(wanted: Any) -> Any:
        values = real_read(wanted)
        if not raced:
            raced.append(True)
            other.upsert("account", account("X", "Interloper Co", ["interloper.com"]))
        return values

    monkeypatch.setattr(stored, "_read", read_then_race)
    stored.upsert("account", account("X", "Final Co", ["final.com"]))
    assert raced
    memory = InMemoryCrmMirror()
    memory.upsert("account", account("X", "Final Co", ["final.com"]))
    assert redis_state(stored) == expected_state(memory, stored)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_random_changes_keep_redis_identical_to_memory(
    pair: tuple[InMemoryCrmMirror, RedisCrmMirror], seed: int
) -> None:
    """Hundreds of random upserts and deletes over few ids and words: state and answers agree."""
    memory, stored = pair
    rng = random.Random(seed)
    words = ["acme", "blue", "river", "sky", "nova", "terra", "zen", "alpha", "beta", "gamma", "delta"]
    domains = [f"{w}.com" for w in words] + [f"{w}.io" for w in words]
    account_ids = [f"A{i}" for i in range(40)]

    def random_record(kind: RecordKind, record_id: str) -> Any:
        if kind == "account":
            parent = rng.choice([None, *account_ids[:10]])
            name = " ".join(rng.sample(words, rng.randint(1, 3))) + rng.choice(["", " Inc", " GmbH"])
            return account(record_id, name, rng.sample(domains, rng.randint(0, 2)), parent=parent)
        if kind == "opportunity":
            return opportunity(record_id, rng.choice(account_ids), is_open=rng.random() < 0.6)
        first, last = rng.choice(["Ann", "Bo", None]), rng.choice(["Lee", "Kim", None])
        return person(
            kind, record_id, email=rng.choice([None, f"{first}@{rng.choice(domains)}"]),
            phone=rng.choice([None, "+491", "+492"]), first=first, last=last,
            account_id=rng.choice([None, *account_ids]),
        )  # fmt: skip

    kinds: list[RecordKind] = ["account", "account", "contact", "lead", "opportunity"]
    for round_number in range(8):
        batch: list[tuple[RecordKind, str, Any]] = []
        for _ in range(60):
            kind = rng.choice(kinds)
            record_id = rng.choice(account_ids) if kind == "account" else f"{kind[0]}{rng.randrange(25)}"
            record = None if rng.random() < 0.2 else random_record(kind, record_id)
            batch.append((kind, record_id, record))
            if record is None:
                memory.delete(kind, record_id)
            else:
                memory.upsert(kind, record)
        if round_number % 2:
            stored.upsert_many(batch)
        else:
            for kind, record_id, record in batch:
                if record is None:
                    stored.delete(kind, record_id)
                else:
                    stored.upsert(kind, record)
        assert redis_state(stored) == expected_state(memory, stored)
        queries = [
            MatchQuery(
                email_key=email_key(f"{rng.choice(['Ann', 'Bo'])}@{rng.choice(domains)}"),
                phone=rng.choice([None, "+491"]),
                person_name_key=rng.choice([None, "ann|lee", "bo|kim"]),
                domain=rng.choice(domains),
                name_tokens=tuple(rng.choices(words, k=rng.randint(0, 4))),  # repeats too
                typo_words=tuple(
                    rng.choices([*words, "bleu", "rivre", "skyy", "nvoa", "zenn"], k=rng.randint(0, 2))
                ),
                names_only_without_domain=rng.random() < 0.5,
            )
            for _ in range(30)
        ]
        assert stored.candidates_many(queries) == memory.candidates_many(queries)


# -- format and wiring --------------------------------------------------------


def test_the_bytewise_fallback_sorts_as_python_does(client: redis.Redis) -> None:
    """Servers whose collation is not bytewise get a byte-by-byte compare; check it directly."""
    forced = _LUA_BYTEWISE.replace("if not (", "if true or not (", 1)
    words = ["b", "a10", "a9", "Z9", "_9", "é9", "e9", "", "a", "ab", "Ab", "0", "~", "ü"]
    script = forced + "table.sort(ARGV, lt) return ARGV"
    assert [w.decode() for w in client.eval(script, 0, *words)] == sorted(words)


def test_stored_form_round_trips_and_is_compact() -> None:
    raw = account("A1", 'Acme "Quoted"\nNew line Ünïcode', ["acme.com"], parent="P\n1", note={"x": 1})
    record = prepared("account", raw)
    stored = encode_record("account", record)
    assert stored.count("\n") == 1 and stored.endswith("\n")  # JSON escapes it; such a link is dropped
    assert encode_record("account", {**record, "parent_id": "P1"}).endswith("]\nP1")
    assert decode_record("account", stored) == record
    assert decode_record("account", stored.encode()) == record
    assert '"name"' not in stored
    assert index_entries("account", decode_record("account", stored)) == index_entries("account", record)


def test_the_wired_mirror_and_forget_prefix_keep_other_state(client: redis.Redis, redis_url: str) -> None:
    prefix = f"leadroute-test-{uuid.uuid4().hex[:8]}"
    kept = f"{prefix}:{{lead:1}}:assignment"
    stored = wiring.crm_mirror(Settings.from_env({}, redis_url=redis_url, redis_prefix=prefix))
    try:
        stored.upsert("account", account("A1", "Acme", ["acme.com"]))
        client.set(kept, "kept")
        assert stored.forget_prefix() == 5  # accounts, domain bucket, token posting and sizes, words
        assert [k.decode() for k in client.scan_iter(match=f"{prefix}:*")] == [kept]
    finally:
        client.delete(kept)
        stored.forget_prefix()


def test_memory_measurement_loads_measures_and_cleans_up(client: redis.Redis) -> None:
    prefix = f"leadroute-test-{uuid.uuid4().hex[:8]}"
    report = measure_mirror_memory(
        client, 300, prefix=prefix, workers=2, lookups=60, lookup_batches=(None, 20)
    )
    assert report["sizes"]["account"] == 300
    assert report["records"] == sum(report["sizes"].values())
    assert report["keys"] > 300 and report["bytes_per_1m_accounts"] > 0
    assert set(report["lookups_per_second"]) == {"single", "batch 20"}
    assert not list(client.scan_iter(match=f"{prefix}:*"))


def test_synthetic_look_ups_find_what_they_should() -> None:
    crm = SyntheticCrm(200, seed=4)
    memory = InMemoryCrmMirror()
    for kind, _, record in crm.records():
        memory.upsert(kind, record)
    found = memory.candidates_many(crm.queries(200))
    assert sum(bool(c.people_by_email) for c in found) > 40  # existing contacts
    assert sum(bool(c.accounts_by_domain) for c in found) > 100  # known companies
    shards = [list(crm.records(shard, 2)) for shard in range(2)]
    assert sorted(map(str, shards[0] + shards[1])) == sorted(map(str, crm.records()))


def test_initials_joined_words_and_acronyms_are_found_alike(make_redis_mirror: Any) -> None:
    """The index words real names need (initials, joined words, "ibm^") answer the same in both."""
    from processors.crm.matcher import Matcher

    names = {
        "i1": "Q.R.T. Company",
        "i2": "Northern Widget Traders Ltd",
        "i3": "Fair Way Supplies",
        "i4": "Zantrix N.V., Rotterdam",
        "i5": "JSC Varyag Polymer",
    }
    memory, stored = InMemoryCrmMirror(**OPTIONS), make_redis_mirror(**OPTIONS)
    for account_id, name in names.items():
        memory.upsert("account", account(account_id, name))
        stored.upsert("account", account(account_id, name))
    matcher = Matcher()
    for lead_name, expected in (
        ("QRT Co", "i1"),
        ("NWT", "i2"),
        ("Fairway Supplies", "i3"),
        ("Zantrix NV", "i4"),
        ("Varyag Polymer OAO", "i5"),
    ):
        lead: Any = {"normalized": {"company_name": lead_name}, "enrichment": {}}
        asked = matcher.query_for(lead)
        found = memory.candidates(asked)
        assert stored.candidates(asked) == found, lead_name
        assert expected in ids(found.accounts_by_name), lead_name
