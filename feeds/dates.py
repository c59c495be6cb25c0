"""Pure date helpers: Jekyll-style front-matter dates to aware datetimes."""

from __future__ import annotations

import re
import warnings
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The common forms, parsed without dateutil: "2022-06-01 16:03:57 +0800",
# "2022-06-01T16:03:57+08:00", "2022-06-01 16:03", "2022-06-01", "...Z".
_FAST = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:[Tt]|\s+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(?:([Zz]|UTC|GMT)|(?:UTC|GMT)?([+-])(\d{2})(?::?(\d{2}))?)?"
)
# ISO 8601's basic format, "20240105T100000+0800" (the same groups as _FAST)
_BASIC = re.compile(
    r"(\d{4})(\d{2})(\d{2})[Tt](\d{2})(\d{2})(?:(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(?:([Zz]|UTC|GMT)|(?:UTC|GMT)?([+-])(\d{2})(?::?(\d{2}))?)?"
)
# The scraper's own form, "2022-06-01 16:03:57 +0800": most dates, so it has a
# shortcut of its own (a case of _FAST; a test checks both give the same).
_SCRAPER = re.compile(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
# RFC 2822, as feeds and some generators write dates: "Sun, 02 Nov 2025 01:46:58 +0800".
# dateutil reads these too, fifteen times slower: a shortcut that gives the same
# (a test checks); the weekday is not checked, as dateutil does not.
_RFC2822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s*)?(\d{1,2})\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{4})"
    r"\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s+(Z|UTC|GMT)|\s*([+-])(\d{2}):?(\d{2}))?"
)
_MONTHS = {name: number for number, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_HAS_YEAR = re.compile(r"\d{4}")
# "2022年6月1日 16:03", as Chinese sites write dates: read as "2022-6-1 16:03"
_CJK_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]\s*")
_TRAILING_OFFSET = re.compile(r"\s*(?:\b(UTC|GMT|Z)|(\bUTC|\bGMT)?([+-])(\d{1,2}):?(\d{2})?)\s*$", re.I)
# What an offset may follow with no space between: a time of day, "am"/"pm"
# (not a date: "2023-06" is no "-06:00")
_BEFORE_OFFSET = re.compile(r"(?:\d:\d\d(?::\d\d(?:[.,]\d+)?)?|[ap]\.?m\.?)\Z", re.I)
# 05/01/2023: the first of May or the fifth of January?
_DAY_MONTH = re.compile(r"\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*\d{2,4}\b")
_NO_DATE = re.compile(r"(?:[+-]\d{2}:?\d{2}|Z|UTC|GMT)?", re.I)


class DateError(ValueError):
    """A date value that cannot be read; the message says why."""


@lru_cache(maxsize=256)  # a site writes a handful of offsets, thousands of times
def _offset(sign: str, hours: str, minutes: str | None) -> timezone:
    """A fixed offset from its written parts ("+", "08", "00"); under 24 hours, minutes under 60."""
    whole_minutes = int(minutes or 0)
    delta = timedelta(hours=int(hours), minutes=whole_minutes)
    if delta >= timedelta(hours=24) or whole_minutes >= 60:  # ("+0860" is no 09:00 in disguise)
        raise DateError(f"time zone offset out of range: {sign}{hours}{minutes or ''}")
    if not delta:
        return timezone.utc
    return timezone(-delta if sign == "-" else delta)


def parse_timezone(value: str) -> tzinfo:
    """An IANA zone name ("Asia/Shanghai"), "UTC", or a fixed offset ("+0800", "+08:00")."""
    text = value.strip()
    match = re.fullmatch(r"(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?", text)
    if match:
        return _offset(*match.groups())
    if text.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    if text.lower() in ("localtime", "posixrules", "factory"):
        # the machine's own zone (a link to /etc/localtime): output would depend on where it runs
        raise DateError(f"time zone {value!r} is the machine's own; name a zone such as Asia/Shanghai")
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DateError(f"unknown time zone {value!r}") from exc


# The longest date text read: "Wednesday, 1 June 2022 16:03:57.123456789 +08:00" is 48.
MAX_DATE_LENGTH = 100
MIN_YEAR, MAX_YEAR = 1000, 9999  # what RFC 822 and RFC 3339 dates can be written as


def fixed(dt: datetime) -> datetime:
    """The same instant with a fixed-offset tzinfo (cheap to compare, pickle, print).

    Raises DateError for a date outside the years feeds can be written for.
    An offset with seconds (local mean time, e.g. Asia/Shanghai before 1901
    is +08:05:43) cannot be written in a feed: such a date is given in UTC.
    """
    offset = dt.utcoffset()
    if offset is None:
        raise DateError("naive datetime")
    if MIN_YEAR < dt.year < MAX_YEAR and not (offset.seconds % 60 or offset.microseconds):
        # the usual case, without the round trip through UTC: whole minutes, and
        # a year that stays in range in UTC too (offsets are under a day)
        return dt.replace(tzinfo=_fixed_zone(offset), fold=0)
    try:
        utc = dt.astimezone(timezone.utc)
    except OverflowError as exc:
        raise DateError(f"date out of range: {dt.isoformat()}") from exc
    if offset % timedelta(minutes=1):
        dt = utc
        offset = timedelta(0)
    if not (MIN_YEAR <= dt.year <= MAX_YEAR and MIN_YEAR <= utc.year <= MAX_YEAR):
        raise DateError(f"date out of range (years {MIN_YEAR}-{MAX_YEAR}): {dt.isoformat()}")
    return dt.replace(tzinfo=_fixed_zone(offset), fold=0)


@lru_cache(maxsize=256)  # a site's posts share a handful of offsets
def _fixed_zone(offset: timedelta) -> timezone:
    return timezone(offset) if offset else timezone.utc


def localize(naive: datetime, zone: tzinfo) -> datetime:
    """Give a naive wall-clock time the site's zone."""
    try:
        return fixed(naive.replace(tzinfo=zone))
    except OverflowError as exc:
        raise DateError(f"date out of range: {naive.isoformat()}") from exc


def to_datetime(value: object, zone: tzinfo) -> datetime | None:
    """A front-matter date value to an aware datetime in its own offset.

    Returns None for an empty value (null, "", a bare offset such as "+0800");
    raises DateError for a value that is not a date.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return localize(value, zone) if value.tzinfo is None else fixed(value)
    if isinstance(value, date):
        return localize(datetime.combine(value, time()), zone)
    if isinstance(value, bool) or not isinstance(value, str):
        raise DateError(f"date is a {type(value).__name__}, not a date")
    scraped = _SCRAPER.fullmatch(value)
    if scraped is not None:  # what _from_match gives, in fewer steps
        year, month, day, hour, minute, second, sign, off_h, off_m = scraped.groups()
        try:
            aware = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second),
                tzinfo=_offset(sign, off_h, off_m),
            )
        except ValueError:
            aware = None  # the general way says what is wrong
        if aware is not None and MIN_YEAR < aware.year < MAX_YEAR:
            return aware
    text = value.strip()
    if len(text) > MAX_DATE_LENGTH:  # (the patterns below, and dateutil, are not all linear in it)
        raise DateError(f"cannot read date {text[:60]!r}…: {len(text)} characters long")
    if _NO_DATE.fullmatch(text):
        return None  # "" or "date:  +0800": the scraper wrote an offset and no date
    if not _HAS_YEAR.search(text):
        raise DateError(f"cannot read date {text[:60]!r}")
    match = _FAST.fullmatch(text) or _BASIC.fullmatch(text)
    if match is None and "年" in text:
        match = _FAST.fullmatch(_CJK_DATE.sub(r"\1-\2-\3 ", text, count=1).strip())
    try:
        if match:
            return _from_match(match, zone)
        if (rfc := _RFC2822.fullmatch(text)) is not None:
            return _from_rfc2822(rfc, zone)
        parsed = _dateutil_parse(text)
    except (ValueError, ArithmeticError) as exc:  # (OverflowError; from dateutil, decimal.InvalidOperation too)
        why = exc if isinstance(exc, (ValueError, OverflowError)) else "numbers out of range"
        raise DateError(f"cannot read date {text[:60]!r}: {why}") from exc
    if parsed.tzinfo is None:
        return localize(parsed, zone)
    return fixed(parsed)


def _dateutil_parse(text: str) -> datetime:
    """The uncommon forms ("June 1, 2022 16:03 +0800"), never depending on the machine.

    The offset is read here; dateutil reads only the rest. (dateutil maps a
    zone name, or even "+0000", that matches the machine's own zone to "local
    time", and warns about names it does not know: either would make the
    output depend on where it runs, so zone names are refused.)
    """
    from dateutil import parser as dateutil_parser

    offset: timezone | None = None
    match = _TRAILING_OFFSET.search(text)
    if match:
        zulu, named, sign, hours, minutes = match.groups()
        # (the match starts with the spaces before the offset, if any)
        if zulu or named or text[match.start()].isspace() or _BEFORE_OFFSET.search(text, 0, match.start()):
            offset = timezone.utc if zulu else _offset(sign, hours, minutes)
            text = text[: match.start()]
    day_month = _DAY_MONTH.match(text)
    if day_month and len({*day_month.groups()}) == 2 and all(0 < int(n) <= 12 for n in day_month.groups()):
        raise ValueError("the order of day and month is ambiguous; write YYYY-MM-DD")
    with warnings.catch_warnings():
        warnings.simplefilter("error", dateutil_parser.UnknownTimezoneWarning)
        try:
            parsed = dateutil_parser.parse(text, default=datetime(1, 1, 1))
            # what the text does not say comes from the default: a second one tells which
            other = dateutil_parser.parse(text, default=datetime(2, 2, 2))
        except dateutil_parser.UnknownTimezoneWarning as exc:
            raise ValueError("unknown time zone name; write an offset such as +0800") from exc
    if (parsed.year, parsed.month, parsed.day) != (other.year, other.month, other.day):
        raise ValueError("no year, month and day")
    if parsed.tzinfo is not None:
        raise ValueError("time zone names are ambiguous; write an offset such as +0800")
    return parsed if offset is None else parsed.replace(tzinfo=offset)


def _from_match(match: re.Match[str], zone: tzinfo) -> datetime:
    year, month, day, hour, minute, second, frac, zulu, sign, off_h, off_m = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    naive = datetime(
        int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
    )
    return _aware(naive, zulu, sign, off_h, off_m, zone)


def _from_rfc2822(match: re.Match[str], zone: tzinfo) -> datetime:
    day, month, year, hour, minute, second, zulu, sign, off_h, off_m = match.groups()
    naive = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second or 0))
    return _aware(naive, zulu, sign, off_h, off_m, zone)


def _aware(naive: datetime, zulu: str | None, sign: str | None, off_h: str, off_m: str | None, zone: tzinfo) -> datetime:
    """A parsed wall-clock time in the offset written after it ("Z", "+0800"), or else in ``zone``."""
    if zulu:
        return fixed(naive.replace(tzinfo=timezone.utc))
    if sign:
        aware = naive.replace(tzinfo=_offset(sign, off_h, off_m))
        if MIN_YEAR < aware.year < MAX_YEAR:
            return aware  # whole minutes, fixed offset, and a year that stays in range in UTC: as fixed() gives
        return fixed(aware)
    return localize(naive, zone)


_FILE_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})-(.*)\Z", re.S)


def filename_date(name: str) -> tuple[date | None, str]:
    """Split a Jekyll post file stem into its date (if any) and slug."""
    match = _FILE_DATE.match(name)
    if match:
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            day = None
        if day is not None:
            return day, match.group(4)
    return None, name
