"""Spread reading and rendering over worker processes (--jobs).

With --jobs N, N processes work: N - 1 forked workers and this one. The
work is cut into chunks; the workers take chunks from the front, this
process takes (steals) chunks from the back until it meets them, so a
slow or busy worker never leaves the other cores idle. Results come back
in input order, so the output is the same for any --jobs.

Workers are forked: they inherit the parent's modules and the work list,
and send back only small values (parsed posts as tuples, file names), each
on a pipe of its own, read by a thread of this process as they come. A
worker that fails sends its exception, raised here; one killed (even in the
middle of a message) is an end of file on its pipe: the run fails with a
one-line error, never waits for ever.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

from feeds.batch import batches
from feeds.cache import post_row, problem_rows, record_checks, row_problems
from feeds.errors import FeedsError
from feeds.model import Post
from feeds.read import FileRead, ReadOptions, load_files

# Below these counts a pool costs more than it saves.
MIN_FILES_PER_WORKER = 200
MIN_FEEDS_PER_WORKER = 50
# A worker sends each chunk's results as one message on its pipe, read here by
# a thread that gets the GIL only when the main thread lets it go (every 5 ms
# while it parses): a message that does not fit the pipe makes the worker wait
# for that thread once per pipe-full. So pipes are made as large as Linux lets
# a process make them (1 MiB by default, against 64 KiB), and a reading chunk
# holds at most READ_CHUNK_FILES files (about 0.8 MB of results for the
# finews posts). Measured (alternate runs, means): a cold build of 10,000
# posts 2.17 -> 2.04 s, of 50,000 posts 7.13 -> 6.77 s (on a slow day).
PIPE_BYTES = 1 << 20
READ_CHUNK_FILES = 1000


class _Worker(NamedTuple):
    process: object  # a forked multiprocessing.Process
    results: object  # the reading end of its pipe (a Connection); the worker holds the only writing end


def _fork(count: int, work: Callable[[object], None]) -> list[_Worker]:
    """``count`` forked processes, each running ``work(connection)`` and ending.

    Each sends its results on a pipe of its own, whose writing end only it
    holds: a worker that dies, even in the middle of a message, is an end of
    file to the reader, never a read that waits for ever (as with a queue
    every worker writes to, which ProcessPoolExecutor uses).
    """
    # imported here: a run that reads or renders a few files needs no pool
    import multiprocessing

    context = multiprocessing.get_context("fork")
    workers: list[_Worker] = []
    try:
        for _ in range(count):
            reader, writer = context.Pipe(duplex=False)
            _enlarge(writer)
            process = context.Process(target=_worker_main, args=(writer, work, os.getpid()), daemon=True)
            try:
                process.start()
            except BaseException:
                reader.close()
                raise
            finally:
                writer.close()  # (the next worker must not inherit it either)
            workers.append(_Worker(process, reader))
    except BaseException:
        _stop(workers)
        raise
    return workers


def _enlarge(connection) -> None:
    """Make a pipe hold PIPE_BYTES (see there) where the system lets it; else leave it."""
    try:
        import fcntl

        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux; a lower limit (EPERM): the default size
        pass


def _worker_main(writer, work: Callable[[object], None], parent: int) -> None:
    # SIGTERM ends a worker at once (the build's own process unwinds on its SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent)
    work(writer)


def _stop(workers: list[_Worker], inbox: _Inbox | None = None) -> None:
    """Kill the workers still running, reap them all, and close their pipes
    once nothing reads them (a closed descriptor's number may be reused)."""
    for worker in workers:
        if worker.process.exitcode is None:
            worker.process.kill()
    for worker in workers:
        worker.process.join()
    if inbox is not None:
        inbox.join()  # (every pipe is at its end now: the reading thread ends)
    for worker in workers:
        worker.results.close()


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


def _chunks(items: Sequence, jobs: int, most: int | None = None) -> list[Sequence]:
    """About jobs * 4 chunks, each of at most ``most`` items."""
    size = max(1, -(-len(items) // (jobs * 4)))
    if most is not None:
        size = min(size, most)
    return [items[i : i + size] for i in range(0, len(items), size)]


# Which chunks of the current _spread are taken, shared with its forked
# workers (a flag per chunk, set under the array's lock): whoever sets a
# chunk's flag does that chunk. (Also the one a worker has, as inherited.)
_CLAIMS = None


CLAIM_WAIT_S = 0.5


def _claim(claims, index: int, check: Callable[[], None] | None = None) -> bool:
    """Take chunk ``index`` unless someone has. ``check`` (in this process) raises
    once the run is lost: a worker killed while it held the flags' lock leaves
    it held for ever."""
    lock = claims.get_lock()
    while not lock.acquire(timeout=CLAIM_WAIT_S):
        if check is not None:
            check()
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

    claims = _CLAIMS = multiprocessing.get_context("fork").Array("b", len(chunks))  # all 0: none taken
    # Forked workers share this process's pages until they write to them, and a
    # collection writes to every object it visits: frozen objects are never visited.
    gc.freeze()
    workers: list[_Worker] = []
    inbox = None
    try:
        workers = _fork(jobs - 1, partial(_work, claims, chunks, remote))
        inbox = _Inbox(workers)
        done: list[list | None] = [None] * len(chunks)
        here = 0
        try:
            if meanwhile:
                meanwhile()
            for index in range(len(chunks) - 1, -1, -1):
                inbox.check()  # a worker failed or was killed: stop here too
                if not _claim(claims, index, inbox.check):
                    break  # a worker has it; the ones before it are the workers'
                done[index] = local(chunks[index])
                here += len(chunks[index])
                report(here + sum(len(chunks[i]) for i in list(inbox.results)))
            inbox.wait()
        except BaseException:
            lock = claims.get_lock()
            if lock.acquire(timeout=CLAIM_WAIT_S):  # (not held for ever by a killed worker)
                claims[:] = bytes([1]) * len(chunks)  # the workers skip what nobody has started
                lock.release()
            raise
        from_workers = 0
        for index, chunk in enumerate(chunks):
            if done[index] is None:
                take(inbox.results.pop(index), True)
                from_workers += len(chunk)
                report(here + from_workers)
            else:
                take(done[index], False)
    finally:
        _stop(workers, inbox)
        gc.unfreeze()
        _CLAIMS = None


def _work(claims, chunks: list[Sequence], remote: Callable[[Sequence], list], results) -> None:
    """A worker: each chunk it can claim, from the front, done and sent; then "done"."""
    try:
        for index, chunk in enumerate(chunks):
            if _claim(claims, index):
                results.send(("result", index, remote(chunk)))
        results.send(("done",))
    except BaseException as exc:  # sent to the build's process, which raises it there
        import pickle
        import traceback

        told = "".join(traceback.format_exception(exc)).rstrip()
        exc.add_note("in a worker process:\n" + told)
        try:
            pickle.dumps(exc)
        except Exception:  # an exception that does not pickle: its text, as a RuntimeError
            exc = RuntimeError(told)
        results.send(("error", exc))
    finally:
        results.close()


class _Inbox:
    """The workers' results, received by a thread of this process as they come.

    A worker whose pipe ends before it said "done" was killed; one that
    failed sent its exception, which wait() raises here.
    """

    def __init__(self, workers: list[_Worker]):
        import threading

        self.results: dict[int, list] = {}
        self._failure: BaseException | None = None
        self._open = [worker.results for worker in workers]
        self._thread = threading.Thread(target=self._receive, name="feeds-results", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        from multiprocessing.connection import wait

        try:
            while self._open:
                for connection in wait(self._open):
                    try:
                        message = connection.recv()
                    except (EOFError, OSError):  # ended before "done", even in the middle of a message: killed
                        self._failure = _killed()
                        return
                    if message[0] == "result":
                        self.results[message[1]] = message[2]
                    elif message[0] == "done":
                        self._open.remove(connection)
                    else:
                        self._failure = message[1]
                        return
        except BaseException as exc:  # (a result that does not unpickle, say)
            self._failure = exc

    def check(self) -> None:
        """Raises what a worker raised, or the error of a killed one, if any by now."""
        if self._failure is not None:
            raise self._failure

    def wait(self) -> None:
        """Until every worker is done (or one failed); then check()."""
        self.join()
        self.check()

    def join(self) -> None:
        while self._thread.is_alive():  # (in steps: Ctrl-C still reaches this thread)
            self._thread.join(CLAIM_WAIT_S)


# --- reading ------------------------------------------------------------------


def _load_chunk(chunk: Sequence[tuple[str, str]], options: ReadOptions, checks: bool) -> list[tuple]:
    """A worker's reads, with posts and problems as plain tuples (quick to pickle),
    and with their cache records' checksums if ``checks``."""
    return [
        read._replace(
            post=post_row(read.post), problems=problem_rows(read.problems), checks=record_checks(read) if checks else b""
        )
        for read in load_files(chunk, options)
    ]


def load_many(
    files: Sequence[tuple[str, str]],
    options: ReadOptions,
    jobs: int,
    progress: Callable[[int], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
    checks: bool = False,
) -> list[FileRead]:
    """Read files (in parallel when it pays); results in input order.

    ``meanwhile`` is called once in this process, while the workers read
    (or first, without workers). With ``checks``, each result carries its
    cache record's checksums (feeds.cache.record_checks), made by the
    process that read it: hashing the records costs a cold build of 50,000
    posts 0.27 s, spread over the processes instead of done while storing."""
    workers = min(jobs, len(files) // MIN_FILES_PER_WORKER)
    results: list[FileRead] = []

    def local(chunk: Sequence[tuple[str, str]]) -> list[FileRead]:
        reads = load_files(chunk, options)
        return [read._replace(checks=record_checks(read)) for read in reads] if checks else reads

    def take(done: list, from_worker: bool) -> None:
        if not from_worker:
            results.extend(done)
        else:
            for path, post, problems, *rest in done:  # (not _replace: 50,000 of them)
                results.append(
                    FileRead(
                        path,
                        None if post is None else Post(*post),
                        row_problems(problems) if problems else (),
                        *rest,
                    )
                )

    chunks = _chunks(files, max(workers, 1) * 4, READ_CHUNK_FILES)
    _spread(workers, chunks, partial(_load_chunk, options=options, checks=checks), local, take, meanwhile, progress)
    return results


# --- rendering ----------------------------------------------------------------

# The work list of the current render, read by forked workers by index.
_RENDER_WORK: tuple | None = None
# Feeds rendered before any of them is written (see feeds.batch): this many,
# or as many as make this many bytes (a big feed is still held alone).
WRITE_BATCH = 32
WRITE_BATCH_BYTES = 1 << 20


def _render_chunk(indices: Sequence[int]) -> list[tuple[str, bool]]:
    assert _RENDER_WORK is not None
    tasks, site, out, render, before_write = _RENDER_WORK
    from feeds.write import Writer

    writer = Writer(out, before_write)
    done = []
    work = (tasks[index] for index in indices)
    for batch in batches(work, lambda task: render(task[2], site, task[1]), WRITE_BATCH, WRITE_BATCH_BYTES):
        done.extend((relative, writer.write(relative, data)) for (relative, _fmt, _spec), data in batch)
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
