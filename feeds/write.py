"""Stage 4: bytes to files. Atomic (temp file + rename) and only when the bytes changed."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path, PurePosixPath

from feeds.errors import FeedsError

TEMP_PREFIX = ".feeds-tmp-"
_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + r".+\.tmp\Z")


class Writer:
    """Writes files under one output directory.

    Refuses a path outside the directory and a path written twice in one run
    (that would be a bug in the stages before, so it raises).
    """

    def __init__(self, out: Path):
        self.out = Path(out)
        self._root = os.path.realpath(self.out)
        self._written: set[str] = set()

    def target(self, relative: str) -> Path:
        rel = PurePosixPath(relative)
        if rel.is_absolute() or any(part in ("", ".", "..") for part in rel.parts) or "\\" in relative or "\x00" in relative:
            raise FeedsError(f"refusing to write outside the output directory: {relative!r}")
        return self.out.joinpath(*rel.parts)

    def write(self, relative: str, data: bytes) -> bool:
        """Write ``data`` to ``out/relative`` unless it already holds those bytes.

        Returns True when the file was (re)written.
        """
        if relative in self._written:
            raise FeedsError(f"two feeds want the same file {relative!r}")
        self._written.add(relative)
        path = self.target(relative)
        # before reading or creating anything: a symlink must not lead outside
        if os.path.commonpath([self._root, os.path.realpath(path.parent)]) != self._root:
            raise FeedsError("the output path leads outside the output directory", path)
        try:
            if path.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        except IsADirectoryError as exc:
            raise FeedsError("a directory is in the way of a feed file", path) from exc
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)
        return True


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, then rename it into place.

    A reader sees the old file or the new one, never a part; a run killed
    half-way leaves only a temp file that :func:`remove_temp_files` cleans.
    """
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
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
