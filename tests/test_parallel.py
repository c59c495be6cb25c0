"""feeds.parallel: the work of --jobs N, shared by N - 1 workers and the main process."""

from __future__ import annotations

import os
import time

from feeds import parallel


def _in_worker(chunk):
    time.sleep(0.02)  # slower than here, so that this process gets a share
    return [(item, os.getpid()) for item in chunk]


def test_spread_does_each_chunk_once_in_order_and_shares_it():
    chunks = [[n, n + 0.5] for n in range(30)]
    taken = []
    meanwhile = []
    parallel._spread(
        2,
        chunks,
        _in_worker,
        lambda chunk: [(item, os.getpid()) for item in chunk],
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
        2, chunks, _in_worker, lambda chunk: list(chunk), lambda rows, from_worker: None, progress=counts.append
    )
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    assert counts[-1] == 60
