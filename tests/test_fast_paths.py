"""The cron-run fast paths: a no-change run compares no file one by one, and a
run that finds only new posts renders their feeds from the feed index, without
grouping the other posts. Each must give what a cold build gives, byte for byte,
and must step aside (to the full comparison or grouping) when it cannot be sure.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import NOW
from feeds.build import build
from feeds.cache import Cache
from feeds.listing import CHUNK_MASK, list_files
from test_incremental import NEWEST, Site, assert_like_cold, cold_build, feed_files_of, post_text, q


@pytest.fixture
def site(tmp_path) -> Site:
    s = Site(tmp_path / "site")
    s.generate(80, random.Random(80))
    return s


class Spy:
    """Counts calls of Cache methods, and can forbid some."""

    def __init__(self, monkeypatch, forbid=()):
        self.calls: dict[str, list] = {}
        for name in ("snapshot", "stubs", "records", "feed_index"):
            original = getattr(Cache, name)

            def spy(cache, *args, _name=name, _original=original, **kwargs):
                self.calls.setdefault(_name, []).append(args)
                assert _name not in forbid, f"Cache.{_name} was called"
                return _original(cache, *args, **kwargs)

            monkeypatch.setattr(Cache, name, spy)


# --- the listing and its chunks ------------------------------------------------------


def test_chunks_cover_the_listing_and_stay_put_when_a_file_is_added(tmp_path):
    source = tmp_path / "posts"
    source.mkdir()
    for i in range(3000):
        (source / f"2024-01-01-{i:05d}.md").write_text("x", encoding="utf-8")
    before = list_files((source,), [])
    assert 3 < len(before.chunks) < 100  # about one boundary per CHUNK_MASK + 1 files
    assert before.chunks[0].start == 0 and before.chunks[-1].end == len(before.rows)
    for chunk, following in zip(before.chunks, before.chunks[1:]):
        assert chunk.end == following.start and chunk.high == following.low
    for chunk in before.chunks:  # each chunk's [low, high) holds exactly its rows
        inside = [row[0] for row in before.rows if chunk.low <= row[0] < chunk.high]
        assert inside == [row[0] for row in before.rows[chunk.start : chunk.end]]
    assert all(row[0] < before.chunks[-1].high for row in before.rows)

    (source / "2024-01-01-01500x.md").write_text("new", encoding="utf-8")
    after = list_files((source,), [])
    moved = {(c.low, c.high) for c in before.chunks} ^ {(c.low, c.high) for c in after.chunks}
    assert moved == set()  # a new file joins a chunk; boundaries depend on paths only
    assert CHUNK_MASK == 0xFF


def test_listing_digests_are_ignored_once_the_cache_state_moves_on(tmp_path):
    cache = Cache(tmp_path / "c.sqlite", "fp")
    cache.open()
    cache.set_listing_digests({("a", "b"): "digest"})
    assert cache.listing_digests()[1] == {("a", "b"): "digest"}
    cache.update([], ["gone.md"])  # any update moves the state on
    assert cache.listing_digests()[1] == {}
    cache.close()


# --- no change -------------------------------------------------------------------------


def test_no_change_run_compares_no_file_one_by_one(site, tmp_path, monkeypatch):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    Spy(monkeypatch, forbid=("snapshot", "stubs", "records"))
    report = build(site.settings(out, cache), NOW)
    assert report.written == [] and report.reparsed == 0


@pytest.mark.parametrize("cache", [True, False])
def test_the_renderers_are_imported_while_reading_only_when_every_feed_will_be_rendered(
    site, tmp_path, monkeypatch, cache
):
    from feeds import build as build_module

    imports = []
    monkeypatch.setattr(build_module, "renderers", lambda formats: imports.append(tuple(formats)))
    out, path = tmp_path / "out", (tmp_path / "cache.sqlite" if cache else None)
    build(site.settings(out, path), NOW)  # cold: an empty cache, or none
    assert imports == [("atom", "rss")]
    site.edit(site.files()[0], "title", q("Retitled"))
    build(site.settings(out, path), NOW)  # the cache knows the other files: perhaps nothing to render
    assert imports == [("atom", "rss")] * (1 if cache else 2)


def test_a_changed_file_is_compared_within_its_chunk_only(site, tmp_path, monkeypatch):
    site.generate(600, random.Random(6))  # several chunks
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    target = site.files()[len(site.files()) // 2]
    site.edit(target, "title", q("Retitled"))
    spy = Spy(monkeypatch)
    report = build(site.settings(out, cache), NOW)
    assert report.reparsed == 1
    (ranges,) = spy.calls["snapshot"][0]
    assert ranges and all(low <= str(target) < high for low, high in ranges[:1])
    assert len(ranges) < len(list_files((site.posts, site.extra), []).chunks)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


def test_a_racy_file_is_compared_again_within_its_chunk(site, tmp_path, monkeypatch):
    site.generate(600, random.Random(7))  # several chunks
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    racy = site.files()[3]
    os.utime(racy)  # modified "now": not to be trusted by size and mtime alone
    build(site.settings(out, cache), NOW)
    spy = Spy(monkeypatch)
    report = build(site.settings(out, cache), NOW)
    assert report.reparsed == 1  # still compared by content
    (ranges,) = spy.calls["snapshot"][0]  # but only in its own chunk
    assert len(ranges) == 1 and ranges[0][0] <= str(racy) < ranges[0][1]


def test_a_file_gone_from_the_start_of_a_chunk_left_unsure_is_noticed(site, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    site.write(site.extra / "2025-01-01-extra.md", post_text("Extra", NEWEST - timedelta(days=9), ["tech"]))
    build(site.settings(out, cache), NOW)  # a chunk in each source
    racy = site.write(site.posts / "_posts" / "2025-12-30-racy.md", post_text("Racy", NEWEST, ["tech"]))
    os.utime(racy)  # just written: its chunk gets no digest
    build(site.settings(out, cache), NOW)
    first = min((path for path in site.files() if path.is_relative_to(site.posts)), key=str)
    assert first != racy
    first.unlink()  # the first path of that chunk: the chunk's range now starts later
    build(site.settings(out, cache), NOW)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


# --- only new posts --------------------------------------------------------------------


def test_new_posts_are_added_from_the_feed_index(site, tmp_path, monkeypatch):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    old = NEWEST - timedelta(days=2000)
    for i in range(2):
        site.write(site.posts / "_posts" / f"2025-12-0{i + 1}-zeta.md",
                   post_text(f"Zeta {i}", NEWEST - timedelta(days=30 - i), ["tech"], ["Zeta"]))
    for limit in (None, 3):
        build(site.settings(out, cache, limit=limit), NOW)
        spy = Spy(monkeypatch, forbid=("stubs",))
        added = [
            site.write(site.posts / "_posts" / f"2025-12-2{i}-zeta-up.md",
                       post_text(f"ZETA {i} {limit}", NEWEST - timedelta(days=i), ["markets"], ["ZETA", "fresh tag"]))
            for i in range(3)
        ]  # three "ZETA" against two "Zeta": the tag feed's name changes
        added.append(site.write(site.posts / "_posts" / f"1990-01-01-ancient-{limit}.md",
                                post_text("Too old for any feed top", old, ["tech"], ["bonds"])))
        added.append(site.write(site.posts / "_posts" / f"2025-12-31-broken-{limit}.md", "---\ntitle: [\n"))
        report = build(site.settings(out, cache, limit=limit), NOW)
        assert report.reparsed == len(added)
        assert spy.calls.get("feed_index"), "the feed index was not used"
        assert set(report.written) >= feed_files_of(["markets"], ["ZETA", "fresh tag"])
        rendered = set(report.written) | set(report.unchanged)
        assert rendered == feed_files_of(["markets", "tech"], ["ZETA", "fresh tag", "bonds"])  # no other feed
        if limit == 3:  # too old to enter the top three of its feeds
            assert set(report.unchanged) == feed_files_of(["tech"], ["bonds"]) - feed_files_of()
        cold_out = tmp_path / f"cold-{limit}"
        cold_build(site.settings(cold_out, limit=limit), NOW)
        assert_like_cold(out, cold_out, limit)
        monkeypatch.undo()
        for path in added:
            path.unlink()
        build(site.settings(out, cache, limit=limit), NOW)


@pytest.mark.parametrize("change", ["duplicate", "future", "also-edited", "output-file-missing"])
def test_new_posts_fall_back_to_grouping_when_unsure(site, tmp_path, monkeypatch, change):
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    spy = Spy(monkeypatch)
    site.write(site.posts / "_posts" / "2025-12-29-new.md",
               post_text("New", NEWEST - timedelta(hours=1), ["tech"], ["fx"]))
    if change == "duplicate":  # same file name in the second source: same permalink
        original = site.files()[0]
        site.write(site.extra / original.name, original.read_text(encoding="utf-8").replace("title:", "title: X", 1))
    elif change == "future":
        site.write(site.posts / "_posts" / "2099-01-01-later.md", post_text("Later", NOW + timedelta(days=9), ["tech"]))
    elif change == "also-edited":
        site.edit(site.files()[5], "title", q("Edited too"))
    else:
        (out / "tags" / "fx" / "rss.xml").unlink(missing_ok=True)
        (out / "categories" / "policy" / "atom.xml").unlink()
    build(site.settings(out, cache), NOW)
    assert spy.calls.get("stubs"), "expected the full grouping"
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold", change)


def test_feed_index_follows_incremental_and_full_builds(site, tmp_path):
    """Additions after other kinds of runs (deletes, a cache of one output used for
    another) still give the cold build's bytes."""
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    rng = random.Random(5)
    build(site.settings(out, cache), NOW)
    for step in range(6):
        if step % 2:
            victim = rng.choice(site.files())
            victim.unlink()
        for _ in range(rng.randint(1, 3)):
            site.new_post(rng, date=NEWEST - timedelta(minutes=rng.randrange(10_000)))
        other = tmp_path / f"other-{step}"
        build(site.settings(other if step == 3 else out, cache), NOW)
        build(site.settings(out, cache), NOW)
        cold_out = tmp_path / f"cold-{step}"
        cold_build(site.settings(cold_out), NOW)
        assert_like_cold(out, cold_out, step)
        if step == 3:
            assert_like_cold(other, cold_out, step)


def test_feed_index_never_seen_builds_everything(site, tmp_path):
    """A feed index that lacks a feed the last build wrote is not trusted."""
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    import sqlite3

    db = sqlite3.connect(cache)
    db.execute("DELETE FROM feeds")
    db.commit()
    db.close()
    site.write(site.posts / "_posts" / "2025-12-29-new.md", post_text("New", NEWEST, ["tech"], ["fx"]))
    build(site.settings(out, cache), NOW)  # finds no index row for these feeds: must not guess
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


def _paths(rows) -> list[str]:
    return [Path(row[0]).name for row in rows]


# --- what the shortcuts must not trust ---------------------------------------------------


@pytest.mark.parametrize("other_out", [False, True], ids=["same-out", "other-out-same-cache"])
def test_a_post_stored_by_a_build_that_ran_while_this_one_waited_for_the_lock(site, tmp_path, monkeypatch, other_out):
    """Build B lists the posts, then waits for the lock; meanwhile post W is written and
    build A stores it in the cache. B must not record its output as built from that cache."""
    from feeds import lock as locks

    out, out2, cache = tmp_path / "out", tmp_path / "out2", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    build(site.settings(out2, cache), NOW)
    site.write(site.posts / "_posts" / "2025-12-20-b-sees.md", post_text("B sees this", NEWEST, ["tech"]))
    real_enter = locks.OutputLock.__enter__
    ran: list[bool] = []

    def enter(lock):
        if not ran:
            ran.append(True)
            site.write(site.posts / "_posts" / "2025-12-21-w.md", post_text("W meanwhile", NEWEST, ["tech"]))
            build(site.settings(out2 if other_out else out, cache), NOW)  # build A
        return real_enter(lock)

    monkeypatch.setattr(locks.OutputLock, "__enter__", enter)
    build(site.settings(out, cache), NOW)  # build B
    monkeypatch.undo()
    build(site.settings(out, cache), NOW)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


def test_a_damaged_manifest_is_not_added_to(site, tmp_path):
    import json

    from feeds.manifest import MANIFEST_NAME

    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    site.write(site.posts / "_posts" / "2099-01-01-later.md", post_text("Later", NOW + timedelta(days=3), ["tech"]))
    build(site.settings(out, cache), NOW)
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest["next_due"] = "not a date"
    (out / MANIFEST_NAME).write_text(json.dumps(manifest), encoding="utf-8")
    site.write(site.posts / "_posts" / "2025-12-29-new.md", post_text("New", NEWEST, ["tech"], ["fx"]))
    build(site.settings(out, cache), NOW)
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")
    later = NOW + timedelta(days=4)  # the future post comes due
    build(site.settings(out, cache), later)
    cold_build(site.settings(tmp_path / "cold-later"), later)
    assert_like_cold(out, tmp_path / "cold-later")


def test_a_killed_build_without_cache_makes_the_next_cached_build_whole(site, tmp_path):
    """A build killed while writing leaves the lock file marked, so the next build renders
    everything, even when the killed one used no cache (and other options)."""
    from test_incremental import run_killed_at

    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    build(site.settings(out, cache), NOW)
    run_killed_at(site, tmp_path, 3, site.cli_args(out, None, "--title", "Another title"))
    report = build(site.settings(out, cache), NOW)
    assert report.written, "the files the killed build wrote are written again"
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")
    assert list(out.rglob(".feeds-tmp-*")) == []


def test_a_file_name_that_is_not_utf8_is_shown_escaped_and_cached(site, tmp_path):
    from feeds.listing import discover

    path = site.write(site.posts / "_posts" / "2025-12-28-x.md", post_text("Odd name", NEWEST, ["tech"]))
    odd = os.fsencode(str(path.parent)) + b"/2025-12-28-caf\xe9.md"
    os.rename(os.fsencode(str(path)), odd)
    shown = [display for display, _path in discover((site.posts,)) if "caf" in display]
    assert shown == [str(site.posts / "_posts" / "2025-12-28-caf\\xe9.md")]
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    first = build(site.settings(out, cache), NOW)
    assert "Odd name" in (out / "atom.xml").read_text(encoding="utf-8")
    again = build(site.settings(out, cache), NOW)
    assert again.reparsed == 0 and again.written == []
    assert first.problems == again.problems
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")


def test_every_kind_of_run_reports_the_same_notes(site, tmp_path):
    """Notes about duplicates and future posts come from looking at every post; the
    runs that do not (nothing changed, only new posts) report the last build's."""
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    original = site.files()[0]
    site.write(site.extra / original.name, original.read_text(encoding="utf-8"))  # a duplicate
    site.write(site.posts / "_posts" / "2099-01-01-later.md", post_text("Later", NOW + timedelta(days=3), ["tech"]))

    def notes(report) -> list[str]:
        return sorted(str(p) for p in report.problems if p.severity.value == "info")

    cold = notes(build(site.settings(out, cache), NOW))
    assert any("same permalink" in n for n in cold) and any("future" in n for n in cold)
    assert notes(build(site.settings(out, cache), NOW)) == cold  # nothing changed
    site.write(site.posts / "_posts" / "2025-12-29-new.md", post_text("New", NEWEST, ["tech"], ["fx"]))
    assert notes(build(site.settings(out, cache), NOW)) == cold  # only a new post


KILL_AT_PATH = """
import os, sys
import feeds.write as w
from feeds.cli import app

real = w.atomic_write


def killing(path, data):
    real(path, data)
    if sys.argv[1] in str(path):
        os._exit(9)  # killed right after that file is in place


w.atomic_write = killing
app(args=["build", *sys.argv[2:]], prog_name="feeds")
"""


@pytest.mark.parametrize("cached", [True, False], ids=["cache", "no-cache"])
def test_a_feed_written_by_a_killed_build_is_pruned_later(site, tmp_path, cached):
    """A build killed after writing the feed of a new tag, before saving its manifest;
    the post is then deleted. --prune must remove that feed: it was listed first."""
    import subprocess
    import sys

    out, cache = tmp_path / "out", (tmp_path / "cache.sqlite" if cached else None)
    build(site.settings(out, cache, prune=True), NOW)
    new = site.write(site.posts / "_posts" / "2025-12-29-new.md", post_text("New", NEWEST, ["tech"], ["brandnew"]))
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AT_PATH, "brandnew", *site.cli_args(out, cache, "--prune")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert killed.returncode == 9, killed.stderr
    assert (out / "tags" / "brandnew").is_dir()
    new.unlink()
    build(site.settings(out, cache, prune=True), NOW)
    assert not (out / "tags" / "brandnew").exists()
    cold_build(site.settings(tmp_path / "cold", prune=True), NOW)
    assert_like_cold(out, tmp_path / "cold")


def test_two_files_shown_alike_one_is_left_out_with_an_error(site, tmp_path):
    odd = os.fsencode(str(site.posts / "_posts")) + b"/2025-12-28-a\xff.md"  # the byte 0xff
    with open(odd, "w", encoding="utf-8") as handle:
        handle.write(post_text("Not UTF-8 name", NEWEST, ["tech"], permalink="/one/"))
    literal = site.write(  # a backslash, "x", "f", "f"
        site.posts / "_posts" / "2025-12-28-a\\xff.md", post_text("Literal", NEWEST, ["tech"], permalink="/two/")
    )
    out, cache = tmp_path / "out", tmp_path / "cache.sqlite"
    first = build(site.settings(out, cache), NOW)
    errors = [p for p in first.problems if "shown the same way" in p.message]
    assert [p.path for p in errors] == [str(literal)] and errors[0].severity.value == "error"
    again = build(site.settings(out, cache), NOW)
    assert again.written == [] and again.problems == first.problems  # no flip-flop between the two
    cold_build(site.settings(tmp_path / "cold"), NOW)
    assert_like_cold(out, tmp_path / "cold")
