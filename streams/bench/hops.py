"""The baseline of ``leadroute bench pipeline``: a chain of pass-through hops, one process each.

A hop is built like a stage (the same :func:`streams.app.build_application`,
so the same partitions, processing guarantee, commit interval, client tuning
and transactional id scheme) and does the least a stage must: decode the
``Lead`` in Avro, stamp its trace (so per-hop throughput is read the way the
stages' is) and encode it again. What the pipeline costs beyond this chain is
what the routing itself costs.

Run one with ``python -m streams.bench.hops INDEX``; settings come from the
``LEADROUTE_*`` environment like ``leadroute run``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from processors.lead import stamped
from processors.ports import SystemClock
from streams import health, topics
from streams.app import STATS_INTERVAL_MS, build_application, current_message, topic_for
from streams.dlq import DEAD_LETTER
from streams.settings import Settings
from streams.stages.base import DEAD_LETTER as DLQ_ROUTE
from streams.stages.base import Routed, lead_step

#: Hops in the baseline chain: one per lead stage.
HOPS = 5


def hop_name(index: int) -> str:
    """The hop's "stage" name: its consumer group is <group_prefix>-<name>."""
    return f"pass-through-{index}"


def hop_topic(index: int) -> str:
    """Base name of the topic hop ``index`` writes (hop 0 is where the bench publishes)."""
    return f"bench.hop{index}"


def hop_topics() -> tuple[str, ...]:
    return tuple(hop_topic(index) for index in range(HOPS + 1))


def build_hop(settings: Settings, index: int, stage_health: health.Health) -> Any:
    """hop ``index - 1``'s topic → decode, stamp, encode → hop ``index``'s topic (or the DLQ)."""
    name = hop_name(index)
    clock = SystemClock()
    app = build_application(settings, name, stage_health)
    step = lead_step(name, lambda lead: stamped(lead, name, clock.now_ms()), clock)
    source = topic_for(app, settings, hop_topic(index - 1), None)
    destinations = {
        "output": topic_for(app, settings, hop_topic(index), step.output),
        DLQ_ROUTE: topic_for(app, settings, topics.DLQ, DEAD_LETTER),
    }

    def handle(value: bytes | None, key: bytes | None, timestamp: int, headers: Any) -> Routed:
        return step(current_message(value, key, timestamp, headers))

    sdf = app.dataframe(source).apply(handle, metadata=True)
    sdf.to_topic(
        lambda routed, key, timestamp, headers: destinations[routed.destination],
        key=lambda routed: routed.key,
    )
    return app


def main(argv: list[str]) -> int:
    from streams.cli.options import configure_logging
    from streams.runner import settle_heap

    index = int(argv[0])
    if not 1 <= index <= HOPS:
        raise SystemExit(f"hop index must be 1..{HOPS}")
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    logging.getLogger("quixstreams").setLevel(logging.WARNING)
    stage_health = health.Health(
        hop_name(index), stats_interval_s=STATS_INTERVAL_MS / 1000, stall_after_s=settings.stall_seconds
    )
    app = build_hop(settings, index, stage_health)
    settle_heap()  # as a stage does, so the baseline pays no more garbage collection than the stages
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
