"""The routing rule language: a YAML rule file compiled into a pure, fast planner.

``load_rules(text, source)`` compiles a rule file (or raises ``ConfigError`` with
file:line and a fix); ``RuleSet.plan(lead)`` returns the lead's
:class:`~processors.routing.plan.RoutePlan`; ``check_rules`` lists every problem;
``explain_lines`` and ``explain_tree`` render a plan for a person; ``processors.rules.explain``
also words each assignment's reason and decision path. See docs/rules.md.
"""

from __future__ import annotations

from processors.rules.explain import ExplainNode, explain_lines, explain_tree
from processors.rules.findings import Finding, Severity
from processors.rules.loader import check_rules, load_rules
from processors.rules.ruleset import RuleSet

__all__ = [
    "ExplainNode",
    "Finding",
    "RuleSet",
    "Severity",
    "check_rules",
    "explain_lines",
    "explain_tree",
    "load_rules",
]
