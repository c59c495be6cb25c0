"""Stage 4: bytes to files. Atomic (temp file + rename) and only when the bytes changed."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from pathlib import Path

from feeds.errors import FeedsError

TEMP_PREFIX = ".feeds-tmp-"
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r".+\.tmp\Z")


class Writer:
    """Writes files under one output directory.

    Refuses a path outside the directory and a path written twice in one run
    (that would be a bug in the stages before, so it raises).
    """

    def __init__(self, out: Path, before_write: Callable[[], None] | None = None):
        self.out = Path(out)
        self._out = os.path.normpath(out)  # "out/" -> "out": the parent of out/atom.xml is this very string
        self._before_write = before_write  # called once, before the first file is changed
        self._root = os.path.realpath(self.out)
        self._written: set[str] = set()
        self._directories: dict[str, bool] = {}  # checked (and made if needed): made by this writer?
        self._parents: set[str] = set()  # directories found to lead nowhere outside the output

    def target(self, relative: str) -> Path:
        return Path(self._target(relative))

    def _target(self, relative: str) -> str:
        parts = relative.split("/")
        if any(part in ("", ".", "..") for part in parts) or "\\" in relative or "\x00" in relative:
            raise FeedsError(f"refusing to write outside the output directory: {relative!r}")
        return os.path.join(self._out, *parts)

    def write(self, relative: str, data: bytes) -> bool:
        """Write ``data`` to ``out/relative`` unless it already holds those bytes.

        Returns True when the file was (re)written.
        """
        if relative in self._written:
            raise FeedsError(f"two feeds want the same file {relative!r}")
        self._written.add(relative)
        path = self._target(relative)
        parent = os.path.dirname(path)
        created = self._directories.get(parent)
        if created is None:
            created = self._directory(parent)
        if not created:  # a directory made by this writer holds no old file to compare with
            try:
                with open(path, "rb") as old:
                    if old.read() == data:
                        return False
            except FileNotFoundError:
                pass
            except IsADirectoryError as exc:
                raise FeedsError("a directory is in the way of a feed file", Path(path)) from exc
        if self._before_write is not None:
            self._before_write()
            self._before_write = None
        atomic_write(path, data)
        return True

    def _directory(self, directory: str) -> bool:
        """Make sure ``directory`` exists inside the output; True if this call made it."""
        # before creating anything: no symlink on the way may lead outside
        parent = os.path.dirname(directory)
        if directory != self._out and parent not in self._parents:  # (the output itself is inside)
            self._inside(parent)
            self._parents.add(parent)
        try:
            os.mkdir(directory)  # new, in a parent that is inside: inside
            created = True
        except FileExistsError:
            self._inside(directory)  # it may be a symlink
            created = False
        except FileNotFoundError:
            os.makedirs(directory, exist_ok=True)
            self._inside(directory)
            created = True
        self._directories[directory] = created
        return created

    def _inside(self, directory: str) -> None:
        if os.path.commonpath([self._root, os.path.realpath(directory)]) != self._root:
            raise FeedsError("the output path leads outside the output directory", Path(directory))


_serial = itertools.count()


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write to a temp file in the same directory, then rename it into place.

    A reader sees the old file or the new one, never a part; a run killed
    half-way leaves only a temp file that :func:`remove_temp_files` cleans.
    An error (a read-only folder, a full disk) names ``path``, never the temp file.
    """
    try:
        _write_and_replace(path, data)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc


def _write_and_replace(path: str | os.PathLike[str], data: bytes) -> None:
    directory = os.path.dirname(path)
    while True:  # a name no other process (pid) or write (serial) uses
        temp = os.path.join(directory, f"{TEMP_PREFIX}{os.getpid()}-{next(_serial)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            break
        except FileExistsError:  # left by a killed run of a process with the same pid
            continue
    try:
        try:
            os.fchmod(fd, 0o644)  # whatever the umask: feeds are for everyone to read
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def remove_temp_files(out: Path) -> int:
    """Remove temp files a killed run left behind. Returns how many."""
    removed = 0
    if not out.is_dir():
        return 0
    for root, _dirs, files in os.walk(out):
        for name in files:
            if _TEMP_NAME.match(name):
                try:
                    os.unlink(os.path.join(root, name))
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed
