"""Company names made only of symbols ("!", "©", an emoji) have no words to match on, and must not crash."""

from __future__ import annotations

import pytest

from processors.crm.indexing import company_tokens, index_entries
from processors.crm.memory import InMemoryCrmMirror
from processors.crm.names import prepared
from processors.pipeline import route_raw_lead
from processors.ports import FrozenClock
from streams.routing.router import in_process_router
from streams.routing.rules_source import default_rules
from streams.settings import Settings

SYMBOL_NAMES = ["!", "©", "😀", "—", "&&"]


@pytest.mark.parametrize("name", SYMBOL_NAMES)
def test_a_symbol_only_name_gives_no_index_words(name: str) -> None:
    assert company_tokens(name) == ()


@pytest.mark.parametrize("name", SYMBOL_NAMES)
def test_an_account_with_a_symbol_only_name_is_stored_and_a_lead_at_it_is_routed(name: str) -> None:
    settings = Settings.from_env({})
    account = {
        "id": "001S",
        "name": name,
        "domains": ["symbol.example"],
        "owner_id": None,
        "parent_id": None,
        "employees": None,
        "industry": None,
        "country": None,
        "updated_at": 1,
    }
    assert ("domain:symbol.example", "001S") in index_entries("account", prepared("account", account))
    mirror = InMemoryCrmMirror()
    router = in_process_router(
        settings, rules=default_rules("triage", "default"), owners=[], mirror=mirror, clock=FrozenClock(1)
    )
    raw = {"lead_id": "L-symbol", "email": "ana@gmail.com", "company": name, "source": "web"}
    assignment = route_raw_lead(raw, received_at_ms=1, router=router)  # type: ignore[arg-type]
    assert assignment["lead_id"] == "L-symbol"
    assert (assignment["destination_type"], assignment["destination"]) == ("queue", "triage")
