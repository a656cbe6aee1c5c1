"""CRM change events: the schema files encode exactly the mirror's records, and back."""

from __future__ import annotations

import io
import json
from typing import Any, get_type_hints

import fastavro
import fastavro.validation
import pytest

import schemas
from processors.crm.models import Account, Opportunity, Person
from processors.errors import InvalidLead
from schemas import SCHEMA_DIR
from streams.events import crm as crm_events

ACCOUNT: Account = {
    "id": "acc-1",
    "name": "Acme Ltd",
    "domains": ["acme.com", "acme.co.uk"],
    "website": "www.acme.com",
    "owner_id": "owner-01",
    "parent_id": None,
    "employees": 1200,
    "industry": "Software",
    "country_code": "GB",
    "type": "customer",
    "tier": "Enterprise",
    "last_activity_ms": 1_767_225_600_000,
}
CONTACT: Person = {
    "id": "con-1",
    "kind": "contact",
    "email": "jane.doe@acme.com",
    "phone": "+442079460958",
    "first_name": "Jane",
    "last_name": "Doe",
    "company": "Acme Ltd",
    "account_id": "acc-1",
    "owner_id": "owner-01",
    "status": None,
}
LEAD: Person = {**CONTACT, "id": "lead-1", "kind": "lead", "account_id": None, "status": "working"}  # type: ignore[typeddict-item]
OPPORTUNITY: Opportunity = {
    "id": "opp-1",
    "account_id": "acc-1",
    "owner_id": None,
    "stage": "Proposal",
    "amount": 12500.5,
    "is_open": True,
    "close_date": "2026-03-31",
}
EXAMPLES: list[tuple[Any, Any]] = [
    ("account", ACCOUNT),
    ("contact", CONTACT),
    ("lead", LEAD),
    ("opportunity", OPPORTUNITY),
]
FILES = {
    "account": "CrmAccount",
    "contact": "CrmPerson",
    "lead": "CrmPerson",
    "opportunity": "CrmOpportunity",
}


def _file_schema(kind: str) -> Any:
    return fastavro.schema.load_schema(str(SCHEMA_DIR / f"leadroute.{FILES[kind]}.avsc"))


@pytest.mark.parametrize(
    ("kind", "model"), [("account", Account), ("contact", Person), ("opportunity", Opportunity)]
)
def test_each_schema_has_exactly_the_fields_of_its_record_type(kind: str, model: Any) -> None:
    document = json.loads((SCHEMA_DIR / f"leadroute.{FILES[kind]}.avsc").read_text())
    assert [f["name"] for f in document["fields"]] == list(get_type_hints(model))
    assert all(f.get("doc") for f in document["fields"]), "every field says what it holds"


@pytest.mark.parametrize(("kind", "record"), EXAMPLES)
def test_encode_then_decode_gives_the_record_back(kind: str, record: Any) -> None:
    key, value, headers = crm_events.encode(kind, record)
    assert key == record["id"].encode()
    assert value is not None
    assert crm_events.decode(kind, value, headers) == record
    # Any Avro reader with the schema file alone reads the same record.
    assert fastavro.schemaless_reader(io.BytesIO(value), _file_schema(kind)) == record
    assert fastavro.validation.validate(record, _file_schema(kind))


@pytest.mark.parametrize(("kind", "record"), EXAMPLES)
def test_headers_name_the_record_and_the_schema_version(kind: str, record: Any) -> None:
    _, _, headers = crm_events.encode(kind, record)
    assert dict(headers) == {
        "content-type": f"application/vnd.leadroute.{FILES[kind].lower()}+avro".encode(),
        "leadroute-schema": schemas.fingerprint(FILES[kind]).encode(),
    }


def test_a_record_with_every_optional_field_empty_round_trips() -> None:
    bare: Any = {field: None for field in get_type_hints(Account)}
    bare.update(id="acc-2", name="Beta", domains=[])
    _, value, headers = crm_events.encode("account", bare)
    assert crm_events.decode("account", value, headers) == bare


def test_a_tombstone_is_the_id_with_no_value_and_decodes_to_none() -> None:
    key, value, headers = crm_events.tombstone("contact", "con-1")
    assert (key, value) == (b"con-1", None)
    assert dict(headers)["content-type"] == b"application/vnd.leadroute.crmperson+avro"
    assert crm_events.decode("contact", None, headers) is None
    assert crm_events.decode("contact", None) is None


def test_the_person_kind_follows_from_the_topic() -> None:
    without_kind = {k: v for k, v in CONTACT.items() if k != "kind"}
    _, value, headers = crm_events.encode("lead", without_kind)
    assert crm_events.decode("lead", value, headers)["kind"] == "lead"
    with pytest.raises(ValueError, match="cannot be published as a lead"):
        crm_events.encode("lead", CONTACT)
    _, contact_value, contact_headers = crm_events.encode("contact", CONTACT)
    with pytest.raises(InvalidLead, match=r"publish it to crm\.contacts") as caught:
        crm_events.decode("lead", contact_value, contact_headers)
    assert caught.value.code == "schema_violation"
    assert crm_events.kind_for_topic("t1.crm.leads", "t1.") == "lead"
    assert crm_events.kind_for_topic("crm.opportunities") == "opportunity"
    with pytest.raises(ValueError, match="not a CRM topic"):
        crm_events.kind_for_topic("leads.raw")


@pytest.mark.parametrize(
    ("value", "headers", "code", "words"),
    [
        (b"\xff\xfe\x00garbage", None, "undecodable", "not an Avro CrmAccount record"),
        (b"", None, "undecodable", "publish a null value"),
        (b"{}", [("content-type", b"application/json")], "unsupported_content_type", "application/json"),
        (None, None, None, None),
    ],
)
def test_undecodable_values_raise_a_sentence(value: Any, headers: Any, code: Any, words: Any) -> None:
    if value is None:
        assert crm_events.decode("account", value, headers) is None
        return
    with pytest.raises(InvalidLead) as caught:
        crm_events.decode("account", value, headers)
    assert caught.value.code == code
    assert words in caught.value.message
    assert caught.value.message.endswith(".")


def test_a_record_of_another_schema_is_not_misread() -> None:
    _, opportunity, _ = crm_events.encode("opportunity", OPPORTUNITY)
    with pytest.raises(InvalidLead) as caught:
        crm_events.decode("account", opportunity)
    assert caught.value.code == "undecodable"
    _, account, headers = crm_events.encode("account", ACCOUNT)
    with pytest.raises(InvalidLead, match="bytes after"):
        crm_events.decode("account", account + b"\x00\x00")
    stale = [("leadroute-schema", b"0000000000000000"), *headers[:1]]
    with pytest.raises(InvalidLead) as mismatch:
        crm_events.decode("account", account, stale)
    assert mismatch.value.code == "schema_mismatch"


def test_encoding_refuses_records_without_an_id_or_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="non-empty id"):
        crm_events.encode("account", {**ACCOUNT, "id": ""})
    with pytest.raises(ValueError, match="does not fit its schema"):
        crm_events.encode("opportunity", {**OPPORTUNITY, "amount": "a lot"})
    with pytest.raises(ValueError, match="unknown CRM record kind"):
        crm_events.encode("deal", OPPORTUNITY)  # type: ignore[arg-type]
