"""Time the stages of a cold build one by one, in one process.

    python benchmarks/stages.py SITE [--repeat 3] [--limit 20]

SITE is a generated site (benchmarks/generate.py; run.py keeps them in
benchmarks/.data/n<N>-s<seed>/site). Each stage runs ``--repeat`` times and
the best time is printed, as seconds and per item: reading and parsing every
post file (feeds.read.load_files), grouping, rendering every feed in every
format (no files written), and turning the parsed posts into cache rows.
Whole builds are measured by run.py; this tells where their time goes.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path


def best(repeat: int, work):
    """The shortest of ``repeat`` runs of ``work()`` (seconds) and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=20)
    args = parser.parse_args()

    from feeds.cli import tune_gc

    tune_gc()  # as `feeds build` runs
    from feeds.build import _tasks, _visible, site_info
    from feeds.cache import _post_columns
    from feeds.config import load
    from feeds.group import group
    from feeds.listing import discover
    from feeds.read import load_files
    from feeds.render import FeedRenderer
    from feeds.build import read_options

    site = args.site.resolve()
    settings = load(
        {
            "sources": [str(site / "_posts"), str(site / "old_post")],
            "site_url": "https://finews.example.org",
            "timezone": "Asia/Shanghai",
            "limit": args.limit,
            "no_cache": True,
            "out": str(site.parent / "stages-out"),
        },
        site,
    )
    options = read_options(settings)
    files = discover(settings.sources)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {platform.platform()}")
    print(f"site: {site} ({len(files)} files); best of {args.repeat}")

    seconds, loaded = best(args.repeat, lambda: load_files(files, options))
    print(f"read+parse  {seconds:7.3f} s  {seconds / len(files) * 1e6:7.1f} us/file")
    posts = [item.post for item in loaded if item.post is not None]
    now = datetime(2100, 1, 1, tzinfo=timezone.utc)

    seconds, visible = best(args.repeat, lambda: _visible(settings, now, posts)[0])
    print(f"visible     {seconds:7.3f} s  {seconds / len(posts) * 1e6:7.1f} us/post")
    seconds, specs = best(args.repeat, lambda: group(visible, settings.limit, None))
    print(f"group       {seconds:7.3f} s  {seconds / len(posts) * 1e6:7.1f} us/post")

    tasks = _tasks(specs, settings.formats)
    info = site_info(settings)

    def render():
        renderer = FeedRenderer(settings.formats)
        return [renderer(spec, info, fmt) for _, fmt, spec in tasks]

    seconds, _ = best(args.repeat, render)
    entries = sum(len(spec.entries) for spec in specs)
    print(f"render      {seconds:7.3f} s  {seconds / len(tasks) * 1e6:7.1f} us/file "
          f"({len(tasks)} files, {entries} entries per format)")

    seconds, _ = best(args.repeat, lambda: [_post_columns(item.post) for item in loaded])
    print(f"cache rows  {seconds:7.3f} s  {seconds / len(loaded) * 1e6:7.1f} us/file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
