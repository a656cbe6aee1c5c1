"""Routing around the stages: the in-process router, rule reloading, simulation, batch routing,
and the assign stage's writer of events around lead bytes.
"""
