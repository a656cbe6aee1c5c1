"""Every metric leadroute exports, in one place (the server is in :mod:`streams.health`).

Names are ``leadroute_*``; the dashboards and alerts in ``deploy/`` use exactly
these. The invariant SREs watch: ``records_in{stage="normalize"}`` equals
``records_out{stage="assign"}`` plus the sum of ``dlq_total``, with in-flight
leads as the gap.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0)
_PROCESSING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)

RECORDS_IN = Counter(
    "leadroute_records_in", "Records read from the stage's input topic.", ["stage"], registry=REGISTRY
)
RECORDS_OUT = Counter(
    "leadroute_records_out", "Records produced to an output topic.", ["stage", "topic"], registry=REGISTRY
)
DLQ = Counter("leadroute_dlq", "Records dead-lettered, by error code.", ["stage", "code"], registry=REGISTRY)
DLQ_BRAKE_TRIPPED = Counter(
    "leadroute_dlq_brake_tripped",
    "Times a stage stopped because it dead-lettered too many records for a non-data code (exit 7).",
    ["stage", "code"],
    registry=REGISTRY,
)
BATCH_SIZE = Histogram(
    "leadroute_batch_size",
    "Records per batch in the stages that batch their Redis look-ups (match, assign).",
    ["stage"],
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
    registry=REGISTRY,
)
PROCESSING_SECONDS = Histogram(
    "leadroute_processing_seconds",
    "Time spent decoding, processing and encoding one record.",
    ["stage"],
    buckets=_PROCESSING_BUCKETS,
    registry=REGISTRY,
)
LEAD_LATENCY_SECONDS = Histogram(
    "leadroute_lead_latency_seconds",
    "From a lead's arrival on leads.raw to its assignment.",
    ["channel"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
ASSIGNMENTS = Counter(
    "leadroute_assignments",
    "Assignments made, by destination.",
    ["destination_type", "destination", "channel"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "leadroute_consumer_lag",
    "Records behind the partition's last stable offset: stable offset minus the stage's position.",
    ["stage", "topic", "partition"],
    registry=REGISTRY,
)
INPUT_STALLED = Gauge(
    "leadroute_input_stalled",
    "1 while an input partition has records behind a transaction that has stayed open past the stall "
    "limit (an upstream process died mid-transaction), so the stage cannot read on.",
    ["stage", "topic", "partition"],
    registry=REGISTRY,
)
STATE_MISSING = Gauge(
    "leadroute_state_missing",
    "1 while a keyspace this stage owns or reads (owners, crm, assign) is missing from Redis or being "
    "rebuilt from its topics: match and assign hold leads meanwhile.",
    ["keyspace"],
    registry=REGISTRY,
)
STATE_REBUILDS = Counter(
    "leadroute_state_rebuilds",
    "Rebuilds of a Redis keyspace from its topics after Redis came back empty, by outcome (done, failed).",
    ["stage", "keyspace", "outcome"],
    registry=REGISTRY,
)
STATE_REBUILD_RECORDS = Counter(
    "leadroute_state_rebuild_records",
    "Records read back from the topics while rebuilding a keyspace.",
    ["stage", "keyspace"],
    registry=REGISTRY,
)
LAST_PROCESSED = Gauge(
    "leadroute_last_processed_timestamp_seconds",
    "Unix time of the last record processed.",
    ["stage"],
    registry=REGISTRY,
)
STAGE_INFO = Gauge(
    "leadroute_stage_info",
    "Which stage and version this process runs.",
    ["stage", "version"],
    registry=REGISTRY,
)

# CRM matching and the CRM mirror.
CRM_MATCHES = Counter(
    "leadroute_crm_matches",
    "Leads matched to an account or a person, by what matched (account_domain, account_fuzzy_name, "
    "account_person, person_email, person_phone, person_fuzzy_name) and none for no match at all.",
    ["method"],
    registry=REGISTRY,
)
CRM_DUPLICATES = Counter(
    "leadroute_crm_duplicates", "Leads that already exist in the CRM as a lead or contact.", registry=REGISTRY
)
CRM_REVIEW = Counter(
    "leadroute_crm_review", "Matches in the low-confidence band, flagged for review.", registry=REGISTRY
)
CRM_SYNC_EVENTS = Counter(
    "leadroute_crm_sync_events",
    "CRM change events applied to the mirror, by record kind and operation (upsert, delete).",
    ["kind", "operation"],
    registry=REGISTRY,
)
CRM_MIRROR_RECORDS = Gauge(
    "leadroute_crm_mirror_records", "Records in the CRM mirror, by kind.", ["kind"], registry=REGISTRY
)

# Enrichment: hit rate per field and source is enriched_fields / enriched_leads.
ENRICHED_LEADS = Counter("leadroute_enriched_leads", "Leads the enrich stage completed.", registry=REGISTRY)
ENRICHED_FIELDS = Counter(
    "leadroute_enriched_fields",
    "Enrichment fields filled, by field and by the source that filled them.",
    ["field", "source"],
    registry=REGISTRY,
)
ENRICHMENT_CONFLICTS = Counter(
    "leadroute_enrichment_conflicts",
    "Disagreements between an explicit value and an inferred one, by field.",
    ["field"],
    registry=REGISTRY,
)
FIRMOGRAPHICS_LOOKUPS = Counter(
    "leadroute_firmographics_lookups",
    "Firmographics look-ups by provider and outcome "
    "(found, not_found, unavailable, rate_limited, circuit_open).",
    ["provider", "outcome"],
    registry=REGISTRY,
)
FIRMOGRAPHICS_SECONDS = Histogram(
    "leadroute_firmographics_request_seconds",
    "Time spent asking a firmographics provider (cache misses only), retries included.",
    ["provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
FIRMOGRAPHICS_ERRORS = Counter(
    "leadroute_firmographics_errors",
    "Failed provider requests by kind (timeout, connect, http_5xx, http_429, bad_response).",
    ["provider", "kind"],
    registry=REGISTRY,
)
FIRMOGRAPHICS_CIRCUIT_OPEN = Gauge(
    "leadroute_firmographics_circuit_open",
    "1 while the provider's circuit breaker is open (calls skipped).",
    ["provider"],
    registry=REGISTRY,
)
FIRMOGRAPHICS_CACHE = Counter(
    "leadroute_firmographics_cache",
    "Firmographics cache look-ups by result (hit, negative_hit, miss, error).",
    ["provider", "result"],
    registry=REGISTRY,
)

# Segmentation: the label values are the segments file's names, so they stay few.
SEGMENTED_LEADS = Counter(
    "leadroute_segmented_leads",
    "Leads segmented, by size band and vertical ('none' when not decided).",
    ["size_band", "vertical"],
    registry=REGISTRY,
)


_CHILDREN: dict[tuple[Any, tuple[str, ...]], Any] = {}


def child(metric: Any, *values: str) -> Any:
    """``metric.labels(*values)``, looked up once per label set.

    ``labels()`` checks and locks on every call, and the assign stage counts
    several series per lead; children are never removed, so keeping them is safe.
    """
    key = (metric, values)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = metric.labels(*values)
    return found


# Routing rules and assignment decisions.
RULES_RELOADS = Counter(
    "leadroute_rules_reloads",
    "Rule-file versions loaded or refused by the assign stage (refused: the previous version kept routing).",
    ["outcome"],
    registry=REGISTRY,
)
RULES_VERSION = Gauge(
    "leadroute_rules_version_info",
    "1 for the rule-set version the assign stage routes with now, 0 for versions it replaced.",
    ["version"],
    registry=REGISTRY,
)
ROUTE_MATCHES = Counter(
    "leadroute_route_matches",
    "Leads decided per route ('(none)' when no route matched and the defaults applied).",
    ["route", "channel"],
    registry=REGISTRY,
)
OWNER_SKIPS = Counter(
    "leadroute_owner_skips",
    "Owners passed over while placing a lead, by kind of reason (away, out_of_office, off_hours, cap, skill, "
    "unknown, other).",
    ["owner", "reason"],
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "leadroute_assignment_fallbacks",
    "Leads placed by a fallback action instead of their route's own action, by depth.",
    ["depth"],
    registry=REGISTRY,
)
OWNER_EXPECTED_SHARE = Counter(
    "leadroute_owner_expected_share",
    "Fair share of pool placements each owner was due: weight over the eligible members' total weight, "
    "accrued only while eligible. Compare with leadroute_owner_placements_total for the deficit.",
    ["owner", "pool"],
    registry=REGISTRY,
)
OWNER_PLACEMENTS = Counter(
    "leadroute_owner_placements",
    "Pool placements each owner actually got (the other side of the fairness ledger).",
    ["owner", "pool"],
    registry=REGISTRY,
)
