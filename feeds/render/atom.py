"""Atom 1.0 (RFC 4287) via feedgen."""

from __future__ import annotations

from feeds.model import FeedSpec, SiteInfo
from feeds.render.common import entry_link, entry_terms, new_feed


def render(spec: FeedSpec, site: SiteInfo) -> bytes:
    gen = new_feed(site, spec, "atom")
    for post in spec.entries:
        entry = gen.add_entry(order="append")
        entry.id(post.url)
        entry.title(post.title)
        entry.link(href=entry_link(site, post), rel="alternate", type="text/html")
        entry.published(post.date)
        entry.updated(post.updated)
        if post.summary:
            entry.summary(post.summary)
        terms = entry_terms(post)
        if terms:
            entry.category(terms)
    return gen.atom_str(pretty=True)
