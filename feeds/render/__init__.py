"""Stage 3: feed specs to bytes, one module per format."""

from __future__ import annotations

from collections.abc import Callable

from feeds.model import FILE_NAMES, FeedSpec, SiteInfo

Renderer = Callable[..., bytes]  # (spec, site[, entries]) -> the feed's bytes

__all__ = ["FILE_NAMES", "FeedRenderer", "Renderer", "renderer", "renderers"]  # feedgen is imported only when a feed is rendered


def renderer(fmt: str) -> Renderer:
    """The render function of one format (imports feedgen on first use)."""
    if fmt == "atom":
        from feeds.render.atom import render
    elif fmt == "rss":
        from feeds.render.rss import render
    else:
        raise ValueError(f"unknown feed format {fmt!r}")
    return render


def renderers(formats) -> dict[str, Renderer]:
    """The render function of each format (importing feedgen, once)."""
    return {fmt: renderer(fmt) for fmt in formats}


class FeedRenderer:
    """Renders feeds in several formats, making each feed's entries once for all of them.

    Called for one feed in each format in a row (as builds do), the feedgen
    entries of its posts are made by the first call and reused by the next.
    """

    def __init__(self, formats: tuple[str, ...] | list[str]):
        self._render = renderers(formats)
        self._last: tuple[FeedSpec, list] | None = None

    def __call__(self, spec: FeedSpec, site: SiteInfo, fmt: str) -> bytes:
        if self._last is None or self._last[0] is not spec:
            from feeds.render.common import feed_entries

            self._last = (spec, feed_entries(spec, site))
        return self._render[fmt](spec, site, self._last[1])
