"""Stage 2: posts to feed specs (all posts, each category, each tag). Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
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
        elif (post.date, post.categories, post.tags) == (first.date, first.categories, first.tags):
            # a copy (the scraper's archive folder holds the same article): nothing lost
            notes.append(Problem(post.path, f"same permalink as {first.path}; that copy is used", Severity.INFO))
        else:  # another post under the same URL: it is left out, and that is worth saying
            notes.append(
                Problem(
                    post.path,
                    f"same permalink as {first.path}, but another date, categories or tags; left out"
                    " (give one of them its own slug or permalink)",
                    Severity.WARNING,
                )
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
    # order_key's order, by two sorts on attributes: by URL, then newest first
    # (a stable sort keeps the URL order of posts of the same instant)
    ordered = sorted(posts, key=_URL)
    ordered.sort(key=_DATE, reverse=True)
    specs = []
    if only is None or ("all", "") in only:
        specs.append(_spec("all", "", ordered, limit))
    for kind, names_of in (("category", _CATEGORIES), ("tag", _TAGS)):
        # each name's posts (as positions in ``ordered``), then names to slugs
        # once each: a few thousand names, not one slug per post and name
        by_name: dict[str, list[int]] = {}
        repeats: Counter[str] = Counter()  # a name a post gives twice counts twice
        for position, post in enumerate(ordered):
            for name in names_of(post):
                found = by_name.get(name)
                if found is None:
                    by_name[name] = [position]
                elif found[-1] != position:
                    found.append(position)
                else:
                    repeats[name] += 1
        names_by_slug: dict[str, list[str]] = {}
        for name in by_name:
            slug = slugify(name)
            if only is None or (kind, slug) in only:
                names_by_slug.setdefault(slug, []).append(name)
        for slug in sorted(names_by_slug):
            names = names_by_slug[slug]
            if len(names) == 1:
                positions = by_name[names[0]]
            else:  # spellings of one slug ("A股", "a股"): a post with both is in once
                positions = sorted(set().union(*(by_name[name] for name in names)))
            if limit > 0:
                positions = positions[:limit]
            spellings = Counter({name: len(by_name[name]) + repeats[name] for name in names})
            specs.append(_spec(kind, slug, [ordered[i] for i in positions], limit, spellings))
    return specs


_URL = attrgetter("url")
_DATE = attrgetter("date")
_CATEGORIES = attrgetter("categories")
_TAGS = attrgetter("tags")


def _spec(kind: str, slug: str, posts: list, limit: int, spellings: Counter[str] | None = None) -> FeedSpec:
    entries = tuple(posts[:limit] if limit > 0 else posts)
    updated = max((post.updated for post in entries), default=None)
    counts = tuple(sorted(spellings.items())) if spellings else ()
    return FeedSpec(
        kind=kind, name=most_used(counts), slug=slug, entries=entries, updated=updated, spellings=counts
    )


def most_used(spellings: Iterable[tuple[str, int]]) -> str:
    """The most used spelling; among equals, the first in code-point order ("" for none)."""
    return min(spellings, key=lambda item: (-item[1], item[0]), default=("", 0))[0]


# --- adding posts to feeds without the other posts ---------------------------------
#
# A cron run usually finds a few new posts and nothing else. A feed's entries
# are then its old entries and its new posts, newest first, cut to the limit;
# its name may change only through the new posts' spellings. So each feed's
# entries (as order keys and paths) and spelling counts, kept from the last
# build, are all a run needs: these functions give exactly what group() would.


@dataclass(frozen=True, slots=True)
class FeedIndex:
    """What a later run needs of a feed to add posts to it."""

    spellings: tuple[tuple[str, int], ...]
    entries: tuple[tuple[int, str, str], ...]  # (order, url, path) of each entry, newest first


def index_of(spec: FeedSpec) -> FeedIndex:
    return FeedIndex(spec.spellings, tuple((*order_key(post), post.path) for post in spec.entries))


def names_in(post: Post | Stub, kind: str, slug: str) -> list[str]:
    """The post's spellings of a category or tag slug (all posts are in the "all" feed)."""
    if kind == "all":
        return [""]
    names = post.categories if kind == "category" else post.tags
    return [name for name in names if slugify(name) == slug]


def add_posts(
    index: FeedIndex | None, kind: str, slug: str, posts: Sequence[Post], limit: int
) -> FeedIndex:
    """A feed's index with new posts (none already in it, all in the feed) added."""
    counts: Counter[str] = Counter(dict(index.spellings) if index else {})
    entries = list(index.entries) if index else []
    for post in posts:
        names = names_in(post, kind, slug)
        assert names, "add_posts() is given only the feed's own posts"
        if kind != "all":
            counts.update(names)
        entries.append((*order_key(post), post.path))
    entries.sort()
    if limit > 0:
        del entries[limit:]
    return FeedIndex(tuple(sorted(counts.items())), tuple(entries))


def spec_from_index(kind: str, slug: str, index: FeedIndex, posts: dict[str, Post]) -> FeedSpec:
    """The spec of an indexed feed, its entries taken from ``posts`` by path."""
    return _spec(kind, slug, [posts[path] for _order, _url, path in index.entries], 0, Counter(dict(index.spellings)))
