"""Pure text helpers: XML-safe strings, plain-text summaries, slugs."""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from functools import lru_cache

# XML 1.0 "Char": everything else (C0 controls but TAB/LF/CR, lone surrogates,
# U+FFFE, U+FFFF) cannot appear in a document, not even escaped. XML 1.0 also
# asks authors to avoid DEL, the C1 controls and the Unicode noncharacters;
# feed validators and HTML parsers reject them, and no text needs them. (NEL,
# U+0085, stays: it is a line break, which one_line() turns into a space.)
_XML_FORBIDDEN = re.compile(
    "[^\t\n\r\u0020-\u007e\u0085\u00a0-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]"
    "|[\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0004fffe\U0004ffff"
    "\U0005fffe\U0005ffff\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
    "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff\U000cfffe\U000cffff"
    "\U000dfffe\U000dffff\U000efffe\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]"
)
_WS = re.compile(r"\s+")


def xml_safe(text: str) -> str:
    """Drop the characters XML 1.0 forbids, and the controls and noncharacters it discourages."""
    return _XML_FORBIDDEN.sub("", text)


def one_line(text: str) -> str:
    """XML-safe, whitespace (newlines too) collapsed to single spaces, trimmed."""
    if text.isprintable():  # no controls, no separators but " ": nothing XML forbids
        return text.strip() if "  " not in text else _WS.sub(" ", text).strip()
    flat = text.replace("\n", " ")  # the usual reason a text is not printable: line breaks
    if flat.isprintable():
        return flat.strip() if "  " not in flat else _WS.sub(" ", flat).strip()
    return _WS.sub(" ", xml_safe(text)).strip()


# --- plain text from Markdown + HTML -----------------------------------------

_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
# Each inner part excludes its own opening character, so a run of "[" or "**"
# is scanned once, not once per character (no quadratic time on hostile text).
_IMAGE = re.compile(r"!\[([^\[\]]*)\]\([^()]*\)")
_LINK = re.compile(r"\[([^\[\]]*)\]\([^()]*\)")
_REF_LINK = re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]")
_BLOCK_MARK = re.compile(r"^[ \t]{0,3}(?:#{1,6}[ \t]+|>[ \t]?|[-*+][ \t]+|\d{1,9}[.)][ \t]+)", re.M)
# What every line _BLOCK_MARK changes starts with. Trying _BLOCK_MARK itself
# costs a step at every character; these two find such lines quickly (the
# second one by its leading "\n"), so text without them skips it.
_MARK_FIRST_LINE = re.compile(r"[ \t]{0,3}(?:[#>*+-]|\d)")
_MARK_LATER_LINE = re.compile(r"\n[ \t]{0,3}(?:[#>*+-]|\d)")
# What _COMMENT, _AUTOLINK and _TAG each need somewhere: "<" before a letter, "/", "!", "?" or ">".
_ANGLE = re.compile(r"<[A-Za-z/!?>]")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]*)>|<>")
# A tag starts with a letter, "/" + letter, "!" or "?" (so "a <1% b" stays text).
_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>|<[!?][^<>]*>")
_INLINE_TAGS = frozenset(
    "a abbr b bdi bdo big cite code del dfn em font i img ins kbd mark q s samp small span "
    "strike strong sub sup time tt u var wbr".split()
)
_EMPHASIS = re.compile(r"\*\*(?=[^\s*])([^*]+?)(?<=\S)\*\*|__(?=[^\s_])([^_]+?)(?<=\S)__")
_CODE = re.compile(r"`([^`]*)`")


def _drop_tag(match: re.Match[str]) -> str:
    name = (match.group(1) or "").lower()
    return "" if name in _INLINE_TAGS else " "


def plain_text(markup: str) -> str:
    """Reduce a Markdown/HTML fragment to one line of plain text."""
    text = markup
    if "<" in text and _ANGLE.search(text):  # ("a <2% b" has none)
        text = _COMMENT.sub("", text)
    if "[" in text:
        text = _IMAGE.sub(r"\1", text)
        text = _LINK.sub(r"\1", text)
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text and _ANGLE.search(text):  # (again: removing links may join "<" and a letter)
        text = _AUTOLINK.sub(lambda m: m.group(1) or "", text)
        text = _TAG.sub(_drop_tag, text)
    if "*" in text or "_" in text:
        text = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), text)
    if _MARK_FIRST_LINE.match(text) or _MARK_LATER_LINE.search(text):
        text = _BLOCK_MARK.sub("", text)  # "# Heading", "> quote", "- item": the words only
    if "`" in text:
        text = _CODE.sub(r"\1", text)
    if "&" in text:
        text = html.unescape(text)
    return one_line(text)


def truncate(text: str, limit: int) -> str:
    """Cut to at most ``limit`` characters, ending in "…" when cut (0 = no limit)."""
    if limit <= 0 or len(text) <= limit:
        return text
    if limit == 1:
        return "…"
    return text[: limit - 1].rstrip() + "…"


# --- slugs --------------------------------------------------------------------

# Characters that never go into a file name: path separators, controls, and
# the few that Windows, shells or URLs treat specially.
_SLUG_DROP = re.compile(r'[\x00-\x1f\x7f-\x9f/\\<>:"|?*#%\s\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]+')
_DASHES = re.compile(r"-{2,}")
_DOTS = re.compile(r"\.{2,}")
SLUG_MAX_BYTES = 120


def slug_key(name: str) -> str:
    """The form under which two names count as the same feed."""
    return unicodedata.normalize("NFKC", name).lower()


@lru_cache(maxsize=65536)  # names repeat across thousands of posts
def slugify(name: str) -> str:
    """A safe, Unicode-keeping path segment for a category or tag name.

    Lower-cased; whitespace and unsafe characters become "-"; never "/",
    "\\", "..", a control character or a leading dot. Long names are cut on a
    character boundary and get a short hash of the whole name, so two long
    names never share a file by accident. Never empty.
    """
    key = slug_key(name)
    slug = _SLUG_DROP.sub("-", key)
    slug = _DOTS.sub(".", slug)
    slug = _DASHES.sub("-", slug).strip("-.")
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    if not slug:
        return f"_{digest}"
    encoded = slug.encode("utf-8", "surrogatepass")
    if len(encoded) > SLUG_MAX_BYTES:
        cut = encoded[: SLUG_MAX_BYTES - 9].decode("utf-8", "ignore").rstrip("-.")
        slug = f"{cut}-{digest}"
    return slug
