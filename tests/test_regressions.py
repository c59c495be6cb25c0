"""Regression tests for recent fixes: each test fails if its fix is reverted.

Every build keeps its cache in tmp_path (or uses no cache) and runs with
--jobs 1, so the file stays fast and never touches the repository's posts/.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import NOW, REPO, parse, settings_for
from lxml import etree
from typer.testing import CliRunner

import feeds.build
import feeds.cli
from feeds.build import build, scan
from feeds.dates import DateError, to_datetime
from feeds.errors import FeedsError
from feeds.listing import discover
from feeds.model import Problem, Severity
from feeds.read import ReadOptions, parse_post
from feeds.text import plain_text
from feeds.write import Writer

SITE = "https://example.org"
SHANGHAI = ZoneInfo("Asia/Shanghai")
OPTIONS = ReadOptions(site_url=SITE, timezone=SHANGHAI)
ATOM = "{http://www.w3.org/2005/Atom}"
LONG_INT = "0x" + "f" * 4000  # 4816 decimal digits: str() refuses it (limit 4300)
AN_HOUR_AGO = time.time() - 3600


def write_post(path: Path, title: str, *, date_line: str = "2024-01-02 10:00:00 +0800", extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\ntitle: {title}\ndate: {date_line}\n{extra}---\n\nBody of {title}.\n", encoding="utf-8")
    os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))  # well before any build: the cache may trust it
    return path


def make_file(directory: Path, name: str, text: str) -> str:
    """Create a file whose name may hold a newline or a control character."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
    os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))
    return path


def xml_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.xml"))}


# --- 1. front matter that used to crash the reader ------------------------------------

CRASHERS = ["=", "<<", LONG_INT]


@pytest.mark.parametrize("flat", [True, False], ids=["flat", "yaml"])
@pytest.mark.parametrize("value", CRASHERS, ids=["equals", "merge", "long-int"])
def test_odd_title_values_keep_the_post(value, flat):
    # flat: every line is "key: scalar" (the fast path); yaml: a list forces the YAML parser
    extra = "" if flat else "tags: [a, b]\n"
    text = f"---\ntitle: {value}\ndate: 2024-01-02 10:00:00 +0800\n{extra}---\n\nBody.\n"
    result = parse_post(text, "p.md", "2024-01-01-slug.md", OPTIONS)
    assert result.post is not None, [str(p) for p in result.problems]
    assert result.post.date == datetime(2024, 1, 2, 2, 0, tzinfo=UTC)
    assert all(p.severity is not Severity.ERROR for p in result.problems)
    if value == LONG_INT:
        assert result.post.title == "Slug"  # the number cannot be used: the file name's slug, titled as Jekyll titles it
        assert any("title" in p.message for p in result.problems)
    else:
        assert result.post.title == value
        assert any(p.severity is Severity.WARNING for p in result.problems)


def test_title_equals_sign_alone():
    result = parse_post("---\ntitle: =\n---\n", "p.md", "2024-01-01-x.md", OPTIONS)
    assert result.post is not None and result.post.title == "="
    assert [p.severity for p in result.problems] == [Severity.WARNING]


@pytest.mark.parametrize("value", CRASHERS, ids=["equals", "merge", "long-int"])
def test_odd_date_values_fall_back_to_the_file_name(value):
    text = f"---\ntitle: T\ndate: {value}\n---\n\nBody.\n"
    result = parse_post(text, "p.md", "2024-01-01-slug.md", OPTIONS)
    assert result.post is not None, [str(p) for p in result.problems]
    assert result.post.title == "T"
    assert result.post.date == datetime(2024, 1, 1, tzinfo=SHANGHAI)
    assert any(p.severity is Severity.WARNING and "date" in p.message for p in result.problems)


@pytest.mark.parametrize("value", CRASHERS, ids=["equals", "merge", "long-int"])
def test_odd_date_values_without_a_file_date_are_a_problem(value):
    text = f"---\ntitle: T\ndate: {value}\n---\n\nBody.\n"
    result = parse_post(text, "p.md", "undated.md", OPTIONS)
    assert result.post is None
    errors = [p for p in result.problems if p.severity is Severity.ERROR]
    assert errors and all(isinstance(p, Problem) for p in result.problems)
    assert "date" in errors[0].message


# --- 2. dates never depend on the machine ---------------------------------------------

DATE_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from zoneinfo import ZoneInfo
    from feeds.dates import DateError, to_datetime
    found = []
    for value in json.loads(sys.argv[1]):
        try:
            found.append(to_datetime(value, ZoneInfo("Asia/Shanghai")).isoformat())
        except DateError:
            found.append("DateError")
    # proof that TZ took effect in this process: the machine's own offset on that day
    print(json.dumps({"local": time.strftime("%z", time.localtime(1654070580)), "dates": found}))
    """
)
MACHINE_DATES = {
    "June 1, 2022 16:03 +0800": "2022-06-01T16:03:00+08:00",
    "June 1, 2022 16:03 UTC": "2022-06-01T16:03:00+00:00",
    "June 1, 2022 16:03 CST": "DateError",  # China, Central (US) or Cuba: refused
    "June 1, 2022 16:03": "2022-06-01T16:03:00+08:00",  # naive: the site's zone
    "2022-06-01 16:03:57 -0500": "2022-06-01T16:03:57-05:00",
}


def test_dates_are_the_same_under_any_tz():
    values = list(MACHINE_DATES)
    runs = {}
    for tz in ("UTC", "America/Chicago", "Asia/Shanghai"):
        env = {**os.environ, "TZ": tz}
        done = subprocess.run(
            [sys.executable, "-c", DATE_SCRIPT, json.dumps(values)],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 0, done.stderr
        runs[tz] = json.loads(done.stdout)
    assert len({run["local"] for run in runs.values()}) == 3, runs  # the TZ values really differed
    for tz, run in runs.items():
        assert dict(zip(values, run["dates"])) == MACHINE_DATES, tz


@pytest.mark.parametrize(
    "value, zone",
    [
        ("0999-12-31", UTC),
        ("0999-12-31 23:00:00 +0000", UTC),
        ("1000-01-01 00:30:00 +0100", UTC),  # year 1000 here, 999 in UTC
        ("1000-01-01 00:00", SHANGHAI),  # naive: 999 in UTC
        ("9999-12-31 23:00:00 -0500", UTC),  # 10000 in UTC
        ("9999-12-31 23:00", ZoneInfo("America/Chicago")),
        ("0001-01-01 00:30:00 +0100", UTC),  # year 0 in UTC: overflow
        (datetime(1, 1, 1), UTC),
        (datetime(999, 6, 1, tzinfo=UTC), SHANGHAI),
        (date(1000, 1, 1), SHANGHAI),  # local midnight is 999 in UTC
        ("June 1, 0999 10:00", UTC),
        ("December 31, 9999 23:00 -1000", UTC),
    ],
)
def test_years_outside_1000_9999_are_date_errors(value, zone):
    with pytest.raises(DateError):
        to_datetime(value, zone)


def test_years_at_the_edges_are_accepted():
    assert to_datetime("1000-01-01 00:00:00 +0000", UTC).year == 1000
    assert to_datetime("9999-12-31 23:00", SHANGHAI).year == 9999


@pytest.mark.parametrize("value", ["1900-01-01", "1900-01-01 00:00", datetime(1900, 1, 1), date(1900, 1, 1)])
def test_local_mean_time_offset_is_given_in_utc(value):
    expected = datetime(1900, 1, 1, tzinfo=SHANGHAI)  # LMT +08:05:43
    assert expected.utcoffset().seconds % 60  # the zone data really has seconds here
    found = to_datetime(value, SHANGHAI)
    assert found.utcoffset().total_seconds() == 0
    assert found == expected  # the same instant
    assert found.isoformat() == "1899-12-31T15:54:17+00:00"


# --- 3. summaries take linear time ------------------------------------------------------


class _TooSlow(Exception):
    pass


@pytest.mark.parametrize("unit", ["[", "**a ", "![", "<!--", "<a "])
def test_plain_text_is_linear_on_hostile_text(unit):
    text = (unit * 200_000)[:200_000]

    def alarm(_signum, _frame):
        raise _TooSlow(f"plain_text on {unit!r} * n took over 2 s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, 2.0)  # a quadratic regex is interrupted, not waited out
    try:
        started = time.perf_counter()
        plain_text(text)
        elapsed = time.perf_counter() - started
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert elapsed < 2.0


def test_plain_text_block_marks():
    assert plain_text("# Heading\n\n- item **b**") == "Heading item b"


# --- 4. a directory that cannot be listed -----------------------------------------------


@pytest.fixture
def unlistable(tmp_path, monkeypatch):
    """src/ with a readable post and a subdirectory (src/locked) that cannot be listed."""
    src = tmp_path / "src"
    write_post(src / "2024-01-01-ok.md", "OK")
    locked = src / "locked"
    write_post(locked / "2024-01-02-hidden.md", "Hidden")
    if os.geteuid() == 0:  # root lists anything: make listing it fail as it would for a user
        real_open = os.open

        def open_(path, flags, *args, **kwargs):
            if flags & os.O_DIRECTORY and os.path.realpath(path) == os.path.realpath(locked):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", open_)
        yield src, locked
    else:
        locked.chmod(0)
        try:
            yield src, locked
        finally:
            locked.chmod(0o755)


def _listing_problem(problems, locked: Path) -> Problem:
    found = [p for p in problems if os.path.realpath(p.path) == os.path.realpath(locked)]
    assert found, [str(p) for p in problems]
    return found[0]


def test_unlistable_directory_is_an_error_from_discover(unlistable):
    src, locked = unlistable
    problems: list[Problem] = []
    files = discover((src,), problems)
    assert [Path(path).name for _display, path in files] == ["2024-01-01-ok.md"]
    problem = _listing_problem(problems, locked)
    assert problem.severity is Severity.ERROR
    assert str(locked) in str(problem)


def test_unlistable_directory_is_an_error_from_build(unlistable, tmp_path):
    src, locked = unlistable
    settings = settings_for(src, out=tmp_path / "out", site_url=SITE, cache=tmp_path / "c.sqlite", jobs=1)
    report = build(settings, NOW)
    problem = _listing_problem(report.problems, locked)
    assert problem.severity is Severity.ERROR
    assert report.skipped >= 1
    assert [e.title for e in parse(tmp_path / "out" / "atom.xml").entries] == ["OK"]


# --- 5. the order of the sources, with the cache -----------------------------------------


def test_reordered_sources_with_cache_match_a_cold_build(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_post(a / "2024-01-01-post.md", "Title A", extra="permalink: /same.html\n")
    write_post(b / "2024-01-01-post.md", "Title B", extra="permalink: /same.html\n")
    out, cache = tmp_path / "out", tmp_path / "c.sqlite"

    build(settings_for(a, b, out=out, site_url=SITE, cache=cache, jobs=1), NOW)
    assert [e.title for e in parse(out / "atom.xml").entries] == ["Title A"]

    build(settings_for(b, a, out=out, site_url=SITE, cache=cache, jobs=1), NOW)
    assert [e.title for e in parse(out / "atom.xml").entries] == ["Title B"]

    cold = tmp_path / "cold"
    build(settings_for(b, a, out=cold, site_url=SITE, no_cache=True, jobs=1), NOW)
    assert xml_files(out) == xml_files(cold)


# --- 6. `cp -p`-style edits ---------------------------------------------------------------


def test_same_size_same_mtime_edit_is_noticed(tmp_path):
    src, out, cache = tmp_path / "src", tmp_path / "out", tmp_path / "c.sqlite"
    post = write_post(src / "2024-01-01-post.md", "AAAA")
    old = os.stat(post)
    assert time.time() - old.st_mtime > 2  # older than the racy window: size and mtime are trusted
    settings = settings_for(src, out=out, site_url=SITE, cache=cache, jobs=1)
    build(settings, NOW)
    assert [e.title for e in parse(out / "atom.xml").entries] == ["AAAA"]

    post.write_text(post.read_text(encoding="utf-8").replace("AAAA", "BBBB"), encoding="utf-8")
    os.utime(post, ns=(old.st_atime_ns, old.st_mtime_ns))  # as `cp -p` or `touch -r` would
    new = os.stat(post)
    assert (new.st_size, new.st_mtime_ns) == (old.st_size, old.st_mtime_ns)

    report = build(settings, NOW)
    assert report.reparsed >= 1
    assert [e.title for e in parse(out / "atom.xml").entries] == ["BBBB"]


# --- 7. configuration validation ---------------------------------------------------------


@pytest.fixture
def site(tmp_path) -> Path:
    src = tmp_path / "src"
    write_post(src / "2024-01-01-post.md", "T", extra="categories: [市场, Markets]\n")
    return src


def _cli(tmp_path: Path, src: Path, *flags: str):
    args = ["build", str(src), "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "c.sqlite"), "--jobs", "1"]
    return CliRunner().invoke(feeds.cli.app, [*args, *flags])


def _assert_usage_error(result, tmp_path: Path) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("feeds: error: "), result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "flags",
    [
        ["--site-url", "https://e.org/?q=1"],
        ["--site-url", "https://e.org/#top"],
        ["--site-url", SITE, "--encoding", "rot13"],
        ["--site-url", SITE, "--encoding", "idna"],
        ["--site-url", SITE, "--encoding", "undefined"],
        ["--site-url", SITE, "--wait", "nan"],
        ["--site-url", SITE, "--wait", "inf"],
        ["--site-url", SITE, "--timezone", ""],  # ("--timezone $TZ" with TZ unset)
        ["--site-url", "  "],
        ["--site-url", SITE, "--cache", "no-such-folder/cache.sqlite"],
        ["--site-url", SITE, "--config", "."],
    ],
    ids=["query", "fragment", "rot13", "idna", "undefined", "wait-nan", "wait-inf",
         "empty-timezone", "empty-site-url", "cache-folder-missing", "config-is-a-folder"],
)
def test_bad_flags_exit_two(tmp_path, site, flags):
    _assert_usage_error(_cli(tmp_path, site, *flags), tmp_path)


def test_out_that_is_a_file_exits_two(tmp_path, site):
    afile = tmp_path / "afile"
    afile.write_text("not a directory\n")
    result = _cli(tmp_path, site, "--site-url", SITE, "--out", str(afile))
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.startswith("feeds: error: ") and result.stderr.count("\n") == 1
    assert afile.read_text() == "not a directory\n"


@pytest.mark.parametrize(
    "toml",
    [
        "out = 5",
        'category_url = "{slug.upper}"',
        'category_url = "https://e.org/c/{slug.upper}/"',
        'category_url = "https://e.org/c/{slug[0]}/"',
        'tag_url = "https://e.org/t/{0}/"',
        'category_url = "/c/{slug}"',
        'category_url = "https://{name}.e.org/"',
        'tag_url = "https://e.org:{slug}/"',
        'tag_url = "{site}{slug}/"',
    ],
    ids=["out-int", "attribute", "absolute-attribute", "index", "positional", "relative", "name-in-host",
         "slug-in-port", "slug-in-host-after-site"],
)
def test_bad_feeds_toml_exits_two(tmp_path, site, toml):
    config = tmp_path / "feeds.toml"
    config.write_text(f'site_url = "{SITE}"\n{toml}\n', encoding="utf-8")
    _assert_usage_error(_cli(tmp_path, site, "--config", str(config)), tmp_path)


@pytest.mark.parametrize("target", ["notes.txt", "post", "inside-out", "directory"])
def test_cache_that_would_overwrite_someone_elses_file_exits_two(tmp_path, site, target):
    """--cache never replaces a file that is not a cache: a typo must not turn
    notes, or a post, into a database (nor write into the published --out)."""
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    post = next(site.rglob("*.md"))
    before = post.read_bytes()
    (tmp_path / "a-directory").mkdir()
    path = {
        "notes.txt": notes, "post": post, "inside-out": tmp_path / "out" / "c.sqlite", "directory": tmp_path / "a-directory",
    }[target]
    result = CliRunner().invoke(
        feeds.cli.app, ["build", str(site), "--out", str(tmp_path / "out"), "--cache", str(path), "--site-url", SITE]
    )
    _assert_usage_error(result, tmp_path)
    assert notes.read_text(encoding="utf-8") == "my notes\n" and post.read_bytes() == before


def test_a_damaged_cache_named_as_a_cache_is_still_rebuilt(tmp_path, site):
    cache = tmp_path / "feeds.sqlite"
    cache.write_text("garbage, not a database\n", encoding="utf-8")
    result = _cli(tmp_path, site, "--site-url", SITE, "--cache", str(cache))
    assert result.exit_code == 0, (result.output, result.exception)
    assert "rebuilt" in result.stderr
    assert cache.read_bytes().startswith(b"SQLite format 3\x00")


def test_non_ascii_category_url_is_percent_encoded(tmp_path, site):
    config = tmp_path / "feeds.toml"
    config.write_text(f'site_url = "{SITE}"\ncategory_url = "https://e.org/分类/{{slug}}/"\n', encoding="utf-8")
    result = _cli(tmp_path, site, "--config", str(config))
    assert result.exit_code == 0, (result.output, result.exception)
    atom = tmp_path / "out" / "categories" / "市场" / "atom.xml"
    root = etree.fromstring(atom.read_bytes())
    hrefs = [link.get("href") for link in root.findall(f"{ATOM}link") if link.get("rel") == "alternate"]
    assert hrefs == ["https://e.org/%E5%88%86%E7%B1%BB/%E5%B8%82%E5%9C%BA/"]
    assert parse(atom).feed.link == hrefs[0]
    markets = etree.fromstring((tmp_path / "out" / "categories" / "markets" / "atom.xml").read_bytes())
    alternate = [link.get("href") for link in markets.findall(f"{ATOM}link") if link.get("rel") == "alternate"]
    assert alternate == ["https://e.org/%E5%88%86%E7%B1%BB/markets/"]
    assert all(href.isascii() for href in hrefs + alternate)


# --- 8. an internal error exits 70 ----------------------------------------------------------


def test_internal_error_exits_70_with_traceback(tmp_path, site, monkeypatch, capsys):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom from a test")

    monkeypatch.setattr(feeds.build, "build", broken)
    argv = ["feeds", "build", str(site), "--out", str(tmp_path / "out"), "--site-url", SITE,
            "--cache", str(tmp_path / "c.sqlite"), "--jobs", "1", "--quiet"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        feeds.cli.main()
    assert exited.value.code == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: boom from a test" in err


# --- 9. file names with control characters stay on one line -----------------------------------


@pytest.mark.parametrize("odd", ["\n", "\r", "\x1b", "\u2028"], ids=["newline", "cr", "escape", "line-sep"])
def test_problem_lines_stay_on_one_line(tmp_path, odd):
    src = tmp_path / "src"
    src.mkdir()
    make_file(src, f"2024-01-01-a{odd}b.md", "---\ntitle: [broken\ndate: 2024-01-01\n---\nbody\n")
    make_file(src, f"2024-01-02-c{odd}d.md", "---\ntitle: unclosed\n")
    settings = settings_for(src, out=tmp_path / "out", site_url=SITE, no_cache=True, jobs=1)
    problems = scan(settings, NOW).problems
    assert len({p.path for p in problems}) == 2, [str(p) for p in problems]
    for problem in problems:
        line = str(problem)
        assert "\n" not in line and "\r" not in line and line.isprintable(), repr(line)


def test_duplicate_note_naming_another_file_stays_on_one_line(tmp_path):
    # the note about a duplicate names the winning copy in its message, not only its location
    src = tmp_path / "src"
    src.mkdir()
    make_file(src, "2024-01-01-a\nb.md", "---\ntitle: First\npermalink: /same.html\n---\nbody\n")
    make_file(src, "2024-01-02-plain.md", "---\ntitle: Second\npermalink: /same.html\n---\nbody\n")
    settings = settings_for(src, out=tmp_path / "out", site_url=SITE, no_cache=True, jobs=1)
    problems = scan(settings, NOW).problems
    assert any("same permalink" in p.message for p in problems), [str(p) for p in problems]
    for problem in problems:
        assert "\n" not in str(problem), repr(str(problem))


# --- 10. the writer and a symlink leading outside --------------------------------------------


def test_writer_refuses_a_symlinked_parent_outside_out(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "categories").symlink_to(outside, target_is_directory=True)
    with pytest.raises(FeedsError):
        Writer(out).write("categories/x/atom.xml", b"<x/>")
    assert list(outside.iterdir()) == []


def test_writer_refuses_a_deeper_symlink_outside_out(tmp_path):
    out, outside = tmp_path / "out", tmp_path / "outside"
    (out / "tags").mkdir(parents=True)
    outside.mkdir()
    (out / "tags" / "x").symlink_to(outside, target_is_directory=True)
    with pytest.raises(FeedsError):
        Writer(out).write("tags/x/atom.xml", b"<x/>")
    assert list(outside.iterdir()) == []


def test_writer_takes_the_output_path_in_any_spelling(tmp_path):
    # "out/" and "out" are one directory: a top-level file is inside it either way
    for spelling in ("a/", "b", "c/./"):
        out = str(tmp_path / spelling)
        writer = Writer(out)
        assert writer.write("atom.xml", b"<x/>") is True
        assert writer.write("tags/t/rss.xml", b"<y/>") is True
        assert (tmp_path / spelling / "atom.xml").read_bytes() == b"<x/>"
        assert Writer(out).write("atom.xml", b"<x/>") is False  # same bytes: not rewritten


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("url: https://e.org\ntitle: [a, b]\n", "title in the Jekyll config is a list, not text"),
        ("url: https://e.org\nauthor:\n  name: {first: A}\n", "author.name in the Jekyll config is a mapping"),
        ('url: https://e.org\ntitle: "open\n  b: [\n', "not valid YAML (line 4)"),
    ],
    ids=["list-title", "mapping-author", "broken-yaml"],
)
def test_a_bad_jekyll_config_is_one_line_and_exit_two(tmp_path, monkeypatch, config, message):
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_posts" / "2024-01-01-a.md").write_text("---\ntitle: A\ndate: 2024-01-01\n---\nx\n", encoding="utf-8")
    (tmp_path / "_config.yml").write_text(config, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(feeds.cli.app, ["build", "--no-cache"])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "public").exists()


def test_a_file_that_cannot_be_put_in_place_is_named_in_the_error_and_no_temp_is_left(tmp_path):
    """A directory where the manifest goes: the message names the manifest, not the temp file."""
    from feeds.write import TEMP_PREFIX, atomic_write

    target = tmp_path / ".feeds-manifest.json"
    target.mkdir()
    with pytest.raises(OSError) as raised:
        atomic_write(target, b"{}\n")
    assert raised.value.filename == str(target)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


@pytest.mark.parametrize("failing", ["open", "write"])
def test_a_temp_file_that_cannot_be_made_or_filled_is_named_after_its_target(tmp_path, monkeypatch, failing):
    """A read-only folder (open) or a full disk (write): the error names the feed, not the temp file."""
    import errno

    from feeds import write
    from feeds.write import TEMP_PREFIX, atomic_write

    real = getattr(os, failing)

    def fail(*args, **kwargs):
        if failing == "write" or TEMP_PREFIX in str(args[0]):
            code = errno.EROFS if failing == "open" else errno.ENOSPC
            raise OSError(code, os.strerror(code), str(args[0]) if failing == "open" else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(write.os, failing, fail)
    target = tmp_path / "atom.xml"
    with pytest.raises(OSError) as raised:
        atomic_write(target, b"<feed/>\n")
    monkeypatch.setattr(write.os, failing, real)
    assert raised.value.filename == str(target)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_a_relative_xdg_cache_home_is_ignored(tmp_path, monkeypatch):
    """The XDG Base Directory spec: a relative $XDG_CACHE_HOME is invalid and ignored."""
    from feeds.config import default_cache

    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache(None, tmp_path / "out").parent == tmp_path / "home" / ".cache" / "feeds"


def test_a_wrong_page_pattern_field_is_named_alone(tmp_path, site):
    result = _cli(tmp_path, site, "--site-url", SITE)
    assert result.exit_code == 0, result.output
    toml = tmp_path / "feeds.toml"
    toml.write_text('tag_url = "{site}/t/{nme}/"\n', encoding="utf-8")
    result = _cli(tmp_path, site, "--site-url", SITE, "--config", str(toml))
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("not ['nme']"), result.stderr


@pytest.mark.parametrize(
    "flags",
    [["--out", ""], ["--cache", ""], ["--config", ""], ["--out", " "]],
    ids=["out", "cache", "config", "out-blank"],
)
def test_an_empty_path_flag_exits_two_and_writes_nothing_here(tmp_path, site, monkeypatch, flags):
    """typer turns "" into Path("."): `--out "$OUT"` with OUT unset wrote the feeds
    into the current directory. An empty path is refused; nothing is written."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = CliRunner().invoke(feeds.cli.app, ["build", str(site), "--site-url", SITE, "--no-cache", *flags])
    _assert_usage_error(result, tmp_path)
    assert list(here.iterdir()) == []


def test_an_empty_source_exits_two_and_reads_nothing_here(tmp_path, site, monkeypatch):
    monkeypatch.chdir(site)  # "" would have read the current directory
    result = CliRunner().invoke(feeds.cli.app, ["build", "", "--out", str(tmp_path / "out"), "--site-url", SITE])
    _assert_usage_error(result, tmp_path)


def test_a_question_mark_in_a_flow_list_is_left_to_yaml():
    """Pure-Python PyYAML ends a plain scalar at "?" inside [..] (`tags: [0?]` is an
    error to it), libyaml reads the item "0?": the YAML parsers disagree, so the fast
    path, which must read as YAML does, leaves such a list to the one in use. Either
    way the post keeps its tags (with libyaml as they are; with pure PyYAML by the
    line-by-line reading, with a warning)."""
    import yaml

    from feeds.fm import parse_simple

    with pytest.raises(yaml.YAMLError):
        yaml.safe_load("tags: [0?]")
    assert parse_simple("tags: [0?]") is None
    assert parse_simple("tags: [a, b?c]") is None
    assert parse_simple('tags: [a, "b?c"]') == yaml.safe_load('tags: [a, "b?c"]')  # quoted: a scalar
    text = "---\ntitle: t\ndate: 2024-01-01 10:00:00 +0800\ntags: [0?, b]\n---\nBody.\n"
    result = parse_post(text, "p.md", "2024-01-01-slug.md", OPTIONS)
    assert result.post is not None and result.post.tags == ("0?", "b")
    assert all(p.severity is Severity.WARNING for p in result.problems)


@pytest.mark.parametrize("key", ["source", "link", "summary", "categories"])
def test_a_huge_integer_in_a_message_is_described_not_printed(key):
    """Python refuses to print an integer of over 4300 digits: a message quoting
    one (found by fuzzing: `source: <5000 digits>`) must not crash the reader."""
    value = "0x" + "f" * 5000  # (hexadecimal: read without the decimal digit limit)
    text = f"---\ntitle: t\ndate: 2024-01-02 10:00:00 +0800\n{key}: [{value}]\nsource: {value}\n---\n\nBody.\n"
    result = parse_post(text, "p.md", "2024-01-01-slug.md", OPTIONS)
    assert result.post is not None, [str(p) for p in result.problems]
    assert any("digits" in p.message for p in result.problems), [str(p) for p in result.problems]
    assert all(len(str(p)) < 400 for p in result.problems)
