"""One build per output directory at a time (fcntl.flock on a lock file)."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from feeds.errors import LockTimeout

LOCK_NAME = ".feeds.lock"


class OutputLock:
    """Hold an exclusive lock on ``out/.feeds.lock`` for the life of a build.

    The lock belongs to the open file, so the kernel drops it when the
    process dies, however it dies: a killed build never leaves a stale lock.
    """

    def __init__(self, out: Path, wait: float, poll: float = 0.1):
        self.path = Path(out) / LOCK_NAME
        self.wait = wait
        self.poll = poll
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockTimeout(
                        f"another feeds build holds the lock; gave up after {self.wait:g} s (--wait)",
                        self.path,
                    ) from None
                time.sleep(self.poll)
        self._fd = fd
        return self

    def __exit__(self, *exc_info) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
