"""How much Redis the CRM mirror needs, and how fast it answers, on a synthetic CRM.

For ``leadroute bench match`` and the memory figure in the README; run by hand
with ``python -m streams.bench.crm_memory [accounts] [redis url] [workers]`` (use a
database of its own: ``used_memory`` is server-wide).
The synthetic CRM is made for speed (no name library) but shaped like a real
one where it matters for the mirror:

* Accounts: names of one or two distinctive words drawn from 120k invented
  words (two or three of 728 syllables) with a skewed (power-law) frequency,
  so postings, and those of the four-letter word ends indexed for typos, run
  from one account to a few thousand (at 1M accounts, an affix posting has a
  median of ~100 accounts, p90 ~650); 25% add a trade word (300 of them, ~800
  accounts each, like "dental"); 60% add a generic word (20 of them, ~30k
  accounts each, like "solutions": skipped as busier than ``max_posting``);
  most end in a legal form. One primary domain, 20% an alternate; 10% have a
  parent account. Ids are 18 characters, as CRM ids usually are.
* Per account on average: 2 contacts (0 to 4, at its domain, with a phone),
  0.2 CRM leads (free-mail, no account), 0.5 opportunities (40% open).
* Look-ups (``SyntheticCrm.queries``): 40% an existing contact (email, phone, name,
  domain, company), 30% a new person at a known company (name, domain,
  company), 15% a free-mail address with a known company's name, 15% an
  unknown company (new domain, invented name).
"""

from __future__ import annotations

import gc
import multiprocessing
import random
import string
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from processors.crm.indexing import company_tokens, email_key, person_name_key
from processors.crm.models import Account, MatchQuery, Opportunity, Person, RecordKind
from streams import wiring
from streams.adapters.redis_crm_mirror import RedisCrmMirror
from streams.settings import Settings

CONTACTS_PER_ACCOUNT = 2.0
LEADS_PER_ACCOUNT = 0.2
OPPORTUNITIES_PER_ACCOUNT = 0.5
OPEN_OPPORTUNITY_SHARE = 0.4

#: Syllables for invented words: onset + vowel (+ coda), 728 of them, so that the
#: four-letter ends of long words, indexed for typo tolerance, are as varied as real ones.
_ONSETS = (
    "b", "br", "c", "d", "dr", "f", "g", "gr", "h", "j", "k", "kl", "l",
    "m", "n", "p", "pr", "qu", "r", "s", "st", "t", "tr", "v", "w", "z",
)  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ei", "ou")
_CODAS = ("", "n", "r", "x")
_SYLLABLES = tuple(onset + vowel + coda for onset in _ONSETS for vowel in _VOWELS for coda in _CODAS)
_GENERIC = (
    "Systems", "Group", "Solutions", "Technologies", "Labs", "Partners", "Consulting", "Services",
    "Holdings", "Industries", "Logistics", "Media", "Health", "Energy", "Foods", "Capital",
    "Software", "Design", "Studio", "Networks",
)  # fmt: skip
_LEGAL = ("Inc", "Ltd", "GmbH", "LLC", "SARL", "BV", "AG", "Corp", "")
_TLDS = ("com", "com", "com", "io", "de", "co.uk", "fr", "net")
_FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "web.de")


def _words(count: int = 120_000) -> list[str]:
    """Distinct invented words of two or three syllables, always the same ones."""
    rng = random.Random(3)
    words: dict[str, None] = {}
    while len(words) < count:
        words.setdefault("".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3)))), None)
    return list(words)


_ID_ALPHABET = string.digits + string.ascii_uppercase


def _record_id(kind_prefix: str, number: int) -> str:
    """An 18-character id like a CRM's: a 3-character kind prefix, then base 36."""
    digits = []
    for _ in range(15):
        number, rest = divmod(number, 36)
        digits.append(_ID_ALPHABET[rest])
    return kind_prefix + "".join(reversed(digits))


@dataclass
class SyntheticCrm:
    """Generates the records. Each account (with its people and opportunities) comes from
    its own seed, so shards can be loaded in parallel and look-ups built for any account."""

    accounts: int
    seed: int = 1

    def __post_init__(self) -> None:
        words = _words()
        self._trades = [w.capitalize() for w in words[-300:]]
        self._distinct = words[:-300]
        self._first = [w.capitalize() for w in words[:400]]
        self._last = [w.capitalize() for w in words[400:20_400]]

    def _word(self, rng: random.Random) -> str:
        # u**2 skews towards the first words: a few are common, most are rare
        return self._distinct[int(len(self._distinct) * rng.random() ** 2)].capitalize()

    def company_name(self, rng: random.Random) -> str:
        parts = [self._word(rng) for _ in range(rng.choice((1, 1, 2)))]
        if rng.random() < 0.25:
            parts.append(rng.choice(self._trades))
        if rng.random() < 0.6:
            parts.append(rng.choice(_GENERIC))
        legal = rng.choice(_LEGAL)
        return " ".join(parts) + (f" {legal}" if legal else "")

    def person_name(self, rng: random.Random) -> tuple[str, str]:
        return rng.choice(self._first), rng.choice(self._last)

    @staticmethod
    def phone(rng: random.Random) -> str:
        return f"+1{rng.randrange(2_000_000_000, 9_999_999_999)}"

    def bundle(self, number: int) -> tuple[Account, list[Person], list[tuple[RecordKind, str, Any]]]:
        """Account ``number``, its contacts, and every record it brings (account first)."""
        rng = random.Random(self.seed * 1_000_003 + number)
        account_id = _record_id("001", number)
        name = self.company_name(rng)
        slug = "".join([t for t in company_tokens(name) if "~" not in t][:2]) or "company"
        tld = rng.choice(_TLDS)
        domains = [f"{slug}{number:x}.{tld}"]
        if rng.random() < 0.2:
            domains.append(f"{slug}{number:x}.{'net' if tld != 'net' else 'org'}")
        owner = _record_id("005", rng.randrange(400))
        account: Account = {
            "id": account_id,
            "name": name,
            "domains": domains,
            "website": f"https://www.{domains[0]}",
            "owner_id": owner,
            "parent_id": _record_id("001", rng.randrange(number)) if number and rng.random() < 0.1 else None,
            "employees": rng.choice((None, 12, 50, 250, 1200, 8000)),
            "industry": rng.choice((None, "Software", "Manufacturing", "Retail", "Finance")),
            "country_code": rng.choice(("US", "DE", "GB", "FR", "NL")),
            "type": rng.choice(("customer", "prospect", "partner")),
            "tier": rng.choice((None, "A", "B", "C")),
            "last_activity_ms": 1_700_000_000_000 + rng.randrange(10**10),
        }
        records: list[tuple[RecordKind, str, Any]] = [("account", account_id, account)]
        people: list[Person] = []
        for number_in_account in range(rng.randint(0, int(2 * CONTACTS_PER_ACCOUNT))):
            first, last = self.person_name(rng)
            contact: Person = {
                "id": _record_id("003", number * 8 + number_in_account),
                "kind": "contact",
                "email": f"{first.lower()}.{last.lower()}@{domains[0]}",
                "phone": self.phone(rng),
                "first_name": first,
                "last_name": last,
                "company": None,
                "account_id": account_id,
                "owner_id": owner,
                "status": "active",
            }
            people.append(contact)
            records.append(("contact", contact["id"], contact))
        if rng.random() < LEADS_PER_ACCOUNT:
            first, last = self.person_name(rng)
            lead: Person = {
                "id": _record_id("00Q", number),
                "kind": "lead",
                "email": f"{first.lower()}{rng.randrange(1000)}@{rng.choice(_FREE_MAIL)}",
                "phone": self.phone(rng),
                "first_name": first,
                "last_name": last,
                "company": self.company_name(rng),
                "account_id": None,
                "owner_id": None,
                "status": "open",
            }
            records.append(("lead", lead["id"], lead))
        if rng.random() < OPPORTUNITIES_PER_ACCOUNT:
            is_open = rng.random() < OPEN_OPPORTUNITY_SHARE
            opportunity: Opportunity = {
                "id": _record_id("006", number),
                "account_id": account_id,
                "owner_id": owner,
                "stage": "Proposal" if is_open else "Closed Won",
                "amount": float(rng.randrange(1000, 500_000)),
                "is_open": is_open,
                "close_date": "2025-06-30",
            }
            records.append(("opportunity", opportunity["id"], opportunity))
        return account, people, records

    def records(self, shard: int = 0, shards: int = 1) -> Iterator[tuple[RecordKind, str, Any]]:
        """(kind, id, record) for every account number ``shard`` modulo ``shards``."""
        for number in range(shard, self.accounts, shards):
            yield from self.bundle(number)[2]

    def queries(self, count: int, *, seed: int = 2) -> list[MatchQuery]:
        """Look-ups in the documented mix, about accounts drawn at random."""
        rng = random.Random(seed)
        out: list[MatchQuery] = []
        for _ in range(count):
            account, people, _ = self.bundle(rng.randrange(self.accounts))
            tokens = company_tokens(account["name"])
            first, last = self.person_name(rng)
            roll = rng.random()
            if roll < 0.4 and people:
                known = rng.choice(people)
                query = MatchQuery(
                    email_key=email_key(known["email"]),
                    phone=known["phone"],
                    person_name_key=person_name_key(known["first_name"], known["last_name"]),
                    domain=account["domains"][0],
                    name_tokens=tokens,
                )
            elif roll < 0.7:
                query = MatchQuery(
                    email_key=email_key(f"{first}.{last}@{account['domains'][-1]}"),
                    person_name_key=person_name_key(first, last),
                    domain=account["domains"][-1],
                    name_tokens=tokens,
                )
            elif roll < 0.85:
                query = MatchQuery(
                    email_key=email_key(f"{first}{rng.randrange(99)}@{rng.choice(_FREE_MAIL)}"),
                    person_name_key=person_name_key(first, last),
                    name_tokens=tokens,
                )
            else:
                name = self.company_name(rng)
                domain = f"{''.join([t for t in company_tokens(name) if '~' not in t][:2]) or 'new'}-new.com"
                query = MatchQuery(
                    email_key=email_key(f"{first}@{domain}"),
                    phone=self.phone(rng),
                    person_name_key=person_name_key(first, last),
                    domain=domain,
                    name_tokens=company_tokens(name),
                )
            out.append(query)
        return out


def load_records(mirror: Any, records: Iterable[Any], batch: int = 1000) -> int:
    """Write records through ``upsert_many`` in batches; returns how many were written.

    Takes (kind, record) pairs or (kind, id, record-or-None) changes.
    """
    written = 0
    pending: list[tuple[RecordKind, str, Any]] = []
    for item in records:
        if len(item) == 2:
            kind, record = item
            pending.append((kind, record["id"], record))
        else:
            pending.append(item)
        if len(pending) >= batch:
            mirror.upsert_many(pending)
            written += len(pending)
            pending = []
    if pending:
        mirror.upsert_many(pending)
        written += len(pending)
    return written


def measure_lookup_rate(mirror: Any, queries: Sequence[MatchQuery], batch: int | None = None) -> float:
    """Look-ups per second: one ``candidates`` call each (``batch`` None), or ``candidates_many`` batches."""
    started = time.perf_counter()
    if batch is None:
        for query in queries:
            mirror.candidates(query)
    else:
        for start in range(0, len(queries), batch):
            mirror.candidates_many(queries[start : start + batch])
    return len(queries) / (time.perf_counter() - started)


def _used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _load_in_parallel(mirror: RedisCrmMirror, crm: SyntheticCrm, workers: int, batch: int) -> int:
    """Load shards in forked processes (generating and indexing records is Python-bound)."""
    context = multiprocessing.get_context("fork")
    written: Any = context.Queue()

    def load_shard(shard: int) -> None:  # runs in the child; the pool reconnects after fork
        written.put(load_records(mirror, crm.records(shard, workers), batch=batch))

    children = [context.Process(target=load_shard, args=(shard,)) for shard in range(workers)]
    for child in children:
        child.start()
    total = sum(written.get() for _ in children)
    for child in children:
        child.join()
        if child.exitcode:
            raise RuntimeError(f"a loading process failed with exit code {child.exitcode}")
    return total


def measure_mirror_memory(
    client: redis.Redis,
    accounts: int,
    *,
    prefix: str | None = None,
    seed: int = 1,
    batch: int = 1000,
    workers: int = 1,
    lookups: int = 0,
    lookup_batches: Sequence[int | None] = (None, 100, 500),
    freeze_gc: bool = True,
) -> dict[str, Any]:
    """Load a synthetic CRM of ``accounts`` accounts, measure, then delete every key it wrote.

    Reports the ``used_memory`` delta (and per 1M accounts), the load rate and,
    with ``lookups`` > 0, look-ups per second for each of ``lookup_batches``
    (None: single calls). ``freeze_gc`` moves the objects alive before the look-ups
    out of the collector's reach (``gc.freeze``), as a long-running worker should
    after warming up: otherwise full collections walking the normalization caches
    cost more than the look-ups. Use a database no one else writes to while it
    runs: ``used_memory`` is server-wide.
    """
    prefix = prefix or f"leadroute-bench-{uuid.uuid4().hex[:8]}"
    mirror = wiring.crm_mirror(Settings.from_env({}), client, prefix=prefix)
    crm = SyntheticCrm(accounts, seed=seed)
    before = _used_memory(client)
    report: dict[str, Any] = {"accounts": accounts, "prefix": prefix}
    try:
        started = time.perf_counter()
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            written = _load_in_parallel(mirror, crm, workers, batch)
        else:
            written = load_records(mirror, crm.records(), batch=batch)
        load_seconds = time.perf_counter() - started
        used = _used_memory(client) - before
        report.update(
            records=written,
            sizes=mirror.sizes(),
            load_seconds=round(load_seconds, 1),
            load_workers=workers,
            load_records_per_second=round(written / load_seconds),
            used_memory_bytes=used,
            bytes_per_record=round(used / max(written, 1)),
            bytes_per_1m_accounts=round(used * 1_000_000 / max(accounts, 1)),
            mix={
                "contacts_per_account": CONTACTS_PER_ACCOUNT,
                "leads_per_account": LEADS_PER_ACCOUNT,
                "opportunities_per_account": OPPORTUNITIES_PER_ACCOUNT,
                "open_opportunity_share": OPEN_OPPORTUNITY_SHARE,
            },
        )
        if lookups:
            queries = crm.queries(lookups)
            mirror.candidates_many(queries[:200])  # load the script, warm the connection
            if freeze_gc:
                gc.collect()
                gc.freeze()
            try:
                rates = {}
                for size in lookup_batches:
                    label = "single" if size is None else f"batch {size}"
                    rates[label] = round(measure_lookup_rate(mirror, queries, size))
            finally:
                if freeze_gc:
                    gc.unfreeze()
            report["lookups_per_second"] = rates
            report["gc_frozen"] = freeze_gc
    finally:
        report["keys"] = mirror.forget_prefix()
        report["used_memory_after_delete_bytes"] = _used_memory(client) - before
    return report


def main() -> None:  # pragma: no cover - a manual measurement
    """``python -m streams.bench.crm_memory [accounts] [redis url] [workers]``: print the report as JSON."""
    import json
    import sys

    accounts = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    url = sys.argv[2] if len(sys.argv) > 2 else "redis://127.0.0.1:6379/14"
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    client = wiring.redis_for(Settings.from_env({}, redis_url=url), timeout_s=60)
    report = measure_mirror_memory(client, accounts, workers=workers, lookups=20_000)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
