"""Pure URL helpers: percent-encoding and Jekyll permalinks."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote, urlsplit, urlunsplit

# RFC 3986 pchar minus "%": unreserved, sub-delims, ":" and "@".
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@"
# What may stay as is in an already-built URL (reserved characters and "%").
_URL_SAFE = "-._~!$&'()*+,;=:@/?#[]%"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# An http(s) URL that is already a valid, encoded URI: lower-case scheme, a
# plain host name (no port), then only URI characters and valid escapes.
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
    r"(?:[/?#](?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?"
)


def quote_segment(segment: str) -> str:
    """Percent-encode one path segment (a slug) completely: only unreserved characters stay."""
    return quote(segment, safe="-._~")


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
    if _PLAIN_URL.fullmatch(url):
        return url  # the common case: nothing to encode or check further
    url = unicodedata.normalize("NFC", url)  # the canonical form of an IRI
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
# A path that is already a valid, percent-encoded URI path.
_ENCODED_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
_PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")  # _ENCODED_PATH's characters


def _slugify_pretty(text: str) -> str:
    # Jekyll's Utils.slugify(mode: "pretty", cased: true)
    return _PRETTY_UNSAFE.sub("-", text).strip("-")


def _slugify_default(text: str) -> str:
    # Jekyll's Utils.slugify (default mode): lower-case, non-alphanumerics to "-"
    return _DEFAULT_UNSAFE.sub("-", text).strip("-").lower().replace("_", "-")


@lru_cache(maxsize=4096)  # category names repeat in every post
def _escape_path(value: str) -> str:
    # Jekyll's URL.escape_path: leave plain paths alone, else percent-encode
    # (after NFC normalisation: an IRI's canonical form, which validators check)
    if not value or _JEKYLL_SAFE_PATH.fullmatch(value):
        return value
    return quote(unicodedata.normalize("NFC", value), safe="/" + _SEGMENT_SAFE)


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
    out = []
    for literal, expand in _compile(PERMALINK_STYLES.get(template, template)):
        out.append(literal)
        if expand is not None:
            out.append(expand(date, slug, categories, output_ext))
    expanded = sanitize_path("".join(out))
    if _is_encoded_path(expanded):
        return expanded
    return _quote_loose(expanded, _URL_SAFE.replace("?", "").replace("#", ""))


def sanitize_path(path: str) -> str:
    """Jekyll's URL#sanitize_url: a leading "/", no "..", no "./", no "//"."""
    # (Jekyll prepends "/" unconditionally; the squeeze of "//" makes that the same.)
    path = (path if path[:1] == "/" else "/" + path).replace("..", "/").replace("./", "")
    return _SLASHES.sub("/", path) if "//" in path else path


def _is_encoded_path(path: str) -> bool:
    """A valid, percent-encoded URI path: _ENCODED_PATH, checked in two quick steps."""
    return _PATH_CHARS.fullmatch(path) is not None and ("%" not in path or _BAD_PERCENT.search(path) is None)


@lru_cache(maxsize=4096)  # the same few in every post: expanded and escaped once each
def _escaped_categories(categories: tuple[str, ...]) -> str:
    return _escape_path(_categories(categories))


def _categories(categories: tuple[str, ...]) -> str:
    # Jekyll lower-cases them. A "%" becomes "-", as Jekyll's slugs do with it:
    # "%25" followed by hex digits is read twice by feed validators, which then
    # call the entry id non-canonical.
    return "/".join(dict.fromkeys(category.lower().replace("%", "-") for category in categories))


_PLACEHOLDERS = {
    "categories": lambda d, s, c, e: _categories(c),
    "year": lambda d, s, c, e: f"{d.year:04d}",
    "short_year": lambda d, s, c, e: f"{d.year % 100:02d}",
    "month": lambda d, s, c, e: f"{d.month:02d}",
    "i_month": lambda d, s, c, e: str(d.month),
    "short_month": lambda d, s, c, e: _MONTHS[d.month - 1][:3],
    "long_month": lambda d, s, c, e: _MONTHS[d.month - 1],
    "day": lambda d, s, c, e: f"{d.day:02d}",
    "i_day": lambda d, s, c, e: str(d.day),
    "y_day": lambda d, s, c, e: f"{d.timetuple().tm_yday:03d}",
    "hour": lambda d, s, c, e: f"{d.hour:02d}",
    "minute": lambda d, s, c, e: f"{d.minute:02d}",
    "second": lambda d, s, c, e: f"{d.second:02d}",
    "week": lambda d, s, c, e: f"{d.isocalendar().week:02d}",
    "w_year": lambda d, s, c, e: str(d.isocalendar().year),  # the year of that week (strftime %G)
    "w_day": lambda d, s, c, e: str(d.isocalendar().weekday),  # 1 = Monday (%u)
    "short_day": lambda d, s, c, e: _DAYS[d.weekday()][:3],
    "long_day": lambda d, s, c, e: _DAYS[d.weekday()],
    "title": lambda d, s, c, e: _slugify_pretty(s),
    "slug": lambda d, s, c, e: _slugify_default(s),
    "name": lambda d, s, c, e: _slugify_default(s),
    "path": lambda d, s, c, e: s,
    "output_ext": lambda d, s, c, e: e,
}
# Placeholders whose values are ASCII letters and digits: never escaped.
_PLAIN_PLACEHOLDERS = frozenset(
    "year short_year month i_month short_month long_month day i_day y_day hour minute second "
    "week w_year w_day short_day long_day".split()
)
_SLASHES = re.compile(r"/{2,}")


def _escaped(placeholder):
    def expand(d, s, c, e):
        return _escape_path(placeholder(d, s, c, e))

    return expand


# Each placeholder's value as it goes into the path: escaped unless plain.
_EXPANSIONS = {
    name: placeholder if name in _PLAIN_PLACEHOLDERS else _escaped(placeholder)
    for name, placeholder in _PLACEHOLDERS.items()
}
_EXPANSIONS["categories"] = lambda d, s, c, e: _escaped_categories(c)
# A slug that :title and the escaping leave as it is (the scraper's numeric ids):
# no character either would change, no "-" at either end and no "--" (slugify
# makes any run of "-" one).
_PLAIN_TITLE = re.compile(r"[A-Za-z0-9.]+(?:-[A-Za-z0-9.]+)*")
_EXPANSIONS["title"] = lambda d, s, c, e: s if _PLAIN_TITLE.fullmatch(s) else _escape_path(_slugify_pretty(s))


@lru_cache(maxsize=64)
def _compile(template: str) -> tuple[tuple[str, object], ...]:
    """Split a template into (literal text, expansion of the placeholder after it) pairs.

    An expansion takes (date, slug, categories, output_ext) and gives the
    value as it goes into the path; the last pair's expansion is None.
    """
    parts: list[tuple[str, object]] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name not in _PLACEHOLDERS and name.endswith("_"):
            name = name[:-1]  # Jekyll lets ":title_" end a placeholder before a letter
        if name not in _PLACEHOLDERS:
            continue  # unknown placeholders stay as written
        parts.append((template[position : match.start()], _EXPANSIONS[name]))
        position = match.end()
    parts.append((template[position:], None))
    return tuple(parts)


_MONTHS = (
    "January February March April May June July August September October November December".split()
)
_DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
