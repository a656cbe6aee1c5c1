"""``leadroute bench assign``: the assign stage's throughput, next to a pass-through of the same batches.

The leads are synthetic, taken through normalize, enrich, match and segment
in-process first, so the assign stage sees what it sees in production. Each
row decides the same leads, in batches as the stage takes them from Kafka:

- the baseline, a no-op pass-through: the same batches through the same stage
  machinery, each record forwarded as it is;
- a pass-through that decodes each Lead and encodes it again (what the stages
  that fill a section of the lead pay);
- the assign stage: decode the lead, plan with the example rules,
  decide in the Redis ledger (one pipelined round trip per batch), write the
  Assignment event around the lead's bytes;
- its parts: decoding, planning alone, the Redis ledger alone, the in-memory ledger;
- with ``workers`` > 1, the stage again in that many processes at once, each
  deciding its share of the leads (as partitions split them) against one shared
  Redis ledger: how the stage scales out on this machine.

Like a running stage, the measurement first takes what set-up built out of the
garbage collector's reach (:func:`streams.runner.settle_heap`).

With ``compare_plain``, the stage is also run without each of its speed tricks,
each variant and the stage itself in interleaved rounds (the machine is shared and
noisy), and each row is the median of its rounds: see :data:`VARIANTS`.

Redis state goes under a fresh prefix that is deleted afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from processors.assign import CandidateCache, request_for
from processors.intake import raw_lead_from_json
from processors.owners.memory import StaticOwners
from processors.ports import SystemClock
from processors.routing.memory_ledger import InMemoryLedger
from streams import wiring
from streams.settings import Settings
from streams.stages.base import BatchStep, Message, lead_batch_step


def _timed(label: str, work: Callable[[], Any], count: int) -> dict[str, Any]:
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    return {"step": label, "leads_per_second": round(count / elapsed, 1), "seconds": round(elapsed, 3)}


class _WholeEventWriter:
    """The plain write: the whole Assignment (its stamped, whole lead included) through AvroCodec."""

    def __init__(self) -> None:
        from streams.serde import AvroCodec

        self._codec = AvroCodec("Assignment")

    def encode(self, head: Any, lead_bytes: bytes, stamp: Any) -> bytes:
        return self._codec.encode(head)


@contextlib.contextmanager
def _variant(name: str) -> Iterator[None]:
    """The assign stage without some of its speed tricks, while the block runs (bench only)."""
    from unittest import mock

    import processors.assign as planning
    from streams.stages import assign

    patches: list[Any] = []
    if name in {"whole encode", "plain"}:
        patches.append(mock.patch.object(assign, "AssignmentWriter", _WholeEventWriter))
    if name in {"no shared plan parts", "plain"}:
        patches.append(mock.patch.object(planning, "plan_part", planning._new_plan_part))
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        yield


#: The stage, and the stage without each trick (and without all of them), compared side by side.
VARIANTS = (
    "stage",
    "whole encode",
    "no shared plan parts",
    "plain",
)


def _compare(
    settings: Settings,
    client: Any,
    prefix: str,
    messages: list[Message],
    batch_size: int,
    directory: Any,
    source: Any,
    rounds: int,
) -> list[dict[str, Any]]:
    """Each variant's median leads/s over ``rounds`` interleaved rounds, each on a fresh ledger."""
    from streams.adapters.redis_cleanup import forget_prefix
    from streams.runner import settle_heap
    from streams.stages import assign

    clock = SystemClock()
    runs: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for round_index in range(rounds):
        for name in VARIANTS:
            run_prefix = f"{prefix}-cmp{round_index}-{VARIANTS.index(name)}"
            try:
                with _variant(name):
                    ledger = wiring.assignment_ledger(
                        settings, client, prefix=run_prefix, decision_ttl_s=3600
                    )
                    stage = assign.build_step(settings, clock, ledger=ledger, owners=directory, rules=source)
                    settle_heap()
                    run = functools.partial(_in_batches, stage, messages, batch_size)
                    row = _timed(name, run, len(messages))
            finally:
                forget_prefix(client, run_prefix)
            runs[name].append(row["leads_per_second"])
    stage_median = statistics.median(runs["stage"])
    return [
        {
            "step": f"compare: {name}" if name != "stage" else "compare: the stage (every trick)",
            "leads_per_second": round(statistics.median(values), 1),
            "rounds": values,
            "stage_vs_this": round(stage_median / statistics.median(values), 3),
        }
        for name, values in runs.items()
    ]


def _in_batches(step: BatchStep, messages: list[Message], size: int) -> None:
    for start in range(0, len(messages), size):
        step(messages[start : start + size])


def _stage_worker(
    settings: Settings,
    messages: list[Message],
    batch_size: int,
    prefix: str,
    owners: Any,
    rules: Any,
    ready: Any,
    results: Any,
) -> None:
    """One assign worker process: its own Redis connection and stage, started with the others."""

    from streams.routing.rules_source import RulesSource
    from streams.runner import settle_heap
    from streams.stages import assign

    client = wiring.redis_for(settings, timeout_s=60)
    try:
        ledger = wiring.assignment_ledger(settings, client, prefix=prefix, decision_ttl_s=3600)
        stage = assign.build_step(
            settings, SystemClock(), ledger=ledger, owners=owners, rules=RulesSource(None, fallback=rules)
        )
        settle_heap()
        ready.wait(timeout=120)  # a worker that failed to start breaks the barrier for the others
        started = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
        _in_batches(stage, messages, batch_size)
        results.put((started, time.monotonic(), len(messages)))
    except Exception as error:  # noqa: BLE001 - reported by the parent, which must not wait forever
        ready.abort()
        results.put(error)
    finally:
        client.close()


def _in_parallel(
    settings: Settings,
    messages: list[Message],
    batch_size: int,
    workers: int,
    prefix: str,
    owners: Any,
    rules: Any,
) -> dict[str, Any]:
    """The stage in ``workers`` processes at once; leads/s from the first start to the last finish."""
    import multiprocessing

    context = multiprocessing.get_context("fork")  # the workers inherit the prepared leads
    ready, results = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(
            target=_stage_worker,
            args=(settings, messages[i::workers], batch_size, prefix, owners, rules, ready, results),
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        spans = [results.get(timeout=600) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    failed = [span for span in spans if isinstance(span, Exception)]
    if failed:
        raise RuntimeError(f"an assign worker failed: {failed[0]!r}")
    elapsed = max(end for _, end, _ in spans) - min(start for start, _, _ in spans)
    count = sum(n for _, _, n in spans)
    client = wiring.redis_for(settings, timeout_s=60)
    decided = sum(1 for _ in client.scan_iter(match=f"{prefix}:{{assign}}:d:*", count=1000))
    client.close()
    return {
        "step": f"assign stage, {workers} worker processes at once (one shared Redis ledger)",
        "leads_per_second": round(count / elapsed, 1),
        "seconds": round(elapsed, 3),
        "decided": decided,
    }


def measure(
    settings: Settings,
    lead_count: int,
    batch_size: int,
    seed: int = 11,
    workers: int = 1,
    compare_rounds: int = 0,
) -> dict[str, Any]:

    from processors.pipeline import enrich_stage, match_stage, normalize_stage, segment_stage
    from streams.adapters.redis_cleanup import forget_prefix
    from streams.demo.synthetic import generate
    from streams.routing.router import DEMO_OWNERS, EXAMPLE_RULES, in_process_router, read_owners
    from streams.routing.rules_source import RulesSource, read_rules
    from streams.runner import settle_heap
    from streams.serde import AvroCodec, LeadDecoder
    from streams.stages import assign

    clock = SystemClock()
    rules = read_rules(str(EXAMPLE_RULES))
    owners = read_owners(DEMO_OWNERS)
    router = in_process_router(settings.with_overrides(firmographics="none"), rules=rules, owners=owners)
    raws = [
        raw_lead_from_json(m.payload)
        for m in generate(lead_count, seed=seed, invalid_share=0, garbage_share=0)
        if m.payload is not None
    ]
    now = clock.now_ms()
    leads = [
        enrich_stage(
            normalize_stage(raw, received_at_ms=now, clock=clock), enricher=router.enricher, clock=clock
        )
        for raw in raws
    ]
    leads = match_stage(leads, matcher=router.matcher, mirror=router.mirror, clock=clock)
    leads = [segment_stage(lead, segmenter=router.segmenter, clock=clock) for lead in leads]
    lead_codec = AvroCodec("Lead")
    messages = [
        Message(lead_codec.encode(lead), None, [], "bench", 0, index, now) for index, lead in enumerate(leads)
    ]
    count = len(messages)
    directory = StaticOwners(owners)
    source = RulesSource(None, fallback=rules)

    settle_heap()  # as a running stage does once it has started
    prefix = f"leadroute-bench-{uuid.uuid4().hex[:8]}"
    client = wiring.redis_for(settings, timeout_s=60)
    rows: list[dict[str, Any]] = []
    try:
        no_op = BatchStep(
            "no-op",
            lambda message: message,
            lambda message: str(message.offset),
            lambda batch: batch,
            lead_codec,
            clock,
            encode_output=lambda message, _: message.value,
        )
        rows.append(
            _timed(
                "no-op pass-through (each record forwarded as is)",
                lambda: _in_batches(no_op, messages, batch_size),
                count,
            )
        )
        whole_lead_step = lead_batch_step("pass-through", lambda batch: batch, clock)
        rows.append(
            _timed(
                "pass-through decoding and encoding the whole Lead (what other stages pay)",
                lambda: _in_batches(whole_lead_step, messages, batch_size),
                count,
            )
        )
        redis_ledger = wiring.assignment_ledger(settings, client, prefix=prefix, decision_ttl_s=3600)
        stage = assign.build_step(settings, clock, ledger=redis_ledger, owners=directory, rules=source)
        rows.append(
            _timed(
                f"assign stage (example rules, Redis ledger, batches of {batch_size})",
                lambda: _in_batches(stage, messages, batch_size),
                count,
            )
        )
        lead_decoder = LeadDecoder()
        rows.append(
            _timed(
                "  decode each Lead",
                lambda: [lead_decoder.decode(m.value, m.headers) for m in messages],
                count,
            )
        )
        rows.append(_timed("  plan only (rule engine)", lambda: [rules.plan(lead) for lead in leads], count))
        candidates = CandidateCache(directory.owners(), now)
        requests = [
            request_for(lead, rules.plan(lead), candidates, now, settings.default_queue) for lead in leads
        ]
        fresh = wiring.assignment_ledger(settings, client, prefix=prefix + "-ledger", decision_ttl_s=3600)
        rows.append(
            _timed(
                "  Redis ledger only (one pipelined round trip per batch)",
                lambda: [
                    fresh.assign_many(requests[i : i + batch_size])
                    for i in range(0, len(requests), batch_size)
                ],
                count,
            )
        )
        replay = wiring.assignment_ledger(settings, client, prefix=prefix + "-ledger", decision_ttl_s=3600)
        rows.append(
            _timed(
                "  Redis ledger, the same leads replayed (idempotent look-ups)",
                lambda: [
                    replay.assign_many(requests[i : i + batch_size])
                    for i in range(0, len(requests), batch_size)
                ],
                count,
            )
        )
        memory = InMemoryLedger()
        rows.append(_timed("  in-memory ledger only", lambda: memory.assign_many(requests), count))
        if compare_rounds:
            rows.extend(
                _compare(settings, client, prefix, messages, batch_size, directory, source, compare_rounds)
            )
        if workers > 1:
            rows.append(
                _in_parallel(settings, messages, batch_size, workers, prefix + "-workers", directory, rules)
            )
    finally:
        for name in (prefix, prefix + "-ledger", prefix + "-workers"):
            forget_prefix(client, name)
        client.close()
    baseline = rows[0]["leads_per_second"]
    for row in rows:
        row["vs_pass_through"] = round(row["leads_per_second"] / baseline, 3)
    return {
        "leads": count,
        "batch_size": batch_size,
        "owners": len(owners),
        "workers": workers,
        "cpus": os.cpu_count(),
        "rules_version": rules.version,
        "redis_url": settings.redis_url.rsplit("@", 1)[-1],
        "rows": rows,
    }


def render(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"assign: {result['leads']} leads, batches of {result['batch_size']}, "
        f"{result['owners']} owners, {result['rules_version']}, {result['cpus']} CPUs"
    )
    for column in ("step", "leads/s", "vs pass-through"):
        table.add_column(column, justify="left" if column == "step" else "right")
    compared = any("stage_vs_this" in row for row in result["rows"])
    if compared:
        table.add_column("stage ÷ this", justify="right")
    for row in result["rows"]:
        cells = [row["step"], f"{row['leads_per_second']:,.0f}", f"{row['vs_pass_through']:.2f}×"]
        if compared:
            cells.append(f"{row['stage_vs_this']:.2f}" if "stage_vs_this" in row else "")
        table.add_row(*cells)
    Console().print(table)
