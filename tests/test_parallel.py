"""feeds.parallel: the work of --jobs N, shared by N - 1 workers and the main process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLE, process_ended
from feeds import parallel


def _in_worker(chunk):
    time.sleep(0.02)  # (an instant worker could take every chunk before this process takes one)
    return [(item, os.getpid()) for item in chunk]


def _here(chunk):
    time.sleep(0.05)  # slow enough for the worker to start and take a share
    return [(item, os.getpid()) for item in chunk]


def _here_once_a_worker_started(chunk):
    # on a loaded machine a worker may start late, and this process would do
    # every chunk: wait (a while) until a worker has taken the first one
    deadline = time.monotonic() + 30
    while not parallel._CLAIMS[0] and time.monotonic() < deadline:
        time.sleep(0.005)
    return _here(chunk)


def test_spread_does_each_chunk_once_in_order_and_shares_it():
    chunks = [[n, n + 0.5] for n in range(30)]
    taken = []
    meanwhile = []
    parallel._spread(
        2,
        chunks,
        _in_worker,
        _here_once_a_worker_started,
        lambda rows, from_worker: taken.append((rows, from_worker)),
        meanwhile=lambda: meanwhile.append(True),
    )
    assert meanwhile == [True]
    items = [item for rows, _ in taken for item, _pid in rows]
    assert items == [item for chunk in chunks for item in chunk], "every item once, in order"
    here = [from_worker for _, from_worker in taken]
    # the workers take chunks from the front, this process from the back, until they meet
    assert True in here and False in here
    assert here == sorted(here, reverse=True)
    pids = {pid for rows, from_worker in taken for _item, pid in rows if not from_worker}
    assert pids == {os.getpid()}
    assert all(pid != os.getpid() for rows, from_worker in taken if from_worker for _item, pid in rows)


def test_spread_reports_progress_that_only_grows_to_the_total():
    chunks = [[n] * 3 for n in range(20)]
    counts = []
    parallel._spread(
        2, chunks, _in_worker, _here, lambda rows, from_worker: None, progress=counts.append
    )
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    assert counts[-1] == 60


def _worker_dies(chunk):
    if chunk[0] == 1:
        os._exit(1)  # as if the OS killed it (out of memory)
    time.sleep(0.05)
    return list(chunk)


def _spread_with_a_dying_worker(jobs: int) -> None:
    chunks = [[n] for n in range(40)]
    parallel._spread(jobs, chunks, _worker_dies, _here, lambda rows, from_worker: None)


@pytest.mark.parametrize("jobs", [2, 3, 4])
def test_a_dead_worker_fails_the_run_and_nothing_hangs(jobs):
    # run in a child process: a hang must fail the test, not block it
    code = f"import test_parallel as t; t._spread_with_a_dying_worker({jobs})"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "worker process was killed" in done.stderr, done.stderr[-2000:]


def _worker_dies_while_sending(chunk):
    import threading

    if chunk[0] == 0:  # the first chunk a worker takes: killed (as the OS would) while its result is sent
        result = [os.urandom(1 << 20) for _ in range(64)]
        threading.Timer(float(os.environ.get("FEEDS_TEST_KILL_AFTER", "0.03")), os._exit, (9,)).start()
        return result
    return list(chunk)


def _spread_with_a_worker_killed_mid_message() -> None:
    chunks = [[n] for n in range(8)]
    slow_here = lambda chunk: time.sleep(0.2) or list(chunk)  # noqa: E731 - the worker takes chunk 0
    parallel._spread(2, chunks, _worker_dies_while_sending, slow_here, lambda rows, from_worker: None)


def test_a_worker_killed_in_the_middle_of_sending_fails_the_run_and_nothing_hangs():
    # ProcessPoolExecutor's reader waited for ever for the rest of such a message
    code = "import test_parallel as t; t._spread_with_a_worker_killed_mid_message()"
    for delay in ("0.01", "0.03", "0.05", "0.08"):  # before, while and after its result is pickled and sent
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=60,
            env={**os.environ, "FEEDS_TEST_KILL_AFTER": delay},
        )
        assert done.returncode != 0
        assert "worker process was killed" in done.stderr, done.stderr[-2000:]


def _worker_dies_holding_the_claims_lock(chunk):
    parallel._CLAIMS.get_lock().acquire()  # as a worker the pool kills inside _claim()
    os._exit(1)


def _spread_with_the_claims_lock_left_held() -> None:
    chunks = [[n] for n in range(40)]
    slow_here = lambda chunk: time.sleep(0.05) or list(chunk)  # noqa: E731 - a worker takes a chunk meanwhile
    parallel._spread(2, chunks, _worker_dies_holding_the_claims_lock, slow_here, lambda rows, from_worker: None)


def test_a_worker_killed_holding_the_claims_lock_fails_the_run_and_nothing_hangs():
    code = "import test_parallel as t; t._spread_with_the_claims_lock_left_held()"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "worker process was killed" in done.stderr, done.stderr[-2000:]


def _slow_worker(chunk):
    with open(os.environ["FEEDS_TEST_RUNS"], "a") as runs:
        runs.write(f"{chunk[0]}\n")
    time.sleep(0.05)
    return list(chunk)


def _fails_here(chunk):
    raise RuntimeError("a bug in this process's share")


def test_a_failure_here_stops_the_workers_early(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setenv("FEEDS_TEST_RUNS", str(runs))
    with pytest.raises(RuntimeError, match="a bug"):
        parallel._spread(3, [[n] for n in range(40)], _slow_worker, _fails_here, lambda rows, from_worker: None)
    started = runs.read_text().split() if runs.exists() else []
    assert len(started) < 10, f"workers went on with {len(started)} of 40 chunks after the failure"


KILLED_WORKER_DRIVER = """
import os, sys
from feeds import parallel
from feeds.cli import app

main_pid = os.getpid()
real = parallel._render_chunk
parallel.MIN_FEEDS_PER_WORKER = 1  # a pool even for the small example site

def killed_in_worker(indices):
    if os.getpid() != main_pid:
        os._exit(9)  # as the OS would kill it
    return real(indices)

parallel._render_chunk = killed_in_worker
app(args=["build", *sys.argv[1:]], prog_name="feeds")
"""


def test_a_killed_worker_is_a_one_line_error_with_exit_4(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER_DRIVER, str(EXAMPLE), "--out", str(out), "--no-cache", "--jobs", "2",
         "--site-url", "https://example.org"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 4, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "worker process was killed" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    # whatever was written is complete: the next run finishes the job
    again = subprocess.run(
        [sys.executable, "-m", "feeds", "build", str(EXAMPLE), "--out", str(out), "--no-cache",
         "--site-url", "https://example.org", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert not list(out.rglob(".feeds-tmp-*"))


ORPHAN_SCRIPT = """
import os, sys, time
from feeds import parallel
if sys.argv[1] == "watch":
    parallel._kill_me_with_parent = lambda: False  # as where prctl is missing: the watching thread
(worker,) = parallel._fork(1, lambda results: results.send(os.getpid()) or time.sleep(60))
print(worker.results.recv(), flush=True)  # the worker's pid
time.sleep(60)  # killed here by the test
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="looks the worker up in /proc")
@pytest.mark.parametrize("how", ["prctl", "watch"])
def test_a_worker_ends_soon_after_its_parent_is_killed(tmp_path, how):
    proc = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT, how], stdout=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(parallel.__file__).parents[1])},
    )
    try:
        worker = int(proc.stdout.readline())
        assert not process_ended(worker)
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while not process_ended(worker) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process_ended(worker), "the worker outlived its killed parent"
    finally:
        proc.kill()
        proc.stdout.close()


@pytest.mark.parametrize("feeds_per_batch, bytes_per_batch, expected", [
    (3, 1 << 20, "RRRWWWRRRWWWRW"),
    (32, 1, "RWRWRWRWRWRWRW"),  # each feed fills its batch: rendered and written one at a time
    (32, 150, "RRWWRRWWRRWWRW"),  # (each feed is 100 bytes)
])
def test_feeds_are_rendered_a_batch_at_a_time_then_written(tmp_path, monkeypatch, feeds_per_batch, bytes_per_batch, expected):
    """A batch ends at WRITE_BATCH feeds or at the feed that brings it to
    WRITE_BATCH_BYTES (a big feed is not held with many others); every feed
    is written with its own bytes, in order."""
    from feeds.write import Writer

    calls = []
    real_write = Writer.write
    monkeypatch.setattr(Writer, "write", lambda self, relative, data: calls.append("W") or real_write(self, relative, data))
    monkeypatch.setattr(parallel, "WRITE_BATCH", feeds_per_batch)
    monkeypatch.setattr(parallel, "WRITE_BATCH_BYTES", bytes_per_batch)

    def render(spec, site, fmt):
        calls.append("R")
        return f"{spec}:{fmt}:".encode().ljust(100, b".")

    tasks = [(f"f{i}.xml", "atom", i) for i in range(7)]
    monkeypatch.setattr(parallel, "_RENDER_WORK", (tasks, None, tmp_path, render, None))
    done = parallel._render_chunk(range(7))  # one chunk's feeds (render_many cuts 7 into chunks of 1)
    assert done == [(f"f{i}.xml", True) for i in range(7)]
    assert "".join(calls) == expected
    assert [(tmp_path / f"f{i}.xml").read_bytes()[:7] for i in range(7)] == [f"{i}:atom:".encode() for i in range(7)]


def test_reading_chunks_are_capped_and_cover_every_file_once_in_order():
    items = list(range(5003))
    chunks = parallel._chunks(items, 2 * 4, parallel.READ_CHUNK_FILES)
    assert max(len(chunk) for chunk in chunks) <= parallel.READ_CHUNK_FILES
    assert [item for chunk in chunks for item in chunk] == items
    small = list(range(300))  # the cap does not cut small work finer
    assert parallel._chunks(small, 2 * 4, parallel.READ_CHUNK_FILES) == parallel._chunks(small, 2 * 4)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_SETPIPE_SZ is Linux's")
def test_worker_pipes_hold_a_whole_reading_chunk_of_results():
    import fcntl
    from multiprocessing import Pipe

    with open("/proc/sys/fs/pipe-max-size") as limit:
        if int(limit.read()) < parallel.PIPE_BYTES:
            pytest.skip("this system caps pipes below PIPE_BYTES")
    reader, writer = Pipe(duplex=False)
    try:
        parallel._enlarge(writer)
        assert fcntl.fcntl(reader.fileno(), fcntl.F_GETPIPE_SZ) >= parallel.PIPE_BYTES
    finally:
        reader.close()
        writer.close()
