"""Stage 1: files to posts. Never raises for a bad post: it returns Problems."""

from __future__ import annotations

import hashlib
import os
import re
import reprlib
import stat
import time as clock
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, tzinfo
from pathlib import Path
from typing import NamedTuple

from feeds.batch import batches
from feeds.dates import DateError, filename_date, localize, to_datetime
from feeds.model import Post, Problem, ReadResult, Severity
from feeds.text import one_line, plain_text, truncate, xml_safe
from feeds.urls import absolute_url, expand_permalink, join

SUMMARY_KEYS = ("summary", "description", "excerpt")
LINK_KEYS = ("source", "source_url", "link", "canonical_url")
UPDATED_KEYS = ("last_modified_at", "updated")
# Bumped whenever the same bytes would now give another Post or other problems:
# cached posts read by an earlier revision are then read again (see build.read_fingerprint).
PARSER_REVISION = 8
MAX_NAMES = 100  # categories, and tags, a post may have: more is a scraper's sentence cut into words
UNTITLED_LENGTH = 60  # a post without a title is titled by the start of its summary
SETTLE_NS = 100_000_000  # a file modified less than 0.1 s ago is re-checked before use


class _Brief(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        # Python refuses to print an integer of over 4300 digits (ValueError)
        if x.bit_length() > 4000:
            return f"<an integer of about {int(x.bit_length() * 0.30103)} digits>"
        return super().repr_int(x, level)


_BRIEF = _Brief()
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxdict, _BRIEF.maxstring, _BRIEF.maxother = 2, 3, 3, 60, 60


def brief(value: object) -> str:
    """A short repr for messages; bounded even for huge or aliased YAML values."""
    return _BRIEF.repr(value)


# A line that is only an autolink, "<https://…>": the scraper's source link.
_AUTOLINK_LINE = re.compile(r"[ \t]*<(https?://[^<>\s]+)>[ \t]*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_LINK_ONLY = re.compile(r"<[^<>\s]*>")


@dataclass(frozen=True, slots=True)
class ReadOptions:
    site_url: str  # absolute, encoded, with the baseurl, no trailing slash
    timezone: tzinfo
    permalink: str = "date"
    summary_length: int = 200
    encoding: str = "utf-8"
    max_size: int = 10 * 1024 * 1024


# --- reading one file ----------------------------------------------------------


class FileRead(NamedTuple):
    """One file read: its result, and what the cache needs to know it again.

    A named tuple, not a dataclass: a cold build makes 50,000 of them.
    """

    path: str
    post: Post | None
    problems: tuple[Problem, ...]
    size: int  # -1 when the file could not be read
    mtime_ns: int
    ctime_ns: int
    digest: bytes  # of the bytes read; b"" when none
    read_ns: int  # when it was read
    checks: bytes = b""  # its cache record's checksums, when made while reading (feeds.cache.record_checks)


def read_file(display: str, path: str | Path, options: ReadOptions) -> ReadResult:
    """Read one post file. Problems (I/O, encoding, content) come back as values."""
    read = load_file(display, path, options)
    return ReadResult(display, read.post, read.problems)


def load_file(display: str, path: str | Path, options: ReadOptions) -> FileRead:
    """Read one post file, with its size, mtime, ctime and a digest of its bytes."""
    return load_files([(display, path)], options)[0]


# Files read before any of them is parsed (see load_files()): this many, or
# as many as hold this many bytes, whichever comes first.
READ_BATCH = 128
READ_BATCH_BYTES = 1 << 20


def load_files(files: Sequence[tuple[str, str | Path]], options: ReadOptions) -> list[FileRead]:
    """load_file() of each (display path, path), in order.

    Files are read a batch at a time, then parsed (see feeds.batch):
    alternating one read with one parse cost about a quarter more per file
    (117 against 85 us at 10,000 posts). A batch ends at READ_BATCH files or
    at the file that brings it to READ_BATCH_BYTES, so big posts are still
    held one or a few at a time.
    """
    max_size = options.max_size

    def read(file: tuple[str, str | Path]) -> tuple:
        return (*_read_bytes(file[0], file[1], max_size), clock.time_ns())

    results: list[FileRead] = []
    for batch in batches(files, read, READ_BATCH, READ_BATCH_BYTES, size=lambda raw: len(raw[0] or b"")):
        results.extend(_loaded(display, path, *raw, options) for (display, path), raw in batch)
    return results


def _loaded(display: str, path: str | Path, data, info, problem, read_ns: int, options: ReadOptions) -> FileRead:
    if problem is not None:
        return FileRead(display, None, (problem,), -1, 0, 0, b"", read_ns)
    assert data is not None and info is not None
    result = _decode_and_parse(data, display, os.path.basename(path), options)
    return FileRead(
        display,
        result.post,
        result.problems,
        info.st_size,
        info.st_mtime_ns,
        info.st_ctime_ns,
        hashlib.blake2b(data, digest_size=16).digest(),
        read_ns,
    )


def _decode_and_parse(data: bytes, display: str, filename: str, options: ReadOptions) -> ReadResult:
    if data.find(b"\x00", 0, 8192) >= 0 and not options.encoding.lower().startswith("utf-16"):
        return ReadResult(display, None, (Problem(display, "binary file (contains NUL bytes), not a post"),))
    try:
        text = data.decode(options.encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return ReadResult(
            display,
            None,
            (Problem(display, f"not valid {options.encoding} at byte {exc.start} ({exc.reason}); use --encoding", line=line),),
        )
    return parse_post(text, display, filename, options)


def _read_bytes(
    display: str, path: str | Path, max_size: int
) -> tuple[bytes | None, os.stat_result | None, Problem | None]:
    """Read a file whole, making sure it did not change while we read it."""
    for _attempt in range(3):
        try:
            # O_NONBLOCK: a FIFO must not hang the build (no effect on regular files)
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            if os.path.islink(path):
                return None, None, Problem(display, f"broken symbolic link (to {os.readlink(path)!r})")
            return None, None, Problem(display, "file vanished while being read")
        except IsADirectoryError:
            return None, None, Problem(display, "is a directory, not a post file")
        except OSError as exc:
            return None, None, Problem(display, f"cannot read: {exc.strerror or exc}")
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                return None, None, Problem(display, "not a regular file")
            if before.st_size > max_size:
                return None, None, Problem(display, f"file is {before.st_size} bytes, over --max-post-size {max_size}")
            chunks = []
            remaining = max_size + 1
            while remaining > 0:
                # size + 1: one read gets a file that did not grow (a short read
                # is its end) without allocating a big buffer for a small file
                wanted = min(remaining, max(before.st_size + 1, 4096))
                chunk = os.read(fd, wanted)
                chunks.append(chunk)
                remaining -= len(chunk)
                if len(chunk) < wanted:
                    break  # a short read of a regular file is its end
            data = b"".join(chunks)
            after = os.fstat(fd)
        except OSError as exc:
            return None, None, Problem(display, f"cannot read: {exc.strerror or exc}")
        finally:
            os.close(fd)
        if len(data) > max_size:
            return None, None, Problem(display, f"file grew over --max-post-size {max_size} while being read")
        unchanged = (
            before.st_size == after.st_size == len(data)
            and before.st_mtime_ns == after.st_mtime_ns
            # (a rewrite of the same size whose mtime is set back, as `cp -p` does, still moves ctime)
            and before.st_ctime_ns == after.st_ctime_ns
        )
        if unchanged and _settled(path, after):
            return data, after, None
    return None, None, Problem(display, "file kept changing while being read; try again later")


def _settled(path: str | Path, info: os.stat_result) -> bool:
    """False if a file modified a moment ago changes again within SETTLE_NS.

    A writer that truncates and then writes in pieces leaves a file that
    looks complete between the pieces; waiting out a short quiet period
    catches that. Files older than the period cost nothing.
    """
    age = clock.time_ns() - info.st_mtime_ns
    if age >= SETTLE_NS or age < -SETTLE_NS:
        return True
    clock.sleep((SETTLE_NS - max(age, 0)) / 1e9)
    try:
        again = os.stat(path)
    except OSError:
        return False
    return (again.st_ino, again.st_size, again.st_mtime_ns) == (info.st_ino, info.st_size, info.st_mtime_ns)


# --- parsing (pure) --------------------------------------------------------------


def parse_post(text: str, display: str, filename: str, options: ReadOptions) -> ReadResult:
    """Turn a post's text into a Post, or say why not. Pure: no I/O, no clock."""
    from feeds import fm  # YAML machinery: imported only when a post is parsed

    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text or text.isspace():
        return ReadResult(display, None, (Problem(display, "empty file"),))
    parts = fm.split(text)
    if parts.unclosed:
        return ReadResult(
            display,
            None,
            (Problem(display, "front matter has no closing '---' (truncated file?)", line=parts.open_line),),
        )
    if parts.front is None:
        return ReadResult(
            display, None, (Problem(display, "no front matter: not a post", Severity.INFO, line=1),)
        )
    parsed = fm.parse(parts.front, parts.front_line)
    severity = Severity.WARNING if parsed.meta is not None else Severity.ERROR
    problems = [Problem(display, msg, severity, line=line) for line, msg in parsed.notes]
    if parsed.meta is None:
        return ReadResult(display, None, tuple(problems))
    post = _make_post(parsed.meta, parts.body, display, filename, options, problems)
    return ReadResult(display, post, tuple(problems))


def _make_post(
    meta: dict,
    body: str,
    display: str,
    filename: str,
    options: ReadOptions,
    problems: list[Problem],
) -> Post | None:
    def warn(message: str) -> None:
        problems.append(Problem(display, message, Severity.WARNING))

    def fail(message: str) -> None:
        problems.append(Problem(display, message, Severity.ERROR))

    published = meta.get("published", True)
    if published is False or (isinstance(published, str) and published.strip().lower() == "false"):
        problems.append(Problem(display, "published: false; excluded", Severity.INFO))
        return None

    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    file_day, slug = filename_date(stem)
    # (Jekyll: a slug does not end with a period: "2024-02-09-a.b..md" is a.b)
    slug = _shows(one_line(slug.rstrip(".")).strip("-"))
    if not slug and file_day is None:
        slug = _shows(one_line(stem.rstrip(".")))  # a name without a date is all slug ("2024-01-06-" has none)
    named = slug  # what a title may fall back to (titled as Jekyll titles it)
    if not slug:  # a file name of spaces or control characters only: a slug from its bytes
        slug = "_" + hashlib.sha1(stem.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    if isinstance(meta.get("slug"), str) and one_line(meta["slug"]):
        slug = one_line(meta["slug"])  # Jekyll: front-matter slug replaces the file name's

    post_date = _post_date(meta.get("date"), file_day, options.timezone, warn, fail)
    if post_date is None:
        return None
    updated = post_date
    for key in UPDATED_KEYS:
        if meta.get(key) is not None:
            try:
                value = to_datetime(meta[key], options.timezone)
            except DateError as exc:
                warn(f"{key}: {exc}; ignored")
                continue
            if value is not None and value >= post_date:
                updated = value
            break

    summary = truncate(_summary(meta, body, warn), options.summary_length)
    title = _shows(_text_value(meta.get("title"), "title", warn)) or _titled(named)
    if not title:  # feeds need a title: the summary's first words, as feed readers show untitled posts
        title = truncate(summary, UNTITLED_LENGTH) or "untitled"
        warn(f"no title, and the file name gives none; titled {brief(title)}")
    categories = _names(meta, "category", "categories", warn, combined=True)
    tags = _names(meta, "tag", "tags", warn)

    permalink_template = meta.get("permalink")
    if not isinstance(permalink_template, str) or not permalink_template.strip():
        if permalink_template is not None:
            warn("permalink is not text; using the site's pattern")
        permalink_template = options.permalink
    permalink = expand_permalink(_safe_template(permalink_template), date=post_date, slug=slug, categories=categories)
    url = join(options.site_url, permalink)

    return Post(
        path=display,
        title=title,
        date=post_date,
        updated=updated,
        categories=categories,
        tags=tags,
        summary=summary,
        link=_source_link(meta, body, warn),
        url=url,
    )


@lru_cache(maxsize=256)  # the site's pattern, in every post
def _safe_template(template: str) -> str:
    return xml_safe(template.strip())


def _post_date(value, file_day: date | None, zone: tzinfo, warn, fail) -> datetime | None:
    """The front-matter date; else the file name's day at 00:00 site time; else None (reported)."""
    try:
        parsed = to_datetime(value, zone)
    except DateError as exc:
        if file_day is None:
            fail(f"date: {exc}, and the file name has no date; skipped")
            return None
        warn(f"date: {exc}; using the file name's date {file_day.isoformat()}")
        parsed = None
    if parsed is not None:
        return parsed
    if file_day is None:
        fail("no date: neither front matter 'date' nor a YYYY-MM-DD- file name; skipped")
        return None
    try:
        return localize(datetime.combine(file_day, time()), zone)
    except DateError as exc:
        fail(f"date: {exc}; skipped")
        return None


def _text_value(value: object, key: str, warn) -> str:
    """A scalar front-matter value as one line of text ("" for none)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, date)):
        try:
            return one_line(str(value))
        except ValueError:  # an integer too long to print (Python refuses over 4300 digits)
            warn(f"{key} is a number too long to use; ignored")
            return ""
    warn(f"{key} is a {type(value).__name__}, not text; ignored")
    return ""


def _names(meta: dict, singular: str, plural: str, warn, combined: bool = False) -> tuple[str, ...]:
    """Jekyll's categories/tags: the singular key is one name; the plural key,
    as a string, is split on whitespace; lists are taken as is. With both keys,
    the singular wins (tags), or, ``combined``, the plural's names come first
    and then the singular's (categories), as Jekyll 4 takes them."""
    one, many = meta.get(singular), meta.get(plural)
    if isinstance(many, str) and one is None:
        words = many.split()
        if all(word.isprintable() for word in words):  # the usual "a b c": nothing to clean
            return _at_most(tuple(dict.fromkeys(words)), plural, warn)
    given: list[tuple[str, list]] = []  # (key, its values)
    if many is not None and (one is None or combined):
        given.append((plural, many.split() if isinstance(many, str) else many if isinstance(many, list) else [many]))
    if one is not None:
        given.append((singular, one if isinstance(one, list) else [one]))
    names: dict[str, None] = {}
    for key, raw in given:
        dropped: list[object] = []
        for item in raw:
            for value in item if isinstance(item, list) else (item,):  # one nested level is flattened
                if isinstance(value, (list, dict)):
                    dropped.append(value)
                    continue
                text = _text_value(value, key, warn)
                if text:
                    names.setdefault(text, None)
        if dropped:
            warn(f"{key}: {len(dropped)} value(s) are not names ({brief(dropped[0])}…); ignored")
    return _at_most(tuple(names), given[0][0] if len(given) == 1 else plural, warn)


def _titled(slug: str) -> str:
    """A slug as Jekyll titles a post without one: "no-title" -> "No Title"."""
    return " ".join(word.capitalize() for word in slug.split("-"))


def _shows(text: str) -> str:
    """``text`` unless it is only spaces and invisible format characters (zero-width space, BOM)."""
    if text.isprintable() or any(not ch.isspace() and unicodedata.category(ch) != "Cf" for ch in text):
        return text  # (one_line() has trimmed the spaces: printable text shows)
    return ""


def _at_most(names: tuple[str, ...], key: str, warn) -> tuple[str, ...]:
    """The first MAX_NAMES names: each is a feed listing the post with all its names,
    so a post with thousands would write gigabytes."""
    if len(names) <= MAX_NAMES:
        return names
    warn(f"{key}: {len(names)} names; only the first {MAX_NAMES} are used")
    return names[:MAX_NAMES]


def _summary(meta: dict, body: str, warn) -> str:
    for key in SUMMARY_KEYS:
        value = meta.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            text = plain_text(value)
            if text:
                return text
        else:
            warn(f"{key} is a {type(value).__name__}, not text; ignored")
    for index, block in enumerate(_blocks(body)):
        stripped = block.strip()
        if index == 0 and stripped.startswith(">"):
            quoted = [line.lstrip()[1:] for line in stripped.split("\n") if line.lstrip().startswith(">")]
            text = plain_text("\n".join(quoted))
            if text:
                return text
        if _LINK_ONLY.fullmatch(stripped):
            continue
        text = plain_text(block)
        if text:
            return text
    return ""


def _blocks(body: str):
    """The body's non-blank paragraphs, first to last, found lazily (bodies can be long)."""
    position = 0
    for separator in _BLANK_LINE.finditer(body):
        block = body[position : separator.start()]
        if block.strip():
            yield block
        position = separator.end()
    block = body[position:]
    if block.strip():
        yield block


def _source_link(meta: dict, body: str, warn) -> str | None:
    for key in LINK_KEYS:
        value = meta.get(key)
        if value is None or value == "":
            continue
        url = absolute_url(value) if isinstance(value, str) else None
        if url is not None:
            return url
        warn(f"{key}: {brief(value)} is not an absolute http(s) URL; ignored")
    for match in autolink_lines(body):
        url = absolute_url(match)
        if url is not None:
            return url
    return None


def autolink_lines(body: str):
    """The URLs of the lines that are only an autolink, last line first.

    Only lines holding "<http" can be such lines, so they are found with
    rfind from the end, not by trying a pattern at every character.
    """
    end = len(body)
    while (at := body.rfind("<http", 0, end)) >= 0:
        start = body.rfind("\n", 0, at) + 1
        stop = body.find("\n", at)
        match = _AUTOLINK_LINE.fullmatch(body, start, len(body) if stop < 0 else stop)
        if match is not None:
            yield match.group(1)
        end = start  # on to the lines before this one
