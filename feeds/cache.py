"""The incremental cache: an SQLite file remembering each post file's parsed result.

Keyed by path, size, mtime and ctime; a content digest settles doubt for
files modified so recently that a same-size rewrite within the clock's
resolution could hide. The cache only saves work: losing it, or keeping one
made with other options, sources or another version (it is then started
afresh), changes no output byte.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from feeds.group import FeedIndex
from feeds.model import Post, Problem, Severity, Stub
from feeds.read import FileRead

SCHEMA = 8
# A new cache file's page size: rows are about a kilobyte (a Chinese summary),
# and 16 KiB pages fill a cold build's table a fifth faster than the default 4 KiB.
# (SQLite applies it to new files only: an older cache keeps its page size, which costs speed, never bytes.)
PAGE_SIZE = 16384
# which files hold a post with a given URL (a new post's duplicates, found at once)
_URL_INDEX = "CREATE INDEX IF NOT EXISTS files_url ON files (url)"
BULK_ROWS = 1000  # from this many rows into an empty table, the URL index is made after them
# A file whose mtime is this close to the moment we read it is "racy": it is
# checked by content next time, whatever its size and mtime say.
RACY_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class Record:
    """One file's parsed result."""

    path: str
    post: Post | None
    problems: tuple[Problem, ...]


def post_row(post: Post | None) -> tuple | None:
    if post is None:
        return None
    return (
        post.path, post.title, post.date, post.updated, post.categories, post.tags,
        post.summary, post.link, post.url,
    )


_SEP = "\x1f"  # between names; a character XML forbids, so never part of one


def _post_columns(post: Post | None) -> tuple:
    if post is None:
        return (None,) * 8
    date = post.date.isoformat()
    return (
        post.url,
        date,
        date if post.updated is post.date else post.updated.isoformat(),
        _SEP.join(post.categories),
        _SEP.join(post.tags),
        post.title,
        post.summary,
        post.link,
    )


def _check(values: tuple, extra: bytes = b"") -> bytes:
    """A checksum of a record's text columns (and ``extra`` bytes): a damaged page
    that still reads as a row (bytes changed inside a text) is found, not served.
    The columns hold no NUL and no U+0001 (XML forbids both), so they join unambiguously."""
    text = "\x00".join(["\x01" if value is None else value for value in values])
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass") + extra, digest_size=8).digest()


def _checks(path: str, columns: tuple, problems: bytes | None) -> bytes:
    """(stub columns' checksum) + (the rest's): stubs() reads only the first part."""
    stub = _check((path, *columns[:5]))
    return stub + _check(columns[5:], stub + (problems or b""))


def _problems_blob(read: FileRead) -> bytes | None:
    return pickle.dumps(problem_rows(read.problems), 5) if read.problems else None


def record_checks(read: FileRead) -> bytes:
    """The checksums of the record that stores one file read."""
    return _checks(read.path, _post_columns(read.post), _problems_blob(read))


def file_row(read: FileRead) -> tuple:
    """The row of the files table that stores one file read."""
    columns = _post_columns(read.post)
    problems = _problems_blob(read)
    return (
        read.path, read.size, read.mtime_ns, read.ctime_ns, read.digest, read.read_ns,
        *columns, problems, read.checks or _checks(read.path, columns, problems),
    )


def problem_rows(problems: tuple[Problem, ...]) -> tuple:
    return tuple((p.path, p.message, p.severity.value, p.line) for p in problems)


def row_problems(rows) -> tuple[Problem, ...]:
    return tuple(Problem(path, message, Severity(severity), line) for path, message, severity, line in rows)


class CacheError(Exception):
    """The cache file is unusable (corrupt, locked, not a database)."""


class Cache:
    def __init__(self, path: Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.db: sqlite3.Connection | None = None
        self.state = ""
        self.reset_reason: str | None = None  # why the cache started empty, if it did
        self.rebuilt = False  # True when the file was unreadable and was made anew

    # --- opening --------------------------------------------------------------

    def open(self) -> None:
        """Open (creating if needed); a cache of other options or version starts empty."""
        try:
            self._connect()
        except sqlite3.OperationalError:
            raise  # locked or unreachable, not broken: never delete a cache another build uses
        except (sqlite3.DatabaseError, CacheError) as exc:
            self.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
            self.reset_reason = f"cache {self.path} was unreadable ({exc}); rebuilt"
            self.rebuilt = True
            self._connect()

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db = db
        db.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL mode: a new file is made with it
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        meta = dict(db.execute("SELECT key, value FROM meta"))
        if "state" not in meta or meta.get("schema") != str(SCHEMA) or meta.get("fingerprint") != self.fingerprint:
            if meta:
                self.reset_reason = "cache made with other options or another version; starting afresh"
            db.execute("BEGIN")
            db.execute("DROP TABLE IF EXISTS files")
            db.execute(
                "CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
                " mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, digest BLOB NOT NULL,"
                " read_ns INTEGER NOT NULL,"
                # the post as plain columns (url is NULL when the file gave no post)
                " url TEXT, date TEXT, updated TEXT, categories TEXT, tags TEXT,"
                " title TEXT, summary TEXT, link TEXT, problems BLOB, checks BLOB NOT NULL)"
            )
            db.execute(_URL_INDEX)
            # the few files with problems, which every run reports: found without
            # reading the whole table (partial, so other rows cost nothing)
            db.execute("CREATE INDEX files_problems ON files (path, problems) WHERE problems IS NOT NULL")
            # each output directory's feeds as its last build left them (see group.FeedIndex)
            db.execute("DROP TABLE IF EXISTS feeds")
            db.execute(
                "CREATE TABLE feeds (out TEXT NOT NULL, kind TEXT NOT NULL, slug TEXT NOT NULL,"
                " spellings TEXT NOT NULL, entries TEXT NOT NULL, checks BLOB NOT NULL, PRIMARY KEY (out, kind, slug))"
            )
            db.execute("DELETE FROM meta")
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [("schema", str(SCHEMA)), ("fingerprint", self.fingerprint), ("state", secrets.token_hex(16))],
            )
            db.execute("COMMIT")
            meta = dict(db.execute("SELECT key, value FROM meta"))
        self.state = meta["state"]

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    # --- which state an output directory was built from ---------------------------

    def _get(self, key: str) -> str | None:
        assert self.db is not None
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _put(self, key: str, value: str) -> None:
        assert self.db is not None
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def current_state(self) -> str:
        """The state as stored now (another build may have moved it on)."""
        return self._get("state") or ""

    def built_state(self, out_key: str) -> str | None:
        return self._get(f"built:{out_key}")

    def set_built_state(self, out_key: str, state: str) -> None:
        self._put(f"built:{out_key}", state)

    def output_digest(self, out_key: str) -> str | None:
        """A digest of the stat of each file the last build left in ``out_key``."""
        return self._get(f"output:{out_key}")

    def set_output_digest(self, out_key: str, digest: str) -> None:
        self._put(f"output:{out_key}", digest)

    def notes(self, out_key: str) -> tuple[Problem, ...]:
        """The notes (future posts left out, duplicates) of the last build of ``out_key``."""
        data = self._get(f"notes:{out_key}")
        try:
            return row_problems(json.loads(data)) if data else ()
        except (TypeError, ValueError):
            return ()  # unreadable: they are only notes

    def set_notes(self, out_key: str, notes: list[Problem]) -> None:
        self._put(f"notes:{out_key}", json.dumps(problem_rows(tuple(notes)), ensure_ascii=False))

    # --- what each output directory's feeds hold ------------------------------------

    def feed_index(self, out_key: str, keys) -> dict[tuple[str, str], FeedIndex]:
        """The remembered index of each of the given feeds of ``out_key`` that has one."""
        assert self.db is not None
        found = {}
        try:
            for kind, slug in keys:
                row = self.db.execute(
                    "SELECT spellings, entries, checks FROM feeds WHERE out = ? AND kind = ? AND slug = ?",
                    (out_key, kind, slug),
                ).fetchone()
                if row is not None:
                    if row[2] != _check((out_key, kind, slug, row[0], row[1])):
                        raise CacheError(f"damaged feed index of {kind} {slug!r}")
                    spellings, entries = json.loads(row[0]), json.loads(row[1])
                    found[(kind, slug)] = FeedIndex(
                        tuple((name, count) for name, count in spellings),
                        tuple((order, url, path) for order, url, path in entries),
                    )
        except (TypeError, ValueError) as exc:
            raise CacheError(f"unreadable feed index: {exc}") from exc
        return found

    def save_feed_index(
        self, out_key: str, indexes: dict[tuple[str, str], FeedIndex], keep: set[tuple[str, str]] | None
    ) -> None:
        """Store feed indexes; with ``keep``, forget the feeds of ``out_key`` not in it."""
        assert self.db is not None
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            if keep is not None:
                stale = [
                    (out_key, kind, slug)
                    for kind, slug in db.execute("SELECT kind, slug FROM feeds WHERE out = ?", (out_key,))
                    if (kind, slug) not in keep
                ]
                db.executemany("DELETE FROM feeds WHERE out = ? AND kind = ? AND slug = ?", stale)
            rows = [
                (out_key, kind, slug, json.dumps(index.spellings, ensure_ascii=False),
                 json.dumps(index.entries, ensure_ascii=False))
                for (kind, slug), index in indexes.items()
            ]
            db.executemany("INSERT OR REPLACE INTO feeds VALUES (?, ?, ?, ?, ?, ?)", [(*row, _check(row)) for row in rows])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def paths_of_urls(self, urls) -> set[str]:
        """The files whose post has one of these URLs."""
        assert self.db is not None
        urls = list(urls)
        found: set[str] = set()
        for start in range(0, len(urls), 500):
            part = urls[start : start + 500]
            found.update(
                path
                for (path,) in self.db.execute(
                    f"SELECT path FROM files WHERE url IN ({', '.join('?' * len(part))})", part
                )
            )
        return found

    # --- reading --------------------------------------------------------------

    def snapshot(self, ranges=None) -> tuple[str, dict[str, tuple[int, int, int, int]]]:
        """The state and (size, mtime_ns, ctime_ns, read_ns) of every known file, or of
        those with paths in the given [low, high) ranges, read together."""
        assert self.db is not None
        self.db.execute("BEGIN")  # one read transaction: another build cannot slip in between
        try:
            state = self.current_state()
            query = "SELECT path, size, mtime_ns, ctime_ns, read_ns FROM files"
            if ranges is None:
                rows = self.db.execute(query)
            else:
                rows = (
                    row
                    for low, high in ranges
                    for row in self.db.execute(query + " WHERE path >= ? AND path < ?", (low, high))
                )
            entries = {path: (size, mtime_ns, ctime_ns, read_ns) for path, size, mtime_ns, ctime_ns, read_ns in rows}
        finally:
            self.db.execute("COMMIT")
        return state, entries

    # --- digests of the listing (see feeds.listing) ------------------------------

    def listing_digests(self) -> tuple[str, dict[tuple[str, str], str]]:
        """The state, and the chunk digests stored for it (empty when none), read together."""
        assert self.db is not None
        rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('state', 'listing')"))
        state = rows.get("state", "")
        try:
            stored = json.loads(rows.get("listing") or "{}")
            if stored.get("state") != state:
                return state, {}  # stored for another state: the files may have changed since
            return state, {(low, high): token for low, high, token in stored["chunks"]}
        except (AttributeError, KeyError, TypeError, ValueError):
            return state, {}  # unreadable: it only costs a full comparison

    def set_listing_digests(self, chunks: dict[tuple[str, str], str]) -> None:
        """Store, for the state this cache object last saw, the digests of the chunks of
        a listing ("" for a chunk with a file the cache does not hold as trusted)."""
        data = {"state": self.state, "chunks": [[low, high, token] for (low, high), token in chunks.items()]}
        self._put("listing", json.dumps(data, ensure_ascii=False))

    def digests(self, paths) -> dict[str, bytes]:
        assert self.db is not None
        found = {}
        for path in paths:
            row = self.db.execute("SELECT digest FROM files WHERE path = ?", (path,)).fetchone()
            if row is not None:
                found[path] = row[0]
        return found

    def knows_no_file(self) -> bool:
        assert self.db is not None
        return self.db.execute("SELECT 1 FROM files LIMIT 1").fetchone() is None

    _RECORD = "SELECT path, url, date, updated, categories, tags, title, summary, link, problems, checks FROM files"

    def records(self, paths=None) -> dict[str, Record]:
        """Parsed results, of every file or of the given paths."""
        assert self.db is not None
        try:
            if paths is None:
                return {row[0]: self._record(*row) for row in self.db.execute(self._RECORD)}
            found: dict[str, Record] = {}
            for path in paths:
                row = self.db.execute(self._RECORD + " WHERE path = ?", (path,)).fetchone()
                if row is not None:
                    found[path] = self._record(*row)
            return found
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError) as exc:
            raise CacheError(f"unreadable record: {exc}") from exc

    def stubs(self) -> dict[str, Stub]:
        """What grouping needs of every cached post, by path."""
        assert self.db is not None
        found: dict[str, Stub] = {}
        fromiso = datetime.fromisoformat
        names: dict[str, tuple[str, ...]] = {"": ()}  # the same few thousand name lists repeat

        def split(joined: str) -> tuple[str, ...]:
            value = names.get(joined)
            if value is None:
                value = names[joined] = tuple(joined.split(_SEP))
            return value

        try:
            for path, url, date, updated, categories, tags, checks in self.db.execute(
                "SELECT path, url, date, updated, categories, tags, checks FROM files WHERE url IS NOT NULL"
            ):
                if checks[:8] != _check((path, url, date, updated, categories, tags)):
                    raise CacheError(f"damaged record of {path!r}")
                when = fromiso(date)
                found[path] = Stub(
                    path, url, when, when if updated == date else fromiso(updated), split(categories), split(tags)
                )
        except (TypeError, ValueError, AttributeError) as exc:
            raise CacheError(f"unreadable record: {exc}") from exc
        return found

    def problems_by_path(self) -> list[tuple[str, tuple[Problem, ...]]]:
        """Every remembered problem, by file (files without problems cost nothing)."""
        assert self.db is not None
        try:
            return [
                (row[0], self._record(*row).problems)
                for row in self.db.execute(self._RECORD + " WHERE problems IS NOT NULL")
            ]
        except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError) as exc:
            raise CacheError(f"unreadable record: {exc}") from exc

    @staticmethod
    def _record(path, url, date, updated, categories, tags, title, summary, link, problems, checks) -> Record:
        if checks != _checks(path, (url, date, updated, categories, tags, title, summary, link), problems):
            raise CacheError(f"damaged record of {path!r}")
        post = None
        if url is not None:
            when = datetime.fromisoformat(date)
            post = Post(
                path=path,
                title=title,
                date=when,
                updated=when if updated == date else datetime.fromisoformat(updated),
                categories=tuple(categories.split(_SEP)) if categories else (),
                tags=tuple(tags.split(_SEP)) if tags else (),
                summary=summary,
                link=link,
                url=url,
            )
        return Record(path, post, row_problems(pickle.loads(problems)) if problems is not None else ())

    # --- writing --------------------------------------------------------------

    def update(self, loaded: list[FileRead], removed: list[str], expect: str | None = None) -> bool:
        """Store freshly read files and forget removed ones, in one transaction.

        Returns False if the cache's state was not ``expect`` (another build
        changed it since this one looked): what is stored is still true of the
        files, but the cache now holds more than this build has seen.
        """
        assert self.db is not None
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'fingerprint'").fetchone()
            if row is None or row[0] != self.fingerprint:
                # another build, with other options, started the cache afresh meanwhile:
                # store nothing, and mark the state unknown so nothing is trusted
                self.state = secrets.token_hex(16)
                db.execute("ROLLBACK")
                return False
            state = self.current_state()
            db.executemany("DELETE FROM files WHERE path = ?", [(path,) for path in removed])
            # Filling an empty table (a cold build): the URL index is made once at
            # the end, not grown row by row (a sixth of the time at 50,000 rows).
            bulk = len(loaded) >= BULK_ROWS and self.knows_no_file()
            if bulk:
                db.execute("DROP INDEX IF EXISTS files_url")
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [file_row(read) for read in loaded],
            )
            if bulk:
                db.execute(_URL_INDEX)
            if loaded or removed:
                self.state = secrets.token_hex(16)
                db.execute("UPDATE meta SET value = ? WHERE key = 'state'", (self.state,))
            else:
                self.state = state
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return expect is None or state == expect
