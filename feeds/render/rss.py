"""RSS 2.0 via feedgen."""

from __future__ import annotations

import html

from feeds.model import FeedSpec, SiteInfo
from feeds.render.common import entry_link, entry_terms, new_feed, rss_bytes


def render(spec: FeedSpec, site: SiteInfo) -> bytes:
    gen = new_feed(site, spec, "rss")
    for post in spec.entries:
        entry = gen.add_entry(order="append")
        entry.guid(post.url, permalink=True)
        entry.title(post.title)
        entry.link(href=entry_link(site, post))
        entry.pubDate(post.date)
        if post.summary:
            # <description> is HTML in RSS: escape the plain-text summary once
            # so that "a < b" reaches the reader as text, not as a tag.
            entry.description(html.escape(post.summary, quote=False))
        terms = entry_terms(post)
        if terms:
            entry.category(terms)
    return rss_bytes(gen)
