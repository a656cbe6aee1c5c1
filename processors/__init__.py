"""Pure lead-routing logic: no Kafka, no Redis, no I/O.

State is reached through the protocols in :mod:`processors.ports`, so every
stage runs the same way in a Kafka consumer, in batch mode and in unit tests.
"""
