"""The list of files feeds wrote into an output directory (``.feeds-manifest.json``).

It lets a later run tell its own files from anyone else's (so ``--prune``
never removes a file it did not write) and whether the directory is in step
with the cache (so an unchanged site costs next to nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from feeds.write import atomic_write

MANIFEST_NAME = ".feeds-manifest.json"
FORMAT = 1


@dataclass(slots=True)
class Manifest:
    files: set[str] = field(default_factory=set)  # every file feeds wrote here and has not pruned
    current: set[str] = field(default_factory=set)  # the files the last run produced
    settings: str = ""  # fingerprint of the settings that shape the output
    next_due: str = ""  # ISO date of the earliest future-dated post left out, if any
    posts: int = 0  # posts in the feeds, for the summary of a run that finds nothing to do


def load(out: Path) -> Manifest:
    """The manifest of ``out``, or an empty one (missing, unreadable, other format)."""
    try:
        data = json.loads((Path(out) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Manifest()
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return Manifest()
    try:
        return Manifest(
            files=set(data["files"]),
            current=set(data["current"]),
            settings=str(data["settings"]),
            next_due=str(data["next_due"]),
            posts=int(data["posts"]),
        )
    except (KeyError, TypeError, ValueError):
        return Manifest()


def save(out: Path, manifest: Manifest, before_write: Callable[[], None] | None = None) -> None:
    """Write the manifest (atomically, and only when its bytes change).

    It holds no clock and no random token: identical builds give identical bytes.
    """
    data = {
        "format": FORMAT,
        "settings": manifest.settings,
        "next_due": manifest.next_due,
        "posts": manifest.posts,
        "current": sorted(manifest.current),
        "files": sorted(manifest.files),
    }
    payload = (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    path = Path(out) / MANIFEST_NAME
    try:
        if path.read_bytes() == payload:
            return
    except OSError:
        pass
    if before_write is not None:
        before_write()
    atomic_write(path, payload)
