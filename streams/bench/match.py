"""``leadroute bench match``: match quality (precision, recall, F1) and speed on a labelled set.

The labelled set is built from the synthetic CRM itself: for sampled accounts,
leads are written the way real people fill forms (their company's domain, an
alternate domain behind a mail subdomain, a free-mail address with the
company name spelled differently, typos, dropped words, abbreviations, a
subsidiary's domain), each labelled with the account it truly belongs to. Leads
that must not match anything are added too: free-mail users with no company,
new companies, and look-alike names ("Acme Mining" when only "Acme Ltd" exists).
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from processors.crm.indexing import company_tokens
from processors.crm.matcher import Matcher, match_leads
from processors.crm.models import Account
from processors.enrichment.enricher import Enricher
from processors.lead import new_lead
from processors.models import Lead
from processors.normalize import normalize_lead
from processors.ports import CrmMirror
from streams import wiring

FREE_MAIL = ("gmail.com", "outlook.com", "yahoo.com", "web.de", "hotmail.co.uk")
_LEGAL_SWAPS = {
    "inc": "Incorporated",
    "ltd": "Limited",
    "llc": "L.L.C.",
    "gmbh": "GmbH",
    "plc": "Public Limited Company",
    "corp": "Corporation",
    "group": "Group",
}
_ABBREVIATIONS = {
    "international": "Intl",
    "manufacturing": "Mfg",
    "technologies": "Tech",
    "technology": "Tech",
    "services": "Svcs",
    "and": "&",
    "brothers": "Bros",
    "systems": "Sys",
}
_LOOK_ALIKE_WORDS = ("Mining", "Dental", "Bakery", "Aviation", "Realty", "Pharma", "Shipping", "Textiles")


@dataclass(frozen=True, slots=True)
class LabelledLead:
    """A raw lead, the account it belongs to (None: it must match nothing), and how it was made."""

    raw: dict[str, Any]
    truth: str | None
    variant: str


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 6:
        return word
    i = rng.randrange(1, len(word) - 2)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # transposition
    return word[:i] + word[i] + word[i:]  # doubled letter


def _abbreviated(name: str) -> str | None:
    words = name.split()
    changed = [_ABBREVIATIONS.get(word.lower(), word) for word in words]
    return " ".join(changed) if changed != words else None


def _legal_swapped(rng: random.Random, name: str) -> str:
    words = name.split()
    last = words[-1].lower().rstrip(".")
    if last in _LEGAL_SWAPS:
        words[-1] = _LEGAL_SWAPS[last]
    else:
        words.append(rng.choice(("Inc", "Ltd", "GmbH", "LLC")))
    text = " ".join(words)
    return text.upper() if rng.random() < 0.3 else text


def _dropped_word(rng: random.Random, name: str) -> str | None:
    words = name.split()
    core = [w for w in words if w.lower().rstrip(".") not in _LEGAL_SWAPS]
    if len(core) < 3:
        return None
    drop = rng.randrange(1, len(core))
    return " ".join(word for index, word in enumerate(core) if index != drop)


def _person(rng: random.Random, index: int) -> tuple[str, str]:
    firsts = ("Jane", "Omar", "Li", "Sofia", "Lukas", "Priya", "Tom", "Aiko", "Mateo", "Fatima", "Noah")
    lasts = ("Berg", "Okafor", "Nakamura", "Rossi", "Schmidt", "Patel", "Walsh", "Kowalski", "Silva")
    return rng.choice(firsts), f"{rng.choice(lasts)}{index}"


def labelled_leads(
    accounts: Sequence[Account], count: int, *, seed: int = 3, known_keys: set[str] | None = None
) -> Iterator[LabelledLead]:
    """``count`` labelled leads over ``accounts`` (which must be in the mirror)."""
    rng = random.Random(seed)
    names = known_keys if known_keys is not None else {" ".join(company_tokens(a["name"])) for a in accounts}
    by_id = {account["id"]: account for account in accounts}
    with_children = [a for a in accounts if a["parent_id"] and a["parent_id"] in by_id and a["domains"]]
    with_alternates = [a for a in accounts if len(a["domains"]) > 1]
    makers: list[tuple[float, str, Callable[[int], LabelledLead | None]]] = []

    def at_domain(i: int) -> LabelledLead | None:
        account = rng.choice(accounts)
        if not account["domains"]:
            return None
        first, last = _person(rng, i)
        email = f"{first}.{last}@{account['domains'][0]}".lower()
        return LabelledLead({"email": email, "company": account["name"]}, account["id"], "domain")

    def at_alternate(i: int) -> LabelledLead | None:
        if not with_alternates:
            return None
        account = rng.choice(with_alternates)
        first, _last = _person(rng, i)
        email = f"{first}@mail.{rng.choice(account['domains'][1:])}".lower()
        return LabelledLead({"email": email}, account["id"], "alternate_domain")

    def at_subsidiary(i: int) -> LabelledLead | None:
        if not with_children:
            return None
        child = rng.choice(with_children)
        first, _last = _person(rng, i)
        return LabelledLead({"email": f"{first}@{child['domains'][0]}".lower()}, child["id"], "subsidiary")

    def free_mail_with(
        variant: str, rewrite: Callable[[str], str | None]
    ) -> Callable[[int], LabelledLead | None]:
        def make(i: int) -> LabelledLead | None:
            account = rng.choice(accounts)
            company = rewrite(account["name"])
            if not company:
                return None
            first, last = _person(rng, i)
            raw = {"email": f"{first}.{last}@{rng.choice(FREE_MAIL)}".lower(), "company": company}
            return LabelledLead(raw, account["id"], variant)

        return make

    def typo(name: str) -> str | None:
        words = name.split()
        longest = max(range(len(words)), key=lambda k: len(words[k]))
        changed = _typo(rng, words[longest])
        return (
            None
            if changed == words[longest]
            else " ".join([*words[:longest], changed, *words[longest + 1 :]])
        )

    def look_alike(i: int) -> LabelledLead | None:
        account = rng.choice(accounts)
        tokens = company_tokens(account["name"])
        if not tokens:
            return None
        company = f"{tokens[0].capitalize()} {rng.choice(_LOOK_ALIKE_WORDS)}"
        if " ".join(company_tokens(company)) in names:
            return None  # that company really is in the CRM: not a negative
        first, last = _person(rng, i)
        raw = {"email": f"{first}.{last}@{rng.choice(FREE_MAIL)}".lower(), "company": company}
        return LabelledLead(raw, None, "look_alike")

    def new_logo(i: int) -> LabelledLead | None:
        first, _last = _person(rng, i)
        domain = f"newco{seed}x{i}.example"
        return LabelledLead({"email": f"{first}@{domain}", "company": f"Newco {i} Labs"}, None, "new_company")

    def free_mail_only(i: int) -> LabelledLead | None:
        first, last = _person(rng, i)
        return LabelledLead({"email": f"{first}.{last}@{rng.choice(FREE_MAIL)}".lower()}, None, "free_mail")

    makers = [
        (0.22, "domain", at_domain),
        (0.08, "alternate_domain", at_alternate),
        (0.07, "subsidiary", at_subsidiary),
        (0.14, "legal_form", free_mail_with("legal_form", lambda name: _legal_swapped(rng, name))),
        (0.09, "typo", free_mail_with("typo", typo)),
        (0.05, "dropped_word", free_mail_with("dropped_word", lambda name: _dropped_word(rng, name))),
        (0.05, "abbreviation", free_mail_with("abbreviation", _abbreviated)),
        (0.12, "look_alike", look_alike),
        (0.08, "new_company", new_logo),
        (0.10, "free_mail", free_mail_only),
    ]
    weights = [weight for weight, _, _ in makers]
    made = 0
    attempts = 0
    while made < count and attempts < count * 20:
        attempts += 1
        _, _, maker = rng.choices(makers, weights)[0]
        lead = maker(made)
        if lead is not None:
            made += 1
            yield lead


def prepared(leads: Sequence[LabelledLead], enricher: Enricher) -> list[Lead]:
    """Normalized and enriched leads, as the match stage receives them."""
    ready = []
    for index, labelled in enumerate(leads):
        lead = new_lead(f"bench-{index}", labelled.raw, received_at_ms=0)  # type: ignore[arg-type]
        lead["normalized"] = normalize_lead(labelled.raw)  # type: ignore[arg-type]
        ready.append(enricher.enrich(lead))
    return ready


#: The method that should find each variant's account (recall per method is counted on these).
EXPECTED_METHOD = {
    "domain": "domain",
    "alternate_domain": "domain",
    "subsidiary": "domain",
    "legal_form": "fuzzy_name",
    "typo": "fuzzy_name",
    "dropped_word": "fuzzy_name",
    "abbreviation": "fuzzy_name",
}
OUTCOMES = ("correct", "wrong_account", "missed")


def evaluate(
    labelled: Sequence[LabelledLead],
    leads: Sequence[Lead],
    matcher: Matcher,
    mirror: CrmMirror,
    *,
    batch: int = 200,
) -> dict[str, Any]:
    """Match every lead (batched look-ups), then score the account decisions against the labels.

    Each batch is matched as :func:`~processors.crm.matcher.match_leads` does: a mirror
    that hands out answers as they come has each lead decided while later ones are looked up.
    """
    started = time.perf_counter()
    sections: list[dict[str, Any]] = []
    for offset in range(0, len(leads), batch):
        chunk = leads[offset : offset + batch]
        # match_leads fills every lead's crm section with the matcher's decision.
        sections.extend(cast(dict[str, Any], lead["crm"]) for lead in match_leads(chunk, matcher, mirror))
    seconds = time.perf_counter() - started

    made_by: defaultdict[str, Counter[str]] = defaultdict(Counter)  # method that matched → tp/fp
    expected: defaultdict[str, Counter[str]] = defaultdict(Counter)  # method that should match → hit/miss
    by_variant: defaultdict[str, Counter[str]] = defaultdict(Counter)
    review = 0
    for item, section in zip(labelled, sections, strict=True):
        account = section.get("account")
        review += bool(section.get("review"))
        matched = account["id"] if account else None
        if account and item.truth is not None and account.get("rolled_up_from") == item.truth:
            matched = item.truth  # rolled up to the parent on purpose: the child was found
        right = matched is not None and matched == item.truth
        if account and matched is not None:  # a match always comes from an account
            made_by[account["method"]]["tp" if right else "fp"] += 1
            made_by["overall"]["tp" if right else "fp"] += 1
        if item.truth is not None:
            should = EXPECTED_METHOD[item.variant]
            expected[should]["hit" if right else "miss"] += 1
            expected["overall"]["hit" if right else "miss"] += 1
        outcome = (
            "correct"
            if right or (matched is None and item.truth is None)
            else ("wrong_account" if matched is not None else "missed")
        )
        by_variant[item.variant][outcome] += 1
    rows = []
    for method in sorted(set(made_by) | set(expected), key=lambda m: (m == "overall", m)):
        made, wanted = made_by[method], expected[method]
        precision = made["tp"] / (made["tp"] + made["fp"]) if made["tp"] + made["fp"] else None
        recall = wanted["hit"] / (wanted["hit"] + wanted["miss"]) if wanted["hit"] + wanted["miss"] else None
        f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
        rows.append(
            {
                "method": method,
                "matched": made["tp"] + made["fp"],
                "wrong": made["fp"],
                "should_match": wanted["hit"] + wanted["miss"],
                "precision": None if precision is None else round(precision, 4),
                "recall": None if recall is None else round(recall, 4),
                "f1": None if f1 is None else round(f1, 4),
            }
        )
    variants = [
        {"variant": variant, "leads": sum(tally.values()), **{k: tally[k] for k in OUTCOMES}}
        for variant, tally in sorted(by_variant.items())
    ]
    return {
        "leads": len(leads),
        "leads_per_second": round(len(leads) / seconds, 1),
        "review_flagged": review,
        "methods": rows,
        "variants": variants,
    }


def _load(mirror: Any, records: Iterator[tuple[str, Any]], accounts: int, console: Any) -> list[Account]:
    """Write the synthetic CRM into the mirror in batches; returns the accounts."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    loaded: list[Account] = []
    batch: list[tuple[str, str, Any]] = []
    columns = (TextColumn("loading the CRM mirror"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=console is None) as progress:
        task = progress.add_task("load", total=accounts)
        for kind, record in records:
            batch.append((kind, record["id"], record))
            if kind == "account":
                loaded.append(record)
                progress.update(task, completed=len(loaded))
            if len(batch) >= 2000:
                mirror.upsert_many(batch)
                batch = []
        if batch:
            mirror.upsert_many(batch)
    return loaded


def _one_at_a_time(leads: Sequence[Lead], matcher: Matcher, mirror: CrmMirror) -> float:
    started = time.perf_counter()
    for lead in leads:
        matcher.decide(lead, mirror.candidates(matcher.query_for(lead)))
    return len(leads) / (time.perf_counter() - started)


def _decide_only(leads: Sequence[Lead], matcher: Matcher, mirror: CrmMirror) -> float:
    found = mirror.candidates_many([matcher.query_for(lead) for lead in leads])
    started = time.perf_counter()
    for lead, candidates in zip(leads, found, strict=True):
        matcher.decide(lead, candidates)
    return len(leads) / (time.perf_counter() - started)


def _script_stats(client: Any) -> tuple[int, int]:
    """(calls, µs) Redis has spent in EVALSHA so far: look-ups run as a script, so this is their cost.

    Read from ``INFO commandstats`` before and after the labelled leads are matched;
    the difference is Redis's own time per look-up, whatever the client and network
    add. Another client running scripts on the same server at the time would count too.
    """
    stats = client.info("commandstats").get("cmdstat_evalsha") or {}
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def run_bench_match(
    settings: Any,
    *,
    accounts: int,
    lead_count: int,
    seed: int,
    batch: int,
    console: Any,
    real_data_dir: str | None = None,
) -> dict[str, Any]:
    """Load a synthetic CRM into Redis, match a labelled set, report quality, speed and memory.

    Real labelled name pairs are matched too when the data directory has them
    (:mod:`streams.bench.real_names`): a synthetic set flatters the matcher that inspired it.
    """
    import uuid

    from streams.bench.real_names import data_dir, run_real_pairs
    from streams.crm.synthetic import generate_crm
    from streams.demo import embedded
    from streams.redis_client import redis_answers
    from streams.wiring import build_enricher, matcher_for

    server = None
    if not redis_answers(settings):
        server = embedded.start_redis()
        settings = settings.with_overrides(redis_url=server.url, redis_cluster=False)
    client = wiring.redis_for(settings, timeout_s=60)
    mirror = wiring.crm_mirror(
        settings, client, prefix=f"{settings.redis_prefix}-bench-match-{uuid.uuid4().hex[:8]}"
    )
    try:
        memory_before = int(client.info("memory")["used_memory"])
        load_started = time.perf_counter()
        crm = _load(mirror, generate_crm(accounts, seed=seed), accounts, console)
        load_seconds = time.perf_counter() - load_started
        memory_used = int(client.info("memory")["used_memory"]) - memory_before
        labelled = list(labelled_leads(crm, lead_count, seed=seed))
        leads = prepared(labelled, build_enricher(settings.with_overrides(firmographics="none")))
        matcher = matcher_for(settings)
        stats_before = _script_stats(client)
        quality = evaluate(labelled, leads, matcher, mirror, batch=batch)
        calls, usec = (
            after - before for after, before in zip(_script_stats(client), stats_before, strict=True)
        )
        sample = leads[: min(len(leads), 3000)]
        speed = [
            {"path": "decide only (candidates fetched beforehand)",
             "leads_per_second": _decide_only(sample, matcher, mirror)},
            {"path": f"Redis, batches of {batch} (decided as the answers arrive)",
             "leads_per_second": quality["leads_per_second"]},
            {"path": "Redis, one lead at a time (what a stage does)",
             "leads_per_second": _one_at_a_time(sample, matcher, mirror)},
        ]  # fmt: skip
        sizes = mirror.sizes()
        real = run_real_pairs(
            data_dir(real_data_dir), matcher, build_enricher(settings.with_overrides(firmographics="none"))
        )
    finally:
        mirror.forget_prefix()
        client.close()
        if server is not None:
            server.stop()
    return {
        "accounts": len(crm),
        "mirror_records": sizes,
        "load_seconds": round(load_seconds, 1),
        "redis_bytes_per_account": round(memory_used / max(len(crm), 1)),
        "redis_mib_per_million_accounts": round(memory_used / max(len(crm), 1) * 1_000_000 / 2**20),
        "speed": [{**row, "leads_per_second": round(row["leads_per_second"], 1)} for row in speed],
        "redis_us_per_lookup": round(usec / calls, 1) if calls else None,
        "real_pairs": real,
        **quality,
    }


def render_bench_match(summary: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    from streams.bench.real_names import render_real_pairs

    for title, rows in (
        (
            f"Match quality: {summary['leads']} labelled leads, {summary['accounts']} accounts",
            summary["methods"],
        ),
        ("By kind of lead (correct includes rightly matching nothing)", summary["variants"]),
        ("Speed", summary["speed"]),
    ):
        table = Table(title=title)
        for column in rows[0]:
            table.add_column(
                column.replace("_", " "),
                justify="left" if column in ("method", "variant", "path") else "right",
            )
        for row in rows:
            table.add_row(*("–" if value is None else str(value) for value in row.values()))
        console.print(table)
    console.print(
        f"mirror: {summary['mirror_records']}, loaded in {summary['load_seconds']} s; Redis memory "
        f"{summary['redis_bytes_per_account']} bytes per account with its people and deals "
        f"(~{summary['redis_mib_per_million_accounts']} MiB per 1M accounts); "
        f"Redis time per look-up {summary['redis_us_per_lookup']} µs (INFO commandstats); "
        f"{summary['review_flagged']} leads flagged for review"
    )
    overall = next((row for row in summary["methods"] if row["method"] == "overall"), None)
    render_real_pairs(summary.get("real_pairs"), overall, console)
