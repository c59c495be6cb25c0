"""Spread reading and rendering over worker processes (--jobs).

Results come back in input order, so the output is the same for any --jobs.
Workers are forked: they inherit the parent's modules and the work list,
and send back only small values (parsed posts as tuples, file names).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from feeds.cache import post_row, problem_rows, row_problems
from feeds.model import Post
from feeds.read import FileRead, ReadOptions, load_file

# Below these counts a pool costs more than it saves.
MIN_FILES_PER_WORKER = 200
MIN_FEEDS_PER_WORKER = 50


def _pool(jobs: int):
    # imported here: a run that reads or renders a few files needs no pool
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))


def _chunks(items: Sequence, jobs: int) -> list[Sequence]:
    size = max(1, -(-len(items) // (jobs * 4)))
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- reading ------------------------------------------------------------------


def _load_chunk(chunk: Sequence[tuple[str, str]], options: ReadOptions) -> list[tuple]:
    """A worker's reads, with posts and problems as plain tuples (quick to pickle)."""
    rows = []
    for display, path in chunk:
        read = load_file(display, path, options)
        rows.append(read._replace(post=post_row(read.post), problems=problem_rows(read.problems)))
    return rows


def load_many(
    files: Sequence[tuple[str, str]],
    options: ReadOptions,
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> list[FileRead]:
    """Read files (in parallel when it pays); results in input order."""
    workers = min(jobs, len(files) // MIN_FILES_PER_WORKER)
    results: list[FileRead] = []

    def take(rows: list[FileRead]) -> None:
        for path, post, problems, *rest in rows:  # (not _replace: 50,000 of them)
            results.append(
                FileRead(
                    path,
                    None if post is None else Post(*post),
                    row_problems(problems) if problems else (),
                    *rest,
                )
            )
        if progress:
            progress(len(results))

    if workers <= 1:  # in this process: no tuples to convert
        for chunk in _chunks(files, 4):
            results.extend(load_file(display, path, options) for display, path in chunk)
            if progress:
                progress(len(results))
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
    tasks, site, out, render_for, before_write = _RENDER_WORK
    from feeds.write import Writer

    writer = Writer(out, before_write)
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
    meanwhile: Callable[[], None] | None = None,
    before_write: Callable[[], None] | None = None,
) -> list[tuple[str, bool]]:
    """Render and write (relative path, format, spec) tasks; returns (path, changed) in order.

    ``meanwhile`` is called once, while the workers render (or first, without
    workers); ``before_write`` in each process that is about to change a file.
    """
    global _RENDER_WORK
    workers = min(jobs, len(tasks) // MIN_FEEDS_PER_WORKER)
    indices = list(range(len(tasks)))
    _RENDER_WORK = (tasks, site, out, render_for, before_write)
    results: list[tuple[str, bool]] = []
    try:
        if workers <= 1:
            if meanwhile:
                meanwhile()
            for chunk in _chunks(indices, 4):
                results.extend(_render_chunk(chunk))
                if progress:
                    progress(len(results))
            return results
        with _pool(workers) as pool:
            rendered = pool.map(_render_chunk, _chunks(indices, workers))  # submits all: the workers start
            if meanwhile:
                meanwhile()
            for done in rendered:
                results.extend(done)
                if progress:
                    progress(len(results))
        return results
    finally:
        _RENDER_WORK = None
