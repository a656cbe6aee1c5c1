"""Kafka and Redis wiring for the pure processors: one Quix Streams app per stage."""

import warnings

__version__ = "0.1.0"

# confluent-kafka's Schema Registry client imports a deprecated authlib module;
# the notice means nothing to a leadroute user.
warnings.filterwarnings("ignore", message="The httpx module is deprecated")
