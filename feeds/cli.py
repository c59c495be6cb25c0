"""The command line (typer). The only module that prints or exits."""

from __future__ import annotations

import gc
import json
import os
import signal
import sqlite3
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from feeds import __version__
from feeds.errors import ConfigError, FeedsError, LockTimeout, MissingSiteURL

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, EXIT_LOCKED, EXIT_IO = 0, 1, 2, 3, 4
EXIT_BUG = 70  # EX_SOFTWARE: an internal error
EXIT_OUTPUT_LOST = 120  # as Python's own exit, when stdout or stderr cannot be written
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it
EXIT_TERMINATED = 143  # 128 + SIGTERM

HELP = """Publish Atom and RSS feeds from folders of Jekyll-style Markdown posts.

One feed for the whole site, one per category, one per tag; each in Atom
1.0 and RSS 2.0. Files are written atomically and only when their bytes
change, so a build in which nothing changed touches nothing.
"""

BUILD_HELP = """Read the posts under SOURCES and write the feeds under --out.

SOURCES are directories (searched recursively for *.md, *.markdown,
*.mkdown, *.mkdn and *.mkd; names starting with ".", "_" (but _posts)
or "#" are skipped, as by Jekyll) or files. Default: posts/; at the root of a
Jekyll site (or given such a root), _posts/ followed by every other
top-level folder with "post" in its name (such as old_post/).
When two files give the same permalink, the one from the earlier source wins.

Settings come from defaults < the Jekyll _config.yml of the site < feeds.toml
(current directory, in or beside the first source folder, or --config) < flags.

\b
Examples:
  feeds build                                  # posts/ -> public/
  feeds build _posts old_post --limit 0        # a Jekyll site, every post
  feeds build posts --site-url https://example.org --out site/feeds
  feeds build --formats atom --quiet           # for cron: silent unless a post is skipped
  feeds build --prune                          # also remove feeds of vanished categories/tags

\b
Exit codes: 0 all good; 1 feeds written but some posts were skipped (or
--strict found problems and nothing was written); 2 usage or configuration
error, nothing written; 3 another build held --out for longer than --wait;
4 an output file or the cache could not be written, or a worker process was
killed; 70 an internal error (a bug in feeds: the traceback is printed);
130 interrupted (Ctrl-C), 143 terminated (SIGTERM): every file is whole, the
next run finishes the job.
"""

CHECK_HELP = """Read the posts as `feeds build` would and report every problem; write nothing.

\b
SOURCES default as for `feeds build`. Prints one line per problem,
`path[:line]: severity: message`, then a count. Exit codes: 0 no errors
(warnings allowed); 1 some posts have errors; 2 usage error; 70 internal error.

\b
Examples:
  feeds check _posts old_post
  feeds check --format json | jq '.problems[] | select(.severity == "error")'
"""

class _OutputLost(Exception):
    """stdout or stderr cannot be written (a full disk, a closed pipe): no bug, no traceback."""


def _echo(message: str = "", err: bool = False, nl: bool = True) -> None:
    try:
        typer.echo(message, err=err, nl=nl)
    except OSError as exc:
        raise _OutputLost(str(exc)) from exc


app = typer.Typer(
    help=HELP, add_completion=False, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        _echo(f"feeds {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = None,
) -> None:
    """Publish Atom and RSS feeds from folders of Jekyll-style Markdown posts."""


# Options shared by build and check ------------------------------------------------

# paths as text: typer turns "" into Path("."), and an empty value must be refused, not read as "here"
SourcesArg = Annotated[Optional[list[str]], typer.Argument(help="Post directories or files.", show_default=False)]
SiteUrlOpt = Annotated[Optional[str], typer.Option("--site-url", help="Absolute site URL (with any base path).")]
TimezoneOpt = Annotated[
    Optional[str], typer.Option("--timezone", help="Zone for dates without an offset: Asia/Shanghai, +0800. Default UTC.")
]
SummaryOpt = Annotated[
    Optional[int], typer.Option("--summary-length", help="Cut summaries at N characters (0 = never). Default 200.")
]
PermalinkOpt = Annotated[
    Optional[str],
    typer.Option("--permalink", help="Jekyll permalink style or pattern. Default: date (/:categories/:year/:month/:day/:title:output_ext)."),
]
FutureOpt = Annotated[Optional[bool], typer.Option("--future/--no-future", help="Include posts dated after now.")]
ConfigOpt = Annotated[Optional[str], typer.Option("--config", help="A feeds.toml to use instead of ./feeds.toml.")]
EncodingOpt = Annotated[Optional[str], typer.Option("--encoding", help="Encoding of post files. Default utf-8.")]
MaxSizeOpt = Annotated[
    Optional[int], typer.Option("--max-post-size", help="Skip post files over N bytes. Default 10 MB.")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Also report excluded, duplicate and non-post files.")]


@app.command(help=BUILD_HELP)
def build(
    sources: SourcesArg = None,
    out: Annotated[Optional[str], typer.Option("--out", "-o", help="Output directory. Default public/.")] = None,
    site_url: SiteUrlOpt = None,
    title: Annotated[Optional[str], typer.Option("--title", help="Site title (feed titles).")] = None,
    author: Annotated[Optional[str], typer.Option("--author", help="Feed author name.")] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", help="Feed language, e.g. zh-CN.")] = None,
    timezone_: TimezoneOpt = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Entries per feed (0 = all). Default 20.")] = None,
    formats: Annotated[Optional[str], typer.Option("--formats", help="Comma-separated: atom,rss. Default both.")] = None,
    link: Annotated[
        Optional[str], typer.Option("--link", help="Entry link: 'source' (the post's source link, else the post) or 'post'.")
    ] = None,
    summary_length: SummaryOpt = None,
    permalink: PermalinkOpt = None,
    future: FutureOpt = None,
    config: ConfigOpt = None,
    encoding: EncodingOpt = None,
    max_post_size: MaxSizeOpt = None,
    strict: Annotated[
        Optional[bool], typer.Option("--strict/--no-strict", help="Any problem (even a warning) stops the build before writing.")
    ] = None,
    cache: Annotated[
        Optional[str],
        typer.Option("--cache", help="Cache file. Default .feeds-cache.sqlite beside feeds.toml, else in ~/.cache/feeds/."),
    ] = None,
    no_cache: Annotated[
        Optional[bool], typer.Option("--no-cache", help="Read every post and render every feed; keep no cache.")
    ] = None,
    jobs: Annotated[Optional[int], typer.Option("--jobs", "-j", help="Processes that read and render, this one included (0 = one per CPU, the default).")] = None,
    wait: Annotated[
        Optional[float], typer.Option("--wait", help="Seconds to wait for another build of the same --out. Default 60.")
    ] = None,
    prune: Annotated[
        Optional[bool],
        typer.Option("--prune/--no-prune", help="Remove feeds an earlier build wrote whose category or tag is gone."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only errors (posts skipped) and warnings about the cache.")
    ] = False,
    verbose: VerboseOpt = False,
) -> None:
    flags = dict(
        sources=sources, out=out, site_url=site_url, title=title, author=author, lang=lang,
        timezone=timezone_, limit=limit, formats=formats, link=link, summary_length=summary_length,
        permalink=permalink, future=future, config=config, encoding=encoding,
        max_post_size=max_post_size, strict=strict, cache=cache, no_cache=no_cache, jobs=jobs,
        wait=wait, prune=prune,
    )
    if cache is not None and no_cache:
        _fail("--cache and --no-cache contradict each other: give one", EXIT_USAGE)
    settings = _settings(flags)
    from feeds.build import build as run_build

    started = time.perf_counter()
    now = datetime.now(timezone.utc)
    try:
        with _progress(enabled=not quiet) as progress:
            report = run_build(settings, now, progress)
    except LockTimeout as exc:
        _fail(str(exc), EXIT_LOCKED)
    except FeedsError as exc:
        _fail(str(exc), EXIT_IO)
    except OSError as exc:
        _fail(f"cannot write {exc.filename or settings.out}: {exc.strerror or exc}", EXIT_IO)
    except sqlite3.Error as exc:  # locked for too long by another program, disk full, ...
        _fail(f"cache {settings.cache}: {exc}", EXIT_IO)
    _print_problems(report.problems, verbose, quiet, about_the_run={str(settings.cache)})
    seconds = time.perf_counter() - started
    if report.aborted:
        count = sum(1 for p in report.problems if p.severity.value != "info")
        _echo(f"feeds: --strict: {count} problem(s); nothing written", err=True)
        raise typer.Exit(EXIT_SKIPPED)
    if report.empty:
        found = f"{report.files} post files, none of them a post" if report.files else "no post files"
        _echo(f"feeds: error: {found} in {', '.join(map(str, settings.sources))}; nothing written", err=True)
        raise typer.Exit(EXIT_SKIPPED)
    if not quiet:
        unchanged = report.feeds - len(report.written)
        pruned = f", {len(report.pruned)} pruned" if report.pruned else ""
        _echo(
            f"feeds: {_count(report.posts, 'post')} read, {report.skipped} skipped; "
            f"{_count(len(report.written), 'feed file')} written, {unchanged} unchanged{pruned} "
            f"in {settings.out} ({seconds:.2f} s)"
        )
    raise typer.Exit(EXIT_SKIPPED if report.skipped else EXIT_OK)


@app.command(help=CHECK_HELP)
def check(
    sources: SourcesArg = None,
    site_url: SiteUrlOpt = None,
    timezone_: TimezoneOpt = None,
    summary_length: SummaryOpt = None,
    permalink: PermalinkOpt = None,
    future: FutureOpt = None,
    config: ConfigOpt = None,
    encoding: EncodingOpt = None,
    max_post_size: MaxSizeOpt = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    verbose: VerboseOpt = False,
) -> None:
    output_format = output_format.lower()  # as --formats of build
    if output_format not in ("text", "json"):
        _fail(f"--format must be text or json, not {output_format!r}", EXIT_USAGE)
    flags = dict(
        sources=sources, site_url=site_url, timezone=timezone_, summary_length=summary_length,
        permalink=permalink, future=future, config=config, encoding=encoding,
        max_post_size=max_post_size, no_cache=True,
    )
    try:
        settings = _settings(flags, exit_on_error=False)
    except MissingSiteURL:
        # checking posts needs no real site URL: permalinks are only compared
        settings = _settings({**flags, "site_url": "http://localhost"})
    except ConfigError as exc:
        _fail(str(exc), EXIT_USAGE)
    from feeds.build import scan

    found = scan(settings, datetime.now(timezone.utc))
    shown = [p for p in found.problems if verbose or p.severity.value != "info"]
    errors = sum(1 for p in shown if p.severity.value == "error")
    warnings = sum(1 for p in shown if p.severity.value == "warning")
    if output_format == "json":
        _echo(
            json.dumps(
                {
                    "files": found.files,
                    "posts": len(found.posts),
                    "errors": errors,
                    "warnings": warnings,
                    "problems": [
                        {"path": p.path, "line": p.line, "severity": p.severity.value, "message": p.message}
                        for p in shown
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for problem in shown:
            _echo(str(problem))
        _echo(f"{found.files} files, {len(found.posts)} posts: {errors} error(s), {warnings} warning(s)")
    raise typer.Exit(EXIT_SKIPPED if errors else EXIT_OK)


# helpers ---------------------------------------------------------------------------


def _settings(flags: dict, exit_on_error: bool = True):
    from feeds.config import load

    try:
        return load(flags, Path.cwd())
    except ConfigError as exc:
        if not exit_on_error:
            raise
        _fail(str(exc), EXIT_USAGE)


def _fail(message: str, code: int):
    _echo(f"feeds: error: {message}", err=True)
    raise typer.Exit(code)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _print_problems(problems, verbose: bool, quiet: bool = False, about_the_run: frozenset[str] | set[str] = frozenset()) -> None:
    """Infos with --verbose; warnings unless --quiet, which shows only the posts
    skipped (errors) and warnings about the run itself (its cache): a post read
    with a warning (invalid YAML read line by line, say) would else mail cron
    on every run for good."""
    for problem in problems:
        severity = problem.severity.value
        if (
            severity == "error"
            or (severity == "warning" and (not quiet or problem.path in about_the_run))
            or (severity == "info" and verbose)
        ):
            _echo(str(problem), err=True)


class _progress:
    """A transient progress bar on a terminal (stderr); nothing otherwise."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = None
        self._tasks: dict[str, int] = {}
        self._shown = float("-inf")  # when the bar was last drawn

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        # No refresh thread: the build forks worker processes, and a fork must
        # not happen while another thread may hold a lock.
        self._bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            transient=True, console=Console(stderr=True), auto_refresh=False,
        )
        self._bar.start()
        return self.update

    def update(self, stage: str, done: int, total: int) -> None:
        assert self._bar is not None
        if stage != "wait" and "wait" in self._tasks:  # the wait is over: its bar goes
            self._bar.remove_task(self._tasks.pop("wait"))
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(self.LABELS.get(stage, stage), total=total)
        now = time.monotonic()
        if done == total or now - self._shown >= self.EVERY_S:  # (drawn at most ten times a second)
            self._shown = now
            self._bar.update(self._tasks[stage], completed=done, refresh=True)

    LABELS = {
        "read": "reading posts",
        "write": "writing feeds",
        "wait": "waiting for another build (s)",
    }
    EVERY_S = 0.1

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.stop()


def tune_gc() -> None:
    """Switch the cycle collector off for this process (and the workers it forks).

    A build makes hundreds of thousands of small objects that live until it
    ends and form no reference cycles (posts, their strings and dates, feed
    specs): a collector only walks them. Python's default (every 700 new
    objects) cost a cold build about 7%; collecting every 20,000 still cost
    0.11 s in the build's own process at 50,000 posts. Without cycles,
    reference counting frees everything as before; a test checks that builds
    leave no cyclic garbage that grows with their posts or feeds.
    """
    gc.disable()


class _Terminated(BaseException):
    """SIGTERM arrived (from `timeout`, systemd, kill): unwound like Ctrl-C, so that
    workers are stopped, temp files removed and the cache transaction rolled back."""


def _on_sigterm(signum, frame) -> NoReturn:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise _Terminated


def main() -> None:
    tune_gc()
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        app(prog_name="feeds")
    except SystemExit as exc:  # how every command ends (typer's standalone mode), whatever its status
        _leave(exc.code)
    except _OutputLost:  # whatever the command did is done (files written); only its report is lost
        _leave(EXIT_OUTPUT_LOST)
    except KeyboardInterrupt:
        _echo("feeds: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except _Terminated:
        _echo("feeds: terminated (SIGTERM); every file is whole, the next run finishes the job", err=True)
        sys.exit(EXIT_TERMINATED)
    except Exception:  # noqa: BLE001 - a bug: loud, with its traceback, and its own exit code
        traceback.print_exc()
        _echo("feeds: internal error (a bug in feeds): please report it with the traceback above", err=True)
        sys.exit(EXIT_BUG)


def _leave(code: object) -> NoReturn:
    """End the process at once, with the status ``code`` says (as sys.exit would).

    When a command returns, every file is closed and every worker process
    joined. What Python's own exit would still do is free the objects one by
    one and run a last collection: a quarter of a second after a cold build
    of 50,000 posts (a tenth of a no-change run). So: flush, and leave. As
    at Python's own exit, output that cannot be flushed (a closed pipe)
    makes the status 120.
    """
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message on stderr, status 1
        status = 1
        try:
            print(code, file=sys.stderr)
        except (OSError, ValueError, AttributeError):  # stderr full, closed, or None
            status = EXIT_OUTPUT_LOST
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed (">&-"): nothing to flush
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe; a closed stream
            status = status or EXIT_OUTPUT_LOST
    os._exit(status)
