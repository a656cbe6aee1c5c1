"""Routing: the rule engine's output (a plan) and the assignment ledger's contract."""
