"""One build per output directory at a time (fcntl.flock on a lock file)."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

from feeds.errors import FeedsError, LockTimeout

LOCK_NAME = ".feeds.lock"


class OutputLock:
    """Hold an exclusive lock on ``out/.feeds.lock`` for the life of a build.

    The lock belongs to the open file, so the kernel drops it when the
    process dies, however it dies: a killed build never leaves a stale lock.

    The file's content says whether a build was writing when it stopped: a
    build marks it (``writing()``) before it changes any file and clears it
    (``written()``) once the directory is whole again. A mark found on entry
    means the last build was killed part-way, whatever it used (a cache or not).
    """

    def __init__(self, out: Path, wait: float, poll: float = 0.1, waiting: Callable[[int], None] | None = None):
        """``waiting``, if given, is told the whole seconds waited so far, each
        time they grow, while another build holds the lock (0 first)."""
        self.path = Path(out) / LOCK_NAME
        self.wait = wait
        self.poll = poll
        self.waiting = waiting
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_NOFOLLOW: the mark is written into this file, never through a link to another
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise FeedsError("the lock file is a symbolic link; remove it", self.path) from None
            raise
        started = time.monotonic()
        deadline = started + self.wait
        told = -1
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                waited = int(now - started)
                if self.waiting is not None and waited > told and now < deadline:
                    told = waited
                    self.waiting(waited)
                if now >= deadline:
                    os.close(fd)
                    raise LockTimeout(
                        f"another feeds build holds the lock; gave up after {self.wait:g} s (--wait)",
                        self.path,
                    ) from None
                time.sleep(self.poll)
        self._fd = fd
        return self

    def interrupted(self) -> bool:
        """Whether a build was killed while writing into this directory."""
        assert self._fd is not None
        return os.fstat(self._fd).st_size > 0

    def writing(self) -> None:
        """Mark the directory as being written (also from a forked worker; idempotent)."""
        assert self._fd is not None
        os.pwrite(self._fd, b"writing\n", 0)

    def written(self) -> None:
        """Clear the mark, if there is one (a run that wrote nothing touches nothing)."""
        assert self._fd is not None
        if os.fstat(self._fd).st_size:
            os.ftruncate(self._fd, 0)

    def __exit__(self, *exc_info) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
