"""The one root error class of feeds.

Errors that stop a run (bad configuration, an unreadable source directory,
an output directory we may not write) are raised as :class:`FeedsError`.
A bad *post* is never an exception: the reader returns a
:class:`feeds.model.Problem` value instead, and the run goes on.
"""

from __future__ import annotations

from pathlib import Path


class FeedsError(Exception):
    """An error that stops the run, naming the file it is about (if any)."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class ConfigError(FeedsError):
    """Bad settings: a config file, a flag value, a missing source (exit 2)."""


class MissingSiteURL(ConfigError):
    """No site URL from any source of settings (feeds need absolute URLs)."""


class LockTimeout(FeedsError):
    """Another build holds the output directory's lock (exit 3)."""
