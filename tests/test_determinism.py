"""Same input, same bytes: independent of environment, clock, file order; unchanged files untouched."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import feeds.read
from conftest import EXAMPLE, NOW, REPO, settings_for
from feeds.build import build

SUMMARY_LINE = re.compile(r"feeds: \d+ posts? read, \d+ skipped; (\d+) feed files? written, (\d+) unchanged in ")
VOLATILE = ("TZ", "LANG", "LANGUAGE", "PYTHONHASHSEED", "PYTHONUTF8", "PYTHONIOENCODING")


def run_cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in VOLATILE and not k.startswith("LC_")}
    full.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "feeds", "build", *args],
        cwd=cwd, env=full, capture_output=True, text=True, encoding="utf-8", timeout=120,
    )
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def stats(out: Path) -> dict[str, tuple[int, int]]:
    result = {}
    for p in out.rglob("*"):
        if p.is_file():
            st = os.stat(p)
            result[p.relative_to(out).as_posix()] = (st.st_mtime_ns, st.st_ino)
    return result


def feed_count(out: Path) -> int:
    return len(list(out.rglob("*.xml")))


def counts(stdout: str) -> tuple[int, int]:
    m = SUMMARY_LINE.search(stdout)
    assert m, stdout
    return int(m.group(1)), int(m.group(2))


def front(path: Path) -> dict:
    m = re.match(r"\s*---\n(.*?)\n---\n", path.read_text("utf-8"), re.S)
    assert m
    return yaml.load(m.group(1), Loader=yaml.BaseLoader)


def words(value) -> list[str]:
    if not value:
        return []
    return list(value) if isinstance(value, list) else value.split()


def copy_example(dest: Path) -> Path:
    """The example's posts and feeds.toml (no dot-files such as a cache)."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".*"))
    return dest


def test_environment_does_not_change_a_byte(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run_cli(["posts", "--out", str(a), "--limit", "0", "--cache", str(tmp_path / "a.sqlite")], REPO,
            TZ="Asia/Tokyo", PYTHONHASHSEED="1", LC_ALL="C", LANG="C")
    run_cli(["posts", "--out", str(b), "--limit", "0", "--cache", str(tmp_path / "b.sqlite")], REPO,
            TZ="America/Los_Angeles", PYTHONHASHSEED="12345", LC_ALL="C.UTF-8", LANG="C.UTF-8")
    first, second = tree(a), tree(b)
    assert feed_count(a) > 0, "nothing was written"
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], name


def test_environment_with_site_url_flag(tmp_path):
    # no feeds.toml at all: every setting from flags, still identical across environments
    args = ["--site-url", "https://det.example.org", "--timezone", "Asia/Shanghai", "--limit", "0", "--no-cache"]
    a, b = tmp_path / "a", tmp_path / "b"
    run_cli([str(EXAMPLE / "_posts"), "--out", str(a), *args], tmp_path, TZ="UTC", PYTHONHASHSEED="0", LC_ALL="C")
    run_cli([str(EXAMPLE / "_posts"), "--out", str(b), *args], tmp_path,
            TZ="Pacific/Chatham", PYTHONHASHSEED="987", LC_ALL="C.UTF-8")
    assert feed_count(a) > 0
    assert tree(a) == tree(b)


@pytest.mark.parametrize("cache", ["cache-file", "no-cache"])
def test_second_build_touches_nothing(tmp_path, cache):
    out = tmp_path / "out"
    args = ["posts", "--out", str(out), "--limit", "0"]
    args += ["--cache", str(tmp_path / "cache.sqlite")] if cache == "cache-file" else ["--no-cache"]
    first = run_cli(args, REPO)
    feeds = feed_count(out)
    assert counts(first.stdout) == (feeds, 0) and feeds > 0
    files = tree(out)
    before = stats(out)
    time.sleep(0.05)
    second = run_cli(args, REPO)
    assert counts(second.stdout) == (0, feeds)
    assert stats(out) == before
    assert tree(out) == files  # the same files, no temp file left behind


@pytest.mark.parametrize("cache", ["cache-file", "no-cache"])
def test_title_change_rewrites_only_the_feeds_of_that_post(tmp_path, cache):
    site = copy_example(tmp_path / "posts")
    out = tmp_path / "out"
    args = [str(site), "--out", str(out), "--limit", "0"]
    args += ["--cache", str(tmp_path / "cache.sqlite")] if cache == "cache-file" else ["--no-cache"]
    run_cli(args, tmp_path)
    before = stats(out)
    bytes_before = tree(out)
    feeds = {name for name in before if name.endswith(".xml")}

    post = site / "_posts" / "2024-05-04-edge-ai-module.md"
    meta = front(post)
    text = post.read_text("utf-8")
    post.write_text(text.replace(f'title: "{meta["title"]}"', f'title: "{meta["title"]} (updated)"', 1), "utf-8")
    assert front(post)["title"] == f"{meta['title']} (updated)"

    dirs = {""}
    dirs |= {f"categories/{c.lower()}" for c in words(meta.get("categories"))}
    dirs |= {f"tags/{t.lower()}" for t in words(meta.get("tags"))}
    expected = {f"{d}/{f}".lstrip("/") for d in dirs for f in ("atom.xml", "rss.xml")}
    assert expected <= feeds
    assert len(expected) < len(feeds), "the post must not be in every feed, or the test proves nothing"

    time.sleep(0.05)
    done = run_cli(args, tmp_path)
    after = stats(out)
    assert set(after) == set(before)
    changed = {name for name in feeds if after[name] != before[name]}
    assert changed == expected
    assert counts(done.stdout) == (len(expected), len(feeds) - len(expected))
    now_bytes = tree(out)
    for name in expected:
        assert f"{meta['title']} (updated)".encode() in now_bytes[name]
    for name in feeds - expected:
        assert now_bytes[name] == bytes_before[name]


def _copy_in_order(dest: Path, reverse: bool) -> None:
    files = sorted(
        p.relative_to(EXAMPLE) for p in EXAMPLE.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(EXAMPLE).parts)
    )
    dirs = sorted({f.parent for f in files if f.parent != Path(".")})
    dest.mkdir(parents=True)
    for d in reversed(dirs) if reverse else dirs:
        (dest / d).mkdir(parents=True, exist_ok=True)
    for f in reversed(files) if reverse else files:
        shutil.copyfile(EXAMPLE / f, dest / f)
    _differ_duplicate(dest)


DUPLICATE = Path("old_post") / "2024-05-02-202405021415093382.md"  # also in _posts/


def _differ_duplicate(site: Path) -> None:
    """Give the old_post copy of the duplicated post another title, so that
    which copy wins shows in the bytes (the _posts copy must, whatever the order)."""
    path = site / DUPLICATE
    assert (site / "_posts" / DUPLICATE.name).is_file()
    text = path.read_text("utf-8")
    path.write_text(text.replace('title: "', 'title: "OLD COPY ', 1), "utf-8")
    assert "OLD COPY" in front(path)["title"]


def test_file_listing_order_does_not_matter(tmp_path):
    one, two = tmp_path / "one" / "posts", tmp_path / "two" / "site"
    _copy_in_order(one, reverse=False)
    _copy_in_order(two, reverse=True)
    build(settings_for(one, out=tmp_path / "out1", limit=0, cache=tmp_path / "c1.sqlite"), NOW)
    build(settings_for(two, out=tmp_path / "out2", limit=0, cache=tmp_path / "c2.sqlite"), NOW)
    first, second = tree(tmp_path / "out1"), tree(tmp_path / "out2")
    assert feed_count(tmp_path / "out1") > 0
    assert first == second
    assert b"OLD COPY" not in first["atom.xml"]


def test_directory_walk_order_does_not_matter(tmp_path, monkeypatch):
    """Even when the file system lists every directory backwards."""
    site = tmp_path / "posts"
    _copy_in_order(site, reverse=False)
    build(settings_for(site, out=tmp_path / "forward", limit=0, no_cache=True), NOW)
    real_walk = os.walk

    def backwards(top, *args, **kwargs):
        for root, dirs, files in real_walk(top, *args, **kwargs):
            dirs.reverse()
            files.reverse()
            yield root, dirs, files

    monkeypatch.setattr(feeds.read.os, "walk", backwards)
    build(settings_for(site, out=tmp_path / "backward", limit=0, no_cache=True), NOW)
    first = tree(tmp_path / "forward")
    assert feed_count(tmp_path / "forward") > 0
    assert first == tree(tmp_path / "backward")
    assert b"OLD COPY" not in first["atom.xml"]  # the _posts copy won both times


@pytest.mark.parametrize("limit", ["0", "2"])
def test_repeated_cli_builds_are_identical(tmp_path, limit):
    a, b = tmp_path / "a", tmp_path / "b"
    run_cli(["posts", "--out", str(a), "--limit", limit, "--no-cache"], REPO, PYTHONHASHSEED="random")
    run_cli(["posts", "--out", str(b), "--limit", limit, "--no-cache"], REPO, PYTHONHASHSEED="random")
    assert feed_count(a) > 0
    assert tree(a) == tree(b)
