"""Shared test helpers. No network: everything here reads local files."""

from __future__ import annotations

import html
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import feedparser
import pytest

from feeds.config import load

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "posts"
# The real-world sample lives beside the repository (../shared/corpus/finews-sample);
# FEEDS_CORPUS overrides. Tests that need it skip with a reason when it is absent.
CORPUS = Path(os.environ.get("FEEDS_CORPUS", REPO.parent / "shared" / "corpus" / "finews-sample"))

# A fixed clock for builds: after every example and corpus post.
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def settings_for(*sources: Path, out: Path, cwd: Path | None = None, **flags):
    """Settings as the CLI would make them from these flags (None = not given)."""
    flags = {"sources": [Path(s) for s in sources], "out": out, **flags}
    return load(flags, cwd or Path.cwd())


def process_ended(pid: int) -> bool:
    """Whether a process has ended (gone, or a zombie nobody has reaped); Linux /proc."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def split_front(text: str) -> tuple[dict, str]:
    """An independent front-matter reader for expectations: (raw string values, body)."""
    import yaml

    match = re.match(r"\s*---\n(.*?)\n---\n(.*)\Z", text.replace("\r\n", "\n"), re.S)
    assert match, "post without front matter"
    return yaml.load(match.group(1), Loader=yaml.BaseLoader), match.group(2)


def names(value) -> tuple[str, ...]:
    """Jekyll's categories/tags from a raw front-matter value: split a string, keep a list."""
    if not value:
        return ()
    return tuple(dict.fromkeys(value if isinstance(value, list) else str(value).split()))


def shown_text(element, fmt: str) -> str:
    """The text a reader shows for an Atom or RSS title/category element.

    Atom text constructs are plain text unless type="html"; RSS titles are
    HTML (feeds escapes titles that contain markup-like text).
    """
    text = element.text or ""
    if fmt == "rss" or element.get("type") == "html":
        return html.unescape(text)
    return text


def parse(path: Path):
    """Parse a written feed with feedparser, a real reader library."""
    return feedparser.parse(path.read_bytes())


@pytest.fixture(scope="session", autouse=True)
def own_cache_home(tmp_path_factory):
    """The tests' default cache folder ($XDG_CACHE_HOME, which subprocesses inherit),
    set before any other fixture: a build without --cache must not write to the
    user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("xdg-cache")
        patch.setenv("XDG_CACHE_HOME", str(home))
        yield home


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "_posts").is_dir():
        pytest.skip(f"real-world sample not found at {CORPUS} (set FEEDS_CORPUS)")
    return CORPUS
