"""RSS 2.0 via feedgen."""

from __future__ import annotations

import copy
import html

from feedgen.entry import FeedEntry

from feeds.model import FeedSpec, SiteInfo
from feeds.render.common import (
    any_markup,
    feed_description,
    feed_entries,
    feed_title,
    new_feed,
    rss_bytes,
)


def render(spec: FeedSpec, site: SiteInfo, entries: list[FeedEntry] | None = None) -> bytes:
    """The RSS feed of ``spec``; ``entries`` are its posts' feed_entries(), if made already."""
    gen = new_feed(site, spec, "rss")
    # the elements a reader could take for markup: titles, the channel description, categories
    texts = [feed_title(site, spec), feed_description(site, spec)]
    for post, entry in zip(spec.entries, feed_entries(spec, site) if entries is None else entries, strict=True):
        if post.summary:
            # <description> is HTML in RSS: the plain-text summary is escaped
            # once, so that "a < b" reaches the reader as text, not as a tag.
            escaped = html.escape(post.summary, quote=False)
            if escaped != post.summary:
                entry = copy.copy(entry)  # the shared entry's summary stays plain, for Atom
                entry.description(escaped)
        gen.add_entry(entry, order="append")
        texts.append(post.title)
        texts.extend(dict.fromkeys((*post.categories, *post.tags)))
    return rss_bytes(gen, markup=any_markup(texts))
