"""Availability in the owner's own time zone, on a frozen clock: DST days, far-apart zones, boundaries."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from processors.owners.availability import availability, candidate_for, unknown_candidate
from processors.owners.loader import compact_hours
from processors.owners.models import Owner


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, zone: str = "UTC") -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def owner(zone: str = "Europe/Berlin", hours: str = "mon-fri 09:00-17:30", **fields: object) -> Owner:
    return Owner(id="u1", time_zone=zone, working_hours=compact_hours(hours), **fields)  # type: ignore[arg-type]


def test_outside_working_hours_names_the_local_time_and_the_hours() -> None:
    seen = availability(owner(), ms(2026, 11, 25, 18, 5, "Europe/Berlin"))  # a Wednesday
    assert seen.skip == "outside working hours (Wed 18:05 Europe/Berlin; works 09:00-17:30)"
    assert (seen.hour_bucket, seen.day_bucket, seen.week_bucket) == (
        "2026-11-25T18",
        "2026-11-25",
        "2026-W48",
    )


def test_working_hours_start_inclusive_end_exclusive() -> None:
    berlin = owner()
    assert availability(berlin, ms(2026, 11, 25, 8, 59, "Europe/Berlin")).skip is not None
    assert availability(berlin, ms(2026, 11, 25, 9, 0, "Europe/Berlin")).skip is None
    assert availability(berlin, ms(2026, 11, 25, 17, 29, "Europe/Berlin")).skip is None
    assert availability(berlin, ms(2026, 11, 25, 17, 30, "Europe/Berlin")).skip is not None
    assert "not working on Sat" in (availability(berlin, ms(2026, 11, 28, 10, 0, "Europe/Berlin")).skip or "")


def test_tokyo_and_los_angeles_at_the_same_instant() -> None:
    instant = ms(2026, 11, 25, 1, 0)  # Wed 10:00 in Tokyo, Tue 17:00 in Los Angeles
    tokyo = availability(owner("Asia/Tokyo", "mon-fri 09:00-18:00"), instant)
    la = availability(owner("America/Los_Angeles", "mon-fri 09:00-17:00"), instant)
    assert tokyo.skip is None and tokyo.day_bucket == "2026-11-25" and tokyo.hour_bucket == "2026-11-25T10"
    assert la.skip == "outside working hours (Tue 17:00 America/Los_Angeles; works 09:00-17:00)"
    assert la.day_bucket == "2026-11-24"


def test_day_bucket_turns_at_the_owners_midnight() -> None:
    tokyo = owner("Asia/Tokyo", "")
    assert availability(tokyo, ms(2026, 11, 25, 14, 59)).day_bucket == "2026-11-25"  # 23:59 Tokyo
    assert availability(tokyo, ms(2026, 11, 25, 15, 0)).day_bucket == "2026-11-26"  # 00:00 Tokyo
    la = owner("America/Los_Angeles", "")
    assert availability(la, ms(2026, 11, 26, 7, 59)).day_bucket == "2026-11-25"
    assert availability(la, ms(2026, 11, 26, 8, 0)).day_bucket == "2026-11-26"


def test_iso_week_turns_on_local_monday() -> None:
    tokyo = owner("Asia/Tokyo", "")
    assert availability(tokyo, ms(2026, 11, 29, 14, 59)).week_bucket == "2026-W48"  # Sun 23:59 Tokyo
    assert availability(tokyo, ms(2026, 11, 29, 15, 0)).week_bucket == "2026-W49"  # Mon 00:00 Tokyo


def test_spring_forward_day_keeps_local_hours() -> None:
    # 29 March 2026: Berlin jumps 02:00 → 03:00. 09:00 local is 07:00 UTC (was 08:00 UTC the day before).
    berlin = owner(hours="mon-sun 09:00-17:00")
    assert availability(berlin, ms(2026, 3, 29, 6, 59)).skip is not None
    assert availability(berlin, ms(2026, 3, 29, 7, 0)).skip is None
    assert availability(berlin, ms(2026, 3, 28, 7, 59)).skip is not None
    assert availability(berlin, ms(2026, 3, 28, 8, 0)).skip is None
    assert availability(berlin, ms(2026, 3, 29, 1, 0)).hour_bucket == "2026-03-29T03"  # 02:xx never exists


def test_fall_back_repeated_hour_shares_one_bucket() -> None:
    # 25 October 2026: Berlin goes 03:00 → 02:00; 02:30 happens at 00:30 and 01:30 UTC.
    berlin = owner(hours="")
    first = availability(berlin, ms(2026, 10, 25, 0, 30))
    second = availability(berlin, ms(2026, 10, 25, 1, 30))
    assert first.hour_bucket == second.hour_bucket == "2026-10-25T02"


def test_status_comes_before_out_of_office_and_hours() -> None:
    at = ms(2026, 11, 25, 3, 0)
    assert availability(owner(status="offline"), at).skip == "offline"
    assert availability(owner(status="away"), at).skip == "status away"


def test_out_of_office_boundaries_and_the_end_in_local_time() -> None:
    start, end = datetime(2026, 12, 1, 8, 0, tzinfo=UTC), datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    away = owner(hours="", out_of_office=((start, end),))
    assert availability(away, ms(2026, 12, 1, 7, 59)).skip is None
    assert (
        availability(away, ms(2026, 12, 1, 8, 0)).skip == "out of office until 2026-12-04 09:00 Europe/Berlin"
    )
    assert availability(away, ms(2026, 12, 4, 7, 59)).skip is not None
    assert availability(away, ms(2026, 12, 4, 8, 0)).skip is None


def test_back_to_back_absences_report_the_final_return() -> None:
    first = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC))
    second = (datetime(2026, 12, 3, tzinfo=UTC), datetime(2026, 12, 7, tzinfo=UTC))
    away = owner("UTC", "", out_of_office=(first, second))
    assert availability(away, ms(2026, 12, 2)).skip == "out of office until 2026-12-07 00:00 UTC"


def test_candidate_for_carries_caps_buckets_weight_and_missing_skill() -> None:
    rep = owner(
        "UTC", "", cap_per_hour=5, cap_per_day=20, weight=2.0, skills=("enterprise",), languages=("German",)
    )
    at = ms(2026, 11, 25, 10, 0)
    ok = candidate_for(rep, 1.5, at, ("german", "Enterprise"))
    assert ok.skip is None and ok.weight == 3.0 and (ok.cap_hour, ok.cap_day) == (5, 20)
    assert (ok.hour_bucket, ok.day_bucket, ok.week_bucket) == ("2026-11-25T10", "2026-11-25", "2026-W48")
    assert candidate_for(rep, 1.0, at, ("french",)).skip == "missing skill french"
    assert candidate_for(owner("UTC", "", status="away"), 1.0, at, ("french",)).skip == "status away"
    assert unknown_candidate("ghost").skip == "unknown owner"
