"""What the Atom and RSS renderers share: feed URLs, titles, the feed-level setup."""

from __future__ import annotations

from datetime import datetime, timezone

from feedgen.feed import FeedGenerator

from feeds.model import FeedSpec, Post, SiteInfo
from feeds.render import FILE_NAMES
from feeds.urls import join, quote_path, quote_segment

GENERATOR = "feeds"  # no version: an upgrade must not change every feed's bytes
# An empty feed still needs an <updated>; a fixed instant keeps it byte-stable.
EMPTY_FEED_UPDATED = datetime(1970, 1, 1, tzinfo=timezone.utc)


def feed_url(site: SiteInfo, spec: FeedSpec, fmt: str) -> str:
    path = f"{spec.directory}/{FILE_NAMES[fmt]}" if spec.directory else FILE_NAMES[fmt]
    return join(site.url, quote_path(path))


def page_url(site: SiteInfo, spec: FeedSpec) -> str:
    """The HTML page a feed stands for: the site, or a category/tag page pattern."""
    pattern = {"category": site.category_url, "tag": site.tag_url}.get(spec.kind)
    if not pattern:
        return site.url + "/"
    return pattern.format(slug=quote_segment(spec.slug), name=quote_segment(spec.name), site=site.url)


def feed_title(site: SiteInfo, spec: FeedSpec) -> str:
    return f"{site.title} · {spec.name}" if spec.name else site.title


def feed_description(site: SiteInfo, spec: FeedSpec) -> str:
    if spec.kind == "category":
        return f"{site.description} · {spec.name}"
    if spec.kind == "tag":
        return f"{site.description} · #{spec.name}"
    return site.description


def new_feed(site: SiteInfo, spec: FeedSpec, fmt: str) -> FeedGenerator:
    """A FeedGenerator with the feed-level elements set, links in a fixed order."""
    own_url = feed_url(site, spec, fmt)
    gen = FeedGenerator()
    gen.id(own_url)
    gen.title(feed_title(site, spec))
    author = {"name": site.author}
    if site.author_email:
        author["email"] = site.author_email
    gen.author(author)
    gen.language(site.lang)
    gen.generator(GENERATOR)
    gen.description(feed_description(site, spec))
    gen.link(href=own_url, rel="self", type="application/atom+xml" if fmt == "atom" else "application/rss+xml")
    # RSS takes the channel <link> from the last link added: the page, not the feed.
    gen.link(href=page_url(site, spec), rel="alternate", type="text/html")
    updated = spec.updated or EMPTY_FEED_UPDATED
    gen.updated(updated)
    gen.lastBuildDate(updated)
    return gen


def entry_link(site: SiteInfo, post: Post) -> str:
    if site.link == "source" and post.link:
        return post.link
    return post.url


def entry_terms(post: Post) -> list[dict[str, str]]:
    """Every category and tag, once each, in the post's order."""
    terms = dict.fromkeys((*post.categories, *post.tags))
    return [{"term": term} for term in terms]
