"""feeds.dates: front-matter date values, time zones and file-name dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from feeds.dates import DateError, filename_date, parse_timezone, to_datetime

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
H8 = timedelta(hours=8)


# --- to_datetime: strings with an offset keep that offset ----------------------


@pytest.mark.parametrize(
    ("value", "expected_iso"),
    [
        ("2022-06-01 16:03:57 +0800", "2022-06-01T16:03:57+08:00"),
        ("2022-06-01T16:03:57+08:00", "2022-06-01T16:03:57+08:00"),
        ("2022-06-01 16:03:57 -0530", "2022-06-01T16:03:57-05:30"),
        ("2022-06-01T08:03:57Z", "2022-06-01T08:03:57+00:00"),
        ("2022-06-01T08:03:57UTC", "2022-06-01T08:03:57+00:00"),
        ("2022-06-01 08:03:57 GMT", "2022-06-01T08:03:57+00:00"),
        # ISO 8601's basic format
        ("20220601T160357+0800", "2022-06-01T16:03:57+08:00"),
        ("20220601T080357Z", "2022-06-01T08:03:57+00:00"),
        ("20220601T160357.25-05:30", "2022-06-01T16:03:57.250000-05:30"),
        ("20220601T1603 +0800", "2022-06-01T16:03:00+08:00"),
    ],
)
def test_string_with_offset_keeps_its_offset(value, expected_iso):
    # The site zone is deliberately different: the value's own offset wins.
    result = to_datetime(value, NEW_YORK)
    assert result.isoformat() == expected_iso


def test_plus_0800_offset_is_kept_not_converted():
    result = to_datetime("2022-06-01 16:03:57 +0800", timezone.utc)
    assert result.utcoffset() == H8
    assert result.isoformat().endswith("+08:00")
    assert (result.hour, result.minute, result.second) == (16, 3, 57)


def test_zulu_is_utc():
    result = to_datetime("2022-06-01T16:03:57Z", SHANGHAI)
    assert result.utcoffset() == timedelta(0)
    assert result == datetime(2022, 6, 1, 16, 3, 57, tzinfo=timezone.utc)


# --- to_datetime: naive values take the given zone -------------------------------


@pytest.mark.parametrize(
    ("value", "zone", "expected_iso"),
    [
        ("2022-06-01 16:03:57", SHANGHAI, "2022-06-01T16:03:57+08:00"),
        ("2022-06-01 16:03", SHANGHAI, "2022-06-01T16:03:00+08:00"),
        ("20220601T160357", SHANGHAI, "2022-06-01T16:03:57+08:00"),
        ("2022-07-01 12:00:00", NEW_YORK, "2022-07-01T12:00:00-04:00"),  # DST
        ("2022-01-15 12:00:00", NEW_YORK, "2022-01-15T12:00:00-05:00"),  # standard time
        (datetime(2022, 6, 1, 16, 3, 57), SHANGHAI, "2022-06-01T16:03:57+08:00"),
        (datetime(2022, 7, 4, 9, 30), NEW_YORK, "2022-07-04T09:30:00-04:00"),
    ],
)
def test_naive_value_takes_the_given_zone(value, zone, expected_iso):
    assert to_datetime(value, zone).isoformat() == expected_iso


@pytest.mark.parametrize(
    ("value", "zone", "expected_iso"),
    [
        (date(2022, 6, 1), SHANGHAI, "2022-06-01T00:00:00+08:00"),
        (date(2022, 7, 1), NEW_YORK, "2022-07-01T00:00:00-04:00"),
        ("2022-06-01", SHANGHAI, "2022-06-01T00:00:00+08:00"),
    ],
)
def test_date_only_is_midnight_in_the_zone(value, zone, expected_iso):
    assert to_datetime(value, zone).isoformat() == expected_iso


@pytest.mark.parametrize(
    "value",
    [
        # What PyYAML gives for "date: 2022-06-01 16:03:57 +08:00"
        datetime(2022, 6, 1, 16, 3, 57, tzinfo=timezone(H8)),
        # An aware datetime with a zone object rather than a fixed offset
        datetime(2022, 6, 1, 16, 3, 57, tzinfo=SHANGHAI),
    ],
)
def test_aware_datetime_keeps_its_offset(value):
    result = to_datetime(value, NEW_YORK)
    assert result.utcoffset() == H8
    assert result.isoformat() == "2022-06-01T16:03:57+08:00"
    assert result == value  # the same instant


# --- to_datetime: empty and bad values -------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "+0800", "+08:00", "Z"])
def test_empty_values_give_none(value):
    assert to_datetime(value, SHANGHAI) is None


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2022-13-45", "2022-02-30 10:00", "not a date 2022", 12345, 3.5, True, False, {"a": 1}, ["2022-06-01"]],
)
def test_garbage_raises_date_error(value):
    with pytest.raises(DateError):
        to_datetime(value, SHANGHAI)


@pytest.mark.parametrize(
    "value", ["2022-06-01 16:03:57 +0860", "2022-06-01 16:03:57 +08:60", "2022-06-01T16:03:57+0899", "June 1, 2022 4:03 pm -0575"]
)
def test_an_offset_with_sixty_minutes_or_more_is_refused_not_rolled_over(value):
    with pytest.raises(DateError, match="offset out of range"):
        to_datetime(value, SHANGHAI)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        # a trailing "-06" of a date is no offset, and a date needs its day
        ("2023-06", "no year, month and day"),
        ("2023-12", "no year, month and day"),
        ("June 2022", "no year, month and day"),
        ("05-01-2023", "order of day and month is ambiguous"),
        ("05/01/2023 10:00 +0800", "order of day and month is ambiguous"),
    ],
)
def test_partial_and_ambiguous_dates_are_refused_with_the_reason(value, why):
    with pytest.raises(DateError, match=why):
        to_datetime(value, SHANGHAI)


@pytest.mark.parametrize(
    ("value", "expected_iso"),
    [
        ("10:00 2023-01-05", "2023-01-05T10:00:00+08:00"),  # the "-05" is the day, not an offset
        ("-2023-01-05", "2023-01-05T00:00:00+08:00"),
        ("13-01-2023", "2023-01-13T00:00:00+08:00"),  # no month 13: the day comes first
        ("01/13/2023", "2023-01-13T00:00:00+08:00"),
        ("June 1, 2022 16:03 +0800", "2022-06-01T16:03:00+08:00"),
        ("June 1, 2022 4:03 pm -0500", "2022-06-01T16:03:00-05:00"),
        ("1 June 2022 16:03:57.5+08:00", "2022-06-01T16:03:57.500000+08:00"),
        ("Wed, 01 Jun 2022 16:03:57 +0800", "2022-06-01T16:03:57+08:00"),
        ("2022/06/01 16:03:57 -0300", "2022-06-01T16:03:57-03:00"),
        ("June 1, 2022 GMT", "2022-06-01T00:00:00+00:00"),
        ("2022年6月1日", "2022-06-01T00:00:00+08:00"),
        ("2022年06月01日 16:03:57 +0800", "2022-06-01T16:03:57+08:00"),
        ("2022 年 6 月 1 号 09:30", "2022-06-01T09:30:00+08:00"),
    ],
)
def test_other_written_dates_keep_their_day_and_offset(value, expected_iso):
    assert to_datetime(value, SHANGHAI).isoformat() == expected_iso


def test_date_error_is_a_value_error_with_a_message():
    with pytest.raises(ValueError, match="yesterday"):
        to_datetime("yesterday", SHANGHAI)


# --- parse_timezone ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "when", "offset"),
    [
        ("Asia/Shanghai", datetime(2022, 6, 1), H8),
        ("America/New_York", datetime(2022, 7, 1), timedelta(hours=-4)),
        ("America/New_York", datetime(2022, 1, 1), timedelta(hours=-5)),
        ("+0800", datetime(2022, 6, 1), H8),
        ("+08:00", datetime(2022, 6, 1), H8),
        ("-0530", datetime(2022, 6, 1), -timedelta(hours=5, minutes=30)),
        ("UTC", datetime(2022, 6, 1), timedelta(0)),
        (" UTC ", datetime(2022, 6, 1), timedelta(0)),
    ],
)
def test_parse_timezone(value, when, offset):
    zone = parse_timezone(value)
    assert zone.utcoffset(when.replace(tzinfo=zone)) == offset


@pytest.mark.parametrize(
    "value", ["Mars/Olympus_Mons", "Asia/Nowhere", "", "+2500", "+0860", "../etc/passwd", "not a zone", "localtime", "posixrules"]
)
def test_parse_timezone_rejects_bad_names(value):
    with pytest.raises(DateError):
        parse_timezone(value)


# --- filename_date -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("2021-12-08-202112082206734275", (date(2021, 12, 8), "202112082206734275")),
        ("2021-12-01-init", (date(2021, 12, 1), "init")),
        ("2021-1-5-short-form", (date(2021, 1, 5), "short-form")),
        ("-202205262391921712", (None, "-202205262391921712")),
        ("2021-02-30-x", (None, "2021-02-30-x")),  # no 30 February: not a date
        ("2021-12-08", (None, "2021-12-08")),  # no slug after the date
        ("about", (None, "about")),
    ],
)
def test_filename_date(stem, expected):
    assert filename_date(stem) == expected
