"""The composition root: every working part built from settings, in one place.

The pure pieces live in ``processors/`` and the Redis and HTTP implementations
of their ports in ``streams/adapters/``; this module is the only one that puts
them together from :class:`~streams.settings.Settings`: Redis clients, the CRM
mirror, the owner directory, the assignment ledger, the state markers, the
enricher, the matcher and the segmenter. Every caller (the stages, batch
routing, explain, simulate, the CLI and the benchmarks) gets its parts here,
so a setting means the same everywhere; a test that wants another part passes
its own instead (each builder takes an optional client). Any bad file is
refused here with file, line and reason, before a stage starts consuming.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from processors.config import ConfigError, Document, parse_yaml
from processors.crm.indexing import INDEX_VERSION
from processors.crm.matcher import MatchConfig, Matcher
from processors.enrichment.emails import DomainLists
from processors.enrichment.enricher import Enricher
from processors.enrichment.firmographics import CachedFirmographics, DatasetFirmographics, parse_dataset
from processors.enrichment.regions import RegionMap
from processors.enrichment.titles import TitleClassifier
from processors.ports import FirmographicsProvider
from processors.segmentation import Segmenter, load_definitions, shipped_definitions
from processors.segmentation.loader import shipped_document
from streams.adapters.redis_crm_mirror import RedisCrmMirror
from streams.adapters.redis_ledger import RedisAssignmentLedger
from streams.adapters.redis_owners import RedisOwnerDirectory
from streams.adapters.redis_state_marker import StateMarker
from streams.redis_client import rate_limit_storage, redis_client
from streams.settings import Settings

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

#: The cache must never hold a lead up: a slow Redis counts as a miss.
_CACHE_SOCKET_TIMEOUT_S = 0.25


SAMPLE_DATASET = Path(__file__).resolve().parent / "data" / "firmographics-sample.csv"

#: How long a state call may wait on Redis before it counts as an outage.
STATE_TIMEOUT_S = 5.0


def redis_for(settings: Settings, *, timeout_s: float | None = STATE_TIMEOUT_S) -> Any:
    """A client for LEADROUTE_REDIS_URL (TLS, AUTH, cluster applied); ``None`` waits for ever."""
    return redis_client(settings, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)


def crm_mirror(settings: Settings, client: Any = None, *, prefix: str | None = None) -> RedisCrmMirror:
    """The CRM mirror match reads and crm-sync writes (``prefix``: a benchmark's own keys)."""
    return RedisCrmMirror(
        client or redis_for(settings),
        prefix=prefix or settings.redis_prefix,
        max_candidates=settings.match_name_candidates,
    )


def owner_directory(settings: Settings, client: Any = None) -> RedisOwnerDirectory:
    """The owner directory assign reads and owner-sync writes."""
    return RedisOwnerDirectory(client or redis_for(settings), prefix=settings.redis_prefix)


def assignment_ledger(
    settings: Settings,
    client: Any = None,
    *,
    prefix: str | None = None,
    decision_ttl_s: int | None = None,
) -> RedisAssignmentLedger:
    """The ledger every assign worker picks owners through, remembering decisions for the TTL.

    ``prefix`` and ``decision_ttl_s`` let a benchmark keep its keys apart and short-lived.
    """
    return RedisAssignmentLedger(
        client or redis_for(settings),
        prefix=prefix or settings.redis_prefix,
        decision_ttl_s=decision_ttl_s or settings.assignment_ttl_days * 86_400,
    )


def state_marker(settings: Settings, keyspace: str, client: Any = None) -> StateMarker:
    """The generation marker of one keyspace (``owners``, ``crm`` or ``assign``)."""
    layout = INDEX_VERSION if keyspace == "crm" else None
    return StateMarker(
        client or redis_for(settings), prefix=settings.redis_prefix, keyspace=keyspace, layout=layout
    )


def _shipped(name: str) -> Document:
    text = resources.files("processors.enrichment").joinpath("data", name).read_text(encoding="utf-8")
    return parse_yaml(text, f"<shipped {name}>")


def read_document(path: str | Path) -> Document:
    """A user's YAML file, or a ConfigError naming it when it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), None, f"cannot read the file: {error.__class__.__name__}") from None
    return parse_yaml(text, str(path))


def region_map(settings: Settings) -> RegionMap:
    shipped = RegionMap.from_document(_shipped("regions.yaml"))
    if not settings.regions_file:
        return shipped
    return RegionMap.from_document(read_document(settings.regions_file), base=shipped)


def title_classifier(settings: Settings) -> TitleClassifier:
    document = read_document(settings.titles_file) if settings.titles_file else _shipped("titles.yaml")
    return TitleClassifier.from_document(document)


def _domains(text: str | None) -> list[str]:
    return [item for item in (text or "").split(",") if item.strip()]


def domain_lists(settings: Settings) -> DomainLists:
    return DomainLists().extended(
        free_mail=_domains(settings.free_mail_domains),
        disposable=_domains(settings.disposable_domains),
        business=_domains(settings.business_domains),
    )


def dataset_provider(path: str | Path, name: str = "dataset") -> DatasetFirmographics:
    """The local dataset provider over a CSV file in the documented format."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), None, f"cannot read the dataset: {error.__class__.__name__}") from None
    return DatasetFirmographics(name, parse_dataset(text, str(path)))


def _headers(text: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for pair in (text or "").split(","):
        if not pair.strip():
            continue
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError("LEADROUTE_FIRMOGRAPHICS_HEADERS entries must be Name=value")
        headers[name.strip()] = value.strip()
    return headers


def http_provider(settings: Settings) -> FirmographicsProvider:
    from streams.adapters.http_firmographics import (
        MAPPABLE_FIELDS,
        HttpFirmographicsProvider,
        HttpProviderConfig,
    )

    url = settings.firmographics_url or ""
    name = settings.firmographics_name or urlsplit(url.replace("{domain}", "x")).hostname or "http"
    # Without a mapping the API is expected to answer with the record's own field names.
    field_map = (
        HttpProviderConfig.parse_field_map(settings.firmographics_fields)
        if settings.firmographics_fields
        else {name: name for name in MAPPABLE_FIELDS}
    )
    storage, storage_options = rate_limit_storage(settings)
    config = HttpProviderConfig(
        name=name,
        url_template=url,
        headers=_headers(settings.firmographics_headers),
        timeout_s=settings.firmographics_timeout,
        retries=settings.firmographics_retries,
        backoff_s=settings.firmographics_backoff,
        breaker_failures=settings.firmographics_breaker_failures,
        breaker_reset_s=settings.firmographics_breaker_reset,
        rate_limit_per_s=settings.firmographics_rate_limit,
        # Redis storage makes the per-second limit one budget for every enrich worker.
        rate_limit_storage=storage if settings.firmographics_rate_limit else "memory://",
        rate_limit_storage_options=storage_options if settings.firmographics_rate_limit else {},
        rate_limit_key_prefix=settings.redis_prefix,
        field_map=field_map,
    )
    return HttpFirmographicsProvider(config)


def firmographics_provider(
    settings: Settings, client: redis.Redis | None = None
) -> FirmographicsProvider | None:
    """The configured provider, behind the Redis cache when there is a client and a TTL."""
    if settings.firmographics == "none":
        return None
    if settings.firmographics == "dataset":
        provider: FirmographicsProvider = dataset_provider(
            settings.firmographics_file or SAMPLE_DATASET, settings.firmographics_name or "dataset"
        )
        return provider  # already in memory: a cache would only add a round trip
    provider = http_provider(settings)
    if client is None or settings.firmographics_cache_ttl == 0:
        return provider
    from streams.adapters.redis_firmographics_cache import RedisFirmographicsCache

    cache = RedisFirmographicsCache(
        client,
        prefix=settings.redis_prefix,
        ttl_s=settings.firmographics_cache_ttl,
        negative_ttl_s=settings.firmographics_negative_ttl,
    )
    return CachedFirmographics(provider, cache)


def build_enricher(settings: Settings, client: redis.Redis | None = None) -> Enricher:
    """Everything the enrich stage needs; raises ConfigError/ValueError on bad configuration."""
    enricher = Enricher(
        regions=region_map(settings),
        titles=title_classifier(settings),
        lists=domain_lists(settings),
        firmographics=firmographics_provider(settings, client),
    )
    log.info(
        "enrichment ready: %d regions, firmographics %s",
        len(enricher.regions.regions),
        enricher.firmographics.name if enricher.firmographics else "off",
    )
    return enricher


def build_enricher_for(settings: Settings) -> Enricher:
    client = None
    if settings.firmographics == "http" and settings.firmographics_cache_ttl > 0:
        client = redis_for(settings, timeout_s=_CACHE_SOCKET_TIMEOUT_S)
    return build_enricher(settings, client)


def matcher_for(settings: Settings) -> Matcher:
    return Matcher(
        MatchConfig(
            accept_score=settings.match_accept_score,
            review_score=settings.match_review_score,
            person_accept_score=settings.match_person_score,
            roll_up_to_parent=settings.match_roll_up_to_parent,
        )
    )


def segmenter_for(settings: Settings) -> Segmenter:
    """The shipped definitions with the user's file laid over them; raises ConfigError if bad."""
    if not settings.segments_file:
        segmenter = Segmenter(shipped_definitions())
    else:
        base = load_definitions(shipped_document())
        segmenter = Segmenter(load_definitions(read_document(settings.segments_file), base=base))
    definitions = segmenter.definitions
    log.info(
        "segmentation ready: %d size bands, %d verticals, %d score rules, version %s",
        len(definitions.size_bands),
        len(definitions.verticals),
        len(definitions.score_rules),
        segmenter.version,
    )
    return segmenter
