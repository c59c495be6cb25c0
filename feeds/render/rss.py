"""RSS 2.0 via feedgen."""

from __future__ import annotations

import html

from feeds.model import FeedSpec, SiteInfo
from feeds.render.common import (
    any_markup,
    entry_link,
    entry_terms,
    feed_description,
    feed_title,
    new_feed,
    rss_bytes,
)


def render(spec: FeedSpec, site: SiteInfo) -> bytes:
    gen = new_feed(site, spec, "rss")
    # the elements a reader could take for markup: titles, the channel description, categories
    texts = [feed_title(site, spec), feed_description(site, spec)]
    for post in spec.entries:
        entry = gen.add_entry(order="append")
        entry.guid(post.url, permalink=True)
        entry.title(post.title)
        texts.append(post.title)
        entry.link(href=entry_link(site, post))
        entry.pubDate(post.date)
        if post.summary:
            # <description> is HTML in RSS: escape the plain-text summary once
            # so that "a < b" reaches the reader as text, not as a tag.
            entry.description(html.escape(post.summary, quote=False))
        terms = entry_terms(post)
        if terms:
            entry.category(terms)
            texts.extend(term["term"] for term in terms)
    return rss_bytes(gen, markup=any_markup(texts))
