"""Front matter: find it, parse it as YAML, and recover what a person would when YAML fails.

Pure functions on text; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import yaml

_FENCE = re.compile(r"-{3,}[ \t]*")
_CLOSE = re.compile(r"(?:-{3,}|\.{3})[ \t]*")


@dataclass(frozen=True, slots=True)
class Split:
    """A post file cut into its parts. Line numbers are 1-based in the file."""

    front: str | None  # None: the file has no front matter
    body: str
    front_line: int = 1  # line of the first front-matter line (after the opening ---)
    open_line: int = 1  # line of the opening ---
    unclosed: bool = False


# The usual file, in one match: blank lines, the opening ---, the front-matter
# lines, the first closing line. split() gives the same as the loop below would.
_USUAL = re.compile(r"((?:[ \t]*\n)*)-{3,}[ \t]*\n((?:.*\n)*?)(?:-{3,}|\.{3})[ \t]*(?:\n|\Z)")


def split(text: str) -> Split:
    """Cut a post's text (newlines already "\\n") into front matter and body."""
    usual = _USUAL.match(text)
    if usual is not None:
        blank, front = usual.groups()
        open_line = blank.count("\n") + 1
        return Split(front=front[:-1], body=text[usual.end() :], front_line=open_line + 1, open_line=open_line)
    line_no, position = 1, 0
    while True:  # blank lines before the opening --- (seen in the real corpus)
        end = text.find("\n", position)
        line = text[position:] if end < 0 else text[position:end]
        if line.strip() or end < 0:
            break
        line_no, position = line_no + 1, end + 1
    if not _FENCE.fullmatch(line):
        return Split(front=None, body=text)
    open_line = line_no
    front_start = position = end + 1 if end >= 0 else len(text)
    while end >= 0:  # the lines after the opening ---, up to the closing one
        end = text.find("\n", position)
        line = text[position:] if end < 0 else text[position:end]
        if line[:1] in "-." and _CLOSE.fullmatch(line):
            return Split(
                front=text[front_start : max(front_start, position - 1)],
                body="" if end < 0 else text[end + 1 :],
                front_line=open_line + 1,
                open_line=open_line,
            )
        position = end + 1
    return Split(front=None, body="", open_line=open_line, unclosed=True)


@dataclass(frozen=True, slots=True)
class Parsed:
    meta: dict | None  # None: nothing usable
    notes: tuple[tuple[int | None, str], ...] = field(default=())  # (file line, message)


def parse(front: str, first_line: int) -> Parsed:
    """Parse front matter as YAML, falling back to flat ``key: value`` lines."""
    simple = parse_simple(front)
    if simple is not None:
        return Parsed(simple)
    from frontmatter import (
        YAMLHandler,  # python-frontmatter's YAML loader (libyaml when present)
    )

    try:
        meta = YAMLHandler().load(front) if front.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = first_line + mark.line if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        recovered, notes = parse_flat(front, first_line)
        if not recovered:
            return Parsed(None, ((line, f"front matter is not valid YAML ({problem})"),))
        return Parsed(
            recovered,
            ((line, f"front matter is not valid YAML ({problem}); read it line by line"), *notes),
        )
    except RecursionError:
        return Parsed(None, ((first_line, "front matter is nested too deeply"),))
    except (ValueError, OverflowError, LookupError, AttributeError, TypeError) as exc:
        # YAML's own constructors reject some values: a timestamp such as 2024-02-30
        # (ValueError); an explicit tag on a value it does not fit, such as
        # "!!bool maybe" (KeyError), '!!int ""' (IndexError) or "!!timestamp x"
        # (AttributeError). Only the YAML call is in this try.
        recovered, notes = parse_flat(front, first_line)
        why = exc if isinstance(exc, (ValueError, OverflowError)) else "a !!type tag that does not fit its value"
        return Parsed(
            recovered or None,
            ((first_line, f"front matter has a value YAML cannot take ({why}); read it line by line"), *notes),
        )
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return Parsed(None, ((first_line, f"front matter is a {_kind(meta)}, not a set of keys"),))
    return Parsed({str(k): v for k, v in meta.items()})


# --- the fast path: front matter that is plainly flat --------------------------
#
# Nearly every real post is a handful of ``key: scalar`` lines. For those we
# give exactly what YAML gives, without running a YAML parser: quoted values
# without escapes are taken literally, and plain values are typed by YAML's
# own resolver and constructors. Anything else returns None and goes to YAML.

_SIMPLE_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*))?")
# what YAML refuses, and its other line breaks (NEL, U+2028, U+2029), which fold quoted text
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\xA0-\u2027\u202A-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")
_PLAIN_START_BAD = frozenset("-?:,[]{}#&*!|>'\"%@`")
_RESERVED_KEYS = frozenset("y n yes no on off true false null".split())
_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_STR_TAG = "tag:yaml.org,2002:str"
# YAML's implicit types by first character (the resolver's own, live table)
_IMPLICIT = _RESOLVER.yaml_implicit_resolvers


# "2022-06-01 16:03:57" (a YAML timestamp) or "2022-06-01 16:03:57 +0800" (not one:
# YAML's offsets are "+08" or "+08:00"); tests check both against YAML itself.
_DATE_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})( [+-][0-9]{4})?")


@lru_cache(maxsize=4096)  # "layout: post", "categories: emnews" repeat in every post
def _plain_tag(value: str) -> str:
    """The type YAML gives a plain (unquoted) scalar."""
    return _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))


_NOT_SIMPLE = object()  # a value the fast path leaves to YAML
_BLOCK_ITEM = re.compile(r"( *)- +(.*)")
# what may end or nest a plain scalar in a [..] list: left to YAML (PyYAML, as YAML 1.1
# says, ends one at "?" too: "[0?]" is not a list of "0?" but an error)
_FLOW_BAD = frozenset(",[]{}:#?")


def parse_simple(front: str) -> dict | None:
    """Flat front matter read exactly as YAML would, or None when it is not that simple.

    Flat means ``key: scalar`` lines, ``key: [a, b]`` lists of scalars,
    ``key:`` followed by ``- scalar`` lines, and comment lines.
    """
    if _NON_PRINTABLE.search(front):
        return None
    meta: dict[str, object] = {}
    line_match = _SIMPLE_LINE.fullmatch
    items: list | None = None  # the block list of the last "key:" line, once it has an item
    open_key: str | None = None  # the last key, if its line had no value (a block list may follow)
    indent = -1  # the indentation of that list's "- "
    for line in front.split("\n"):
        if not line or line.isspace():
            continue
        match = line_match(line)
        if match is None:
            if line.lstrip(" ")[:1] == "#":
                continue  # a comment line
            item = _BLOCK_ITEM.fullmatch(line) if open_key is not None else None
            if item is None:
                return None
            spaces, text = item.groups()
            if indent < 0:
                indent = len(spaces)
                items = meta[open_key] = []
            elif len(spaces) != indent:
                return None
            text = text.rstrip(" ")
            value = _simple_scalar(text, False) if text else _NOT_SIMPLE  # ("- " alone: left to YAML)
            if value is _NOT_SIMPLE:
                return None
            assert items is not None
            items.append(value)
            continue
        key, value = match.groups()
        value = value.rstrip(" ") if value else ""
        if len(key) <= 5 and key.lower() in _RESERVED_KEYS:
            return None
        open_key, indent = None, -1
        if not value:
            meta[key] = None
            open_key = key
            continue
        first = value[0]
        if first == "[":
            found = _flow_list(value)
            if found is None:
                return None
            meta[key] = found
            continue
        found = _simple_scalar(value, True)
        if found is _NOT_SIMPLE:
            return None
        meta[key] = found
    return meta


def _flow_list(value: str) -> list | None:
    """``[a, b, "c"]``: a one-line list of scalars (no nesting, quotes holding no comma)."""
    if value[-1] != "]":
        return None
    inner = value[1:-1]
    if not inner.strip(" "):
        return []
    found = []
    for part in inner.split(","):
        text = part.strip(" ")
        if not text:
            return None  # "[a, , b]", "[a,]": left to YAML
        if text[0] not in "\"'" and not _FLOW_BAD.isdisjoint(text):
            return None  # (a quoted item cut in two at a comma is no whole quoted scalar either)
        item = _simple_scalar(text, False)
        if item is _NOT_SIMPLE:
            return None
        found.append(item)
    return found


def _simple_scalar(value: str, top: bool) -> object:
    """One scalar as YAML types it, or _NOT_SIMPLE. ``value`` is stripped and not empty.

    At the top level (``top``), a timestamp YAML cannot construct
    ("2024-02-30 10:00:00") is kept as text, for the date check to report; in a
    list it is left to YAML.
    """
    first = value[0]
    if first == '"':
        inner = value[1:-1]
        if len(value) < 2 or value[-1] != '"':
            return _NOT_SIMPLE
        if "\\" in inner:  # escapes, as a generator that escapes its titles writes them
            return _yaml_escapes(inner)
        return _NOT_SIMPLE if '"' in inner else inner
    if first == "'":
        inner = value[1:-1]
        if len(value) < 2 or value[-1] != "'":
            return _NOT_SIMPLE
        if "'" in inner:  # "''" is a quote; any other one ends the scalar early: left to YAML
            return _NOT_SIMPLE if "'" in inner.replace("''", "") else inner.replace("''", "'")
        return inner
    if first in _PLAIN_START_BAD or ": " in value or " #" in value or value.endswith(":") or "\t" in value:
        return _NOT_SIMPLE
    if first.isdigit() and (stamp := _DATE_TIME.fullmatch(value)) is not None:
        # the scraper's dates, unique in every post (so never in _plain_tag's cache):
        # with " +0800" YAML takes them as text; without, as a naive timestamp
        if stamp.group(7):
            return value
        try:
            return datetime(*map(int, stamp.group(1, 2, 3, 4, 5, 6)))
        except ValueError:
            return value if top else _NOT_SIMPLE  # "2024-02-30 ...": YAML would fail
    if first not in _IMPLICIT and None not in _IMPLICIT:
        return value  # no implicit YAML type starts with this character: text
    tag = _plain_tag(value)
    if tag == _STR_TAG:
        return value
    if tag not in _CONSTRUCTOR.yaml_constructors:
        return _NOT_SIMPLE  # "=", "<<": let YAML itself say what they are
    try:
        return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, yaml.ScalarNode(tag, value))
    except (ValueError, OverflowError):
        return value if top else _NOT_SIMPLE  # "2024-02-30": YAML would fail; the date check reports it


# The inside of a one-line double-quoted scalar made only of text and the escapes
# YAML knows (PyYAML's scanner and libyaml agree on these). Whatever else
# (an unknown escape, a lone quote, a backslash at the end) is left to YAML.
_DOUBLE_QUOTED = re.compile(r'(?:[^"\\]|\\(?:[0abt\tnvfre "/\\N_LP]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}))*')


# Escapes of code points libyaml refuses (PyYAML does not): surrogates (a
# "\\ud83d\\ude00" pair, say) and past U+10FFFF. (An escaped backslash before
# "ud8.." looks the same: such text merely goes to YAML.)
_REFUSED_CODE = re.compile(r"\\(?:u[dD][89a-fA-F]|U(?!00(?:0[0-9A-Fa-f]|10))|U0000[dD][89a-fA-F])")


def _yaml_escapes(inner: str) -> object:
    """The text of a double-quoted scalar with escapes, or _NOT_SIMPLE."""
    if _DOUBLE_QUOTED.fullmatch(inner) is None or _REFUSED_CODE.search(inner):
        return _NOT_SIMPLE
    return _ESCAPE.sub(_unescape, inner)


def _kind(value: object) -> str:
    return {list: "list", str: "string"}.get(type(value), type(value).__name__)


_KEY_VALUE = re.compile(r"([A-Za-z_][\w.-]*)[ \t]*:(?:[ \t]+(.*))?")
_LIST_ITEM = re.compile(r"[ \t]*-[ \t]+(.*)")


def parse_flat(front: str, first_line: int) -> tuple[dict, tuple[tuple[int | None, str], ...]]:
    """Read broken YAML as a person would: one ``key: value`` per line.

    Double-quoted values keep any unescaped inner quotes
    (``title: "央行"降准"释放流动性"`` gives ``央行"降准"释放流动性``);
    ``[a, b]`` and ``- item`` lines give lists. Lines that are none of these
    are noted and skipped.
    """
    meta: dict[str, object] = {}
    notes: list[tuple[int | None, str]] = []
    last_key: str | None = None
    for offset, raw in enumerate(front.split("\n")):
        line_no = first_line + offset
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        item = _LIST_ITEM.fullmatch(raw)
        if item and last_key is not None and (meta.get(last_key) is None or isinstance(meta[last_key], list)):
            values = meta.get(last_key) or []
            assert isinstance(values, list)
            values.append(_scalar(item.group(1).rstrip(" \t")))
            meta[last_key] = values
            continue
        match = _KEY_VALUE.fullmatch(raw)
        if not match:
            notes.append((line_no, f"cannot read front-matter line {raw.strip()[:60]!r}; ignored"))
            continue
        key, value = match.group(1), (match.group(2) or "").rstrip(" \t")
        last_key = key
        if value.startswith("[") and value.endswith("]"):
            meta[key] = [_scalar(part) for part in _split_flow(value[1:-1])]
        else:
            meta[key] = _scalar(value)
    return meta, tuple(notes)


# an item of a [..] list that is one whole quoted scalar, up to the comma after it (or the end)
_FLOW_QUOTED = re.compile(r""""(?:[^"\\]|\\.)*"[ \t]*(?:,|\Z)|'(?:[^']|'')*'[ \t]*(?:,|\Z)""")


def _split_flow(inner: str) -> list[str]:
    """The items of ``[a, "b, c", 'd']``: a comma inside a whole quoted item does not cut it."""
    parts = []
    position = 0
    while position < len(inner):
        start = position
        while start < len(inner) and inner[start] in " \t":
            start += 1
        quoted = _FLOW_QUOTED.match(inner, start)
        if quoted:
            end = quoted.end()
            parts.append(inner[start:end].rstrip(" \t,"))
        else:
            comma = inner.find(",", start)
            end = len(inner) if comma < 0 else comma + 1
            parts.append(inner[start : end].rstrip(","))
        position = end
    return [part.strip() for part in parts if part.strip()]


# YAML's (and JSON's) escapes in a double-quoted scalar; a pair of \u escapes may
# write one character beyond U+FFFF as UTF-16 surrogates, as JSON encoders do
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})(?:\\u([0-9A-Fa-f]{4}))?|U([0-9A-Fa-f]{8})|x([0-9A-Fa-f]{2})|(.))", re.S)
_SIMPLE_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
    "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}


def _unescape(match: re.Match[str]) -> str:
    high, low, wide, byte, other = match.groups()
    if other is not None:
        return _SIMPLE_ESCAPES.get(other, match.group(0))  # an unknown escape stays as written
    if wide is not None or byte is not None:
        code = int(wide or byte, 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
    first = int(high, 16)
    if low is not None:
        second = int(low, 16)
        if 0xD800 <= first <= 0xDBFF and 0xDC00 <= second <= 0xDFFF:
            return chr(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        return _lone(first) + _lone(second)
    return _lone(first)


def _lone(code: int) -> str:
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)  # half a surrogate pair is no character


def _scalar(value: str) -> object:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return _ESCAPE.sub(_unescape, value[1:-1])  # unescaped inner quotes stay as written
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    if value in ("", "~", "null", "Null", "NULL"):
        return None
    if value in ("true", "True", "TRUE", "yes", "Yes", "on"):
        return True
    if value in ("false", "False", "FALSE", "no", "No", "off"):
        return False
    return value
