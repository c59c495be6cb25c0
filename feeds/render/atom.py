"""Atom 1.0 (RFC 4287) via feedgen."""

from __future__ import annotations

from datetime import datetime

from feeds.model import FeedSpec, SiteInfo
from feedgen.entry import FeedEntry

from feeds.render.common import (
    any_markup,
    atom_bytes,
    feed_description,
    feed_entries,
    feed_title,
    new_feed,
)


class _Spelled(datetime):
    """A datetime written with ``zeros`` extra fractional-second zeros.

    Several posts of the real site share one second. Feed validators warn on
    two entries with the same <updated> text (they take it for a producer
    bug), so the repeats are spelled "…:57.0+08:00", "…:57.00+08:00": the
    same instant, in the same offset, in another RFC 3339 spelling.
    """

    zeros = 0

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        text = super().isoformat(sep, timespec)
        if not self.zeros or self.microsecond:
            return text
        # "2021-12-08T10:59:56+08:00" -> "2021-12-08T10:59:56.0+08:00"
        return text[:19] + "." + "0" * self.zeros + text[19:]


def _distinct(when: datetime, seen: dict[str, int]) -> datetime:
    text = when.isoformat()
    repeats = seen.get(text, 0)
    seen[text] = repeats + 1
    if not repeats or when.microsecond:
        return when
    spelled = _Spelled(
        when.year, when.month, when.day, when.hour, when.minute, when.second, 0, tzinfo=when.tzinfo
    )
    spelled.zeros = repeats
    return spelled


def render(spec: FeedSpec, site: SiteInfo, entries: list[FeedEntry] | None = None) -> bytes:
    """The Atom feed of ``spec``; ``entries`` are its posts' feed_entries(), if made already."""
    gen = new_feed(site, spec, "atom")
    # the text constructs a reader could take for markup: title, subtitle, summaries
    texts = [feed_title(site, spec), feed_description(site, spec)]
    seen: dict[str, int] = {}
    for post, entry in zip(spec.entries, feed_entries(spec, site) if entries is None else entries, strict=True):
        entry.updated(_distinct(post.updated, seen))
        gen.add_entry(entry, order="append")
        texts += (post.title, post.summary)
    return atom_bytes(gen, markup=any_markup(texts))
