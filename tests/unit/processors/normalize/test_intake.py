from __future__ import annotations

import pytest

from processors.errors import InvalidLead
from processors.intake import (
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    TEXT_FIELDS,
    capped_custom,
    complete_raw_lead,
    parse_json,
    raw_lead_from_json,
)
from processors.normalize import normalize_lead


def test_every_contract_field_is_present_and_unknown_fields_go_to_custom() -> None:
    raw = raw_lead_from_json({"email": "a@b.co", "utm_source": "google", "score": {"x": 1}})
    assert set(TEXT_FIELDS) <= set(raw)
    assert raw["email"] == "a@b.co"
    assert raw["custom"] == {"utm_source": "google", "score": '{"x": 1}'}


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("firstName", "first_name"),
        ("First Name", "first_name"),
        ("LastName", "last_name"),
        ("surname", "last_name"),
        ("Email Address", "email"),
        ("phone_number", "phone"),
        ("Company Name", "company"),
        ("jobTitle", "title"),
        ("zip", "postal_code"),
        ("Postcode", "postal_code"),
        ("NumberOfEmployees", "employees"),
        ("LeadSource", "source"),
        ("created_at", "submitted_at"),
        ("country-code", "country"),
        ("State/Province", "state"),
    ],
)
def test_common_field_spellings_are_recognised(key: str, field: str) -> None:
    assert raw_lead_from_json({key: "x", "email": "e@x.io"})[field] == "x"  # type: ignore[literal-required]


def test_numbers_and_booleans_become_text() -> None:
    raw = raw_lead_from_json(
        {"employees": 250, "phone": 4915112345678, "email": "a@b.c", "postal_code": 2000.5}
    )
    assert (raw["employees"], raw["phone"], raw["postal_code"]) == ("250", "4915112345678", "2000.5")


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("yes", True), ("opt-in", True), (0, False), ("no", False)]
)
def test_consent_flags_accept_the_usual_spellings(value: object, expected: bool) -> None:
    assert raw_lead_from_json({"email": "a@b.c", "consent": {"email": value}})["consent"] == {
        "email": expected
    }


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ([1, 2], "must be a JSON object"),
        ("lead", "must be a JSON object"),
        ({"email": {"work": "a@b.c"}}, "'email' must be text"),
        ({"email": ["a@b.c"]}, "'email' must be text"),
        ({"email": "a@b.c", "consent": {"email": "maybe"}}, "Consent flag 'email'"),
        ({"email": "a@b.c", "custom": "x"}, "'custom' must be an object"),
        ({"source": "web", "title": "CEO"}, "no email, phone, name or company"),
        ({"email": "   "}, "no email, phone, name or company"),
        ({"email": "x" * 10_001}, "limit is 10000"),
    ],
)
def test_what_cannot_be_a_lead_is_refused_with_a_reason(document: object, fragment: str) -> None:
    with pytest.raises(InvalidLead) as caught:
        raw_lead_from_json(document)
    assert caught.value.code == "schema_violation"
    assert fragment in caught.value.message


def test_a_known_field_wins_over_a_later_alias() -> None:
    raw = raw_lead_from_json({"email": "first@x.io", "Email Address": "second@x.io"})
    assert raw["email"] == "first@x.io"
    assert raw["custom"] == {"Email Address": "second@x.io"}


def test_unknown_dead_letter_codes_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        InvalidLead("made_up", "x")


# --- hostile input: the sender's data problem, with a code and a sentence ---------------------


def _refused(data: bytes | str) -> InvalidLead:
    with pytest.raises(InvalidLead) as caught:
        raw_lead_from_json(parse_json(data))
    return caught.value


@pytest.mark.parametrize(
    "body",
    [
        '{"a":' * 10_000 + "1" + "}" * 10_000,
        "[" * 10_000 + "]" * 10_000,
        '{"email":"a@b.co","custom":{"x":' + "[" * 5_000 + "]" * 5_000 + "}}",
    ],
)
def test_json_nested_thousands_deep_is_undecodable_without_recursing(body: str) -> None:
    error = _refused(body.encode())
    assert error.code == "undecodable"
    assert f"more than {MAX_JSON_DEPTH} levels deep" in error.message


def test_nesting_up_to_the_limit_is_kept_and_brackets_inside_text_do_not_count() -> None:
    inner = "[" * (MAX_JSON_DEPTH - 2) + "]" * (MAX_JSON_DEPTH - 2)
    raw = raw_lead_from_json(parse_json('{"email":"a@b.co","custom":{"x":' + inner + "}}"))
    assert raw["custom"]["x"].count("[") == MAX_JSON_DEPTH - 2
    brackets = '{"email":"a@b.co","note":"' + "[{" * 5_000 + '\\"[["}'
    assert raw_lead_from_json(parse_json(brackets))["custom"]["note"].startswith("[{[{")
    one_more = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    assert _refused('{"email":"a@b.co","custom":{"x":' + one_more + "}}").code == "undecodable"


def test_a_deep_custom_value_built_by_a_caller_is_refused_not_a_recursion_error() -> None:
    value: list[object] = []
    for _ in range(5_000):
        value = [value]
    with pytest.raises(InvalidLead) as caught:
        raw_lead_from_json({"email": "a@b.co", "custom": {"x": value}})
    assert caught.value.code == "schema_violation"


@pytest.mark.parametrize(
    "body",
    [
        '{"email":"a@b.co","employees":' + "9" * 4_301 + "}",
        '{"email":"a@b.co","score":-' + "1" * 5_000 + "}",
        '{"email":"a@b.co","custom":{"n":[' + "2" * 9_000 + "]}}",
    ],
)
def test_an_integer_beyond_4300_digits_is_a_schema_violation(body: str) -> None:
    error = _refused(body.encode())
    assert error.code == "schema_violation"
    assert "digits long" in error.message and "as text" in error.message


def test_an_integer_of_4300_digits_is_read() -> None:
    raw = raw_lead_from_json(parse_json('{"email":"a@b.co","score":' + "9" * MAX_INT_DIGITS + "}"))
    assert raw["custom"]["score"] == "9" * MAX_INT_DIGITS


def test_non_finite_numbers_are_kept_as_the_text_sent() -> None:
    raw = raw_lead_from_json(
        parse_json(
            '{"email":"a@b.co","employees":1e999,"postal_code":NaN,"phone":-Infinity,'
            '"score":Infinity,"big":1.7976931348623157e308}'
        )
    )
    assert (raw["employees"], raw["postal_code"], raw["phone"]) == ("1e999", "NaN", "-Infinity")
    assert raw["custom"] == {"score": "Infinity", "big": "1.7976931348623157e+308"}
    lead = normalize_lead(raw)
    assert lead["employees_min"] is None and "employees_invalid" in lead["flags"]
    assert lead["postal_code"] is None  # "NaN" is a placeholder, like "N/A"


def test_a_non_finite_consent_flag_is_a_schema_violation() -> None:
    error = _refused('{"email":"a@b.co","consent":{"email":NaN}}')
    assert (error.code, "true or false" in error.message) == ("schema_violation", True)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"email":"a@b.co","company":"Acme \\ud800"}', "Field 'company'"),
        ('{"email":"a@b.co","lead_id":"\\udfff"}', "Field 'lead_id'"),
        ('{"email":"a@b.co","\\ud800":"x"}', "name of custom field"),
        ('{"email":"a@b.co","custom":{"\\ud83d":"x"}}', "name of custom field"),
        ('{"email":"a@b.co","custom":{"x":{"y":["\\ud83d"]}}}', "Custom field 'x'"),
        ('{"email":"a@b.co","utm":"\\ude00"}', "Custom field 'utm'"),
        ('{"email":"a@b.co","consent":{"\\ud800":true}}', "name of consent flag"),
    ],
)
def test_a_lone_surrogate_anywhere_is_undecodable(body: str, where: str) -> None:
    error = _refused(body.encode())
    assert error.code == "undecodable"
    assert where in error.message and "lone UTF-16 surrogate" in error.message


def test_a_surrogate_pair_escape_is_an_emoji() -> None:
    assert raw_lead_from_json(parse_json(b'{"company":"\\ud83d\\ude80 Rocket"}'))["company"] == "🚀 Rocket"


def test_surrogates_encoded_as_utf8_bytes_are_undecodable() -> None:
    error = _refused(b'{"email":"a@b.co","company":"Acme \xed\xa0\x80"}')
    assert error.code == "undecodable"
    assert "not valid UTF-8" in error.message


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"email":"a@b.co","comp', "undecodable"),
        (b"[1, 2]", "schema_violation"),
        (b"42", "schema_violation"),
    ],
)
def test_truncated_json_and_non_objects_are_refused(body: bytes, code: str) -> None:
    assert _refused(body).code == code


def test_every_path_refuses_over_long_fields_and_broken_text_not_only_json() -> None:
    """complete_raw_lead is where Avro decodes end too."""
    with pytest.raises(InvalidLead, match="limit is 10000"):
        complete_raw_lead({"company": "c" * 10_001})
    assert complete_raw_lead({"company": "c" * 10_000})["company"] == "c" * 10_000
    with pytest.raises(InvalidLead, match="surrogate"):
        complete_raw_lead({"email": "a@b.co", "custom": {"k": "\udc80"}})
    with pytest.raises(InvalidLead, match="extra fields"):
        complete_raw_lead({"email": "a@b.co", "custom": {str(n): "v" for n in range(201)}})


def test_custom_fields_beyond_the_cap_are_dropped_whole_in_the_senders_order() -> None:
    custom = {"a": "1234", "blob": "x" * 100, "b": "5678", "é": "ü"}
    kept, dropped = capped_custom(custom, 14)
    assert kept == {"a": "1234", "b": "5678", "é": "ü"}  # 5 + 5 + 4 bytes: é and ü are 2 each
    assert dropped == ["blob"]
    assert capped_custom(custom, 13) == ({"a": "1234", "b": "5678"}, ["blob", "é"])
    assert capped_custom(custom, 10_000) == (custom, [])
    assert capped_custom(custom, 0) == ({}, ["a", "blob", "b", "é"])
