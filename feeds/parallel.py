"""Spread reading and rendering over worker processes (--jobs).

With --jobs N, N processes work: N - 1 forked workers and this one. The
work is cut into chunks; the workers take chunks from the front, this
process takes (steals) chunks from the back until it meets them, so a
slow or busy worker never leaves the other cores idle. Results come back
in input order, so the output is the same for any --jobs.

Workers are forked: they inherit the parent's modules and the work list,
and send back only small values (parsed posts as tuples, file names).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from feeds.cache import post_row, problem_rows, row_problems
from feeds.errors import FeedsError
from feeds.model import Post
from feeds.read import FileRead, ReadOptions, load_file

# Below these counts a pool costs more than it saves.
MIN_FILES_PER_WORKER = 200
MIN_FEEDS_PER_WORKER = 50


def _pool(jobs: int):
    # imported here: a run that reads or renders a few files needs no pool
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
PARENT_POLL_S = 0.2


def _die_with_parent(parent: int) -> None:
    """In a new worker: end when the build's process ends, however it ends.

    A build killed with SIGKILL cannot stop its workers, and a worker left
    behind would wait forever on its queue, still holding the output
    directory's lock (which it inherited) and the build's stdout: every later
    build would wait for the lock and give up. On Linux the kernel kills the
    worker with its parent; elsewhere a thread watches for the parent to go.
    """
    if not (sys.platform.startswith("linux") and _kill_me_with_parent()):
        _watch_parent(parent)
    if os.getppid() != parent:  # the parent ended before the above took effect
        os._exit(1)


def _kill_me_with_parent() -> bool:
    """Ask Linux to send this process SIGKILL when its parent ends; False if it cannot."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):  # a Python without ctypes, a libc without prctl
        return False
    return prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0


def _watch_parent(parent: int) -> None:
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="feeds-parent-watch", daemon=True).start()


def _chunks(items: Sequence, jobs: int) -> list[Sequence]:
    size = max(1, -(-len(items) // (jobs * 4)))
    return [items[i : i + size] for i in range(0, len(items), size)]


# Which chunks of the current _spread are taken, shared with its forked
# workers (a flag per chunk, set under the array's lock): whoever sets a
# chunk's flag does that chunk. Futures are never cancelled instead: a
# cancelled future breaks ProcessPoolExecutor's clean-up when a worker dies
# (before Python 3.12), and the build would then hang.
_CLAIMS = None


CLAIM_WAIT_S = 0.5


def _claim(claims, index: int, broken: Callable[[], bool] | None = None) -> bool:
    """Take chunk ``index`` unless someone has. ``broken`` (in this process) says
    whether the pool has lost a worker: the pool then kills the other workers,
    and one killed while it held the flags' lock leaves it held for ever."""
    lock = claims.get_lock()
    while not lock.acquire(timeout=CLAIM_WAIT_S):
        if broken is not None and broken():
            raise _killed()
    try:
        if claims[index]:
            return False
        claims[index] = 1
        return True
    finally:
        lock.release()


def _killed() -> FeedsError:
    return FeedsError(
        "a worker process was killed before it finished (by the system, for lack of memory?);"
        " no file was left half-written; run again, perhaps with fewer --jobs"
    )


def _run_claimed(index: int, remote: Callable[[Sequence], list], chunk: Sequence) -> list | None:
    """In a worker: the chunk's result, or None if the main process took it first."""
    return remote(chunk) if _claim(_CLAIMS, index) else None


def _spread(
    jobs: int,
    chunks: list[Sequence],
    remote: Callable[[Sequence], list],
    local: Callable[[Sequence], list],
    take: Callable[[list, bool], None],
    meanwhile: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Run ``remote`` on chunks in jobs - 1 workers and ``local`` here; ``take`` the results in order.

    ``take`` is told whether a result came from a worker (True) or from here.
    With ``jobs`` 1 or less there is no worker: ``meanwhile``, then every
    chunk here, in order. Else the workers take chunks from the front. This process first calls
    ``meanwhile`` (if any), then takes chunks from the back until it meets
    one a worker has taken; each chunk is done once. If this process fails,
    the workers skip the chunks nobody has started. ``progress`` gets the
    number of items done so far, never less than before.
    """
    global _CLAIMS
    shown = 0

    def report(count: int) -> None:
        nonlocal shown
        if progress and count > shown:
            shown = count
            progress(count)

    if jobs <= 1:  # no pool (and no multiprocessing import) for a small run
        if meanwhile:
            meanwhile()
        for chunk in chunks:
            take(local(chunk), False)
            report(shown + len(chunk))
        return

    import gc
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    done: list[list | None] = [None] * len(chunks)
    claims = _CLAIMS = multiprocessing.get_context("fork").Array("b", len(chunks))  # all 0: none taken
    # Forked workers share this process's pages until they write to them, and a
    # collection writes to every object it visits: frozen objects are never visited.
    gc.freeze()
    try:
        with _pool(jobs - 1) as pool:  # (the workers are forked at the first submit, after _CLAIMS is set)
            futures = []
            for index, chunk in enumerate(chunks):
                try:
                    futures.append(pool.submit(_run_claimed, index, remote, chunk))
                except BrokenProcessPool as exc:  # a worker died before all were handed out
                    raise _killed() from exc

            def broken() -> bool:
                return any(f.done() and isinstance(f.exception(), BrokenProcessPool) for f in futures)

            here = 0
            try:
                if meanwhile:
                    meanwhile()
                for index in range(len(chunks) - 1, -1, -1):
                    if not _claim(claims, index, broken):
                        break  # a worker has it; the ones before it are the workers'
                    done[index] = local(chunks[index])
                    here += len(chunks[index])
                    report(here + sum(len(c) for c, f, d in zip(chunks, futures, done) if d is None and f.done()))
            except BaseException:
                lock = claims.get_lock()
                if lock.acquire(timeout=CLAIM_WAIT_S):  # (not held for ever by a killed worker)
                    claims[:] = bytes([1]) * len(chunks)  # the workers skip what nobody has started
                    lock.release()
                raise
            from_workers = 0
            for index, future in enumerate(futures):
                try:
                    result = future.result()  # None when this process did the chunk; raises if a worker failed
                except BrokenProcessPool as exc:  # killed, not failed: an exception would come as itself
                    raise _killed() from exc
                if done[index] is None:
                    assert result is not None
                    take(result, True)
                    from_workers += len(chunks[index])
                    report(here + from_workers)
                else:
                    take(done[index], False)
    finally:
        gc.unfreeze()
        _CLAIMS = None


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
    meanwhile: Callable[[], None] | None = None,
) -> list[FileRead]:
    """Read files (in parallel when it pays); results in input order.

    ``meanwhile`` is called once in this process, while the workers read
    (or first, without workers)."""
    workers = min(jobs, len(files) // MIN_FILES_PER_WORKER)
    results: list[FileRead] = []

    def local(chunk: Sequence[tuple[str, str]]) -> list[FileRead]:
        return [load_file(display, path, options) for display, path in chunk]

    def take(rows: list, from_worker: bool) -> None:
        if not from_worker:
            results.extend(rows)
        else:
            for path, post, problems, *rest in rows:  # (not _replace: 50,000 of them)
                results.append(
                    FileRead(
                        path,
                        None if post is None else Post(*post),
                        row_problems(problems) if problems else (),
                        *rest,
                    )
                )

    chunks = _chunks(files, max(workers, 1) * 4)
    _spread(workers, chunks, partial(_load_chunk, options=options), local, take, meanwhile, progress)
    return results


# --- rendering ----------------------------------------------------------------

# The work list of the current render, read by forked workers by index.
_RENDER_WORK: tuple | None = None


def _render_chunk(indices: Sequence[int]) -> list[tuple[str, bool]]:
    assert _RENDER_WORK is not None
    tasks, site, out, render, before_write = _RENDER_WORK
    from feeds.write import Writer

    writer = Writer(out, before_write)
    done = []
    for index in indices:
        relative, fmt, spec = tasks[index]
        done.append((relative, writer.write(relative, render(spec, site, fmt))))
    return done


def render_many(
    tasks: Sequence[tuple[str, str, object]],
    site,
    out: Path,
    render: Callable[[object, object, str], bytes],
    jobs: int,
    progress: Callable[[int], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
    before_write: Callable[[], None] | None = None,
) -> list[tuple[str, bool]]:
    """Render and write (relative path, format, spec) tasks; returns (path, changed) in order.

    ``meanwhile`` is called once, while the workers render (or first, without
    workers), before this process renders its share; ``before_write`` in each
    process that is about to change a file.
    """
    global _RENDER_WORK
    workers = min(jobs, len(tasks) // MIN_FEEDS_PER_WORKER)
    indices = list(range(len(tasks)))
    _RENDER_WORK = (tasks, site, out, render, before_write)
    results: list[tuple[str, bool]] = []
    try:
        chunks = _chunks(indices, max(workers * 2, 4))
        _spread(workers, chunks, _render_chunk, _render_chunk, lambda done, _: results.extend(done), meanwhile, progress)
        return results
    finally:
        _RENDER_WORK = None
