"""One feed's entries are made once and shared by its Atom and RSS renderings.

The shared rendering must give exactly what each format's own rendering
gives, in either order, and neither format may leak into the other (Atom
keeps the plain summary, RSS gets it escaped once).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import feedparser
import pytest

from feeds.model import FeedSpec, Post, SiteInfo
from feeds.render import FeedRenderer, renderer

CST = timezone(timedelta(hours=8))
SITE = SiteInfo(
    url="https://example.org", title="Site", author="Ann", author_email=None, description="All the news",
    lang="zh-CN", link="source", category_url="", tag_url="",
)


def post(n: int, summary: str, when: datetime, **extra) -> Post:
    return Post(
        path=f"_posts/p{n}.md", title=f"Title {n}", date=when, updated=extra.get("updated", when),
        categories=("markets",), tags=("bonds", "rates"), summary=summary,
        link=extra.get("link", f"https://source.example/{n}"), url=f"https://example.org/markets/p{n}.html",
    )


SAME_SECOND = datetime(2024, 5, 1, 9, 30, tzinfo=CST)
SPEC = FeedSpec(
    kind="category", name="markets", slug="markets",
    entries=(
        post(1, "a < b & c > d", SAME_SECOND),
        post(2, "plain", SAME_SECOND),  # same <updated> second: spelled differently in Atom
        post(3, "", datetime(2024, 4, 30, 8, 0, tzinfo=CST), link=None),
    ),
    updated=SAME_SECOND,
)


@pytest.mark.parametrize("order", [("atom", "rss"), ("rss", "atom")])
def test_shared_entries_give_what_each_format_gives_alone(order):
    shared = FeedRenderer(order)
    for fmt in order:
        assert shared(SPEC, SITE, fmt) == renderer(fmt)(SPEC, SITE), fmt


def test_shared_entries_keep_each_format_its_own_summary():
    shared = FeedRenderer(("rss", "atom"))
    rss = feedparser.parse(shared(SPEC, SITE, "rss"))
    atom = feedparser.parse(shared(SPEC, SITE, "atom"))
    assert [e.get("summary") for e in atom.entries] == ["a < b & c > d", "plain", None]
    assert atom.entries[0].summary_detail.type == "text/plain"
    # RSS descriptions are HTML: escaped once, so a reader shows the same text
    assert rss.entries[0].description == "a &lt; b &amp; c &gt; d"
    assert rss.entries[1].description == "plain"
    assert "description" not in rss.entries[2]
    assert [e.id for e in atom.entries] == [e.id for e in rss.entries] == [p.url for p in SPEC.entries]
    assert [e.link for e in atom.entries] == [e.link for e in rss.entries] == [
        "https://source.example/1", "https://source.example/2", SPEC.entries[2].url,
    ]
    # the two posts of the same second: one instant, two spellings, in the post's own offset
    updated = [e.updated for e in atom.entries[:2]]
    assert updated[0] != updated[1] and all(u.endswith("+08:00") for u in updated)
    assert {e.updated_parsed[:6] for e in atom.entries[:2]} == {SAME_SECOND.astimezone(timezone.utc).timetuple()[:6]}
    assert [[t.term for t in e.tags] for e in rss.entries] == [["markets", "bonds", "rates"]] * 3
