"""Kafka and Redis wiring for the pure processors: one Quix Streams app per stage."""

import contextlib
import warnings

__version__ = "0.1.0"

# confluent-kafka's Schema Registry client imports a deprecated authlib module, and authlib
# sets its notices to "always" when it loads, ahead of any filter of ours. Importing it once
# here, silenced after authlib has set its filter, keeps a notice that means nothing to a
# leadroute user off every command's output; the module is cached for the real import.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    import authlib.deprecate  # sets authlib's filter first, so ours comes before it

    warnings.simplefilter("ignore")
    import authlib.integrations.httpx_client  # noqa: F401
