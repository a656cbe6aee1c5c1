"""Owners: who receives leads, when they work, and how their availability is judged (pure)."""
