"""Stage 3: feed specs to bytes, one module per format."""

from __future__ import annotations

from collections.abc import Callable

from feeds.model import FILE_NAMES, FeedSpec, SiteInfo

Renderer = Callable[[FeedSpec, SiteInfo], bytes]

__all__ = ["FILE_NAMES", "Renderer", "renderer"]  # the renderer is imported only when a feed is rendered


def renderer(fmt: str) -> Renderer:
    """The render function of one format (imports feedgen on first use)."""
    if fmt == "atom":
        from feeds.render.atom import render
    elif fmt == "rss":
        from feeds.render.rss import render
    else:
        raise ValueError(f"unknown feed format {fmt!r}")
    return render
