"""The post files of the sources with their stat, and digests of parts of that list.

A cron run usually finds almost every file as the cache last saw it. Comparing
50,000 files one by one with the cache costs more than the rest of such a run,
so the listing is cut into chunks, each with a digest of its paths, sizes,
mtimes and ctimes. The cache keeps the digests of the last listing in which it
trusted every file; a run then looks file by file only at the chunks whose
digest differs.

Chunk boundaries depend only on the paths (a boundary falls before each file
whose name's CRC-32 ends in eight zero bits, and at each source), so adding or
removing a file changes one chunk, not every chunk after it. Each chunk stands
for a range of paths [low, high): within one source, paths sort as the
listing does, in Python and in SQLite alike (code points, UTF-8 bytes).
"""

from __future__ import annotations

import hashlib
import marshal
import os
import zlib
from bisect import bisect_left
from operator import eq, itemgetter
from pathlib import Path
from typing import NamedTuple

from feeds.model import Problem

# (display path, path, size, mtime_ns, ctime_ns); size -1 when it cannot be stat'ed
Row = tuple[str, str, int, int, int]
CHUNK_MASK = 0xFF  # about one boundary per 256 files


class Chunk(NamedTuple):
    low: str  # the chunk's first path (for a source's first chunk, the source's own prefix)
    high: str  # the next chunk's first path, or a path above the whole source (exclusive)
    start: int  # its rows in the listing: [start, end)
    end: int


class Listing(NamedTuple):
    rows: list[Row]
    chunks: list[Chunk]


# Jekyll's Markdown extensions (its markdown_ext default)
POST_SUFFIXES = (".md", ".markdown", ".mkdown", ".mkdn", ".mkd")
_DISPLAY = itemgetter(0)
# Names Jekyll leaves out of a folder it reads (its EntryFilter): hidden ones,
# "_" (_drafts, a post put aside) and "#" (an editor's autosave); the files
# and folders so named are skipped, as by Jekyll, except a folder named
# _posts (Jekyll's posts, at any depth). (A name ending "~" has no post suffix.)
IGNORED_PREFIXES = (".", "_", "#")


def discover(sources: tuple[Path, ...], problems: list[Problem] | None = None) -> list[tuple[str, str]]:
    """Every post file under the sources, in a deterministic order, as (display path, path).

    Sources keep the order given; inside a directory files are ordered by
    their relative path. Hidden files and directories, and those whose names
    start with "_" or "#" (but _posts), are skipped (as Jekyll does); symlinked
    directories are not followed. A directory that cannot be listed is added
    to ``problems`` (its posts are unknown, so this is an error). The display
    path is the path, except that bytes of a file name that are not UTF-8 are
    shown as ``\\xNN`` (such a name cannot go into messages or the cache as it is).
    """
    listing = list_files(sources, [] if problems is None else problems, stats=False)
    return [(display, path) for display, path, *_ in listing.rows]


def shown(path: str) -> str:
    """A path as valid Unicode text (see discover())."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# the stat of a row listed without one (list_files(stats=False)), as of one that cannot be stat'ed
NO_STAT = (-1, 0, 0)


def list_files(sources: tuple[Path, ...], problems: list[Problem], stats: bool = True) -> Listing:
    """Every post file of the sources (see discover()), with its stat, and the chunks.

    A source's chunks together cover every path below it (or, for a source
    that is one file, that path), even where no file is listed: a file gone
    from the start of a source lies in its first chunk's range.

    ``stats=False`` lists the same files and chunks without a stat of each
    (they are NO_STAT): for a run that compares no stat (a cache that knows
    no file, or none), a sixth of a second at 50,000 files.
    """
    rows: list[Row] = []
    chunks: list[Chunk] = []
    for source in sources:
        top = str(source)
        if not os.path.isdir(top):
            found = [(shown(top), top, *(_stat(top) if stats else NO_STAT))]
            cuts: set[str] = set()
            low = high = found[0][0]
            high += "\x00"  # just that path
        else:
            found, cuts = [], set()
            prefix = os.path.join(top, "")
            _collect(top, shown(prefix), found, cuts, problems, stats)
            found.sort(key=_DISPLAY)  # by display path: within one source, the order of the paths below it
            found = _distinct(found, problems)
            low = shown(prefix)
            high = low[:-1] + chr(ord(low[-1]) + 1)  # "dir/" -> "dir0": above all of "dir/..."
        chunks.extend(_chunks(found, cuts, len(rows), low, high))
        rows.extend(found)
    return Listing(rows, chunks)


def _distinct(rows: list[Row], problems: list[Problem]) -> list[Row]:
    """Sorted rows without a second file shown under one display path.

    Only a file name that is not UTF-8 (shown with ``\\xNN``) next to one
    spelled with those very characters can do that; everything is keyed by the
    display path, so the second one is left out, with an error.
    """
    shown_as = [row[0] for row in rows]
    if not any(map(eq, shown_as[1:], shown_as[:-1])):  # (the usual case, checked in one C loop)
        return rows
    rows = sorted(rows)  # equal display paths: in the order of their paths (the first one is kept)
    clash = [i for i in range(1, len(rows)) if rows[i][0] == rows[i - 1][0] and rows[i][1] != rows[i - 1][1]]
    if not clash:
        return rows
    for i in clash:
        problems.append(
            Problem(rows[i][0], "another file's name is shown the same way (one of them is not UTF-8); rename one; left out")
        )
    dropped = set(clash)
    return [row for i, row in enumerate(rows) if i not in dropped]


def _stat(path: str) -> tuple[int, int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (-1, 0, 0)  # reading it will say why
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _collect(
    directory: str, display: str, into: list[Row], cuts: set[str], problems: list[Problem], stats: bool = True
) -> None:
    """Post files under ``directory`` (shown as ``display``, with a trailing separator),
    with a stat each (or NO_STAT without ``stats``); the display paths that start a
    chunk go in ``cuts``.

    Directories are told by the types the directory listing gives (a stat only
    where the file system leaves a type unknown): a directory, whatever its
    name, is looked into (one that cannot be is reported), a link to one never
    is. Any other name with a post suffix is a post file; a link, to anything
    or nothing, and a name whose type cannot be told are listed, and reading
    them will say what they are.
    """
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        problems.append(_unlistable(display, exc))
        return
    try:
        with os.scandir(fd) as entries:
            listed = [(entry.name, _is_directory(entry)) for entry in entries]
        subdirectories = []
        base = os.path.join(directory, "")
        plain = base == display  # no byte of the path so far needs showing otherwise
        stat, suffixes, crc = os.stat, POST_SUFFIXES, zlib.crc32
        for name, is_directory in listed:
            if name.startswith(IGNORED_PREFIXES) and not (is_directory and name == "_posts"):
                continue  # hidden, or one Jekyll leaves out
            if is_directory:
                subdirectories.append(name)
                continue
            if not (name.endswith(suffixes) or name.lower().endswith(suffixes)):
                continue
            path = base + name
            try:
                encoded = name.encode("utf-8")
                seen = path if plain else display + name
            except UnicodeEncodeError:
                encoded = name.encode("utf-8", "surrogateescape")
                seen = display + shown(name)
            if crc(encoded) & CHUNK_MASK == 0:
                cuts.add(seen)
            if not stats:
                into.append((seen, path, *NO_STAT))
                continue
            try:
                info = stat(name, dir_fd=fd)
            except OSError:  # a broken link, or gone: listed, and reading it will say why
                into.append((seen, path, *NO_STAT))
                continue
            into.append((seen, path, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    except OSError as exc:
        problems.append(_unlistable(display, exc))
        return
    finally:
        os.close(fd)
    for name in subdirectories:
        _collect(os.path.join(directory, name), os.path.join(display + shown(name), ""), into, cuts, problems, stats)


def _is_directory(entry: os.DirEntry) -> bool:
    """A directory, not a link to one; False where that cannot be told (a stat refused)."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def with_stats(listing: Listing, stats: dict[str, tuple[int, int, int]]) -> Listing:
    """The listing with each row's stat taken from ``stats`` (by display path), where it has one."""
    rows = [(row[0], row[1], *stats.get(row[0], row[2:])) for row in listing.rows]
    return Listing(rows, listing.chunks)


def _unlistable(display: str, exc: OSError) -> Problem:
    return Problem(display.rstrip(os.sep), f"cannot list directory: {exc.strerror or exc}; its posts are left out")


def _chunks(rows: list[Row], cuts: set[str], offset: int, low: str, high: str) -> list[Chunk]:
    """The chunks of one source's rows (which start at ``offset`` in the listing),
    covering [low, high); one empty chunk for a source without files."""
    starts = [0]
    if cuts:  # where each cut is among the sorted display paths
        shown_as = [row[0] for row in rows]
        at = {i for cut in cuts if 0 < (i := bisect_left(shown_as, cut)) < len(rows) and shown_as[i] == cut}
        starts += sorted(at)
    ends = [*starts[1:], len(rows)]
    return [
        Chunk(rows[a][0] if a else low, rows[b][0] if b < len(rows) else high, offset + a, offset + b)
        for a, b in zip(starts, ends)
    ]


def digest(rows: list[Row]) -> str:
    """A digest of rows' (path, size, mtime, ctime)."""
    # marshal version 2 writes no back-references: equal data, equal bytes
    data = marshal.dumps([(display, size, mtime, ctime) for display, _path, size, mtime, ctime in rows], 2)
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def digests(listing: Listing) -> dict[tuple[str, str], str]:
    """Each chunk's digest, by its (low, high) range."""
    return {(c.low, c.high): digest(listing.rows[c.start : c.end]) for c in listing.chunks}
