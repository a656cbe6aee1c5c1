"""Owner events on the owners topic: what owner-sync accepts, and what it refuses with a reason."""

from __future__ import annotations

import pytest

from processors.errors import InvalidLead
from processors.owners.models import Owner
from streams.events import owners as owner_events


def test_an_owner_round_trips_and_a_tombstone_deletes() -> None:
    owner = Owner("kate.obrien", name="Kate", time_zone="Europe/Dublin", cap_per_day=40, skills=("french",))
    key, value, headers = owner_events.encode(owner)
    assert key == b"kate.obrien"
    assert owner_events.decode(value, headers) == owner
    key, value, headers = owner_events.tombstone("kate.obrien")
    assert (key, value) == (b"kate.obrien", None)
    assert owner_events.decode(value, headers) is None


@pytest.mark.parametrize(
    ("damage", "code", "says"),
    [
        (lambda v, h: (v + b"x", h), "undecodable", "1 bytes after its Owner record"),
        (lambda v, h: (b"\x01", h), "undecodable", "not an Avro Owner record"),
        (lambda v, h: (v, [("content-type", b"text/plain")]), "unsupported_content_type", "owners load"),
        (lambda v, h: (v, [("leadroute-schema", b"0000")]), "schema_mismatch", "same version"),
    ],
)
def test_an_untrustworthy_event_is_refused_with_a_reason(damage: object, code: str, says: str) -> None:
    _, value, headers = owner_events.encode(Owner("a"))
    bad_value, bad_headers = damage(value, headers)  # type: ignore[operator]
    with pytest.raises(InvalidLead) as refused:
        owner_events.decode(bad_value, bad_headers)
    assert refused.value.code == code
    assert says in refused.value.message
