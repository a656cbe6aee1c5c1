"""Hostile messages for leads.raw: every kind of input a careless or malicious sender produces.

:func:`hostile_messages` cycles through :data:`KINDS` (plus random bytes) with a
fixed seed, mixing in valid leads, so a test can push thousands of them through
the stages and check that each one ends where it should. :data:`EXPECTED` says,
per kind, which outcomes are right: ``"routed"`` or a dead-letter code.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from functools import cache

from streams.serde import AvroCodec

Headers = list[tuple[str, bytes]]
Hostile = tuple[bytes | None, list[tuple[str, bytes]], str]

JSON: Headers = [("content-type", b"application/json")]
AVRO: Headers = [("content-type", b"application/avro")]

ROUTED = "routed"

#: Close to the 1 MB Kafka default, the largest message a producer could send.
NEAR_MEGABYTE = 1_000_000 - 2_000

_COUNTRIES = ("US", "DE", "GB", "FR", "JP", "BR", "AU", "IN", "IL", "EG")


def _json(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def _lead(rng: random.Random, **fields: object) -> dict[str, object]:
    """A plausible lead, with a random id so ledgers see distinct leads."""
    number = rng.randrange(10**9)
    lead: dict[str, object] = {
        "lead_id": f"h-{number}",
        "email": f"person{number}@example{number % 97}.com",
        "first_name": "Jane",
        "last_name": "Doe",
        "company": f"Acme {number % 13}",
        "country": rng.choice(_COUNTRIES),
        "employees": rng.choice(("10", "250", "5000", "51-200")),
        "source": "web form",
        "title": "VP Sales",
    }
    lead.update(fields)
    return {key: value for key, value in lead.items() if value is not None}


def _with_literal(rng: random.Random, field: str, literal: str) -> bytes:
    """A valid lead with one more field written as a bare JSON literal (json.dumps would not)."""
    return ('{"' + field + '":' + literal + "," + _json(_lead(rng)).decode()[1:]).encode()


def _nested(depth: int, opener: str = "[") -> str:
    closer = "]" if opener == "[" else "}"
    inner = '"x":' if opener == "{" else ""
    return (opener + inner) * depth + "1" + closer * depth


@cache
def _avro_lead(company: str) -> bytes:
    return AvroCodec("RawLead").encode({"email": "avro@example.com", "company": company})


@cache
def _near_megabyte(where: str) -> bytes:
    """One shared ~1 MB message per kind (built once: a list of thousands must fit in memory)."""
    blob = "x" * NEAR_MEGABYTE
    if where == "custom":
        return _json({"lead_id": "h-big-custom", "email": "big@example.com", "custom": {"blob": blob}})
    if where == "unknown":
        return _json({"lead_id": "h-big-field", "email": "big@example.com", "notes": blob, "utm": "spring"})
    return _json({"lead_id": "h-big-company", "email": "big@example.com", "company": blob})


def _valid(rng: random.Random) -> Hostile:
    return _json(_lead(rng)), JSON, "valid"


def _deep_json(rng: random.Random) -> Hostile:
    opener = rng.choice("[{")
    return ('{"email":"a@b.co","x":' + _nested(10_000, opener) + "}").encode(), JSON, "deep_json"


def _deep_top_level(rng: random.Random) -> Hostile:
    return ('{"a":' * 10_000 + "1" + "}" * 10_000).encode(), [], "deep_top_level"


def _deep_custom(rng: random.Random) -> Hostile:
    value = '{"email":"a@b.co","custom":{"x":' + _nested(5_000) + "}}"
    return value.encode(), JSON, "deep_custom"


def _surrogate_value(rng: random.Random) -> Hostile:
    field = rng.choice(("company", "first_name", "email", "lead_id", "title"))
    body = '{"email":"a@b.co","' + field + '":"Acme \\ud800"}'
    return body.encode(), JSON, "surrogate_value"


def _surrogate_key(rng: random.Random) -> Hostile:
    body = rng.choice(
        (
            '{"email":"a@b.co","\\udc00":"x"}',
            '{"email":"a@b.co","custom":{"\\ud83d":"x"}}',
            '{"email":"a@b.co","consent":{"\\ud800":true}}',
        )
    )
    return body.encode(), JSON, "surrogate_key"


def _surrogate_custom(rng: random.Random) -> Hostile:
    body = rng.choice(
        (
            '{"email":"a@b.co","custom":{"note":"half an emoji \\ud83d"}}',
            '{"email":"a@b.co","custom":{"nested":{"deep":["\\udfff"]}}}',
            '{"email":"a@b.co","utm_content":"\\ude00 alone"}',
        )
    )
    return body.encode(), JSON, "surrogate_custom"


def _cesu_bytes(rng: random.Random) -> Hostile:
    return b'{"email":"a@b.co","company":"Acme \xed\xa0\x80"}', rng.choice((JSON, [])), "cesu_bytes"


def _invalid_utf8(rng: random.Random) -> Hostile:
    """Bytes no UTF-8 decoder accepts: stray continuation bytes, overlong forms, cut sequences, 0xFF."""
    bad = rng.choice(
        (b"\xff\xfe", b"\xc0\xaf", b"\xe2\x82", b"\x80abc", b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80")
    )
    field = rng.choice((b"company", b"first_name", b"email", b"note"))
    if rng.random() < 0.3:
        return _avro_lead("XYZ").replace(b"XYZ", bad.ljust(3, b"x")[:3]), AVRO, "invalid_utf8"
    return b'{"email":"a@b.co","' + field + b'":"Acme ' + bad + b'"}', rng.choice((JSON, [])), "invalid_utf8"


def _avro_surrogate(rng: random.Random) -> Hostile:
    return _avro_lead("XYZ").replace(b"XYZ", b"\xed\xa0\x80"), AVRO, "avro_surrogate"


def _big_int(rng: random.Random) -> Hostile:
    field = rng.choice(("employees", "phone", "anything", "custom"))
    digits = "9" * rng.randrange(4_301, 6_000)
    if field == "custom":
        return ('{"email":"a@b.co","custom":{"n":' + digits + "}}").encode(), JSON, "big_int"
    return ('{"email":"a@b.co","' + field + '":' + digits + "}").encode(), JSON, "big_int"


def _long_int(rng: random.Random) -> Hostile:
    """Long but readable integers (up to the 4,300-digit limit), routed with the field unusable."""
    digits = "7" * rng.choice((20, 400, 4_300))
    field = rng.choice(("employees", "phone", "postal_code", "score"))
    return _with_literal(rng, field, digits), JSON, "long_int"


def _non_finite(rng: random.Random) -> Hostile:
    literal = rng.choice(("1e999", "-1e999", "NaN", "Infinity", "-Infinity", "1.7976931348623157e308"))
    field = rng.choice(("employees", "postal_code", "phone", "score"))
    return _with_literal(rng, field, literal), JSON, "non_finite"


def _non_finite_consent(rng: random.Random) -> Hostile:
    literal = rng.choice(("NaN", "Infinity", "1e999"))
    return ('{"email":"a@b.co","consent":{"email":' + literal + "}}").encode(), JSON, "non_finite_consent"


def _big_custom(rng: random.Random) -> Hostile:
    size = rng.choice((20_000, 100_000, 900_000))
    lead = _lead(rng, custom={"small": "kept", "blob": "y" * size, "after": "kept too"})
    return _json(lead), JSON, "big_custom"


def _big_unknown_field(rng: random.Random) -> Hostile:
    return _json(_lead(rng, transcript="z" * 900_000, utm_source="ads")), JSON, "big_unknown_field"


def _near_megabyte_custom(rng: random.Random) -> Hostile:
    return _near_megabyte(rng.choice(("custom", "unknown"))), JSON, "near_megabyte_custom"


def _near_megabyte_company(rng: random.Random) -> Hostile:
    return _near_megabyte("company"), JSON, "near_megabyte_company"


def _name_at_limit(rng: random.Random) -> Hostile:
    field = rng.choice(("first_name", "last_name", "company", "title"))
    return _json(_lead(rng, **{field: "a" * 10_000})), JSON, "name_at_limit"


def _name_over_limit(rng: random.Random) -> Hostile:
    field = rng.choice(("first_name", "last_name", "company"))
    length = rng.choice((10_001, 50_000))
    return _json(_lead(rng, **{field: "b" * length})), JSON, "name_over_limit"


def _avro_over_limit(rng: random.Random) -> Hostile:
    return _avro_lead("c" * 10_001), AVRO, "avro_over_limit"


def _control_chars(rng: random.Random) -> Hostile:
    noise = "".join(chr(rng.choice((0, 1, 7, 8, 11, 12, 27, 127, 0x85, 0x9F))) for _ in range(3))
    lead = _lead(
        rng,
        first_name=f"Ja{noise}ne",
        last_name=f"D\x00oe{noise}",
        company=f"Ac\x00me{noise} GmbH",
        title=f"VP\x1b[31m Sales{noise}",
        custom={f"no\x00te{noise}": f"v\x00{noise}"},
        consent={"em\x00ail": True},
    )
    return _json(lead), JSON, "control_chars"


def _nul_everywhere(rng: random.Random) -> Hostile:
    lead = _lead(
        rng, lead_id=f"h-\x00{rng.randrange(10**9)}", email="nul\x00@example.com", phone="+1 212\x00 555 0100"
    )
    return _json(lead), JSON, "nul_everywhere"


def _emoji_rtl(rng: random.Random) -> Hostile:
    lead = _lead(
        rng,
        first_name=rng.choice(("😀 Zoë", "محمد", "שרה", "👩🏽‍💻")),
        last_name=rng.choice(("الأحمد", "כהן", "Ñúñez 🇪🇸", "\u202egnirts desrever")),
        company=rng.choice(("شركة أكمي", 'אקמה בע"מ', "🚀 Rocket Inc.", "株式会社アクメ")),
        custom={"note": "🎉 مرحبا שלום", "flag": "🏳️‍🌈"},
    )
    return _json(lead), JSON, "emoji_rtl"


def _formula_company(rng: random.Random) -> Hostile:
    company = rng.choice(
        ('=HYPERLINK("http://x","click")', "+SUM(A1:A9)", "-2+3", "@cmd", "\t=1+1", '=cmd|" /C calc"!A0')
    )
    return (
        _json(_lead(rng, company=company, first_name="=1+1", custom={"note": "=A1"})),
        JSON,
        "formula_company",
    )


def _top_level_array(rng: random.Random) -> Hostile:
    return rng.choice((b"[]", b'[{"email":"a@b.co"}]', b"[1,2,3]")), rng.choice((JSON, [])), "top_level_array"


def _top_level_scalar(rng: random.Random) -> Hostile:
    return rng.choice((b'"lead"', b"42", b"true", b"null", b"1e999", b"NaN")), JSON, "top_level_scalar"


def _truncated_json(rng: random.Random) -> Hostile:
    whole = _json(_lead(rng))
    return whole[: rng.randrange(1, len(whole) - 1)], rng.choice((JSON, [])), "truncated_json"


def _truncated_avro(rng: random.Random) -> Hostile:
    whole = AvroCodec("RawLead").encode(
        {"email": "avro@example.com", "company": "Truncated Ltd", "custom": {"a": "b"}}
    )
    return whole[: rng.randrange(1, len(whole) - 1)], AVRO, "truncated_avro"


def _wrong_schema_avro(rng: random.Random) -> Hostile:
    record, value = rng.choice(
        (
            ("StageTrace", {"stage": "normalize", "at_ms": 5}),
            ("CrmOpportunity", {"id": "o1", "account_id": "a1", "stage": "won", "is_open": False}),
            ("Header", {"key": "k", "value": b"v"}),
            ("Owner", {"id": "ana.ruiz", "name": "Ana Ruiz", "email": "ana@example.com"}),
        )
    )
    return AvroCodec(record).encode(value), AVRO, "wrong_schema_avro"


def _valid_avro(rng: random.Random) -> Hostile:
    return _avro_lead(f"Avro Corp {rng.randrange(50)}"), AVRO, "valid_avro"


def _empty(rng: random.Random) -> Hostile:
    return rng.choice((None, b"")), rng.choice((JSON, [])), "empty"


def _random_bytes(rng: random.Random) -> Hostile:
    body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if rng.random() < 0.3:
        body = b"{" + body
    headers = rng.choice((JSON, AVRO, [], [("content-type", b"text/x-junk")]))
    return body, headers, "random_bytes"


Generator = Callable[[random.Random], Hostile]

#: Every kind, in the order hostile_messages cycles through them.
KINDS: dict[str, Generator] = {
    "valid": _valid,
    "deep_json": _deep_json,
    "deep_top_level": _deep_top_level,
    "deep_custom": _deep_custom,
    "surrogate_value": _surrogate_value,
    "surrogate_key": _surrogate_key,
    "surrogate_custom": _surrogate_custom,
    "cesu_bytes": _cesu_bytes,
    "invalid_utf8": _invalid_utf8,
    "avro_surrogate": _avro_surrogate,
    "big_int": _big_int,
    "long_int": _long_int,
    "non_finite": _non_finite,
    "non_finite_consent": _non_finite_consent,
    "big_custom": _big_custom,
    "big_unknown_field": _big_unknown_field,
    "near_megabyte_custom": _near_megabyte_custom,
    "near_megabyte_company": _near_megabyte_company,
    "name_at_limit": _name_at_limit,
    "name_over_limit": _name_over_limit,
    "avro_over_limit": _avro_over_limit,
    "control_chars": _control_chars,
    "nul_everywhere": _nul_everywhere,
    "emoji_rtl": _emoji_rtl,
    "formula_company": _formula_company,
    "top_level_array": _top_level_array,
    "top_level_scalar": _top_level_scalar,
    "truncated_json": _truncated_json,
    "truncated_avro": _truncated_avro,
    "wrong_schema_avro": _wrong_schema_avro,
    "valid_avro": _valid_avro,
    "empty": _empty,
    "random_bytes": _random_bytes,
}

#: The right outcomes per kind: routed, or dead-lettered with one of these codes.
EXPECTED: dict[str, frozenset[str]] = {
    "valid": frozenset({ROUTED}),
    "deep_json": frozenset({"undecodable"}),
    "deep_top_level": frozenset({"undecodable"}),
    "deep_custom": frozenset({"undecodable"}),
    "surrogate_value": frozenset({"undecodable"}),
    "surrogate_key": frozenset({"undecodable"}),
    "surrogate_custom": frozenset({"undecodable"}),
    "cesu_bytes": frozenset({"undecodable"}),
    "invalid_utf8": frozenset({"undecodable"}),
    "avro_surrogate": frozenset({"undecodable"}),
    "big_int": frozenset({"schema_violation"}),
    "long_int": frozenset({ROUTED}),
    "non_finite": frozenset({ROUTED}),
    "non_finite_consent": frozenset({"schema_violation"}),
    "big_custom": frozenset({ROUTED}),
    "big_unknown_field": frozenset({ROUTED}),
    "near_megabyte_custom": frozenset({ROUTED}),
    "near_megabyte_company": frozenset({"schema_violation"}),
    "name_at_limit": frozenset({ROUTED}),
    "name_over_limit": frozenset({"schema_violation"}),
    "avro_over_limit": frozenset({"schema_violation"}),
    "control_chars": frozenset({ROUTED}),
    "nul_everywhere": frozenset({ROUTED}),
    "emoji_rtl": frozenset({ROUTED}),
    "formula_company": frozenset({ROUTED}),
    "top_level_array": frozenset({"schema_violation"}),
    "top_level_scalar": frozenset({"schema_violation"}),
    "truncated_json": frozenset({"undecodable"}),
    "truncated_avro": frozenset({"undecodable"}),
    "wrong_schema_avro": frozenset({"undecodable", "schema_violation"}),
    "valid_avro": frozenset({ROUTED}),
    "empty": frozenset({"empty_message"}),
    "random_bytes": frozenset({ROUTED, "undecodable", "schema_violation", "unsupported_content_type"}),
}

#: Kinds whose lead keeps going with some custom fields dropped and the flag raised.
TRUNCATED_KINDS = frozenset({"big_custom", "big_unknown_field", "near_megabyte_custom"})


def hostile_messages(count: int, seed: int) -> list[Hostile]:
    """``count`` (value, headers, kind) triples cycling through every kind; the same for the same seed.

    Every third message is a valid lead, so a good share is routed and the
    later stages see hostile leads mixed with ordinary ones.
    """
    rng = random.Random(seed)
    generators = list(KINDS.values())
    messages: list[Hostile] = []
    for index in range(count):
        generate = _valid if index % 3 == 2 else generators[(index - index // 3) % len(generators)]
        messages.append(generate(rng))
    return messages
