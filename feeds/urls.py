"""Pure URL helpers: percent-encoding and Jekyll permalinks."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote, urlsplit, urlunsplit

# RFC 3986 pchar minus "%": unreserved, sub-delims, ":" and "@".
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"
# What may stay as is in an already-built URL (reserved characters and "%").
_URL_SAFE = "-._~!$&'()*+,;=:@/?#[]%"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def quote_segment(segment: str) -> str:
    """Percent-encode one path segment (a slug) completely."""
    return quote(segment, safe=_SEGMENT_SAFE)


def quote_path(path: str) -> str:
    """Percent-encode a path whose "/" separate segments."""
    return "/".join(quote_segment(part) for part in path.split("/"))


def _quote_loose(part: str, safe: str = _URL_SAFE) -> str:
    """Encode what a URI may not contain, keeping valid %XX escapes."""
    return quote(_BAD_PERCENT.sub("%25", part), safe=safe)


def absolute_url(url: str) -> str | None:
    """Return ``url`` as an absolute, percent-encoded http(s) URI, or None.

    Non-ASCII host names are IDNA-encoded; paths, queries and fragments are
    percent-encoded (valid escapes kept). Anything that is not an absolute
    http(s) URL with a host gives None.
    """
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError when the port is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if not re.fullmatch(r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]", host if ":" not in host else f"[{host}]"):
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    if parts.username is not None:
        userinfo = _quote_loose(parts.username, "-._~!$&'()*+,;=%")
        if parts.password is not None:
            userinfo += ":" + _quote_loose(parts.password, "-._~!$&'()*+,;=%")
        netloc = f"{userinfo}@{netloc}"
    return urlunsplit(
        (
            parts.scheme.lower(),
            netloc,
            _quote_loose(parts.path) or "",
            _quote_loose(parts.query, _URL_SAFE.replace("#", "")),
            _quote_loose(parts.fragment, _URL_SAFE.replace("#", "")),
        )
    )


def join(base: str, path: str) -> str:
    """Join an absolute base URL (no trailing slash) and a site path."""
    return base.rstrip("/") + "/" + path.lstrip("/")


# --- Jekyll permalinks ----------------------------------------------------------

PERMALINK_STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}
DEFAULT_PERMALINK = PERMALINK_STYLES["date"]

_PLACEHOLDER = re.compile(r":([a-z_]+)")
_PRETTY_UNSAFE = re.compile(r"[^\w._~!$&'()+,;=@]+")
_DEFAULT_UNSAFE = re.compile(r"[^\w]+")
_JEKYLL_SAFE_PATH = re.compile(r"[a-zA-Z0-9./-]+")


def _slugify_pretty(text: str) -> str:
    # Jekyll's Utils.slugify(mode: "pretty", cased: true)
    return _PRETTY_UNSAFE.sub("-", text).strip("-")


def _slugify_default(text: str) -> str:
    # Jekyll's Utils.slugify (default mode): lower-case, non-alphanumerics to "-"
    return _DEFAULT_UNSAFE.sub("-", text).strip("-").lower().replace("_", "-")


def _escape_path(value: str) -> str:
    # Jekyll's URL.escape_path: leave plain paths alone, else percent-encode.
    if not value or _JEKYLL_SAFE_PATH.fullmatch(value):
        return value
    return quote(value, safe="/" + _SEGMENT_SAFE)


def expand_permalink(
    template: str,
    *,
    date: datetime,
    slug: str,
    categories: tuple[str, ...],
    output_ext: str = ".html",
) -> str:
    """Expand a Jekyll permalink template as Jekyll does; returns an encoded path.

    ``template`` may also be a style name ("date", "pretty", ...). Dates are
    taken in the post's own offset, as Jekyll does.
    """
    template = PERMALINK_STYLES.get(template, template)
    seen: dict[str, None] = {}
    for category in categories:
        seen.setdefault(category.lower(), None)
    iso = date.isocalendar()
    values = {
        "categories": "/".join(seen),
        "year": f"{date.year:04d}",
        "short_year": f"{date.year % 100:02d}",
        "month": f"{date.month:02d}",
        "i_month": str(date.month),
        "short_month": _MONTHS[date.month - 1][:3],
        "long_month": _MONTHS[date.month - 1],
        "day": f"{date.day:02d}",
        "i_day": str(date.day),
        "y_day": f"{date.timetuple().tm_yday:03d}",
        "hour": f"{date.hour:02d}",
        "minute": f"{date.minute:02d}",
        "second": f"{date.second:02d}",
        "week": f"{iso.week:02d}",
        "short_day": _DAYS[date.weekday()][:3],
        "long_day": _DAYS[date.weekday()],
        "title": _slugify_pretty(slug),
        "slug": _slugify_default(slug),
        "name": _slugify_default(slug),
        "path": slug,
        "output_ext": output_ext,
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values and name.endswith("_"):
            name = name[:-1]  # Jekyll lets ":title_" end a placeholder before a letter
        if name in values:
            return _escape_path(values[name])
        return match.group(0)

    expanded = _PLACEHOLDER.sub(replace, template)
    # Jekyll's URL#sanitize_url: a leading "/", no "..", no "./", no "//".
    expanded = ("/" + expanded).replace("..", "/").replace("./", "")
    expanded = re.sub(r"/{2,}", "/", expanded)
    return _quote_loose(expanded, _URL_SAFE.replace("?", "").replace("#", ""))


_MONTHS = (
    "January February March April May June July August September October November December".split()
)
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
