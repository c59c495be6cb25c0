"""Runs the stages: discover -> read -> group -> render -> write.

The clock is passed in; nothing here prints or exits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from feeds.config import Settings
from feeds.dates import parse_timezone
from feeds.group import dedupe, group
from feeds.model import FeedSpec, Post, Problem, Severity, SiteInfo
from feeds.read import ReadOptions, discover, read_file
from feeds.render import FILE_NAMES, renderer
from feeds.write import Writer, remove_temp_files

# progress(stage, done, total): stage is "read" or "write"
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class Scan:
    """What reading the sources gave."""

    files: int = 0
    posts: list[Post] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        """Files that were meant as posts and could not be used."""
        return len({p.path for p in self.problems if p.severity is Severity.ERROR})


@dataclass(slots=True)
class BuildReport:
    scan: Scan
    feeds: int = 0  # feed specs rendered
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    aborted: bool = False  # --strict found problems; nothing was written


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


def scan(settings: Settings, now: datetime, progress: Progress | None = None) -> Scan:
    """Read every post file; drop unpublished, future (unless --future) and duplicate posts."""
    options = read_options(settings)
    files = discover(settings.sources)
    result = Scan(files=len(files))
    read: list[Post] = []
    for done, (display, path) in enumerate(files, 1):
        outcome = read_file(display, path, options)
        result.problems.extend(outcome.problems)
        if outcome.post is not None:
            if outcome.post.date > now and not settings.future:
                result.problems.append(
                    Problem(
                        display,
                        f"dated in the future ({outcome.post.date.isoformat()}); excluded until then (--future to include)",
                        Severity.INFO,
                    )
                )
            else:
                read.append(outcome.post)
        if progress:
            progress("read", done, len(files))
    result.posts, duplicates = dedupe(read)
    result.problems.extend(duplicates)
    return result


def plan(settings: Settings, posts: list[Post]) -> list[FeedSpec]:
    return group(posts, settings.limit)


def build(settings: Settings, now: datetime, progress: Progress | None = None) -> BuildReport:
    """Build every feed. ``now`` decides only which future-dated posts are due."""
    found = scan(settings, now, progress)
    report = BuildReport(scan=found)
    if settings.strict and any(p.severity is not Severity.INFO for p in found.problems):
        report.aborted = True
        return report
    specs = plan(settings, found.posts)
    report.feeds = len(specs)
    site = site_info(settings)
    settings.out.mkdir(parents=True, exist_ok=True)
    remove_temp_files(settings.out)
    writer = Writer(settings.out)
    renderers = {fmt: renderer(fmt) for fmt in settings.formats}
    total = len(specs) * len(renderers)
    done = 0
    for spec in specs:
        for fmt, render in renderers.items():
            relative = f"{spec.directory}/{FILE_NAMES[fmt]}" if spec.directory else FILE_NAMES[fmt]
            writer.write(relative, render(spec, site))
            done += 1
            if progress:
                progress("write", done, total)
    report.written = writer.changed
    report.unchanged = writer.unchanged
    return report


def output_path(settings: Settings, relative: str) -> Path:
    return settings.out / relative
