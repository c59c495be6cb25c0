"""Stage 2: posts to feed specs (all posts, each category, each tag). Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

from feeds.model import FeedSpec, Post, Problem, Severity, Stub
from feeds.text import slugify

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def order_key(post: Post | Stub) -> tuple[int, str]:
    """Newest first; equal instants ordered by post URL."""
    return (-((post.date - _EPOCH) // _MICROSECOND), post.url)


def dedupe(posts: Iterable[Post | Stub]) -> tuple[list, list[Problem]]:
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


def feed_keys(post: Post | Stub) -> set[tuple[str, str]]:
    """The feeds a post belongs to, as (kind, slug): ("all", ""), ("category", …), ("tag", …)."""
    keys = {("all", "")}
    keys.update(("category", slugify(name)) for name in post.categories)
    keys.update(("tag", slugify(name)) for name in post.tags)
    return keys


def all_keys(posts: Iterable[Post | Stub]) -> set[tuple[str, str]]:
    """Every feed the posts make: the all-posts feed, and one per category and tag slug."""
    categories: set[str] = set()
    tags: set[str] = set()
    for post in posts:
        categories.update(post.categories)
        tags.update(post.tags)
    keys = {("all", "")}
    keys.update(("category", slugify(name)) for name in categories)
    keys.update(("tag", slugify(name)) for name in tags)
    return keys


def group(
    posts: Sequence[Post | Stub], limit: int, only: set[tuple[str, str]] | None = None
) -> list[FeedSpec]:
    """Feed specs for every post, each category and each tag, in a stable order.

    ``limit`` caps the entries of each feed (0 = no cap). Names that give the
    same slug share one feed, shown under their most used spelling. With
    ``only``, just the specs of those (kind, slug) keys are made, identical
    to the ones a full grouping gives.
    """
    ordered = sorted(posts, key=order_key)
    specs = []
    if only is None or ("all", "") in only:
        specs.append(_spec("all", "", "", ordered, limit))
    for kind, names_of in (("category", lambda p: p.categories), ("tag", lambda p: p.tags)):
        members: dict[str, list[Post]] = {}
        spellings: dict[str, Counter[str]] = {}
        for post in ordered:
            seen: set[str] = set()
            for name in names_of(post):
                slug = slugify(name)
                if only is not None and (kind, slug) not in only:
                    continue
                spellings.setdefault(slug, Counter())[name] += 1
                if slug not in seen:
                    seen.add(slug)
                    members.setdefault(slug, []).append(post)
        for slug in sorted(members):
            name = min(spellings[slug].items(), key=lambda item: (-item[1], item[0]))[0]
            specs.append(_spec(kind, name, slug, members[slug], limit))
    return specs


def _spec(kind: str, name: str, slug: str, posts: list[Post], limit: int) -> FeedSpec:
    entries = tuple(posts[:limit] if limit > 0 else posts)
    updated = max((post.updated for post in entries), default=None)
    return FeedSpec(kind=kind, name=name, slug=slug, entries=entries, updated=updated)
