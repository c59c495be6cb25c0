"""Frozen value types passed between the stages. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import NamedTuple

# The output layout, in one place: the file of each format, in each kind's directory.
FILE_NAMES: dict[str, str] = {"atom": "atom.xml", "rss": "rss.xml"}
DIRECTORIES: dict[str, str] = {"all": "", "category": "categories", "tag": "tags"}


def feed_directory(kind: str, slug: str) -> str:
    """A feed's directory under the output: "", categories/<slug> or tags/<slug>."""
    return f"{DIRECTORIES[kind]}/{slug}" if kind != "all" else ""


def relative_file(kind: str, slug: str, fmt: str) -> str:
    """Where a feed goes under the output: atom.xml, categories/<slug>/rss.xml, …"""
    directory = feed_directory(kind, slug)
    return f"{directory}/{FILE_NAMES[fmt]}" if directory else FILE_NAMES[fmt]


class Severity(str, Enum):
    ERROR = "error"  # the post was skipped
    WARNING = "warning"  # the post was kept, but something was guessed or dropped
    INFO = "info"  # not a problem with the file's content (excluded, duplicate, not a post)


def _printable(text: str) -> str:
    """A file name on one line: control and other unprintable characters escaped."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one input file, as a value (never raised)."""

    path: str
    message: str
    severity: Severity = Severity.ERROR
    line: int | None = None

    @property
    def location(self) -> str:
        path = self.path if self.path.isprintable() else _printable(self.path)
        return path if self.line is None else f"{path}:{self.line}"

    def __str__(self) -> str:
        message = self.message if self.message.isprintable() else _printable(self.message)
        return f"{self.location}: {self.severity.value}: {message}"


@dataclass(frozen=True, slots=True)
class Post:
    """One post, reduced to what a feed needs. The body is not kept."""

    path: str  # the file it came from, as shown to the user
    title: str
    date: datetime  # timezone-aware, in the post's own offset
    updated: datetime  # timezone-aware; equals date unless front matter says otherwise
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    summary: str  # plain text
    link: str | None  # the source link: absolute, percent-encoded
    url: str  # the post's own URL on the site: absolute, percent-encoded


class Stub(NamedTuple):
    """What grouping needs of a post: the cache gives these without loading whole posts.

    A named tuple, not a dataclass: a build may make 50,000 of them at once.
    """

    path: str
    url: str
    date: datetime
    updated: datetime
    categories: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What reading one file gives: a post (or None) and any problems met."""

    path: str
    post: Post | None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One feed to write: which posts, under which directory of the output."""

    kind: str  # "all", "category" or "tag"
    name: str  # display name ("" for the all-posts feed)
    slug: str  # path segment ("" for the all-posts feed)
    entries: tuple[Post, ...]  # newest first, already limited
    updated: datetime | None  # the newest entry's update time; None for an empty feed
    # how often each spelling of the name occurs among all the feed's posts
    # (not only the entries shown): the most used one is the name
    spellings: tuple[tuple[str, int], ...] = ()

    @property
    def directory(self) -> str:
        """Relative POSIX directory under the output ("" = top level)."""
        return feed_directory(self.kind, self.slug)


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """Site-wide facts every rendered feed carries."""

    url: str  # absolute, percent-encoded, no trailing slash
    title: str
    author: str
    author_email: str | None
    lang: str
    description: str
    category_url: str | None  # pattern with {slug}/{name}; None = the site URL
    tag_url: str | None
    link: str  # "source" or "post": what an entry's link points to
