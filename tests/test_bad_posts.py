"""Hostile input: every file in tests/bad_posts/ says (in its NAME.expect sidecar) what must happen.

Each fixture NAME.md is read with feeds.read.read_file and checked against
NAME.expect (TOML):

    outcome    "kept" | "skipped" | "not-a-post"
    title      the exact title, when kept
    categories / tags   the exact names, when given
    message    a regex one problem's message must match (with severity)
    severity   "error" | "warning" | "info"
    line       the file line that problem must name, when given
    problems   0: the file must read without any problem at all

Then the whole folder (plus three good posts) goes through the real command
line, `feeds build`, `feeds check` and `feeds build --strict`, in a
subprocess: no traceback, good posts never lost, valid XML, nothing written
outside --out.

Each read runs in a forked child with a time and memory limit, so a fixture
that makes feeds hang or eat memory fails its own test instead of taking
the whole suite down.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tomllib
import traceback
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import etree

from feeds.model import Severity
from feeds.read import ReadOptions, read_file

from feeds.write import TEMP_PREFIX

from conftest import shown_text

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad_posts"
FIXTURES = sorted(BAD.glob("*.md"))
OPTIONS = ReadOptions(site_url="https://example.org", timezone=ZoneInfo("Asia/Shanghai"))
OUTCOMES = ("kept", "skipped", "not-a-post")
KEYS = {"outcome", "title", "categories", "tags", "message", "severity", "line", "problems"}
ATOM = "{http://www.w3.org/2005/Atom}"

READ_TIMEOUT = 20  # seconds for one read_file in the child
CLI_TIMEOUT = 60  # seconds for one command-line run (a normal one takes a few)
MEMORY_HEADROOM = 1 << 30  # bytes of address space a child may add to what the parent uses

# Characters a problem message must never carry: it is printed as one line to a terminal.
_MESSAGE_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]")
# XML 1.0 Char, written out here independently of feeds.text.
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

GOOD_POSTS = {
    "2024-04-01-good-one.md": (
        "Good post one",
        "---\ntitle: Good post one\ndate: 2024-04-01 09:00:00 +0800\ncategories: [markets]\ntags: [rates]\n---\n\nFirst good body.\n",
    ),
    "2024-04-02-good-two.md": (
        "第二篇好文章",
        "---\ntitle: 第二篇好文章\ndate: 2024-04-02 09:00:00 +0800\ntags: [宏观]\n---\n\n第二篇正文。\n",
    ),
    "2024-04-03-good-three.md": (
        "Good post three & co <ok>",
        '---\ntitle: "Good post three & co <ok>"\ndate: 2024-04-03 09:00:00 +0800\ncategories: markets\n---\n\nThird.\n',
    ),
}


def load_expect(fixture: Path) -> dict:
    sidecar = fixture.with_suffix(".expect")
    assert sidecar.is_file(), f"{fixture.name} has no sidecar {sidecar.name}"
    expect = tomllib.loads(sidecar.read_text("utf-8"))
    unknown = set(expect) - KEYS
    assert not unknown, f"{sidecar.name}: unknown keys {sorted(unknown)}"
    assert expect.get("outcome") in OUTCOMES, f"{sidecar.name}: outcome must be one of {OUTCOMES}"
    if expect["outcome"] == "kept":
        assert isinstance(expect.get("title"), str), f"{sidecar.name}: a kept post needs its exact title"
    else:
        assert "message" in expect and "severity" in expect, f"{sidecar.name}: say which problem is expected"
    if "message" in expect:
        re.compile(expect["message"])
        assert expect.get("severity") in ("error", "warning", "info"), f"{sidecar.name}: severity?"
    return expect


EXPECT = {fixture.name: load_expect(fixture) for fixture in FIXTURES}


def by_outcome(outcome: str) -> list[str]:
    return [name for name, expect in EXPECT.items() if expect["outcome"] == outcome]


# --- running read_file in a child -------------------------------------------------------


def _address_space_limit() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024 + MEMORY_HEADROOM
    except OSError:
        pass
    return None


def _limit_memory() -> None:
    limit = _address_space_limit()
    if limit is None:
        return
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _child(conn, display: str, path: str) -> None:
    _limit_memory()
    try:
        result = read_file(display, Path(path), OPTIONS)
        conn.send(("ok", result))
    except BaseException:  # noqa: BLE001 - reported to the parent, which fails the test
        conn.send(("raised", traceback.format_exc()))
    finally:
        conn.close()


def read_isolated(display: str, path: Path):
    """read_file in a forked child with a deadline and a memory cap; fails the test on hang or crash."""
    if sys.platform == "win32":  # pragma: no cover - no fork
        return read_file(display, path, OPTIONS)
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, display, str(path)), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(READ_TIMEOUT):
            pytest.fail(f"read_file({display}) took over {READ_TIMEOUT} s (hostile input must be bounded)")
        try:
            status, value = receive.recv()
        except EOFError:
            child.join(5)
            pytest.fail(f"read_file({display}) died (exit code {child.exitcode}); out of memory?")
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receive.close()
    if status == "raised":
        pytest.fail(f"read_file({display}) raised instead of returning a Problem:\n{value}")
    return value


# --- one test per fixture ---------------------------------------------------------------


def test_fixture_folder_is_complete():
    assert len(FIXTURES) >= 30
    for sidecar in BAD.glob("*.expect"):
        assert sidecar.with_suffix(".md").is_file(), f"{sidecar.name} has no fixture"
    for outcome in OUTCOMES:
        assert by_outcome(outcome), f"no fixture is {outcome}"


def _as_shown(path: str) -> str:
    """A path as messages show it: on one line, unprintable characters (even a U+3000 space) escaped."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in path)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_bad_post(fixture: Path):
    expect = EXPECT[fixture.name]
    display = f"bad_posts/{fixture.name}"
    result = read_isolated(display, fixture)
    problems = list(result.problems)
    shown = "\n".join(str(p) for p in problems) or "(no problems)"

    for problem in problems:
        assert problem.path == display, shown
        assert str(problem).startswith(_as_shown(display) + (f":{problem.line}: " if problem.line else ": ")), shown
        assert problem.message.strip(), shown
        assert not _MESSAGE_UNSAFE.search(problem.message), f"control character in a message: {problem.message!r}"
        assert problem.line is None or problem.line >= 1, shown

    errors = [p for p in problems if p.severity is Severity.ERROR]
    outcome = expect["outcome"]
    if outcome == "kept":
        assert result.post is not None, f"expected the post to be kept; got:\n{shown}"
        assert not errors, f"a kept post has no errors; got:\n{shown}"
        post = result.post
        assert post.title == expect["title"], shown
        assert not _XML_FORBIDDEN.search(post.title)
        if "categories" in expect:
            assert list(post.categories) == expect["categories"]
        if "tags" in expect:
            assert list(post.tags) == expect["tags"]
        for name in (*post.categories, *post.tags):
            assert name and name == name.strip() and not _XML_FORBIDDEN.search(name), repr(name)
        url = urlsplit(post.url)
        assert post.url.startswith("https://example.org/"), post.url
        assert not {".", ".."} & set(url.path.split("/")), post.url
        assert post.date.utcoffset() is not None
    elif outcome == "skipped":
        assert result.post is None, f"expected the post to be skipped; got {result.post}"
        assert errors, f"a skipped post must say why, as an error; got:\n{shown}"
    else:
        assert result.post is None, f"expected not-a-post; got {result.post}"
        assert problems and not errors, f"not a post: info only; got:\n{shown}"
        assert all(p.severity is Severity.INFO for p in problems), shown

    if expect.get("problems") == 0:
        assert not problems, f"expected a clean read; got:\n{shown}"
    if "message" in expect:
        severity = Severity(expect["severity"])
        matching = [p for p in problems if p.severity is severity and re.search(expect["message"], p.message)]
        assert matching, f"no {severity.value} matching {expect['message']!r}; got:\n{shown}"
        if "line" in expect:
            assert any(p.line == expect["line"] for p in matching), (
                f"the {severity.value} must name line {expect['line']}; got:\n{shown}"
            )


# --- the whole folder through the command line -----------------------------------------


_TIMED_OUT: list[str] = []  # a run that hit CLI_TIMEOUT: later runs on the same folder would too


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    if _TIMED_OUT:
        pytest.fail(f"not run: `feeds {_TIMED_OUT[0]}` on the same folder already took over {CLI_TIMEOUT} s")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDS")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["COLUMNS"] = "200"
    try:
        return subprocess.run(
            [sys.executable, "-m", "feeds", *args],
            cwd=cwd,
            capture_output=True,
            timeout=CLI_TIMEOUT,
            env=env,
            preexec_fn=_limit_memory if os.name == "posix" else None,
        )
    except subprocess.TimeoutExpired:
        _TIMED_OUT.append(" ".join(args[:1]))
        pytest.fail(f"feeds {' '.join(args)} took over {CLI_TIMEOUT} s")


def tree_listing(root: Path, skip: Path) -> set[str]:
    """Everything under root but the output directory and feeds' documented cache beside it."""
    listing = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
        for name in dirnames + filenames:
            if Path(dirpath) == root and name.startswith(".feeds-cache.sqlite"):
                continue
            listing.add(os.path.relpath(os.path.join(dirpath, name), root))
    return listing


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    """All fixtures plus three good posts, built once by `feeds build`."""
    root = tmp_path_factory.mktemp("hostile")
    src = root / "src"
    src.mkdir()
    for fixture in FIXTURES:
        shutil.copyfile(fixture, src / fixture.name)
    for name, (_title, text) in GOOD_POSTS.items():
        (src / name).write_text(text, encoding="utf-8")
    out = root / "out"
    before = tree_listing(root, out)
    done = run_cli(
        "build", str(src), "--out", str(out), "--site-url", "https://example.org", "--limit", "0", cwd=root
    )
    return {
        "root": root,
        "src": src,
        "out": out,
        "done": done,
        "stderr": done.stderr.decode("utf-8", "replace"),
        "stdout": done.stdout.decode("utf-8", "replace"),
        "before": before,
        "after": tree_listing(root, out),
    }


def test_build_reports_and_exits_1_without_traceback(site):
    done, stderr = site["done"], site["stderr"]
    assert "Traceback" not in stderr, stderr[-3000:]
    assert done.returncode == 1, f"exit {done.returncode}\n{stderr[-3000:]}"
    lines = stderr.splitlines()
    for name in by_outcome("skipped"):
        assert any(name in line and ": error: " in line for line in lines), f"{name} not reported:\n{stderr}"
    for name, expect in EXPECT.items():
        if expect["outcome"] == "kept" and expect.get("severity") == "warning":
            where = f"{_as_shown(name)}:{expect['line']}: " if "line" in expect else _as_shown(name)
            assert any(where in line and ": warning: " in line for line in lines), (
                f"{name}: warning not reported (expected {where!r}):\n{stderr}"
            )


def _titles(path: Path, fmt: str) -> list[str]:
    root = etree.parse(str(path)).getroot()
    if fmt == "atom":
        return [shown_text(e.find(f"{ATOM}title"), fmt) for e in root.iter(f"{ATOM}entry")]
    return [shown_text(item.find("title"), fmt) for item in root.iter("item")]


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_build_keeps_every_good_and_recovered_post(site, fmt):
    feed = site["out"] / f"{fmt}.xml"
    assert feed.is_file(), f"no {feed.name}; stderr:\n{site['stderr'][-3000:]}"
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    titles = _titles(feed, fmt)
    expected = [title for title, _text in GOOD_POSTS.values()]
    expected += [EXPECT[name]["title"] for name in by_outcome("kept")]
    missing = [t for t in expected if t not in titles]
    assert not missing, f"titles missing from {feed.name}: {missing}"
    assert len(titles) == len(expected) == len(parsed.entries), sorted(set(titles) - set(expected))


def test_build_output_is_valid_utf8_xml_inside_out(site):
    out = site["out"]
    assert out.is_dir(), site["stderr"][-3000:]
    real_out = os.path.realpath(out)
    files = []
    for dirpath, dirnames, filenames in os.walk(os.fsencode(out)):
        top = Path(os.fsdecode(dirpath)) == out
        for name in dirnames + filenames:
            decoded = name.decode("utf-8")  # raises on a file name that is not UTF-8
            assert not re.search(r"[\x00-\x1f\x7f\\]", decoded), repr(decoded)
            assert not decoded.startswith(TEMP_PREFIX), f"temp file left behind: {decoded!r}"
            # Only feeds' own bookkeeping (.feeds.lock, a manifest) is hidden, and only at the top.
            assert not decoded.startswith(".") or (top and decoded.startswith(".feeds")), repr(decoded)
        files += [os.path.join(dirpath, name) for name in filenames]
    feeds_written = 0
    for raw in files:
        path = Path(os.fsdecode(raw))
        real = os.path.realpath(path)
        assert os.path.commonpath([real_out, real]) == real_out, f"{path} resolves outside out"
        data = path.read_bytes()
        data.decode("utf-8")
        if path.name.startswith(".feeds") and path.parent == out:
            continue  # bookkeeping, not a feed
        assert path.suffix == ".xml", path
        etree.fromstring(data)  # well-formed XML
        parsed = feedparser.parse(data)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        feeds_written += 1
    assert feeds_written >= 2
    # The hostile category and tag names each got a feed, under categories/ or tags/.
    tops = {p.name for p in out.iterdir()}
    assert {"categories", "tags", "atom.xml", "rss.xml"} <= tops, tops
    # And nothing was written beside --out (a "../" name must not escape).
    assert site["after"] == site["before"], site["after"] ^ site["before"]


def test_build_gives_a_feed_per_hostile_name(site):
    out = site["out"]
    category_feeds = {p.parent.name for p in (out / "categories").glob("*/atom.xml")}
    tag_feeds = {p.parent.name for p in (out / "tags").glob("*/atom.xml")}
    # Every category/tag feed names its own term; every expected name has a feed.
    names = {"category": set(), "tag": set()}
    for kind, folder, slugs in (("category", "categories", category_feeds), ("tag", "tags", tag_feeds)):
        for slug in slugs:
            root = etree.parse(str(out / folder / slug / "atom.xml")).getroot()
            for entry in root.iter(f"{ATOM}entry"):
                names[kind].update(c.get("term") for c in entry.iter(f"{ATOM}category"))
    hostile_categories = EXPECT["2024-05-14-hostile-categories.md"]["categories"]
    hostile_tags = EXPECT["2024-05-15-hostile-tags.md"]["tags"]
    assert len(category_feeds) >= len(hostile_categories)
    assert len(tag_feeds) >= len(hostile_tags)
    for name in hostile_categories:
        assert name in names["category"], name
    for name in hostile_tags:
        assert name in names["tag"], name
    for slug in category_feeds | tag_feeds:
        assert len(slug.encode("utf-8")) <= 255


CHECK_LINE = re.compile(r"(?P<path>.+?)(?::(?P<line>\d+))?: (?P<severity>error|warning|info): (?P<message>.+)")
COUNT_LINE = re.compile(r"(?P<files>\d+) files, (?P<posts>\d+) posts: (?P<errors>\d+) error\(s\), (?P<warnings>\d+) warning\(s\)")


def _expected_problem_found(problems: list[dict], name: str, expect: dict) -> bool:
    for p in problems:
        if (name in p["path"] or _as_shown(name) in p["path"]) and p["severity"] == expect["severity"] and re.search(expect["message"], p["message"]):
            if "line" not in expect or p["line"] == expect["line"]:
                return True
    return False


def test_check_text(site):
    done = run_cli("check", str(site["src"]), cwd=site["root"])
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr + stdout, (stderr + stdout)[-3000:]
    assert done.returncode == 1, f"exit {done.returncode}\n{stdout}\n{stderr}"
    lines = stdout.splitlines()
    assert lines, stderr
    count = COUNT_LINE.fullmatch(lines[-1])
    assert count, f"no count line at the end: {lines[-1]!r}"
    problems = []
    for line in lines[:-1]:
        match = CHECK_LINE.fullmatch(line)
        assert match, f"not `path[:line]: severity: message`: {line!r}"
        problems.append({**match.groupdict(), "line": int(match["line"]) if match["line"] else None})
    assert int(count["files"]) == len(FIXTURES) + len(GOOD_POSTS)
    assert int(count["posts"]) == len(by_outcome("kept")) + len(GOOD_POSTS)
    assert int(count["errors"]) == sum(p["severity"] == "error" for p in problems)
    assert int(count["warnings"]) == sum(p["severity"] == "warning" for p in problems)
    for name, expect in EXPECT.items():
        if expect["outcome"] == "skipped" or expect.get("severity") == "warning":
            assert _expected_problem_found(problems, name, expect), f"{name}: {expect}\n{stdout}"
    for name in GOOD_POSTS:
        assert not any(name in p["path"] for p in problems), stdout


def test_check_json(site):
    done = run_cli("check", str(site["src"]), "--format", "json", cwd=site["root"])
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr + stdout, (stderr + stdout)[-3000:]
    assert done.returncode == 1, f"exit {done.returncode}\n{stderr}"
    report = json.loads(stdout)
    assert report["files"] == len(FIXTURES) + len(GOOD_POSTS)
    assert report["posts"] == len(by_outcome("kept")) + len(GOOD_POSTS)
    problems = report["problems"]
    assert isinstance(problems, list) and problems
    for p in problems:
        assert set(p) >= {"path", "line", "severity", "message"}, p
        assert p["severity"] in ("error", "warning", "info")
    assert report["errors"] == sum(p["severity"] == "error" for p in problems)
    assert report["warnings"] == sum(p["severity"] == "warning" for p in problems)
    for name, expect in EXPECT.items():
        if expect["outcome"] == "skipped" or expect.get("severity") == "warning":
            assert _expected_problem_found(problems, name, expect), f"{name}: {expect}"
    skipped_paths = {Path(p["path"]).name for p in problems if p["severity"] == "error"}
    assert skipped_paths == set(by_outcome("skipped")), skipped_paths ^ set(by_outcome("skipped"))


def test_strict_build_writes_nothing(site):
    out = site["root"] / "strict-out"
    done = run_cli(
        "build", str(site["src"]), "--out", str(out), "--site-url", "https://example.org", "--limit", "0", "--strict",
        cwd=site["root"],
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr[-3000:]
    assert done.returncode == 1, f"exit {done.returncode}\n{stderr[-3000:]}"
    # (An empty out/ holding only the build lock is tolerated; a feed or a manifest is not.)
    written = [p for p in out.rglob("*") if p.name != ".feeds.lock"] if out.exists() else []
    assert not written, f"--strict wrote {written}"
    for name in by_outcome("skipped"):
        assert name in stderr, f"{name} not reported under --strict"


def test_markup_like_text_is_declared_as_html(site):
    """What feed validators warn about: markup-like text in plain-text elements.

    Atom: such title/subtitle/summary text carries type="html" (and is escaped
    HTML). RSS: titles, categories and the channel description never contain
    a raw tag after XML decoding, and escapes are written "&#x26;", as the RSS
    Best Practices Profile asks.
    """
    markup = re.compile(r"<[A-Za-z/!?]|&[#\w]")
    checked = 0
    for path in site["out"].rglob("*.xml"):
        root = etree.parse(str(path)).getroot()
        if path.name == "atom.xml":
            for element in root.iter(f"{ATOM}title", f"{ATOM}subtitle", f"{ATOM}summary"):
                if element.text and markup.search(element.text):
                    assert element.get("type") == "html", (path, element.text)
                    checked += 1
        else:
            assert b"&amp;" not in path.read_bytes(), path
            channel = root.find("channel")
            elements = [channel.find("title"), channel.find("description")]
            for item in channel.iter("item"):
                elements += [item.find("title"), *item.iter("category")]
            for element in elements:
                assert not re.search(r"<[A-Za-z/!?]", element.text or ""), (path, element.text)
                checked += 1
    assert checked, "no feed was checked"
