"""Runs the stages: list -> read (cached, parallel) -> group -> render -> write.

The clock is passed in; nothing here prints or exits. A run re-reads only
files that changed since the cache saw them, and re-renders only the feeds
those files belong to; when in any doubt (no cache, other settings, an
output directory not built from this cache's state) it renders everything
and the writer still leaves files with unchanged bytes alone.

Two shortcuts serve the common cron runs. With nothing changed, digests of
the listing (feeds.listing) match the ones the cache stored and no file is
compared one by one. With only new posts, their feeds are rendered from the
index of each feed kept from the last build (group.FeedIndex), without
grouping the other posts. Anything else (an edit, a deletion, a duplicate,
a post coming due) goes the general way.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import math
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from stat import S_ISREG
from typing import NamedTuple

from feeds import __version__
from feeds import manifest as manifests
from feeds.cache import RACY_NS, Cache, CacheError, Record
from feeds.config import Settings
from feeds.dates import parse_timezone
from feeds.errors import FeedsError, LockTimeout
from feeds.group import (
    add_posts,
    all_keys,
    dedupe,
    feed_keys,
    group,
    index_of,
    spec_from_index,
)
from feeds.listing import Listing, Row, discover, list_files, with_stats
from feeds.listing import digests as chunk_digests
from feeds.lock import OutputLock
from feeds.model import (
    DIRECTORIES,
    FILE_NAMES,
    FeedSpec,
    Post,
    Problem,
    Severity,
    SiteInfo,
    Stub,
    relative_file,
)
from feeds.read import PARSER_REVISION, FileRead, ReadOptions
from feeds.render import renderers  # (feedgen itself is imported by the first call)
from feeds.write import remove_temp_files

# progress(stage, done, total): stage is "read" or "write"
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class Scan:
    """What reading the sources gave."""

    files: int = 0
    posts: list[Post] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

@dataclass(slots=True)
class BuildReport:
    files: int = 0  # post files found
    posts: int = 0  # posts in the feeds (after duplicates and future posts are set aside)
    problems: list[Problem] = field(default_factory=list)
    feeds: int = 0  # feed files this build stands for (every format)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # rendered, and the bytes were the same
    pruned: list[str] = field(default_factory=list)
    reparsed: int = 0  # files actually read and parsed (the rest came from the cache)
    aborted: bool = False  # --strict found problems; nothing was written
    # No post at all (an empty or unmounted source, every file bad): nothing was
    # written, so live feeds are not emptied by a mistake (and --prune removes nothing).
    empty: bool = False

    @property
    def skipped(self) -> int:
        return count_skipped(self.problems)


def count_skipped(problems: Iterable[Problem]) -> int:
    return len({p.path for p in problems if p.severity is Severity.ERROR})


def read_options(settings: Settings) -> ReadOptions:
    return ReadOptions(
        site_url=settings.site_url,
        timezone=parse_timezone(settings.timezone),
        permalink=settings.permalink,
        summary_length=settings.summary_length,
        encoding=settings.encoding,
        max_size=settings.max_post_size,
    )


def site_info(settings: Settings) -> SiteInfo:
    return SiteInfo(
        url=settings.site_url,
        title=settings.title,
        author=settings.author,
        author_email=settings.author_email,
        lang=settings.lang,
        description=settings.description,
        category_url=settings.category_url,
        tag_url=settings.tag_url,
        link=settings.link,
    )


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(json.dumps([__version__, *map(str, parts)]).encode()).hexdigest()[:32]


def parser_libraries() -> tuple[str, ...]:
    """The libraries whose reading of a post feeds relies on, as they are now: an
    upgrade of PyYAML or dateutil, or PyYAML with or without libyaml (which
    python-frontmatter uses when present), may read some front matter otherwise."""
    import dateutil
    import yaml

    return (f"PyYAML {yaml.__version__}", f"libyaml {yaml.__with_libyaml__}", f"dateutil {dateutil.__version__}")


def read_fingerprint(settings: Settings) -> str:
    """Everything a parsed post depends on besides its bytes."""
    return _fingerprint(
        PARSER_REVISION, parser_libraries(), settings.site_url, settings.timezone, settings.permalink, settings.summary_length,
        settings.encoding, settings.max_post_size,
        # the order of the sources decides which copy of a duplicated post wins
        [str(source) for source in settings.sources],
    )


def render_fingerprint(settings: Settings) -> str:
    """Everything a feed's bytes depend on besides its posts."""
    return _fingerprint(site_info(settings), settings.limit, settings.formats, settings.future)


# --- reading ----------------------------------------------------------------------


def _visible(settings: Settings, now: datetime, posts: list[Post]):
    """Set aside future-dated posts (unless --future) and duplicates; in source order."""
    notes: list[Problem] = []
    due: list[Post] = []
    next_due: datetime | None = None
    for post in posts:
        if post.date > now and not settings.future:
            notes.append(
                Problem(
                    post.path,
                    f"dated in the future ({post.date.isoformat()}); excluded until then (--future to include)",
                    Severity.INFO,
                )
            )
            next_due = post.date if next_due is None or post.date < next_due else next_due
        else:
            due.append(post)
    kept, duplicates = dedupe(due)
    return kept, notes + duplicates, next_due


def scan(settings: Settings, now: datetime, progress: Progress | None = None) -> Scan:
    """Read every post file without the cache; what `feeds check` reports."""
    from feeds.parallel import load_many

    listing_problems: list[Problem] = []
    files = discover(settings.sources, listing_problems)
    loaded = load_many(files, read_options(settings), settings.jobs, _stage(progress, "read", len(files)))
    result = Scan(files=len(files), problems=listing_problems)
    posts = []
    for item in loaded:
        result.problems.extend(item.problems)
        if item.post is not None:
            posts.append(item.post)
    result.posts, notes, _ = _visible(settings, now, posts)
    result.problems.extend(notes)
    return result


def _stage(progress: Progress | None, stage: str, total: int):
    if progress is None:
        return None
    return lambda done: progress(stage, done, total)


@dataclass(slots=True)
class _Read:
    """The outcome of the read phase."""

    fresh: dict[str, FileRead]  # files read and parsed by this run (their .post and .problems, as a Record's)
    reused: list[str]  # files whose cached result still holds (not loaded until needed)
    order: list[str]  # listed files, in source order
    changed: set[str]  # files whose content differs from what the cache knew (incl. new)
    removed: set[str]  # files the cache knew that are gone
    before: dict[str, Record]  # what the cache knew of changed and removed files
    state_before: str
    state_after: str
    cache: Cache | None
    listing_problems: list[Problem]
    # what the cache is still to store (files read, files gone, listing digests)
    pending: tuple[list[FileRead], list[str], dict[tuple[str, str], str]] | None = None

    def commit(self) -> bool:
        """Store in the cache what this run read (once; a no-op without a cache).

        False if another build changed the cache since this run read it: then
        the cache holds more than this run has seen, and ``state_after`` is ""
        (no output directory is to be recorded as built from it).
        """
        if self.pending is None or self.cache is None:
            return self.state_after != ""
        store, removed, digests = self.pending
        matched = self.cache.update(store, removed, expect=self.state_before)
        self.pending = None  # stored (had update() failed, it would still be pending)
        if not matched:
            self.state_after = ""
            return False
        self.state_after = self.cache.state
        self.cache.set_listing_digests(digests)
        return True

    def posts(self) -> list[Post | Stub]:
        """Every post in source order: fresh ones whole, cached ones as stubs."""
        stubs = self.cache.stubs() if self.reused and self.cache is not None else {}
        found: list[Post | Stub] = []
        for path in self.order:
            record = self.fresh.get(path)
            if record is not None:
                if record.post is not None:
                    found.append(record.post)
            elif path in stubs:
                found.append(stubs[path])
        return found

    def whole(self, specs: list[FeedSpec]) -> list[FeedSpec]:
        """The specs with every stub entry replaced by its whole post from the cache."""
        wanted = {entry.path for spec in specs for entry in spec.entries if isinstance(entry, Stub)}
        if not wanted:
            return specs
        assert self.cache is not None
        records = self.cache.records() if len(wanted) > 2000 else self.cache.records(sorted(wanted))
        whole: dict[str, Post] = {}
        for path in wanted:
            record = records.get(path)
            if record is None or record.post is None:
                raise CacheError(f"{path} vanished from the cache during the build")
            whole[path] = record.post
        return [
            replace(spec, entries=tuple(whole[e.path] if isinstance(e, Stub) else e for e in spec.entries))
            for spec in specs
        ]

    def problems(self) -> list[Problem]:
        """Every file's problems, in source order (without loading posts)."""
        by_path: dict[str, tuple[Problem, ...]] = {path: rec.problems for path, rec in self.fresh.items() if rec.problems}
        if self.reused and self.cache is not None:
            remembered = self.cache.problems_by_path()
            if remembered:
                reused = set(self.reused)
                by_path.update((path, problems) for path, problems in remembered if path in reused)
        found: list[Problem] = list(self.listing_problems)
        if not by_path:
            return found
        for path in self.order:
            found.extend(by_path.get(path, ()))
        return found


class _Plan(NamedTuple):
    """Which files a run must compare one by one with the cache (see feeds.listing)."""

    state: str  # the cache's state, read with what follows
    vouched: list[str]  # files in chunks whose digest is the one stored: as the cache holds them
    check: list[Row]  # the other files
    known: dict[str, tuple[int, int, int, int]]  # the cache's rows of the chunks to check (and of gone ones)
    unchanged: bool  # every chunk as stored: nothing to compare, nothing to store


def _plan(cache: Cache, listing: Listing, current: dict[tuple[str, str], str]) -> _Plan:
    state, stored = cache.listing_digests()
    if stored and len(current) == len(listing.chunks):  # (chunks with one range each)
        same = {key for key, token in current.items() if stored.get(key) == token}
        unsure = [c for c in listing.chunks if (c.low, c.high) not in same]
        gone = [key for key in stored if key not in same]  # ranges this listing changed or lacks
        if not unsure and not gone:
            return _Plan(state, [row[0] for row in listing.rows], [], {}, True)
        snapshot_state, known = cache.snapshot(list(dict.fromkeys([(c.low, c.high) for c in unsure] + gone)))
        if snapshot_state == state:  # else another build moved the cache on meanwhile
            vouched = [row[0] for c in listing.chunks if (c.low, c.high) in same for row in listing.rows[c.start : c.end]]
            return _Plan(state, vouched, [row for c in unsure for row in listing.rows[c.start : c.end]], known, False)
    state, known = cache.snapshot()
    return _Plan(state, [], listing.rows, known, False)


def _read_phase(settings: Settings, cache: Cache | None, progress: Progress | None) -> _Read:
    options = read_options(settings)
    listing_problems: list[Problem] = []
    # Without a cache, or with one that knows no file, no stat is compared: the
    # listing takes none, and each file's stat is the one taken as it is read.
    blank = cache is None or cache.knows_no_file()
    listing = list_files(settings.sources, listing_problems, stats=not blank)
    order = [row[0] for row in listing.rows]
    current = chunk_digests(listing) if cache is not None and not blank else {}
    plan = _plan(cache, listing, current) if cache is not None else _Plan("", [], listing.rows, {}, False)
    state_before, reused, known = plan.state, plan.vouched, plan.known
    if plan.unchanged:
        return _Read(
            fresh={}, reused=order, order=order, changed=set(), removed=set(), before={},
            state_before=state_before, state_after=state_before, cache=cache, listing_problems=listing_problems,
        )
    fresh: list[tuple[str, str]] = []
    fresh_stats: list[tuple[int, int, int]] = []  # as listed
    untrusted: set[str] = set()  # listed files the cache will not hold as trusted after this run
    for display, path, size, mtime_ns, ctime_ns in plan.check:
        # Same size, mtime and ctime (no tool sets ctime back, so `cp -p` and
        # `touch -r` are noticed), and modified well before it was read (not
        # within the clock's resolution of the read): trust the cache.
        entry = known.get(display)
        if (
            entry is not None
            and size >= 0
            and entry[0] == size
            and entry[1] == mtime_ns
            and entry[2] == ctime_ns
            and mtime_ns < entry[3] - RACY_NS
        ):
            reused.append(display)
        else:
            fresh.append((display, path))
            fresh_stats.append((size, mtime_ns, ctime_ns))
    loaded = []
    if fresh:
        from feeds.parallel import load_many

        # A cache that knows no file (or none): every feed will be rendered, so the
        # renderers are imported while the workers read, not after.
        cold = not known and not reused
        loaded = load_many(
            fresh, options, settings.jobs, _stage(progress, "read", len(fresh)),
            meanwhile=partial(renderers, settings.formats) if cold else None,
            checks=cache is not None,
        )

    if blank:
        read_stats = {item.path: (item.size, item.mtime_ns, item.ctime_ns) for item in loaded}
        listing = with_stats(listing, read_stats)
        fresh_stats = [read_stats[path] for path, _ in fresh]
        current = chunk_digests(listing) if cache is not None else {}
    listed = set(order)
    removed = {path for path in known if path not in listed}
    digests = cache.digests(path for path, _ in fresh if path in known) if cache is not None else {}
    changed: set[str] = set()
    store = []
    # (the reads themselves, not a Record each: a frozen dataclass costs about
    # 2 us to make, 0.1 s of the serial part of a cold build of 50,000 posts)
    records = {item.path: item for item in loaded}
    for item, listed_stat in zip(loaded, fresh_stats):  # load_many keeps the order
        path = item.path
        entry = known.get(path)
        if item.size < 0:  # unreadable now: forget it, so it is read again next time
            if entry is not None:
                removed.add(path)
            changed.add(path)
            untrusted.add(path)
            continue
        if entry is None or digests.get(path) != item.digest:
            changed.add(path)
        store.append(item)
        if item.mtime_ns >= item.read_ns - RACY_NS or listed_stat != (item.size, item.mtime_ns, item.ctime_ns):
            untrusted.add(path)  # racy, or changed since it was listed: to be compared again next time
    before: dict[str, Record] = {}
    pending = None
    if cache is not None:
        before = cache.records(sorted((changed & known.keys()) | removed))
        # Each chunk's digest, or "" where the cache will not hold every file of the
        # chunk as trusted: that chunk is compared file by file next time. Every
        # chunk's range is stored, so that the stored ranges hold every path the
        # cache knows (a file gone from the start of a chunk is still looked for).
        trusted = current if len(listed) == len(order) and len(current) == len(listing.chunks) else {}
        if untrusted and trusted:
            trusted = {
                (c.low, c.high): (
                    "" if any(row[0] in untrusted for row in listing.rows[c.start : c.end]) else trusted[(c.low, c.high)]
                )
                for c in listing.chunks
            }
        # stored by commit(): at once when the build can be incremental, else while feeds render
        pending = (store, sorted(removed), trusted)
    return _Read(
        fresh=records,
        reused=reused,
        order=order,
        changed=changed,
        removed=removed,
        before=before,
        state_before=state_before,
        state_after=state_before,
        cache=cache,
        listing_problems=listing_problems,
        pending=pending,
    )


def _open_cache(settings: Settings, notes: list[Problem]) -> Cache | None:
    if settings.cache is None:
        return None
    cache = Cache(settings.cache, read_fingerprint(settings))
    try:
        cache.open()
    except (sqlite3.Error, OSError) as exc:  # e.g. a read-only directory: go on without it
        notes.append(Problem(str(settings.cache), f"cache unusable ({exc}); building without it", Severity.WARNING))
        cache.close()
        return None
    if cache.rebuilt and cache.reset_reason:
        notes.append(Problem(str(settings.cache), cache.reset_reason, Severity.WARNING))
    return cache


# --- the build --------------------------------------------------------------------


def build(settings: Settings, now: datetime, progress: Progress | None = None) -> BuildReport:
    """Build every feed. ``now`` decides only which future-dated posts are due."""
    notes: list[Problem] = []
    cache = _open_cache(settings, notes)
    try:
        return _build(settings, now, cache, notes, progress)
    except (CacheError, sqlite3.DatabaseError) as exc:
        # a record that cannot be read back, or a damaged page that opening the
        # cache did not touch: start the cache afresh and read everything
        if not isinstance(exc, CacheError) and not _corrupt(exc):
            raise  # locked, full, read-only: not the cache's contents
        assert cache is not None and settings.cache is not None
        cache.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(settings.cache) + suffix).unlink(missing_ok=True)
        notes.append(Problem(str(settings.cache), f"cache was corrupt ({exc}); rebuilt", Severity.WARNING))
        cache = _open_cache(settings, notes)
        return _build(settings, now, cache, notes, progress)
    finally:
        if cache is not None:
            cache.close()


SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26  # primary result codes (extended codes keep them in the low byte)


def _corrupt(exc: sqlite3.DatabaseError) -> bool:
    if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return True
    # a text column whose bytes were damaged (Python's sqlite3 gives it no error code)
    return isinstance(exc, sqlite3.OperationalError) and str(exc).startswith("Could not decode to UTF-8")


def _build(
    settings: Settings, now: datetime, cache: Cache | None, notes: list[Problem], progress: Progress | None
) -> BuildReport:
    phase = _read_phase(settings, cache, progress)
    report = BuildReport(files=len(phase.order), problems=notes + phase.problems(), reparsed=len(phase.fresh))
    if settings.strict and any(p.severity is not Severity.INFO for p in report.problems):
        report.aborted = True
        phase.commit()  # what was read stays known
        return report
    if not phase.order:  # no post file at all
        report.empty = True
        return report
    settings.out.mkdir(parents=True, exist_ok=True)
    try:
        waiting = _stage(progress, "wait", math.ceil(settings.wait))
        with OutputLock(settings.out, settings.wait, waiting=waiting) as lock:
            _write_phase(settings, now, cache, phase, report, progress, lock)
    except LockTimeout:
        phase.commit()  # what was read stays known
        raise
    return report


def _write_phase(
    settings: Settings,
    now: datetime,
    cache: Cache | None,
    phase: _Read,
    report: BuildReport,
    progress: Progress | None,
    lock: OutputLock,
) -> None:
    out = settings.out
    manifest = manifests.load(out)
    try:
        next_due = datetime.fromisoformat(manifest.next_due) if manifest.next_due else None
    except ValueError:  # a damaged manifest: trust nothing in it
        manifest = manifests.Manifest(files=manifest.files)
        next_due = None
    fingerprint = render_fingerprint(settings)
    out_key = os.path.realpath(out)
    # This directory is whole, was built from the cache as this run found it,
    # no other build has changed the cache since, and no one (another build,
    # with another cache or none; a person) has changed a file of it since:
    # only what changed needs rendering.
    interrupted = lock.interrupted()
    incremental = (
        cache is not None
        and not interrupted
        and manifest.settings == fingerprint
        and cache.built_state(out_key) == phase.state_before
        and cache.current_state() == phase.state_before
    )
    seen = _output_stats(out, manifest.current) if incremental else None
    incremental = seen is not None and cache is not None and cache.output_digest(out_key) == _output_digest(seen)
    if incremental:
        incremental = phase.commit()
    coming_due = next_due is not None and next_due <= now and not settings.future
    if incremental and _nothing_to_do(settings, phase, manifest, coming_due):  # (every file as it was left)
        assert cache is not None
        if phase.state_after != phase.state_before:  # files read again, found the same
            cache.set_built_state(out_key, phase.state_after)
        report.problems.extend(cache.notes(out_key))  # as the last build found them
        report.posts = manifest.posts
        report.feeds = len(manifest.current)
        return  # nothing changed: nothing to render, nothing to touch

    if interrupted or not incremental:
        remove_temp_files(out)  # of a build killed while writing
    # From the first file changed to the end, a build killed leaves the lock file marked.
    if incremental and not coming_due:
        assert cache is not None
        added = _only_additions(settings, now, cache, phase, manifest)
        assert seen is not None
        if added is not None and _add_posts(
            settings, cache, out_key, phase, manifest, fingerprint, added, report, progress, lock, seen
        ):
            lock.written()
            return
    posts = phase.posts()
    if not posts:  # files, but none gave a post: every one was bad
        report.empty = True
        return
    visible, notes, new_next_due = _visible(settings, now, posts)
    report.problems.extend(notes)
    if cache is not None:
        cache.set_notes(out_key, notes)  # for the runs that will not look at every post
    report.posts = len(visible)
    keys = all_keys(visible)
    files_of = {key: [relative_file(*key, fmt) for fmt in settings.formats] for key in keys}
    current = {relative for files in files_of.values() for relative in files}
    if len(current) != len(keys) * len(settings.formats):
        raise FeedsError("two feeds want the same file (a bug in grouping)")
    report.feeds = len(current)
    only = None
    if incremental:
        only = _affected(phase, posts, visible, next_due if coming_due else None, now) & keys
        only |= {key for key, files in files_of.items() if any(f not in manifest.current for f in files)}
    specs = phase.whole(group(visible, settings.limit, only))
    tasks = _tasks(specs, settings.formats)
    if cache is not None:
        # Until the manifest below is saved, this directory is in no known state:
        # a build killed while writing makes the next one render everything.
        cache.set_built_state(out_key, "")
    manifest = _register(out, manifest, current, lock)

    def store() -> None:
        """What the cache is to keep of this build: the files read (a no-op if
        stored already) and each feed's index. Until the end of this build the
        directory's state is unknown (above), so no later run trusts the index
        should this build fail after storing it."""
        phase.commit()
        if cache is not None:
            cache.save_feed_index(out_key, {(spec.kind, spec.slug): index_of(spec) for spec in specs}, keep=keys)

    if tasks:
        _render_and_write(settings, tasks, report, progress, lock, meanwhile=store)  # stored while the workers render
    else:
        store()
    stale = sorted(manifest.files - current) if settings.prune else []
    # entries feeds would never write (a hand-edited manifest) are dropped, never pruned
    foreign = {relative for relative in stale if not _prunable(out, relative)}
    stale = [relative for relative in stale if relative not in foreign]
    if stale:
        lock.writing()
    report.pruned = _prune(out, stale)
    manifests.save(
        out,
        manifests.Manifest(
            files=(manifest.files | current) - set(report.pruned) - foreign,
            current=current,
            settings=fingerprint,
            next_due=new_next_due.isoformat() if new_next_due else "",
            posts=report.posts,
        ),
        before_write=lock.writing,
    )
    if cache is not None:
        _record_output(cache, out_key, out, current)
        cache.set_built_state(out_key, phase.state_after)
    lock.written()


def _register(out: Path, manifest: manifests.Manifest, current: set[str], lock: OutputLock) -> manifests.Manifest:
    """List the files this build is about to write for the first time in the manifest,
    before writing them: a build killed part-way leaves no feed file that no
    manifest lists (and that --prune could then never remove)."""
    new = current - manifest.files
    if not new:
        return manifest
    lock.writing()
    registered = replace(manifest, files=manifest.files | new)
    manifests.save(out, registered)
    return registered


# More new posts than this in one run: group them all the usual way.
MAX_ADDED = 200


def _only_additions(
    settings: Settings, now: datetime, cache: Cache, phase: _Read, manifest: manifests.Manifest
) -> list[Post] | None:
    """The new posts, when all that changed since the last build is new files whose
    posts are due and have URLs no other file has; else None."""
    if phase.removed or phase.before or (settings.prune and manifest.files - manifest.current):
        return None  # a file changed or went away, or something waits to be pruned
    posts = [record.post for path in phase.changed if (record := phase.fresh[path]).post is not None]
    if len(posts) > MAX_ADDED:
        return None
    if not settings.future and any(post.date > now for post in posts):
        return None  # the next due date changes
    urls = {post.url for post in posts}
    if len(urls) != len(posts) or cache.paths_of_urls(urls) - {post.path for post in posts}:
        return None  # a duplicate: which copy is shown is decided with all posts at hand
    return sorted(posts, key=lambda post: post.path)


def _add_posts(
    settings: Settings,
    cache: Cache,
    out_key: str,
    phase: _Read,
    manifest: manifests.Manifest,
    fingerprint: str,
    posts: list[Post],
    report: BuildReport,
    progress: Progress | None,
    lock: OutputLock,
    seen: dict[str, tuple[int, int, int]],
) -> bool:
    """Render just the feeds of some new posts, from the feed index of the last build.

    ``seen`` is the stat of each file of the directory as this run found it.
    Returns False, having changed nothing, when the index does not know a feed
    that the last build wrote.
    """
    keys_of = {post.path: feed_keys(post) for post in posts}
    affected = sorted(set().union(*keys_of.values())) if posts else []
    known = cache.feed_index(out_key, affected)
    if any(relative_file(*key, fmt) in manifest.current for key in affected if key not in known for fmt in settings.formats):
        return False
    indexes = {
        key: add_posts(known.get(key), *key, [post for post in posts if key in keys_of[post.path]], settings.limit)
        for key in affected
    }
    whole = {post.path: post for post in posts}
    old = sorted({path for index in indexes.values() for *_, path in index.entries if path not in whole})
    for path, record in cache.records(old).items():
        if record.post is not None:
            whole[path] = record.post
    if any(path not in whole for path in old):
        raise CacheError("a feed's entry vanished from the cache during the build")
    specs = [spec_from_index(kind, slug, indexes[(kind, slug)], whole) for kind, slug in affected]
    current = manifest.current | {relative_file(*key, fmt) for key in affected for fmt in settings.formats}
    report.posts = manifest.posts + len(posts)
    report.feeds = len(current)
    report.problems.extend(cache.notes(out_key))  # new posts here are due and no duplicates
    cache.set_built_state(out_key, "")
    manifest = _register(settings.out, manifest, current, lock)
    tasks = _tasks(specs, settings.formats)
    if tasks:
        _render_and_write(settings, tasks, report, progress, lock)
    cache.save_feed_index(out_key, indexes, keep=None)
    manifests.save(
        settings.out,
        replace(manifest, files=manifest.files | current, current=current, settings=fingerprint, posts=report.posts),
        before_write=lock.writing,
    )
    _record_output(cache, out_key, settings.out, current, seen, report.written)
    cache.set_built_state(out_key, phase.state_after)
    return True


def _tasks(specs: list[FeedSpec], formats) -> list[tuple[str, str, FeedSpec]]:
    """(file, format, spec) of each feed in each format; a feed's formats one after another
    (the renderer makes a feed's entries once for all its formats)."""
    return [(relative_file(spec.kind, spec.slug, fmt), fmt, spec) for spec in specs for fmt in formats]


def _nothing_to_do(settings: Settings, phase: _Read, manifest: manifests.Manifest, coming_due: bool) -> bool:
    """No post changed, none came due, and nothing is to be pruned."""
    return (
        not phase.changed
        and not phase.removed
        and not coming_due
        and not (settings.prune and manifest.files - manifest.current)
    )


def _output_stats(out: Path, relatives: Iterable[str]) -> dict[str, tuple[int, int, int]] | None:
    """The (size, mtime, inode) of the manifest and of each given file of ``out``;
    None if one of them is missing, not a regular file, or empty (no feed is
    0 bytes: someone emptied it)."""
    found: dict[str, tuple[int, int, int]] = {}
    for relative in (manifests.MANIFEST_NAME, *relatives):
        try:
            info = os.stat(os.path.join(out, relative))
        except OSError:
            return None
        if not S_ISREG(info.st_mode) or info.st_size == 0:
            return None
        found[relative] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return found


def _output_digest(stats: dict[str, tuple[int, int, int]]) -> str:
    # marshal version 2 writes no back-references: equal data, equal bytes
    return hashlib.blake2b(marshal.dumps(sorted(stats.items()), 2), digest_size=16).hexdigest()


def _record_output(
    cache: Cache,
    out_key: str,
    out: Path,
    current: set[str],
    seen: dict[str, tuple[int, int, int]] | None = None,
    written: Iterable[str] = (),
) -> None:
    """Tell the cache how this build leaves the directory's files, so that the next
    run notices a file changed by anyone else. With ``seen`` (the stats found at
    the start), only the manifest, the files ``written`` and new ones are looked at
    again; the others keep the stats seen."""
    stats = _output_stats(out, current if seen is None else {*written, *(current - seen.keys())})
    if stats is not None and seen is not None:
        stats = {relative: seen[relative] for relative in current if relative not in stats} | stats
    cache.set_output_digest(out_key, _output_digest(stats) if stats is not None else "")


def _render_and_write(
    settings: Settings, tasks: list, report: BuildReport, progress: Progress | None, lock: OutputLock, meanwhile=None
) -> None:
    from feeds.parallel import (
        render_many,  # rendering imports feedgen and lxml: only when needed
    )
    from feeds.render import FeedRenderer

    done = render_many(
        tasks, site_info(settings), settings.out, FeedRenderer(settings.formats), settings.jobs,
        _stage(progress, "write", len(tasks)),
        meanwhile=meanwhile, before_write=lock.writing,
    )
    report.written = [relative for relative, changed in done if changed]
    report.unchanged = [relative for relative, changed in done if not changed]


def _affected(
    phase: _Read, posts: list[Post | Stub], visible: list[Post | Stub], due_from: datetime | None, now: datetime
) -> set[tuple[str, str]]:
    """The feeds whose entries may differ from the last build of this directory."""
    touched: list[Post | Stub] = []
    for path in phase.changed | phase.removed:
        for source in (phase.before.get(path), phase.fresh.get(path)):
            if source is not None and source.post is not None:
                touched.append(source.post)
    if due_from is not None:
        touched.extend(post for post in visible if due_from <= post.date <= now)
    urls = {post.url for post in touched}
    if urls:  # a change to one copy of a duplicated post may change which copy is shown
        touched.extend(post for post in posts if post.url in urls)
    affected: set[tuple[str, str]] = set()
    for post in touched:
        affected |= feed_keys(post)
    return affected


def _prunable(out: Path, relative: str) -> bool:
    """Only a feed file name feeds itself makes, really inside ``out`` (a manifest is just a file)."""
    parts = relative.split("/")
    names = set(FILE_NAMES.values())
    if parts[-1] not in names or any(part in ("", ".", "..") or "\\" in part for part in parts):
        return False
    if not (len(parts) == 1 or (len(parts) == 3 and parts[0] in DIRECTORIES.values())):
        return False
    root = os.path.realpath(out)
    return os.path.commonpath([root, os.path.realpath(os.path.join(out, *parts[:-1]))]) == root


def _prune(out: Path, stale: list[str]) -> list[str]:
    """Remove files an earlier run wrote that this run no longer produces."""
    removed = []
    for relative in stale:
        if not _prunable(out, relative):
            continue
        path = out / relative
        try:
            path.unlink()
            removed.append(relative)
        except FileNotFoundError:
            removed.append(relative)
        parent = path.parent
        while parent != out:
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
            parent = parent.parent
    return removed
