"""The rule set a running assign stage routes with, reloaded when its file changes.

RevOps edit rules weekly; a restart per edit would be a deploy. The stage asks
:meth:`RulesSource.current` once per batch; at most every few seconds that
looks at the file's modification time and size, and when they changed reads,
hashes and loads it. A file that fails to load, or that names a channel whose
topic does not exist yet, is refused: logged with file, line and reason,
counted, and the previous version keeps routing. The swap is one reference
assignment, so a batch is always decided by exactly one version.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from processors.config import ConfigError
from processors.rules import RuleSet, load_rules
from streams import metrics
from streams.settings import Settings

log = logging.getLogger(__name__)

#: What the assign stage routes with when no rules file is configured.
DEFAULT_RULES_SOURCE = "<default rules>"


def default_rules(queue: str, channel: str) -> RuleSet:
    """One catch-all route to the default queue: routing works before anyone writes rules."""
    text = (
        "version: 1\n"
        "name: default\n"
        f"defaults: {{channel: {channel}}}\n"
        "routes:\n"
        "  - name: everything\n"
        f"    assign: {{queue: {queue}}}\n"
    )
    return load_rules(text, DEFAULT_RULES_SOURCE)


def read_rules(path: str) -> RuleSet:
    """Load a rules file; ConfigError (file:line: reason) if it cannot be used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(path, None, f"cannot read the rules file: {error.strerror or error}") from None
    return load_rules(text, path)


def rules_for(settings: Settings, path: str | None = None) -> RuleSet:
    """The rules at ``path``, else LEADROUTE_RULES_FILE, else the default queue."""
    chosen = path or settings.rules_file
    if chosen:
        return read_rules(chosen)
    return default_rules(settings.default_queue, settings.default_channel)


class RulesSource:
    """Holds the current rule set and swaps in a changed file once it loads cleanly."""

    def __init__(
        self,
        path: str | None,
        *,
        fallback: RuleSet,
        check_every_s: float = 2.0,
        missing_channel_topics: Callable[[Iterable[str]], list[str]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._check_every_s = check_every_s
        self._missing_channel_topics = missing_channel_topics
        self._monotonic = monotonic
        self._stamp: tuple[int, int] | None = None
        self._next_check = 0.0
        if path is None:
            self._refuse_unless_topics_exist(fallback)
            self._rules = fallback
        else:
            self._rules = self._first_load(path)
        self._publish_version(None)

    @property
    def path(self) -> str | None:
        return self._path

    def current(self) -> RuleSet:
        if self._path is not None and self._monotonic() >= self._next_check:
            self._next_check = self._monotonic() + self._check_every_s
            self._reload_if_changed(self._path)
        return self._rules

    def latest(self) -> RuleSet:
        """The version in use, without looking at the file (between batches is the time for that)."""
        return self._rules

    def _first_load(self, path: str) -> RuleSet:
        """At start a bad file stops the stage (exit 2): there is no last good version yet."""
        self._stamp = _stamp(path)
        rules = read_rules(path)
        self._refuse_unless_topics_exist(rules)
        metrics.RULES_RELOADS.labels("loaded").inc()
        log.info("rules %s loaded: version %s", path, rules.version)
        return rules

    def _reload_if_changed(self, path: str) -> None:
        stamp = _stamp(path)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            rules = read_rules(path)
            if rules.version == self._rules.version:
                return
            self._refuse_unless_topics_exist(rules)
        except ConfigError as error:
            metrics.RULES_RELOADS.labels("refused").inc()
            log.error("rules change refused, version %s keeps routing: %s", self._rules.version, error)
            return
        previous, self._rules = self._rules, rules
        metrics.RULES_RELOADS.labels("loaded").inc()
        self._publish_version(previous)
        log.info("rules %s reloaded: version %s replaces %s", path, rules.version, previous.version)

    def _refuse_unless_topics_exist(self, rules: RuleSet) -> None:
        if self._missing_channel_topics is None:
            return
        missing = self._missing_channel_topics(rules.channels())
        if missing:
            raise ConfigError(
                rules.source,
                None,
                f"channel topic(s) {', '.join(sorted(missing))} do not exist; run "
                "'leadroute topics create' with this rules file, then save it again",
            )

    def _publish_version(self, previous: RuleSet | None) -> None:
        if previous is not None:
            metrics.RULES_VERSION.labels(previous.version).set(0)
        metrics.RULES_VERSION.labels(self._rules.version).set(1)


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size
