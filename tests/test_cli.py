"""The command line, driven through typer's CliRunner (and once as ``python -m feeds``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import EXAMPLE, REPO, parse
from feeds.cli import app

BUILD_OPTIONS = (
    "--out", "--site-url", "--title", "--author", "--lang", "--timezone", "--limit", "--formats",
    "--link", "--summary-length", "--permalink", "--future", "--config", "--quiet", "--verbose",
)
SUMMARY_LINE = re.compile(r"feeds: (\d+) posts? read, (\d+) skipped; (\d+) feed files? written, (\d+) unchanged in .+")
BROKEN_POST = "---\ntitle: \"broken\"\ndate: 2024-05-07 09:00:00 +0800\ncategories: emnews\n\nthe closing fence is missing\n"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def md_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.md"))


def distinct_posts(root: Path) -> int:
    """Posts the example gives: a file name in two folders is one post."""
    return len({p.name for p in md_files(root)})


def feed_files(out: Path) -> list[Path]:
    return sorted(out.rglob("*.xml"))


def cache_flag(tmp_path: Path) -> list[str]:
    """Keep the build cache in tmp, never beside the repository's posts/feeds.toml."""
    return ["--cache", str(tmp_path / "cache.sqlite")]


@pytest.fixture
def site(tmp_path) -> Path:
    """A copy of the example site (posts/ with feeds.toml)."""
    dest = tmp_path / "posts"
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".*"))  # not a cache
    return dest


@pytest.fixture
def broken_site(site) -> tuple[Path, Path]:
    bad = site / "_posts" / "2024-05-07-broken.md"
    bad.write_text(BROKEN_POST, "utf-8")
    return site, bad


# --- version and help ---------------------------------------------------------------


def declared_version() -> str:
    """The version the source declares: pyproject's, or the attribute it points to."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    if "version" in project:
        return project["version"]
    m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', (REPO / "feeds" / "__init__.py").read_text("utf-8"), re.M)
    assert m, "no version declared"
    return m.group(1)


def test_version(runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    expected = declared_version()
    assert re.fullmatch(r"\d+\.\d+.*", expected)
    assert result.stdout.strip() == f"feeds {expected}"


def test_python_m_feeds_version(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "feeds", "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"feeds {declared_version()}"



@pytest.mark.parametrize(
    "code, end, status, stdout, stderr",
    [
        ("None", "", 0, "out\n", ""),
        ("3", "", 3, "out\n", ""),
        ("'a message'", "", 1, "out\n", "a message\n"),
        ("0", "os.close(1)", 120, "", ""),  # output that cannot be flushed
    ],
    ids=["none", "int", "message", "unflushable"],
)
def test_the_quick_exit_flushes_and_keeps_sys_exit_statuses(tmp_path, code, end, status, stdout, stderr):
    """main() leaves with os._exit (no interpreter teardown): piped output is
    still flushed, and the status is the one sys.exit would have given."""
    script = f"import os, sys\nfrom feeds.cli import _leave\nprint('out')\n{end}\n_leave({code})\nprint('not reached')\n"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # a pipe's output is then buffered
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (status, stdout, stderr)


def test_a_build_by_the_console_script_leaves_its_report_and_status(tmp_path):
    """The real entry point, end to end: the summary line reaches a pipe, and
    a run with a skipped post ends with status 1 (not the 0 of a quick exit
    that lost its status)."""
    site = tmp_path / "site" / "_posts"
    shutil.copytree(EXAMPLE / "_posts", site)
    (site / "2024-01-01-broken.md").write_text("---\ntitle: [broken\n", encoding="utf-8")
    args = [sys.executable, "-m", "feeds", "build", str(site), "--out", str(tmp_path / "out"),
            "--site-url", "https://example.org", "--no-cache"]
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "2024-01-01-broken.md" in done.stderr
    assert re.search(r"\d+ posts?", done.stdout + done.stderr), (done.stdout, done.stderr)
    assert parse(tmp_path / "out" / "atom.xml").entries


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["build", "check"])
@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_stdout_that_cannot_be_written_is_no_bug(tmp_path, command, stdout):
    """A full disk (/dev/full) or a closed descriptor on stdout: the build is
    done all the same, no traceback, and the status says the report was lost
    (120, as Python's own exit) or, closed from the start, that all went well."""
    site = tmp_path / "site" / "_posts"
    shutil.copytree(EXAMPLE / "_posts", site)
    args = [sys.executable, "-m", "feeds", command, str(site), "--site-url", "https://example.org"]
    if command == "build":
        args += ["--out", str(tmp_path / "out"), "--no-cache"]
    script = "import os, subprocess, sys\n"
    if stdout == "full":
        script += "sys.exit(subprocess.run(sys.argv[1:], stdout=open('/dev/full', 'w')).returncode)\n"
    else:  # the child starts with descriptor 1 closed
        script += "sys.exit(subprocess.run(sys.argv[1:], preexec_fn=lambda: os.close(1)).returncode)\n"
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert done.returncode == (120 if stdout == "full" else 0), done.stderr
    if command == "build":
        assert parse(tmp_path / "out" / "atom.xml").entries


def test_a_run_with_nothing_to_render_imports_no_renderer(tmp_path):
    """Start-up is part of a cron run's bill: feedgen and lxml load only for rendering."""
    site = tmp_path / "site" / "_posts"
    shutil.copytree(EXAMPLE / "_posts", site)
    args = ["-m", "feeds", "build", str(site), "--out", str(tmp_path / "out"),
            "--site-url", "https://example.org", "--cache", str(tmp_path / "cache.sqlite"), "--quiet"]
    runs = [subprocess.run([sys.executable, "-X", "importtime", *args], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120) for _ in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[-1].stderr[-2000:]
    imported = [{line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line} for run in runs]
    assert {"feedgen", "lxml"} <= imported[0]  # the first run renders (so the check can fail)
    assert not {name for name in imported[1] if name.split(".")[0] in ("feedgen", "lxml")}, "a no-change run"
    assert parse(tmp_path / "out" / "atom.xml").entries


def test_build_help_lists_every_option_and_an_example(runner):
    result = runner.invoke(app, ["build", "--help"])
    assert result.exit_code == 0
    text = result.stdout
    for option in BUILD_OPTIONS:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), option
    assert "Example" in text
    assert re.search(r"^\s+feeds build\b", text, re.M), "no example command line"


# --- build: success -----------------------------------------------------------------


def test_build_example_exit_zero_and_summary_line(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(EXAMPLE), "--out", str(out), "--limit", "0", *cache_flag(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    m = SUMMARY_LINE.fullmatch(lines[0])
    assert m, lines[0]
    read, skipped, written, unchanged = map(int, m.groups())
    assert read == distinct_posts(EXAMPLE)
    assert skipped == 0
    assert written == len(feed_files(out)) > 0
    assert unchanged == 0
    assert str(out) in lines[0]
    assert result.stderr == ""
    assert len(parse(out / "atom.xml").entries) == distinct_posts(EXAMPLE)


def test_quiet_prints_nothing_on_success(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(EXAMPLE), "--out", str(out), "--quiet", *cache_flag(tmp_path)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ""
    assert (out / "atom.xml").is_file()


def test_quiet_shows_skipped_posts_but_not_posts_read_with_a_warning(runner, site, tmp_path):
    """The scraper's unescaped titles are read line by line with a warning, on
    every run: under --quiet (cron) that must not mail anyone; a skipped post must."""
    (site / "_posts" / "2024-05-20-recovered.md").write_text(
        '---\ntitle: "央行"降准"释放流动性"\ndate: 2024-05-20 10:00:00 +0800\n---\nBody.\n', encoding="utf-8"
    )
    args = ["build", str(site), "--out", str(tmp_path / "out"), *cache_flag(tmp_path)]
    loud = runner.invoke(app, args)
    assert loud.exit_code == 0 and "2024-05-20-recovered.md:2: warning: front matter is not valid YAML" in loud.stderr
    for _run in range(2):  # read afresh, then from the cache
        quiet = runner.invoke(app, [*args, "--quiet"])
        assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    (site / "_posts" / "2024-05-21-broken.md").write_text(BROKEN_POST, encoding="utf-8")
    quiet = runner.invoke(app, [*args, "--quiet"])
    assert quiet.exit_code == 1
    assert quiet.stderr.splitlines() == [l for l in quiet.stderr.splitlines() if "2024-05-21-broken.md" in l and ": error: " in l]
    assert quiet.stderr and quiet.stdout == ""
    entries = parse(tmp_path / "out" / "atom.xml").entries
    assert '央行"降准"释放流动性' in [entry.title for entry in entries]


# --- build: a bad post ----------------------------------------------------------------


def test_bad_post_exit_one_names_the_file_and_good_posts_are_written(runner, broken_site, tmp_path):
    site, bad = broken_site
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(site), "--out", str(out), "--limit", "0"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert re.fullmatch(rf"{re.escape(str(bad))}(:\d+)?: error: \S.*", lines[0]), lines[0]
    good = distinct_posts(site) - 1
    entries = parse(out / "atom.xml").entries
    assert len(entries) == good
    assert all("broken" not in e.id for e in entries)
    m = SUMMARY_LINE.fullmatch(result.stdout.strip())
    assert m and int(m.group(1)) == good and int(m.group(2)) == 1


# --- build: usage errors, nothing written -------------------------------------------


def _assert_usage_error(result, out: Path):
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stderr.strip(), "a usage error must say why on stderr"
    assert result.stdout == ""
    assert not out.exists(), "nothing may be written on a usage error"


def test_unknown_format_exit_two(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(EXAMPLE), "--out", str(out), "--formats", "atom,json", *cache_flag(tmp_path)])
    _assert_usage_error(result, out)
    assert "json" in result.stderr


def test_cache_and_no_cache_together_exit_two(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(EXAMPLE), "--out", str(out), "--no-cache", *cache_flag(tmp_path)])
    _assert_usage_error(result, out)
    assert "--cache" in result.stderr and "--no-cache" in result.stderr
    assert not (tmp_path / "cache.sqlite").exists()


def test_check_format_is_case_insensitive_as_build_formats_is(runner):
    result = runner.invoke(app, ["check", str(EXAMPLE), "--format", "JSON"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["problems"] is not None


def test_missing_source_exit_two(runner, tmp_path):
    out = tmp_path / "out"
    missing = tmp_path / "no-such-posts"
    result = runner.invoke(app, ["build", str(missing), "--out", str(out), "--site-url", "https://example.org"])
    _assert_usage_error(result, out)
    assert "no-such-posts" in result.stderr


def test_bad_timezone_exit_two(runner, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(EXAMPLE), "--out", str(out), "--timezone", "Mars/Olympus_Mons", *cache_flag(tmp_path)]
    )
    _assert_usage_error(result, out)
    assert "Mars/Olympus_Mons" in result.stderr


def test_missing_site_url_exit_two(runner, tmp_path, monkeypatch):
    posts = tmp_path / "posts"
    posts.mkdir()
    shutil.copy(EXAMPLE / "_posts" / "2024-05-04-edge-ai-module.md", posts)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", "posts", "--out", str(out)])
    _assert_usage_error(result, out)
    assert "site" in result.stderr.lower() and "url" in result.stderr.lower()


# --- settings precedence --------------------------------------------------------------

POST = """---
title: "Precedence post"
date: 2024-03-04 05:06:07
categories: lab
---

Body text.
"""


def _jekyll_site(root: Path, config: str | None, toml: str | None) -> Path:
    (root / "_posts").mkdir(parents=True)
    (root / "_posts" / "2024-03-04-precedence.md").write_text(POST, "utf-8")
    if config is not None:
        (root / "_config.yml").write_text(config, "utf-8")
    if toml is not None:
        (root / "feeds.toml").write_text(toml, "utf-8")
    return root


JEKYLL = "url: https://jekyll.example.com\ntitle: Jekyll Title\nauthor: Jekyll Author\nlang: ja\ntimezone: Asia/Tokyo\n"
TOML = (
    'site_url = "https://toml.example.com"\ntitle = "Toml Title"\nauthor = "Toml Author"\n'
    'lang = "de"\ntimezone = "Europe/Berlin"\n'
)


def _build_here(runner, root: Path, monkeypatch, *flags: str):
    monkeypatch.chdir(root)
    result = runner.invoke(app, ["build", "_posts", "--out", "out", *flags])
    assert result.exit_code == 0, result.output
    atom = parse(root / "out" / "atom.xml")
    assert not atom.bozo
    return atom


def test_precedence_jekyll_over_defaults(runner, tmp_path, monkeypatch):
    root = _jekyll_site(tmp_path / "site", JEKYLL, None)
    atom = _build_here(runner, root, monkeypatch)
    assert atom.feed.title == "Jekyll Title"
    assert atom.feed.author == "Jekyll Author"
    assert atom.feed.language == "ja"
    assert atom.feed.id.startswith("https://jekyll.example.com/")
    assert atom.entries[0].published.endswith("+09:00")  # Asia/Tokyo for a date without offset


def test_precedence_toml_over_jekyll(runner, tmp_path, monkeypatch):
    root = _jekyll_site(tmp_path / "site", JEKYLL, TOML)
    atom = _build_here(runner, root, monkeypatch)
    assert atom.feed.title == "Toml Title"
    assert atom.feed.author == "Toml Author"
    assert atom.feed.language == "de"
    assert atom.feed.id.startswith("https://toml.example.com/")
    assert atom.entries[0].published.endswith("+01:00")  # Europe/Berlin in March


def test_precedence_flags_over_toml(runner, tmp_path, monkeypatch):
    root = _jekyll_site(tmp_path / "site", JEKYLL, TOML)
    atom = _build_here(
        runner, root, monkeypatch,
        "--title", "Flag Title", "--author", "Flag Author", "--lang", "fr",
        "--site-url", "https://flag.example.com", "--timezone", "+0530",
    )
    assert atom.feed.title == "Flag Title"
    assert atom.feed.author == "Flag Author"
    assert atom.feed.language == "fr"
    assert atom.feed.id.startswith("https://flag.example.com/")
    assert atom.entries[0].published.endswith("+05:30")
    rss = parse(root / "out" / "rss.xml")
    assert rss.feed.title == "Flag Title"


@pytest.mark.parametrize(
    ("permalink", "path"),
    [
        ("pretty", "/lab/2024/03/04/precedence/"),
        ("/:year/:title/", "/2024/precedence/"),
        (":year/:month/:title.html", "/2024/03/precedence.html"),  # Jekyll adds the leading "/"
        ("none", "/lab/precedence.html"),
    ],
)
def test_permalink_of_the_jekyll_config(runner, tmp_path, monkeypatch, permalink, path):
    root = _jekyll_site(tmp_path / "site", JEKYLL + f"permalink: {permalink!r}\n", None)
    atom = _build_here(runner, root, monkeypatch)
    assert [entry.id for entry in atom.entries] == ["https://jekyll.example.com" + path]


def test_permalink_flag_and_toml_over_the_jekyll_config(runner, tmp_path, monkeypatch):
    root = _jekyll_site(tmp_path / "site", JEKYLL + "permalink: pretty\n", 'permalink = "/:title.html"\n')
    atom = _build_here(runner, root, monkeypatch)
    assert [entry.id for entry in atom.entries] == ["https://jekyll.example.com/precedence.html"]
    atom = _build_here(runner, root, monkeypatch, "--permalink", "date")
    assert [entry.id for entry in atom.entries] == ["https://jekyll.example.com/lab/2024/03/04/precedence.html"]


def test_defaults_without_any_config(runner, tmp_path, monkeypatch):
    root = _jekyll_site(tmp_path / "site", None, None)
    atom = _build_here(runner, root, monkeypatch, "--site-url", "https://bare.example.com")
    assert atom.feed.title == "bare.example.com"  # no title anywhere: the site's host
    assert atom.feed.language == "en"
    assert atom.entries[0].published.endswith(("+00:00", "Z"))  # UTC


def test_explicit_config_file_is_used(runner, tmp_path, monkeypatch):
    root = _jekyll_site(tmp_path / "site", JEKYLL, None)
    other = tmp_path / "elsewhere.toml"
    other.write_text('title = "Elsewhere Title"\n', "utf-8")
    atom = _build_here(runner, root, monkeypatch, "--config", str(other))
    assert atom.feed.title == "Elsewhere Title"
    assert atom.feed.id.startswith("https://jekyll.example.com/")  # the rest still from _config.yml


def test_the_default_cache_is_in_the_users_cache_folder_one_per_output(runner, tmp_path, monkeypatch):
    root = _jekyll_site(tmp_path / "site", JEKYLL, None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    user_caches = tmp_path / "xdg" / "feeds"
    _build_here(runner, root, monkeypatch)
    first = sorted(user_caches.glob("*.sqlite"))
    assert len(first) == 1 and first[0].stat().st_size > 0
    _build_here(runner, root, monkeypatch)
    assert sorted(user_caches.glob("*.sqlite")) == first  # the same output folder: the same cache
    result = runner.invoke(app, ["build", "_posts", "--out", "other"])
    assert result.exit_code == 0, result.output
    assert len(list(user_caches.glob("*.sqlite"))) == 2  # another output folder: a cache of its own
    assert not [p for p in root.rglob("*") if "cache" in p.name]  # nothing beside or inside --out

    (root / "feeds.toml").write_text('title = "Toml Title"\n', "utf-8")
    atom = _build_here(runner, root, monkeypatch)
    assert atom.feed.title == "Toml Title"
    assert (root / ".feeds-cache.sqlite").stat().st_size > 0  # with a feeds.toml: beside it
    assert len(list(user_caches.glob("*.sqlite"))) == 2


# --- check ----------------------------------------------------------------------------


def test_check_clean_example(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b{len(md_files(EXAMPLE))} files\b", last), last
    assert re.search(rf"\b{distinct_posts(EXAMPLE)} posts\b", last), last
    assert re.search(r"\b0 error", last), last
    assert list(tmp_path.iterdir()) == [], "check must write nothing"


def test_check_reports_problems_and_count(runner, broken_site, tmp_path, monkeypatch):
    site, bad = broken_site
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = runner.invoke(app, ["check", str(site)])
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    problem_lines = [l for l in lines if l.startswith(str(bad))]
    assert len(problem_lines) == 1
    assert re.fullmatch(rf"{re.escape(str(bad))}(:\d+)?: error: \S.*", problem_lines[0])
    assert re.search(r"\b1 error", lines[-1]), lines[-1]
    assert re.search(rf"\b{len(md_files(site))} files\b", lines[-1]), lines[-1]
    assert re.search(rf"\b{distinct_posts(site) - 1} posts\b", lines[-1]), lines[-1]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_check_json(runner, broken_site, tmp_path, monkeypatch):
    site, bad = broken_site
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", str(site), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["errors"] == 1
    assert data["files"] == len(md_files(site))
    assert data["posts"] == distinct_posts(site) - 1
    errors = [p for p in data["problems"] if p["severity"] == "error"]
    assert [p["path"] for p in errors] == [str(bad)]
    assert errors[0]["message"]


def test_check_json_clean_is_valid_and_exit_zero(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", str(EXAMPLE), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["errors"] == 0
    assert data["posts"] == distinct_posts(EXAMPLE)


@pytest.mark.parametrize("given", ["nothing", ".", "the site's path"])
def test_jekyll_site_root_reads_posts_and_archive_folders_by_default(tmp_path, monkeypatch, given):
    """`feeds build` at a Jekyll site's root, or given that root: _posts/ first,
    then old_post/; never _drafts/, the built _site/ or the site's pages."""
    site = tmp_path / "site"
    for folder, name, title in (
        ("_posts", "2024-05-02-b.md", "In _posts"),
        ("old_post", "2024-05-01-a.md", "Only in old_post"),
        ("old_post", "2024-05-02-b.md", "Archived copy of b"),
        ("_drafts", "2024-05-03-c.md", "A draft"),
        ("_site/2024", "2024-05-04-d.md", "A built copy"),
        (".", "2024-05-05-about.md", "A page"),
    ):
        (site / folder).mkdir(parents=True, exist_ok=True)
        (site / folder / name).write_text(
            f'---\ntitle: "{title}"\ndate: {name[:10]} 08:00:00 +0800\ncategories: x\n---\n\nText.\n', "utf-8"
        )
    (site / "_config.yml").write_text("url: https://site.example\ntimezone: Asia/Shanghai\n", "utf-8")
    monkeypatch.chdir(site if given != "the site's path" else tmp_path)
    sources = {"nothing": [], ".": ["."], "the site's path": [str(site)]}[given]
    result = CliRunner().invoke(app, ["build", *sources, "--out", str(tmp_path / "out"), "--no-cache", "--limit", "0"])
    assert result.exit_code == 0, result.output
    titles = sorted(entry.title for entry in parse(tmp_path / "out" / "atom.xml").entries)
    assert titles == ["In _posts", "Only in old_post"]


def test_feeds_toml_beside_the_first_source_is_found(tmp_path, monkeypatch):
    """`feeds build /srv/site/_posts` from anywhere reads /srv/site/feeds.toml."""
    site = tmp_path / "srv" / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_posts" / "2024-05-02-b.md").write_text('---\ntitle: "b"\ndate: 2024-05-02 08:00:00 +0800\n---\nB.\n', "utf-8")
    (site / "feeds.toml").write_text('site_url = "https://beside.example"\ntitle = "Beside"\n', "utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = CliRunner().invoke(app, ["build", str(site / "_posts"), "--out", str(tmp_path / "out"), "--no-cache"])
    assert result.exit_code == 0, result.output
    feed = parse(tmp_path / "out" / "atom.xml")
    assert feed.feed.title == "Beside" and feed.entries[0].link.startswith("https://beside.example/")


def test_readme_documents_every_build_option():
    """Docs checked by tests: each `feeds build` option has a row in the README's table."""
    command = typer_click_command()
    readme = (REPO / "README.md").read_text("utf-8")
    options = [
        name
        for param in command.params
        for name in param.opts + param.secondary_opts
        if name.startswith("--") and name not in ("--help", "--no-future", "--no-strict", "--no-prune")
    ]
    assert options, "no options found"
    missing = [name for name in options if f"`{name}" not in readme]
    assert not missing, f"README does not document {missing}"


def typer_click_command():
    import typer.main

    group = typer.main.get_command(app)
    return group.commands["build"]


@pytest.mark.parametrize("how", ["empty folder", "every post bad"])
def test_no_post_at_all_leaves_the_live_feeds_alone(runner, site, tmp_path, how):
    """An unmounted disk, a half-done checkout or a wrong path must not empty
    (or, with --prune, delete) the feeds readers follow: exit 1, one line, nothing touched."""
    out = tmp_path / "out"
    first = runner.invoke(app, ["build", str(site), "--out", str(out), *cache_flag(tmp_path)])
    assert first.exit_code == 0, first.output
    before = {path: path.read_bytes() for path in feed_files(out)}
    assert len(before) > 2
    if how == "empty folder":
        source = tmp_path / "empty"
        source.mkdir()
        flags = []
    else:
        source, flags = site, ["--max-post-size", "0"]
    result = runner.invoke(
        app, ["build", str(source), "--out", str(out), "--prune", "--site-url", "https://example.org",
              *cache_flag(tmp_path), *flags],
    )
    assert result.exit_code == 1, result.output
    last = result.stderr.splitlines()[-1]
    assert last.startswith("feeds: error: ") and "nothing written" in last and str(source) in last, result.stderr
    assert {path: path.read_bytes() for path in feed_files(out)} == before
    # and once the posts are back, the build goes on as before
    again = runner.invoke(app, ["build", str(site), "--out", str(out), *cache_flag(tmp_path)])
    assert again.exit_code == 0, again.output
    assert {path: path.read_bytes() for path in feed_files(out)} == before


@pytest.mark.parametrize("args", [["-h"], ["build", "-h"], ["check", "-h"]])
def test_dash_h_is_help(runner, args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and result.stdout.startswith("Usage: "), result.output
    assert "-h, --help" in result.stdout
