"""Spread reading and rendering over worker processes (--jobs).

Results come back in input order, so the output is the same for any --jobs.
Workers are forked: they inherit the parent's modules and the work list,
and send back only small values (parsed posts as tuples, file names).
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

from feeds.cache import post_row, problem_rows, row_problems
from feeds.model import Post, Problem
from feeds.read import ReadOptions, load_file

# Below these counts a pool costs more than it saves.
MIN_FILES_PER_WORKER = 200
MIN_FEEDS_PER_WORKER = 50


def _pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))


def _chunks(items: Sequence, jobs: int) -> list[Sequence]:
    size = max(1, -(-len(items) // (jobs * 4)))
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- reading ------------------------------------------------------------------


def _load_chunk(chunk: Sequence[tuple[str, Path]], options: ReadOptions) -> list[tuple]:
    rows = []
    for display, path in chunk:
        loaded = load_file(display, path, options)
        rows.append(
            (
                display,
                post_row(loaded.result.post),
                problem_rows(loaded.result.problems),
                loaded.size,
                loaded.mtime_ns,
                loaded.ctime_ns,
                loaded.digest,
                time.time_ns(),
            )
        )
    return rows


class FileRead(NamedTuple):
    """One file read by a worker (a named tuple: there may be 50,000 of them)."""

    path: str
    post: Post | None
    problems: tuple[Problem, ...]
    size: int  # -1 when the file could not be read
    mtime_ns: int
    ctime_ns: int
    digest: bytes
    read_ns: int  # when it was read


def load_many(
    files: Sequence[tuple[str, str]],
    options: ReadOptions,
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> list[FileRead]:
    """Read files (in parallel when it pays); results in input order."""
    workers = min(jobs, len(files) // MIN_FILES_PER_WORKER)
    results: list[FileRead] = []

    def take(rows: list[tuple]) -> None:
        for display, post, problems, size, mtime_ns, ctime_ns, digest, read_ns in rows:
            results.append(
                FileRead(
                    display,
                    None if post is None else Post(*post),
                    row_problems(problems) if problems else (),
                    size,
                    mtime_ns,
                    ctime_ns,
                    digest,
                    read_ns,
                )
            )
        if progress:
            progress(len(results))

    if workers <= 1:
        for chunk in _chunks(files, 4):
            take(_load_chunk(chunk, options))
        return results
    chunks = _chunks(files, workers)
    with _pool(workers) as pool:
        for rows in pool.map(_load_chunk, chunks, [options] * len(chunks)):
            take(rows)
    return results


# --- rendering ----------------------------------------------------------------

# The work list of the current render, read by forked workers by index.
_RENDER_WORK: tuple | None = None


def _render_chunk(indices: Sequence[int]) -> list[tuple[str, bool]]:
    assert _RENDER_WORK is not None
    tasks, site, out, render_for = _RENDER_WORK
    from feeds.write import Writer

    writer = Writer(out)
    done = []
    for index in indices:
        relative, fmt, spec = tasks[index]
        done.append((relative, writer.write(relative, render_for[fmt](spec, site))))
    return done


def render_many(
    tasks: Sequence[tuple[str, str, object]],
    site,
    out: Path,
    render_for: dict,
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> list[tuple[str, bool]]:
    """Render and write (relative path, format, spec) tasks; returns (path, changed) in order."""
    global _RENDER_WORK
    workers = min(jobs, len(tasks) // MIN_FEEDS_PER_WORKER)
    indices = list(range(len(tasks)))
    _RENDER_WORK = (tasks, site, out, render_for)
    results: list[tuple[str, bool]] = []
    try:
        if workers <= 1:
            for chunk in _chunks(indices, 4):
                results.extend(_render_chunk(chunk))
                if progress:
                    progress(len(results))
            return results
        with _pool(workers) as pool:
            for done in pool.map(_render_chunk, _chunks(indices, workers)):
                results.extend(done)
                if progress:
                    progress(len(results))
        return results
    finally:
        _RENDER_WORK = None
