"""The CRM mirror in Redis: crm-sync writes it, every match worker reads it.

Layout (``P`` is ``{prefix}:{crm}:``; the ``{crm}`` hash tag keeps every key of
the mirror in one slot, because the scripts read keys they compute)::

    P r:a  r:c  r:l  r:o     hash    id -> stored record (accounts, contacts, leads, opportunities)
    P x:token:<token>        string  "\\n<account id>\\n<account id>\\n": a name-token posting, packed
    P tn                     hash    token -> accounts in its posting
    P w                      hash    account id -> " <token> <token> ": its name tokens
    P x:<index key>          hash    member -> "": people:, children: and opps: postings
    P b:<family>:<bucket>    hash    value -> JSON array of members: email, phone, pname, domain
    P s                      hash    account id -> "<contacts>" or "<contacts>\\n<open opportunity ids>"

Records live as fields of one hash per kind rather than a key each: a key
costs ~60 bytes of bookkeeping, and a look-up reads 20-30 records with one
HMGET without building key names. Record counts (the mirror-size gauge) are
the hashes' lengths.

A stored record is a JSON array of its model's fields in declaration order (no
field names: ~40% smaller than an object), a newline, then its link: an
account's ``parent_id``, a person's ``account_id`` (a link that itself holds a
newline is not stored, so it is not followed; CRM ids never do). JSON never
holds a raw newline, so scripts find the link without decoding JSON, and a
look-up returns stored values as they are, one per line, for Python to decode
in a single ``json.loads``. Keys a record has beyond its model ride along as a
trailing object; keys it lacks come back as ``None``.

Index keys and members are exactly :func:`~processors.crm.indexing.index_entries`;
how a posting is kept depends on its family, for memory and for look-up speed:

* Name tokens: a look-up counts every account of every posting it asks for
  (up to ``max_posting`` each), ~1,500 accounts for a typical lead at 1M
  accounts. Packed in one string, a posting is read with one GET and parsed in
  Lua at ~0.2 us per account, twice as fast as reading a set member by member,
  and takes ~20 bytes per account instead of ~100 in a large sorted set. The
  write script appends a member (the compare-and-set write path only adds what
  the stored record did not own); postings of up to 512 accounts are checked
  and rewritten whole, so no add is ever doubled and no append slack is kept.
  Account ids holding a newline cannot be packed and are not indexed by name.
* A token busier than ``max_posting`` is never read; it counts for the accounts the
  other tokens found through their entries in ``P w`` (one HMGET, a substring test
  each), which the write script keeps exact alongside the postings.
* Email, phone, person name, domain: nearly every posting has one member, so
  rather than a key each (~150 bytes) a posting is a field of one of 65,536
  bucket hashes per family (crc32 of the value), holding its sorted members as
  a JSON array (~60 bytes, packed while a bucket has under 512 fields).
* An account's people, children and open opportunities: hashes with empty
  values (packed up to 512 members on every Redis version; sets pack strings
  only from 7.2).

The summary of an account (``P s``) is derived from its exact ``people:`` and
``opps:`` postings by the write script, in the same atomic step, so a look-up
gets every candidate's contact count and open opportunity ids with one HMGET
instead of two commands per candidate.

Writes are optimistic compare-and-set per record: read the stored version,
compute the index entries it owns and the new version owns
(:func:`~processors.crm.indexing.index_entries`, in Python, so both mirrors
agree), then a script applies the diff only if the stored version is still the
one read; otherwise the record is read again and retried. crm-sync workers own
different partitions, hence different record ids, so a conflict only happens
when a partition moves between workers mid-batch. Applying a version that is
already stored changes nothing, so replays are harmless.

Look-ups are one script call per lead that does every read server-side. The
script never writes, so it can run on a replica (``reader``): that is how reads
scale past one Redis core. :meth:`RedisCrmMirror.candidates_many` sends a batch
on one connection without waiting between leads, a few leads ahead of the reply
being decoded, so Python decodes while Redis computes (separate calls rather
than one long script, so other clients get a turn between leads).
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar, get_type_hints

import orjson
import redis

from processors.crm.indexing import index_entries
from processors.crm.memory import (
    DEFAULT_MAX_BUSY_POOL,
    DEFAULT_MAX_CANDIDATES,
    DEFAULT_MAX_POSTING,
    DEFAULT_MAX_TYPO_POSTING,
)
from processors.crm.models import (
    RECORD_KINDS,
    Account,
    Candidates,
    MatchQuery,
    Opportunity,
    Person,
    RecordKind,
)
from processors.crm.names import prepared
from processors.errors import DependencyUnavailable
from streams.adapters import lua
from streams.outages import redis_outage, retrying
from streams.redis_client import connection_pool_for

#: One letter per kind in key names.
KIND_CODES: dict[RecordKind, str] = {"account": "a", "contact": "c", "lead": "l", "opportunity": "o"}

#: Field order of the stored arrays. Changing it changes the stored format. Accounts
#: also carry ``name_key``, the comparison form every mirror stores (names.prepared).
FIELDS: dict[RecordKind, tuple[str, ...]] = {
    "account": tuple(dict.fromkeys((*get_type_hints(Account), "name_key"))),
    "contact": tuple(get_type_hints(Person)),
    "lead": tuple(get_type_hints(Person)),
    "opportunity": tuple(get_type_hints(Opportunity)),
}
_LINK_FIELD: dict[RecordKind, str | None] = {
    "account": "parent_id",
    "contact": "account_id",
    "lead": "account_id",
    "opportunity": None,
}

#: Prepended to both scripts: bytewise string order in Lua (see bytewise_order.lua).
_LUA_BYTEWISE = lua.script("bytewise_order")
#: Applies one record's change by compare-and-set (see crm_apply_change.lua).
APPLY_CHANGE = _LUA_BYTEWISE + lua.script("crm_apply_change")
#: Everything the matcher needs for one lead (see crm_candidates.lua).
CANDIDATES = (
    "#!lua flags=no-writes\n"  # read-only: may run on a replica (EVALSHA_RO)
    + _LUA_BYTEWISE
    + lua.script("crm_candidates")
)

Change = tuple[RecordKind, str, Any | None]
_T = TypeVar("_T")

#: Index families whose postings nearly always have one member: kept as JSON arrays in
#: fields of bucket hashes rather than a key each (~60 instead of ~150 bytes apiece).
BUCKETED_FAMILIES = frozenset({"email", "phone", "pname", "domain"})
#: Buckets per family: a layout constant every reader and writer of a prefix must share.
#: 65,536 keeps a bucket packed (under 512 fields) up to ~30M postings per family.
DEFAULT_BUCKETS = 65_536

#: Look-ups sent ahead of the reply being decoded (measured best between 5 and 20).
_IN_FLIGHT = 10

#: What an outage names (streams.outages).
_WHAT = "the CRM mirror in Redis"
#: Compare-and-set rounds before giving up on records that keep changing under us.
_MAX_CONFLICT_ROUNDS = 20
_READ_CHUNK = 1000


def encode_record(kind: RecordKind, record: Any) -> str:
    """The stored form: JSON array of the model's fields (+ extras object), newline, link."""
    fields = FIELDS[kind]
    values = [record.get(name) for name in fields]
    extras = {key: value for key, value in record.items() if key not in fields}
    if extras:
        values.append(extras)
    link_field = _LINK_FIELD[kind]
    link = (record.get(link_field) or "") if link_field else ""
    if "\n" in link:
        link = ""  # not followable; keeps one newline per stored value
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False) + "\n" + link


def _loads(data: bytes) -> Any:
    """orjson parses a reply about twice as fast; the standard parser reads what it refuses."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # NaN, integers beyond 64 bits
        return json.loads(data)


def _from_values(fields: tuple[str, ...], values: list[Any]) -> Any:
    record: dict[str, Any] = dict(zip(fields, values))  # noqa: B905 - extras follow the fields
    if len(values) > len(fields):
        record.update(values[-1])
    return record


def decode_record(kind: RecordKind, stored: bytes | str) -> Any:
    """The record a stored value holds (inverse of :func:`encode_record`)."""
    body = stored.partition(b"\n")[0] if isinstance(stored, bytes) else stored.partition("\n")[0]
    return _from_values(FIELDS[kind], json.loads(body))


_ACCOUNT_FIELDS = FIELDS["account"]
_PERSON_FIELDS = FIELDS["contact"]
_OPPORTUNITY_FIELDS = FIELDS["opportunity"]


def _decode_candidates(raw: bytes | str) -> Candidates:
    """One look-up reply (see crm_candidates.lua) as :class:`Candidates`."""
    if isinstance(raw, str):
        raw = raw.encode()
    lines = raw.split(b"\n")
    by_email, by_phone, by_name, account_count, by_domain, by_tokens, related, counts, listed = _loads(
        lines[0]
    )
    values = _loads(b"[" + b",".join(lines[1::2]) + b"]")
    people = [_from_values(_PERSON_FIELDS, v) for v in values[: by_email + by_phone + by_name]]
    start = by_email + by_phone + by_name
    accounts = [_from_values(_ACCOUNT_FIELDS, v) for v in values[start : start + account_count]]
    ids = [account["id"] for account in accounts]
    opportunities: dict[str, list[Opportunity]] = {}
    at = start + account_count
    for account_id, n in zip(ids, listed, strict=True):
        if n:
            opportunities[account_id] = [_from_values(_OPPORTUNITY_FIELDS, v) for v in values[at : at + n]]
            at += n
    return Candidates(
        people_by_email=people[:by_email],
        people_by_phone=people[by_email : by_email + by_phone],
        people_by_name=people[by_email + by_phone :],
        accounts_by_domain=[accounts[i] for i in by_domain],
        accounts_by_name=[accounts[i] for i in by_tokens],
        related_accounts={ids[i]: accounts[i] for i in related},
        contact_counts=dict(zip(ids, counts, strict=True)),
        open_opportunities=opportunities,
    )


class RedisCrmMirror:
    """Both sides of the CRM mirror protocol (:class:`~processors.ports.CrmMirror`, ``CrmMirrorWriter``)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str,
        max_candidates: int = DEFAULT_MAX_CANDIDATES,
        max_posting: int = DEFAULT_MAX_POSTING,
        max_typo_posting: int = DEFAULT_MAX_TYPO_POSTING,
        max_busy_pool: int = DEFAULT_MAX_BUSY_POOL,
        buckets: int = DEFAULT_BUCKETS,
        reader: redis.Redis | None = None,
    ) -> None:
        """``reader``, when given, serves look-ups (a replica: the look-up script is read-only)."""
        self._client = client
        self._reader = reader or client
        self.buckets = buckets
        self.prefix = prefix
        self.max_candidates = max_candidates
        self.max_posting = max_posting
        self.max_typo_posting = max_typo_posting
        self.max_busy_pool = max_busy_pool
        self._base = f"{prefix}:{{crm}}:"
        self._summaries = self._base + "s"
        self._apply = client.register_script(APPLY_CHANGE)
        self._lookup = self._reader.register_script(CANDIDATES)
        self._lookup_sha: str | None = None  # loaded on first use, again after a NOSCRIPT

    def records_key(self, kind: RecordKind) -> str:
        """The hash holding every record of ``kind``, by id."""
        return f"{self._base}r:{KIND_CODES[kind]}"

    def index_key(self, index_key: str) -> str:
        return f"{self._base}x:{index_key}"

    def summaries_key(self) -> str:
        return self._summaries

    def bucket(self, value: str) -> str:
        """The bucket (hex) of a value in a bucketed family."""
        return format(zlib.crc32(value.encode()) % self.buckets, "x")

    def bucket_key(self, family: str, value: str) -> str:
        return f"{self._base}b:{family}:{self.bucket(value)}"

    # -- write side -------------------------------------------------------

    def upsert(self, kind: RecordKind, record: Any) -> None:
        self.upsert_many([(kind, record["id"], record)])

    def delete(self, kind: RecordKind, record_id: str) -> None:
        self.upsert_many([(kind, record_id, None)])

    def upsert_many(self, changes: Sequence[Change]) -> None:
        """Apply changes (record ``None`` deletes) in two pipelined round trips.

        Only the last change of a record in the batch is applied: the mirror holds
        the latest version, which is what applying them all in order would leave.
        """
        latest: dict[tuple[RecordKind, str], Any | None] = {}
        for kind, record_id, record in changes:
            latest.pop((kind, record_id), None)  # keep batch order of last changes
            latest[(kind, record_id)] = prepared(kind, record) if record is not None else None
        pending = list(latest.items())
        for _ in range(_MAX_CONFLICT_ROUNDS):
            if not pending:
                return
            with redis_outage(_WHAT):
                pending = self._retrying(functools.partial(self._apply_round, pending))
        raise DependencyUnavailable(
            f"{len(pending)} CRM records kept changing while being written; is another writer on them?"
        )

    def _read(self, wanted: list[tuple[RecordKind, str]]) -> list[Any]:
        """Stored values of (kind, id) records, in order, in one round trip."""
        pipe = self._client.pipeline(transaction=False)
        for start in range(0, len(wanted), _READ_CHUNK):
            for kind in RECORD_KINDS:
                ids = [record_id for k, record_id in wanted[start : start + _READ_CHUNK] if k == kind]
                if ids:
                    pipe.hmget(self.records_key(kind), ids)
        replies = iter(pipe.execute())
        stored: list[Any] = []
        for start in range(0, len(wanted), _READ_CHUNK):
            chunk = wanted[start : start + _READ_CHUNK]
            by_kind = {kind: iter(next(replies)) for kind in RECORD_KINDS if any(k == kind for k, _ in chunk)}
            stored.extend(next(by_kind[kind]) for kind, _ in chunk)
        return stored

    def _apply_round(
        self, pending: list[tuple[tuple[RecordKind, str], Any | None]]
    ) -> list[tuple[tuple[RecordKind, str], Any | None]]:
        """One read + one compare-and-set pass; returns the changes that lost a race."""
        stored = self._read([key for key, _ in pending])
        pipe = self._client.pipeline(transaction=False)
        for ((kind, record_id), record), old in zip(pending, stored, strict=True):
            before = index_entries(kind, decode_record(kind, old)) if old is not None else frozenset()
            after = index_entries(kind, record) if record is not None else frozenset()
            postings: tuple[list[str], list[str]] = ([], [])
            bucketed: tuple[list[str], list[str]] = ([], [])
            for added, entries in enumerate((before - after, after - before)):
                for index_key, member in entries:
                    family, _, value = index_key.partition(":")
                    if family in BUCKETED_FAMILIES:
                        bucketed[added].extend((f"{family}:{self.bucket(value)}", value, member))
                    elif family == "token" and "\n" in member:
                        continue  # a packed posting cannot hold it (CRM ids never have one)
                    else:
                        postings[added].extend((index_key, member))
            args = [
                self._base,
                record_id,
                old if old is not None else "",
                encode_record(kind, record) if record is not None else "",
                len(postings[0]) // 2,
                len(postings[1]) // 2,
                len(bucketed[0]) // 3,
                *postings[0],
                *postings[1],
                *bucketed[0],
                *bucketed[1],
            ]
            self._apply(keys=[self.records_key(kind), self._summaries], args=args, client=pipe)
        results = pipe.execute()
        return [change for change, applied in zip(pending, results, strict=True) if not applied]

    # -- read side --------------------------------------------------------

    def _lookup_args(self, query: MatchQuery) -> list[Any]:
        args: list[Any] = [
            self._base,
            self.max_candidates,
            self.max_posting,
            f"{self.max_typo_posting}:{self.max_busy_pool}",
        ]
        for value in (query.email_key, query.phone, query.person_name_key, query.domain):
            if value:
                args += (value, self.bucket(value))
            else:
                args += ("", "")
        args += ("1" if query.names_only_without_domain else "", len(query.name_tokens), *query.name_tokens)
        args += query.typo_words
        return args

    def candidates(self, query: MatchQuery) -> Candidates:
        """Everything for one lead in one round trip."""
        keys = [self.records_key("account")]
        with redis_outage(_WHAT):
            raw = self._retrying(lambda: self._lookup(keys=keys, args=self._lookup_args(query)))
        return _decode_candidates(raw)

    def candidates_many(self, queries: Sequence[MatchQuery]) -> list[Candidates]:
        """A batch of look-ups pipelined in one round trip."""
        if not queries:
            return []
        with redis_outage(_WHAT):
            try:
                return self._retrying(lambda: self._stream_lookups(queries))
            except redis.exceptions.NoScriptError:  # the server lost its script cache (restart, flush)
                self._lookup_sha = None
                return self._retrying(lambda: self._stream_lookups(queries))

    def iter_candidates(self, queries: Sequence[MatchQuery]) -> Iterator[Candidates]:
        """The batch's answers one by one as Redis replies, so the caller decides lead i
        while Redis still computes the next ones (``candidates_many`` waits for them all).

        Redis being unreachable raises ``DependencyUnavailable``; nothing is retried
        once an answer has been handed out.
        """
        handed = 0
        with redis_outage(_WHAT):
            try:
                for found in self._iter_lookups(queries):
                    handed += 1
                    yield found
            except redis.exceptions.NoScriptError:  # the server lost its script cache
                if handed:
                    raise
                self._lookup_sha = None
                yield from self._iter_lookups(queries)

    def _stream_lookups(self, queries: Sequence[MatchQuery]) -> list[Candidates]:
        return list(self._iter_lookups(queries))

    def _iter_lookups(self, queries: Sequence[MatchQuery]) -> Iterator[Candidates]:
        """Send the batch a few leads ahead of the replies, decoding each reply as it comes.

        A pipeline would send everything and read every reply before the first
        is decoded, so Python and Redis take turns. Keeping one small chunk in
        flight lets Python decode lead i while Redis computes the next ones:
        ~1.5x the rate of a pipeline (see streams/bench/crm_memory.py).
        """
        if not queries:
            return
        if self._lookup_sha is None:
            self._lookup_sha = _text(self._reader.script_load(CANDIDATES))
        key = self.records_key("account")
        commands = [("EVALSHA", self._lookup_sha, 1, key, *self._lookup_args(q)) for q in queries]
        chunks = [commands[i : i + _IN_FLIGHT] for i in range(0, len(commands), _IN_FLIGHT)]
        pool = connection_pool_for(self._reader, key)
        connection = pool.get_connection()
        failure: redis.ResponseError | None = None
        try:
            connection.send_packed_command(connection.pack_commands(chunks[0]))
            for number, chunk in enumerate(chunks):
                if number + 1 < len(chunks):
                    connection.send_packed_command(connection.pack_commands(chunks[number + 1]))
                for _ in chunk:
                    try:
                        raw = connection.read_response()
                    except redis.ResponseError as error:  # read on, so the connection stays in step
                        failure = failure or error
                        continue
                    if failure is None:
                        yield _decode_candidates(raw)
        except BaseException:  # an error, or the caller stopped early: replies may be unread
            connection.disconnect()
            raise
        finally:
            pool.release(connection)
        if failure is not None:
            raise failure

    # -- housekeeping -----------------------------------------------------

    def sizes(self) -> dict[str, int]:
        """Records per kind, for the mirror-size gauge."""

        def run() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)
            for kind in RECORD_KINDS:
                pipe.hlen(self.records_key(kind))
            return pipe.execute()

        with redis_outage(_WHAT):
            return dict(zip(RECORD_KINDS, map(int, self._retrying(run)), strict=True))

    def keys(self) -> Iterable[bytes | str]:
        """Every key of this mirror (SCAN; for tests and measurements)."""
        return self._client.scan_iter(match=f"{_glob_escape(self._base)}*", count=1000)

    def forget_prefix(self) -> int:
        """Delete every key of this mirror (``{prefix}:{crm}:*``); other state under the prefix stays."""
        return self._unlink(self.keys())

    def forget_records(self) -> int:
        """Delete the mirror's records and indexes but not its state markers (``gen…``).

        A rebuild under an older index layout starts from nothing, so no stale
        posting outlives it; the marker holding the rebuild's claim stays.
        """
        markers = f"{self._base}gen".encode()
        return self._unlink(
            key
            for key in self.keys()
            if not (key.encode() if isinstance(key, str) else key).startswith(markers)
        )

    def _unlink(self, keys: Iterable[bytes | str]) -> int:
        removed = 0
        batch: list[bytes | str] = []
        for key in keys:
            batch.append(key)
            if len(batch) >= 1000:
                removed += self._client.unlink(*batch)
                batch.clear()
        if batch:
            removed += self._client.unlink(*batch)
        return removed

    def _retrying(self, call: Callable[[], _T]) -> _T:
        """Retry briefly on connection trouble (every call is safe to repeat); then stop the stage."""
        return retrying(_WHAT, call)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
