"""Incremental builds: the cache, the manifest, the lock, --jobs, crash safety, --prune.

The key property: whatever happened before (a cache of other options, a
corrupt cache, a killed build, a build at another clock, --jobs), a build
gives the feed files a clean cold build (--no-cache, fresh --out) gives,
byte for byte. Feeds left behind without --prune (listed in the manifest's
``files`` but not its ``current``) are the one permitted difference.

Every build here keeps its cache in tmp_path (or uses no cache), and every
test that changes posts works on a copy of posts/ without its dot-files.
Post files are given mtimes well in the past (a fake clock that moves one
second per write), so the cache may trust size and mtime, as it would for
files edited minutes before a build.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from conftest import EXAMPLE, NOW, parse, process_ended, settings_for
from feeds import cache as cache_module
from feeds import parallel, read
from feeds.build import build
from feeds.errors import LockTimeout
from feeds.lock import LOCK_NAME, OutputLock
from feeds.manifest import MANIFEST_NAME
from feeds.model import Severity
from feeds.text import slugify
from feeds.write import TEMP_PREFIX

CST = timezone(timedelta(hours=8))
CATEGORIES = ("markets", "tech", "policy", "emnews", "环球")
TAGS = ("AI", "ai", "bonds", "快讯", "fx", "energy", "Fed", "chips", "东财滚动新闻")
WORDS = ("央行", "降准", "rates", "chips", "市场", "rally", "股票", "earnings", "oil", "云", "AI", "新政")
TEMP_GLOB = f"{TEMP_PREFIX}*"


# --- a site whose posts the tests change ------------------------------------------


def q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return json.dumps(text, ensure_ascii=False)


def post_text(
    title: str,
    date: datetime,
    categories=(),
    tags=(),
    summary: str = "A summary.",
    permalink: str | None = None,
) -> str:
    front = [
        "---",
        "layout: post",
        f"title: {q(title)}",
        f"date: {date.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"categories: [{', '.join(map(q, categories))}]",
        f"tags: [{', '.join(map(q, tags))}]",
    ]
    if permalink:
        front.append(f"permalink: {permalink}")
    front.append("---")
    return "\n".join(front) + f"\n\n{summary}\n\nA second paragraph, not in the summary.\n"


def set_front(text: str, key: str, value: str) -> str:
    """Replace (or add) one front-matter line."""
    start = text.index("---")
    end = text.index("\n---", start + 3)
    front = text[start:end]
    line = f"{key}: {value}"
    if re.search(rf"^{key}:.*$", front, re.M):
        front = re.sub(rf"^{key}:.*$", lambda _m: line, front, count=1, flags=re.M)
    else:
        front += "\n" + line
    return text[:start] + front + text[end:]


def random_date(rng: random.Random, start=datetime(2024, 1, 1, tzinfo=CST), days: int = 730) -> datetime:
    return start + timedelta(seconds=rng.randrange(days * 86400))


def random_title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6))) + f" {rng.randrange(10_000)}"


class Site:
    """A copy of posts/ (first source) plus a second source, with old mtimes."""

    def __init__(self, root: Path, example: bool = True):
        self.root = root
        self.posts = root / "posts"
        self.extra = root / "extra"
        if example:
            shutil.copytree(EXAMPLE, self.posts, ignore=shutil.ignore_patterns(".*"))
        else:
            self.posts.mkdir(parents=True)
            (self.posts / "feeds.toml").write_text(
                'site_url = "https://gen.example.org"\ntitle = "Generated"\ntimezone = "Asia/Shanghai"\n',
                encoding="utf-8",
            )
        self.extra.mkdir(parents=True)
        self._clock_ns = time.time_ns() - 10**15  # about 11.6 days ago
        self._serial = 0
        for path in self.files():
            self.age(path)

    # files

    def files(self) -> list[Path]:
        return sorted(p for source in (self.posts, self.extra) for p in source.rglob("*.md"))

    def age(self, path: Path) -> None:
        """Give the file a fresh mtime, long enough ago for the cache to trust it."""
        self._clock_ns += 1_000_000_000
        os.utime(path, ns=(self._clock_ns, self._clock_ns))

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.age(path)
        return path

    def new_post(self, rng: random.Random, date: datetime | None = None, directory: Path | None = None, **kw) -> Path:
        self._serial += 1
        date = date or random_date(rng)
        kw.setdefault("categories", rng.sample(CATEGORIES, rng.randint(1, 2)))
        kw.setdefault("tags", rng.sample(TAGS, rng.randint(0, 3)))
        kw.setdefault("summary", f"Summary {self._serial}: " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))))
        path = (directory or self.posts / "_posts") / f"{date:%Y-%m-%d}-gen-{self._serial}.md"
        return self.write(path, post_text(random_title(rng), date, **kw))

    def generate(self, count: int, rng: random.Random, **kw) -> None:
        for _ in range(count):
            self.new_post(rng, **kw)

    def edit(self, path: Path, key: str, value: str) -> None:
        self.write(path, set_front(path.read_text(encoding="utf-8"), key, value))

    # settings

    def settings(self, out: Path, cache: Path | None = None, **flags):
        """Settings as the CLI would make them; no cache unless one is given."""
        flags.setdefault("jobs", 1)
        if cache is None:
            flags["no_cache"] = True
        else:
            flags["cache"] = cache
        return settings_for(self.posts, self.extra, out=out, cwd=self.root, **flags)

    def cli_args(self, out: Path, cache: Path | None, *extra: str) -> list[str]:
        cache_args = ["--cache", str(cache)] if cache else ["--no-cache"]
        return [str(self.posts), str(self.extra), "--out", str(out), *cache_args, "--jobs", "1", "--quiet", *extra]

    # random changes, for the equivalence test

    def apply(self, op: str, rng: random.Random) -> str:
        files = self.files()
        target = rng.choice(files)
        if op == "add":
            return f"add {self.new_post(rng).name}"
        if op == "delete":
            target.unlink()
            return f"delete {target.relative_to(self.root)}"
        if op == "title":
            self.edit(target, "title", q(random_title(rng)))
            return f"title {target.relative_to(self.root)}"
        if op == "move":
            cats = rng.sample(CATEGORIES, rng.randint(1, 2))
            self.edit(target, "categories", f"[{', '.join(map(q, cats))}]")
            return f"move {target.relative_to(self.root)} -> {cats}"
        if op == "tags":
            tags = rng.sample(TAGS, rng.randint(0, 3))
            self.edit(target, "tags", f"[{', '.join(map(q, tags))}]")
            return f"tags {target.relative_to(self.root)} -> {tags}"
        if op == "duplicate":
            # same file name and front matter but the title: same permalink, in the second source
            originals = [p for p in files if self.posts in p.parents]
            original = rng.choice(originals)
            copy = self.extra / original.name
            self.write(copy, set_front(original.read_text(encoding="utf-8"), "title", q("DUP " + random_title(rng))))
            return f"duplicate {original.relative_to(self.root)} -> {copy.relative_to(self.root)}"
        if op == "future":
            date = NOW.astimezone(CST) + timedelta(hours=rng.randint(1, 2000))
            return f"future {self.new_post(rng, date=date).name}"
        if op == "touch":
            if rng.random() < 0.5:
                self.age(target)
            else:
                os.utime(target)  # now: the cache must look at its content next time
            return f"touch {target.relative_to(self.root)}"
        raise AssertionError(op)


OPS = ("add", "delete", "title", "move", "tags", "duplicate", "future", "touch")


# --- comparing outputs -------------------------------------------------------------


def feed_tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.xml"))}


def whole_tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def stats(out: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.stat().st_ino) for p in out.rglob("*") if p.is_file()
    }


def manifest_of(out: Path) -> dict:
    return json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))


def temp_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob(TEMP_GLOB))


def cold_build(settings, now: datetime) -> dict[str, bytes]:
    """A clean build (no cache, fresh output directory); its feed files."""
    assert settings.cache is None and not settings.out.exists()
    build(settings, now)
    return feed_tree(settings.out)


def assert_like_cold(out: Path, cold_out: Path, note: object = "", foreign: set[str] = frozenset()) -> None:
    """``out`` holds the feeds of the cold build in ``cold_out``, byte for byte.

    Files listed in the manifest's ``files`` but not ``current`` (kept
    without --prune) are ignored; ``foreign`` names files feeds did not write.
    """
    cold = feed_tree(cold_out)
    mine = feed_tree(out)
    manifest = manifest_of(out)
    current, listed = set(manifest["current"]), set(manifest["files"])
    assert sorted(current) == sorted(cold), note
    assert current <= listed, note
    assert set(mine) - foreign <= listed, ("feed files the manifest does not list", note)
    differ = sorted(rel for rel in cold if mine.get(rel) != cold[rel])
    assert differ == [], (differ, note)
    cold_manifest = manifest_of(cold_out)
    for key in ("settings", "next_due", "posts"):
        assert manifest[key] == cold_manifest[key], (key, note)


def entry_titles(path: Path) -> list[str]:
    tree = etree.parse(str(path))
    return [t.text for t in tree.iter("{http://www.w3.org/2005/Atom}title")][1:]


def feed_files_of(categories=(), tags=()) -> set[str]:
    names = {"atom.xml", "rss.xml"}
    for directory, values in (("categories", categories), ("tags", tags)):
        for value in values:
            names |= {f"{directory}/{slugify(value)}/atom.xml", f"{directory}/{slugify(value)}/rss.xml"}
    return names


def changed_files(before: dict, after: dict) -> set[str]:
    return {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}


def cache_warnings(report, cache: Path) -> list[str]:
    """Warnings about the cache file (not about a post that happens to live under a path with "cache")."""
    return [
        str(p)
        for p in report.problems
        if p.severity is Severity.WARNING and (p.path == str(cache) or "cache" in p.message.lower())
    ]


def run_cli(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "feeds", "build", *args],
        cwd=cwd, capture_output=True, text=True, encoding="utf-8", timeout=timeout,
    )


def popen_cli(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "feeds", "build", *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
    )


@pytest.fixture
def site(tmp_path) -> Site:
    """posts/ copied, plus 60 generated posts over a few categories and tags (+0800)."""
    s = Site(tmp_path / "site")
    s.generate(60, random.Random(60))
    return s


# --- 1. equivalence -----------------------------------------------------------------


@pytest.mark.parametrize("seed, limit", [(1, None), (2, 5), (3, 0), (4, None)])
def test_incremental_builds_equal_cold_builds(tmp_path, seed, limit):
    rng = random.Random(seed)
    site = Site(tmp_path / "site")
    site.generate(60, rng)
    out, cache = tmp_path / "A", tmp_path / "cache.sqlite"
    flags = {"limit": limit}

    build(site.settings(out, cache, **flags), NOW)
    cold_build(site.settings(tmp_path / "B-start", **flags), NOW)
    assert_like_cold(out, tmp_path / "B-start", "first build")

    # every kind of change at least once, in a seeded order, then more at random
    plan = rng.sample(OPS, len(OPS)) + [rng.choice(OPS) for _ in range(4)]
    history: list[str] = []
    for step, first in enumerate(plan):
        ops = [first] + [rng.choice(OPS) for _ in range(rng.choice((0, 0, 1, 2)))]
        history.append(" + ".join(site.apply(op, rng) for op in ops))
        build(site.settings(out, cache, **flags), NOW)
        cold_out = tmp_path / f"B{step}"
        cold_build(site.settings(cold_out, **flags), NOW)
        assert_like_cold(out, cold_out, f"seed {seed}, after: " + "; ".join(history))
        shutil.rmtree(cold_out)


def test_touching_a_file_changes_nothing(site, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    before = stats(out)
    for path in site.files()[::7]:
        os.utime(path)  # now: read again (by content), found the same
    report = build(site.settings(out, cache), NOW)
    assert report.written == []
    assert stats(out) == before


@pytest.mark.parametrize("edit", [False, True], ids=["no-change", "with-a-change"])
def test_feed_files_deleted_or_emptied_by_hand_come_back(site, tmp_path, edit):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.xml"))
    gone, emptied = files[1], files[-1]
    (out / gone).unlink()
    (out / emptied).write_bytes(b"")
    if edit:
        site.edit(site.files()[0], "title", q("Edited while feeds were missing"))
    report = build(site.settings(out, cache), NOW)
    assert {gone, emptied} <= set(report.written)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


# --- 2. only what changed is written ---------------------------------------------------


NEWEST = datetime(2025, 12, 31, 12, 0, tzinfo=CST)


@pytest.fixture
def newest_site(site) -> tuple[Site, Path]:
    """The site, plus a post newer than all others in categories and tags shared with other posts."""
    path = site.write(
        site.posts / "_posts" / "2025-12-31-newest.md",
        post_text("The newest post", NEWEST, ["markets"], ["AI", "bonds"], "Newest summary."),
    )
    return site, path


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
def test_no_change_rebuild_touches_nothing(newest_site, tmp_path, cache):
    site, _ = newest_site
    out = tmp_path / "out"
    cache_path = tmp_path / "cache.sqlite" if cache else None
    build(site.settings(out, cache_path), NOW)
    before = stats(out)
    report = build(site.settings(out, cache_path), NOW)
    assert report.written == []
    assert stats(out) == before
    if cache:
        assert report.reparsed == 0  # every file came from the cache


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
@pytest.mark.parametrize("change", ["add", "title", "delete"])
def test_a_change_rewrites_only_the_feeds_of_that_post(newest_site, tmp_path, change, cache):
    site, newest = newest_site
    out = tmp_path / "out"
    cache_path = tmp_path / "cache.sqlite" if cache else None
    build(site.settings(out, cache_path), NOW)
    before = stats(out)

    if change == "add":
        site.write(
            site.posts / "_posts" / "2025-12-30-added.md",
            post_text("Added post", NEWEST - timedelta(hours=5), ["tech"], ["快讯", "brand new tag"], "Added."),
        )
        expected = feed_files_of(["tech"], ["快讯", "brand new tag"])
    elif change == "title":
        site.edit(newest, "title", q("The newest post, retitled"))
        expected = feed_files_of(["markets"], ["AI", "bonds"])
    else:
        newest.unlink()
        expected = feed_files_of(["markets"], ["AI", "bonds"])

    report = build(site.settings(out, cache_path), NOW)
    assert sorted(report.written) == sorted(expected)
    changed = changed_files(before, stats(out))
    # and feeds' own files: the manifest, and the lock file (marked while writing, then emptied)
    assert expected <= changed <= expected | {MANIFEST_NAME, LOCK_NAME}, sorted(changed ^ expected)
    assert (out / LOCK_NAME).read_bytes() == b""
    if cache:
        assert report.reparsed == (0 if change == "delete" else 1)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


# --- 3. future-dated posts --------------------------------------------------------------


def test_future_post_appears_when_the_clock_passes_its_date(site, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    first = datetime(2026, 1, 2, 9, 0, tzinfo=CST)  # 2026-01-02 01:00 UTC
    second = datetime(2026, 2, 1, 10, 0, tzinfo=CST)
    site.write(site.posts / "_posts" / "2026-01-02-soon.md",
               post_text("Soon", first, ["markets"], ["AI"], "Coming soon."))
    site.write(site.posts / "_posts" / "2026-02-01-later.md",
               post_text("Later", second, ["brand-new-category"], ["brand-new-tag"], "Later still."))

    clocks = [
        (NOW, set()),
        (datetime(2026, 1, 2, 0, 59, 59, tzinfo=timezone.utc), set()),
        (datetime(2026, 1, 2, 1, 0, tzinfo=timezone.utc), {"Soon"}),
        (datetime(2026, 1, 2, 1, 0, tzinfo=timezone.utc), {"Soon"}),  # again: nothing new
        (datetime(2026, 1, 20, tzinfo=timezone.utc), {"Soon"}),
        (datetime(2026, 3, 1, tzinfo=timezone.utc), {"Soon", "Later"}),
    ]
    for step, (now, due) in enumerate(clocks):
        report = build(site.settings(out, cache), now)
        cold_out = tmp_path / f"cold{step}"
        cold_build(site.settings(cold_out), now)
        assert_like_cold(out, cold_out, f"clock {now.isoformat()}")
        titles = set(entry_titles(out / "atom.xml"))
        assert titles & {"Soon", "Later"} == due, now
        assert (out / "categories/brand-new-category/atom.xml").exists() == ("Later" in due)
        if step == 3:
            assert report.written == []
        if "Soon" in due:
            assert "Soon" in entry_titles(out / "categories/markets/atom.xml")
            assert "Soon" in entry_titles(out / f"tags/{slugify('AI')}/atom.xml")


def test_future_post_that_takes_a_duplicates_permalink(site, tmp_path):
    """When a future post of the first source falls due, it replaces (in every feed) the
    copy of the second source that has the same permalink."""
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    due = datetime(2026, 1, 5, 9, 0, tzinfo=CST)
    site.write(site.posts / "_posts" / "2026-01-05-story.md",
               post_text("First source copy", due, ["markets"], ["AI"], "First.", permalink="/news/story.html"))
    site.write(site.extra / "2025-12-01-story.md",
               post_text("Second source copy", datetime(2025, 12, 1, tzinfo=CST), ["markets"], ["bonds"],
                         "Second.", permalink="/news/story.html"))
    for step, now in enumerate([NOW, datetime(2026, 1, 6, tzinfo=timezone.utc)]):
        build(site.settings(out, cache), now)
        cold_out = tmp_path / f"cold{step}"
        cold_build(site.settings(cold_out), now)
        assert_like_cold(out, cold_out, f"clock {now.isoformat()}")
        shown = "Second source copy" in entry_titles(out / "tags/bonds/atom.xml")
        assert shown == (step == 0)  # shown until the first source's copy is due


# --- 4. cache robustness -----------------------------------------------------------------


@pytest.mark.parametrize("other", ["no-cache", "another-cache"])
def test_the_output_written_by_a_build_with_another_cache_or_none_is_not_trusted(site, tmp_path, other):
    """A post added, built into the directory by a build that does not use this
    cache, then deleted: this cache never saw it come or go, and its next build
    must still not leave it in the feeds."""
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    passing = site.write(
        site.posts / "_posts" / "2025-12-31-passing.md",
        post_text("Passing through", NEWEST + timedelta(minutes=5), ["tech"], ["fx"]),
    )
    build(site.settings(out, None if other == "no-cache" else tmp_path / "another.sqlite"), NOW)
    assert "Passing through" in entry_titles(out / "atom.xml")
    passing.unlink()
    build(site.settings(out, cache), NOW)
    assert "Passing through" not in entry_titles(out / "atom.xml")
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", other)


def test_a_feed_file_changed_by_hand_is_rewritten_by_the_next_build(site, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    victim = out / "atom.xml"
    victim.write_bytes(victim.read_bytes()[:-200] + b"<!-- cut -->")  # not empty, not whole
    report = build(site.settings(out, cache), NOW)
    assert "atom.xml" in report.written
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


@pytest.mark.parametrize("damage", [b"8", b"\xff"], ids=["still-text", "not-utf-8"])
def test_a_damaged_record_is_found_and_the_cache_rebuilt(site, tmp_path, damage):
    """A byte of a cached summary changed on disk, in a page SQLite still reads:
    the record's checksum (or the decoding) finds it, the cache is rebuilt with a
    warning, and the feeds are a cold build's. (Before, the damaged text went
    into the feeds without a word, or every build failed with exit 4.)"""
    cache = tmp_path / "cache.sqlite"
    build(site.settings(tmp_path / "first", cache, limit=0), NOW)
    data = bytearray(cache.read_bytes())
    assert not Path(f"{cache}-wal").exists() or Path(f"{cache}-wal").stat().st_size == 0
    at = data.find(b"Summary 7: ")
    assert at > 0
    data[at + len("Summary ")] = damage[0]  # "Summary 8: …", or a byte no UTF-8 text holds
    cache.write_bytes(bytes(data))

    out = tmp_path / "out"
    report = build(site.settings(out, cache, limit=0), NOW)
    assert any("rebuilt" in p.message and p.severity is Severity.WARNING for p in report.problems), report.problems
    cold_build(site.settings(tmp_path / "cold", limit=0), NOW)
    assert_like_cold(out, tmp_path / "cold", damage)
    assert not any("rebuilt" in p.message for p in build(site.settings(tmp_path / "again", cache, limit=0), NOW).problems)


def test_deleting_the_cache_changes_no_byte(site, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    before = whole_tree(out)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{cache}{suffix}").unlink(missing_ok=True)
    report = build(site.settings(out, cache), NOW)
    assert report.written == []
    assert whole_tree(out) == before
    assert cache.exists()  # made again


def test_a_cache_filled_in_bulk_has_its_url_index_and_finds_duplicates(site, tmp_path, monkeypatch):
    """A cold build fills the empty cache in bulk (the URL index made after the rows);
    the index is there, and a new post with an old post's permalink is still
    noticed by the next, incremental build."""
    monkeypatch.setattr(cache_module, "BULK_ROWS", 1)  # the example site is small
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    site.write(site.extra / "2025-12-01-story.md",
               post_text("Second source copy", datetime(2025, 12, 1, tzinfo=CST), ["markets"], ["bonds"],
                         "Second.", permalink="/news/story.html"))
    build(site.settings(out, cache), NOW)
    with sqlite3.connect(cache) as db:
        indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        plan = " ".join(row[-1] for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT path FROM files WHERE url = ?", ("https://example.org/news/story.html",)))
    assert "files_url" in indexes
    assert "files_url" in plan
    site.write(site.posts / "_posts" / "2025-12-02-story.md",
               post_text("First source copy", datetime(2025, 12, 2, tzinfo=CST), ["markets"], ["AI"],
                         "First.", permalink="/news/story.html"))
    build(site.settings(out, cache), NOW)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", "a duplicate added after a bulk fill")
    assert "Second source copy" not in entry_titles(out / "tags/bonds/atom.xml")
    for fmt in ("atom", "rss"):  # as a reader sees it: the first source's copy, once, under its permalink
        for feed in (f"tags/{slugify('AI')}/{fmt}.xml", f"{fmt}.xml"):
            parsed = parse(out / feed)
            assert not parsed.bozo, (feed, parsed.get("bozo_exception"))
            copies = [e for e in parsed.entries if e.id.endswith("/news/story.html")]
            assert [e.title for e in copies] == ["First source copy"], feed
            assert copies[0].published_parsed[:6] == (2025, 12, 1, 16, 0, 0)  # (in UTC)
            assert copies[0].published.endswith(("+08:00", "+0800"))  # in its own offset



def test_remembered_problems_are_reported_again_and_found_through_their_index(site, tmp_path):
    """Every run reports the problems of the files it did not read again; the
    cache finds them through a partial index (a no-change run must not read
    the whole table for them), and a fixed file's problem is gone from it."""
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    warned = site.write(
        site.posts / "_posts" / "2024-07-01-warned.md",
        "---\ntitle: Warned\ndate: 2024-07-01 08:00:00 +0800\nsummary: [not, text]\n---\n\nBody.\n",
    )
    first = [str(p) for p in build(site.settings(out, cache), NOW).problems]
    assert any("2024-07-01-warned.md" in p and "summary is a list" in p for p in first), first
    again = build(site.settings(out, cache), NOW)
    assert again.written == [] and [str(p) for p in again.problems] == first
    with sqlite3.connect(cache) as db:
        plan = " ".join(row[-1] for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT path, problems FROM files WHERE problems IS NOT NULL"))
        assert "files_problems" in plan, plan
        assert [path for (path,) in db.execute("SELECT path FROM files INDEXED BY files_problems"
                                                " WHERE problems IS NOT NULL")] == [str(warned)]
    db.close()
    site.write(warned, "---\ntitle: Warned\ndate: 2024-07-01 08:00:00 +0800\nsummary: Fixed.\n---\n\nBody.\n")
    fixed = build(site.settings(out, cache), NOW)
    assert not any("2024-07-01-warned.md" in str(p) for p in fixed.problems), [str(p) for p in fixed.problems]
    assert [str(p) for p in build(site.settings(out, cache), NOW).problems] == [str(p) for p in fixed.problems]


def _garbage_left(root: Path, posts: int) -> int:
    """Objects in reference cycles that a cold build, a one-new-post build and an
    edit's build leave, with the cycle collector off (as the CLI runs)."""
    site = Site(root, example=False)
    rng = random.Random(posts)
    for n in range(posts):
        site.new_post(rng, categories=[f"c{n % 7}"], tags=[f"t{n % 13}", f"u{n % 5}"])
    out, cache = root / "out", root / "cache.sqlite"
    gc.collect()
    gc.disable()
    try:
        build(site.settings(out, cache), NOW)
        site.new_post(rng, categories=["c1"], tags=["t1"])
        build(site.settings(out, cache), NOW)
        site.edit(site.files()[0], "title", q("Edited"))
        build(site.settings(out, cache), NOW)
        return gc.collect()
    finally:
        gc.enable()


def test_builds_leave_no_cycles_that_grow_with_posts_or_feeds(tmp_path):
    """The CLI switches the cycle collector off (feeds.cli.tune_gc), which is
    safe only while builds make no reference cycles per post or per feed:
    those would pile up until the process ends. Ten times the posts (and
    more feeds) must leave no more cyclic garbage."""
    _garbage_left(tmp_path / "warm-up", 20)  # first imports, first compiled patterns
    small = _garbage_left(tmp_path / "small", 30)
    large = _garbage_left(tmp_path / "large", 300)
    assert large <= small + 50, (small, large)

OTHER_OPTIONS = {
    "summary_length": 40,
    "site_url": "https://other.example.net/blog",
    "timezone": "UTC",
    "permalink": "pretty",
    "limit": 3,
    "title": "Another title",
    "formats": "atom",
    "link": "post",
}


@pytest.mark.parametrize("option", sorted(OTHER_OPTIONS))
def test_cache_of_other_options_gives_a_cold_build(site, tmp_path, option):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    other = {option: OTHER_OPTIONS[option]}
    build(site.settings(out, cache), NOW)
    build(site.settings(out, cache, **other), NOW)
    cold_build(site.settings(tmp_path / "cold-other", **other), NOW)
    assert_like_cold(out, tmp_path / "cold-other", other)
    # and back again, with a change in between
    site.edit(site.files()[3], "title", q("Changed while the options were other"))
    build(site.settings(out, cache), NOW)
    cold_build(site.settings(tmp_path / "cold-back"), NOW)
    assert_like_cold(out, tmp_path / "cold-back", "back to the first options")


def test_one_cache_for_two_output_directories(site, tmp_path):
    cache = tmp_path / "cache.sqlite"
    one, two = tmp_path / "one", tmp_path / "two"
    build(site.settings(one, cache), NOW)
    site.edit(site.files()[0], "title", q("Seen first by the build of two"))
    site.files()[5].unlink()
    build(site.settings(two, cache), NOW)
    build(site.settings(one, cache), NOW)  # the cache already knows the changes; one does not
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(one, tmp_path / "cold", "one")
    assert_like_cold(two, tmp_path / "cold", "two")


def _garbage(cache: Path, how: str) -> None:
    rng = random.Random(how)
    data = bytearray(cache.read_bytes())
    if how == "whole":
        data = bytearray(rng.randbytes(len(data)))
    elif how == "header":
        data[:100] = rng.randbytes(100)
    elif how == "pages":  # from the middle of the first page on
        data[4096:] = rng.randbytes(len(data) - 4096)
    elif how in ("after-schema", "zeros"):  # every page but the first (the schema): opening finds nothing wrong
        size = int.from_bytes(data[16:18], "big")
        size = 65536 if size == 1 else size
        assert len(data) >= 3 * size
        data[size:] = rng.randbytes(len(data) - size) if how == "after-schema" else bytes(len(data) - size)
    elif how == "truncated":
        data = data[: len(data) // 3]
    cache.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["whole", "header", "pages", "after-schema", "zeros", "truncated"])
def test_corrupt_cache_gives_a_warning_and_a_cold_build(site, tmp_path, how):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    assert cache.stat().st_size > 8192
    site.edit(site.files()[2], "title", q("Edited before the cache broke"))
    site.files()[9].unlink()
    _garbage(cache, how)

    report = build(site.settings(out, cache), NOW)
    assert cache_warnings(report, cache), [str(p) for p in report.problems]
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", how)
    # and the cache works again
    report = build(site.settings(out, cache), NOW)
    assert report.written == [] and not cache_warnings(report, cache)


def test_a_damaged_page_found_after_a_no_change_run_rebuilds_the_cache(tmp_path):
    # a no-change run reads no record, so the damage shows only on a later run
    site = Site(tmp_path / "site")
    site.generate(2000, random.Random(3))
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    with open(cache, "r+b") as f:
        f.seek(cache.stat().st_size // 2)
        f.write(b"\xff" * 65536)
    report = build(site.settings(out, cache), NOW)
    assert report.written == [], "nothing changed"
    site.edit(site.files()[len(site.files()) // 2], "title", q("Edited after the cache broke"))
    report = build(site.settings(out, cache), NOW)
    assert cache_warnings(report, cache), [str(p) for p in report.problems]
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")
    report = build(site.settings(out, cache), NOW)
    assert report.written == [] and not cache_warnings(report, cache)


@pytest.mark.parametrize("column", ["post", "problems"])
def test_unpicklable_cache_row_is_rebuilt_with_a_warning(newest_site, tmp_path, column):
    site, newest = newest_site
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    warned = site.write(  # a post with a warning, so that its row has problems
        site.posts / "_posts" / "2024-07-01-warned.md",
        "---\ntitle: Warned\ndate: 2024-07-01 08:00:00 +0800\ncategories: [markets]\nsummary: [not, text]\n---\n\nBody.\n",
    )
    build(site.settings(out, cache), NOW)
    # the newest post is in the all-posts feed, which any change below makes the build render again
    path = str(newest if column == "post" else warned)
    with sqlite3.connect(cache) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(files)")}
        if column == "post" and "post" not in columns:
            column = "date"  # a schema that keeps the post as plain columns: break one of them
        assert column in columns, sorted(columns)
        assert db.execute(f"SELECT {column} IS NOT NULL FROM files WHERE path = ?", (path,)).fetchone() == (1,)
        db.execute(f"UPDATE files SET {column} = x'00' WHERE path = ?", (path,))
    db.close()
    site.edit(site.files()[0], "title", q("A change, so that cached records are needed"))

    report = build(site.settings(out, cache), NOW)
    assert cache_warnings(report, cache), [str(p) for p in report.problems]
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", column)
    report = build(site.settings(out, cache), NOW)
    assert report.written == [] and not cache_warnings(report, cache)


def test_same_size_rewrite_within_the_mtime_resolution_is_noticed(site, tmp_path):
    """A file read moments after it was written is checked by content next time."""
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    path = site.posts / "_posts" / "2025-12-31-racy.md"
    path.write_text(post_text("Racy AAAA", NEWEST, ["markets"], ["AI"], "Racy."), encoding="utf-8")
    build(site.settings(out, cache), NOW)  # reads the file right after it was written
    info = path.stat()
    path.write_text(post_text("Racy BBBB", NEWEST, ["markets"], ["AI"], "Racy."), encoding="utf-8")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))  # same size, same mtime
    assert path.stat().st_size == info.st_size
    build(site.settings(out, cache), NOW)
    assert "Racy BBBB" in entry_titles(out / "atom.xml")
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


# --- 5. --jobs ------------------------------------------------------------------------------


def test_jobs_give_identical_trees(tmp_path, monkeypatch):
    site = Site(tmp_path / "site", example=False)
    rng = random.Random(5)
    for n in range(500):
        site.new_post(rng, categories=[CATEGORIES[n % 5], f"c{n % 11}"], tags=[f"t{n % 41}", rng.choice(TAGS)])
    # duplicates (same permalink, other title and tags): which copy wins depends on the order of reading
    originals = site.files()
    for n, directory in enumerate([site.extra, site.posts / "A-first", site.posts / "zz-last"] * 20):
        original = originals[n * 7]
        text = set_front(original.read_text(encoding="utf-8"), "title", q(f"Copy in {directory.name}"))
        site.write(directory / original.name, set_front(text, "tags", f"[{q('t-' + directory.name)}]"))
    pools: list[int] = []
    real_fork = parallel._fork
    monkeypatch.setattr(parallel, "_fork", lambda count, work: pools.append(count) or real_fork(count, work))
    assert 500 // parallel.MIN_FILES_PER_WORKER >= 2

    build(site.settings(tmp_path / "j1", jobs=1), NOW)
    assert pools == []
    report = build(site.settings(tmp_path / "j2", jobs=2), NOW)
    assert report.feeds // parallel.MIN_FEEDS_PER_WORKER >= 2
    assert pools == [1, 1], "reading and rendering should both have used a worker besides this process"
    build(site.settings(tmp_path / "j2-cache", tmp_path / "cache.sqlite", jobs=2), NOW)
    with monkeypatch.context() as small:  # files read, and feeds written, a few at a time
        small.setattr(read, "READ_BATCH", 7)
        small.setattr(parallel, "WRITE_BATCH", 3)
        build(site.settings(tmp_path / "j2-batches", jobs=2), NOW)
        small.setattr(read, "READ_BATCH_BYTES", 2000)
        small.setattr(parallel, "WRITE_BATCH_BYTES", 5000)
        build(site.settings(tmp_path / "j1-batches", jobs=1), NOW)
    reference = whole_tree(tmp_path / "j1")
    assert whole_tree(tmp_path / "j2") == reference
    assert whole_tree(tmp_path / "j2-cache") == reference
    assert whole_tree(tmp_path / "j2-batches") == reference
    assert whole_tree(tmp_path / "j1-batches") == reference

    # incremental with --jobs 2: most files changed (read in parallel), some gone
    for path in site.files()[:450]:
        site.edit(path, "title", q(f"Retitled {path.stem}"))
    for path in site.files()[::37]:
        path.unlink()
    pools.clear()
    build(site.settings(tmp_path / "j2-cache", tmp_path / "cache.sqlite", jobs=2), NOW)
    assert pools and pools[0] == 1
    build(site.settings(tmp_path / "j1-after", jobs=1), NOW)
    assert_like_cold(tmp_path / "j2-cache", tmp_path / "j1-after", "--jobs 2, incremental")
    assert feed_tree(tmp_path / "j2-cache") == feed_tree(tmp_path / "j1-after")


# --- 6. locking ------------------------------------------------------------------------------


def test_a_lock_file_that_is_a_symbolic_link_is_not_written_through(site, tmp_path):
    out, victim = tmp_path / "out", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("precious\n", encoding="utf-8")
    (out / LOCK_NAME).symlink_to(victim)
    done = run_cli(site.cli_args(out, None), tmp_path)
    assert done.returncode == 4, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and "symbolic link" in done.stderr, done.stderr
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert not list(out.rglob("*.xml"))


def test_locked_output_exits_3_and_writes_nothing(site, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    out.mkdir()
    with OutputLock(out, wait=0):
        started = time.monotonic()
        done = run_cli(site.cli_args(out, cache, "--wait", "0.3"), tmp_path)
        elapsed = time.monotonic() - started
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "lock" in done.stderr.lower(), done.stderr
    assert elapsed >= 0.3
    assert feed_tree(out) == {} and not (out / MANIFEST_NAME).exists()

    done = run_cli(site.cli_args(out, cache, "--wait", "0.3"), tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


def test_the_lock_tells_each_second_waited_until_it_is_free(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    told: list[int] = []
    holder = OutputLock(out, wait=0).__enter__()
    try:
        with pytest.raises(LockTimeout):
            with OutputLock(out, wait=1.3, poll=0.02, waiting=told.append):
                pass
        assert told == [0, 1]  # each whole second once, none once the wait is over
    finally:
        holder.__exit__(None, None, None)
    told.clear()
    with OutputLock(out, wait=5, waiting=told.append):
        assert told == []  # a free lock: no wait to tell


@pytest.mark.skipif(os.name != "posix", reason="a pseudo-terminal")
def test_a_build_at_a_terminal_says_it_waits_for_another_build(site, tmp_path):
    import pty

    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    out.mkdir()
    args = [a for a in site.cli_args(out, cache, "--wait", "1.5") if a != "--quiet"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDS")}
    env.update(PYTHONIOENCODING="utf-8", COLUMNS="120", TERM="xterm")
    master, slave = pty.openpty()
    try:
        with OutputLock(out, wait=0):
            done = subprocess.run(
                [sys.executable, "-m", "feeds", "build", *args], cwd=tmp_path, env=env,
                stdout=subprocess.PIPE, stderr=slave, timeout=120,
            )
        os.close(slave)
        slave = -1
        shown = b""
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # (Linux: EIO once the terminal's other end is closed)
                break
            if not data:
                break
            shown += data
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert done.returncode == 3
    text = shown.decode("utf-8", "replace")
    assert "waiting for another build" in text, text
    assert "gave up after 1.5 s" in text, text


def test_locked_output_keeps_the_last_build_and_the_next_build_catches_up(site, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    assert run_cli(site.cli_args(out, cache), tmp_path).returncode == 0
    before = stats(out)
    site.edit(site.files()[1], "title", q("Changed while the output was locked"))
    site.new_post(random.Random(6), date=NEWEST)
    with open(out / LOCK_NAME, "a+b") as handle:
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX)
        done = run_cli(site.cli_args(out, cache, "--wait", "0.3"), tmp_path)
        assert done.returncode == 3, (done.stdout, done.stderr)
        assert "lock" in done.stderr.lower()
        assert stats(out) == before
    # the locked build updated the cache; the output must still catch up
    done = run_cli(site.cli_args(out, cache, "--wait", "5"), tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


@pytest.mark.parametrize("caches", ["shared", "separate"])
def test_two_builds_at_once(tmp_path, caches):
    site = Site(tmp_path / "site")
    site.generate(200, random.Random(2))
    out = tmp_path / "out"
    c1 = tmp_path / "cache1.sqlite"
    c2 = c1 if caches == "shared" else tmp_path / "cache2.sqlite"
    for round_ in range(2):
        procs = [popen_cli(site.cli_args(out, c, "--wait", "60"), tmp_path) for c in (c1, c2)]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
        for code, stdout, stderr in results:
            assert code == 0, (code, stdout, stderr)
        cold_build(site.settings(tmp_path / f"cold{round_}"), NOW)
        assert_like_cold(out, tmp_path / f"cold{round_}", f"round {round_}")
        assert temp_files(out) == []
        # change some posts, then both again
        rng = random.Random(round_)
        for op in ("add", "delete", "title", "move", "duplicate"):
            site.apply(op, rng)


# --- 7. crash safety -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_site(tmp_path_factory):
    """About 2000 generated posts, and a cold build of them (--limit 0, so writing takes a while)."""
    root = tmp_path_factory.mktemp("big")
    site = Site(root / "site", example=False)
    rng = random.Random(2000)
    for n in range(2000):
        site.new_post(rng, categories=[f"c{n % 8}"], tags=[f"t{n % 29}"] if n % 3 == 0 else [])
    cold = root / "cold"
    build(site.settings(cold, limit=0), NOW)
    return site, cold


def _check_after_kill(out: Path) -> None:
    """Whatever the moment of the kill: every feed file whole, the manifest whole."""
    for path in out.rglob("*.xml"):
        etree.parse(str(path))  # raises on a half-written file
    if (out / MANIFEST_NAME).exists():
        manifest_of(out)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)


_rng = random.Random(7)
KILL_DELAYS = sorted(round(_rng.uniform(0.2, 1.5), 2) for _ in range(3))


def _next_build_is_right(site, out: Path, cache: Path, cold_out: Path, note: str) -> None:
    """After a build was stopped: every file whole, and the next build gives a clean build's output."""
    if out.exists():
        _check_after_kill(out)
    report = build(site.settings(out, cache, limit=0), NOW)
    assert not report.problems, [str(p) for p in report.problems]
    assert_like_cold(out, cold_out, note)
    assert temp_files(out) == []


@pytest.mark.parametrize("delay", [*KILL_DELAYS, "mid-write"])
def test_killed_build_leaves_whole_files_and_the_next_build_is_right(big_site, tmp_path, delay):
    site, cold_out = big_site
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    proc = popen_cli(site.cli_args(out, cache, "--limit", "0"), tmp_path)
    if delay == "mid-write":  # as soon as the first feed file is there
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not next(out.rglob("*.xml"), None):
            time.sleep(0.002)
        time.sleep(random.Random(11).uniform(0.0, 0.05))
        assert proc.poll() is None, "the build ended before it could be killed while writing"
    else:
        time.sleep(delay)
    _kill(proc)
    _next_build_is_right(site, out, cache, cold_out, f"killed after {delay}")


def test_sigterm_while_waiting_for_the_lock_ends_with_143_and_a_message(site, tmp_path):
    """`timeout` and systemd stop a build with SIGTERM: it ends at once, says so
    on one line, and exits 143 (128 + 15), with the output untouched."""
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    assert run_cli(site.cli_args(out, cache), tmp_path).returncode == 0
    before = whole_tree(out)
    site.new_post(random.Random(8), date=NEWEST)
    with OutputLock(out, wait=0):
        proc = popen_cli(site.cli_args(out, cache, "--wait", "60"), tmp_path)
        time.sleep(1.0)  # read the posts; now waiting for the lock
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 143, (proc.returncode, stdout, stderr)
    assert stderr.strip().splitlines()[-1].startswith("feeds: terminated (SIGTERM)"), stderr
    assert "Traceback" not in stderr, stderr
    assert whole_tree(out) == before
    assert run_cli(site.cli_args(out, cache), tmp_path).returncode == 0
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", "after SIGTERM")


@pytest.mark.parametrize("delay", [0.3, 0.8, "mid-write"])
def test_sigterm_during_a_build_leaves_whole_files_and_the_next_build_is_right(big_site, tmp_path, delay):
    site, cold_out = big_site
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    proc = popen_cli(site.cli_args(out, cache, "--limit", "0"), tmp_path)
    if delay == "mid-write":
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not next(out.rglob("*.xml"), None):
            time.sleep(0.002)
    else:
        time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode in (0, 143), (proc.returncode, stdout, stderr)
    assert "Traceback" not in stderr, stderr
    if proc.returncode == 143:
        assert stderr.strip().splitlines()[-1].startswith("feeds: terminated"), stderr
    _next_build_is_right(site, out, cache, cold_out, f"terminated after {delay}")


def _children(pid: int) -> set[int]:
    found = set()
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                found |= {int(child) for child in (task / "children").read_text().split()}
            except (FileNotFoundError, ProcessLookupError):
                pass  # a thread that has just ended
    except FileNotFoundError:
        pass  # the build has ended
    return found


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers in /proc (Linux)")
@pytest.mark.parametrize("stage", ["reading", "rendering"])
def test_workers_of_a_killed_build_end_with_it_and_free_the_lock(tmp_path, stage):
    """A build killed with SIGKILL while its workers read or render leaves no
    worker behind: one left would hold the lock (and the build's stdout) for
    ever, and every later build would give up waiting (exit 3)."""
    site = Site(tmp_path / "site", example=False)
    rng = random.Random(3)
    for n in range(1200):  # enough files and feeds for a worker in each stage
        site.new_post(rng, categories=[f"c{n % 7}"], tags=[f"t{n % 90}"], summary="A summary. " * 30)
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    proc = popen_cli(site.cli_args(out, cache, "--jobs", "2", "--limit", "0"), tmp_path)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        workers |= _children(proc.pid)
        if workers and (stage == "reading" or next(out.rglob("*.xml"), None)):
            break
        time.sleep(0.002)
    assert proc.poll() is None and workers, f"the build ended before it could be killed while {stage}"
    _kill(proc)
    deadline = time.monotonic() + 10
    while not all(map(process_ended, workers)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(map(process_ended, workers)), "a worker outlived its killed build"
    started = time.monotonic()
    report = build(site.settings(out, cache, limit=0, wait=5), NOW)
    assert time.monotonic() - started < 5  # the lock was free
    assert not report.problems, [str(p) for p in report.problems]
    cold_build(site.settings(tmp_path / "cold", limit=0), NOW)
    assert_like_cold(out, tmp_path / "cold", f"killed while {stage}")


@pytest.mark.parametrize("when", ["before-start", "after-finish"])
def test_build_killed_before_it_starts_or_after_it_ends(site, tmp_path, when):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    proc = popen_cli(site.cli_args(out, cache), tmp_path)
    if when == "after-finish":
        assert proc.wait(timeout=120) == 0
    _kill(proc)
    if out.exists():
        _check_after_kill(out)
    build(site.settings(out, cache), NOW)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", when)
    assert temp_files(out) == []


DRIVER = textwrap.dedent(
    """
    import os, signal, sys, tempfile
    import feeds.write as w
    from feeds.cli import app

    kill_at = int(sys.argv[1])
    real = w.atomic_write
    count = 0

    def crashing(path, data):
        global count
        count += 1
        if count == kill_at:  # half a temp file, then SIGKILL
            fd, temp = tempfile.mkstemp(prefix=w.TEMP_PREFIX, suffix=".tmp", dir=os.path.dirname(path))
            os.write(fd, data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        real(path, data)

    w.atomic_write = crashing
    app(args=["build", *sys.argv[2:]], prog_name="feeds")
    """
)


def run_killed_at(site: Site, cwd: Path, write: int, args: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(write), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("scenario", ["fresh", "posts-changed", "post-added", "options-changed-and-back"])
def test_build_killed_at_a_feed_write(site, tmp_path, scenario):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    if scenario == "fresh":
        run_killed_at(site, tmp_path, 5, site.cli_args(out, cache))
    elif scenario == "post-added":
        # the feed index is stored while feeds are written: a build (the general
        # way, an edit) killed after storing it must not leave the directory
        # trusted; the next run finds only a new post, which the index serves
        assert run_cli(site.cli_args(out, cache), tmp_path).returncode == 0
        site.edit(site.files()[0], "title", q("Edited before the kill"))
        run_killed_at(site, tmp_path, 2, site.cli_args(out, cache))
        site.write(site.posts / "_posts" / "2025-12-21-added.md",
                   post_text("Added", datetime(2025, 12, 21, tzinfo=CST), ["markets"], ["bonds"], "Newer."))
    elif scenario == "posts-changed":
        assert run_cli(site.cli_args(out, cache), tmp_path).returncode == 0
        for path in site.files()[::4]:
            site.edit(path, "title", q(f"Changed {path.stem}"))
        run_killed_at(site, tmp_path, 4, site.cli_args(out, cache))
    else:
        # a build with another title, killed part-way; then the first options again
        assert run_cli(site.cli_args(out, cache), tmp_path).returncode == 0
        run_killed_at(site, tmp_path, 4, site.cli_args(out, cache, "--title", "A title given once"))
    assert temp_files(out), "the driver leaves half a temp file"
    _check_after_kill(out)

    report = build(site.settings(out, cache), NOW)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", scenario)
    assert temp_files(out) == []
    assert report.problems == [] or all(p.severity is Severity.INFO for p in report.problems)


# --- 8. --prune ----------------------------------------------------------------------------


FOREIGN = {
    "robots.txt": b"User-agent: *\n",
    "categories/foreign/atom.xml": b"<feed xmlns='http://www.w3.org/2005/Atom'/>\n",
    "tags/vanishing/notes.txt": b"kept by hand\n",
    ".htaccess": b"Options -Indexes\n",
}


@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no-cache"])
@pytest.mark.parametrize("when", ["same-build", "later-build"])
def test_prune_removes_only_stale_feeds_feeds_wrote(site, tmp_path, when, cache):
    out = tmp_path / "out"
    cache_path = tmp_path / "cache.sqlite" if cache else None
    doomed = [
        site.write(site.posts / "_posts" / f"2025-0{n}-01-doomed-{n}.md",
                   post_text(f"Doomed {n}", datetime(2025, n, 1, tzinfo=CST), ["doomed"], ["vanishing"], "Gone soon."))
        for n in (1, 2)
    ]
    build(site.settings(out, cache_path), NOW)
    stale = feed_files_of(["doomed"], ["vanishing"]) - feed_files_of()
    assert all((out / rel).is_file() for rel in stale)
    for rel, data in FOREIGN.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    for path in doomed:
        path.unlink()

    if when == "later-build":
        report = build(site.settings(out, cache_path), NOW)
        assert report.pruned == []
        assert all((out / rel).is_file() for rel in stale)
        manifest = manifest_of(out)
        assert stale <= set(manifest["files"]) and not stale & set(manifest["current"])

    report = build(site.settings(out, cache_path, prune=True), NOW)
    assert sorted(report.pruned) == sorted(stale)
    assert not any((out / rel).exists() for rel in stale)
    assert not (out / "categories" / "doomed").exists(), "an emptied directory is removed"
    assert (out / "tags" / "vanishing").is_dir()  # it still holds a foreign file
    for rel, data in FOREIGN.items():
        assert (out / rel).read_bytes() == data, rel
    manifest = manifest_of(out)
    assert set(manifest["files"]) == set(manifest["current"])
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", when, foreign={"categories/foreign/atom.xml"})


def test_prune_removes_emptied_parent_directories(tmp_path):
    site = Site(tmp_path / "site", example=False)
    rng = random.Random(8)
    site.generate(5, rng, categories=["only"], tags=[])
    tagged = site.new_post(rng, categories=["only"], tags=["lonely"])
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    assert (out / "tags" / "lonely" / "atom.xml").is_file()
    tagged.unlink()
    report = build(site.settings(out, cache, prune=True), NOW)
    assert sorted(report.pruned) == ["tags/lonely/atom.xml", "tags/lonely/rss.xml"]
    assert not (out / "tags").exists()
    assert (out / "categories" / "only" / "atom.xml").is_file()


def test_prune_never_removes_files_outside_the_output(site, tmp_path):
    """Even a manifest edited by hand (or by another tool) cannot make --prune delete elsewhere."""
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    outside = tmp_path / "outside.txt"
    outside.write_text("not feeds'\n")
    absolute = tmp_path / "absolute.txt"
    absolute.write_text("not feeds' either\n")
    manifest = manifest_of(out)
    manifest["files"] += ["../outside.txt", str(absolute)]
    (out / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    site.files()[0].unlink()  # so that the build does work
    build(site.settings(out, cache, prune=True), NOW)
    assert outside.exists()
    assert absolute.exists()


# --- 9. memory -----------------------------------------------------------------------------

# Runs a build in a child and prints its exit status and the peak RSS (KiB) of
# the largest process it waited for (the build; with --jobs 1 there is no other).
PEAK_RSS = textwrap.dedent(
    """
    import resource, subprocess, sys
    done = subprocess.run([sys.executable, "-m", "feeds", "build", *sys.argv[1:]], capture_output=True)
    sys.stderr.buffer.write(done.stderr)
    print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    """
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="ru_maxrss of children (POSIX)")
def test_peak_memory_does_not_grow_with_the_bodies_of_posts(tmp_path):
    """A body is dropped once its summary and source link are taken: the same
    150 posts with a 400 KB paragraph after the summary (60 MB in all) take
    the memory the short posts take, within noise."""
    peaks = {}
    for kind in ("short", "long"):
        site = Site(tmp_path / kind, example=False)
        rng = random.Random(150)
        for _ in range(150):
            path = site.new_post(rng)
            if kind == "long":
                text = path.read_text(encoding="utf-8")
                site.write(path, text + "\n" + "Long body words. " * 24_000 + "\n")
        out = tmp_path / f"out-{kind}"
        done = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, *site.cli_args(out, tmp_path / f"{kind}.sqlite", "--limit", "0")],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )
        status, peak = done.stdout.split()
        assert status == "0", done.stderr
        peaks[kind] = int(peak) * 1024
        assert len(entry_titles(out / "atom.xml")) == 150
    body_bytes = 150 * len("Long body words. " * 24_000)
    assert body_bytes > 60_000_000
    assert peaks["long"] - peaks["short"] < 20 * 2**20, peaks


def test_cache_of_another_yaml_loader_or_library_version_is_read_again(site, tmp_path, monkeypatch):
    """PyYAML with and without libyaml, or another PyYAML or dateutil, may read
    some front matter otherwise: posts cached under one are parsed again."""
    import dateutil
    import yaml

    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    files = len(site.files())
    assert build(site.settings(out, cache), NOW).reparsed == files
    assert build(site.settings(out, cache), NOW).reparsed == 0
    monkeypatch.setattr(yaml, "__with_libyaml__", not yaml.__with_libyaml__)
    assert build(site.settings(out, cache), NOW).reparsed == files
    assert build(site.settings(out, cache), NOW).reparsed == 0
    monkeypatch.setattr(dateutil, "__version__", dateutil.__version__ + ".post1")
    assert build(site.settings(out, cache), NOW).reparsed == files
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", "after the libraries changed")
