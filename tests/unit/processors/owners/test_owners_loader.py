"""Owner files: every mistake refused with file:line and a fix; the forms people write accepted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from processors.config import ConfigError
from processors.owners.loader import compact_hours, parse_owners
from processors.owners.models import WEEKDAYS, owner_from_record, owner_to_record

GOOD = """\
owners:
  - id: u-001
    name: Ana Lima
    team: emea-smb
    time_zone: Europe/Berlin
    working_hours: {mon: ["09:00-12:00", "13:00-17:30"], tue: "09:00-17:30"}
    out_of_office:
      - {from: 2026-12-01, until: 2026-12-05}
    cap_per_hour: 10
    cap_per_day: 40
    skills: [german]
  - id: u-002
    time_zone: Asia/Tokyo
    working_hours: "mon-fri 09:00-18:00"
    status: away
    weight: 2
"""


def _error(text: str, source: str = "owners.yaml") -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_owners(text, source)
    return caught.value


def test_a_good_yaml_file_loads_every_field() -> None:
    ana, ken = parse_owners(GOOD, "owners.yaml")
    assert ana.working_hours == {"mon": ((540, 720), (780, 1050)), "tue": ((540, 1050),)}
    assert ana.out_of_office[0][0] == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # Berlin midnight
    assert ana.out_of_office[0][1] == datetime(2026, 12, 5, 23, 0, tzinfo=UTC)  # the end date is a whole day
    assert (ana.cap_per_hour, ana.cap_per_day, ana.skills) == (10, 40, ("german",))
    assert set(ken.working_hours or {}) == {"mon", "tue", "wed", "thu", "fri"}
    assert (ken.status, ken.weight, ken.cap_per_day) == ("away", 2.0, None)


def test_a_mapping_of_id_to_fields_is_accepted() -> None:
    (owner,) = parse_owners("u-9:\n  time_zone: UTC\n", "o.yaml")
    assert owner.id == "u-9" and owner.working_hours is None  # no hours = always working


def test_the_record_form_round_trips() -> None:
    for owner in parse_owners(GOOD, "owners.yaml"):
        assert owner_from_record(owner_to_record(owner)) == owner


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("- id: a\n  time_zone: Europe/Berln\n", 2, "unknown time zone 'Europe/Berln'; use an IANA name"),
        ("- id: a\n  working_hours: 'mon-fri 17:00-09:00'\n", 2, "overnight shift is two ranges"),
        ("- id: a\n  working_hours: {mon: ['09:00-12:00', '11:00-13:00']}\n", 2, "overlap; merge them"),
        ("- id: a\n  working_hours: {mon: ['9-5']}\n", 2, "write HH:MM"),
        ("- id: a\n  working_hours: 'mo-fr 09:00-17:00'\n", 2, "unknown weekday 'mo'"),
        ("- id: a\n  status: gone\n", 2, "unknown status 'gone'; use one of available, away, offline"),
        ("- id: a\n  cap_per_day: -1\n", 2, "cannot be negative"),
        ("- id: a\n  cap_per_hour: lots\n", 2, "whole number"),
        ("- id: a\n  out_of_office: ['2026-12-05/2026-12-01']\n", 2, "ends before it starts"),
        (
            "- id: a\n  out_of_office:\n    - 2026-12-01/2026-12-05\n    - 2026-12-04/2026-12-08\n",
            2,
            "overlap; merge them",
        ),
        ("- id: a\n- id: b\n- id: a\n", 3, "'a' is given twice (first at line 1)"),
        ("- id: a\n  colour: red\n", 2, "unknown field 'colour'"),
        ("- name: nobody\n", 1, "needs an id"),
        ("- id: a\n  weight: 0\n", 1, "weight must be a number > 0"),
    ],
)
def test_a_bad_yaml_file_is_refused_with_line_and_fix(text: str, line: int, words: str) -> None:
    error = _error(text)
    assert (error.source, error.line) == ("owners.yaml", line), str(error)
    assert words in error.reason


def test_a_csv_file_with_compact_hours_loads() -> None:
    text = (
        "id,name,time_zone,working_hours,out_of_office,cap_per_day,skills,languages\n"
        "u1,Ana,Europe/Berlin,mon-thu 09:00-17:00; fri 09:00-13:00,2026-12-01/2026-12-02,"
        "30,german;enterprise,de\n"
        "u2,Ken,Asia/Tokyo,,,,,\n"
    )
    ana, ken = parse_owners(text, "owners.csv")
    assert ana.working_hours is not None and ana.working_hours["fri"] == ((540, 780),)
    assert ana.skills == ("german", "enterprise") and ana.languages == ("de",) and ana.cap_per_day == 30
    assert ken.working_hours is None and ken.cap_per_day is None


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name\nAna\n", 1, "needs an 'id' column"),
        ("id,colour\nu1,red\n", 1, "unknown column 'colour'"),
        ("id,time_zone\nu1,UTC\nu2,Mars/Base\n", 3, "unknown time zone"),
        ("id,status\nu1,on holiday\n", 2, "unknown status"),
        ("id\nu1\nu1\n", 3, "given twice (first at line 2)"),
        ("id,cap_per_hour\nu1,-3\n", 2, "cannot be negative"),
    ],
)
def test_a_bad_csv_file_is_refused_with_line(text: str, line: int, words: str) -> None:
    error = _error(text, "owners.csv")
    assert error.line == line and words in error.reason, str(error)


def test_day_ranges_may_wrap_the_week() -> None:
    hours = compact_hours("sun-tue 09:00-17:00; fri-sat 10:00-12:00")
    assert hours is not None
    assert sorted(hours, key=WEEKDAYS.index) == ["mon", "tue", "fri", "sat", "sun"]
    assert hours["sun"] == hours["mon"] == hours["tue"] == ((540, 1020),)
    assert compact_hours("sat-fri 09:00-10:00") == dict.fromkeys(WEEKDAYS, ((540, 600),))
    assert compact_hours("wed-wed 09:00-10:00") == {"wed": ((540, 600),)}


def test_spaces_in_the_day_list_read_as_written() -> None:
    assert compact_hours("mon, wed 09:00-17:00") == {"mon": ((540, 1020),), "wed": ((540, 1020),)}
    assert compact_hours("mon - tue 09:00-12:00, 13:00-17:00") == dict.fromkeys(
        ("mon", "tue"), ((540, 720), (780, 1020))
    )


def test_compact_hours_forms() -> None:
    assert compact_hours("") is None and compact_hours("always") is None
    hours = compact_hours("mon,wed 09:00-12:00,13:00-17:00; sat 10:00-24:00")
    assert hours == {
        "mon": ((540, 720), (780, 1020)),
        "wed": ((540, 720), (780, 1020)),
        "sat": ((600, 1440),),
    }
