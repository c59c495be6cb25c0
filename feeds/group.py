"""Stage 2: posts to feed specs (all posts, each category, each tag). Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

from feeds.model import FeedSpec, Post, Problem, Severity
from feeds.text import slugify

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def order_key(post: Post) -> tuple[int, str]:
    """Newest first; equal instants ordered by post URL."""
    return (-((post.date - _EPOCH) // _MICROSECOND), post.url)


def dedupe(posts: Iterable[Post]) -> tuple[list[Post], list[Problem]]:
    """One post per URL: the first seen wins (sources are read in the order given)."""
    kept: dict[str, Post] = {}
    notes: list[Problem] = []
    for post in posts:
        first = kept.get(post.url)
        if first is None:
            kept[post.url] = post
        else:
            notes.append(
                Problem(post.path, f"same permalink as {first.path}; that copy is used", Severity.INFO)
            )
    return list(kept.values()), notes


def group(posts: Sequence[Post], limit: int) -> list[FeedSpec]:
    """Feed specs for every post, each category and each tag, in a stable order.

    ``limit`` caps the entries of each feed (0 = no cap). Names that give the
    same slug share one feed, shown under their most used spelling.
    """
    ordered = sorted(posts, key=order_key)
    specs = [_spec("all", "", "", "", ordered, limit)]
    for kind, directory, names_of in (
        ("category", "categories", lambda p: p.categories),
        ("tag", "tags", lambda p: p.tags),
    ):
        members: dict[str, list[Post]] = {}
        spellings: dict[str, Counter[str]] = {}
        for post in ordered:
            seen: set[str] = set()
            for name in names_of(post):
                slug = slugify(name)
                spellings.setdefault(slug, Counter())[name] += 1
                if slug not in seen:
                    seen.add(slug)
                    members.setdefault(slug, []).append(post)
        for slug in sorted(members):
            name = min(spellings[slug].items(), key=lambda item: (-item[1], item[0]))[0]
            specs.append(_spec(kind, name, slug, f"{directory}/{slug}", members[slug], limit))
    return specs


def _spec(kind: str, name: str, slug: str, directory: str, posts: list[Post], limit: int) -> FeedSpec:
    entries = tuple(posts[:limit] if limit > 0 else posts)
    updated = max((post.updated for post in entries), default=None)
    return FeedSpec(kind=kind, name=name, slug=slug, directory=directory, entries=entries, updated=updated)
